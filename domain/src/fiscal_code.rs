//! The Italian *codice fiscale*: parsing with the check character, and composition
//! from personal data (used by the synthetic registry).

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Sex as recorded in the civil registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    /// Maschio.
    M,
    /// Femmina.
    F,
}

impl Sex {
    /// The registry letter, `M` or `F`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
        }
    }
}

/// Why a string is not a fiscal code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiscalCodeError {
    /// Neither 16 characters (personal) nor 11 digits (temporary).
    #[error("a fiscal code has 16 characters (or 11 digits if temporary), got {0}")]
    Length(usize),
    /// A character is not allowed at this position.
    #[error("character {position} ('{found}') should be {expected}")]
    Character {
        /// 1-based position.
        position: usize,
        /// The character found.
        found: char,
        /// What the position accepts.
        expected: &'static str,
    },
    /// The month letter is not one of ABCDEHLMPRST.
    #[error("'{0}' is not a month letter (A B C D E H L M P R S T)")]
    Month(char),
    /// The day is not 1-31 or 41-71.
    #[error("day {0} is not 1-31 (men) or 41-71 (women)")]
    Day(u32),
    /// The last character does not match the other fifteen.
    #[error("check character is '{found}', the other characters give '{expected}'")]
    Check {
        /// The character in the code.
        found: char,
        /// The character computed from the first fifteen.
        expected: char,
    },
}

/// A valid fiscal code (upper case, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiscalCode(String);

const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
/// Letters that replace digits in a code altered for omocodia.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
/// Values of characters in odd positions (1st, 3rd, ...), indexed by digit or letter.
const ODD: [u32; 26] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
/// Positions (0-based) that hold digits in a code without omocodia.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

impl FiscalCode {
    /// Parses a personal (16 characters) or temporary (11 digits) fiscal code.
    /// Lower case and surrounding spaces are accepted and normalised.
    pub fn parse(input: &str) -> Result<Self, FiscalCodeError> {
        let code = input.trim().to_ascii_uppercase();
        match code.chars().count() {
            16 => Self::parse_personal(code),
            11 => Self::parse_temporary(code),
            n => Err(FiscalCodeError::Length(n)),
        }
    }

