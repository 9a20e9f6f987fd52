//! The `persons` and `households` views that target rules are written over.
//!
//! ```text
//!  population ─┬─ household aggregates (size, minors, infants, adults, elderly, over75, foreign)
//!              ├─ latest ISEE of the household (isee)
//!              └─ open cases by area di utenza (cases, csi_cases + csi_interventions)
//!                   ▼
//!               persons ──group by household──▶ households
//! ```
//!
//! Tables the warehouse lacks (no ISEE loaded, no case data) give NULL ISEE values and
//! nobody in care, so every rule still plans. A measure asks only for the parts its rule
//! reads ([`Needs`]): a rule on age alone does not pay for the household aggregates.

use datafusion::prelude::SessionContext;
use mosaico_domain::AreaUtenza;

use crate::Result;

/// The parts of the `persons` view a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Household aggregates (`household_*`).
    pub household: bool,
    /// The household's latest ISEE (`isee_eur`).
    pub isee: bool,
    /// Open cases (`in_care`, `in_care_<area>`).
    pub care: bool,
}

impl Needs {
    /// Everything (the registered views).
    pub const ALL: Needs = Needs { household: true, isee: true, care: true };

    /// The parts an SQL text mentions (a rule, plus what the measure adds).
    pub fn of(sql: &str) -> Needs {
        Needs { household: sql.contains("household_"), isee: sql.contains("isee_eur"), care: sql.contains("in_care") }
    }
}

/// The name of a flag column for an area: `in_care_anziani`; `in_care` for multiutenza
/// (a case in any area).
pub fn care_column(area: &str) -> String {
    if area == AreaUtenza::Multiutenza.code() { "in_care".to_owned() } else { format!("in_care_{area}") }
}

/// Which of the optional tables the warehouse session has.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Present {
    isee: bool,
    cases: bool,
    csi: bool,
}

impl Present {
    pub(crate) fn of(ctx: &SessionContext) -> Result<Present> {
        let has = |t: &str| ctx.table_exist(t);
        Ok(Present { isee: has("isee")?, cases: has("cases")?, csi: has("csi_cases")? && has("csi_interventions")? })
    }
}

/// The SELECT of the `persons` view, with only the parts in `needs`.
pub(crate) fn persons_sql(needs: Needs, present: Present) -> String {
    let areas = || AreaUtenza::ALL.iter().filter(|a| **a != AreaUtenza::Multiutenza);
    let mut with = Vec::new();
    let mut cols = vec![
        "p.person_key, p.household_key, p.sex, p.birth_year, p.age, p.citizenship, p.\"foreign\", p.relation, \
         p.comune_istat, p.homeless, p.h3_10, p.nil_id, p.municipio"
            .to_owned(),
    ];
    let mut joins = String::new();
    if needs.household {
        with.push(
            "hh AS (SELECT household_key, count(*) AS household_size, \
             count(*) FILTER (WHERE age < 18) AS household_minors, \
             count(*) FILTER (WHERE age < 3) AS household_infants, \
             count(*) FILTER (WHERE age >= 18) AS household_adults, \
             count(*) FILTER (WHERE age >= 65) AS household_elderly, \
             count(*) FILTER (WHERE age >= 75) AS household_over75, \
             count(*) FILTER (WHERE \"foreign\") AS household_foreign \
             FROM population GROUP BY household_key)"
                .to_owned(),
        );
        cols.push(
            "hh.household_size, hh.household_minors, hh.household_infants, hh.household_adults, \
             hh.household_elderly, hh.household_over75, hh.household_foreign"
                .to_owned(),
        );
        joins.push_str(" JOIN hh ON hh.household_key = p.household_key");
    }
    if needs.isee {
        if present.isee {
            with.push(
                "last_isee AS (SELECT household_key, isee_eur FROM (SELECT household_key, isee_eur, \
                 row_number() OVER (PARTITION BY household_key ORDER BY issued_on DESC, valid_until DESC) AS n \
                 FROM isee) WHERE n = 1)"
                    .to_owned(),
            );
            cols.push("last_isee.isee_eur".to_owned());
            joins.push_str(" LEFT JOIN last_isee ON last_isee.household_key = p.household_key");
        } else {
            cols.push("CAST(NULL AS DOUBLE) AS isee_eur".to_owned());
        }
    }
    if needs.care {
        let mut open = Vec::new();
        if present.cases {
            open.push("SELECT person_key, area_utenza FROM cases WHERE closed_on IS NULL".to_owned());
        }
        if present.csi {
            open.push(
                "SELECT c.person_key, i.area_utenza FROM csi_cases c \
                 JOIN csi_interventions i ON i.case_id = c.case_id AND i.ente = c.ente WHERE c.closed_on IS NULL"
                    .to_owned(),
            );
            open.push("SELECT person_key, 'multiutenza' AS area_utenza FROM csi_cases WHERE closed_on IS NULL".into());
        }
        if open.is_empty() {
            cols.push("FALSE AS in_care".to_owned());
            cols.extend(areas().map(|a| format!("FALSE AS in_care_{}", a.code())));
        } else {
            let flags: Vec<String> =
                areas().map(|a| format!("bool_or(area_utenza = '{0}') AS in_care_{0}", a.code())).collect();
            with.push(format!(
                "care AS (SELECT person_key, {} FROM ({}) GROUP BY person_key)",
                flags.join(", "),
                open.join(" UNION ALL ")
            ));
            cols.push("care.person_key IS NOT NULL AS in_care".to_owned());
            cols.extend(areas().map(|a| format!("coalesce(care.in_care_{0}, FALSE) AS in_care_{0}", a.code())));
            joins.push_str(" LEFT JOIN care ON care.person_key = p.person_key");
        }
    }
    let with = if with.is_empty() { String::new() } else { format!("WITH {} ", with.join(", ")) };
    format!("{with}SELECT {} FROM population p{joins}", cols.join(", "))
}

