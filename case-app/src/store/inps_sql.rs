//! The SQL of the INPS flows, written once and compiled for both backends'
//! connections (`impl_inps_ops!`), like [`super::sql`]. The extraction reads one ente
//! and one period: the interventions delivered in it (overlapping `[from, to]`) with
//! their quotas, plans, persons and means tests; the latest SINA and SINBA schemes of
//! the ente's cases up to `to`; the households and first reports of those persons.

use chrono::{DateTime, NaiveDate, Utc};

use crate::inps::input::{BenefitMeansData, InpsEnteData, SinaData};
use crate::inps::{BenefitMeans, InpsEnte, RegisteredFlow, SinaAssessment};

/// An intervention delivered in the period, with everything a benefit needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct BenefitRow {
    pub intervention_id: i64,
    pub case_id: i64,
    pub case_opened_on: NaiveDate,
    pub person_id: i64,
    pub service_code: String,
    pub area: String,
    pub unit: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub plan_end: NaiveDate,
    pub quantity: f64,
    pub amount_cents: i64,
    pub quota_ente_cents: i64,
    pub quota_utente_cents: i64,
    pub quota_ssn_cents: i64,
    pub fiscal_code: String,
    pub temporary_code: bool,
    pub surname: String,
    pub given_name: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub citizenship: String,
    pub residence_istat: String,
    pub household_id: Option<i64>,
    pub household_role: Option<String>,
    pub means_test: Option<i64>,
    pub dsu_protocol: Option<String>,
    pub dsu_date: Option<NaiveDate>,
    pub isee_cents: Option<i64>,
    pub isee_members: Option<i64>,
}

/// A SINBA scheme as stored (the scheme as JSON text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SinbaRow {
    pub id: i64,
    pub case_id: i64,
    pub assessed_on: NaiveDate,
    pub scheme: String,
    pub assessor_id: i64,
    pub created_at: DateTime<Utc>,
}

/// A member of a household of a person with benefits in the period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub id: i64,
    pub household_id: i64,
    pub sex: String,
    pub household_role: Option<String>,
    pub citizenship: String,
}

/// The earliest contact or alert about a person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FirstReport {
    pub person_id: i64,
    pub first_on: NaiveDate,
}

/// The ente's set-up with its pseudonym key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct InpsEnteRow {
    pub ente: String,
    pub name: String,
    pub code: String,
    pub belfiore: String,
    pub operator_cf: String,
    pub pseudonym_key: String,
    pub updated_at: DateTime<Utc>,
}

impl InpsEnteRow {
    pub fn public(&self) -> InpsEnte {
        InpsEnte {
            ente: self.ente.clone(),
            name: self.name.clone(),
            code: self.code.clone(),
            belfiore: self.belfiore.clone(),
            operator_cf: self.operator_cf.clone(),
            updated_at: self.updated_at,
        }
    }
}

/// A flow to register.
#[derive(Debug, Clone)]
pub(crate) struct FlowRow<'a> {
    pub ente: &'a str,
    pub kind: &'a str,
    pub seq: i64,
    pub flow_id: &'a str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub included: i64,
    pub rejected: i64,
    pub sha256: &'a str,
}

/// Interventions of ente `$1` delivered in `[$2, $3]`: started by the end, not ended
/// before the start.
macro_rules! delivered {
    () => {
        "i.ente = $1 AND c.ente = $1 AND i.start_date <= $3 AND (i.end_date IS NULL OR i.end_date >= $2)"
    };
}

/// The latest row of `$t` per case among those assessed by `$2`.
macro_rules! latest {
    ($t:literal) => {
        concat!(
            "s.ente = $1 AND s.assessed_on <= $2 AND NOT EXISTS (SELECT 1 FROM ",
            $t,
            " t WHERE t.case_id = s.case_id AND t.assessed_on <= $2 AND \
             (t.assessed_on > s.assessed_on OR (t.assessed_on = s.assessed_on AND t.id > s.id)))"
        )
    };
}

const SINA_COLS: &str = "SELECT s.id, s.case_id, s.assessed_on, s.mobility, s.daily_living, s.cognitive, s.behaviour, \
    s.health_care, s.income, s.support, s.source, s.instrument, s.invalidity, s.invalidity_source, s.assessor_id, \
    s.created_at FROM sina_assessments s";

