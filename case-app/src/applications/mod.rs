//! Online applications of citizens: income support and the disability parking permit.
//!
//! ```text
//!  citizen: /citizen/login (fiscal code + password; SPID/CIE in production)
//!     │
//!     ▼  /citizen/apply/{service}: form + documents (multipart), or POST /api/v1/citizen/applications
//!  ApplicationInput::check ──✗──▶ 422, every field and missing document named; nothing written
//!     │ ✓
//!     ▼  Store::submit_application: ONE transaction
//!  applicant row touched (submissions of one person queue) → insert application (submitted)
//!  + documents (SHA-256) → facts: resident in the ente? earlier application of the service?
//!  → rules::run_checks (completeness, residence, duplicate, ISEE, certificate) → rules::decide:
//!     any check fails ────────────────▶ auto_rejected  (reasons = the failed checks)
//!     a check to review, or a service
//!     that needs an evaluation ───────▶ in_review      (the back-office queue)
//!     all pass ───────────────────────▶ auto_approved  (decided_at, decided_by NULL)
//!  each change of status records a notification (e-mail to the applicant) and an audit line;
//!  decision_ms = decided_at − submitted_at
//!     │
//!     ▼  back office (Permission::ApplicationDecide): /app/applications (queue, filters,
//!        median and p90 time to decision per service), /app/applications/{id} → approve | reject
//!        (in_review → approved | rejected, audited, notified)
//!  citizen: /citizen/applications/{id}: status timeline, checks, documents, notifications,
//!        time to decision
//! ```
//!
//! The thresholds and required documents of each service are in [`rules`]
//! ([`rules::INCOME_SUPPORT`], [`rules::PARKING_PERMIT`]). Applicants are not staff
//! users: they have their own table, sessions (cookie [`http::CITIZEN_COOKIE`]) and
//! CSRF token; failed sign-ins are throttled like the staff's. An applicant applies to
//! the comune of their account (`applicants.ente`), as each comune's portal does.

pub mod http;
mod pages;
pub mod rules;
mod sql;
mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub use rules::{
    ApplicationData, ApplicationInput, INCOME_SUPPORT, MAX_SUBMISSION_BYTES, Outcome, PARKING_PERMIT, Service,
    ServiceRules, Upload,
};
pub use store::{CitizenSession, QueueFilter};

/// A citizen's account, as the pages and the API show it (no password hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Applicant {
    /// Id.
    pub id: i64,
    /// The comune the applicant applies to.
    pub ente: String,
    /// Codice fiscale.
    pub fiscal_code: String,
    /// Name.
    pub full_name: String,
    /// E-mail on the account (the default for notifications).
    pub email: String,
}

/// An applicant with what signing in needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApplicantAuthRow {
    pub id: i64,
    pub ente: String,
    pub fiscal_code: String,
    pub full_name: String,
    pub email: String,
    pub password_hash: String,
    pub active: bool,
}

impl ApplicantAuthRow {
    fn applicant(self) -> Applicant {
        Applicant {
            id: self.id,
            ente: self.ente,
            fiscal_code: self.fiscal_code,
            full_name: self.full_name,
            email: self.email,
        }
    }
}

/// An application.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Application {
    /// Id.
    pub id: i64,
    /// The comune applied to.
    pub ente: String,
    /// The applicant's account.
    pub applicant_id: i64,
    /// The applicant's fiscal code.
    pub fiscal_code: String,
    /// The applicant's name.
    pub applicant_name: String,
    /// `parking_permit` or `income_support`.
    pub service: String,
    /// `submitted`, `auto_approved`, `auto_rejected`, `in_review`, `approved`, `rejected`.
    pub status: String,
    /// Where notifications go.
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Declared ISEE, euro cents (income support).
    pub isee_cents: Option<i64>,
    /// Household members (income support).
    pub household_members: Option<i64>,
    /// Date of the medical certificate (parking permit).
    pub certificate_issued_on: Option<NaiveDate>,
    /// When submitted.
    pub submitted_at: DateTime<Utc>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The back-office user who decided; `None` on a decided application: automatic.
    pub decided_by: Option<i64>,
    /// Their name.
    pub decided_by_name: Option<String>,
    /// Time from submission to decision, milliseconds.
    pub decision_ms: Option<i64>,
    /// Why it was rejected or sent to review: check detail codes (`not_resident`,
    /// `duplicate_of`, `isee_over`, `isee_near`, `certificate_old`, `evaluation_required`).
    pub reasons: Vec<String>,
    /// The back office's note on its decision.
    pub decision_note: Option<String>,
}

