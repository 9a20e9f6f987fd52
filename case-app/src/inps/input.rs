//! What the flows need that the case file did not hold, as it is recorded and stored:
//! the ente's INPS set-up, a case's SINA and SINBA schemes, a benefit's means test.
//! Inputs arrive as text (JSON or forms) and are checked field by field, every problem
//! at once, like the rest of [`crate::input`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::records::{SINBA_MONTHS, SINBA_SCHEME};
use super::rules::fiscal_code_pattern;
use crate::input::{flex, parse_euros};
use crate::{Checker, Result};

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// A code of `1..=max` if given; blank is `None` (not assessed yet).
fn optional_code(c: &mut Checker, field: &str, v: &Option<String>, max: i64) -> Option<i64> {
    let t = v.as_deref()?.trim();
    match t.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            c.fail(
                field,
                "not_a_code",
                &[("value", t.to_owned()), ("max", max.to_string())],
                format!("'{t}' is not a code from 1 to {max}"),
            );
            None
        }
    }
}

/// A list of codes: a JSON array (of numbers or texts) or one text separated by commas
/// or spaces.
fn code_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        S(String),
        I(i64),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        List(Vec<Item>),
        One(Item),
    }
    let items = match Option::<V>::deserialize(d)? {
        None => Vec::new(),
        Some(V::List(l)) => l,
        Some(V::One(i)) => vec![i],
    };
    Ok(items
        .into_iter()
        .flat_map(|i| match i {
            Item::S(s) => s.split([',', ' ', ';']).map(str::to_owned).collect::<Vec<_>>(),
            Item::I(n) => vec![n.to_string()],
        })
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// An object of attribute names to values (texts or numbers); blank values dropped.
fn text_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        I(i64),
    }
    let m = Option::<BTreeMap<String, Option<V>>>::deserialize(d)?.unwrap_or_default();
    Ok(m.into_iter()
        .filter_map(|(k, v)| {
            let v = match v? {
                V::S(s) => s.trim().to_owned(),
                V::I(n) => n.to_string(),
            };
            (!v.is_empty()).then_some((k.trim().to_owned(), v))
        })
        .collect())
}

// ---- The ente's set-up ----

/// How an ente appears in its flows, as entered.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InpsEnteInput {
    /// The ente's INPS code: `EnteType/@Codice` and `EEEE` of the flow id (1 to 22
    /// letters and digits, so that the flow id fits its 50 characters).
    #[serde(default, deserialize_with = "flex")]
    pub code: Option<String>,
    /// The cadastral (Belfiore) code of the ente's seat (`F205` for Milano).
    #[serde(default, deserialize_with = "flex")]
    pub belfiore: Option<String>,
    /// The fiscal code of the operator who sends the flows: a person's 16 characters
    /// or the ente's 11 digits.
    #[serde(default, deserialize_with = "flex")]
    pub operator_cf: Option<String>,
}

/// A checked set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InpsEnteData {
    /// INPS code, upper case.
    pub code: String,
    /// Belfiore code, upper case.
    pub belfiore: String,
    /// Operator's fiscal code, upper case.
    pub operator_cf: String,
}

impl InpsEnteInput {
    /// Checks every field.
    pub fn check(&self) -> Result<InpsEnteData> {
        let mut c = Checker::default();
        let code = c.text("code", s(&self.code), 22).to_ascii_uppercase();
        if !code.is_empty() && !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            c.fail(
                "code",
                "not_alphanumeric",
                &[("value", code.clone())],
                format!("'{code}': letters and digits only"),
            );
        }
        let belfiore = c.text("belfiore", s(&self.belfiore), 4).to_ascii_uppercase();
        let b = belfiore.as_bytes();
        let cadastral = b.len() == 4 && b[0].is_ascii_alphabetic() && b[1..].iter().all(u8::is_ascii_digit);
        if !belfiore.is_empty() && !cadastral {
            c.fail(
                "belfiore",
                "not_belfiore",
                &[("value", belfiore.clone())],
                format!("'{belfiore}' is not a cadastral code (a letter and three digits, e.g. F205)"),
            );
        }
        let cf = c.text("operator_cf", s(&self.operator_cf), 16).to_ascii_uppercase();
        let valid = fiscal_code_pattern(&cf) && (cf.len() == 11 || mosaico_domain::FiscalCode::parse(&cf).is_ok());
        if !cf.is_empty() && !valid {
            c.fail(
                "operator_cf",
                "not_fiscal_code",
                &[("value", cf.clone())],
                format!("'{cf}' is not a fiscal code INPS accepts (16 characters, or the ente's 11 digits)"),
            );
        }
        c.finish()?;
        Ok(InpsEnteData { code, belfiore, operator_cf: cf })
    }
}

