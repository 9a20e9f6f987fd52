//! Cohort ageing: the population per NIL and single year of age, projected year by year
//! over the horizon of a Piano di Zona (three years by default).
//!
//! ```text
//!  P(a+1, t+1) = P(a, t) · (1 − q(a)) · (1 + m)        a = 0..99 (100 is "100 and over")
//!  P(0,   t+1) = b · Σ P(·, t) · (1 + m)
//!  q(a) = k · g(a),  g Gompertz-shaped (doubling about every 7 years of age), k such that
//!        Σ q(a)·P(a, 0) = d · Σ P(·, 0)   (the area's crude death rate on its own age structure)
//! ```
//!
//! b, d and m are the crude birth, death and net migration rates of the area, per
//! resident per year. The defaults are each NIL's (PGT 2030) births, deaths, immigrants
//! and emigrants over its residents, about 2021 ([`RateTable::built_in`],
//! `analytics/nil_rates.csv`, from the NIL profiles in `../shared/data-real`); areas
//! outside them (other comuni, NIL without residents) take the city's rates. A planner
//! can give a table of their own, or override any rate for every area.
//!
//! Demand is projected at constant prevalence: the share of each age band that a target
//! rule selects stays as it is today, and the band grows as the cohort model says.

use std::collections::BTreeMap;

use crate::{Error, Result};

/// The oldest single year kept; the last class is "this age and over".
pub const MAX_AGE: usize = 100;

/// The horizons accepted, in years.
pub const YEARS: std::ops::RangeInclusive<u32> = 1..=10;

/// The default horizon: the three years of a Piano di Zona.
pub const DEFAULT_YEARS: u32 = 3;

/// Age bands of the projection's tables (first age, last age, label).
pub const BANDS: [(u8, u8, &str); 11] = [
    (0, 2, "0-2"),
    (3, 5, "3-5"),
    (6, 10, "6-10"),
    (11, 14, "11-14"),
    (15, 17, "15-17"),
    (18, 24, "18-24"),
    (25, 44, "25-44"),
    (45, 64, "45-64"),
    (65, 74, "65-74"),
    (75, 84, "75-84"),
    (85, 100, "85+"),
];

/// The band index of an age.
pub fn band_of(age: u32) -> usize {
    BANDS.iter().position(|(lo, hi, _)| age >= u32::from(*lo) && age <= u32::from(*hi)).unwrap_or(BANDS.len() - 1)
}

/// The SQL expression giving the band index of `age` (the same bands).
pub fn band_sql() -> String {
    let arms: Vec<String> =
        BANDS.iter().enumerate().map(|(i, (_, hi, _))| format!("WHEN age <= {hi} THEN {i}")).collect();
    format!("CASE {} ELSE {} END", arms.join(" "), BANDS.len() - 1)
}

/// Yearly rates per resident.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rates {
    /// Live births per resident.
    pub births: f64,
    /// Deaths per resident (crude).
    pub deaths: f64,
    /// Net migration (immigrants − emigrants) per resident.
    pub migration: f64,
}

impl Rates {
    fn check(&self, what: &str) -> Result<()> {
        for (name, v, range) in [
            ("births", self.births, 0.0..=0.2),
            ("deaths", self.deaths, 0.0..=0.2),
            ("migration", self.migration, -0.5..=0.5),
        ] {
            if !range.contains(&v) {
                return Err(Error::Invalid(format!(
                    "{what}: the {name} rate {v} is outside {}..={} per resident per year",
                    range.start(),
                    range.end()
                )));
            }
        }
        Ok(())
    }
}

/// Rates per NIL, and the rates of every other area.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTable {
    /// Rates of areas the table does not list (the city's).
    pub default: Rates,
    /// Rates by NIL id.
    pub by_nil: BTreeMap<i32, Rates>,
}

/// Partial rates: any given replaces the table's for every area.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Overrides {
    /// Live births per resident.
    pub births: Option<f64>,
    /// Deaths per resident.
    pub deaths: Option<f64>,
    /// Net migration per resident.
    pub migration: Option<f64>,
}

impl RateTable {
    /// The NIL profiles' rates (about 2021), built in.
    pub fn built_in() -> RateTable {
        #[allow(clippy::expect_used)]
        RateTable::from_csv(include_str!("../nil_rates.csv")).expect("the built-in rates parse")
    }

