//! The operations of online applications: the applicants' accounts and sessions, the
//! submission with its automatic checks and decision, the back-office queue and
//! decisions. Each operation is one transaction; a refused one writes nothing.

use chrono::{DateTime, Duration, Utc};
use mosaico_domain::FiscalCode;
use mosaico_domain::i18n::{Lang, tf};
use sha2::{Digest, Sha256};

use super::rules::{self, ApplicationInput, Facts, Service, Upload};
use super::sql::{AppOps, OtherAudit, StatusChange};
use super::{
    Applicant, Application, ApplicationCheck, ApplicationFile, ApplicationQueue, ApplicationRow, ServiceTiming,
    percentile,
};
use crate::error::Checker;
use crate::input::DecisionInput;
use crate::model::{Actor, Permission};
use crate::store::sql::{AuditLine, Ops};
use crate::store::{Store, read, tx};
use crate::{CaseError, DocumentBytes, Result, auth, today};

/// A signed-in applicant.
#[derive(Debug, Clone)]
pub struct CitizenSession {
    /// The cookie value (only its hash is stored).
    pub token: String,
    /// The CSRF token of the session.
    pub csrf: String,
    /// Who.
    pub applicant: Applicant,
}

/// What the back-office queue shows.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    /// `parking_permit`, `income_support`; every service when absent or `all`.
    pub service: Option<String>,
    /// A status; `in_review` when absent, every status with `all`.
    pub status: Option<String>,
}

/// The statuses an application goes through.
pub const STATUSES: [&str; 6] = ["submitted", "in_review", "auto_approved", "auto_rejected", "approved", "rejected"];

/// The key failed sign-ins of an applicant are counted under (beside staff user names).
fn failure_key(fiscal_code: &str) -> String {
    format!("citizen:{fiscal_code}")
}

fn normalise(fiscal_code: &str) -> String {
    fiscal_code.trim().to_ascii_uppercase()
}

fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds().max(0)
}

/// The notification of a change of status, in Italian (the applicant's default).
fn message(app_id: i64, service: &str, status: &str) -> (String, String) {
    let service_name = tf(Lang::It, &format!("svc_{service}"), &[]);
    let id = app_id.to_string();
    let args = [("id", id.as_str()), ("service", service_name.as_str())];
    (tf(Lang::It, &format!("ntf_subject_{status}"), &args), tf(Lang::It, &format!("ntf_body_{status}"), &args))
}

macro_rules! notify {
    ($c:expr, $app:expr, $status:expr, $t:expr) => {{
        let (subject, body) = message($app.id, &$app.service, $status);
        $c.insert_notification(&$app.ente, $app.id, $status, &$app.email, &subject, &body, $t).await?;
    }};
}

/// Loads an application and its checks, documents and notifications.
macro_rules! file_of {
    ($c:expr, $row:expr) => {{
        let row: ApplicationRow = $row;
        let id = row.id;
        ApplicationFile {
            application: Application::from(row),
            checks: $c.application_checks(id).await?.into_iter().map(ApplicationCheck::from).collect(),
            documents: $c.application_documents(id).await?,
            notifications: $c.application_notifications(id).await?,
        }
    }};
}

