//! The period a dashboard or a report covers: whole months, `from` to `to` inclusive.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use crate::{Error, Result};

/// Whole months from `from` (its first day) to `to` (its last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

/// The longest period asked for at once: ten years of months.
pub const MAX_MONTHS: u32 = 120;

fn month(field: &str, raw: &str) -> Result<NaiveDate> {
    let bad = || Error::Invalid(format!("{field}: '{raw}' is not a month (YYYY-MM, e.g. 2025-01)"));
    let (y, m) = raw.trim().split_once('-').ok_or_else(bad)?;
    let (y, m) = (y.parse::<i32>().map_err(|_| bad())?, m.parse::<u32>().map_err(|_| bad())?);
    if !(1900..=2200).contains(&y) {
        return Err(bad());
    }
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
}

impl Period {
    /// The months `from`..=`to` (`YYYY-MM`), or the calendar `year`, or by default the
    /// twelve months up to the last complete one before `today`. A period that starts
    /// after `today`, ends before it starts or spans more than [`MAX_MONTHS`] is refused.
    pub fn parse(from: Option<&str>, to: Option<&str>, year: Option<&str>, today: NaiveDate) -> Result<Period> {
        let this_month = today.with_day(1).unwrap_or(today);
        let (start, end) = match (from, to, year) {
            (None, None, Some(y)) => {
                let first = month("year", &format!("{}-01", y.trim()))
                    .map_err(|_| Error::Invalid(format!("year: '{y}' is not a year (e.g. 2025)")))?;
                (first, first + Months::new(11))
            }
            (_, _, Some(_)) => return Err(Error::Invalid("give either year or from/to, not both".into())),
            (f, t, None) => {
                let end = match t {
                    Some(t) => month("to", t)?,
                    None => this_month - Months::new(1),
                };
                let start = match f {
                    Some(f) => month("from", f)?,
                    None => end - Months::new(11),
                };
                (start, end)
            }
        };
        if start > this_month {
            return Err(Error::Invalid(format!(
                "the period starts in {}, after the current month {}",
                start.format("%Y-%m"),
                this_month.format("%Y-%m")
            )));
        }
        if end < start {
            return Err(Error::Invalid(format!(
                "to ({}) is before from ({})",
                end.format("%Y-%m"),
                start.format("%Y-%m")
            )));
        }
        let p = Period { from: start, to: (end + Months::new(1)).pred_opt().unwrap_or(end) };
        if p.months() > MAX_MONTHS {
            return Err(Error::Invalid(format!("the period spans {} months; at most {MAX_MONTHS}", p.months())));
        }
        Ok(p)
    }

    /// How many months.
    pub fn months(&self) -> u32 {
        let m = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
        u32::try_from(m(self.to) - m(self.from) + 1).unwrap_or(0)
    }

    /// The first day of each month.
    pub fn month_starts(&self) -> Vec<NaiveDate> {
        (0..self.months()).map(|i| self.from + Months::new(i)).collect()
    }

    /// `YYYY-MM – YYYY-MM`, or `YYYY` for a calendar year.
    pub fn label(&self) -> String {
        if self.from.month() == 1 && self.to.month() == 12 && self.from.year() == self.to.year() {
            self.from.format("%Y").to_string()
        } else {
            format!("{} – {}", self.from.format("%Y-%m"), self.to.format("%Y-%m"))
        }
    }

    /// The same months `years` earlier.
    pub fn years_before(&self, years: u32) -> Period {
        let back = Months::new(12 * years);
        Period {
            from: self.from - back,
            to: (self.to.with_day(1).unwrap_or(self.to) - back + Months::new(1)).pred_opt().unwrap_or(self.to),
        }
    }

    /// SQL literals of the first and last day, for predicates over Date32 columns.
    pub fn sql_bounds(&self) -> (String, String) {
        (format!("DATE '{}'", self.from), format!("DATE '{}'", self.to))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn months_years_and_the_default_year() {
        let p = Period::parse(Some("2025-03"), Some("2025-05"), None, today()).unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string(), p.months()), ("2025-03-01".into(), "2025-05-31".into(), 3));
        let y = Period::parse(None, None, Some("2024"), today()).unwrap();
        assert_eq!((y.to.to_string(), y.label()), ("2024-12-31".into(), "2024".into()));
        let d = Period::parse(None, None, None, today()).unwrap();
        assert_eq!((d.from.to_string(), d.to.to_string()), ("2025-11-01".into(), "2026-10-31".into()));
        assert_eq!(y.years_before(2).label(), "2022");
        assert_eq!(
            Period::parse(Some("2024-02"), Some("2024-02"), None, today()).unwrap().years_before(1).to.to_string(),
            "2023-02-28"
        );
    }

    #[test]
    fn bad_periods_say_what_is_wrong() {
        let err = |f: Option<&str>, t: Option<&str>, y: Option<&str>| {
            Period::parse(f, t, y, today()).unwrap_err().to_string()
        };
        assert!(err(Some("2025-13"), None, None).contains("from: '2025-13' is not a month"));
        assert!(err(None, None, Some("twenty")).contains("year: 'twenty'"));
        assert!(err(Some("2027-01"), Some("2027-02"), None).contains("after the current month 2026-11"));
        assert!(err(Some("2025-05"), Some("2025-01"), None).contains("before from"));
        assert!(err(Some("2000-01"), Some("2025-01"), None).contains("at most 120"));
        assert!(err(Some("2025-01"), None, Some("2025")).contains("not both"));
    }
}
