//! Every SQL statement of online applications, written once and compiled for both
//! backends' connections (as `store::sql`). Lists in a user's scope bind the user's
//! ente as `$1` and ambito as `$2`.

use chrono::{DateTime, Utc};

use super::{ApplicantAuthRow, ApplicationDocument, ApplicationRow, CheckRow, Notification};
use crate::applications::rules::{ApplicationData, CheckResult, Upload};

/// The scope filter on the `ente` column of `a`.
const SCOPE: &str = "(a.ente = $1 OR a.ente IN (SELECT istat FROM enti WHERE ambito = $2))";

const APPLICATION_SELECT: &str = "SELECT a.id, a.ente, a.applicant_id, a.fiscal_code, ap.full_name AS applicant_name, \
    a.service, a.status, a.email, a.phone, a.isee_cents, a.household_members, a.certificate_issued_on, a.submitted_at, \
    a.decided_at, a.decided_by, u.full_name AS decided_by_name, a.decision_ms, a.reasons, a.decision_note \
    FROM applications a JOIN applicants ap ON ap.id = a.applicant_id LEFT JOIN users u ON u.id = a.decided_by";

/// A document's bytes and what they are checked against.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DocumentContent {
    pub ente: String,
    pub application_id: i64,
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
}

/// A decision to write: the status, and for a decided one when, by whom, how long.
#[derive(Debug, Clone)]
pub(crate) struct StatusChange<'a> {
    pub id: i64,
    pub from: &'a str,
    pub to: &'a str,
    pub reasons: &'a str,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
    pub decision_ms: Option<i64>,
    pub note: Option<&'a str>,
}

/// An audit line by someone who is not a staff user (an applicant, or the automatic
/// decision): `user_id` 0, the name and role say who.
#[derive(Debug, Clone)]
pub(crate) struct OtherAudit<'a> {
    pub username: &'a str,
    pub role: &'a str,
    pub ente: &'a str,
    pub action: &'a str,
    pub application_id: i64,
    pub detail: Option<String>,
}

