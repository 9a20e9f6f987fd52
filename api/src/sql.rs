//! `/api/v1/sql`: read-only SQL for analysts, inside their tenant.
//!
//! ```text
//!  POST {query, format} | GET ?q=&format=
//!    │ Signed + SqlQuery (+ x-csrf-token on a POST with the session cookie)
//!    ▼
//!  check: one statement, a query (SELECT, WITH … SELECT, VALUES)        ──▶ 400 naming what was refused
//!    ▼
//!  catalog::tenant_session: fresh session, views filtered to the caller's enti,
//!    public reference tables, own memory pool (no spilling)
//!    ▼
//!  plan with SQLOptions (no DDL, DML or statements) ──▶ counts::count_columns
//!    ▼
//!  stream under the timeout, rows counted against the cap              ──▶ 422 over a limit
//!    ▼
//!  counts::suppress ──▶ JSON | CSV | XLSX | Arrow IPC
//! ```
//!
//! Tenancy is the engine's: every table carrying an ente is registered as a view that
//! keeps the caller's enti, so joins, unions, subqueries, CTEs and `information_schema`
//! only ever see those rows ([`catalog::TABLES`] lists what is offered and how).
//!
//! Disclosure: the caller sees pseudonymous rows of their own enti (the warehouse holds
//! no names or fiscal codes), but results leave the platform, so every output column
//! that is a `COUNT(…)` gets primary suppression: values 1..threshold-1 become null,
//! marked in `<name>_suppressed` ([`counts`] says how counts are found and what is not
//! covered: no complementary suppression for ad-hoc queries).

pub mod catalog;
pub mod counts;

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SQLOptions, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use futures::StreamExt as _;
use mosaico_case_app::Permission;
use serde_json::{Value, json};

use crate::auth::Signed;
use crate::territory::download;
use crate::{ApiError, AppState};

/// The limits of one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Planning and running, together.
    pub timeout: Duration,
    /// The engine's memory pool for the query.
    pub memory_bytes: usize,
    /// Rows in the result.
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), memory_bytes: 512 << 20, max_rows: 1_000_000 }
    }
}

/// The longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 100_000;

/// Body of `POST /api/v1/sql`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct SqlRequest {
    /// One query: SELECT, WITH … SELECT or VALUES.
    pub query: String,
    /// `json` (default), `csv`, `xlsx` or `arrow`; also `?format=` or the Accept header.
    pub format: Option<String>,
}

/// Query string of `GET /api/v1/sql` (and `?format=` of the POST).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SqlParams {
    /// The query (GET only).
    pub q: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `arrow`.
    pub format: Option<String>,
}

/// The formats of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{columns, rows, row_count, elapsed_ms, …}`.
    Json,
    /// CSV with a header row.
    Csv,
    /// An Excel workbook.
    Xlsx,
    /// An Arrow IPC stream.
    Arrow,
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const ARROW_TYPE: &str = "application/vnd.apache.arrow.stream";

impl Format {
    /// The format named in the body or the query string, else the one the Accept header
    /// prefers among ours, else JSON.
    fn choose(named: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
        if let Some(name) = named.map(str::trim).filter(|s| !s.is_empty()) {
            return match name.to_ascii_lowercase().as_str() {
                "json" => Ok(Format::Json),
                "csv" => Ok(Format::Csv),
                "xlsx" => Ok(Format::Xlsx),
                "arrow" => Ok(Format::Arrow),
                _ => Err(ApiError::bad_request(format!(
                    "format: '{name}' is not a format; expected one of json, csv, xlsx, arrow"
                ))),
            };
        }
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        Ok(accept
            .split(',')
            .map(|t| t.split(';').next().unwrap_or("").trim())
            .find_map(|t| match t {
                "application/json" => Some(Format::Json),
                "text/csv" => Some(Format::Csv),
                XLSX_TYPE => Some(Format::Xlsx),
                ARROW_TYPE => Some(Format::Arrow),
                _ => None,
            })
            .unwrap_or(Format::Json))
    }
}

