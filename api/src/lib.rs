//! Mosaico's HTTP face and the composition of the other crates.
//!
//! ```text
//!  mosaico (main.rs) ──▶ demo / sql / samples / load ──▶ ingest, warehouse
//!                   └──▶ serve ──▶ app(AppState) ──▶ /healthz, /api/v1/territory/…, the map
//!                                        │              └── analytics over the warehouse session
//!                                        └──▶ case-app router: /api/v1/{persons,cases,…}, /app/…
//!                                                   └── the case store (SQLite | PostgreSQL)
//! ```
//!
//! `/api/openapi.json` describes both halves (OpenAPI 3.1).
//!
//! [`app`] builds the router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket.

pub mod auth;
mod charts;
pub mod config;
mod dashboard;
pub mod demo;
pub mod ingest;
pub mod locate_files;
pub use mosaico_domain::i18n;
pub mod map;
mod pages;
mod planner;
pub mod reports;
pub mod scope;
pub mod sql;
pub mod sql_out;
pub mod territory;
mod whatif;
mod whatif_pages;
pub mod xlsx;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use datafusion::prelude::SessionContext;
use mosaico_analytics::cohort::RateTable;
use mosaico_analytics::targets::Catalogue;
use mosaico_analytics::{AreaOutline, CellCount, Metric};
use mosaico_warehouse::{AsOf, Warehouse};

/// What the handlers share: the warehouse session (opened once) and settings.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    ctx: SessionContext,
    /// The case-management core, when a case database is configured.
    cases: Option<mosaico_case_app::CaseState>,
    threshold: u64,
    /// NIL outlines, read once.
    nil: Vec<AreaOutline>,
    /// The catalogue of targets.
    catalogue: Arc<Catalogue>,
    /// The warehouse (scenarios are saved in it; their base versions are read from it).
    wh: Warehouse,
    /// The version of each table the session reads.
    versions: std::collections::BTreeMap<String, u64>,
    /// Birth, death and migration rates of population projections.
    rates: Arc<RateTable>,
    /// The limits of `/api/v1/sql`.
    sql: sql::Limits,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("threshold", &self.inner.threshold)
            .field("nil", &self.inner.nil.len())
            .finish()
    }
}

/// Memory for the answers of the server's session (the map's and the dashboard's
/// measures, the reports' tables): a few hundred kilobytes each.
const QUERY_CACHE_BYTES: usize = 256 << 20;

impl AppState {
    /// Opens a session on the warehouse's latest tables, with the built-in catalogue of
    /// targets.
    pub async fn open(wh: &Warehouse, threshold: u64) -> anyhow::Result<Self> {
        Self::open_with(wh, threshold, Arc::new(Catalogue::built_in()?)).await
    }

    /// Opens a session on the warehouse's latest tables, with a catalogue of targets
    /// (the `persons` / `households` views and the measures' table functions are
    /// registered in it).
    pub async fn open_with(wh: &Warehouse, threshold: u64, catalogue: Arc<Catalogue>) -> anyhow::Result<Self> {
        let mut versions = wh.versions().await?;
        versions.remove(mosaico_analytics::scenario::TABLE);
        let ctx = wh.session(&AsOf::Latest).await?;
        mosaico_analytics::register(&ctx, catalogue.clone(), threshold).await?;
        // The session reads the versions above until the server reopens: the same
        // question gets the same answer, so each is computed once.
        mosaico_analytics::cache::attach(&ctx, Arc::new(mosaico_analytics::cache::QueryCache::new(QUERY_CACHE_BYTES)));
        let nil = if wh.has_table("areas").await? {
            match mosaico_analytics::outlines(&ctx, "nil").await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the NIL outlines; the map is drawn without them");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        if nil.is_empty() && wh.has_table("areas").await? {
            tracing::warn!("the areas table has no NIL outlines; the map is drawn without them");
        }
        let rates = Arc::new(RateTable::built_in());
        Ok(Self {
            inner: Arc::new(Inner {
                ctx,
                threshold,
                nil,
                cases: None,
                catalogue,
                wh: wh.clone(),
                versions,
                rates,
                sql: sql::Limits::default(),
            }),
        })
    }

