//! The JSON API of residential care under `/api/v1/`: facilities, placement requests and
//! their documents, waiting lists, stays, presences, pre-bills and certificates. Same
//! session, CSRF and error shape as the rest of the case API.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::http::{ApiError, ApiSession, CaseState, ErrorBody, JsonBody};
use crate::residential::*;

type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn routes() -> Router<CaseState> {
    Router::new()
        .route("/api/v1/facilities", get(facilities).post(create_facility))
        .route("/api/v1/facilities/{id}", get(facility))
        .route("/api/v1/facilities/{id}/operators", post(assign_operator))
        .route("/api/v1/facilities/{id}/presences/{month}", get(presence_grid).put(record_presences))
        .route("/api/v1/facilities/{id}/prebills/{month}", get(prebill))
        .route("/api/v1/facilities/{id}/prebills/{month}/approval", post(approve_prebill))
        .route("/api/v1/certificates/{id}", get(certificate))
        .route("/api/v1/cases/{id}/placements", get(case_placements).post(request_placement))
        .route("/api/v1/placements", get(placements))
        .route("/api/v1/placements/{id}", get(placement))
        .route("/api/v1/placements/{id}/documents/{kind}", put(check_document))
        .route("/api/v1/placements/{id}/withdrawal", post(withdraw))
        .route("/api/v1/placements/{id}/admission", post(admit))
        .route("/api/v1/waitlists/{facility_type}", get(waitlist).put(set_weights))
        .route("/api/v1/stays/{id}/transfer", post(transfer))
        .route("/api/v1/stays/{id}/discharge", post(discharge))
        .route("/api/v1/copay/{service}", get(copay))
}

/// A cost to split by a service's co-payment rule.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CopayQuery {
    /// The user's ISEE in euro (absent: not declared, the maximum share).
    pub isee: Option<f64>,
    /// The cost in euro.
    pub amount: f64,
    /// Months the cost covers (the monthly maximum scales with it; default 1).
    pub months: Option<f64>,
}

/// A cost split by a co-payment rule.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CopaySplit {
    /// The service.
    pub service: String,
    /// The rule, in words.
    pub rule: String,
    /// The user's share of the social part (0–1).
    pub share: f64,
    /// Quota ente, euro cents.
    pub quota_ente_cents: i64,
    /// Quota utente, euro cents.
    pub quota_utente_cents: i64,
    /// Quota SSN, euro cents.
    pub quota_ssn_cents: i64,
}

#[utoipa::path(get, path = "/api/v1/copay/{service}", tag = "residential",
    params(("service" = String, Path, description = "Service or facility type code"), CopayQuery),
    responses((status = 200, body = CopaySplit), (status = 404, body = ErrorBody, description = "No rule for the service"),
              (status = 422, body = ErrorBody)))]
async fn copay(
    State(s): State<CaseState>,
    ApiSession(_session): ApiSession,
    Path(service): Path<String>,
    Query(q): Query<CopayQuery>,
) -> ApiResult<Json<CopaySplit>> {
    let rules = s.store.copay_rules();
    let rule = rules.get(&service).ok_or(crate::CaseError::NotFound("co-payment rule"))?;
    if !(q.amount.is_finite() && q.amount >= 0.0) || q.isee.is_some_and(|i| !(i.is_finite() && i >= 0.0)) {
        return Err(crate::CaseError::field("amount", "amount and isee must be non-negative numbers of euro").into());
    }
    let split = rule.split(q.isee, (q.amount * 100.0).round() as i64, q.months.unwrap_or(1.0));
    Ok(Json(CopaySplit {
        service,
        rule: rule.name.clone(),
        share: rule.share(q.isee),
        quota_ente_cents: split.ente_cents,
        quota_utente_cents: split.utente_cents,
        quota_ssn_cents: split.ssn_cents,
    }))
}

/// A facility with its current residents.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FacilityDetail {
    /// The facility.
    pub facility: Facility,
    /// Residents today.
    pub residents: Vec<Stay>,
}

/// Which ente's list (default: the user's).
#[derive(Debug, Deserialize, IntoParams)]
pub struct EnteQuery {
    /// ISTAT code of the ente.
    pub ente: Option<String>,
}

/// Filter by status.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StatusQuery {
    /// `documents`, `waiting`, `admitted` or `withdrawn` (default: all).
    pub status: Option<String>,
}

/// A facility operator to assign.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OperatorInput {
    /// The operator's user name.
    pub username: String,
}

#[utoipa::path(get, path = "/api/v1/facilities", tag = "residential",
    responses((status = 200, body = Vec<Facility>), (status = 403, body = ErrorBody)))]