/// Runs one read-only query over the caller's enti.
#[utoipa::path(post, path = "/api/v1/sql", tag = "analysis", operation_id = "sql_query", request_body = SqlRequest,
    params(("format" = Option<String>, Query, description = "`json` (default), `csv`, `xlsx` or `arrow`")),
    description = "One read-only query (SELECT, WITH … SELECT or VALUES) over the warehouse tables of the caller's \
        enti: `population`, `facilities`, `cases`, `interventions` (through their case), `isee` (through the \
        household), `csi_persons`, `csi_cases`, `csi_interventions`, `csi_assessments`, filtered to the caller's \
        enti by the engine; `areas`, `cells`, `census_sections`, `census_crosswalk` whole; the H3 functions. \
        Needs the SqlQuery permission (planners, statisticians); with the session cookie send `x-csrf-token`, \
        or send the session token as `Authorization: Bearer` (no CSRF token then). \
        Every output column that is a COUNT(…) (found in the query plan, through aliases, casts, subqueries, \
        unions and joins) has its values from 1 to threshold-1 replaced by null and a companion boolean column \
        `<name>_suppressed`; arithmetic on counts is not followed and there is no complementary suppression. \
        Limits (defaults, configurable in `[sql]`): 30 s, 512 MiB of memory, 1,000,000 rows.",
    responses((status = 200, description = "JSON `{columns: [{name, type}], rows: [[…]], row_count, elapsed_ms, \
        threshold, suppressed_columns}`, or a CSV / XLSX / Arrow IPC download"),
        (status = 400, description = "Not one query, a refused statement, an unknown table or column, a bad format"),
        (status = 401, description = "No session"), (status = 403, description = "No SqlQuery permission, or a missing CSRF token"),
        (status = 422, description = "The query ran out of time, memory or rows, or failed on the data")))]
pub async fn post(
    State(state): State<AppState>,
    who: Signed,
    headers: HeaderMap,
    Query(params): Query<SqlParams>,
    body: Result<Json<SqlRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    check_csrf(&who, &headers)?;
    who.require(Permission::SqlQuery, "SQL queries")?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let format = Format::choose(body.format.as_deref().or(params.format.as_deref()), &headers)?;
    answer(&state, &who, &body.query, format).await
}

/// Runs one read-only query over the caller's enti (for downloads from a browser).
#[utoipa::path(get, path = "/api/v1/sql", tag = "analysis", operation_id = "sql_download", params(SqlParams),
    description = "As POST /api/v1/sql, with the query in `q`; no CSRF token needed.",
    responses((status = 200, description = "As POST"), (status = 400, description = "As POST"),
        (status = 401, description = "No session"), (status = 403, description = "No SqlQuery permission"),
        (status = 422, description = "Over a limit")))]
pub async fn get(
    State(state): State<AppState>,
    who: Signed,
    headers: HeaderMap,
    Query(params): Query<SqlParams>,
) -> Result<Response, ApiError> {
    who.require(Permission::SqlQuery, "SQL queries")?;
    let format = Format::choose(params.format.as_deref(), &headers)?;
    let query = params.q.ok_or_else(|| ApiError::bad_request("q: give the query"))?;
    answer(&state, &who, &query, format).await
}

/// A POST that rides on the session cookie must carry the session's CSRF token, as in
/// the case-management API; a bearer token is never sent by a browser on its own, so
/// it needs none.
fn check_csrf(who: &Signed, headers: &HeaderMap) -> Result<(), ApiError> {
    if mosaico_case_app::http::session_token(headers).is_none() {
        return Ok(());
    }
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if mosaico_case_app::auth::same_token(sent, &who.0.csrf) {
        Ok(())
    } else {
        Err(ApiError::forbidden("a POST without the session's CSRF token in x-csrf-token"))
    }
}

/// What a query gave.
struct Outcome {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    rows: usize,
    suppressed_columns: Vec<String>,
}

async fn answer(state: &AppState, who: &Signed, query: &str, format: Format) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = run(state, who.enti(), query).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let actor = &who.0.actor;
    match &result {
        Ok(o) => {
            tracing::info!(user = %actor.username, enti = ?actor.enti, query, rows = o.rows, elapsed_ms, "sql query")
        }
        Err(e) => {
            tracing::info!(user = %actor.username, enti = ?actor.enti, query, elapsed_ms, refused = %e.message, "sql query refused")
        }
    }
    let outcome = result?;
    respond(outcome, format, elapsed_ms, state.inner.threshold)
}

