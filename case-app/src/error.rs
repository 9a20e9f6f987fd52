//! One error type for the case-management core. Each variant maps to one HTTP status;
//! the messages are safe to show (database details are logged, never sent).

use std::collections::BTreeMap;

use serde::Serialize;

/// A problem with one field of the input: which field, and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the API and the forms spell it (`fiscal_code`, `goals[1]`).
    pub field: String,
    /// A stable code for the problem (`required`, `not_a_date`, `fiscal_code_check`, ...);
    /// the pages word it from the message catalogue (`err_<code>`) with `params`.
    pub code: String,
    /// What is wrong and what is accepted (English).
    pub message: String,
    /// The values the message names.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl FieldError {
    fn new(field: impl Into<String>, code: &str, params: &[(&str, String)], message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
            params: params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        }
    }
}

/// Why an operation did not happen. Nothing was written when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The input has field-level problems (HTTP 422).
    #[error("invalid input: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// Not found, or not in the user's enti, which is shown the same way (HTTP 404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The operation does not fit the state of the record (HTTP 409). `code` is stable
    /// for clients; `message` says why.
    #[error("{message}")]
    Conflict {
        /// A stable code, e.g. `plan_not_approved`.
        code: &'static str,
        /// What is in the way.
        message: String,
    },
    /// Not signed in, or the session expired (HTTP 401).
    #[error("sign-in required")]
    Unauthorized,
    /// The user's role does not allow this (HTTP 403).
    #[error("your role does not allow this: {0}")]
    Forbidden(&'static str),
    /// A form or request without the session's CSRF token (HTTP 403).
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// Too many failed sign-ins (HTTP 429).
    #[error("too many failed sign-ins; retry in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// The database failed: a bug or an outage, not the user's doing (HTTP 500).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Something inside failed (HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
}

fn summary(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

impl CaseError {
    /// A conflict with a stable code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// One invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, "invalid", &[], message)])
    }

    /// One invalid field, with a code and the values its message names.
    pub fn field_code(
        field: impl Into<String>,
        code: &str,
        params: &[(&str, String)],
        message: impl Into<String>,
    ) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, params, message)])
    }
}

/// The result of case-management operations.
pub type Result<T, E = CaseError> = std::result::Result<T, E>;

/// Collects field errors while an input is checked, then fails once with all of them.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, "invalid", &[], message));
    }

    /// Records a problem with `field`, with a code and the values its message names.
    pub fn fail(
        &mut self,
        field: impl Into<String>,
        code: &str,
        params: &[(&str, String)],
        message: impl Into<String>,
    ) {
        self.errors.push(FieldError::new(field, code, params, message));
    }

    /// A required text: trimmed, not empty, at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.fail(field, "required", &[], "required");
        } else if v.chars().count() > max {
            self.fail(field, "too_long", &[("max", max.to_string())], format!("at most {max} characters"));
        }
        v.to_owned()
    }

    /// An optional text: `None` when blank.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        if v.chars().count() > max {
            self.fail(field, "too_long", &[("max", max.to_string())], format!("at most {max} characters"));
        }
        Some(v.to_owned())
    }

    /// A date in ISO form (`YYYY-MM-DD`) that exists on the calendar.
    pub fn date(&mut self, field: &str, value: &str) -> Option<chrono::NaiveDate> {
        match chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) if value.trim().is_empty() => {
                self.fail(field, "required", &[], "required (YYYY-MM-DD)");
                None
            }
            Err(_) => {
                let v = value.trim().to_owned();
                self.fail(
                    field,
                    "not_a_date",
                    &[("value", v.clone())],
                    format!("'{v}' is not a calendar date (YYYY-MM-DD)"),
                );
                None
            }
        }
    }

    /// One of the accepted codes.
    pub fn one_of(&mut self, field: &str, value: &str, accepted: &[&str]) -> String {
        let v = value.trim();
        if !accepted.contains(&v) {
            self.fail(
                field,
                "not_one_of",
                &[("value", v.to_owned())],
                format!("'{v}' is not one of: {}", accepted.join(", ")),
            );
        }
        v.to_owned()
    }

    /// Whether a problem with `field` is already recorded.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// Fails with every problem recorded, or succeeds if there was none.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() { Ok(()) } else { Err(CaseError::Invalid(self.errors)) }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checker_gathers_every_field() {
        let mut c = Checker::default();
        assert!(c.date("birth_date", "1990-02-30").is_none());
        c.text("surname", "  ", 80);
        c.one_of("sex", "X", &["M", "F"]);
        let Err(CaseError::Invalid(errors)) = c.finish() else { panic!("expected invalid") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["birth_date", "surname", "sex"]);
        assert!(errors[0].message.contains("1990-02-30"));
    }
}
