//! The planners' questions over HTTP: what-if scenarios (`/api/v1/scenarios`), where to
//! open the next services (`/api/v1/locate`), and forecasts (`/api/v1/forecast/…`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mosaico_analytics::cohort::{self, Overrides, RateTable};
use mosaico_analytics::forecast::HoltWinters;
use mosaico_analytics::scenario::{self, Change, Comparison, Scenario, Variant};
use mosaico_analytics::siting::{self, ModelKind, Placement, SitingRequest};
use mosaico_analytics::territory::{Place, Request};
use serde_json::{Value, json};

use crate::territory::{Format, Measure, MeasureQuery, level_tag, request, respond};
use crate::{ApiError, AppState};

/// A scenario to save.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct NewScenario {
    /// Its name (its id is a slug of it).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Its changes, in order.
    pub changes: Vec<Change>,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Checks a scenario against the warehouse the app reads and saves it over that version.
pub(crate) async fn save(state: &AppState, new: NewScenario, id: Option<&str>) -> Result<Scenario, ApiError> {
    let mut s = Scenario::new(&new.name, &new.description, new.changes)?;
    let store = state.scenarios();
    match id {
        None => {
            if store.get(&s.id).await.is_ok() {
                return Err(ApiError {
                    status: StatusCode::CONFLICT,
                    message: format!(
                        "a scenario '{}' exists already; change it with PUT /api/v1/scenarios/{}, or choose another name",
                        s.id, s.id
                    ),
                });
            }
        }
        Some(id) => {
            store.get(id).await?;
            s.id = id.to_owned();
        }
    }
    let ctx = state.ctx();
    scenario::apply(ctx, scenario::facilities(ctx).await?, &s.changes).await?;
    s.base = state.inner.versions.clone();
    Ok(store.save(&s, &now()).await?)
}

/// The saved scenarios.
#[utoipa::path(get, path = "/api/v1/scenarios", tag = "planning",
    responses((status = 200, description = "`{scenarios: [{id, name, description, saved_at, base, changes}]}`")))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "scenarios": state.scenarios().list().await? })))
}

/// Saves a new scenario over the warehouse version the app reads. Each change is checked:
/// facilities closed or resized exist, new sites lie in the territory, values are in range.
#[utoipa::path(post, path = "/api/v1/scenarios", tag = "planning", request_body = NewScenario,
    responses((status = 201, description = "The scenario as saved, with its id and base versions"),
              (status = 400, description = "A change that does not apply, named by its number"),
              (status = 409, description = "A scenario with that name exists"),
              (status = 422, description = "More changes than a scenario holds")))]
pub(crate) async fn create(
    State(state): State<AppState>,
    b: Result<Json<NewScenario>, JsonRejection>,
) -> Result<Response, ApiError> {
    let s = save(&state, body(b)?, None).await?;
    let location = format!("/api/v1/scenarios/{}", s.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(s)).into_response())
}

/// One scenario.
#[utoipa::path(get, path = "/api/v1/scenarios/{id}", tag = "planning", params(("id" = String, Path, description = "Scenario id")),
    responses((status = 200, description = "The scenario"), (status = 404, description = "No such scenario; the message lists those saved")))]
pub(crate) async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Scenario>, ApiError> {
    Ok(Json(state.scenarios().get(&id).await?))
}

/// Saves a new version of a scenario (the earlier ones stay in the `scenarios` table).
#[utoipa::path(put, path = "/api/v1/scenarios/{id}", tag = "planning", request_body = NewScenario,
    params(("id" = String, Path, description = "Scenario id")),
    responses((status = 200, description = "The scenario as saved"), (status = 404, description = "No such scenario")))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<NewScenario>, JsonRejection>,
) -> Result<Json<Scenario>, ApiError> {
    Ok(Json(save(&state, body(b)?, Some(&id)).await?))
}