    fn parse_personal(code: String) -> Result<Self, FiscalCodeError> {
        let bytes = code.as_bytes();
        if !code.is_ascii() {
            return Err(FiscalCodeError::Length(code.chars().count()));
        }
        for (i, &b) in bytes.iter().enumerate().take(15) {
            let ok = if DIGIT_POSITIONS.contains(&i) {
                b.is_ascii_digit() || OMOCODIA.contains(&b)
            } else {
                b.is_ascii_uppercase()
            };
            if !ok {
                let expected = if DIGIT_POSITIONS.contains(&i) { "a digit (or L-V for omocodia)" } else { "a letter" };
                return Err(FiscalCodeError::Character { position: i + 1, found: b as char, expected });
            }
        }
        if !MONTHS.contains(&bytes[8]) {
            return Err(FiscalCodeError::Month(bytes[8] as char));
        }
        let day = digit_value(bytes[9]) * 10 + digit_value(bytes[10]);
        if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
            return Err(FiscalCodeError::Day(day));
        }
        let found = bytes[15] as char;
        if !found.is_ascii_uppercase() {
            return Err(FiscalCodeError::Character { position: 16, found, expected: "a letter" });
        }
        let expected = check_char(&code[..15]);
        if found != expected {
            return Err(FiscalCodeError::Check { found, expected });
        }
        Ok(Self(code))
    }

    /// Temporary codes are 11 digits with the Luhn-style check digit of a *partita IVA*.
    fn parse_temporary(code: String) -> Result<Self, FiscalCodeError> {
        for (i, c) in code.chars().enumerate() {
            if !c.is_ascii_digit() {
                return Err(FiscalCodeError::Character { position: i + 1, found: c, expected: "a digit" });
            }
        }
        let digits: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
        let expected = luhn_digit(&digits[..10]);
        if digits[10] != expected {
            return Err(FiscalCodeError::Check {
                found: code.as_bytes()[10] as char,
                expected: char::from_digit(expected, 10).unwrap_or('0'),
            });
        }
        Ok(Self(code))
    }

    /// Composes the code of a person: surname, name, birth date, sex and the
    /// cadastral (Belfiore) code of the birthplace (`F205` Milano, `Z330` Morocco).
    pub fn compose(surname: &str, name: &str, birth: NaiveDate, sex: Sex, belfiore: &str) -> Self {
        let mut s = String::with_capacity(16);
        s.push_str(&surname_part(surname));
        s.push_str(&name_part(name));
        s.push_str(&format!("{:02}", birth.year().rem_euclid(100)));
        s.push(MONTHS[birth.month0() as usize] as char);
        let day = birth.day() + if sex == Sex::F { 40 } else { 0 };
        s.push_str(&format!("{day:02}"));
        s.push_str(&belfiore.to_ascii_uppercase());
        let check = check_char(&s);
        s.push(check);
        Self(s)
    }

    /// The check character of the first fifteen characters of a personal code
    /// (upper-case letters and digits), or `None` if they are not that.
    pub fn check_character(first15: &str) -> Option<char> {
        let ok = first15.len() == 15 && first15.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| check_char(first15))
    }

    /// The birth data a personal code carries: two-digit year, month (1-12), day
    /// (1-31) and sex. `None` for a temporary code.
    pub fn birth_signature(&self) -> Option<(u32, u32, u32, Sex)> {
        if self.is_temporary() {
            return None;
        }
        let b = self.0.as_bytes();
        let d = |i: usize| digit_value(b[i]);
        let year = d(6) * 10 + d(7);
        let month = MONTHS.iter().position(|&m| m == b[8])? as u32 + 1;
        let day = d(9) * 10 + d(10);
        let (day, sex) = if day > 40 { (day - 40, Sex::F) } else { (day, Sex::M) };
        Some((year, month, day, sex))
    }

    /// Whether a personal code agrees with a birth date and sex (temporary codes
    /// always do).
    pub fn agrees_with(&self, birth: NaiveDate, sex: Sex) -> bool {
        self.birth_signature().is_none_or(|(y, m, d, s)| {
            y == birth.year().rem_euclid(100) as u32 && m == birth.month() && d == birth.day() && s == sex
        })
    }

    /// Whether this is an 11-digit temporary code, to be reconciled later.
    pub fn is_temporary(&self) -> bool {
        self.0.len() == 11
    }

    /// The code as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FiscalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn digit_value(b: u8) -> u32 {
    if b.is_ascii_digit() { u32::from(b - b'0') } else { OMOCODIA.iter().position(|&c| c == b).map_or(0, |p| p as u32) }
}

/// The check character of the first fifteen characters of a personal code.
pub(crate) fn check_char(first15: &str) -> char {
    let sum: u32 = first15
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let idx = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') };
            if i % 2 == 0 { ODD[idx as usize] } else { idx }
        })
        .sum();
    (b'A' + (sum % 26) as u8) as char
}

fn luhn_digit(digits: &[u32]) -> u32 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn letters(s: &str) -> (Vec<char>, Vec<char>) {
    let up: Vec<char> = s.to_ascii_uppercase().chars().map(fold_accent).filter(char::is_ascii_uppercase).collect();
    let vowels = up.iter().copied().filter(|c| "AEIOU".contains(*c)).collect();
    let consonants = up.iter().copied().filter(|c| !"AEIOU".contains(*c)).collect();
    (consonants, vowels)
}

