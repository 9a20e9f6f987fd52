//! The JSON API of online applications: the citizen's under `/api/v1/citizen/…` (their
//! own session cookie, [`CITIZEN_COOKIE`], and CSRF token), the back office's under
//! `/api/v1/applications…` (the staff session). A submission is `multipart/form-data`:
//! the fields of [`ApplicationInput`] and one file part per document, named
//! `doc_<kind>`.
//!
//! The two callers are kept on separate paths because they are separate kinds of
//! session: one path answering to either cookie would make a staff member signed in
//! in the same browser an applicant by accident.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, extract::FromRequestParts};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{ApplicationInput, MAX_SUBMISSION_BYTES, Upload};
use super::{Applicant, Application, ApplicationFile, ApplicationQueue, CitizenSession, QueueFilter};
use crate::http::{ApiError, ApiSession, CaseState, ConnectInfoOpt, ErrorBody, JsonBody, cookie, document_response};
use crate::input::DecisionInput;
use crate::{CaseError, auth};

/// The name of the applicants' session cookie.
pub const CITIZEN_COOKIE: &str = "mosaico_citizen";

/// The routes of online applications: API and pages.
pub(crate) fn routes() -> Router<CaseState> {
    Router::new()
        .route("/api/v1/citizen/session", post(citizen_login).delete(citizen_logout).get(citizen_me))
        .route("/api/v1/citizen/applications", get(my_applications).post(submit_application))
        .route("/api/v1/citizen/applications/{id}", get(my_application))
        .route("/api/v1/applications", get(queue))
        .route("/api/v1/applications/{id}", get(application))
        .route("/api/v1/applications/{id}/decision", post(decide))
        .route("/api/v1/application-documents/{id}", get(document))
        .merge(super::pages::routes())
        .layer(DefaultBodyLimit::max(MAX_SUBMISSION_BYTES))
}

type ApiResult<T> = Result<T, ApiError>;

/// The `Set-Cookie` value that opens (or, with an empty token, ends) an applicant's
/// session.
pub fn citizen_cookie(token: &str, secure: bool) -> String {
    let max_age = if token.is_empty() { 0 } else { auth::SESSION_HOURS * 3600 };
    let secure = if secure { "; Secure" } else { "" };
    format!("{CITIZEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub(crate) fn with_cookie(mut resp: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// A signed-in applicant calling the API. Requests that change something must carry
/// the session's CSRF token in `x-csrf-token`.
#[derive(Debug)]
pub struct CitizenApiSession(pub CitizenSession);

impl FromRequestParts<CaseState> for CitizenApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &CaseState) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, CITIZEN_COOKIE).ok_or(CaseError::Unauthorized)?;
        let session = state.store.citizen_session(&token).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !auth::same_token(sent, &session.csrf) {
                return Err(CaseError::Csrf.into());
            }
        }
        Ok(Self(session))
    }
}

/// Reads a submission: its text fields, the `csrf` field if any, and the files named
/// `doc_<kind>`. A body that cannot be read (too large, cut off) is a field error on
/// `form`.
pub(crate) async fn read_submission(mut mp: Multipart) -> Result<(Vec<(String, String)>, Vec<Upload>), CaseError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        CaseError::field_code(
            "form",
            "upload_failed",
            &[("max", (MAX_SUBMISSION_BYTES >> 20).to_string())],
            format!(
                "the submission could not be read ({}); at most {} MB in all",
                e.body_text(),
                MAX_SUBMISSION_BYTES >> 20
            ),
        )
    };
    let mut fields = Vec::new();
    let mut uploads = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_owned();
        if let Some(kind) = name.strip_prefix("doc_") {
            let kind = kind.to_owned();
            let filename = field.file_name().unwrap_or("").to_owned();
            let content_type = field.content_type().unwrap_or("").to_owned();
            let content = field.bytes().await.map_err(unreadable)?.to_vec();
            uploads.push(Upload { kind, filename, content_type, content });
        } else {
            let value = field.text().await.map_err(unreadable)?;
            fields.push((name, value));
        }
    }
    Ok((fields, uploads))
}

/// The submission's fields as an [`ApplicationInput`].
pub(crate) fn input_of(fields: &[(String, String)]) -> ApplicationInput {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.trim().is_empty());
    ApplicationInput {
        service: get("service"),
        email: get("email"),
        phone: get("phone"),
        isee: get("isee"),
        household_members: get("household_members"),
        certificate_issued_on: get("certificate_issued_on"),
    }
}

/// An applicant's sign-in.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CitizenLoginRequest {
    /// Codice fiscale.
    pub fiscal_code: String,
    /// Password.
    pub password: String,
}

/// The signed-in applicant and the CSRF token to send back.
#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenSessionInfo {
    /// Who.
    pub applicant: Applicant,
    /// Send in `x-csrf-token` with every request that changes something.
    pub csrf_token: String,
}