/// Deletes a scenario (its history stays readable in the `scenarios` table).
#[utoipa::path(delete, path = "/api/v1/scenarios/{id}", tag = "planning", params(("id" = String, Path, description = "Scenario id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such scenario")))]
pub(crate) async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.scenarios().delete(&id, &now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The baseline and scenarios measured for one request, side by side.
pub(crate) async fn comparison(
    state: &AppState,
    req: &Request,
    ids: &[String],
) -> Result<(Vec<Scenario>, Comparison), ApiError> {
    let store = state.scenarios();
    let mut scenarios = Vec::new();
    for id in ids {
        scenarios.push(store.get(id).await?);
    }
    compare_scenarios(state, req, &scenarios).await.map(|c| (scenarios, c))
}

/// Measures the baseline (the first scenario's base) and the scenarios (each over its own base).
pub(crate) async fn compare_scenarios(
    state: &AppState,
    req: &Request,
    scenarios: &[Scenario],
) -> Result<Comparison, ApiError> {
    let base = scenarios.first().map(|s| s.base.clone()).unwrap_or_default();
    let baseline_ctx = state.session_at(&base).await?;
    let mut ctxs = Vec::new();
    for s in scenarios {
        ctxs.push(state.session_at(&s.base).await?);
    }
    let mut variants = vec![Variant { label: "baseline", ctx: &baseline_ctx, scenario: None }];
    for (s, ctx) in scenarios.iter().zip(&ctxs) {
        variants.push(Variant { label: &s.id, ctx, scenario: Some(s) });
    }
    Ok(scenario::compare(req, &variants, &state.inner.rates).await?)
}

async fn serve_comparison(state: &AppState, q: &MeasureQuery, ids: &[String]) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref())?;
    let req = request(state, Measure::Gaps, q)?;
    let (scenarios, c) = comparison(state, &req, ids).await?;
    let body = json!({
        "target": { "id": req.target.id, "name": req.target.name },
        "level": req.level.code(),
        "res": req.level.grid_res(),
        "area": req.area.as_ref().map(ToString::to_string),
        "facility_types": req.facility_types,
        "method": req.method.code(),
        "catchment_km": req.catchment_km,
        "threshold": req.threshold,
        "scenarios": scenarios,
        "totals": c.totals,
    });
    let file = format!("mosaico-scenario-{}-{}-{}", ids.join("-"), req.target.id, level_tag(req.level));
    respond(state, format, Some(req.level), &c.rows, &file, body).await
}

/// The scenario's outcome beside its baseline: per unit, demand, places, accessibility and
/// gap of each (`baseline_*`, `<id>_*`) and the changes (`<id>_d_*`), with totals.
#[utoipa::path(get, path = "/api/v1/scenarios/{id}/outcome", tag = "planning",
    params(("id" = String, Path, description = "Scenario id"), MeasureQuery),
    responses((status = 200, description = "`{scenarios, totals: [baseline, scenario], rows}` (or CSV, GeoJSON, Arrow)"),
              (status = 400, description = "Bad target, service, level or format"), (status = 404, description = "No such scenario")))]
pub(crate) async fn outcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<MeasureQuery>,
) -> Result<Response, ApiError> {
    serve_comparison(&state, &q, &[id]).await
}

/// Query of `/api/v1/scenarios/compare`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// Scenario ids, comma-separated.
    pub ids: Option<String>,
    /// Target id.
    pub target: Option<String>,
    /// Facility types, comma-separated.
    pub service: Option<String>,
    /// `cell`, `nil`, `municipio` or `comune`.
    pub level: Option<String>,
    /// Cell resolution.
    pub res: Option<String>,
    /// Area filter.
    pub area: Option<String>,
    /// Accessibility method.
    pub method: Option<String>,
    /// Catchment in km (a scenario's own catchment change wins).
    pub catchment_km: Option<String>,
    /// `json`, `csv`, `geojson` or `arrow`.
    pub format: Option<String>,
}

/// Scenarios side by side with the baseline and each other.
#[utoipa::path(get, path = "/api/v1/scenarios/compare", tag = "planning", params(CompareQuery),
    responses((status = 200, description = "`{scenarios, totals: [baseline, …], rows}`: `<label>_potential`, `_places`, `_accessibility`, `_gap` and `_d_*` per scenario"),
              (status = 400, description = "No ids, or a bad parameter"), (status = 404, description = "An id that is not saved")))]
pub(crate) async fn compare(
    State(state): State<AppState>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, ApiError> {
    let ids: Vec<String> =
        q.ids.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("ids: give the scenarios to compare, comma-separated (ids=a,b)"));
    }
    if ids.len() > 8 {
        return Err(ApiError::bad_request("ids: compare at most 8 scenarios at a time"));
    }
    let m = MeasureQuery {
        target: q.target,
        service: q.service,
        level: q.level,
        res: q.res,
        area: q.area,
        method: q.method,
        catchment_km: q.catchment_km,
        format: q.format,
    };
    serve_comparison(&state, &m, &ids).await
}