fn fold_accent(c: char) -> char {
    match c {
        'À' | 'Á' | 'à' | 'á' => 'A',
        'È' | 'É' | 'è' | 'é' => 'E',
        'Ì' | 'Í' | 'ì' | 'í' => 'I',
        'Ò' | 'Ó' | 'ò' | 'ó' => 'O',
        'Ù' | 'Ú' | 'ù' | 'ú' => 'U',
        other => other,
    }
}

fn pad3(mut v: Vec<char>) -> String {
    v.truncate(3);
    while v.len() < 3 {
        v.push('X');
    }
    v.into_iter().collect()
}

fn surname_part(surname: &str) -> String {
    let (c, v) = letters(surname);
    pad3(c.into_iter().chain(v).collect())
}

fn name_part(name: &str) -> String {
    let (c, v) = letters(name);
    if c.len() >= 4 { pad3(vec![c[0], c[2], c[3]]) } else { pad3(c.into_iter().chain(v).collect()) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse() {
        // Reference values from python-codicefiscale (`codicefiscale.encode`/`is_valid`).
        for code in ["RSSMRA85T10A562S", "MRTMTT91D08F205J", "BNCGLI80A41H501C"] {
            assert!(FiscalCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn birth_signature_reads_date_and_sex() {
        let cf = FiscalCode::parse("BNCGLI80A41H501C").unwrap();
        assert_eq!(cf.birth_signature(), Some((80, 1, 1, Sex::F)));
        let d = NaiveDate::from_ymd_opt(1980, 1, 1).unwrap();
        assert!(cf.agrees_with(d, Sex::F));
        assert!(!cf.agrees_with(d, Sex::M));
        assert!(!cf.agrees_with(NaiveDate::from_ymd_opt(1980, 1, 2).unwrap(), Sex::F));
    }

    #[test]
    fn compose_matches_the_published_example() {
        let d = NaiveDate::from_ymd_opt(1985, 12, 10).unwrap();
        assert_eq!(FiscalCode::compose("Rossi", "Mario", d, Sex::M, "A562").as_str(), "RSSMRA85T10A562S");
        let d = NaiveDate::from_ymd_opt(1991, 4, 8).unwrap();
        assert_eq!(FiscalCode::compose("Moretti", "Matteo", d, Sex::M, "F205").as_str(), "MRTMTT91D08F205J");
        let d = NaiveDate::from_ymd_opt(1980, 1, 1).unwrap();
        assert_eq!(FiscalCode::compose("Bianchi", "Giulia", d, Sex::F, "H501").as_str(), "BNCGLI80A41H501C");
    }

    #[test]
    fn female_day_and_short_names() {
        let d = NaiveDate::from_ymd_opt(1990, 3, 5).unwrap();
        let cf = FiscalCode::compose("Fo", "Ida", d, Sex::F, "F205");
        assert_eq!(cf.as_str(), "FOXDIA90C45F205K");
        assert!(FiscalCode::parse(cf.as_str()).is_ok());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(FiscalCode::parse("RSSMRA85T10A562"), Err(FiscalCodeError::Length(15)));
        assert_eq!(FiscalCode::parse("RSSMRA85T10A562X"), Err(FiscalCodeError::Check { found: 'X', expected: 'S' }));
        assert_eq!(FiscalCode::parse("RSSMRA85Z10A562S"), Err(FiscalCodeError::Month('Z')));
        assert!(matches!(FiscalCode::parse("RSSMRA8XT10A562S"), Err(FiscalCodeError::Character { position: 8, .. })));
    }

    #[test]
    fn omocodia_and_temporary_codes() {
        // 85 -> 8R (R stands for 5): the check character is recomputed.
        let first15 = "RSSMRA8RT10A562";
        let code = format!("{first15}{}", check_char(first15));
        assert!(FiscalCode::parse(&code).is_ok());
        let temp = FiscalCode::parse("12345678903").unwrap();
        assert!(temp.is_temporary());
        assert!(FiscalCode::parse("12345678901").is_err());
    }
}