/// An ente's INPS set-up as stored (the pseudonym key never leaves the store).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InpsEnte {
    /// The ente (ISTAT code).
    pub ente: String,
    /// Its name.
    pub name: String,
    /// INPS code.
    pub code: String,
    /// Belfiore code of its seat.
    pub belfiore: String,
    /// Operator's fiscal code.
    pub operator_cf: String,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

// ---- SINA ----

/// A case's SINA scheme as entered: codes of the PSA XSD, each optional (blank: not
/// assessed yet; a flow refuses a SINA block with a blank dimension).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SinaInput {
    /// Date of the assessment.
    #[serde(default, deserialize_with = "flex")]
    pub assessed_on: Option<String>,
    /// `Mobilita`: 1 moves alone, 2 with help, 3 does not move.
    #[serde(default, deserialize_with = "flex")]
    pub mobility: Option<String>,
    /// `AttivitaVitaQuotidiana`: 1 autonomous, 2 partly dependent, 3 dependent.
    #[serde(default, deserialize_with = "flex")]
    pub daily_living: Option<String>,
    /// `DisturbiAreaCognitiva`: 1 mild, 2 moderate, 3 severe.
    #[serde(default, deserialize_with = "flex")]
    pub cognitive: Option<String>,
    /// `DisturbiComportamentali`: 1 absent, 2 present.
    #[serde(default, deserialize_with = "flex")]
    pub behaviour: Option<String>,
    /// `NecessitaCureSanitarie`: 1 low, 2 medium, 3 high.
    #[serde(default, deserialize_with = "flex")]
    pub health_care: Option<String>,
    /// `AreaReddituale`: 1 self-sufficient, 2 helped by others, 3 in need without help.
    #[serde(default, deserialize_with = "flex")]
    pub income: Option<String>,
    /// `AreaSupporto`: 1 family or informal network, 2 partial, 3 none.
    #[serde(default, deserialize_with = "flex")]
    pub support: Option<String>,
    /// `FonteDerivazioneValutazione`: 1 UVM, 2 social file, 3 other documents, 4 direct.
    #[serde(default, deserialize_with = "flex")]
    pub source: Option<String>,
    /// `StrumentoValutazione`: 1 SVAMA, 2 AGED, 3 RUG, 4 SOSIA, 5 schema polare,
    /// 6 VALGRAF, 7 other.
    #[serde(default, deserialize_with = "flex")]
    pub instrument: Option<String>,
    /// `InvaliditaCivile/InvCiv`: certifications 1–8 (a list, or text with commas).
    #[serde(default, deserialize_with = "code_list")]
    pub invalidity: Vec<String>,
    /// `FonteDerivazioneInvalidita`: 1 certificate checked, 2 the person's statement.
    #[serde(default, deserialize_with = "flex")]
    pub invalidity_source: Option<String>,
}

/// A checked SINA scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SinaData {
    pub assessed_on: NaiveDate,
    pub mobility: Option<i64>,
    pub daily_living: Option<i64>,
    pub cognitive: Option<i64>,
    pub behaviour: Option<i64>,
    pub health_care: Option<i64>,
    pub income: Option<i64>,
    pub support: Option<i64>,
    pub source: Option<i64>,
    pub instrument: Option<i64>,
    /// Codes 1–8, sorted, comma-separated.
    pub invalidity: String,
    pub invalidity_source: Option<i64>,
}