/// Query of `/api/v1/locate`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocateQuery {
    /// Target id (whose demand is served).
    pub target: Option<String>,
    /// Facility types, comma-separated (default: the target's).
    pub service: Option<String>,
    /// `mclp` (default), `pmedian` or `lscp`.
    pub model: Option<String>,
    /// Sites to open (default 3).
    pub p: Option<String>,
    /// Service radius in km (default 1.5).
    pub radius_km: Option<String>,
    /// Grid resolution of demand and candidates, 7–9 (default 9).
    pub res: Option<String>,
    /// `all` (every cell of the territory, default) or H3 cells, comma-separated.
    pub candidates: Option<String>,
    /// Set aside demand already within reach of existing facilities (default true; the
    /// p-median ignores it).
    pub existing: Option<String>,
    /// Only demand and candidates in this area (`municipio:9`).
    pub area: Option<String>,
}

/// Reads a locate query.
pub(crate) fn siting_request(state: &AppState, q: &LocateQuery) -> Result<SitingRequest, ApiError> {
    let m = MeasureQuery { target: q.target.clone(), service: q.service.clone(), ..MeasureQuery::default() };
    let base = request(state, Measure::Gaps, &m)?;
    let num = |name: &str, v: &Option<String>, default: f64| -> Result<f64, ApiError> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s.parse::<f64>().map_err(|_| ApiError::bad_request(format!("{name}: '{s}' is not a number"))),
        }
    };
    let p = num("p", &q.p, 3.0)?;
    if p.fract() != 0.0 || p < 1.0 {
        return Err(ApiError::bad_request(format!("p: {p} is not a whole number of sites ≥ 1")));
    }
    let res = num("res", &q.res, 9.0)?;
    if !(7.0..=9.0).contains(&res) || res.fract() != 0.0 {
        return Err(ApiError::bad_request(format!("res: {res} is out of range; sites are cells at resolutions 7..=9")));
    }
    let candidates = match q.candidates.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(list) => Some(
            list.split(',')
                .map(|c| {
                    c.trim().parse::<h3o::CellIndex>().map(u64::from).map_err(|_| {
                        ApiError::bad_request(format!(
                            "candidates: '{c}' is not an H3 cell; give `all` or cells like 891f99cdd4fffff"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let existing = match q.existing.as_deref() {
        None | Some("") | Some("true") | Some("1") | Some("on") => true,
        Some("false") | Some("0") | Some("off") => false,
        Some(other) => return Err(ApiError::bad_request(format!("existing: '{other}' is not true or false"))),
    };
    Ok(SitingRequest {
        target: base.target,
        facility_types: base.facility_types,
        model: ModelKind::parse(q.model.as_deref().unwrap_or("mclp"))?,
        p: p as usize,
        radius_km: num("radius_km", &q.radius_km, 1.5)?,
        res: res as u8,
        candidates,
        existing,
        area: q.area.as_deref().filter(|s| !s.is_empty()).map(Place::parse).transpose()?,
    })
}

/// Where to open the next p services for a target: MCLP (the most demand within the
/// radius, with what existing facilities reach set aside), p-median (the least
/// demand-weighted distance) or set covering (the fewest sites reaching everyone).
/// Exact by enumeration when small, lazy greedy + swap otherwise, with a bound.
#[utoipa::path(get, path = "/api/v1/locate", tag = "planning", params(LocateQuery),
    responses((status = 200, description = "`{target, sites: [{rank, hex_id, lat, lon, nil_id, municipio, demand}], objective, bound, gap, exact, demand_total, already_served, points, candidates, pairs, limits}`"),
              (status = 400, description = "A bad parameter, named"),
              (status = 422, description = "An infeasible or oversized problem; the message gives the limits that apply")))]
pub(crate) async fn locate(
    State(state): State<AppState>,
    Query(q): Query<LocateQuery>,
) -> Result<Json<Value>, ApiError> {
    let req = siting_request(&state, &q)?;
    let placement: Placement = siting::site(state.ctx(), &req).await?;
    let mut v = serde_json::to_value(&placement).map_err(|e| ApiError::internal(&e))?;
    v["target"] = json!({ "id": req.target.id, "name": req.target.name });
    v["facility_types"] = json!(req.facility_types);
    v["p"] = json!(req.p);
    v["radius_km"] = json!(req.radius_km);
    v["res"] = json!(req.res);
    v["limits"] = json!(siting::limits_text());
    Ok(Json(v))
}

/// Query of the projections.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectionQuery {
    /// Target id (demand projection).
    pub target: Option<String>,
    /// Years ahead, 1–10 (default 3, a Piano di Zona).
    pub years: Option<String>,
    /// Births per resident per year, replacing the NIL profiles' everywhere.
    pub births: Option<String>,
    /// Deaths per resident per year.
    pub deaths: Option<String>,
    /// Net migration per resident per year.
    pub migration: Option<String>,
    /// `json`, `csv` or `arrow`.
    pub format: Option<String>,
}

fn projection_inputs(state: &AppState, q: &ProjectionQuery) -> Result<(u32, RateTable), ApiError> {
    let years = match q.years.as_deref().filter(|s| !s.is_empty()) {
        None => cohort::DEFAULT_YEARS,
        Some(s) => s.parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!(
                "years: '{s}' is not a number of years ({}..={})",
                cohort::YEARS.start(),
                cohort::YEARS.end()
            ))
        })?,
    };
    let rate = |name: &str, v: &Option<String>| -> Result<Option<f64>, ApiError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<f64>().map_err(|_| ApiError::bad_request(format!("{name}: '{s}' is not a rate per resident")))
            })
            .transpose()
    };
    let o = Overrides {
        births: rate("births", &q.births)?,
        deaths: rate("deaths", &q.deaths)?,
        migration: rate("migration", &q.migration)?,
    };
    Ok((years, (*state.inner.rates).clone().with(o)?))
}