async fn facilities(State(s): State<CaseState>, ApiSession(session): ApiSession) -> ApiResult<Json<Vec<Facility>>> {
    Ok(Json(s.store.facilities(&session.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/facilities", tag = "residential", request_body = FacilityInput,
    responses((status = 201, body = Facility), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_facility(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    JsonBody(input): JsonBody<FacilityInput>,
) -> ApiResult<(StatusCode, Json<Facility>)> {
    Ok((StatusCode::CREATED, Json(s.store.create_facility(&session.actor, &input).await?)))
}

#[utoipa::path(get, path = "/api/v1/facilities/{id}", tag = "residential", params(("id" = i64, Path)),
    responses((status = 200, body = FacilityDetail), (status = 404, body = ErrorBody)))]
async fn facility(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<FacilityDetail>> {
    let (facility, residents) = s.store.facility(&session.actor, id).await?;
    Ok(Json(FacilityDetail { facility, residents }))
}

#[utoipa::path(post, path = "/api/v1/facilities/{id}/operators", tag = "residential", params(("id" = i64, Path)),
    request_body = OperatorInput,
    responses((status = 204, description = "Assigned"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_operator(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<OperatorInput>,
) -> ApiResult<StatusCode> {
    s.store.assign_operator(&session.actor, input.username.trim(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/facilities/{id}/presences/{month}", tag = "residential",
    params(("id" = i64, Path), ("month" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = PresenceGrid), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn presence_grid(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path((id, month)): Path<(i64, String)>,
) -> ApiResult<Json<PresenceGrid>> {
    Ok(Json(s.store.presence_grid(&session.actor, id, &month).await?))
}

#[utoipa::path(put, path = "/api/v1/facilities/{id}/presences/{month}", tag = "residential",
    params(("id" = i64, Path), ("month" = String, Path, description = "YYYY-MM")), request_body = PresenceInput,
    responses((status = 200, body = PresenceGrid), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The month is certified"),
              (status = 422, body = ErrorBody, description = "An entry is not a day of a stay; nothing was written")))]
async fn record_presences(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path((id, month)): Path<(i64, String)>,
    JsonBody(input): JsonBody<PresenceInput>,
) -> ApiResult<Json<PresenceGrid>> {
    Ok(Json(s.store.record_presences(&session.actor, id, &month, &input).await?))
}

#[utoipa::path(get, path = "/api/v1/facilities/{id}/prebills/{month}", tag = "residential",
    params(("id" = i64, Path), ("month" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = PreBill), (status = 404, body = ErrorBody)))]
async fn prebill(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path((id, month)): Path<(i64, String)>,
) -> ApiResult<Json<PreBill>> {
    Ok(Json(s.store.prebill(&session.actor, id, &month).await?))
}

#[utoipa::path(post, path = "/api/v1/facilities/{id}/prebills/{month}/approval", tag = "residential",
    params(("id" = i64, Path), ("month" = String, Path, description = "YYYY-MM")), request_body = ApproveInput,
    responses((status = 200, body = PreBill, description = "Approved: the certificate is issued"),
              (status = 409, body = ErrorBody, description = "Days not recorded, month not over, or already certified")))]
async fn approve_prebill(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path((id, month)): Path<(i64, String)>,
    JsonBody(input): JsonBody<ApproveInput>,
) -> ApiResult<Json<PreBill>> {
    Ok(Json(s.store.approve_prebill(&session.actor, id, &month, &input).await?))
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "residential", params(("id" = i64, Path)),
    responses((status = 200, body = PreBill), (status = 404, body = ErrorBody)))]
async fn certificate(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<PreBill>> {
    Ok(Json(s.store.certificate(&session.actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/placements", tag = "residential", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PlacementRequest>), (status = 404, body = ErrorBody)))]
async fn case_placements(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<PlacementRequest>>> {
    Ok(Json(s.store.case_placements(&session.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/placements", tag = "residential", params(("id" = i64, Path)),
    request_body = PlacementInput,
    responses((status = 201, body = RequestFile), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "A request of the type is pending, or the case is closed"),
              (status = 422, body = ErrorBody)))]
async fn request_placement(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<PlacementInput>,
) -> ApiResult<(StatusCode, Json<RequestFile>)> {
    Ok((StatusCode::CREATED, Json(s.store.request_placement(&session.actor, id, &input).await?)))
}

#[utoipa::path(get, path = "/api/v1/placements", tag = "residential", params(StatusQuery),
    responses((status = 200, body = Vec<PlacementRequest>), (status = 422, body = ErrorBody)))]
async fn placements(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<Vec<PlacementRequest>>> {
    Ok(Json(s.store.placements(&session.actor, q.status.as_deref().unwrap_or("")).await?))
}

#[utoipa::path(get, path = "/api/v1/placements/{id}", tag = "residential", params(("id" = i64, Path)),
    responses((status = 200, body = RequestFile), (status = 404, body = ErrorBody)))]
async fn placement(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<RequestFile>> {
    Ok(Json(s.store.placement(&session.actor, id).await?))
}

#[utoipa::path(put, path = "/api/v1/placements/{id}/documents/{kind}", tag = "residential",
    params(("id" = i64, Path), ("kind" = String, Path, description = "isee, medical or consent")),
    request_body = DocumentCheckInput,
    responses((status = 200, body = RequestFile), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_document(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path((id, kind)): Path<(i64, String)>,
    JsonBody(input): JsonBody<DocumentCheckInput>,
) -> ApiResult<Json<RequestFile>> {
    Ok(Json(s.store.check_placement_document(&session.actor, id, &kind, &input).await?))
}

#[utoipa::path(post, path = "/api/v1/placements/{id}/withdrawal", tag = "residential", params(("id" = i64, Path)),
    request_body = WithdrawInput,
    responses((status = 200, body = RequestFile), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn withdraw(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<WithdrawInput>,
) -> ApiResult<Json<RequestFile>> {
    Ok(Json(s.store.withdraw_placement(&session.actor, id, &input).await?))
}

#[utoipa::path(post, path = "/api/v1/placements/{id}/admission", tag = "residential", params(("id" = i64, Path)),
    request_body = AdmitInput,
    responses((status = 200, body = RequestFile),
              (status = 409, body = ErrorBody, description = "Not waiting, already resident, or no free place"),
              (status = 422, body = ErrorBody)))]
async fn admit(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<AdmitInput>,
) -> ApiResult<Json<RequestFile>> {
    Ok(Json(s.store.admit(&session.actor, id, &input).await?))
}

#[utoipa::path(get, path = "/api/v1/waitlists/{facility_type}", tag = "residential",
    params(("facility_type" = String, Path), EnteQuery),
    responses((status = 200, body = Waitlist), (status = 422, body = ErrorBody)))]
async fn waitlist(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(facility_type): Path<String>,
    Query(q): Query<EnteQuery>,
) -> ApiResult<Json<Waitlist>> {
    Ok(Json(s.store.waitlist(&session.actor, q.ente.as_deref(), &facility_type).await?))
}

#[utoipa::path(put, path = "/api/v1/waitlists/{facility_type}", tag = "residential",
    params(("facility_type" = String, Path), EnteQuery), request_body = WeightsInput,
    responses((status = 200, body = Waitlist, description = "Weights set; the list re-ranked"),
              (status = 422, body = ErrorBody)))]
async fn set_weights(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(facility_type): Path<String>,
    Query(q): Query<EnteQuery>,
    JsonBody(input): JsonBody<WeightsInput>,
) -> ApiResult<Json<Waitlist>> {
    Ok(Json(s.store.set_waitlist_weights(&session.actor, q.ente.as_deref(), &facility_type, &input).await?))
}

#[utoipa::path(post, path = "/api/v1/stays/{id}/transfer", tag = "residential", params(("id" = i64, Path)),
    request_body = MoveInput,
    responses((status = 200, body = Stay, description = "The new stay"), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn transfer(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<MoveInput>,
) -> ApiResult<Json<Stay>> {
    Ok(Json(s.store.transfer(&session.actor, id, &input).await?))
}

#[utoipa::path(post, path = "/api/v1/stays/{id}/discharge", tag = "residential", params(("id" = i64, Path)),
    request_body = MoveInput,
    responses((status = 200, body = Stay), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn discharge(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<MoveInput>,
) -> ApiResult<Json<Stay>> {
    Ok(Json(s.store.discharge(&session.actor, id, &input).await?))
}

/// The OpenAPI description of the residential-care API.
#[derive(OpenApi)]
#[openapi(
    paths(
        facilities, create_facility, facility, assign_operator, presence_grid, record_presences, prebill,
        approve_prebill, certificate, case_placements, request_placement, placements, placement, check_document,
        withdraw, admit, waitlist, set_weights, transfer, discharge, copay
    ),
    tags((name = "residential", description = "Residential care: facilities, placement requests, waiting lists, \
        stays, presences, pre-bills and payment certificates")),
)]
#[derive(Debug)]
pub struct ResidentialApi;