/// Checks, plans and runs the query within the limits, and suppresses small counts.
async fn run(state: &AppState, enti: &[String], query: &str) -> Result<Outcome, ApiError> {
    check(query)?;
    let limits = state.inner.sql;
    let resources = catalog::Resources { memory_bytes: limits.memory_bytes };
    let ctx = catalog::tenant_session(state.ctx(), enti, resources).await.map_err(|e| ApiError::internal(&e))?;
    // On a task of its own, so the timer fires even while an operator holds its worker
    // thread; aborting the task drops the stream, which cancels the plan at its next
    // yield.
    let mut work = tokio::spawn(execute(ctx, query.to_owned(), limits));
    let (schema, batches, counts) = match tokio::time::timeout(limits.timeout, &mut work).await {
        Ok(Ok(r)) => r?,
        Ok(Err(e)) => return Err(ApiError::internal(&e)),
        Err(_) => {
            work.abort();
            return Err(ApiError::unprocessable(format!(
                "the query ran longer than {}, the limit, and was stopped; narrow it (WHERE, LIMIT) or aggregate",
                seconds(limits.timeout)
            )));
        }
    };
    let out_schema = counts::suppressed_schema(&schema, &counts);
    let threshold = state.inner.threshold;
    let batches = batches
        .iter()
        .map(|b| counts::suppress(b, &counts, &out_schema, threshold))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(&e))?;
    let suppressed_columns =
        schema.fields().iter().zip(&counts).filter(|(_, c)| **c).map(|(f, _)| f.name().clone()).collect();
    Ok(Outcome {
        rows: batches.iter().map(RecordBatch::num_rows).sum(),
        schema: out_schema,
        batches,
        suppressed_columns,
    })
}

/// Plans under [`SQLOptions`] that refuse DDL, DML and statements, finds the count
/// columns, and streams the result up to the row cap.
async fn execute(
    ctx: SessionContext,
    query: String,
    limits: Limits,
) -> Result<(SchemaRef, Vec<RecordBatch>, Vec<bool>), ApiError> {
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let df = ctx.sql_with_options(&query, options).await.map_err(|e| query_error(&e, limits))?;
    let counts = counts::count_columns(df.logical_plan());
    let mut stream = df.execute_stream().await.map_err(|e| query_error(&e, limits))?;
    let schema = stream.schema();
    let (mut batches, mut rows) = (Vec::new(), 0usize);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| query_error(&e, limits))?;
        rows += batch.num_rows();
        if rows > limits.max_rows {
            return Err(ApiError::unprocessable(format!(
                "the result has more than {} rows, the limit; aggregate (GROUP BY) or add a LIMIT",
                limits.max_rows
            )));
        }
        batches.push(batch);
    }
    Ok((schema, batches, counts))
}

/// Refuses anything but exactly one query.
pub fn check(query: &str) -> Result<(), ApiError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "query: {} bytes, more than the {MAX_QUERY_BYTES} accepted",
            query.len()
        )));
    }
    let statements = DFParser::parse_sql(query).map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    let statement = match statements.len() {
        0 => return Err(ApiError::bad_request("query: empty; give one SELECT")),
        1 => &statements[0],
        n => return Err(ApiError::bad_request(format!("query: one statement at a time; this has {n}"))),
    };
    match statement {
        Statement::Statement(s) if matches!(**s, SqlStatement::Query(_)) => Ok(()),
        other => Err(ApiError::bad_request(format!(
            "query: only queries (SELECT, WITH … SELECT, VALUES) are allowed; refused: {}",
            kind(other)
        ))),
    }
}

/// The statement's kind in words: `INSERT`, `CREATE TABLE`, `COPY`, `EXPLAIN`, …
fn kind(s: &Statement) -> String {
    match s {
        Statement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE".into(),
        Statement::CopyTo(_) => "COPY".into(),
        Statement::Explain(_) => "EXPLAIN".into(),
        Statement::Reset(_) => "RESET".into(),
        Statement::Statement(s) => {
            let text = s.to_string();
            let words: Vec<&str> = text.split_whitespace().take(2).collect();
            match words.as_slice() {
                [first, second] if matches!(first.to_ascii_uppercase().as_str(), "CREATE" | "DROP" | "ALTER") => {
                    format!("{} {}", first.to_ascii_uppercase(), second.to_ascii_uppercase())
                }
                [first, ..] => first.to_ascii_uppercase(),
                [] => "an empty statement".into(),
            }
        }
    }
}