impl Application {
    /// Whether the decision was taken without a person (an automatic status).
    pub fn automatic(&self) -> bool {
        self.decided_at.is_some() && self.decided_by.is_none()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApplicationRow {
    pub id: i64,
    pub ente: String,
    pub applicant_id: i64,
    pub fiscal_code: String,
    pub applicant_name: String,
    pub service: String,
    pub status: String,
    pub email: String,
    pub phone: Option<String>,
    pub isee_cents: Option<i64>,
    pub household_members: Option<i64>,
    pub certificate_issued_on: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub decision_ms: Option<i64>,
    pub reasons: String,
    pub decision_note: Option<String>,
}

impl From<ApplicationRow> for Application {
    fn from(r: ApplicationRow) -> Self {
        Application {
            id: r.id,
            ente: r.ente,
            applicant_id: r.applicant_id,
            fiscal_code: r.fiscal_code,
            applicant_name: r.applicant_name,
            service: r.service,
            status: r.status,
            email: r.email,
            phone: r.phone,
            isee_cents: r.isee_cents,
            household_members: r.household_members,
            certificate_issued_on: r.certificate_issued_on,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            decided_by_name: r.decided_by_name,
            decision_ms: r.decision_ms,
            reasons: serde_json::from_str(&r.reasons).unwrap_or_default(),
            decision_note: r.decision_note,
        }
    }
}

/// One automatic check of an application.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationCheck {
    /// `completeness`, `residence`, `duplicate`, `isee`, `certificate`.
    pub name: String,
    /// `pass`, `fail` or `review`.
    pub outcome: String,
    /// The detail's stable code (`resident`, `not_resident`, `duplicate_of`, ...).
    pub code: String,
    /// The values the detail names.
    pub params: BTreeMap<String, String>,
    /// The detail in English (the pages word it from the catalogue, `chk_<code>`).
    pub detail: String,
    /// When checked.
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CheckRow {
    pub name: String,
    pub outcome: String,
    pub code: String,
    pub params: String,
    pub checked_at: DateTime<Utc>,
}

impl From<CheckRow> for ApplicationCheck {
    fn from(r: CheckRow) -> Self {
        let params: BTreeMap<String, String> = serde_json::from_str(&r.params).unwrap_or_default();
        let detail = detail(mosaico_domain::i18n::Lang::En, &r.code, &params);
        ApplicationCheck { name: r.name, outcome: r.outcome, code: r.code, params, detail, checked_at: r.checked_at }
    }
}

/// A check's detail (or a reason) in `lang`, from the catalogue (`chk_<code>`); the
/// document kinds a detail lists are worded too (`f_doc_<kind>`).
pub fn detail(lang: mosaico_domain::i18n::Lang, code: &str, params: &BTreeMap<String, String>) -> String {
    use mosaico_domain::i18n::{t, tf};
    let worded: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| match k.as_str() {
            "documents" => {
                let kinds: Vec<String> =
                    v.split(", ").filter(|x| !x.is_empty()).map(|x| t(lang, &format!("f_doc_{x}"))).collect();
                (k.as_str(), kinds.join(", "))
            }
            _ => (k.as_str(), v.clone()),
        })
        .collect();
    let args: Vec<(&str, &str)> = worded.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tf(lang, &format!("chk_{code}"), &args)
}

/// A document uploaded with an application (without its bytes).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApplicationDocument {
    /// Id.
    pub id: i64,
    /// The application.
    pub application_id: i64,
    /// `medical_certificate`, `isee_attestation`, `identity_document`, `other`.
    pub kind: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// When uploaded.
    pub uploaded_at: DateTime<Utc>,
}

/// A message sent to the applicant when the status changed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    /// Id.
    pub id: i64,
    /// The status it announces.
    pub status: String,
    /// `email`.
    pub channel: String,
    /// The address it went to.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Text.
    pub body: String,
    /// When it was handed to the channel.
    pub sent_at: DateTime<Utc>,
}

/// An application with everything about it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationFile {
    /// The application.
    pub application: Application,
    /// The automatic checks.
    pub checks: Vec<ApplicationCheck>,
    /// The documents.
    pub documents: Vec<ApplicationDocument>,
    /// The notifications sent, oldest first: the status timeline.
    pub notifications: Vec<Notification>,
}

/// Time to decision of one service, over the applications decided in the last year in
/// the user's scope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceTiming {
    /// The service.
    pub service: String,
    /// Applications decided.
    pub decided: i64,
    /// Of which automatically.
    pub automatic: i64,
    /// Applications waiting for the back office.
    pub waiting: i64,
    /// Median time from submission to decision, milliseconds.
    pub median_ms: Option<i64>,
    /// 90th percentile (nearest rank), milliseconds.
    pub p90_ms: Option<i64>,
}

/// The back-office queue: the applications asked for and the timing figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationQueue {
    /// Applications, oldest submission first.
    pub applications: Vec<Application>,
    /// Time to decision per service.
    pub timings: Vec<ServiceTiming>,
}

/// The nearest-rank percentile `p` (0–100) of sorted values.
pub(crate) fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_worded_from_the_catalogue() {
        use mosaico_domain::i18n::Lang;
        let p: BTreeMap<String, String> =
            [("documents".to_owned(), "medical_certificate, other".to_owned())].into_iter().collect();
        assert_eq!(
            detail(Lang::En, "complete", &p),
            "Required fields filled in; documents attached: Medical certificate of reduced mobility, Other document"
        );
        let p: BTreeMap<String, String> =
            [("id".to_owned(), "7".to_owned()), ("days".to_owned(), "1825".to_owned())].into_iter().collect();
        assert!(detail(Lang::It, "duplicate_of", &p).contains("domanda n. 7"));
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[5], 90), Some(5));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!((percentile(&v, 50), percentile(&v, 90)), (Some(5), Some(9)));
    }
}
