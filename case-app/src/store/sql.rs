//! Every SQL statement of the case store, written once and compiled for both
//! backends' connections (`impl_ops!` below). Statements use `$n` parameters, which
//! SQLite and PostgreSQL both accept. Lists in a user's scope bind the user's ente
//! as `$1` and ambito as `$2` (see [`scope!`]).

use chrono::{DateTime, NaiveDate, Utc};

use crate::input::{AlertData, AssessmentData, AuditFilter, ContactData, DiaryData, InterventionData, NetworkData};
use crate::model::*;

/// The scope filter on the `ente` column of table alias `$t`: the user's ente (`$1`)
/// or any ente of their ambito (`$2`).
macro_rules! scope {
    ($t:literal) => {
        concat!("(", $t, ".ente = $1 OR ", $t, ".ente IN (SELECT istat FROM enti WHERE ambito = $2))")
    };
}

/// A user with what signing in needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UserAuth {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub ente: Option<String>,
    pub ambito: Option<String>,
    pub password_hash: String,
    pub active: bool,
}

/// A person row as written.
#[derive(Debug, Clone)]
pub(crate) struct PersonRow<'a> {
    pub ente: &'a str,
    pub fiscal_code: &'a str,
    pub temporary_code: bool,
    pub surname: &'a str,
    pub given_name: &'a str,
    pub name_key: String,
    pub name_key_rev: String,
    pub sex: &'a str,
    pub birth_date: NaiveDate,
    pub birth_place: &'a str,
    pub citizenship: &'a str,
    pub residence_istat: &'a str,
    pub address: &'a str,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub household_id: Option<i64>,
    pub household_role: Option<&'a str>,
}

