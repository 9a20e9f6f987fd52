//! `/api/v1/territory/{demand,supply,accessibility,gaps}`: the territorial measures of
//! a target as JSON, CSV, GeoJSON (hex or area polygons carrying `hex_id` / `id`) or
//! Arrow IPC.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::{AsArray, RecordBatch};
use mosaico_analytics::territory::{self, Level, Method, Place, Request};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// The query string of every measure.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasureQuery {
    /// Target id from the catalogue (`anziani_75`); required except for supply.
    pub target: Option<String>,
    /// Facility types, comma-separated (`RSA,CDI`); default: the target's.
    pub service: Option<String>,
    /// `cell` (default), `nil`, `municipio` or `comune`.
    pub level: Option<String>,
    /// H3 resolution of cells, 7–10 (default 9).
    pub res: Option<String>,
    /// Only rows in this area: `nil:<id>`, `municipio:<n>` or `comune:<ISTAT code>`.
    pub area: Option<String>,
    /// Accessibility method: `2sfca`, `e2sfca` (default) or `g2sfca`.
    pub method: Option<String>,
    /// Catchment in km (default 3).
    pub catchment_km: Option<String>,
    /// `json` (default), `csv`, `geojson` or `arrow`.
    pub format: Option<String>,
}

/// The formats a measure is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{…, rows: [...]}`.
    Json,
    /// CSV with a header.
    Csv,
    /// A FeatureCollection.
    GeoJson,
    /// Arrow IPC stream.
    Arrow,
}

impl Format {
    pub(crate) fn parse(s: Option<&str>) -> Result<Format, ApiError> {
        match s.unwrap_or("json") {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "geojson" => Ok(Format::GeoJson),
            "arrow" => Ok(Format::Arrow),
            other => Err(ApiError::bad_request(format!(
                "format: '{other}' is not a format; expected one of json, csv, geojson, arrow"
            ))),
        }
    }
}

/// Which measure an endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Potential and expressed demand.
    Demand,
    /// Facilities and places.
    Supply,
    /// 2SFCA-family accessibility.
    Accessibility,
    /// Gaps, ranked.
    Gaps,
}

impl Measure {
    fn code(self) -> &'static str {
        match self {
            Measure::Demand => "demand",
            Measure::Supply => "supply",
            Measure::Accessibility => "accessibility",
            Measure::Gaps => "gaps",
        }
    }
}

fn bad(e: mosaico_analytics::Error) -> ApiError {
    ApiError::from(e)
}

/// Reads a query into a request (every problem a 400 naming the parameter and what is allowed).
pub fn request(state: &AppState, measure: Measure, q: &MeasureQuery) -> Result<Request, ApiError> {
    let catalogue = state.catalogue();
    let target = match (&q.target, measure) {
        (Some(id), _) => catalogue.get(id).map_err(|e| ApiError::bad_request(format!("target: {e}")))?.clone(),
        (None, Measure::Supply) if q.service.is_some() => match catalogue.targets().first() {
            Some(t) => t.clone(),
            None => return Err(ApiError::bad_request("the catalogue of targets is empty")),
        },
        (None, _) => {
            let ids: Vec<&str> = catalogue.targets().iter().map(|t| t.id.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "target: give a target{}; the targets are: {}",
                if measure == Measure::Supply { " or a service" } else { "" },
                ids.join(", ")
            )));
        }
    };
    let mut req = Request::new(&target);
    if let Some(s) = &q.service {
        req = req.with_facility_types(s.split(',').map(|t| t.trim().to_owned()).collect()).map_err(bad)?;
    }
    let res = match &q.res {
        None => None,
        Some(r) => Some(r.parse::<u8>().map_err(|_| {
            ApiError::bad_request(format!(
                "res: '{r}' is not a resolution; cells are given at resolutions {}..={}",
                territory::CELL_RESOLUTIONS.start(),
                territory::CELL_RESOLUTIONS.end()
            ))
        })?),
    };
    req.level = Level::parse(q.level.as_deref().unwrap_or("cell"), res).map_err(bad)?;
    req.area = q.area.as_deref().map(Place::parse).transpose().map_err(bad)?;
    if let Some(m) = &q.method {
        req.method = Method::parse(m).map_err(bad)?;
    }
    if let Some(c) = &q.catchment_km {
        let km = c.parse::<f64>().map_err(|_| ApiError::bad_request(format!("catchment_km: '{c}' is not a number")))?;
        req = req.with_catchment(km).map_err(bad)?;
    }
    req.threshold = state.inner.threshold;
    Ok(req)
}

/// A measure, computed once per distinct request while the server's tables stay the
/// same (the session's query cache).
async fn compute(state: &AppState, measure: Measure, req: &Request) -> Result<RecordBatch, ApiError> {
    let ctx = state.ctx();
    let key = format!("measure {measure:?} {req:?}");
    let batches = mosaico_analytics::cache::remember(ctx, &key, || async {
        Ok::<_, mosaico_analytics::Error>(vec![match measure {
            Measure::Demand => territory::demand(ctx, req).await?,
            Measure::Supply => territory::supply(ctx, req).await?,
            Measure::Accessibility => territory::accessibility(ctx, req).await?,
            Measure::Gaps => territory::gaps(ctx, req).await?,
        }])
    })
    .await?;
    batches.into_iter().next().ok_or_else(|| internal("a measure gave no batch"))
}