#[utoipa::path(post, path = "/api/v1/citizen/session", tag = "applications", request_body = CitizenLoginRequest,
    responses((status = 200, body = CitizenSessionInfo, description = "Signed in; sets the applicant's session cookie"),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody, description = "Too many failures")))]
pub(crate) async fn citizen_login(
    State(s): State<CaseState>,
    ConnectInfoOpt(client): ConnectInfoOpt,
    JsonBody(req): JsonBody<CitizenLoginRequest>,
) -> ApiResult<Response> {
    let session = s.store.citizen_login(&req.fiscal_code, &req.password, &client).await?;
    let resp = Json(CitizenSessionInfo { applicant: session.applicant, csrf_token: session.csrf }).into_response();
    Ok(with_cookie(resp, &citizen_cookie(&session.token, s.secure_cookies)))
}

#[utoipa::path(delete, path = "/api/v1/citizen/session", tag = "applications",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
pub(crate) async fn citizen_logout(
    State(s): State<CaseState>,
    CitizenApiSession(session): CitizenApiSession,
) -> ApiResult<Response> {
    s.store.citizen_logout(&session.token).await?;
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), &citizen_cookie("", s.secure_cookies)))
}

#[utoipa::path(get, path = "/api/v1/citizen/session", tag = "applications",
    responses((status = 200, body = CitizenSessionInfo), (status = 401, body = ErrorBody)))]
pub(crate) async fn citizen_me(CitizenApiSession(session): CitizenApiSession) -> Json<CitizenSessionInfo> {
    Json(CitizenSessionInfo { applicant: session.applicant, csrf_token: session.csrf })
}

#[utoipa::path(get, path = "/api/v1/citizen/applications", tag = "applications",
    responses((status = 200, body = Vec<Application>, description = "The applicant's applications, newest first"),
              (status = 401, body = ErrorBody)))]
pub(crate) async fn my_applications(
    State(s): State<CaseState>,
    CitizenApiSession(session): CitizenApiSession,
) -> ApiResult<Json<Vec<Application>>> {
    Ok(Json(s.store.my_applications(&session.applicant).await?))
}

/// The parts of a submission (`multipart/form-data`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SubmissionForm {
    /// `parking_permit` or `income_support`.
    service: String,
    /// Where notifications go.
    email: String,
    /// Phone (optional).
    phone: Option<String>,
    /// ISEE in euros (income support).
    isee: Option<String>,
    /// Household members (income support).
    household_members: Option<String>,
    /// Date of the medical certificate, `YYYY-MM-DD` (parking permit).
    certificate_issued_on: Option<String>,
    /// The medical certificate of reduced mobility (parking permit; required).
    #[schema(value_type = Option<String>, format = Binary)]
    doc_medical_certificate: Option<Vec<u8>>,
    /// The ISEE attestation (income support; required).
    #[schema(value_type = Option<String>, format = Binary)]
    doc_isee_attestation: Option<Vec<u8>>,
    /// An identity document (optional).
    #[schema(value_type = Option<String>, format = Binary)]
    doc_identity_document: Option<Vec<u8>>,
    /// Anything else (optional).
    #[schema(value_type = Option<String>, format = Binary)]
    doc_other: Option<Vec<u8>>,
}

#[utoipa::path(post, path = "/api/v1/citizen/applications", tag = "applications",
    request_body(content = SubmissionForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ApplicationFile, description = "Submitted, checked, and decided where the rules allow"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Missing CSRF token"),
              (status = 422, body = ErrorBody, description = "Every missing or wrong field and document; nothing stored")))]
pub(crate) async fn submit_application(
    State(s): State<CaseState>,
    CitizenApiSession(session): CitizenApiSession,
    mp: Multipart,
) -> ApiResult<(StatusCode, Json<ApplicationFile>)> {
    let (fields, uploads) = read_submission(mp).await?;
    let file = s.store.submit_application(&session.applicant, &input_of(&fields), uploads).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

#[utoipa::path(get, path = "/api/v1/citizen/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationFile), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "Not one of the applicant's")))]
pub(crate) async fn my_application(
    State(s): State<CaseState>,
    CitizenApiSession(session): CitizenApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<ApplicationFile>> {
    Ok(Json(s.store.my_application(&session.applicant, id).await?))
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(QueueFilter),
    responses((status = 200, body = ApplicationQueue), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn queue(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<QueueFilter>,
) -> ApiResult<Json<ApplicationQueue>> {
    Ok(Json(s.store.application_queue(&session.actor, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationFile), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn application(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<ApplicationFile>> {
    Ok(Json(s.store.application(&session.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "applications", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = ApplicationFile), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Not in review (`application_not_in_review`)"),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn decide(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult<Json<ApplicationFile>> {
    Ok(Json(s.store.decide_application(&session.actor, id, &input).await?))
}

#[utoipa::path(get, path = "/api/v1/application-documents/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, description = "The file, checked against its SHA-256 (header x-content-sha256)"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn document(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    Ok(document_response(s.store.application_document(&session.actor, id).await?))
}