impl PersonRow<'_> {
    /// The person this row becomes once inserted with `id` at `now`.
    pub fn to_person(&self, id: i64, now: DateTime<Utc>) -> Person {
        Person {
            id,
            ente: self.ente.to_owned(),
            fiscal_code: self.fiscal_code.to_owned(),
            temporary_code: self.temporary_code,
            surname: self.surname.to_owned(),
            given_name: self.given_name.to_owned(),
            sex: self.sex.to_owned(),
            birth_date: self.birth_date,
            birth_place: self.birth_place.to_owned(),
            citizenship: self.citizenship.to_owned(),
            residence_istat: self.residence_istat.to_owned(),
            address: self.address.to_owned(),
            lat: self.lat,
            lng: self.lng,
            household_id: self.household_id,
            household_role: self.household_role.map(str::to_owned),
            merged_into: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct HistoryRow {
    pub version: i64,
    pub change: String,
    pub username: String,
    pub changed_at: DateTime<Utc>,
    pub snapshot: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DocumentContent {
    pub ente: String,
    pub case_id: i64,
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
}

/// The audit line of one operation.
#[derive(Debug, Clone)]
pub(crate) struct AuditLine<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<i64>,
    pub case_id: Option<i64>,
    pub ente: Option<&'a str>,
    pub detail: Option<String>,
}

macro_rules! person_select {
    ($rest:literal) => {
        concat!(
            "SELECT p.id, p.ente, p.fiscal_code, p.temporary_code, p.surname, p.given_name, p.sex, p.birth_date, p.birth_place, \
             p.citizenship, p.residence_istat, p.address, p.lat, p.lng, p.household_id, p.household_role, p.merged_into, \
             p.version, p.created_at, p.updated_at FROM persons p ",
            $rest
        )
    };
}

const CASE_SUMMARY: &str = "SELECT c.id, c.ente, c.person_id, p.surname, p.given_name, p.fiscal_code, c.status, c.worker_id, \
    u.full_name AS worker_name, c.opened_on FROM cases c JOIN persons p ON p.id = c.person_id JOIN users u ON u.id = c.worker_id";

macro_rules! plan_summary {
    ($rest:literal) => {
        concat!(
            "SELECT pl.id, pl.case_id, p.surname, p.given_name, pl.status, pl.review_date, u.full_name AS worker_name \
             FROM plans pl JOIN cases c ON c.id = pl.case_id JOIN persons p ON p.id = c.person_id \
             JOIN users u ON u.id = c.worker_id ",
            $rest
        )
    };
}

const ALERT_COLS: &str = "SELECT id, ente, source, reporter, received_on, subject, person_id, description, urgency, status, \
    triage_note, triaged_by, triaged_at, case_id, created_at FROM alerts";

const PLAN_COLS: &str = "SELECT id, case_id, goals, actions, team, start_date, end_date, review_date, status, created_by, \
    created_at, submitted_at, decided_by, decided_at, decision_note FROM plans";

const INTERVENTION_COLS: &str = "SELECT id, case_id, plan_id, service_code, area, spending, unit, start_date, end_date, \
    quantity, unit_cost_cents, amount_cents, quota_ente_cents, quota_utente_cents, quota_ssn_cents, note, created_by, \
    created_at FROM interventions";

const CASE_COLS: &str = "SELECT id, ente, person_id, status, worker_id, opened_on, closed_on, closure_reason, \
    closure_outcome, created_at, updated_at FROM cases";

/// The statements. Implemented identically for `SqliteConnection` and `PgConnection`.
#[allow(clippy::too_many_arguments)]
pub(crate) trait Ops {
    // Tenancy and users.
    async fn upsert_ambito(&mut self, code: &str, name: &str) -> sqlx::Result<()>;
    async fn upsert_ente(&mut self, istat: &str, name: &str, ambito: &str) -> sqlx::Result<()>;
    async fn enti_of_ambito(&mut self, ambito: &str) -> sqlx::Result<Vec<String>>;
    async fn enti_in_scope(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<Ente>>;
    async fn insert_user(
        &mut self,
        username: &str,
        full_name: &str,
        role: &str,
        ente: Option<&str>,
        ambito: Option<&str>,
        hash: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn user_auth(&mut self, username: &str) -> sqlx::Result<Option<UserAuth>>;
    async fn user_auth_by_id(&mut self, id: i64) -> sqlx::Result<Option<UserAuth>>;
    async fn users_in_scope(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<User>>;
    async fn count_users(&mut self) -> sqlx::Result<i64>;
    async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    async fn session(&mut self, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<Option<(i64, String)>>;
    async fn delete_session(&mut self, token_hash: &str) -> sqlx::Result<()>;
    async fn record_failure(&mut self, username: &str, client: &str, now: DateTime<Utc>) -> sqlx::Result<()>;
    async fn failures_since(&mut self, username: &str, client: &str, since: DateTime<Utc>) -> sqlx::Result<(i64, i64)>;
    async fn clear_failures(&mut self, username: &str) -> sqlx::Result<()>;

    // Registry.
    /// Inserts many persons; those whose fiscal code the ente already has are skipped.
    /// Returns the ids and fiscal codes of the rows inserted.
    async fn insert_persons(&mut self, rows: &[PersonRow<'_>], now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, String)>>;
    /// Version-1 history rows (`imported`) for `(person id, snapshot)` pairs.
    async fn insert_histories(&mut self, rows: &[(i64, String)], by: i64, now: DateTime<Utc>) -> sqlx::Result<()>;
    /// Refreshes the planner's statistics.
    async fn analyze(&mut self) -> sqlx::Result<()>;
    async fn insert_person(&mut self, p: &PersonRow<'_>, now: DateTime<Utc>) -> sqlx::Result<i64>;
    async fn update_person(
        &mut self,
        id: i64,
        p: &PersonRow<'_>,
        version: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<u64>;
    async fn person(&mut self, id: i64) -> sqlx::Result<Option<Person>>;
    async fn insert_history(
        &mut self,
        person_id: i64,
        version: i64,
        change: &str,
        by: i64,
        now: DateTime<Utc>,
        snapshot: &str,
    ) -> sqlx::Result<()>;
    async fn history(&mut self, person_id: i64) -> sqlx::Result<Vec<HistoryRow>>;
    async fn persons_by_fiscal_code(&mut self, ente: &str, ambito: &str, code: &str) -> sqlx::Result<Vec<Person>>;
    async fn persons_by_birth_date(&mut self, ente: &str, ambito: &str, d: NaiveDate) -> sqlx::Result<Vec<Person>>;
    /// Persons whose name key — surname first, or given name first when `rev` — is in
    /// `[lo, hi)`, in key order: an index range scan that stops at `limit`.
    async fn search_names(
        &mut self,
        ente: &str,
        ambito: &str,
        lo: &str,
        hi: &str,
        rev: bool,
        limit: i64,
    ) -> sqlx::Result<Vec<Person>>;
    async fn search_fiscal_codes(
        &mut self,
        ente: &str,
        ambito: &str,
        lo: &str,
        hi: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<Person>>;
    async fn repoint_person(&mut self, from: i64, to: i64) -> sqlx::Result<()>;
    async fn mark_merged(&mut self, from: i64, to: i64, now: DateTime<Utc>) -> sqlx::Result<u64>;
    async fn insert_household(&mut self, ente: &str, address: &str, now: DateTime<Utc>) -> sqlx::Result<i64>;
    async fn household(&mut self, id: i64) -> sqlx::Result<Option<Household>>;
    async fn household_members(&mut self, id: i64) -> sqlx::Result<Vec<Person>>;
    async fn insert_network(
        &mut self,
        ente: &str,
        person_id: i64,
        n: &NetworkData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn network_of(&mut self, person_id: i64) -> sqlx::Result<Vec<NetworkMember>>;

    // Cases.
    async fn insert_case(
        &mut self,
        ente: &str,
        person_id: i64,
        worker_id: i64,
        opened_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn case(&mut self, id: i64) -> sqlx::Result<Option<Case>>;
    async fn cases_of_person(&mut self, person_id: i64) -> sqlx::Result<Vec<CaseSummary>>;
    async fn cases_in_scope(
        &mut self,
        ente: &str,
        ambito: &str,
        status: &str,
        worker: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<CaseSummary>>;
    async fn touch_case(&mut self, id: i64, now: DateTime<Utc>) -> sqlx::Result<()>;
    async fn close_case(
        &mut self,
        id: i64,
        on: NaiveDate,
        reason: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<u64>;
    async fn open_interventions(&mut self, case_id: i64, on: NaiveDate) -> sqlx::Result<i64>;
    async fn insert_contact(
        &mut self,
        ente: &str,
        case_id: Option<i64>,
        c: &ContactData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn contacts_of_case(&mut self, case_id: i64) -> sqlx::Result<Vec<Contact>>;
    async fn contacts_of_person(&mut self, person_id: i64) -> sqlx::Result<Vec<Contact>>;
    async fn insert_assessment(
        &mut self,
        ente: &str,
        case_id: i64,
        a: &AssessmentData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn assessments(&mut self, case_id: i64) -> sqlx::Result<Vec<Assessment>>;
    async fn insert_plan(
        &mut self,
        ente: &str,
        case_id: i64,
        goals: &str,
        actions: &str,
        team: &str,
        dates: (NaiveDate, NaiveDate, NaiveDate),
        status: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn plan(&mut self, id: i64) -> sqlx::Result<Option<PlanRow>>;
    async fn plans(&mut self, case_id: i64) -> sqlx::Result<Vec<PlanRow>>;
    async fn submit_plan(&mut self, id: i64, now: DateTime<Utc>) -> sqlx::Result<u64>;
    async fn decide_plan(
        &mut self,
        id: i64,
        status: &str,
        by: i64,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<u64>;
    async fn insert_intervention(
        &mut self,
        ente: &str,
        case_id: i64,
        i: &InterventionData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn intervention(&mut self, id: i64) -> sqlx::Result<Option<Intervention>>;
    async fn interventions(&mut self, case_id: i64) -> sqlx::Result<Vec<Intervention>>;
    async fn end_intervention(&mut self, id: i64, on: NaiveDate) -> sqlx::Result<u64>;
    async fn insert_diary(
        &mut self,
        ente: &str,
        case_id: i64,
        d: &DiaryData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn diary(&mut self, case_id: i64) -> sqlx::Result<Vec<DiaryEntry>>;
    async fn insert_document(
        &mut self,
        ente: &str,
        case_id: i64,
        filename: &str,
        content_type: &str,
        sha256: &str,
        content: &[u8],
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn documents(&mut self, case_id: i64) -> sqlx::Result<Vec<Document>>;
    async fn document_content(&mut self, id: i64) -> sqlx::Result<Option<DocumentContent>>;

    // Alerts.
    async fn insert_alert(&mut self, ente: &str, a: &AlertData, by: i64, now: DateTime<Utc>) -> sqlx::Result<i64>;
    async fn alert(&mut self, id: i64) -> sqlx::Result<Option<Alert>>;
    async fn alerts_in_scope(&mut self, ente: &str, ambito: &str, status: &str, limit: i64)
    -> sqlx::Result<Vec<Alert>>;
    async fn triage_alert(
        &mut self,
        id: i64,
        status: &str,
        note: Option<&str>,
        case_id: Option<i64>,
        person_id: Option<i64>,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<u64>;

    // Work lists.
    async fn plans_with_status(&mut self, ente: &str, ambito: &str, status: &str) -> sqlx::Result<Vec<PlanSummary>>;
    async fn reviews_due(
        &mut self,
        ente: &str,
        ambito: &str,
        worker: i64,
        until: NaiveDate,
    ) -> sqlx::Result<Vec<PlanSummary>>;

    // Audit.
    async fn audit(&mut self, line: AuditLine<'_>, now: DateTime<Utc>) -> sqlx::Result<()>;
    async fn audit_query(&mut self, ente: &str, ambito: &str, f: &AuditFilter) -> sqlx::Result<Vec<AuditEntry>>;
}

macro_rules! impl_ops {
    ($conn:ty, $db:ty) => {
        impl Ops for $conn {
            async fn insert_persons(&mut self, rows: &[PersonRow<'_>], now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, String)>> {
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO persons (ente, fiscal_code, temporary_code, surname, given_name, name_key, name_key_rev, sex, \
                     birth_date, birth_place, citizenship, residence_istat, address, lat, lng, household_id, household_role, \
                     version, created_at, updated_at) ",
                );
                q.push_values(rows, |mut b, p| {
                    b.push_bind(p.ente.to_owned())
                        .push_bind(p.fiscal_code.to_owned())
                        .push_bind(p.temporary_code)
                        .push_bind(p.surname.to_owned())
                        .push_bind(p.given_name.to_owned())
                        .push_bind(p.name_key.clone())
                        .push_bind(p.name_key_rev.clone())
                        .push_bind(p.sex.to_owned())
                        .push_bind(p.birth_date)
                        .push_bind(p.birth_place.to_owned())
                        .push_bind(p.citizenship.to_owned())
                        .push_bind(p.residence_istat.to_owned())
                        .push_bind(p.address.to_owned())
                        .push_bind(p.lat)
                        .push_bind(p.lng)
                        .push_bind(p.household_id)
                        .push_bind(p.household_role.map(str::to_owned))
                        .push_bind(1_i64)
                        .push_bind(now)
                        .push_bind(now);
                });
                q.push(" ON CONFLICT (ente, fiscal_code) DO NOTHING RETURNING id, fiscal_code");
                q.build_query_as::<(i64, String)>().fetch_all(&mut *self).await
            }

            async fn insert_histories(&mut self, rows: &[(i64, String)], by: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO person_history (person_id, version, change, changed_by, changed_at, snapshot) ",
                );
                q.push_values(rows, |mut b, (id, snapshot)| {
                    b.push_bind(*id).push_bind(1_i64).push_bind("imported").push_bind(by).push_bind(now).push_bind(snapshot.clone());
                });
                q.build().execute(&mut *self).await?;
                Ok(())
            }

            async fn analyze(&mut self) -> sqlx::Result<()> {
                sqlx::query("ANALYZE").execute(&mut *self).await?;
                Ok(())
            }

            async fn upsert_ambito(&mut self, code: &str, name: &str) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO ambiti (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = excluded.name",
                )
                .bind(code)
                .bind(name)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn upsert_ente(&mut self, istat: &str, name: &str, ambito: &str) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO enti (istat, name, ambito) VALUES ($1, $2, $3) \
                     ON CONFLICT (istat) DO UPDATE SET name = excluded.name, ambito = excluded.ambito",
                )
                .bind(istat)
                .bind(name)
                .bind(ambito)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn enti_of_ambito(&mut self, ambito: &str) -> sqlx::Result<Vec<String>> {
                sqlx::query_scalar("SELECT istat FROM enti WHERE ambito = $1 ORDER BY istat")
                    .bind(ambito)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn enti_in_scope(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<Ente>> {
                sqlx::query_as("SELECT e.istat, e.name, e.ambito FROM enti e WHERE (e.istat = $1 OR e.ambito = $2) ORDER BY e.name")
                    .bind(ente)
                    .bind(ambito)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn insert_user(
                &mut self,
                username: &str,
                full_name: &str,
                role: &str,
                ente: Option<&str>,
                ambito: Option<&str>,
                hash: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO users (username, full_name, role, ente, ambito, password_hash, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) RETURNING id",
                )
                .bind(username)
                .bind(full_name)
                .bind(role)
                .bind(ente)
                .bind(ambito)
                .bind(hash)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn user_auth(&mut self, username: &str) -> sqlx::Result<Option<UserAuth>> {
                sqlx::query_as(
                    "SELECT id, username, full_name, role, ente, ambito, password_hash, active FROM users WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(&mut *self)
                .await
            }

            async fn user_auth_by_id(&mut self, id: i64) -> sqlx::Result<Option<UserAuth>> {
                sqlx::query_as(
                    "SELECT id, username, full_name, role, ente, ambito, password_hash, active FROM users WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self)
                .await
            }

            async fn users_in_scope(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<User>> {
                sqlx::query_as(
                    "SELECT u.id, u.username, u.full_name, u.role, u.ente, u.ambito FROM users u \
                     WHERE u.ente = $1 OR u.ambito = $2 OR u.ente IN (SELECT istat FROM enti WHERE ambito = $2) \
                     OR u.ambito IN (SELECT ambito FROM enti WHERE istat = $1) ORDER BY u.full_name",
                )
                .bind(ente)
                .bind(ambito)
                .fetch_all(&mut *self)
                .await
            }

            async fn count_users(&mut self) -> sqlx::Result<i64> {
                sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *self).await
            }

            async fn insert_session(
                &mut self,
                token_hash: &str,
                user_id: i64,
                csrf: &str,
                now: DateTime<Utc>,
                expires: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(csrf)
                .bind(now)
                .bind(expires)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn session(&mut self, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<Option<(i64, String)>> {
                sqlx::query_as("SELECT user_id, csrf FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn delete_session(&mut self, token_hash: &str) -> sqlx::Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *self).await?;
                Ok(())
            }

            async fn record_failure(&mut self, username: &str, client: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
                sqlx::query("INSERT INTO login_failures (username, client, at) VALUES ($1, $2, $3)")
                    .bind(username)
                    .bind(client)
                    .bind(now)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn failures_since(
                &mut self,
                username: &str,
                client: &str,
                since: DateTime<Utc>,
            ) -> sqlx::Result<(i64, i64)> {
                let by_user: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE username = $1 AND at > $2")
                        .bind(username)
                        .bind(since)
                        .fetch_one(&mut *self)
                        .await?;
                let by_client: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE client = $1 AND at > $2")
                        .bind(client)
                        .bind(since)
                        .fetch_one(&mut *self)
                        .await?;
                Ok((by_user, by_client))
            }

            async fn clear_failures(&mut self, username: &str) -> sqlx::Result<()> {
                sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username).execute(&mut *self).await?;
                Ok(())
            }

            async fn insert_person(&mut self, p: &PersonRow<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO persons (ente, fiscal_code, temporary_code, surname, given_name, name_key, name_key_rev, sex, \
                     birth_date, birth_place, citizenship, residence_istat, address, lat, lng, household_id, household_role, \
                     version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $18) RETURNING id",
                )
                .bind(p.ente)
                .bind(p.fiscal_code)
                .bind(p.temporary_code)
                .bind(p.surname)
                .bind(p.given_name)
                .bind(&p.name_key)
                .bind(&p.name_key_rev)
                .bind(p.sex)
                .bind(p.birth_date)
                .bind(p.birth_place)
                .bind(p.citizenship)
                .bind(p.residence_istat)
                .bind(p.address)
                .bind(p.lat)
                .bind(p.lng)
                .bind(p.household_id)
                .bind(p.household_role)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn update_person(
                &mut self,
                id: i64,
                p: &PersonRow<'_>,
                version: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<u64> {
                let r = sqlx::query(
                    "UPDATE persons SET fiscal_code = $2, temporary_code = $3, surname = $4, given_name = $5, name_key = $6, \
                     name_key_rev = $7, sex = $8, birth_date = $9, birth_place = $10, citizenship = $11, residence_istat = $12, \
                     address = $13, lat = $14, lng = $15, household_id = $16, household_role = $17, version = version + 1, \
                     updated_at = $18 WHERE id = $1 AND version = $19",
                )
                .bind(id)
                .bind(p.fiscal_code)
                .bind(p.temporary_code)
                .bind(p.surname)
                .bind(p.given_name)
                .bind(&p.name_key)
                .bind(&p.name_key_rev)
                .bind(p.sex)
                .bind(p.birth_date)
                .bind(p.birth_place)
                .bind(p.citizenship)
                .bind(p.residence_istat)
                .bind(p.address)
                .bind(p.lat)
                .bind(p.lng)
                .bind(p.household_id)
                .bind(p.household_role)
                .bind(now)
                .bind(version)
                .execute(&mut *self)
                .await?;
                Ok(r.rows_affected())
            }

            async fn person(&mut self, id: i64) -> sqlx::Result<Option<Person>> {
                sqlx::query_as(person_select!("WHERE p.id = $1")).bind(id).fetch_optional(&mut *self).await
            }

            async fn insert_history(
                &mut self,
                person_id: i64,
                version: i64,
                change: &str,
                by: i64,
                now: DateTime<Utc>,
                snapshot: &str,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO person_history (person_id, version, change, changed_by, changed_at, snapshot) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(person_id)
                .bind(version)
                .bind(change)
                .bind(by)
                .bind(now)
                .bind(snapshot)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn history(&mut self, person_id: i64) -> sqlx::Result<Vec<HistoryRow>> {
                sqlx::query_as(
                    "SELECT h.version, h.change, u.username, h.changed_at, h.snapshot FROM person_history h \
                     JOIN users u ON u.id = h.changed_by WHERE h.person_id = $1 ORDER BY h.version",
                )
                .bind(person_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn persons_by_fiscal_code(&mut self, ente: &str, ambito: &str, code: &str) -> sqlx::Result<Vec<Person>> {
                sqlx::query_as(concat!(person_select!("WHERE p.fiscal_code = $3 AND p.merged_into IS NULL AND "), scope!("p")))
                    .bind(ente)
                    .bind(ambito)
                    .bind(code)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn persons_by_birth_date(&mut self, ente: &str, ambito: &str, d: NaiveDate) -> sqlx::Result<Vec<Person>> {
                sqlx::query_as(concat!(
                    person_select!("WHERE p.birth_date = $3 AND p.merged_into IS NULL AND "),
                    scope!("p"),
                    " LIMIT 5000"
                ))
                .bind(ente)
                .bind(ambito)
                .bind(d)
                .fetch_all(&mut *self)
                .await
            }

            async fn search_names(
                &mut self,
                ente: &str,
                ambito: &str,
                lo: &str,
                hi: &str,
                rev: bool,
                limit: i64,
            ) -> sqlx::Result<Vec<Person>> {
                const SURNAME_FIRST: &str = concat!(
                    person_select!("WHERE p.name_key >= $3 AND p.name_key < $4 AND p.merged_into IS NULL AND "),
                    scope!("p"),
                    " ORDER BY p.name_key, p.id LIMIT $5"
                );
                const GIVEN_FIRST: &str = concat!(
                    person_select!("WHERE p.name_key_rev >= $3 AND p.name_key_rev < $4 AND p.merged_into IS NULL AND "),
                    scope!("p"),
                    " ORDER BY p.name_key_rev, p.id LIMIT $5"
                );
                sqlx::query_as(if rev { GIVEN_FIRST } else { SURNAME_FIRST })
                    .bind(ente)
                    .bind(ambito)
                    .bind(lo)
                    .bind(hi)
                    .bind(limit)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn search_fiscal_codes(
                &mut self,
                ente: &str,
                ambito: &str,
                lo: &str,
                hi: &str,
                limit: i64,
            ) -> sqlx::Result<Vec<Person>> {
                sqlx::query_as(concat!(
                    person_select!("WHERE p.fiscal_code >= $3 AND p.fiscal_code < $4 AND p.merged_into IS NULL AND "),
                    scope!("p"),
                    " ORDER BY p.fiscal_code LIMIT $5"
                ))
                .bind(ente)
                .bind(ambito)
                .bind(lo)
                .bind(hi)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn repoint_person(&mut self, from: i64, to: i64) -> sqlx::Result<()> {
                for stmt in [
                    "UPDATE cases SET person_id = $2 WHERE person_id = $1",
                    "UPDATE contacts SET person_id = $2 WHERE person_id = $1",
                    "UPDATE network SET person_id = $2 WHERE person_id = $1",
                    "UPDATE network SET related_person_id = $2 WHERE related_person_id = $1",
                    "UPDATE alerts SET person_id = $2 WHERE person_id = $1",
                ] {
                    sqlx::query(stmt).bind(from).bind(to).execute(&mut *self).await?;
                }
                Ok(())
            }

            async fn mark_merged(&mut self, from: i64, to: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
                let r = sqlx::query(
                    "UPDATE persons SET merged_into = $2, version = version + 1, updated_at = $3 \
                     WHERE id = $1 AND merged_into IS NULL",
                )
                .bind(from)
                .bind(to)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(r.rows_affected())
            }

            async fn insert_household(&mut self, ente: &str, address: &str, now: DateTime<Utc>) -> sqlx::Result<i64> {
                sqlx::query_scalar("INSERT INTO households (ente, address, created_at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(ente)
                    .bind(address)
                    .bind(now)
                    .fetch_one(&mut *self)
                    .await
            }

            async fn household(&mut self, id: i64) -> sqlx::Result<Option<Household>> {
                sqlx::query_as("SELECT id, ente, address, created_at FROM households WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn household_members(&mut self, id: i64) -> sqlx::Result<Vec<Person>> {
                sqlx::query_as(person_select!("WHERE p.household_id = $1 AND p.merged_into IS NULL ORDER BY p.birth_date"))
                    .bind(id)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn insert_network(
                &mut self,
                ente: &str,
                person_id: i64,
                n: &NetworkData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO network (ente, person_id, kind, name, relation, contact, related_person_id, note, created_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(ente)
                .bind(person_id)
                .bind(&n.kind)
                .bind(&n.name)
                .bind(&n.relation)
                .bind(&n.contact)
                .bind(n.related_person_id)
                .bind(&n.note)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn network_of(&mut self, person_id: i64) -> sqlx::Result<Vec<NetworkMember>> {
                sqlx::query_as(
                    "SELECT id, person_id, kind, name, relation, contact, related_person_id, note FROM network \
                     WHERE person_id = $1 ORDER BY id",
                )
                .bind(person_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn insert_case(
                &mut self,
                ente: &str,
                person_id: i64,
                worker_id: i64,
                opened_on: NaiveDate,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO cases (ente, person_id, status, worker_id, opened_on, created_at, updated_at) \
                     VALUES ($1, $2, 'open', $3, $4, $5, $5) RETURNING id",
                )
                .bind(ente)
                .bind(person_id)
                .bind(worker_id)
                .bind(opened_on)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn case(&mut self, id: i64) -> sqlx::Result<Option<Case>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{CASE_COLS} WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn cases_of_person(&mut self, person_id: i64) -> sqlx::Result<Vec<CaseSummary>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{CASE_SUMMARY} WHERE c.person_id = $1 ORDER BY c.opened_on DESC")))
                    .bind(person_id)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn cases_in_scope(
                &mut self,
                ente: &str,
                ambito: &str,
                status: &str,
                worker: i64,
                limit: i64,
            ) -> sqlx::Result<Vec<CaseSummary>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{CASE_SUMMARY} WHERE {} AND c.status = $3 AND ($4 = 0 OR c.worker_id = $4) \
                     ORDER BY c.opened_on DESC, c.id DESC LIMIT $5",
                    scope!("c")
                )))
                .bind(ente)
                .bind(ambito)
                .bind(status)
                .bind(worker)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn touch_case(&mut self, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
                sqlx::query("UPDATE cases SET updated_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *self).await?;
                Ok(())
            }

            async fn close_case(
                &mut self,
                id: i64,
                on: NaiveDate,
                reason: &str,
                outcome: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<u64> {
                let r = sqlx::query(
                    "UPDATE cases SET status = 'closed', closed_on = $2, closure_reason = $3, closure_outcome = $4, \
                     updated_at = $5 WHERE id = $1 AND status = 'open'",
                )
                .bind(id)
                .bind(on)
                .bind(reason)
                .bind(outcome)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(r.rows_affected())
            }

            async fn open_interventions(&mut self, case_id: i64, on: NaiveDate) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM interventions WHERE case_id = $1 AND (end_date IS NULL OR end_date > $2)",
                )
                .bind(case_id)
                .bind(on)
                .fetch_one(&mut *self)
                .await
            }

            async fn insert_contact(
                &mut self,
                ente: &str,
                case_id: Option<i64>,
                c: &ContactData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO contacts (ente, person_id, case_id, contact_date, channel, requester, request, area, outcome, \
                     outcome_note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(ente)
                .bind(c.person_id)
                .bind(case_id)
                .bind(c.contact_date)
                .bind(&c.channel)
                .bind(&c.requester)
                .bind(&c.request)
                .bind(&c.area)
                .bind(&c.outcome)
                .bind(&c.outcome_note)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn contacts_of_case(&mut self, case_id: i64) -> sqlx::Result<Vec<Contact>> {
                sqlx::query_as(
                    "SELECT id, ente, person_id, case_id, contact_date, channel, requester, request, area, outcome, outcome_note, \
                     created_by, created_at FROM contacts WHERE case_id = $1 ORDER BY contact_date DESC, id DESC",
                )
                .bind(case_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn contacts_of_person(&mut self, person_id: i64) -> sqlx::Result<Vec<Contact>> {
                sqlx::query_as(
                    "SELECT id, ente, person_id, case_id, contact_date, channel, requester, request, area, outcome, outcome_note, \
                     created_by, created_at FROM contacts WHERE person_id = $1 ORDER BY contact_date DESC, id DESC",
                )
                .bind(person_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn insert_assessment(
                &mut self,
                ente: &str,
                case_id: i64,
                a: &AssessmentData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                let g = a.grades;
                sqlx::query_scalar(
                    "INSERT INTO assessments (ente, case_id, assessed_on, instrument, health, autonomy, household, housing, \
                     income, work, network, need_score, notes, assessor_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(a.assessed_on)
                .bind(&a.instrument)
                .bind(g[0])
                .bind(g[1])
                .bind(g[2])
                .bind(g[3])
                .bind(g[4])
                .bind(g[5])
                .bind(g[6])
                .bind(a.need_score)
                .bind(&a.notes)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn assessments(&mut self, case_id: i64) -> sqlx::Result<Vec<Assessment>> {
                sqlx::query_as(
                    "SELECT id, case_id, assessed_on, instrument, health, autonomy, household, housing, income, work, network, \
                     need_score, notes, assessor_id, created_at FROM assessments WHERE case_id = $1 \
                     ORDER BY assessed_on DESC, id DESC",
                )
                .bind(case_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn insert_plan(
                &mut self,
                ente: &str,
                case_id: i64,
                goals: &str,
                actions: &str,
                team: &str,
                dates: (NaiveDate, NaiveDate, NaiveDate),
                status: &str,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                let submitted = (status == "submitted").then_some(now);
                sqlx::query_scalar(
                    "INSERT INTO plans (ente, case_id, goals, actions, team, start_date, end_date, review_date, status, \
                     created_by, created_at, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(goals)
                .bind(actions)
                .bind(team)
                .bind(dates.0)
                .bind(dates.1)
                .bind(dates.2)
                .bind(status)
                .bind(by)
                .bind(now)
                .bind(submitted)
                .fetch_one(&mut *self)
                .await
            }

            async fn plan(&mut self, id: i64) -> sqlx::Result<Option<PlanRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{PLAN_COLS} WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn plans(&mut self, case_id: i64) -> sqlx::Result<Vec<PlanRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{PLAN_COLS} WHERE case_id = $1 ORDER BY id DESC")))
                    .bind(case_id)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn submit_plan(&mut self, id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
                let r = sqlx::query("UPDATE plans SET status = 'submitted', submitted_at = $2 WHERE id = $1 AND status IN ('draft', 'rejected')")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *self)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn decide_plan(
                &mut self,
                id: i64,
                status: &str,
                by: i64,
                note: Option<&str>,
                now: DateTime<Utc>,
            ) -> sqlx::Result<u64> {
                let r = sqlx::query(
                    "UPDATE plans SET status = $2, decided_by = $3, decision_note = $4, decided_at = $5 \
                     WHERE id = $1 AND status = 'submitted'",
                )
                .bind(id)
                .bind(status)
                .bind(by)
                .bind(note)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(r.rows_affected())
            }

            async fn insert_intervention(
                &mut self,
                ente: &str,
                case_id: i64,
                i: &InterventionData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO interventions (ente, case_id, plan_id, service_code, area, spending, unit, start_date, end_date, \
                     quantity, unit_cost_cents, amount_cents, quota_ente_cents, quota_utente_cents, quota_ssn_cents, note, \
                     created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(i.plan_id)
                .bind(&i.service_code)
                .bind(&i.area)
                .bind(&i.spending)
                .bind(&i.unit)
                .bind(i.start_date)
                .bind(i.end_date)
                .bind(i.quantity)
                .bind(i.unit_cost_cents)
                .bind(i.amount_cents)
                .bind(i.quota_ente_cents)
                .bind(i.quota_utente_cents)
                .bind(i.quota_ssn_cents)
                .bind(&i.note)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn intervention(&mut self, id: i64) -> sqlx::Result<Option<Intervention>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{INTERVENTION_COLS} WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn interventions(&mut self, case_id: i64) -> sqlx::Result<Vec<Intervention>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{INTERVENTION_COLS} WHERE case_id = $1 ORDER BY start_date DESC, id DESC"
                )))
                .bind(case_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn end_intervention(&mut self, id: i64, on: NaiveDate) -> sqlx::Result<u64> {
                let r = sqlx::query("UPDATE interventions SET end_date = $2 WHERE id = $1 AND end_date IS NULL AND start_date <= $2")
                    .bind(id)
                    .bind(on)
                    .execute(&mut *self)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn insert_diary(
                &mut self,
                ente: &str,
                case_id: i64,
                d: &DiaryData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO diary (ente, case_id, entry_date, kind, text, author_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(d.entry_date)
                .bind(&d.kind)
                .bind(&d.text)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn diary(&mut self, case_id: i64) -> sqlx::Result<Vec<DiaryEntry>> {
                sqlx::query_as(
                    "SELECT d.id, d.case_id, d.entry_date, d.kind, d.text, d.author_id, u.full_name AS author_name, d.created_at \
                     FROM diary d JOIN users u ON u.id = d.author_id WHERE d.case_id = $1 ORDER BY d.entry_date DESC, d.id DESC",
                )
                .bind(case_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn insert_document(
                &mut self,
                ente: &str,
                case_id: i64,
                filename: &str,
                content_type: &str,
                sha256: &str,
                content: &[u8],
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO documents (ente, case_id, filename, content_type, size, sha256, content, uploaded_by, uploaded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(filename)
                .bind(content_type)
                .bind(content.len() as i64)
                .bind(sha256)
                .bind(content.to_vec())
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn documents(&mut self, case_id: i64) -> sqlx::Result<Vec<Document>> {
                sqlx::query_as(
                    "SELECT id, case_id, filename, content_type, size, sha256, uploaded_by, uploaded_at FROM documents \
                     WHERE case_id = $1 ORDER BY id DESC",
                )
                .bind(case_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn document_content(&mut self, id: i64) -> sqlx::Result<Option<DocumentContent>> {
                sqlx::query_as("SELECT ente, case_id, filename, content_type, sha256, content FROM documents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn insert_alert(&mut self, ente: &str, a: &AlertData, by: i64, now: DateTime<Utc>) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO alerts (ente, source, reporter, received_on, subject, person_id, description, urgency, status, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', $9, $10) RETURNING id",
                )
                .bind(ente)
                .bind(&a.source)
                .bind(&a.reporter)
                .bind(a.received_on)
                .bind(&a.subject)
                .bind(a.person_id)
                .bind(&a.description)
                .bind(&a.urgency)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn alert(&mut self, id: i64) -> sqlx::Result<Option<Alert>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{ALERT_COLS} WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn alerts_in_scope(
                &mut self,
                ente: &str,
                ambito: &str,
                status: &str,
                limit: i64,
            ) -> sqlx::Result<Vec<Alert>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{ALERT_COLS} a WHERE {} AND ($3 = '' OR a.status = $3) \
                     ORDER BY CASE a.urgency WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, a.received_on, a.id LIMIT $4",
                    scope!("a")
                )))
                .bind(ente)
                .bind(ambito)
                .bind(status)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn triage_alert(
                &mut self,
                id: i64,
                status: &str,
                note: Option<&str>,
                case_id: Option<i64>,
                person_id: Option<i64>,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<u64> {
                let r = sqlx::query(
                    "UPDATE alerts SET status = $2, triage_note = $3, case_id = $4, person_id = COALESCE($5, person_id), \
                     triaged_by = $6, triaged_at = $7 WHERE id = $1 AND status = 'new'",
                )
                .bind(id)
                .bind(status)
                .bind(note)
                .bind(case_id)
                .bind(person_id)
                .bind(by)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(r.rows_affected())
            }

            async fn plans_with_status(&mut self, ente: &str, ambito: &str, status: &str) -> sqlx::Result<Vec<PlanSummary>> {
                sqlx::query_as(concat!(
                    plan_summary!("WHERE "),
                    scope!("pl"),
                    " AND pl.status = $3 ORDER BY pl.submitted_at, pl.id LIMIT 500"
                ))
                .bind(ente)
                .bind(ambito)
                .bind(status)
                .fetch_all(&mut *self)
                .await
            }

            async fn reviews_due(
                &mut self,
                ente: &str,
                ambito: &str,
                worker: i64,
                until: NaiveDate,
            ) -> sqlx::Result<Vec<PlanSummary>> {
                sqlx::query_as(concat!(
                    plan_summary!("WHERE "),
                    scope!("pl"),
                    " AND pl.status = 'approved' AND c.status = 'open' AND pl.review_date <= $3 \
                     AND ($4 = 0 OR c.worker_id = $4) \
                     AND pl.id = (SELECT MAX(q.id) FROM plans q WHERE q.case_id = pl.case_id AND q.status = 'approved') \
                     ORDER BY pl.review_date, pl.id LIMIT 500"
                ))
                .bind(ente)
                .bind(ambito)
                .bind(until)
                .bind(worker)
                .fetch_all(&mut *self)
                .await
            }

            async fn audit(&mut self, l: AuditLine<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO audit (at, user_id, username, role, ente, action, entity, entity_id, case_id, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(now)
                .bind(l.actor.user_id)
                .bind(&l.actor.username)
                .bind(l.actor.role.code())
                .bind(l.ente)
                .bind(l.action)
                .bind(l.entity)
                .bind(l.entity_id)
                .bind(l.case_id)
                .bind(l.detail)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn audit_query(&mut self, ente: &str, ambito: &str, f: &AuditFilter) -> sqlx::Result<Vec<AuditEntry>> {
                let from = f.from.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
                let to = f.to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
                sqlx::query_as(concat!(
                    "SELECT a.id, a.at, a.user_id, a.username, a.role, a.ente, a.action, a.entity, a.entity_id, a.case_id, a.detail \
                     FROM audit a WHERE (a.ente IS NULL OR ",
                    scope!("a"),
                    ") AND ($3 = 0 OR a.case_id = $3) AND ($4 = 0 OR a.user_id = $4) AND ($5 = '' OR a.entity = $5) \
                     AND ($6 IS NULL OR a.at >= $6) AND ($7 IS NULL OR a.at < $7) ORDER BY a.id DESC LIMIT $8"
                ))
                .bind(ente)
                .bind(ambito)
                .bind(f.case_id.unwrap_or(0))
                .bind(f.user_id.unwrap_or(0))
                .bind(f.entity.as_deref().unwrap_or(""))
                .bind(from)
                .bind(to)
                .bind(f.limit)
                .fetch_all(&mut *self)
                .await
            }
        }
    };
}

impl_ops!(sqlx::SqliteConnection, sqlx::Sqlite);
impl_ops!(sqlx::PgConnection, sqlx::Postgres);
