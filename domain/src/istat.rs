//! ISTAT codes of comuni.

use std::fmt;

/// Why a string is not an ISTAT comune code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an ISTAT comune code (six digits, e.g. 015146 for Milano)")]
pub struct IstatCodeError(pub String);

/// The six-digit ISTAT code of a comune: three digits of province, three of comune.
/// Numeric forms without the leading zero (`15146`) are accepted and padded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IstatCode(String);

impl IstatCode {
    /// Parses `015146`, `15146` or `15146.0` into `015146`.
    pub fn parse(input: &str) -> Result<Self, IstatCodeError> {
        let t = input.trim();
        let t = t.strip_suffix(".0").unwrap_or(t);
        if t.is_empty() || t.len() > 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IstatCodeError(input.to_owned()));
        }
        Ok(Self(format!("{t:0>6}")))
    }

    /// The code, six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IstatCode {
    type Error = IstatCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IstatCode> for String {
    fn from(c: IstatCode) -> Self {
        c.0
    }
}

impl fmt::Display for IstatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pads_and_rejects() {
        assert_eq!(IstatCode::parse("15146").unwrap().as_str(), "015146");
        assert_eq!(IstatCode::parse("015146").unwrap().as_str(), "015146");
        assert_eq!(IstatCode::parse("15146.0").unwrap().as_str(), "015146");
        assert!(IstatCode::parse("F205").is_err());
        assert!(IstatCode::parse("1234567").is_err());
        assert!(IstatCode::parse("").is_err());
    }
}