    /// Adds the case-management core (its API under `/api/v1/` and pages under `/app/`).
    pub fn with_cases(self, cases: mosaico_case_app::CaseState) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self { inner: Arc::new(Inner { cases: Some(cases), ..inner }) }
    }

    /// Sets the limits of `/api/v1/sql` (time, memory, rows).
    pub fn with_sql_limits(self, limits: sql::Limits) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self { inner: Arc::new(Inner { sql: limits, ..inner }) }
    }

    fn ctx(&self) -> &SessionContext {
        &self.inner.ctx
    }

    /// The catalogue of targets.
    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    /// The saved scenarios.
    fn scenarios(&self) -> mosaico_analytics::scenario::Store {
        mosaico_analytics::scenario::Store::new(self.inner.wh.clone())
    }

    /// A session on the warehouse as a scenario's base saw it: the app's own session
    /// when the versions are those it reads.
    async fn session_at(&self, base: &std::collections::BTreeMap<String, u64>) -> Result<SessionContext, ApiError> {
        if base.is_empty() || *base == self.inner.versions {
            return Ok(self.inner.ctx.clone());
        }
        let present = self.inner.wh.tables().await.map_err(|e| ApiError::internal(&e))?;
        let pinned: std::collections::BTreeMap<String, u64> =
            base.iter().filter(|(t, _)| present.contains(t)).map(|(t, v)| (t.clone(), *v)).collect();
        self.inner.wh.session(&AsOf::Tables(pinned)).await.map_err(|e| ApiError::internal(&e))
    }
}

/// An error as the API shows it: a status and a message safe to show. Internal
/// details are logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// A 400 with a message for the caller.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// A 422: the query is understood but cannot be answered within the limits.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self { status: StatusCode::UNPROCESSABLE_ENTITY, message: message.into() }
    }

    /// A 500: the cause is logged, not sent.
    fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "request failed");
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, message: "internal error".into() }
    }
}