/// Residents per NIL (and comune outside them) and age band, projected year by year by
/// cohort ageing with the NIL profiles' birth, death and migration rates (or those given).
#[utoipa::path(get, path = "/api/v1/forecast/population", tag = "planning", params(ProjectionQuery),
    responses((status = 200, description = "Rows nil_id, comune_istat, name, age_band, years_ahead, residents, suppressed"),
              (status = 400, description = "Years or a rate out of range")))]
pub(crate) async fn population(
    State(state): State<AppState>,
    Query(q): Query<ProjectionQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref())?;
    let (years, rates) = projection_inputs(&state, &q)?;
    let batch = scenario::projected_population(state.ctx(), years, &rates, state.inner.threshold).await?;
    let body = json!({ "years": years, "bands": cohort::BANDS.iter().map(|b| b.2).collect::<Vec<_>>(), "threshold": state.inner.threshold });
    respond(&state, format, None, &batch, &format!("mosaico-population-{years}y"), body).await
}

/// A target's demand per NIL projected year by year (constant prevalence per age band).
#[utoipa::path(get, path = "/api/v1/forecast/demand", tag = "planning", params(ProjectionQuery),
    responses((status = 200, description = "Rows nil_id, comune_istat, name, years_ahead, potential, suppressed, residents"),
              (status = 400, description = "Unknown target, years or a rate out of range")))]
pub(crate) async fn projected_demand(
    State(state): State<AppState>,
    Query(q): Query<ProjectionQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref())?;
    let m = MeasureQuery { target: q.target.clone(), ..MeasureQuery::default() };
    let req = request(&state, Measure::Demand, &m)?;
    let (years, rates) = projection_inputs(&state, &q)?;
    let batch = scenario::projected_demand(state.ctx(), &req.target, years, &rates, state.inner.threshold).await?;
    let body = json!({ "target": { "id": req.target.id, "name": req.target.name }, "years": years, "threshold": state.inner.threshold });
    respond(&state, format, None, &batch, &format!("mosaico-demand-{}-{years}y", req.target.id), body).await
}

/// A monthly series to forecast.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct SeriesRequest {
    /// The values, oldest first (at least two seasons).
    pub values: Vec<f64>,
    /// The first month, `YYYY-MM` (to label the forecast).
    #[serde(default)]
    pub start: Option<String>,
    /// Season length (default 12).
    #[serde(default)]
    pub period: Option<usize>,
    /// Months to forecast (default 12).
    #[serde(default)]
    pub horizon: Option<usize>,
    /// Prediction interval: 0.8, 0.9, 0.95 (default) or 0.99.
    #[serde(default)]
    pub level: Option<f64>,
    /// Months held out to test the model (default: one season).
    #[serde(default)]
    pub held_out: Option<usize>,
}

fn month_label(start: Option<&str>, offset: usize) -> Result<Option<String>, ApiError> {
    let Some(s) = start else { return Ok(None) };
    let bad = || ApiError::bad_request(format!("start: '{s}' is not a month; write YYYY-MM"));
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let (y, m): (i64, i64) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) {
        return Err(bad());
    }
    let k = y * 12 + (m - 1) + offset as i64;
    Ok(Some(format!("{:04}-{:02}", k / 12, k % 12 + 1)))
}