impl SinaInput {
    /// Checks every field; `today` bounds the date.
    pub fn check(&self, today: NaiveDate) -> Result<SinaData> {
        let mut c = Checker::default();
        let assessed_on = c.date("assessed_on", s(&self.assessed_on));
        if let Some(d) = assessed_on
            && d > today
        {
            c.fail("assessed_on", "future_date", &[("date", d.to_string())], format!("{d} is in the future"));
        }
        let mut codes = Vec::new();
        for (field, v, max) in [
            ("mobility", &self.mobility, 3),
            ("daily_living", &self.daily_living, 3),
            ("cognitive", &self.cognitive, 3),
            ("behaviour", &self.behaviour, 2),
            ("health_care", &self.health_care, 3),
            ("income", &self.income, 3),
            ("support", &self.support, 3),
            ("source", &self.source, 4),
            ("instrument", &self.instrument, 7),
            ("invalidity_source", &self.invalidity_source, 2),
        ] {
            codes.push(optional_code(&mut c, field, v, max));
        }
        let mut invalidity: Vec<i64> = Vec::new();
        for (i, v) in self.invalidity.iter().enumerate() {
            if let Some(n) = optional_code(&mut c, &format!("invalidity[{i}]"), &Some(v.clone()), 8)
                && !invalidity.contains(&n)
            {
                invalidity.push(n);
            }
        }
        invalidity.sort_unstable();
        c.finish()?;
        Ok(SinaData {
            assessed_on: assessed_on.unwrap_or(today),
            mobility: codes[0],
            daily_living: codes[1],
            cognitive: codes[2],
            behaviour: codes[3],
            health_care: codes[4],
            income: codes[5],
            support: codes[6],
            source: codes[7],
            instrument: codes[8],
            invalidity: invalidity.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
            invalidity_source: codes[9],
        })
    }
}

/// A SINA scheme as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct SinaAssessment {
    pub id: i64,
    pub case_id: i64,
    pub assessed_on: NaiveDate,
    pub mobility: Option<i64>,
    pub daily_living: Option<i64>,
    pub cognitive: Option<i64>,
    pub behaviour: Option<i64>,
    pub health_care: Option<i64>,
    pub income: Option<i64>,
    pub support: Option<i64>,
    pub source: Option<i64>,
    pub instrument: Option<i64>,
    /// InvCiv codes, comma-separated (empty when none).
    pub invalidity: String,
    pub invalidity_source: Option<i64>,
    pub assessor_id: i64,
    pub created_at: DateTime<Utc>,
}

// ---- SINBA ----

/// A case's SINBA scheme as entered: the SINBA XSD's attributes by their official
/// names (`LuogoVita`, `FonteSegnalazione`, …) with their codes, and the months
/// `DataSegnalazione` / `DataProvvedimentoGiudiziario` as `MM/YYYY` or `YYYY-MM`.
/// Attributes may be recorded in steps; a flow refuses a record lacking a required one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SinbaInput {
    /// Date of the assessment.
    #[serde(default, deserialize_with = "flex")]
    pub assessed_on: Option<String>,
    /// Attribute name to value.
    #[serde(default, deserialize_with = "text_map")]
    #[schema(value_type = Object)]
    pub scheme: BTreeMap<String, String>,
}

/// A checked SINBA scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinbaData {
    /// Date of the assessment.
    pub assessed_on: NaiveDate,
    /// Attribute name to its value as the flow writes it.
    pub scheme: BTreeMap<String, String>,
}

