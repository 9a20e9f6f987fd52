//! What the warehouse takes from the case database, read incrementally: rows changed
//! since a watermark, page by page in `(updated_at, id)` order.
//!
//! Persons and cases carry `updated_at`. Every write to a case file (assessment,
//! plan, intervention, closure) touches its case, so a case's interventions and
//! assessments are taken again whenever the case changed. These reads are for the
//! ingest, which pseudonymises them; they are not audited as case-file reads because
//! no person sees them.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::Result;
use crate::store::{Store, read};

/// A person as the warehouse needs it (the ingest drops the fiscal code after keying).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonExport {
    /// Id in the case database.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// Fiscal code (or temporary code), to be pseudonymised.
    pub fiscal_code: String,
    /// `M` or `F`.
    pub sex: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Citizenship (ISO code).
    pub citizenship: String,
    /// Comune of residence (ISTAT).
    pub residence_istat: String,
    /// Latitude of the home.
    pub lat: Option<f64>,
    /// Longitude of the home.
    pub lng: Option<f64>,
    /// The person this one was merged into.
    pub merged_into: Option<i64>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A case with its person's fiscal code.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseExport {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// The person's fiscal code, to be pseudonymised.
    pub fiscal_code: String,
    /// `open` or `closed`.
    pub status: String,
    /// Opened on.
    pub opened_on: NaiveDate,
    /// Closed on.
    pub closed_on: Option<NaiveDate>,
    /// Closure reason code.
    pub closure_reason: Option<String>,
    /// Closure outcome code.
    pub closure_outcome: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An intervention delivered.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InterventionExport {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Ente.
    pub ente: String,
    /// Service code.
    pub service_code: String,
    /// Area di utenza.
    pub area: String,
    /// Spending type.
    pub spending: String,
    /// Unit.
    pub unit: String,
    /// Start.
    pub start_date: NaiveDate,
    /// End (`None` while running).
    pub end_date: Option<NaiveDate>,
    /// Quantity.
    pub quantity: f64,
    /// Unit cost, cents.
    pub unit_cost_cents: i64,
    /// Amount, cents.
    pub amount_cents: i64,
    /// Quota ente, cents.
    pub quota_ente_cents: i64,
    /// Quota utente, cents.
    pub quota_utente_cents: i64,
    /// Quota SSN, cents.
    pub quota_ssn_cents: i64,
}

/// A needs assessment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentExport {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Ente.
    pub ente: String,
    /// Date.
    pub assessed_on: NaiveDate,
    /// Instrument.
    pub instrument: String,
    /// Health, 0–4.
    pub health: i64,
    /// Autonomy, 0–4.
    pub autonomy: i64,
    /// Household, 0–4.
    pub household: i64,
    /// Housing, 0–4.
    pub housing: i64,
    /// Income, 0–4.
    pub income: i64,
    /// Work, 0–4.
    pub work: i64,
    /// Network, 0–4.
    pub network: i64,
    /// Need score, 0–100.
    pub need_score: i64,
}

/// Where a page of changes starts: after this `(updated_at, id)`.
pub type Mark = (DateTime<Utc>, i64);

impl Store {
    /// Persons changed at or after `since`, after `after` in `(updated_at, id)` order.
    pub async fn persons_changed(
        &self,
        since: DateTime<Utc>,
        after: Option<Mark>,
        limit: i64,
    ) -> Result<Vec<PersonExport>> {
        let (at, id) = after.unwrap_or((since, i64::MIN));
        Ok(read!(self, |c| {
            sqlx::query_as(
                "SELECT id, ente, fiscal_code, sex, birth_date, citizenship, residence_istat, lat, lng, merged_into, updated_at \
                 FROM persons WHERE updated_at >= $1 AND (updated_at > $2 OR (updated_at = $2 AND id > $3)) \
                 ORDER BY updated_at, id LIMIT $4",
            )
            .bind(since)
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        }))
    }

    /// Cases changed at or after `since`, after `after` in `(updated_at, id)` order.
    pub async fn cases_changed(
        &self,
        since: DateTime<Utc>,
        after: Option<Mark>,
        limit: i64,
    ) -> Result<Vec<CaseExport>> {
        let (at, id) = after.unwrap_or((since, i64::MIN));
        Ok(read!(self, |c| {
            sqlx::query_as(
                "SELECT c.id, c.ente, p.fiscal_code, c.status, c.opened_on, c.closed_on, c.closure_reason, \
                 c.closure_outcome, c.updated_at FROM cases c JOIN persons p ON p.id = c.person_id \
                 WHERE c.updated_at >= $1 AND (c.updated_at > $2 OR (c.updated_at = $2 AND c.id > $3)) \
                 ORDER BY c.updated_at, c.id LIMIT $4",
            )
            .bind(since)
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        }))
    }

    /// The interventions of cases whose ids lie in `from..=to` and are in `ids`.
    pub async fn interventions_of(&self, ids: &[i64]) -> Result<Vec<InterventionExport>> {
        let (Some(&from), Some(&to)) = (ids.iter().min(), ids.iter().max()) else { return Ok(Vec::new()) };
        let rows: Vec<InterventionExport> = read!(self, |c| {
            sqlx::query_as(
                "SELECT id, case_id, ente, service_code, area, spending, unit, start_date, end_date, quantity, \
                 unit_cost_cents, amount_cents, quota_ente_cents, quota_utente_cents, quota_ssn_cents \
                 FROM interventions WHERE case_id BETWEEN $1 AND $2 ORDER BY id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *c)
            .await?
        });
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        Ok(rows.into_iter().filter(|r| wanted.contains(&r.case_id)).collect())
    }

    /// The assessments of the cases in `ids`.
    pub async fn assessments_of(&self, ids: &[i64]) -> Result<Vec<AssessmentExport>> {
        let (Some(&from), Some(&to)) = (ids.iter().min(), ids.iter().max()) else { return Ok(Vec::new()) };
        let rows: Vec<AssessmentExport> = read!(self, |c| {
            sqlx::query_as(
                "SELECT id, case_id, ente, assessed_on, instrument, health, autonomy, household, housing, income, \
                 work, network, need_score FROM assessments WHERE case_id BETWEEN $1 AND $2 ORDER BY id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *c)
            .await?
        });
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        Ok(rows.into_iter().filter(|r| wanted.contains(&r.case_id)).collect())
    }
}