/// The SELECT of the `households` view over a `persons` SELECT with every part.
pub(crate) fn households_sql(needs: Needs, present: Present) -> String {
    let mut cols = vec![
        "household_key".to_owned(),
        "count(*) AS household_size".to_owned(),
        "count(*) FILTER (WHERE age < 18) AS minors".to_owned(),
        "count(*) FILTER (WHERE age < 3) AS infants".to_owned(),
        "count(*) FILTER (WHERE age >= 18) AS adults".to_owned(),
        "count(*) FILTER (WHERE age >= 65) AS elderly".to_owned(),
        "count(*) FILTER (WHERE age >= 75) AS over75".to_owned(),
        "count(*) FILTER (WHERE \"foreign\") AS foreign_members".to_owned(),
        "bool_or(homeless) AS homeless".to_owned(),
        "min(comune_istat) AS comune_istat".to_owned(),
        "min(nil_id) AS nil_id".to_owned(),
        "min(municipio) AS municipio".to_owned(),
        "min(h3_10) AS h3_10".to_owned(),
    ];
    if needs.isee {
        cols.push("max(isee_eur) AS isee_eur".to_owned());
    }
    if needs.care {
        cols.push("bool_or(in_care) AS in_care".to_owned());
        cols.extend(
            AreaUtenza::ALL
                .iter()
                .filter(|a| **a != AreaUtenza::Multiutenza)
                .map(|a| format!("bool_or(in_care_{0}) AS in_care_{0}", a.code())),
        );
    }
    let persons = persons_sql(Needs { household: false, ..needs }, present);
    format!("SELECT {} FROM ({persons}) GROUP BY household_key", cols.join(", "))
}

/// Whether an SQL text names the `persons` or `households` view, or lists the tables
/// (`SHOW TABLES`, `information_schema`): as a whole word, in any case. A word inside a
/// string or a comment counts too, which only costs the views' planning.
pub fn named_in(sql: &str) -> bool {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| ["persons", "households", "show", "information_schema"].iter().any(|n| w.eq_ignore_ascii_case(n)))
}

/// Registers the `persons` and `households` views (when the warehouse has a
/// `population` table; without one there is nothing to describe).
pub async fn register(ctx: &SessionContext) -> Result<()> {
    if !ctx.table_exist("population")? {
        return Ok(());
    }
    let present = Present::of(ctx)?;
    for (name, sql) in
        [("persons", persons_sql(Needs::ALL, present)), ("households", households_sql(Needs::ALL, present))]
    {
        ctx.sql(&format!("CREATE OR REPLACE VIEW {name} AS {sql}")).await?.collect().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_named_as_whole_words() {
        assert!(named_in("select count(*) from persons where age > 75"));
        assert!(named_in("SELECT * FROM mosaico.public.Households"));
        assert!(!named_in("select * from population"));
        assert!(named_in("SHOW TABLES") && named_in("select table_name from information_schema.tables"));
        assert!(!named_in("select persons_total from accessibility('anziani_75', 'nil', 9)"));
    }

    #[test]
    fn needs_follow_the_rule() {
        assert_eq!(Needs::of("age >= 75"), Needs { household: false, isee: false, care: false });
        assert_eq!(Needs::of("age >= 75 AND household_size = 1"), Needs { household: true, isee: false, care: false });
        assert!(Needs::of("isee_eur < 9360 AND in_care_anziani").care);
        assert_eq!(care_column("anziani"), "in_care_anziani");
        assert_eq!(care_column("multiutenza"), "in_care");
    }
}