impl SinbaInput {
    /// Checks every attribute; `today` bounds the date.
    pub fn check(&self, today: NaiveDate) -> Result<SinbaData> {
        let mut c = Checker::default();
        let assessed_on = c.date("assessed_on", s(&self.assessed_on));
        if let Some(d) = assessed_on
            && d > today
        {
            c.fail("assessed_on", "future_date", &[("date", d.to_string())], format!("{d} is in the future"));
        }
        let mut scheme = BTreeMap::new();
        for (k, v) in &self.scheme {
            let field = format!("scheme.{k}");
            if let Some(code) = SINBA_SCHEME.iter().find(|x| x.name == k) {
                if let Some(n) = optional_code(&mut c, &field, &Some(v.clone()), i64::from(code.max)) {
                    scheme.insert(k.clone(), n.to_string());
                }
            } else if SINBA_MONTHS.contains(&k.as_str()) {
                match month(v) {
                    Some(m) => {
                        scheme.insert(k.clone(), m);
                    }
                    None => c.fail(
                        &field,
                        "not_a_month",
                        &[("value", v.clone())],
                        format!("'{v}' is not a month (MM/YYYY)"),
                    ),
                }
            } else {
                let known: Vec<&str> =
                    SINBA_SCHEME.iter().map(|x| x.name).chain(SINBA_MONTHS.iter().copied()).collect();
                c.fail(
                    &field,
                    "not_one_of",
                    &[("value", k.clone())],
                    format!("'{k}' is not an attribute of the SINBA scheme: {}", known.join(", ")),
                );
            }
        }
        c.finish()?;
        Ok(SinbaData { assessed_on: assessed_on.unwrap_or(today), scheme })
    }
}

/// `MM/YYYY` from `MM/YYYY` or `YYYY-MM`, for months of 1900–2099.
fn month(v: &str) -> Option<String> {
    let v = v.trim();
    let (m, y) = match (v.split_once('/'), v.split_once('-')) {
        (Some((m, y)), _) => (m, y),
        (None, Some((y, m))) => (m, y),
        _ => return None,
    };
    let m: u32 = m.parse().ok().filter(|m| (1..=12).contains(m))?;
    let y: u32 = y.parse().ok().filter(|y| (1900..=2099).contains(y))?;
    Some(format!("{m:02}/{y}"))
}

/// A SINBA scheme as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SinbaAssessment {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Date of the assessment.
    pub assessed_on: NaiveDate,
    /// Attribute name to value.
    #[schema(value_type = Object)]
    pub scheme: BTreeMap<String, String>,
    /// Social worker.
    pub assessor_id: i64,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

// ---- Means test ----

/// The means test of a benefit, as entered.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct BenefitMeansInput {
    /// `PresenzaProvaMezzi`: 1 ISEE, 2 other means test, 3 ISEE waived for this person,
    /// 4 no means test.
    #[serde(default, deserialize_with = "flex")]
    pub means_test: Option<String>,
    /// The DSU protocol number (at most 30 characters).
    #[serde(default, deserialize_with = "flex")]
    pub dsu_protocol: Option<String>,
    /// The DSU date.
    #[serde(default, deserialize_with = "flex")]
    pub dsu_date: Option<String>,
    /// The ISEE value in euros.
    #[serde(default, deserialize_with = "flex")]
    pub isee: Option<String>,
    /// Members of the ISEE household (1–9).
    #[serde(default, deserialize_with = "flex")]
    pub isee_members: Option<String>,
}

/// A checked means test.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct BenefitMeansData {
    pub means_test: i64,
    pub dsu_protocol: Option<String>,
    pub dsu_date: Option<NaiveDate>,
    pub isee_cents: Option<i64>,
    pub isee_members: Option<i64>,
}

impl BenefitMeansInput {
    /// Checks every field; `today` bounds the DSU date.
    pub fn check(&self, today: NaiveDate) -> Result<BenefitMeansData> {
        let mut c = Checker::default();
        let means_test = if self.means_test.is_none() {
            c.fail("means_test", "required", &[], "required (1 ISEE, 2 other means test, 3 waived, 4 none)");
            None
        } else {
            optional_code(&mut c, "means_test", &self.means_test, 4)
        };
        let dsu_protocol = c.optional_text("dsu_protocol", self.dsu_protocol.as_deref(), 30);
        let dsu_date = self.dsu_date.as_deref().and_then(|d| c.date("dsu_date", d));
        if let Some(d) = dsu_date
            && d > today
        {
            c.fail("dsu_date", "future_date", &[("date", d.to_string())], format!("{d} is in the future"));
        }
        let isee_cents = self.isee.as_deref().and_then(|t| {
            let v = parse_euros(t);
            if v.is_none() {
                c.fail("isee", "not_euros", &[("value", t.to_owned())], format!("'{t}' is not an amount in euros"));
            }
            v
        });
        let isee_members = optional_code(&mut c, "isee_members", &self.isee_members, 9);
        c.finish()?;
        Ok(BenefitMeansData { means_test: means_test.unwrap_or(4), dsu_protocol, dsu_date, isee_cents, isee_members })
    }
}