/// Holt-Winters (additive ETS) forecast of a monthly series (requests, waiting-list
/// length) with prediction intervals, and its back-test on held-out months.
#[utoipa::path(post, path = "/api/v1/forecast/series", tag = "planning", request_body = SeriesRequest,
    responses((status = 200, description = "`{model: {alpha, beta, gamma, period, sigma2}, forecast: [{h, month, mean, lower, upper}], backtest: {held_out, mae, rmse, coverage, steps}}`"),
              (status = 400, description = "Too short a series, a bad level or month")))]
pub(crate) async fn series(b: Result<Json<SeriesRequest>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let r = body(b)?;
    Ok(Json(forecast_json(&r.values, r.start.as_deref(), r.period, r.horizon, r.level, r.held_out)?))
}

/// A forecast of a series with its back-test, as JSON.
fn forecast_json(
    values: &[f64],
    start: Option<&str>,
    period: Option<usize>,
    horizon: Option<usize>,
    level: Option<f64>,
    held_out: Option<usize>,
) -> Result<Value, ApiError> {
    let period = period.unwrap_or(12);
    let horizon = horizon.unwrap_or(12);
    let level = level.unwrap_or(0.95);
    if horizon == 0 || horizon > 60 {
        return Err(ApiError::bad_request(format!("horizon: {horizon} months; forecast 1..=60")));
    }
    let fit = HoltWinters::fit(values, period)?;
    let steps = fit.forecast(horizon, level)?;
    let mut forecast = Vec::new();
    for s in &steps {
        let mut v = serde_json::to_value(s).map_err(|e| ApiError::internal(&e))?;
        v["month"] = json!(month_label(start, values.len() + s.h - 1)?);
        forecast.push(v);
    }
    let backtest = HoltWinters::backtest(values, period, held_out.unwrap_or(period), level)?;
    Ok(json!({
        "model": { "alpha": fit.alpha, "beta": fit.beta, "gamma": fit.gamma, "period": fit.period, "sigma2": fit.sigma2 },
        "level": level,
        "forecast": forecast,
        "backtest": backtest,
    }))
}

/// Query of `/api/v1/forecast/requests`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Area di utenza (`anziani`, `minori_famiglia`, …); all areas if omitted.
    pub area: Option<String>,
    /// Months to forecast (default 12).
    pub horizon: Option<usize>,
    /// Prediction interval: 0.8, 0.9, 0.95 (default) or 0.99.
    pub level: Option<f64>,
}

/// Case files opened per month (the requests social services receive), from the
/// warehouse, up to last month; forecast by Holt-Winters with intervals and back-tested
/// on the last year.
#[utoipa::path(get, path = "/api/v1/forecast/requests", tag = "planning", params(RequestsQuery),
    responses((status = 200, description = "`{area, series: {start, values}, model, forecast, backtest}`"),
              (status = 400, description = "An unknown area, or too short a history")))]
pub(crate) async fn requests(
    State(state): State<AppState>,
    Query(q): Query<RequestsQuery>,
) -> Result<Json<Value>, ApiError> {
    use chrono::Datelike as _;
    let area = q.area.as_deref().filter(|s| !s.is_empty());
    if let Some(a) = area {
        let known: Vec<&str> = mosaico_domain::AreaUtenza::ALL.iter().map(|x| x.code()).collect();
        if !known.contains(&a) {
            return Err(ApiError::bad_request(format!(
                "area: '{a}' is not an area di utenza; expected one of {}",
                known.join(", ")
            )));
        }
    }
    let today = chrono::Utc::now().date_naive();
    let series = mosaico_analytics::forecast::monthly_cases(state.ctx(), area, (today.year(), today.month())).await?;
    let mut v = forecast_json(&series.values, Some(&series.start), None, q.horizon, q.level, None)?;
    v["area"] = json!(area);
    // The monthly counts leave the platform: those under the threshold are hidden (with a
    // complement, so the series' total does not give one away) and counted as such.
    let counts: Vec<u64> = series.values.iter().map(|x| x.max(0.0).round() as u64).collect();
    let shown = mosaico_analytics::disclosure::hide_list(&counts, state.inner.threshold);
    v["series"] = json!({
        "start": series.start,
        "values": shown,
        "suppressed": shown.iter().filter(|x| x.is_none()).count(),
        "threshold": state.inner.threshold,
    });
    Ok(Json(v))
}
