//! Declared source schemas: each source's columns, their types and rules, and the
//! check that turns one raw field into a typed value or a reason to quarantine the row.

use chrono::NaiveDate;
use mosaico_domain::{FiscalCode, IstatCode};

/// What a column holds, and the rule its values follow.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Free text (kept or dropped by the source's row function).
    Text,
    /// One of a fixed list of codes.
    Code(&'static [&'static str]),
    /// A whole number in `min..=max`; `1.0` is read as 1 (ISTAT files write counts so).
    Int {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A decimal number in `min..=max`.
    Decimal {
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// A date, `YYYY-MM-DD`, between 1900-01-01 and 2100-12-31.
    Date,
    /// An Italian fiscal code with a valid check character (or an 11-digit temporary code).
    FiscalCode,
    /// A six-digit ISTAT comune code that is in the list of comuni.
    Comune,
    /// Latitude in degrees.
    Latitude,
    /// Longitude in degrees.
    Longitude,
    /// Text that never leaves the file (a name, an address): its presence in the header
    /// is allowed, its values are not read.
    Dropped,
}

/// One declared column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header name, as the file writes it.
    pub name: String,
    /// Type and rule.
    pub kind: Kind,
    /// Whether an empty value rejects the row.
    pub required: bool,
    /// Whether the column holds personal data (names, fiscal codes, addresses): its
    /// values never appear in messages, and never reach the warehouse.
    pub personal: bool,
}

impl Column {
    /// A required column.
    pub fn req(name: &str, kind: Kind) -> Self {
        Self { name: name.to_owned(), kind, required: true, personal: false }
    }
    /// An optional column.
    pub fn opt(name: &str, kind: Kind) -> Self {
        Self { name: name.to_owned(), kind, required: false, personal: false }
    }
    /// An optional column whose values are not read (personal data that stays out of
    /// the warehouse, or text nothing uses).
    pub fn dropped(name: &str) -> Self {
        Self { name: name.to_owned(), kind: Kind::Dropped, required: false, personal: true }
    }
    /// Marks the column as personal data.
    pub fn personal(mut self) -> Self {
        self.personal = true;
        self
    }
}

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'r> {
    /// Empty.
    Null,
    /// Text or a code.
    Text(&'r str),
    /// A whole number.
    Int(i64),
    /// A decimal.
    Num(f64),
    /// A date.
    Date(NaiveDate),
    /// A fiscal code.
    FiscalCode(FiscalCode),
    /// A comune.
    Comune(IstatCode),
}

impl<'r> Value<'r> {
    /// The text, if any.
    pub fn text(&self) -> Option<&'r str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The whole number, if any.
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
    /// The number (whole or decimal), if any.
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
    /// The date, if any.
    pub fn date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }
}

/// Why a row was quarantined: a stable code (for counting and filtering), the column
/// and a message that says what is wrong without repeating personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Stable reason code, e.g. `bad_date`.
    pub reason: &'static str,
    /// The column, if one is to blame.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Reject {
    /// A rejection naming a column.
    pub fn at(column: &str, reason: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(documented(reason), "reason code '{reason}' is not in REASONS");
        Self { reason, column: Some(column.to_owned()), message: message.into() }
    }
    /// A rejection of the whole row.
    pub fn row(reason: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(documented(reason), "reason code '{reason}' is not in REASONS");
        Self { reason, column: None, message: message.into() }
    }
}

/// The reason codes, with what they mean: the README's table of reasons (a test keeps
/// the two in step; debug builds refuse any other code).
pub const REASONS: &[(&str, &str)] = &[
    ("missing_value", "a required value is empty"),
    ("bad_number", "not a number, or not a whole number where one is expected"),
    ("out_of_range", "a number or date outside its allowed range"),
    ("bad_date", "not a date (YYYY-MM-DD)"),
    ("bad_code", "not one of the allowed codes"),
    ("bad_fiscal_code", "a fiscal code with a wrong shape or check character"),
    ("fiscal_code_mismatch", "the fiscal code does not agree with the birth date and sex"),
    ("unknown_comune", "an ISTAT code that is not in the list of comuni"),
    ("outside_territory", "coordinates outside the comuni of the territory"),
    ("incoherent_dates", "dates in the wrong order, or in the future"),
    ("incoherent_amounts", "amounts that do not add up"),
    ("incoherent_totals", "counts that do not add up (age bands, sexes)"),
    ("duplicate_key", "the same key as an earlier row"),
    ("field_count", "a line with more or fewer fields than the header (a truncated file?)"),
    ("unknown_nil", "a NIL name not in the NIL boundaries"),
    ("unknown_reference", "refers to something not loaded (a case, a person)"),
];

/// Whether `reason` is one of [`REASONS`].
pub fn documented(reason: &str) -> bool {
    REASONS.iter().any(|(code, _)| *code == reason)
}

/// Earliest and latest dates accepted anywhere.
fn date_bounds() -> (NaiveDate, NaiveDate) {
    (NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default(), NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or_default())
}

/// `'value'`, or `the value` for personal columns.
fn shown(col: &Column, raw: &str) -> String {
    if col.personal { "the value".to_owned() } else { format!("'{raw}'") }
}