/// A benefit's means test as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct BenefitMeans {
    pub intervention_id: i64,
    pub means_test: i64,
    pub dsu_protocol: Option<String>,
    pub dsu_date: Option<NaiveDate>,
    pub isee_cents: Option<i64>,
    pub isee_members: Option<i64>,
    pub recorded_by: i64,
    pub recorded_at: DateTime<Utc>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::CaseError;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn fields<T: std::fmt::Debug>(r: Result<T>) -> Vec<String> {
        match r {
            Err(CaseError::Invalid(f)) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sina_is_checked_field_by_field_and_may_be_partial() {
        let i: SinaInput = serde_json::from_value(json!({"assessed_on": "2025-01-10", "mobility": 2,
            "behaviour": "3", "instrument": "x", "invalidity": "2, 9, 2"}))
        .unwrap();
        assert_eq!(fields(i.check(today())), ["behaviour", "instrument", "invalidity[1]"]);
        let i: SinaInput = serde_json::from_value(json!({"assessed_on": "2025-01-10", "mobility": 2,
            "invalidity": [6, "2", 2]}))
        .unwrap();
        let d = i.check(today()).unwrap();
        assert_eq!((d.mobility, d.daily_living, d.invalidity.as_str()), (Some(2), None, "2,6"));
    }

    #[test]
    fn sinba_knows_its_attributes_and_months() {
        let i: SinbaInput = serde_json::from_value(json!({"assessed_on": "2025-01-10",
            "scheme": {"LuogoVita": 3, "FonteSegnalazione": "15", "Colore": "1", "DataSegnalazione": "2024-03",
                       "DataProvvedimentoGiudiziario": "13/2024", "Disabilita": ""}}))
        .unwrap();
        assert_eq!(
            fields(i.check(today())),
            ["scheme.Colore", "scheme.DataProvvedimentoGiudiziario", "scheme.FonteSegnalazione"]
        );
        let i: SinbaInput = serde_json::from_value(json!({"assessed_on": "2025-01-10",
            "scheme": {"LuogoVita": 3, "DataSegnalazione": "2024-03"}}))
        .unwrap();
        let d = i.check(today()).unwrap();
        assert_eq!(d.scheme.get("DataSegnalazione").map(String::as_str), Some("03/2024"));
        assert_eq!(d.scheme.len(), 2);
    }

    #[test]
    fn ente_set_up_and_means_test() {
        let i: InpsEnteInput =
            serde_json::from_value(json!({"code": "f205", "belfiore": "f205", "operator_cf": "01199250158"})).unwrap();
        assert_eq!(i.check().unwrap().code, "F205");
        let i: InpsEnteInput =
            serde_json::from_value(json!({"code": "F 205", "belfiore": "2050", "operator_cf": "RSSMRA50C04F205X"}))
                .unwrap();
        assert_eq!(fields(i.check()), ["code", "belfiore", "operator_cf"]);
        let m: BenefitMeansInput =
            serde_json::from_value(json!({"means_test": 5, "isee": "12.345", "isee_members": 10})).unwrap();
        assert_eq!(fields(m.check(today())), ["means_test", "isee", "isee_members"]);
        let m: BenefitMeansInput =
            serde_json::from_value(json!({"means_test": 1, "isee": "7500,50", "dsu_date": "2025-01-15",
            "dsu_protocol": "INPS-ISEE-2025-00000001A-00"}))
            .unwrap();
        let d = m.check(today()).unwrap();
        assert_eq!((d.means_test, d.isee_cents), (1, Some(750_050)));
    }
}