impl Store {
    /// Opens an applicant account (the demo seeds them; in production the identity
    /// comes from SPID/CIE and this is the first sign-in).
    pub async fn create_applicant(
        &self,
        ente: &str,
        fiscal_code: &str,
        full_name: &str,
        email: &str,
        password: &str,
    ) -> Result<Applicant> {
        let mut chk = Checker::default();
        let code = match FiscalCode::parse(fiscal_code) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                chk.add("fiscal_code", e.to_string());
                String::new()
            }
        };
        let full_name = chk.text("full_name", full_name, 120);
        let email = chk.text("email", email, 200);
        if password.chars().count() < 10 {
            chk.fail("password", "too_short", &[("min", "10".to_owned())], "at least 10 characters");
        }
        chk.finish()?;
        let pw = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
            .await
            .map_err(|e| CaseError::Internal(e.to_string()))??;
        let t = Utc::now();
        let id = tx!(self, |c| {
            if c.enti_in_scope(ente, "").await?.is_empty() {
                return Err(CaseError::field("ente", format!("'{ente}' is not set up; add it first")));
            }
            if c.applicant_auth(&code).await?.is_some() {
                return Err(CaseError::conflict("applicant_exists", format!("{code} already has an account")));
            }
            c.insert_applicant(ente, &code, &full_name, &email, &hash, t).await?
        });
        Ok(Applicant { id, ente: ente.to_owned(), fiscal_code: code, full_name, email })
    }

    /// Signs an applicant in with fiscal code and password; throttled like the staff's
    /// sign-in (per fiscal code and per client address).
    pub async fn citizen_login(&self, fiscal_code: &str, password: &str, client: &str) -> Result<CitizenSession> {
        let code = normalise(fiscal_code);
        let key = failure_key(&code);
        let t = Utc::now();
        self.check_throttle(&key, client, t).await?;
        let found = read!(self, |c| c.applicant_auth(&code).await?).filter(|a| a.active);
        self.verify_sign_in(&key, client, found.as_ref().map(|a| a.password_hash.clone()), password, t).await?;
        let Some(found) = found else { return Err(CaseError::Unauthorized) };
        let token = auth::new_token()?;
        let csrf = auth::new_token()?;
        let applicant = found.applicant();
        tx!(self, |c| {
            c.clear_failures(&key).await?;
            c.insert_applicant_session(
                &auth::token_hash(&token),
                applicant.id,
                &csrf,
                t,
                t + Duration::hours(auth::SESSION_HOURS),
            )
            .await?;
        });
        Ok(CitizenSession { token, csrf, applicant })
    }

    /// The applicant's session of a cookie token, or 401.
    pub async fn citizen_session(&self, token: &str) -> Result<CitizenSession> {
        let found = read!(self, |c| c.applicant_session(&auth::token_hash(token), Utc::now()).await?);
        let (id, csrf) = found.ok_or(CaseError::Unauthorized)?;
        let a =
            read!(self, |c| c.applicant_auth_by_id(id).await?).filter(|a| a.active).ok_or(CaseError::Unauthorized)?;
        Ok(CitizenSession { token: token.to_owned(), csrf, applicant: a.applicant() })
    }

    /// Ends an applicant's session.
    pub async fn citizen_logout(&self, token: &str) -> Result<()> {
        tx!(self, |c| c.delete_applicant_session(&auth::token_hash(token)).await?);
        Ok(())
    }

    /// Submits an application: checks the input (422 with every problem, nothing
    /// written), then in one transaction stores it with its documents, runs the
    /// automatic checks, decides where the rules allow, records the notifications and
    /// the audit lines.
    pub async fn submit_application(
        &self,
        applicant: &Applicant,
        input: &ApplicationInput,
        uploads: Vec<Upload>,
    ) -> Result<ApplicationFile> {
        let d = input.check(uploads, today())?;
        let rules = d.service.rules();
        let hashes: Vec<String> = d.documents.iter().map(|u| hex::encode(Sha256::digest(&u.content))).collect();
        let ente = applicant.ente.as_str();
        let code = applicant.fiscal_code.as_str();
        Ok(tx!(self, |c| {
            let submitted = Utc::now();
            if c.touch_applicant(applicant.id, submitted).await? == 0 {
                return Err(CaseError::Unauthorized);
            }
            let id = c.insert_application(ente, applicant.id, code, &d, submitted).await?;
            for (u, sha) in d.documents.iter().zip(&hashes) {
                c.insert_application_document(ente, id, u, sha, submitted).await?;
            }
            let app = c.application(id).await?.ok_or(CaseError::NotFound("application"))?;
            notify!(c, app, "submitted", submitted);
            c.audit_other(
                &OtherAudit {
                    username: code,
                    role: "applicant",
                    ente,
                    action: "create",
                    application_id: id,
                    detail: Some(d.service.code().to_owned()),
                },
                submitted,
            )
            .await?;

            let resident = c.resident(ente, code).await?;
            let since = submitted - Duration::days(rules.validity_days);
            let duplicates = c.same_applications(ente, d.service.code(), code, since, id).await?;
            let facts = Facts { ente, fiscal_code: code, resident, duplicates: &duplicates, today: today() };
            let checks = rules::run_checks(&d, &facts);
            let decided = Utc::now();
            for check in &checks {
                c.insert_check(ente, id, check, decided).await?;
            }
            let (status, reasons) = rules::decide(d.service, &checks);
            let final_decision = status != "in_review";
            let reasons = serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into());
            let change = StatusChange {
                id,
                from: "submitted",
                to: status,
                reasons: &reasons,
                decided_at: final_decision.then_some(decided),
                decided_by: None,
                decision_ms: final_decision.then(|| millis(app.submitted_at, decided)),
                note: None,
            };
            if c.change_status(&change).await? == 0 {
                return Err(CaseError::Internal(format!("application {id} changed under its submission")));
            }
            notify!(c, app, status, decided);
            c.audit_other(
                &OtherAudit {
                    username: "automatic",
                    role: "system",
                    ente,
                    action: if final_decision { "decide" } else { "queue" },
                    application_id: id,
                    detail: Some(format!("{status} {reasons}")),
                },
                decided,
            )
            .await?;
            let row = c.application(id).await?.ok_or(CaseError::NotFound("application"))?;
            file_of!(c, row)
        }))
    }

    /// The applicant's applications, newest first.
    pub async fn my_applications(&self, applicant: &Applicant) -> Result<Vec<Application>> {
        let rows = read!(self, |c| c.applications_of(applicant.id).await?);
        Ok(rows.into_iter().map(Application::from).collect())
    }

    /// One of the applicant's applications (another's is "not found").
    pub async fn my_application(&self, applicant: &Applicant, id: i64) -> Result<ApplicationFile> {
        Ok(read!(self, |c| {
            let row = match c.application(id).await? {
                Some(r) if r.applicant_id == applicant.id => r,
                _ => return Err(CaseError::NotFound("application")),
            };
            file_of!(c, row)
        }))
    }

    /// The back-office queue in the user's scope, with the time to decision per
    /// service over the last year.
    pub async fn application_queue(&self, actor: &Actor, filter: &QueueFilter) -> Result<ApplicationQueue> {
        actor.require(Permission::ApplicationDecide, "see online applications")?;
        let mut chk = Checker::default();
        let service = filter.service.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "all").unwrap_or("");
        if !service.is_empty() && Service::parse(service).is_none() {
            let codes: Vec<&str> = Service::ALL.iter().map(|s| s.code()).collect();
            chk.one_of("service", service, &codes);
        }
        let status = match filter.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => "in_review",
            Some("all") => "",
            Some(s) => {
                let mut accepted = STATUSES.to_vec();
                accepted.push("all");
                chk.one_of("status", s, &accepted);
                s
            }
        };
        chk.finish()?;
        let (e, a) = (actor.ente.as_deref().unwrap_or(""), actor.ambito.as_deref().unwrap_or(""));
        let since = Utc::now() - Duration::days(365);
        let (rows, times, waiting) = read!(self, |c| (
            c.applications_in_scope(e, a, service, status, 500).await?,
            c.decision_times(e, a, since).await?,
            c.waiting(e, a).await?
        ));
        let timings = Service::ALL
            .iter()
            .map(|s| {
                let mine: Vec<&(String, i64, bool)> = times.iter().filter(|t| t.0 == s.code()).collect();
                let mut ms: Vec<i64> = mine.iter().map(|t| t.1).collect();
                ms.sort_unstable();
                ServiceTiming {
                    service: s.code().to_owned(),
                    decided: ms.len() as i64,
                    automatic: mine.iter().filter(|t| t.2).count() as i64,
                    waiting: waiting.iter().find(|w| w.0 == s.code()).map_or(0, |w| w.1),
                    median_ms: percentile(&ms, 50),
                    p90_ms: percentile(&ms, 90),
                }
            })
            .collect();
        Ok(ApplicationQueue { applications: rows.into_iter().map(Application::from).collect(), timings })
    }

    /// An application in the user's scope, with its checks, documents and
    /// notifications (the read is audited).
    pub async fn application(&self, actor: &Actor, id: i64) -> Result<ApplicationFile> {
        actor.require(Permission::ApplicationDecide, "see online applications")?;
        Ok(tx!(self, |c| {
            let row = match c.application(id).await? {
                Some(r) if actor.sees(&r.ente) => r,
                _ => return Err(CaseError::NotFound("application")),
            };
            let line = AuditLine {
                actor,
                action: "read",
                entity: "application",
                entity_id: Some(id),
                case_id: None,
                ente: Some(&row.ente),
                detail: None,
            };
            c.audit(line, Utc::now()).await?;
            file_of!(c, row)
        }))
    }

    /// The back office decides an application in review: `approve` or `reject` (a
    /// rejection needs a note). Audited; the applicant is notified.
    pub async fn decide_application(&self, actor: &Actor, id: i64, input: &DecisionInput) -> Result<ApplicationFile> {
        actor.require(Permission::ApplicationDecide, "decide online applications")?;
        let mut chk = Checker::default();
        let decision = chk.one_of("decision", input.decision.as_deref().unwrap_or(""), &["approve", "reject"]);
        let note = chk.optional_text("note", input.note.as_deref(), 2000);
        if decision == "reject" && note.is_none() {
            chk.fail("note", "required", &[], "required: say why the application is rejected");
        }
        chk.finish()?;
        Ok(tx!(self, |c| {
            let row = match c.application(id).await? {
                Some(r) if actor.sees(&r.ente) => r,
                _ => return Err(CaseError::NotFound("application")),
            };
            let status = if decision == "approve" { "approved" } else { "rejected" };
            let t = Utc::now();
            let change = StatusChange {
                id,
                from: "in_review",
                to: status,
                reasons: &serde_json::to_string(&Application::from(row.clone()).reasons)
                    .unwrap_or_else(|_| "[]".into()),
                decided_at: Some(t),
                decided_by: Some(actor.user_id),
                decision_ms: Some(millis(row.submitted_at, t)),
                note: note.as_deref(),
            };
            if c.change_status(&change).await? == 0 {
                return Err(CaseError::conflict(
                    "application_not_in_review",
                    format!("application {id} is {}; only an application in review is decided by hand", row.status),
                ));
            }
            let app = Application::from(row.clone());
            notify!(c, app, status, t);
            let line = AuditLine {
                actor,
                action: decision.as_str(),
                entity: "application",
                entity_id: Some(id),
                case_id: None,
                ente: Some(&row.ente),
                detail: note.clone(),
            };
            c.audit(line, t).await?;
            let row = c.application(id).await?.ok_or(CaseError::NotFound("application"))?;
            file_of!(c, row)
        }))
    }

    /// A document of an application in the user's scope, checked against its stored
    /// checksum (the download is audited).
    pub async fn application_document(&self, actor: &Actor, id: i64) -> Result<DocumentBytes> {
        actor.require(Permission::ApplicationDecide, "see online applications")?;
        let d = tx!(self, |c| {
            let d = match c.application_document_content(id).await? {
                Some(d) if actor.sees(&d.ente) => d,
                _ => return Err(CaseError::NotFound("document")),
            };
            let line = AuditLine {
                actor,
                action: "download",
                entity: "application_document",
                entity_id: Some(id),
                case_id: None,
                ente: Some(&d.ente),
                detail: Some(format!("application {}", d.application_id)),
            };
            c.audit(line, Utc::now()).await?;
            d
        });
        let actual = hex::encode(Sha256::digest(&d.content));
        if actual != d.sha256 {
            tracing::error!(document = id, stored = %d.sha256, actual = %actual, "application document checksum mismatch");
            return Err(CaseError::Internal(format!("application document {id} does not match its checksum")));
        }
        Ok(DocumentBytes { filename: d.filename, content_type: d.content_type, sha256: d.sha256, content: d.content })
    }
}