/// An engine error as the caller sees it: their mistakes (400), the data or a limit
/// (422), or ours (500, logged).
fn query_error(e: &DataFusionError, limits: Limits) -> ApiError {
    let root = e.find_root();
    match root {
        DataFusionError::ResourcesExhausted(_) => ApiError::unprocessable(format!(
            "the query needs more than {} of memory, the limit; aggregate, filter or add a LIMIT \
             (sorting or joining whole tables needs the most)",
            mebibytes(limits.memory_bytes)
        )),
        DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::SQL(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Configuration(_) => ApiError::bad_request(format!("query: {}", root.strip_backtrace())),
        DataFusionError::ArrowError(..) | DataFusionError::Execution(_) => {
            ApiError::unprocessable(format!("the query failed: {}", root.strip_backtrace()))
        }
        _ => ApiError::internal(e),
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{} ms", d.as_millis()) }
}

fn mebibytes(bytes: usize) -> String {
    if bytes.is_multiple_of(1 << 20) { format!("{} MiB", bytes >> 20) } else { format!("{bytes} bytes") }
}

/// The result in its format; files get a `Content-Disposition` name.
fn respond(o: Outcome, format: Format, elapsed_ms: u64, threshold: u64) -> Result<Response, ApiError> {
    let internal = |e: anyhow::Error| ApiError::internal(&e);
    let name = format!("mosaico-sql-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    match format {
        Format::Json => {
            Ok(Json(json_body(&o, elapsed_ms, threshold).map_err(|e| ApiError::internal(&e))?).into_response())
        }
        Format::Csv => {
            let mut buf = Vec::new();
            crate::sql_out::csv(&o.batches, &mut buf).map_err(internal)?;
            Ok(download(buf, "text/csv; charset=utf-8", &format!("{name}.csv")))
        }
        Format::Xlsx => {
            if o.rows > crate::sql_out::XLSX_MAX_ROWS {
                return Err(ApiError::unprocessable(format!(
                    "a worksheet holds at most {} rows and the result has {}; use csv or arrow",
                    crate::sql_out::XLSX_MAX_ROWS,
                    o.rows
                )));
            }
            let buf = crate::sql_out::xlsx(&o.schema, &o.batches).map_err(internal)?;
            Ok(download(buf, XLSX_TYPE, &format!("{name}.xlsx")))
        }
        Format::Arrow => {
            let mut buf = Vec::new();
            crate::sql_out::arrow_ipc(&o.schema, &o.batches, &mut buf).map_err(internal)?;
            Ok(download(buf, ARROW_TYPE, &format!("{name}.arrows")))
        }
    }
}

fn json_body(o: &Outcome, elapsed_ms: u64, threshold: u64) -> Result<Value, datafusion::arrow::error::ArrowError> {
    let columns: Vec<Value> =
        o.schema.fields().iter().map(|f| json!({ "name": f.name(), "type": f.data_type().to_string() })).collect();
    let mut rows = Vec::with_capacity(o.rows);
    let options = FormatOptions::default();
    for b in &o.batches {
        let text =
            b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect::<Result<Vec<_>, _>>()?;
        for i in 0..b.num_rows() {
            let row = b.columns().iter().zip(&text).map(|(c, t)| crate::sql_out::json_value(c.as_ref(), i, t));
            rows.push(Value::Array(row.collect()));
        }
    }
    Ok(json!({
        "columns": columns,
        "rows": rows,
        "row_count": o.rows,
        "elapsed_ms": elapsed_ms,
        "threshold": threshold,
        "suppressed_columns": o.suppressed_columns,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_one_query_passes_the_check() {
        for ok in ["SELECT 1", "WITH a AS (SELECT 1 x) SELECT x FROM a", "VALUES (1), (2)", "SELECT 1 UNION SELECT 2"] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        let refused = |q: &str| check(q).unwrap_err().message;
        assert!(refused("INSERT INTO population VALUES (1)").contains("refused: INSERT"));
        assert!(refused("CREATE TABLE t AS SELECT 1").contains("refused: CREATE TABLE"));
        assert!(refused("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/tmp'").contains("CREATE EXTERNAL TABLE"));
        assert!(refused("COPY (SELECT 1) TO '/tmp/x.csv'").contains("refused: COPY"));
        assert!(refused("DROP TABLE population").contains("refused: DROP TABLE"));
        assert!(refused("SET datafusion.execution.batch_size = 1").contains("refused: SET"));
        assert!(refused("EXPLAIN ANALYZE SELECT 1").contains("refused: EXPLAIN"));
        assert!(refused("SELECT 1; SELECT 2").contains("one statement at a time; this has 2"));
        assert!(refused("  ").contains("empty"));
    }

    #[test]
    fn formats_come_from_the_name_then_the_accept_header() {
        let mut h = HeaderMap::new();
        assert_eq!(Format::choose(None, &h).unwrap(), Format::Json);
        h.insert(header::ACCEPT, "text/html, text/csv;q=0.9".parse().unwrap());
        assert_eq!(Format::choose(None, &h).unwrap(), Format::Csv);
        assert_eq!(Format::choose(Some("XLSX"), &h).unwrap(), Format::Xlsx);
        assert!(Format::choose(Some("pdf"), &h).unwrap_err().message.contains("json, csv, xlsx, arrow"));
    }
}