/// The rows of a batch as JSON objects, nulls included.
pub fn json_rows(batch: &RecordBatch) -> Result<Vec<Value>, ApiError> {
    use datafusion::arrow::json::{WriterBuilder, writer::JsonArray};
    let mut buf = Vec::new();
    let mut w = WriterBuilder::new().with_explicit_nulls(true).build::<_, JsonArray>(&mut buf);
    w.write(batch).map_err(internal)?;
    w.finish().map_err(internal)?;
    drop(w);
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buf).map_err(internal)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "encoding a measure failed");
    ApiError { status: axum::http::StatusCode::INTERNAL_SERVER_ERROR, message: "internal error".into() }
}

async fn serve(state: AppState, measure: Measure, q: MeasureQuery) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref())?;
    let req = request(&state, measure, &q)?;
    let batch = compute(&state, measure, &req).await?;
    let file = format!("mosaico-{}-{}-{}", measure.code(), req.target.id, level_tag(req.level));
    let mut body = json!({
        "measure": measure.code(),
        "level": req.level.code(),
        "res": req.level.grid_res(),
        "area": req.area.as_ref().map(ToString::to_string),
        "facility_types": req.facility_types,
        "threshold": req.threshold,
    });
    if measure != Measure::Supply {
        body["target"] =
            json!({ "id": req.target.id, "name": req.target.name, "kind": req.target.kind, "area": req.target.area });
    }
    if matches!(measure, Measure::Accessibility | Measure::Gaps) {
        body["method"] = json!(req.method.code());
        body["catchment_km"] = json!(req.catchment_km);
    }
    respond(&state, format, Some(req.level), &batch, &file, body).await
}

/// A batch in a format: JSON (`body` with the rows added as `rows`), CSV, Arrow IPC, or
/// GeoJSON (when `level` says what the rows' ids are).
pub(crate) async fn respond(
    state: &AppState,
    format: Format,
    level: Option<Level>,
    batch: &RecordBatch,
    file: &str,
    mut body: Value,
) -> Result<Response, ApiError> {
    match format {
        Format::Json => {
            body["rows"] = Value::Array(json_rows(batch)?);
            Ok(axum::Json(body).into_response())
        }
        Format::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut buf);
                w.write(batch).map_err(internal)?;
            }
            Ok(download(buf, "text/csv; charset=utf-8", &format!("{file}.csv")))
        }
        Format::Arrow => {
            let mut buf = Vec::new();
            {
                let mut w = datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema())
                    .map_err(internal)?;
                w.write(batch).map_err(internal)?;
                w.finish().map_err(internal)?;
            }
            Ok(download(buf, "application/vnd.apache.arrow.stream", &format!("{file}.arrows")))
        }
        Format::GeoJson => {
            let Some(level) = level else {
                return Err(ApiError::bad_request("format: geojson is not offered here; use json, csv or arrow"));
            };
            let body = geojson(state, level, batch).await?;
            Ok(download(
                serde_json::to_vec(&body).map_err(internal)?,
                "application/geo+json",
                &format!("{file}.geojson"),
            ))
        }
    }
}

pub(crate) fn level_tag(level: Level) -> String {
    match level {
        Level::Cell(r) => format!("res{r}"),
        other => other.code().to_owned(),
    }
}

pub(crate) fn download(body: Vec<u8>, content_type: &str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

/// A FeatureCollection: hexagons for cells, outlines for areas; the row as properties.
async fn geojson(state: &AppState, level: Level, batch: &RecordBatch) -> Result<Value, ApiError> {
    let rows = json_rows(batch)?;
    let outlines = match level {
        Level::Cell(_) => Vec::new(),
        other => mosaico_analytics::outlines(state.ctx(), other.code()).await?,
    };
    let ids = batch.column(0).as_string::<i32>();
    let mut features = Vec::with_capacity(rows.len());
    for (i, props) in rows.into_iter().enumerate() {
        let id = ids.value(i);
        let geometry = match level {
            Level::Cell(_) => hex_polygon(id),
            _ => outlines
                .iter()
                .find(|o| o.id == id)
                .and_then(|o| serde_json::from_str::<Value>(&o.geojson).ok())
                .unwrap_or(Value::Null),
        };
        features.push(json!({ "type": "Feature", "geometry": geometry, "properties": props }));
    }
    Ok(json!({ "type": "FeatureCollection", "features": features }))
}

fn hex_polygon(hex: &str) -> Value {
    let Ok(cell) = hex.parse::<h3o::CellIndex>() else { return Value::Null };
    let mut ring: Vec<[f64; 2]> = cell.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    json!({ "type": "Polygon", "coordinates": [ring] })
}

macro_rules! endpoint {
    ($name:ident, $measure:expr, $path:literal, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(get, path = $path, tag = "territory", params(MeasureQuery),
            responses((status = 200, description = $what),
                      (status = 400, description = "Unknown target or service, resolution out of range, empty area: the message lists what is allowed")))]
        pub(crate) async fn $name(State(state): State<AppState>, Query(q): Query<MeasureQuery>) -> Result<Response, ApiError> {
            serve(state, $measure, q).await
        }
    };
}

endpoint!(
    demand,
    Measure::Demand,
    "/api/v1/territory/demand",
    "Potential demand (persons or households matching the target's rule) and expressed demand (of them, those with an open case in the target's area), per cell or area; counts under the threshold suppressed"
);
endpoint!(
    supply,
    Measure::Supply,
    "/api/v1/territory/supply",
    "Facilities and places of the service's facility types (or the target's), per cell or area"
);
endpoint!(
    accessibility,
    Measure::Accessibility,
    "/api/v1/territory/accessibility",
    "Accessibility (places per person of the target within the catchment, PySAL access definitions) and its ratio to the territory's"
);
endpoint!(
    gaps,
    Measure::Gaps,
    "/api/v1/territory/gaps",
    "Gap (persons of the target not matched by places within reach at the territory's ratio) per cell or area, ranked from the largest"
);