    /// Reads `nil_id,nil,population,births,deaths,immigrants,emigrants` (lines starting
    /// with `#` are comments). NIL with no residents take the total's rates.
    pub fn from_csv(text: &str) -> Result<RateTable> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
        let header = "nil_id,nil,population,births,deaths,immigrants,emigrants";
        match lines.next() {
            Some((_, h)) if h.trim() == header => {}
            other => {
                return Err(Error::Invalid(format!(
                    "rates: the header is {:?}; expected `{header}`",
                    other.map(|(_, h)| h).unwrap_or("")
                )));
            }
        }
        let mut rows: Vec<Row> = Vec::new();
        for (n, line) in lines {
            let f: Vec<&str> = line.split(',').collect();
            let num = |i: usize, what: &str| -> Result<f64> {
                f.get(i).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| *v >= 0.0).ok_or_else(|| {
                    Error::Invalid(format!("rates, line {}: {what} is not a count ≥ 0: {line:?}", n + 1))
                })
            };
            let id = f
                .first()
                .and_then(|v| v.trim().parse::<i32>().ok())
                .ok_or_else(|| Error::Invalid(format!("rates, line {}: nil_id is not a number: {line:?}", n + 1)))?;
            rows.push((
                id,
                num(2, "population")?,
                num(3, "births")?,
                num(4, "deaths")?,
                num(5, "immigrants")?,
                num(6, "emigrants")?,
            ));
        }
        let sum = |k: fn(&Row) -> f64| rows.iter().map(k).sum::<f64>();
        let pop = sum(|r| r.1);
        if pop <= 0.0 {
            return Err(Error::Invalid("rates: the table has no residents".into()));
        }
        let default = Rates {
            births: sum(|r| r.2) / pop,
            deaths: sum(|r| r.3) / pop,
            migration: (sum(|r| r.4) - sum(|r| r.5)) / pop,
        };
        let mut by_nil = BTreeMap::new();
        for (id, pop, b, d, i, e) in rows {
            if pop > 0.0 {
                let r = Rates { births: b / pop, deaths: d / pop, migration: (i - e) / pop };
                r.check(&format!("rates of NIL {id}"))?;
                by_nil.insert(id, r);
            }
        }
        Ok(RateTable { default, by_nil })
    }

    /// The rates of an area (a NIL, or elsewhere).
    pub fn of(&self, nil: Option<i32>) -> Rates {
        nil.and_then(|n| self.by_nil.get(&n)).copied().unwrap_or(self.default)
    }

    /// The table with some rates replaced everywhere; refuses rates out of range.
    pub fn with(mut self, o: Overrides) -> Result<RateTable> {
        let apply = |r: &mut Rates| {
            r.births = o.births.unwrap_or(r.births);
            r.deaths = o.deaths.unwrap_or(r.deaths);
            r.migration = o.migration.unwrap_or(r.migration);
        };
        apply(&mut self.default);
        self.by_nil.values_mut().for_each(apply);
        self.default.check("rates")?;
        Ok(self)
    }
}

/// A row of the rates table: NIL, residents, births, deaths, immigrants, emigrants.
type Row = (i32, f64, f64, f64, f64, f64);

/// The shape of the yearly probability of dying by age (Gompertz, with an infant term).
fn mortality_shape(age: usize) -> f64 {
    let a = age as f64;
    2.0e-5 * (0.095 * a).exp() + if age == 0 { 2.5e-3 } else { 0.0 }
}

/// Residents by single year of age (the last: that age and over).
pub type Ages = [f64; MAX_AGE + 1];

/// An area of the projection: a NIL of Milan, or a comune outside the NIL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AreaKey {
    /// The NIL (Milan).
    pub nil: Option<i32>,
    /// The comune (ISTAT code).
    pub comune: String,
}

/// Residents per area and age, year by year.
#[derive(Debug, Clone)]
pub struct Projection {
    /// For each area, residents by age in year 0 (the base), 1, …, years.
    pub by_area: BTreeMap<AreaKey, Vec<Ages>>,
}

/// Ages each area's residents `years` times with its rates.
pub fn project(base: BTreeMap<AreaKey, Ages>, rates: &RateTable, years: u32) -> Result<Projection> {
    if !YEARS.contains(&years) {
        return Err(Error::Invalid(format!(
            "years: {years} is out of range; project {}..={} years ahead",
            YEARS.start(),
            YEARS.end()
        )));
    }
    let mut by_area = BTreeMap::new();
    for (key, ages) in base {
        let r = rates.of(key.nil);
        let total: f64 = ages.iter().sum();
        let expected: f64 = ages.iter().enumerate().map(|(a, p)| p * mortality_shape(a)).sum();
        let k = if expected > 0.0 { r.deaths * total / expected } else { 0.0 };
        let q: Vec<f64> = (0..=MAX_AGE).map(|a| (k * mortality_shape(a)).min(1.0)).collect();
        let mut years_v = vec![ages];
        for _ in 0..years {
            let Some(p) = years_v.last() else { break };
            let grow = 1.0 + r.migration;
            let mut next = [0.0; MAX_AGE + 1];
            next[0] = r.births * p.iter().sum::<f64>() * grow;
            for a in 0..MAX_AGE {
                next[a + 1] += p[a] * (1.0 - q[a]) * grow;
            }
            next[MAX_AGE] += p[MAX_AGE] * (1.0 - q[MAX_AGE]) * grow;
            years_v.push(next);
        }
        by_area.insert(key, years_v);
    }
    Ok(Projection { by_area })
}

