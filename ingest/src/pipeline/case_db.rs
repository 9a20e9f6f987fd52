//! The case database (SQLite or PostgreSQL) into the warehouse, incrementally.
//!
//! Each run reads only the persons and cases changed since the last run's watermark
//! (one per table, in `ingest_watermarks`), minus a safety margin for transactions
//! that committed late; a case's interventions and assessments come with it, since
//! every write to a case file touches the case. Rows already in the warehouse with
//! the same `updated_at` are skipped, so an unchanged database writes nothing.
//! Persons are keyed like every other source (HMAC of the fiscal code); the case
//! database's own person ids never leave it (`person_ref` is an HMAC of the id).
//!
//! | case database | warehouse |
//! |---|---|
//! | persons | `csi_persons` (by `person_ref`) |
//! | cases (+ person) | `csi_cases` (by `case_id`) |
//! | interventions of changed cases | `csi_interventions` (by `case_id`) |
//! | assessments of changed cases | `csi_assessments` (by `case_id`) |

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, Utc};
use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use h3o::{LatLng, Resolution};
use mosaico_case_app::Store;
use mosaico_case_app::export::{AssessmentExport, CaseExport, InterventionExport, PersonExport};
use mosaico_warehouse::AsOf;

use super::schema::Reject;
use super::table::{TableBuilder, schema};
use super::{Ingest, Options, QUARANTINE, Quarantined, RUNS, RunSummary, Status, quarantine_batch, utf8};
use crate::territory::CellIndexMap;
use crate::{Error, Result};

/// The table of watermarks.
pub const WATERMARKS: &str = "ingest_watermarks";

/// How far before the watermark each run reads again: a transaction that took its
/// timestamp before the last run but committed after it is still seen.
pub const MARGIN_MINUTES: i64 = 10;

/// Rows per page read from the case database.
const PAGE: i64 = 10_000;

