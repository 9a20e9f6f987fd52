//! The INPS flows over HTTP: the file (`GET /api/v1/inps/{kind}`) and its pre-send
//! report (`GET /api/v1/inps/{kind}/report`), for an ente and a period of whole months;
//! the ente's set-up (`GET`/`PUT /api/v1/inps/setup`) and the register of flows
//! produced (`GET /api/v1/inps/flows`); what a flow needs from the case file: a case's
//! SINA and SINBA schemes (`POST /api/v1/cases/{id}/sina`, `…/sinba`) and a benefit's
//! means test (`PUT /api/v1/interventions/{id}/means`). [`crate::http::router`] merges
//! these routes; their OpenAPI paths are listed in [`crate::http::CaseApi`].

use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::{
    BenefitMeans, BenefitMeansInput, FlowKind, InpsEnte, InpsEnteInput, Period, RegisteredFlow, Report, SinaAssessment,
    SinaInput, SinbaAssessment, SinbaInput,
};
use crate::CaseError;
use crate::http::{ApiError, ApiSession, CaseState, ErrorBody, JsonBody};

/// The routes.
pub fn routes() -> Router<CaseState> {
    Router::new()
        .route("/api/v1/inps/setup", get(setup).put(set_up))
        .route("/api/v1/inps/flows", get(flows))
        .route("/api/v1/inps/{kind}", get(flow_file))
        .route("/api/v1/inps/{kind}/report", get(flow_report))
        .route("/api/v1/cases/{id}/sina", post(record_sina))
        .route("/api/v1/cases/{id}/sinba", post(record_sinba))
        .route("/api/v1/interventions/{id}/means", put(record_means))
}

/// Which ente.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnteQuery {
    /// The ente's ISTAT code; may be left out by a user of one ente.
    pub ente: Option<String>,
}

/// The ente's INPS set-up: its INPS code, the Belfiore code of its seat and the
/// operator's fiscal code (back office or coordinator).
#[utoipa::path(get, path = "/api/v1/inps/setup", tag = "inps", params(EnteQuery),
    responses((status = 200, body = InpsEnte), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "The ente is not set up yet"),
              (status = 422, body = ErrorBody, description = "An ente not in the user's scope (`ente`)")))]
pub(crate) async fn setup(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<EnteQuery>,
) -> Result<Json<InpsEnte>, ApiError> {
    let setup = s.store.inps_ente(&session.actor, q.ente.as_deref()).await?;
    Ok(Json(setup.ok_or(CaseError::NotFound("INPS set-up"))?))
}

/// Sets up (or changes) how the ente appears in its flows. Every field is checked and
/// a refusal names each field; nothing is written then.
#[utoipa::path(put, path = "/api/v1/inps/setup", tag = "inps", params(EnteQuery), request_body = InpsEnteInput,
    responses((status = 200, body = InpsEnte), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_up(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<EnteQuery>,
    JsonBody(input): JsonBody<InpsEnteInput>,
) -> Result<Json<InpsEnte>, ApiError> {
    Ok(Json(s.store.set_inps_ente(&session.actor, q.ente.as_deref(), &input).await?))
}

/// The register of the flows the ente produced, newest first: flow id, period,
/// records included and left out, who and when.
#[utoipa::path(get, path = "/api/v1/inps/flows", tag = "inps", params(EnteQuery),
    responses((status = 200, body = Vec<RegisteredFlow>), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn flows(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<EnteQuery>,
) -> Result<Json<Vec<RegisteredFlow>>, ApiError> {
    Ok(Json(s.store.inps_flows(&session.actor, q.ente.as_deref()).await?))
}

/// Records a case's SINA scheme (non-self-sufficiency), possibly in part: the PSA
/// flow refuses the benefits of a case whose latest scheme lacks a required dimension.
#[utoipa::path(post, path = "/api/v1/cases/{id}/sina", tag = "inps", params(("id" = i64, Path)),
    request_body = SinaInput,
    responses((status = 201, body = SinaAssessment), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The case is closed"),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn record_sina(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SinaInput>,
) -> Result<(StatusCode, Json<SinaAssessment>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.store.record_sina(&session.actor, id, &input).await?)))
}