const MEANS_COLS: &str = "SELECT intervention_id, means_test, dsu_protocol, dsu_date, isee_cents, isee_members, \
    recorded_by, recorded_at FROM benefit_means";

/// The statements. Implemented identically for `SqliteConnection` and `PgConnection`.
#[allow(clippy::too_many_arguments)]
pub(crate) trait InpsOps {
    async fn inps_ente(&mut self, ente: &str) -> sqlx::Result<Option<InpsEnteRow>>;
    /// Creates or changes the set-up; the key is written only when the row is new.
    async fn inps_upsert_ente(
        &mut self,
        ente: &str,
        d: &InpsEnteData,
        key: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    /// Takes the ente's set-up row for the transaction (a row lock on PostgreSQL; SQLite
    /// writers are serialised already), so flow numbers are handed out one at a time.
    async fn inps_lock_ente(&mut self, ente: &str) -> sqlx::Result<u64>;
    async fn inps_next_flow_number(&mut self, ente: &str, kind: &str) -> sqlx::Result<i64>;
    async fn inps_insert_flow(&mut self, f: &FlowRow<'_>, by: i64, now: DateTime<Utc>) -> sqlx::Result<i64>;

    async fn inps_benefit_rows(&mut self, ente: &str, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<BenefitRow>>;
    async fn inps_latest_sina(&mut self, ente: &str, to: NaiveDate) -> sqlx::Result<Vec<SinaAssessment>>;
    async fn inps_latest_sinba(&mut self, ente: &str, to: NaiveDate) -> sqlx::Result<Vec<SinbaRow>>;
    async fn inps_household_members(
        &mut self,
        ente: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> sqlx::Result<Vec<MemberRow>>;
    async fn inps_first_reports(
        &mut self,
        ente: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> sqlx::Result<Vec<FirstReport>>;

    async fn inps_insert_sina(
        &mut self,
        ente: &str,
        case_id: i64,
        d: &SinaData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn inps_sina(&mut self, id: i64) -> sqlx::Result<Option<SinaAssessment>>;
    async fn inps_insert_sinba(
        &mut self,
        ente: &str,
        case_id: i64,
        on: NaiveDate,
        scheme: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn inps_sinba(&mut self, id: i64) -> sqlx::Result<Option<SinbaRow>>;
    async fn inps_upsert_benefit_means(
        &mut self,
        ente: &str,
        intervention_id: i64,
        d: &BenefitMeansData,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    async fn inps_benefit_means(&mut self, intervention_id: i64) -> sqlx::Result<Option<BenefitMeans>>;
    /// The register of an ente's flows, newest first, at most `limit`.
    async fn inps_flows(&mut self, ente: &str, limit: i64) -> sqlx::Result<Vec<RegisteredFlow>>;
    /// A case's latest SINA scheme (by date of assessment, then by id).
    async fn inps_case_sina(&mut self, case_id: i64) -> sqlx::Result<Option<SinaAssessment>>;
    /// A case's latest SINBA scheme.
    async fn inps_case_sinba(&mut self, case_id: i64) -> sqlx::Result<Option<SinbaRow>>;
}

macro_rules! impl_inps_ops {
    ($conn:ty) => {
        impl InpsOps for $conn {
            async fn inps_ente(&mut self, ente: &str) -> sqlx::Result<Option<InpsEnteRow>> {
                sqlx::query_as(
                    "SELECT ie.ente, e.name, ie.code, ie.belfiore, ie.operator_cf, ie.pseudonym_key, ie.updated_at \
                     FROM inps_enti ie JOIN enti e ON e.istat = ie.ente WHERE ie.ente = $1",
                )
                .bind(ente)
                .fetch_optional(&mut *self)
                .await
            }

            async fn inps_upsert_ente(
                &mut self,
                ente: &str,
                d: &InpsEnteData,
                key: &str,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO inps_enti (ente, code, belfiore, operator_cf, pseudonym_key, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ente) DO UPDATE SET code = excluded.code, \
                     belfiore = excluded.belfiore, operator_cf = excluded.operator_cf, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at",
                )
                .bind(ente)
                .bind(&d.code)
                .bind(&d.belfiore)
                .bind(&d.operator_cf)
                .bind(key)
                .bind(by)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn inps_lock_ente(&mut self, ente: &str) -> sqlx::Result<u64> {
                let r = sqlx::query("UPDATE inps_enti SET updated_at = updated_at WHERE ente = $1")
                    .bind(ente)
                    .execute(&mut *self)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn inps_next_flow_number(&mut self, ente: &str, kind: &str) -> sqlx::Result<i64> {
                sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM inps_flows WHERE ente = $1 AND kind = $2")
                    .bind(ente)
                    .bind(kind)
                    .fetch_one(&mut *self)
                    .await
            }

            async fn inps_insert_flow(&mut self, f: &FlowRow<'_>, by: i64, now: DateTime<Utc>) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO inps_flows (ente, kind, seq, flow_id, period_from, period_to, included, rejected, sha256, \
                     produced_by, produced_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(f.ente)
                .bind(f.kind)
                .bind(f.seq)
                .bind(f.flow_id)
                .bind(f.from)
                .bind(f.to)
                .bind(f.included)
                .bind(f.rejected)
                .bind(f.sha256)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn inps_benefit_rows(&mut self, ente: &str, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<BenefitRow>> {
                sqlx::query_as(concat!(
                    "SELECT i.id AS intervention_id, i.case_id, c.opened_on AS case_opened_on, c.person_id, i.service_code, \
                     i.area, i.unit, i.start_date, i.end_date, pl.end_date AS plan_end, i.quantity, i.amount_cents, \
                     i.quota_ente_cents, i.quota_utente_cents, i.quota_ssn_cents, p.fiscal_code, p.temporary_code, \
                     p.surname, p.given_name, p.sex, p.birth_date, p.citizenship, p.residence_istat, p.household_id, \
                     p.household_role, m.means_test, m.dsu_protocol, m.dsu_date, m.isee_cents, m.isee_members \
                     FROM interventions i JOIN cases c ON c.id = i.case_id JOIN persons p ON p.id = c.person_id \
                     JOIN plans pl ON pl.id = i.plan_id LEFT JOIN benefit_means m ON m.intervention_id = i.id WHERE ",
                    delivered!(),
                    " ORDER BY c.person_id, i.id"
                ))
                .bind(ente)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn inps_latest_sina(&mut self, ente: &str, to: NaiveDate) -> sqlx::Result<Vec<SinaAssessment>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{SINA_COLS} WHERE {} ORDER BY s.case_id",
                    latest!("sina_assessments")
                )))
                .bind(ente)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn inps_latest_sinba(&mut self, ente: &str, to: NaiveDate) -> sqlx::Result<Vec<SinbaRow>> {
                sqlx::query_as(concat!(
                    "SELECT s.id, s.case_id, s.assessed_on, s.scheme, s.assessor_id, s.created_at \
                     FROM sinba_assessments s WHERE ",
                    latest!("sinba_assessments"),
                    " ORDER BY s.case_id"
                ))
                .bind(ente)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn inps_household_members(
                &mut self,
                ente: &str,
                from: NaiveDate,
                to: NaiveDate,
            ) -> sqlx::Result<Vec<MemberRow>> {
                sqlx::query_as(concat!(
                    "SELECT m.id, m.household_id, m.sex, m.household_role, m.citizenship FROM persons m \
                     WHERE m.ente = $1 AND m.merged_into IS NULL AND m.household_id IN (SELECT p.household_id \
                     FROM interventions i JOIN cases c ON c.id = i.case_id JOIN persons p ON p.id = c.person_id \
                     WHERE p.household_id IS NOT NULL AND ",
                    delivered!(),
                    ") ORDER BY m.household_id, m.id"
                ))
                .bind(ente)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn inps_first_reports(&mut self, ente: &str, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<FirstReport>> {
                sqlx::query_as(concat!(
                    "SELECT x.person_id, MIN(x.d) AS first_on FROM (\
                     SELECT person_id, contact_date AS d FROM contacts WHERE ente = $1 \
                     UNION ALL SELECT person_id, received_on AS d FROM alerts WHERE ente = $1 AND person_id IS NOT NULL\
                     ) x WHERE x.person_id IN (SELECT c.person_id FROM interventions i JOIN cases c ON c.id = i.case_id \
                     WHERE ",
                    delivered!(),
                    ") GROUP BY x.person_id"
                ))
                .bind(ente)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn inps_insert_sina(
                &mut self,
                ente: &str,
                case_id: i64,
                d: &SinaData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO sina_assessments (ente, case_id, assessed_on, mobility, daily_living, cognitive, behaviour, \
                     health_care, income, support, source, instrument, invalidity, invalidity_source, assessor_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(d.assessed_on)
                .bind(d.mobility)
                .bind(d.daily_living)
                .bind(d.cognitive)
                .bind(d.behaviour)
                .bind(d.health_care)
                .bind(d.income)
                .bind(d.support)
                .bind(d.source)
                .bind(d.instrument)
                .bind(&d.invalidity)
                .bind(d.invalidity_source)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn inps_sina(&mut self, id: i64) -> sqlx::Result<Option<SinaAssessment>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{SINA_COLS} WHERE s.id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn inps_insert_sinba(
                &mut self,
                ente: &str,
                case_id: i64,
                on: NaiveDate,
                scheme: &str,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO sinba_assessments (ente, case_id, assessed_on, scheme, assessor_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(on)
                .bind(scheme)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn inps_sinba(&mut self, id: i64) -> sqlx::Result<Option<SinbaRow>> {
                sqlx::query_as(
                    "SELECT id, case_id, assessed_on, scheme, assessor_id, created_at FROM sinba_assessments WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self)
                .await
            }

            async fn inps_upsert_benefit_means(
                &mut self,
                ente: &str,
                intervention_id: i64,
                d: &BenefitMeansData,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO benefit_means (intervention_id, ente, means_test, dsu_protocol, dsu_date, isee_cents, \
                     isee_members, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (intervention_id) DO UPDATE SET means_test = excluded.means_test, \
                     dsu_protocol = excluded.dsu_protocol, dsu_date = excluded.dsu_date, isee_cents = excluded.isee_cents, \
                     isee_members = excluded.isee_members, recorded_by = excluded.recorded_by, \
                     recorded_at = excluded.recorded_at",
                )
                .bind(intervention_id)
                .bind(ente)
                .bind(d.means_test)
                .bind(&d.dsu_protocol)
                .bind(d.dsu_date)
                .bind(d.isee_cents)
                .bind(d.isee_members)
                .bind(by)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn inps_benefit_means(&mut self, intervention_id: i64) -> sqlx::Result<Option<BenefitMeans>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{MEANS_COLS} WHERE intervention_id = $1")))
                    .bind(intervention_id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn inps_flows(&mut self, ente: &str, limit: i64) -> sqlx::Result<Vec<RegisteredFlow>> {
                sqlx::query_as(
                    "SELECT f.id, f.kind, f.flow_id, f.period_from, f.period_to, f.included, f.rejected, f.sha256, \
                     u.full_name AS produced_by, f.produced_at FROM inps_flows f JOIN users u ON u.id = f.produced_by \
                     WHERE f.ente = $1 ORDER BY f.produced_at DESC, f.id DESC LIMIT $2",
                )
                .bind(ente)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn inps_case_sina(&mut self, case_id: i64) -> sqlx::Result<Option<SinaAssessment>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{SINA_COLS} WHERE s.case_id = $1 ORDER BY s.assessed_on DESC, s.id DESC LIMIT 1"
                )))
                .bind(case_id)
                .fetch_optional(&mut *self)
                .await
            }

            async fn inps_case_sinba(&mut self, case_id: i64) -> sqlx::Result<Option<SinbaRow>> {
                sqlx::query_as(
                    "SELECT id, case_id, assessed_on, scheme, assessor_id, created_at FROM sinba_assessments \
                     WHERE case_id = $1 ORDER BY assessed_on DESC, id DESC LIMIT 1",
                )
                .bind(case_id)
                .fetch_optional(&mut *self)
                .await
            }
        }
    };
}

impl_inps_ops!(sqlx::SqliteConnection);
impl_inps_ops!(sqlx::PgConnection);