impl Projection {
    /// Residents of an area in a band in a year.
    pub fn band(&self, key: &AreaKey, band: usize, year: usize) -> f64 {
        let Some(years) = self.by_area.get(key) else { return 0.0 };
        let Some(ages) = years.get(year) else { return 0.0 };
        let (lo, hi, _) = BANDS[band];
        ages[usize::from(lo)..=usize::from(hi)].iter().sum()
    }

    /// Residents of an area in a year.
    pub fn total(&self, key: &AreaKey, year: usize) -> f64 {
        self.by_area.get(key).and_then(|y| y.get(year)).map_or(0.0, |a| a.iter().sum())
    }

    /// How much a band (`None`: everyone) of an area grows from the base to a year
    /// (1 where the band is empty today: nobody to scale).
    pub fn growth(&self, key: &AreaKey, band: Option<usize>, year: usize) -> f64 {
        let (now, then) = match band {
            Some(b) => (self.band(key, b, 0), self.band(key, b, year)),
            None => (self.total(key, 0), self.total(key, year)),
        };
        if now > 0.0 { then / now } else { 1.0 }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(nil: i32) -> AreaKey {
        AreaKey { nil: Some(nil), comune: mosaico_domain::MILANO.into() }
    }

    #[test]
    fn built_in_rates_are_the_profiles() {
        let t = RateTable::built_in();
        assert_eq!(t.by_nil.len(), 87, "88 NIL, Parco Sempione has no residents");
        // Milan: 10,046 births, 14,593 deaths, 47,295 − 43,816 net migrants, 1,386,285 residents.
        assert!((t.default.births - 10_046.0 / 1_386_285.0).abs() < 1e-12);
        assert!((t.default.deaths - 14_593.0 / 1_386_285.0).abs() < 1e-12);
        assert!((t.default.migration - 3_479.0 / 1_386_285.0).abs() < 1e-12);
        // Duomo: 16,706 residents, 113 births, 163 deaths, 916 − 620 migrants.
        assert!((t.of(Some(1)).births - 113.0 / 16_706.0).abs() < 1e-12);
        assert_eq!(t.of(Some(8)), t.default);
        assert_eq!(t.of(None), t.default);
    }

    #[test]
    fn a_cohort_ages_dies_and_is_born_as_the_rates_say() {
        // 1,000 residents of every age 0..=99: deaths at the crude rate in year 1.
        let mut ages = [1000.0; MAX_AGE + 1];
        ages[MAX_AGE] = 0.0;
        let rates =
            RateTable { default: Rates { births: 0.01, deaths: 0.012, migration: 0.0 }, by_nil: BTreeMap::new() };
        let p = project(BTreeMap::from([(key(1), ages)]), &rates, 3).unwrap();
        let y = &p.by_area[&key(1)];
        assert_eq!(y.len(), 4);
        let total0: f64 = y[0].iter().sum();
        // Births: 1 % of 100,000; deaths: 1.2 % of them.
        assert!((y[1][0] - 1000.0).abs() < 1e-9);
        let survivors: f64 = y[1][1..].iter().sum();
        assert!((survivors - (total0 - 0.012 * total0)).abs() < 1e-6, "{survivors}");
        // The old die more: the 90-year-olds lose more than the 30-year-olds.
        assert!(y[1][91] < y[1][31]);
        // Net migration of +1 % a year scales everyone.
        let grown = RateTable::built_in()
            .with(Overrides { births: Some(0.0), deaths: Some(0.0), migration: Some(0.01) })
            .unwrap();
        let p = project(BTreeMap::from([(key(1), ages)]), &grown, 2).unwrap();
        assert!((p.total(&key(1), 2) - total0 * 1.01 * 1.01).abs() < 1e-6);
        assert!((p.growth(&key(1), Some(band_of(80)), 2) - 1.0201).abs() < 0.02);
    }

    #[test]
    fn bad_rates_and_horizons_say_what_is_allowed() {
        let e = project(BTreeMap::new(), &RateTable::built_in(), 0).unwrap_err().to_string();
        assert!(e.contains("1..=10"), "{e}");
        let e = RateTable::built_in().with(Overrides { deaths: Some(0.5), ..Overrides::default() }).unwrap_err();
        assert!(e.to_string().contains("deaths rate 0.5"), "{e}");
        let e = RateTable::from_csv("id,births\n1,2\n").unwrap_err().to_string();
        assert!(e.contains("expected `nil_id,nil,population"), "{e}");
        let e = RateTable::from_csv("nil_id,nil,population,births,deaths,immigrants,emigrants\n1,A,100,x,1,1,1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2: births"), "{e}");
        assert_eq!(band_of(0), 0);
        assert_eq!(band_of(75), 9);
        assert_eq!(band_of(120), 10);
        assert!(band_sql().starts_with("CASE WHEN age <= 2 THEN 0"));
    }
}