/// Records a child's SINBA scheme (attributes by their XSD names), possibly in part.
#[utoipa::path(post, path = "/api/v1/cases/{id}/sinba", tag = "inps", params(("id" = i64, Path)),
    request_body = SinbaInput,
    responses((status = 201, body = SinbaAssessment), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The case is closed (`case_closed`) or its person is not a minor (`not_a_minor`)"),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn record_sinba(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SinbaInput>,
) -> Result<(StatusCode, Json<SinbaAssessment>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.store.record_sinba(&session.actor, id, &input).await?)))
}

/// Records (or replaces) the means test of a benefit: `PresenzaProvaMezzi` and the
/// ISEE behind it (social worker, coordinator or back office).
#[utoipa::path(put, path = "/api/v1/interventions/{id}/means", tag = "inps", params(("id" = i64, Path)),
    request_body = BenefitMeansInput,
    responses((status = 200, body = BenefitMeans), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn record_means(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<BenefitMeansInput>,
) -> Result<Json<BenefitMeans>, ApiError> {
    Ok(Json(s.store.record_benefit_means(&session.actor, id, &input).await?))
}

/// Which ente and period.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlowQuery {
    /// The ente's ISTAT code; may be left out by a user of one ente.
    pub ente: Option<String>,
    /// First day of the period (`YYYY-MM-DD`, the first of a month).
    pub from: Option<String>,
    /// Last day of the period (`YYYY-MM-DD`, the last of a month; at most 12 months).
    pub to: Option<String>,
}

fn kind_of(kind: &str) -> Result<FlowKind, ApiError> {
    FlowKind::parse(kind).ok_or(ApiError(CaseError::NotFound("flow kind (psa or sinba)")))
}

fn period_of(q: &FlowQuery) -> Result<Period, ApiError> {
    Ok(Period::parse(q.from.as_deref().unwrap_or(""), q.to.as_deref().unwrap_or(""))?)
}

/// The flow's XML file, named by its flow id. Headers `x-inps-flow-id`,
/// `x-inps-included` and `x-inps-rejected` summarise the report.
#[utoipa::path(get, path = "/api/v1/inps/{kind}", tag = "inps",
    params(("kind" = FlowKind, Path, description = "`psa` or `sinba`"), FlowQuery),
    responses((status = 200, content_type = "application/xml",
               description = "The flow (`<flow id>.xml`); only the records that pass every check"),
              (status = 403, body = crate::http::ErrorBody), (status = 404, body = crate::http::ErrorBody),
              (status = 409, body = crate::http::ErrorBody,
               description = "Not set up (`inps_not_configured`), nothing delivered (`inps_no_records`), or every record fails (`inps_all_rejected`)"),
              (status = 422, body = crate::http::ErrorBody)))]
pub(crate) async fn flow_file(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(kind): Path<String>,
    Query(q): Query<FlowQuery>,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let period = period_of(&q)?;
    let flow = s.store.inps_flow(&session.actor, kind, q.ente.as_deref(), period).await?;
    let included = flow.included().len().to_string();
    let rejected = flow.rejected().len().to_string();
    let mut resp = flow.xml.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
    // Flow ids are ASCII letters, digits and dots.
    for (name, value) in [
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", flow.file_name)),
        (HeaderName::from_static("x-inps-flow-id"), flow.flow_id),
        (HeaderName::from_static("x-inps-included"), included),
        (HeaderName::from_static("x-inps-rejected"), rejected),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(resp)
}

/// The pre-send report: what the flow would hold and what it would leave out, and why.
#[utoipa::path(get, path = "/api/v1/inps/{kind}/report", tag = "inps",
    params(("kind" = FlowKind, Path, description = "`psa` or `sinba`"), FlowQuery),
    responses((status = 200, body = Report), (status = 403, body = crate::http::ErrorBody),
              (status = 404, body = crate::http::ErrorBody), (status = 409, body = crate::http::ErrorBody),
              (status = 422, body = crate::http::ErrorBody)))]
pub(crate) async fn flow_report(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(kind): Path<String>,
    Query(q): Query<FlowQuery>,
) -> Result<Json<Report>, ApiError> {
    let kind = kind_of(&kind)?;
    let period = period_of(&q)?;
    Ok(Json(s.store.inps_report(&session.actor, kind, q.ente.as_deref(), period).await?))
}