/// The warehouse's text form of a change time (fixed width, so it sorts).
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The URL without its password, as the watermark's key.
fn database_name(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn db_error(url: &str, e: mosaico_case_app::CaseError) -> Error {
    Error::Source { path: database_name(url).into(), message: e.to_string() }
}

impl Ingest {
    async fn watermarks(&self, database: &str) -> Result<BTreeMap<String, DateTime<Utc>>> {
        let mut out = BTreeMap::new();
        if !self.wh.has_table(WATERMARKS).await? {
            return Ok(out);
        }
        let sql = format!(
            "select \"table\", max(watermark) from {WATERMARKS} where database = '{}' group by 1",
            database.replace('\'', "''")
        );
        for b in self.wh.query(&sql, &AsOf::Latest).await? {
            let (t, w) = (utf8(b.column(0))?, utf8(b.column(1))?);
            for i in 0..b.num_rows() {
                if let Ok(at) = DateTime::parse_from_rfc3339(w.value(i)) {
                    out.insert(t.value(i).to_owned(), at.with_timezone(&Utc));
                }
            }
        }
        Ok(out)
    }

    /// `(key, updated_at)` pairs already in a warehouse table since `since`.
    async fn seen(&self, table: &str, key: &str, since: &str) -> Result<HashSet<(String, String)>> {
        let mut out = HashSet::new();
        if !self.wh.has_table(table).await? {
            return Ok(out);
        }
        let sql = format!("select cast({key} as varchar), updated_at from {table} where updated_at >= '{since}'");
        for b in self.wh.query(&sql, &AsOf::Latest).await? {
            let (k, u) = (utf8(b.column(0))?, utf8(b.column(1))?);
            for i in 0..b.num_rows() {
                out.insert((k.value(i).to_owned(), u.value(i).to_owned()));
            }
        }
        Ok(out)
    }

    /// Takes what changed in the case database at `url` since the last run.
    pub async fn run_case_db(&self, url: &str, opts: Options) -> Result<RunSummary> {
        let started = Instant::now();
        let started_at = Utc::now();
        let database = database_name(url);
        let store = Store::open(url).await.map_err(|e| db_error(url, e))?;
        let mut summary = RunSummary::new("case_db", database.clone().into(), String::new());
        // Rows keyed with another secret cannot be matched: take everything again.
        let last_key = self.last_loaded("case_db", Some(&database)).await?.map(|f| f.key);
        let rekeyed = last_key.is_some_and(|k| k != self.key_fingerprint());
        if rekeyed {
            tracing::warn!(database = %database, "the pseudonymisation key changed: the case tables are taken whole again");
        }
        let marks = if rekeyed { BTreeMap::new() } else { self.watermarks(&database).await? };
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let since = |t: &str| marks.get(t).map_or(epoch, |w| *w - Duration::minutes(MARGIN_MINUTES));
        let (persons_since, cases_since) = (since("persons"), since("cases"));

        // Read what changed, page by page.
        let mut persons: Vec<PersonExport> = Vec::new();
        let mut after = None;
        loop {
            let page = store.persons_changed(persons_since, after, PAGE).await.map_err(|e| db_error(url, e))?;
            after = page.last().map(|p| (p.updated_at, p.id));
            let done = (page.len() as i64) < PAGE;
            persons.extend(page);
            if done {
                break;
            }
        }
        let mut cases: Vec<CaseExport> = Vec::new();
        let mut after = None;
        loop {
            let page = store.cases_changed(cases_since, after, PAGE).await.map_err(|e| db_error(url, e))?;
            after = page.last().map(|c| (c.updated_at, c.id));
            let done = (page.len() as i64) < PAGE;
            cases.extend(page);
            if done {
                break;
            }
        }
        // Drop what the warehouse already holds as it is.
        if !rekeyed {
            let seen_p = self.seen("csi_persons", "person_ref", &stamp(persons_since)).await?;
            persons.retain(|p| !seen_p.contains(&(self.person_ref(p.id), stamp(p.updated_at))));
            let seen_c = self.seen("csi_cases", "case_id", &stamp(cases_since)).await?;
            cases.retain(|c| !seen_c.contains(&(c.id.to_string(), stamp(c.updated_at))));
        }
        let case_ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
        let mut interventions = Vec::new();
        let mut assessments = Vec::new();
        for chunk in case_ids.chunks(5_000) {
            interventions.extend(store.interventions_of(chunk).await.map_err(|e| db_error(url, e))?);
            assessments.extend(store.assessments_of(chunk).await.map_err(|e| db_error(url, e))?);
        }
        store.close().await;

        let new_marks: Vec<(&str, DateTime<Utc>)> = [
            ("persons", persons.iter().map(|p| p.updated_at).max()),
            ("cases", cases.iter().map(|c| c.updated_at).max()),
        ]
        .into_iter()
        .filter_map(|(t, m)| m.map(|m| (t, m)))
        .collect();
        summary.read = (persons.len() + cases.len() + interventions.len() + assessments.len()) as u64;
        if persons.is_empty() && cases.is_empty() {
            summary.status = if opts.dry_run { Status::DryRun } else { Status::Unchanged };
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            return Ok(summary);
        }

        let cells = if persons.iter().any(|p| p.lat.is_some()) {
            self.cells(&AsOf::Latest).await?
        } else {
            CellIndexMap::default()
        };
        let comuni = self.comuni()?;
        let mut quarantined = Vec::new();
        let person_batch = self.persons_batch(&persons, &cells, &comuni, &mut quarantined)?;
        let case_batch = self.cases_batch(&cases)?;
        let intervention_batch = interventions_batch(&interventions)?;
        let assessment_batch = assessments_batch(&assessments)?;
        summary.set_quarantined(&quarantined);
        summary.loaded = summary.read - summary.quarantined;
        if opts.dry_run {
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            return Ok(summary);
        }

        summary.run_id = format!("{}-case_db", started_at.format("%Y%m%dT%H%M%S%.3fZ"));
        let tables = ["csi_persons", "csi_cases", "csi_interventions", "csi_assessments", QUARANTINE, RUNS, WATERMARKS];
        let run = self.wh.begin(&summary.run_id, &format!("ingest case_db {database}"), &tables).await?;
        summary.set_recovered(&run);
        let written = async {
            let ids: ArrayRef = Arc::new(Int64Array::from(case_ids.clone()));
            let refs: ArrayRef =
                Arc::new(StringArray::from(persons.iter().map(|p| self.person_ref(p.id)).collect::<Vec<_>>()));
            let changes = [
                ("csi_persons", "person_ref", refs, person_batch),
                ("csi_cases", "case_id", ids.clone(), case_batch),
                ("csi_interventions", "case_id", ids.clone(), intervention_batch),
                ("csi_assessments", "case_id", ids, assessment_batch),
            ];
            for (table, key, keys, batch) in changes {
                let Some(b) = batch else { continue };
                let version = if rekeyed {
                    self.wh.write_table(table, vec![b]).await?
                } else {
                    self.wh.upsert(table, key, keys, vec![b]).await?
                };
                summary.tables.insert(table.into(), version);
            }
            let now = Utc::now().to_rfc3339();
            if !quarantined.is_empty() {
                let batch = quarantine_batch(&summary.run_id, "case_db", &database, &now, &quarantined)?;
                self.wh.append_table(QUARANTINE, vec![batch]).await?;
            }
            let mut t = TableBuilder::new(schema(&[
                ("database", DataType::Utf8, false),
                ("table", DataType::Utf8, false),
                ("watermark", DataType::Utf8, false),
                ("run_id", DataType::Utf8, false),
            ]));
            for (table, mark) in &new_marks {
                t.str(0, Some(&database));
                t.str(1, Some(table));
                t.str(2, Some(&stamp(*mark)));
                t.str(3, Some(&summary.run_id));
                t.end_row()?;
            }
            if let Some(b) = t.flush()? {
                self.wh.append_table(WATERMARKS, vec![b]).await?;
            }
            summary.status = Status::Loaded;
            let record = self.case_db_record(&summary, &started_at.to_rfc3339(), &now)?;
            self.wh.append_table(RUNS, vec![record]).await?;
            Ok::<_, Error>(())
        }
        .await;
        run.close(written).await?;
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    fn person_ref(&self, id: i64) -> String {
        self.key.pseudonym(&format!("case-db person {id}"))
    }

    fn case_db_record(&self, s: &RunSummary, started: &str, now: &str) -> Result<RecordBatch> {
        let fp = super::Fingerprint { sha256: String::new(), key: self.key_fingerprint(), version: 1 };
        self.run_record(s, &s.file.display().to_string(), &fp, &(started.to_owned(), now.to_owned()))
    }

    fn persons_batch(
        &self,
        persons: &[PersonExport],
        cells: &CellIndexMap,
        comuni: &HashSet<String>,
        quarantined: &mut Vec<Quarantined>,
    ) -> Result<Option<RecordBatch>> {
        use DataType::*;
        let mut t = TableBuilder::new(schema(&[
            ("person_ref", Utf8, false),
            ("person_key", Utf8, false),
            ("ente", Utf8, false),
            ("sex", Utf8, false),
            ("birth_year", Int32, false),
            ("citizenship", Utf8, false),
            ("foreign", Boolean, false),
            ("residence_istat", Utf8, false),
            ("h3_10", UInt64, true),
            ("nil_id", Int32, true),
            ("municipio", Int32, true),
            ("merged", Boolean, false),
            ("updated_at", Utf8, false),
        ]));
        let mut batches = Vec::new();
        for p in persons {
            let reject = |column: &str, reason: &'static str, message: String| Quarantined {
                line: p.id as u64,
                reject: Reject::at(column, reason, format!("person {}: {message}", p.id)),
            };
            if let Err(e) = mosaico_domain::FiscalCode::parse(&p.fiscal_code) {
                quarantined.push(reject("fiscal_code", "bad_fiscal_code", e.to_string()));
                continue;
            }
            if !comuni.contains(&p.residence_istat) {
                quarantined.push(reject(
                    "residence_istat",
                    "unknown_comune",
                    format!("'{}' is not in the ISTAT list of comuni", p.residence_istat),
                ));
                continue;
            }
            let place = match (p.lat, p.lng) {
                (Some(lat), Some(lng)) => {
                    let cell = LatLng::new(lat, lng).ok().map(|ll| ll.to_cell(Resolution::Ten));
                    match cell.and_then(|c| cells.get(c).map(|place| (c, place))) {
                        Some((c, place)) => Some((u64::from(c), place.nil, place.municipio)),
                        None => {
                            quarantined.push(reject(
                                "lat",
                                "outside_territory",
                                format!("({lat:.5}, {lng:.5}) is outside the comuni of the territory"),
                            ));
                            continue;
                        }
                    }
                }
                _ => None,
            };
            t.str(0, Some(&self.person_ref(p.id)));
            t.str(1, Some(&self.key.pseudonym(&p.fiscal_code)));
            t.str(2, Some(&p.ente));
            t.str(3, Some(&p.sex));
            t.i32(4, Some(p.birth_date.year()));
            t.str(5, Some(&p.citizenship));
            t.bool(6, p.citizenship != "IT");
            t.str(7, Some(&p.residence_istat));
            t.u64(8, place.map(|p| p.0));
            t.i32(9, place.and_then(|p| p.1));
            t.i32(10, place.and_then(|p| p.2));
            t.bool(11, p.merged_into.is_some());
            t.str(12, Some(&stamp(p.updated_at)));
            if let Some(b) = t.end_row()? {
                batches.push(b);
            }
        }
        finish(t, batches)
    }

    fn cases_batch(&self, cases: &[CaseExport]) -> Result<Option<RecordBatch>> {
        use DataType::*;
        let mut t = TableBuilder::new(schema(&[
            ("case_id", Int64, false),
            ("ente", Utf8, false),
            ("person_key", Utf8, false),
            ("status", Utf8, false),
            ("opened_on", Date32, false),
            ("closed_on", Date32, true),
            ("closure_reason", Utf8, true),
            ("closure_outcome", Utf8, true),
            ("updated_at", Utf8, false),
        ]));
        let mut batches = Vec::new();
        for c in cases {
            t.i64(0, Some(c.id));
            t.str(1, Some(&c.ente));
            t.str(2, Some(&self.key.pseudonym(&c.fiscal_code)));
            t.str(3, Some(&c.status));
            t.date(4, Some(c.opened_on));
            t.date(5, c.closed_on);
            t.str(6, c.closure_reason.as_deref());
            t.str(7, c.closure_outcome.as_deref());
            t.str(8, Some(&stamp(c.updated_at)));
            if let Some(b) = t.end_row()? {
                batches.push(b);
            }
        }
        finish(t, batches)
    }
}

fn finish(mut t: TableBuilder, mut batches: Vec<RecordBatch>) -> Result<Option<RecordBatch>> {
    if let Some(b) = t.flush()? {
        batches.push(b);
    }
    if batches.is_empty() {
        return Ok(None);
    }
    Ok(Some(datafusion::arrow::compute::concat_batches(t.schema(), &batches)?))
}

fn interventions_batch(rows: &[InterventionExport]) -> Result<Option<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(schema(&[
        ("intervention_id", Int64, false),
        ("case_id", Int64, false),
        ("ente", Utf8, false),
        ("service_code", Utf8, false),
        ("area_utenza", Utf8, false),
        ("spending_type", Utf8, false),
        ("unit", Utf8, false),
        ("start_date", Date32, false),
        ("end_date", Date32, true),
        ("quantity", Float64, false),
        ("unit_cost_eur", Float64, false),
        ("amount_eur", Float64, false),
        ("quota_ente_eur", Float64, false),
        ("quota_utente_eur", Float64, false),
        ("quota_ssn_eur", Float64, false),
    ]));
    let eur = |c: i64| c as f64 / 100.0;
    let mut batches = Vec::new();
    for r in rows {
        t.i64(0, Some(r.id));
        t.i64(1, Some(r.case_id));
        t.str(2, Some(&r.ente));
        t.str(3, Some(&r.service_code));
        t.str(4, Some(&r.area));
        t.str(5, Some(&r.spending));
        t.str(6, Some(&r.unit));
        t.date(7, Some(r.start_date));
        t.date(8, r.end_date);
        t.f64(9, Some(r.quantity));
        t.f64(10, Some(eur(r.unit_cost_cents)));
        t.f64(11, Some(eur(r.amount_cents)));
        t.f64(12, Some(eur(r.quota_ente_cents)));
        t.f64(13, Some(eur(r.quota_utente_cents)));
        t.f64(14, Some(eur(r.quota_ssn_cents)));
        if let Some(b) = t.end_row()? {
            batches.push(b);
        }
    }
    finish(t, batches)
}

fn assessments_batch(rows: &[AssessmentExport]) -> Result<Option<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(schema(&[
        ("assessment_id", Int64, false),
        ("case_id", Int64, false),
        ("ente", Utf8, false),
        ("assessed_on", Date32, false),
        ("instrument", Utf8, false),
        ("health", Int32, false),
        ("autonomy", Int32, false),
        ("household", Int32, false),
        ("housing", Int32, false),
        ("income", Int32, false),
        ("work", Int32, false),
        ("network", Int32, false),
        ("need_score", Int32, false),
    ]));
    let mut batches = Vec::new();
    for r in rows {
        t.i64(0, Some(r.id));
        t.i64(1, Some(r.case_id));
        t.str(2, Some(&r.ente));
        t.date(3, Some(r.assessed_on));
        t.str(4, Some(&r.instrument));
        for (i, v) in [r.health, r.autonomy, r.household, r.housing, r.income, r.work, r.network, r.need_score]
            .into_iter()
            .enumerate()
        {
            t.i32(5 + i, Some(v as i32));
        }
        if let Some(b) = t.end_row()? {
            batches.push(b);
        }
    }
    finish(t, batches)
}