/// Checks one raw (trimmed) field against its column.
pub fn check<'r>(col: &Column, raw: &'r str, comuni: &dyn Fn(&str) -> bool) -> Result<Value<'r>, Reject> {
    if raw.is_empty() {
        return if col.required { Err(Reject::at(&col.name, "missing_value", "is empty")) } else { Ok(Value::Null) };
    }
    let name = &col.name;
    match &col.kind {
        Kind::Text => Ok(Value::Text(raw)),
        Kind::Dropped => Ok(Value::Null),
        Kind::Code(codes) => {
            if codes.contains(&raw) {
                Ok(Value::Text(raw))
            } else {
                Err(Reject::at(name, "bad_code", format!("{} is not one of: {}", shown(col, raw), codes.join(", "))))
            }
        }
        Kind::Int { min, max } => {
            let v = parse_int(raw)
                .ok_or_else(|| Reject::at(name, "bad_number", format!("{} is not a whole number", shown(col, raw))))?;
            if v < *min || v > *max {
                return Err(Reject::at(name, "out_of_range", format!("{v} is outside {min}..={max}")));
            }
            Ok(Value::Int(v))
        }
        Kind::Decimal { min, max } => {
            let v = raw
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Reject::at(name, "bad_number", format!("{} is not a number", shown(col, raw))))?;
            if v < *min || v > *max {
                return Err(Reject::at(name, "out_of_range", format!("{v} is outside {min}..={max}")));
            }
            Ok(Value::Num(v))
        }
        Kind::Date => {
            let d = parse_date(raw)
                .map_err(|_| Reject::at(name, "bad_date", format!("{} is not a date (YYYY-MM-DD)", shown(col, raw))))?;
            let (lo, hi) = date_bounds();
            if d < lo || d > hi {
                return Err(Reject::at(name, "out_of_range", format!("{d} is outside {lo}..{hi}")));
            }
            Ok(Value::Date(d))
        }
        Kind::FiscalCode => FiscalCode::parse(raw)
            .map(Value::FiscalCode)
            .map_err(|e| Reject::at(name, "bad_fiscal_code", e.to_string())),
        Kind::Comune => {
            let code = IstatCode::parse(raw).map_err(|e| Reject::at(name, "unknown_comune", e.to_string()))?;
            if !comuni(code.as_str()) {
                return Err(Reject::at(
                    name,
                    "unknown_comune",
                    format!("'{}' is not in the ISTAT list of comuni", code.as_str()),
                ));
            }
            Ok(Value::Comune(code))
        }
        Kind::Latitude | Kind::Longitude => {
            let (lo, hi) = if matches!(col.kind, Kind::Latitude) { (-90.0, 90.0) } else { (-180.0, 180.0) };
            let v = raw
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Reject::at(name, "bad_number", format!("'{raw}' is not a number")))?;
            if !(lo..=hi).contains(&v) {
                return Err(Reject::at(name, "out_of_range", format!("{v} is outside {lo}..={hi} degrees")));
            }
            Ok(Value::Num(v))
        }
    }
}

/// `YYYY-MM-DD`, without chrono's general format parser (this runs once per date per row).
fn parse_date(raw: &str) -> Result<NaiveDate, ()> {
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, ()> {
        b[r].iter()
            .try_fold(0u32, |acc, &c| if c.is_ascii_digit() { Ok(acc * 10 + u32::from(c - b'0')) } else { Err(()) })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?).ok_or(())
}

/// `12`, `-3`, or an integral decimal like `1.0`.
fn parse_int(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().or_else(|| {
        let f = raw.parse::<f64>().ok()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn any(_: &str) -> bool {
        true
    }

    #[test]
    fn values_are_typed_or_rejected_with_a_reason() {
        let int = Column::req("posti", Kind::Int { min: 1, max: 1000 });
        assert_eq!(check(&int, "12", &any), Ok(Value::Int(12)));
        assert_eq!(check(&int, "12.0", &any), Ok(Value::Int(12)));
        assert_eq!(check(&int, "0", &any).unwrap_err().reason, "out_of_range");
        assert_eq!(check(&int, "12.5", &any).unwrap_err().reason, "bad_number");
        assert_eq!(check(&int, "", &any).unwrap_err().reason, "missing_value");
        let date = Column::opt("data", Kind::Date);
        assert_eq!(check(&date, "", &any), Ok(Value::Null));
        assert_eq!(check(&date, "2026-02-30", &any).unwrap_err().reason, "bad_date");
        assert_eq!(check(&date, "2026-2-3", &any).unwrap_err().reason, "bad_date");
        assert_eq!(check(&date, "2026-+2-03", &any).unwrap_err().reason, "bad_date");
        assert_eq!(check(&date, "2024-02-29", &any), Ok(Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())));
        assert_eq!(check(&date, "1850-01-01", &any).unwrap_err().reason, "out_of_range");
        let cf = Column::req("codice_fiscale", Kind::FiscalCode).personal();
        let bad = check(&cf, "RSSMRA80A01F205Y", &any).unwrap_err();
        assert_eq!(bad.reason, "bad_fiscal_code");
        assert!(!bad.message.contains("RSSMRA80A01F205"), "{}", bad.message);
        let comune = Column::req("comune", Kind::Comune);
        assert_eq!(
            check(&comune, "015146", &|c| c == "015146"),
            Ok(Value::Comune(IstatCode::parse("015146").unwrap()))
        );
        assert_eq!(check(&comune, "015999", &|c| c == "015146").unwrap_err().reason, "unknown_comune");
        let lat = Column::opt("latitudine", Kind::Latitude);
        assert_eq!(check(&lat, "95", &any).unwrap_err().reason, "out_of_range");
        let text = Column::req("cognome", Kind::Text).personal();
        let code = Column::req("sesso", Kind::Code(&["M", "F"]));
        assert_eq!(check(&text, "Rossi", &any), Ok(Value::Text("Rossi")));
        assert!(check(&code, "X", &any).unwrap_err().message.contains("'X' is not one of: M, F"));
    }
}