/// The statements. Implemented identically for `SqliteConnection` and `PgConnection`.
#[allow(clippy::too_many_arguments)]
pub(crate) trait AppOps {
    async fn insert_applicant(
        &mut self,
        ente: &str,
        fiscal_code: &str,
        full_name: &str,
        email: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn applicant_auth(&mut self, fiscal_code: &str) -> sqlx::Result<Option<ApplicantAuthRow>>;
    async fn applicant_auth_by_id(&mut self, id: i64) -> sqlx::Result<Option<ApplicantAuthRow>>;
    async fn insert_applicant_session(
        &mut self,
        token_hash: &str,
        applicant_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    async fn applicant_session(&mut self, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<Option<(i64, String)>>;
    async fn delete_applicant_session(&mut self, token_hash: &str) -> sqlx::Result<()>;
    /// Marks the applicant's submission: taken first in the transaction, it makes two
    /// submissions of one applicant queue (a row lock on PostgreSQL).
    async fn touch_applicant(&mut self, id: i64, now: DateTime<Utc>) -> sqlx::Result<u64>;
    /// Whether the ente's registry has the fiscal code as a resident, not merged.
    async fn resident(&mut self, ente: &str, fiscal_code: &str) -> sqlx::Result<bool>;
    /// Applications of the service for the person and ente, submitted since `since`,
    /// open or approved, other than `except`.
    async fn same_applications(
        &mut self,
        ente: &str,
        service: &str,
        fiscal_code: &str,
        since: DateTime<Utc>,
        except: i64,
    ) -> sqlx::Result<Vec<i64>>;
    async fn insert_application(
        &mut self,
        ente: &str,
        applicant_id: i64,
        fiscal_code: &str,
        d: &ApplicationData,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn insert_application_document(
        &mut self,
        ente: &str,
        application_id: i64,
        u: &Upload,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn insert_check(
        &mut self,
        ente: &str,
        application_id: i64,
        c: &CheckResult,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    /// Moves an application from `from` to `to`; 0 rows when it was not in `from`.
    async fn change_status(&mut self, c: &StatusChange<'_>) -> sqlx::Result<u64>;
    async fn insert_notification(
        &mut self,
        ente: &str,
        application_id: i64,
        status: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    async fn application(&mut self, id: i64) -> sqlx::Result<Option<ApplicationRow>>;
    async fn application_checks(&mut self, id: i64) -> sqlx::Result<Vec<CheckRow>>;
    async fn application_documents(&mut self, id: i64) -> sqlx::Result<Vec<ApplicationDocument>>;
    async fn application_notifications(&mut self, id: i64) -> sqlx::Result<Vec<Notification>>;
    async fn applications_of(&mut self, applicant_id: i64) -> sqlx::Result<Vec<ApplicationRow>>;
    async fn applications_in_scope(
        &mut self,
        ente: &str,
        ambito: &str,
        service: &str,
        status: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<ApplicationRow>>;
    /// `(service, decision_ms, automatic)` of the applications decided since `since`.
    async fn decision_times(
        &mut self,
        ente: &str,
        ambito: &str,
        since: DateTime<Utc>,
    ) -> sqlx::Result<Vec<(String, i64, bool)>>;
    /// `(service, count)` of the applications waiting for a decision.
    async fn waiting(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<(String, i64)>>;
    async fn application_document_content(&mut self, id: i64) -> sqlx::Result<Option<DocumentContent>>;
    async fn audit_other(&mut self, a: &OtherAudit<'_>, now: DateTime<Utc>) -> sqlx::Result<()>;
}

macro_rules! impl_app_ops {
    ($conn:ty) => {
        impl AppOps for $conn {
            async fn insert_applicant(
                &mut self,
                ente: &str,
                fiscal_code: &str,
                full_name: &str,
                email: &str,
                hash: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO applicants (ente, fiscal_code, full_name, email, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(ente)
                .bind(fiscal_code)
                .bind(full_name)
                .bind(email)
                .bind(hash)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn applicant_auth(&mut self, fiscal_code: &str) -> sqlx::Result<Option<ApplicantAuthRow>> {
                sqlx::query_as(
                    "SELECT id, ente, fiscal_code, full_name, email, password_hash, active FROM applicants \
                     WHERE fiscal_code = $1",
                )
                .bind(fiscal_code)
                .fetch_optional(&mut *self)
                .await
            }

            async fn applicant_auth_by_id(&mut self, id: i64) -> sqlx::Result<Option<ApplicantAuthRow>> {
                sqlx::query_as(
                    "SELECT id, ente, fiscal_code, full_name, email, password_hash, active FROM applicants WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self)
                .await
            }

            async fn insert_applicant_session(
                &mut self,
                token_hash: &str,
                applicant_id: i64,
                csrf: &str,
                now: DateTime<Utc>,
                expires: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO applicant_sessions (token_hash, applicant_id, csrf, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(applicant_id)
                .bind(csrf)
                .bind(now)
                .bind(expires)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn applicant_session(
                &mut self,
                token_hash: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<Option<(i64, String)>> {
                sqlx::query_as(
                    "SELECT applicant_id, csrf FROM applicant_sessions WHERE token_hash = $1 AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *self)
                .await
            }

            async fn delete_applicant_session(&mut self, token_hash: &str) -> sqlx::Result<()> {
                sqlx::query("DELETE FROM applicant_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn touch_applicant(&mut self, id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
                let r = sqlx::query("UPDATE applicants SET last_submitted_at = $2 WHERE id = $1 AND active")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *self)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn resident(&mut self, ente: &str, fiscal_code: &str) -> sqlx::Result<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM persons WHERE ente = $1 AND fiscal_code = $2 AND residence_istat = $1 \
                     AND merged_into IS NULL",
                )
                .bind(ente)
                .bind(fiscal_code)
                .fetch_one(&mut *self)
                .await?;
                Ok(n > 0)
            }

            async fn same_applications(
                &mut self,
                ente: &str,
                service: &str,
                fiscal_code: &str,
                since: DateTime<Utc>,
                except: i64,
            ) -> sqlx::Result<Vec<i64>> {
                sqlx::query_scalar(
                    "SELECT id FROM applications WHERE ente = $1 AND service = $2 AND fiscal_code = $3 \
                     AND submitted_at >= $4 AND id <> $5 \
                     AND status IN ('submitted', 'in_review', 'auto_approved', 'approved') ORDER BY id",
                )
                .bind(ente)
                .bind(service)
                .bind(fiscal_code)
                .bind(since)
                .bind(except)
                .fetch_all(&mut *self)
                .await
            }

            async fn insert_application(
                &mut self,
                ente: &str,
                applicant_id: i64,
                fiscal_code: &str,
                d: &ApplicationData,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO applications (ente, applicant_id, fiscal_code, service, status, email, phone, isee_cents, \
                     household_members, certificate_issued_on, submitted_at) \
                     VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(ente)
                .bind(applicant_id)
                .bind(fiscal_code)
                .bind(d.service.code())
                .bind(&d.email)
                .bind(d.phone.as_deref())
                .bind(d.isee_cents)
                .bind(d.household_members)
                .bind(d.certificate_issued_on)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn insert_application_document(
                &mut self,
                ente: &str,
                application_id: i64,
                u: &Upload,
                sha256: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO application_documents (ente, application_id, kind, filename, content_type, size, sha256, \
                     content, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(ente)
                .bind(application_id)
                .bind(&u.kind)
                .bind(&u.filename)
                .bind(&u.content_type)
                .bind(i64::try_from(u.content.len()).unwrap_or(i64::MAX))
                .bind(sha256)
                .bind(&u.content)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn insert_check(
                &mut self,
                ente: &str,
                application_id: i64,
                c: &CheckResult,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO application_checks (ente, application_id, name, outcome, code, params, checked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(ente)
                .bind(application_id)
                .bind(c.name)
                .bind(c.outcome.code())
                .bind(c.code)
                .bind(serde_json::to_string(&c.params).unwrap_or_else(|_| "{}".into()))
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn change_status(&mut self, c: &StatusChange<'_>) -> sqlx::Result<u64> {
                let r = sqlx::query(
                    "UPDATE applications SET status = $3, reasons = $4, decided_at = $5, decided_by = $6, \
                     decision_ms = $7, decision_note = $8 WHERE id = $1 AND status = $2",
                )
                .bind(c.id)
                .bind(c.from)
                .bind(c.to)
                .bind(c.reasons)
                .bind(c.decided_at)
                .bind(c.decided_by)
                .bind(c.decision_ms)
                .bind(c.note)
                .execute(&mut *self)
                .await?;
                Ok(r.rows_affected())
            }

            async fn insert_notification(
                &mut self,
                ente: &str,
                application_id: i64,
                status: &str,
                recipient: &str,
                subject: &str,
                body: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO application_notifications (ente, application_id, status, channel, recipient, subject, \
                     body, sent_at) VALUES ($1, $2, $3, 'email', $4, $5, $6, $7)",
                )
                .bind(ente)
                .bind(application_id)
                .bind(status)
                .bind(recipient)
                .bind(subject)
                .bind(body)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn application(&mut self, id: i64) -> sqlx::Result<Option<ApplicationRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{APPLICATION_SELECT} WHERE a.id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn application_checks(&mut self, id: i64) -> sqlx::Result<Vec<CheckRow>> {
                sqlx::query_as(
                    "SELECT name, outcome, code, params, checked_at FROM application_checks \
                     WHERE application_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await
            }

            async fn application_documents(&mut self, id: i64) -> sqlx::Result<Vec<ApplicationDocument>> {
                sqlx::query_as(
                    "SELECT id, application_id, kind, filename, content_type, size, sha256, uploaded_at \
                     FROM application_documents WHERE application_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await
            }

            async fn application_notifications(&mut self, id: i64) -> sqlx::Result<Vec<Notification>> {
                sqlx::query_as(
                    "SELECT id, status, channel, recipient, subject, body, sent_at FROM application_notifications \
                     WHERE application_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await
            }

            async fn applications_of(&mut self, applicant_id: i64) -> sqlx::Result<Vec<ApplicationRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{APPLICATION_SELECT} WHERE a.applicant_id = $1 ORDER BY a.id DESC LIMIT 200"
                )))
                .bind(applicant_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn applications_in_scope(
                &mut self,
                ente: &str,
                ambito: &str,
                service: &str,
                status: &str,
                limit: i64,
            ) -> sqlx::Result<Vec<ApplicationRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{APPLICATION_SELECT} WHERE {SCOPE} AND ($3 = '' OR a.service = $3) AND ($4 = '' OR a.status = $4) \
                     ORDER BY a.submitted_at, a.id LIMIT $5"
                )))
                .bind(ente)
                .bind(ambito)
                .bind(service)
                .bind(status)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn decision_times(
                &mut self,
                ente: &str,
                ambito: &str,
                since: DateTime<Utc>,
            ) -> sqlx::Result<Vec<(String, i64, bool)>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT a.service, a.decision_ms, a.decided_by IS NULL FROM applications a \
                     WHERE {SCOPE} AND a.decided_at >= $3 ORDER BY a.service, a.decision_ms"
                )))
                .bind(ente)
                .bind(ambito)
                .bind(since)
                .fetch_all(&mut *self)
                .await
            }

            async fn waiting(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<(String, i64)>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT a.service, COUNT(*) FROM applications a \
                     WHERE {SCOPE} AND a.status IN ('submitted', 'in_review') GROUP BY a.service"
                )))
                .bind(ente)
                .bind(ambito)
                .fetch_all(&mut *self)
                .await
            }

            async fn application_document_content(&mut self, id: i64) -> sqlx::Result<Option<DocumentContent>> {
                sqlx::query_as(
                    "SELECT ente, application_id, filename, content_type, sha256, content FROM application_documents \
                     WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self)
                .await
            }

            async fn audit_other(&mut self, a: &OtherAudit<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO audit (at, user_id, username, role, ente, action, entity, entity_id, case_id, detail) \
                     VALUES ($1, 0, $2, $3, $4, $5, 'application', $6, NULL, $7)",
                )
                .bind(now)
                .bind(a.username)
                .bind(a.role)
                .bind(a.ente)
                .bind(a.action)
                .bind(a.application_id)
                .bind(a.detail.as_deref())
                .execute(&mut *self)
                .await?;
                Ok(())
            }
        }
    };
}

impl_app_ops!(sqlx::SqliteConnection);
impl_app_ops!(sqlx::PgConnection);