impl From<mosaico_analytics::Error> for ApiError {
    fn from(e: mosaico_analytics::Error) -> Self {
        match e {
            mosaico_analytics::Error::Invalid(m) => Self::bad_request(m),
            mosaico_analytics::Error::NotFound(m) => Self { status: StatusCode::NOT_FOUND, message: m },
            mosaico_analytics::Error::Unsolvable(m) => Self { status: StatusCode::UNPROCESSABLE_ENTITY, message: m },
            other => {
                tracing::error!(error = %other, "analytics query failed");
                Self { status: StatusCode::INTERNAL_SERVER_ERROR, message: "internal error".into() }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "status": self.status.as_u16(), "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

/// The router: the dashboard, and the case-management core if configured.
pub fn app(state: AppState) -> Router {
    let cases = state.inner.cases.clone();
    let router = Router::new()
        .route("/", get(pages::landing))
        .route("/planner", get(planner::page))
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/territory/cells", get(territory_cells))
        .route("/api/v1/territory/demand", get(territory::demand))
        .route("/api/v1/territory/supply", get(territory::supply))
        .route("/api/v1/territory/accessibility", get(territory::accessibility))
        .route("/api/v1/territory/gaps", get(territory::gaps))
        .route("/api/v1/scenarios", get(whatif::list).post(whatif::create))
        .route("/api/v1/scenarios/compare", get(whatif::compare))
        .route("/api/v1/scenarios/{id}", get(whatif::get_one).put(whatif::update).delete(whatif::delete))
        .route("/api/v1/scenarios/{id}/outcome", get(whatif::outcome))
        .route("/api/v1/locate", get(whatif::locate))
        .route("/api/v1/forecast/population", get(whatif::population))
        .route("/api/v1/forecast/demand", get(whatif::projected_demand))
        .route("/api/v1/forecast/series", axum::routing::post(whatif::series))
        .route("/api/v1/forecast/requests", get(whatif::requests))
        .route("/api/v1/reports/piano-di-zona", get(reports::api_piano_di_zona))
        .route("/api/v1/reports/istat", get(reports::api_istat))
        .route("/reports", get(reports::page))
        .route("/api/v1/sql", get(sql::get).post(sql::post))
        .route("/planner/scenarios", get(whatif_pages::scenarios).post(whatif_pages::create))
        .route("/planner/scenarios/{id}", get(whatif_pages::scenario))
        .route("/planner/locate", get(whatif_pages::locate))
        .route("/planner/compare", get(whatif_pages::compare))
        .merge(dashboard::routes())
        .with_state(state);
    match cases {
        Some(c) => router.merge(mosaico_case_app::router(c)),
        None => router,
    }
}

/// Liveness and version.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "`{\"status\": \"ok\", \"version\": …}`")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Mosaico", description = "Welfare intelligence for municipal social services: the dashboard's \
        territorial API and the case-management core (Cartella Sociale). Sign in with POST /api/v1/session; \
        send the CSRF token it returns in x-csrf-token with every request that changes something."),
    paths(healthz, territory_cells, territory::demand, territory::supply, territory::accessibility, territory::gaps,
        whatif::list, whatif::create, whatif::get_one, whatif::update, whatif::delete, whatif::outcome, whatif::compare,
        whatif::locate, whatif::population, whatif::projected_demand, whatif::series, whatif::requests,
        reports::api_piano_di_zona, reports::api_istat, dashboard::json, sql::post, sql::get),
    tags((name = "service", description = "Liveness"), (name = "territory", description = "Demand, supply, accessibility and gaps per H3 cell and area; counts of persons suppressed below the threshold"),
        (name = "reports", description = "The managers' dashboard, the Piano di Zona and the ISTAT survey tables over the enti in the caller's scope (reports reproducible at a warehouse version); counts of persons under the threshold hidden, with complementary suppression, and marked"),
        (name = "planning", description = "What-if scenarios over a warehouse version, location optimisation (MCLP, p-median, set covering), population and demand projections, monthly forecasts"),
        (name = "analysis", description = "Read-only SQL over the warehouse tables of the caller's enti (filtered by the engine); counts under the threshold suppressed and marked"))
)]
struct DashboardApi;

/// The OpenAPI 3.1 document of the whole API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    let mut doc = DashboardApi::openapi();
    doc.merge(mosaico_case_app::http::CaseApi::openapi());
    doc.merge(mosaico_case_app::residential_http::ResidentialApi::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// Query of `/api/v1/territory/cells`.
#[derive(Debug, serde::Deserialize)]
struct CellsQuery {
    res: Option<String>,
    metric: Option<String>,
}

/// Response of `/api/v1/territory/cells`.
#[derive(Debug, serde::Serialize)]
struct CellsResponse {
    res: u8,
    metric: Metric,
    threshold: u64,
    suppressed_cells: usize,
    cells: Vec<CellCount>,
}

fn parse_res(raw: Option<&str>) -> Result<u8, ApiError> {
    match raw {
        None => Ok(9),
        Some(s) => s
            .parse::<u8>()
            .ok()
            .filter(|r| *r <= mosaico_analytics::FINEST_RES)
            .ok_or_else(|| ApiError::bad_request(format!("res: '{s}' is not a resolution between 0 and 10"))),
    }
}

/// Counts per H3 cell for a metric; cells under the threshold are suppressed (visibly).
#[utoipa::path(get, path = "/api/v1/territory/cells", tag = "territory",
    params(("res" = Option<u8>, Query, description = "H3 resolution 0–10 (default 9)"),
           ("metric" = Option<String>, Query, description = "population, elderly_75, minors, foreign")),
    responses((status = 200, description = "`{res, metric, threshold, suppressed_cells, cells: [{cell, count, suppressed}]}`"),
              (status = 400, description = "Bad resolution or metric")))]
async fn territory_cells(
    State(state): State<AppState>,
    Query(q): Query<CellsQuery>,
) -> Result<Json<CellsResponse>, ApiError> {
    let res = parse_res(q.res.as_deref())?;
    let metric = Metric::parse(q.metric.as_deref().unwrap_or("population"))
        .map_err(|e| ApiError::bad_request(format!("metric: {e}")))?;
    let cells = mosaico_analytics::cells(state.ctx(), res, metric, state.inner.threshold).await?;
    Ok(Json(CellsResponse {
        res,
        metric,
        threshold: state.inner.threshold,
        suppressed_cells: cells.iter().filter(|c| c.suppressed).count(),
        cells,
    }))
}

/// Serves the app on `addr` until Ctrl-C.
pub async fn serve(state: AppState, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let warming = state.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match warming.warm_dashboard().await {
            Ok(n) => tracing::info!(
                targets = n,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "the dashboard's demand per cell is computed and kept"
            ),
            Err(e) => tracing::warn!(error = %e, "the dashboard's demand per cell is left to its first request"),
        }
    });
    axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
