//! The JSON API under `/api/v1/` and the wiring of the pages under `/app/`.
//!
//! Sign in with `POST /api/v1/session` (or the login page): the answer sets an
//! `HttpOnly`, `SameSite=Lax` session cookie and carries the CSRF token, which every
//! request that changes something sends back in the `x-csrf-token` header. Errors have
//! one shape: `{"error": {"status", "code", "message", "fields": [{field, message}]}}`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::input::*;
use crate::model::*;
use crate::store::ops::Created;
use crate::{CaseError, FieldError, Session, Store, auth, pages};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "mosaico_session";

/// What the case-app handlers share.
#[derive(Debug, Clone)]
pub struct CaseState {
    /// The store.
    pub store: Store,
    /// Whether cookies carry `Secure` (true unless serving plain HTTP off loopback
    /// for a demo).
    pub secure_cookies: bool,
}

/// The case-app routes: the JSON API and the pages.
pub fn router(state: CaseState) -> Router {
    Router::new()
        .route("/api/v1/session", post(login).delete(logout).get(me))
        .route("/api/v1/enti", get(enti))
        .route("/api/v1/users", get(users))
        .route("/api/v1/service-types", get(service_types))
        .route("/api/v1/persons", get(search_persons).post(create_person))
        .route("/api/v1/persons/{id}", get(person).patch(update_person))
        .route("/api/v1/persons/{id}/history", get(person_history))
        .route("/api/v1/persons/{id}/merge", post(merge_persons))
        .route("/api/v1/persons/{id}/network", get(network).post(add_network_member))
        .route("/api/v1/persons/{id}/cases", get(person_cases))
        .route("/api/v1/households", post(create_household))
        .route("/api/v1/households/{id}", get(household))
        .route("/api/v1/contacts", post(record_contact))
        .route("/api/v1/cases", get(cases))
        .route("/api/v1/cases/{id}", get(case_file))
        .route("/api/v1/cases/{id}/assessments", post(add_assessment))
        .route("/api/v1/cases/{id}/plans", post(add_plan))
        .route("/api/v1/plans/{id}/submit", post(submit_plan))
        .route("/api/v1/plans/{id}/decision", post(decide_plan))
        .route("/api/v1/cases/{id}/interventions", post(add_intervention))
        .route("/api/v1/interventions/{id}/end", post(end_intervention))
        .route("/api/v1/cases/{id}/diary", post(add_diary_entry))
        .route("/api/v1/cases/{id}/documents", post(add_document))
        .route("/api/v1/documents/{id}", get(document))
        .route("/api/v1/cases/{id}/closure", post(close_case))
        .route("/api/v1/alerts", get(alerts).post(create_alert))
        .route("/api/v1/alerts/{id}/triage", post(triage_alert))
        .route("/api/v1/worklists", get(work_lists))
        .route("/api/v1/audit", get(audit_log))
        .merge(crate::residential_http::routes())
        .merge(crate::residential_pages::routes())
        .merge(crate::inps::http::routes())
        .merge(crate::inps::pages::routes())
        .merge(pages::routes())
        .merge(crate::applications::http::routes())
        .with_state(state)
}

// ---- Errors ----

/// The error body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// HTTP status.
    pub status: u16,
    /// Stable code: `invalid`, `not_found`, `unauthorized`, `forbidden`, `csrf`,
    /// `throttled`, `internal`, or a conflict's own code (`plan_not_approved`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Field-level problems (for `invalid`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// Possible duplicates (for `possible_duplicates`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<DuplicateCandidate>,
}

/// A [`CaseError`] as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub CaseError);

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        Self(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self(CaseError::Database(e))
    }
}

/// The status and stable code of an error.
pub fn status_and_code(e: &CaseError) -> (StatusCode, &'static str) {
    match e {
        CaseError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        CaseError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        CaseError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
        CaseError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
        CaseError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        CaseError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
        CaseError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        CaseError::Database(_) | CaseError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = status_and_code(&self.0);
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "case-app request failed");
            "internal error; the details are in the server log".to_owned()
        } else {
            self.0.to_string()
        };
        let retry_after = match &self.0 {
            CaseError::Throttled { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let fields = match self.0 {
            CaseError::Invalid(f) => f,
            _ => Vec::new(),
        };
        let mut resp = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    status: status.as_u16(),
                    code: code.to_owned(),
                    message,
                    fields,
                    candidates: Vec::new(),
                },
            }),
        )
            .into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A JSON body whose syntax errors get the API's error shape (422 naming the problem).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(CaseError::field("body", "send JSON with Content-Type: application/json").into())
            }
            Err(e) => Err(CaseError::field("body", e.body_text()).into()),
        }
    }
}

// ---- Sessions ----

/// The value of the cookie `name`, if the request has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The session cookie's token, if the request has one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The `Set-Cookie` value that opens (or, with an empty token, ends) a session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let max_age = if token.is_empty() { 0 } else { auth::SESSION_HOURS * 3600 };
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// The client's address, for throttling sign-ins.
pub fn client_of(parts_ext: &axum::http::Extensions) -> String {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// A signed-in API caller. Requests that change something must carry the session's
/// CSRF token in `x-csrf-token`.
#[derive(Debug)]
pub struct ApiSession(pub Session);

impl FromRequestParts<CaseState> for ApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &CaseState) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers).ok_or(CaseError::Unauthorized)?;
        let session = state.store.session(&token).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !auth::same_token(sent, &session.csrf) {
                return Err(CaseError::Csrf.into());
            }
        }
        Ok(Self(session))
    }
}

// ---- Handlers ----

/// Sign-in request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The signed-in user and the CSRF token to send back.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Who.
    pub user: Actor,
    /// Send in `x-csrf-token` with every request that changes something.
    pub csrf_token: String,
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo, description = "Signed in; sets the session cookie"),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody, description = "Too many failures")))]
async fn login(
    State(s): State<CaseState>,
    ConnectInfoOpt(client): ConnectInfoOpt,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let session = s.store.login(req.username.trim(), &req.password, &client).await?;
    let mut resp = Json(SessionInfo { user: session.actor, csrf_token: session.csrf }).into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&session.token, s.secure_cookies)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The caller's address, or `unknown` when not served over a socket (tests).
#[derive(Debug)]
pub struct ConnectInfoOpt(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ConnectInfoOpt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_of(&parts.extensions)))
    }
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
async fn logout(State(s): State<CaseState>, ApiSession(session): ApiSession) -> ApiResult<Response> {
    s.store.logout(&session.token).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", s.secure_cookies)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)))]
async fn me(ApiSession(session): ApiSession) -> Json<SessionInfo> {
    Json(SessionInfo { user: session.actor, csrf_token: session.csrf })
}

#[utoipa::path(get, path = "/api/v1/enti", tag = "session", responses((status = 200, body = Vec<Ente>)))]
async fn enti(State(s): State<CaseState>, ApiSession(session): ApiSession) -> ApiResult<Json<Vec<Ente>>> {
    Ok(Json(s.store.enti(&session.actor).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "session", responses((status = 200, body = Vec<User>)))]
async fn users(State(s): State<CaseState>, ApiSession(session): ApiSession) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.users(&session.actor).await?))
}

/// A service of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceType {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Area di utenza.
    pub area: String,
    /// ISTAT spending type.
    pub spending: String,
    /// Unit of quantity.
    pub unit: String,
}

/// The service catalogue.
pub fn service_catalogue() -> Vec<ServiceType> {
    mosaico_domain::services::SERVICES
        .iter()
        .map(|s| ServiceType {
            code: s.code.into(),
            name: s.name.into(),
            area: s.area.code().into(),
            spending: s.spending.code().into(),
            unit: s.unit.code().into(),
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/service-types", tag = "cases", responses((status = 200, body = Vec<ServiceType>)))]
async fn service_types(ApiSession(_): ApiSession) -> Json<Vec<ServiceType>> {
    Json(service_catalogue())
}

/// Registry search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A name (surname and/or given name, either order, prefix) or a fiscal code (prefix).
    pub q: String,
    /// At most this many (default 20, up to 200).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/persons", tag = "registry", params(SearchQuery),
    responses((status = 200, body = Vec<Person>), (status = 422, body = ErrorBody)))]
async fn search_persons(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Vec<Person>>> {
    Ok(Json(s.store.search_persons(&session.actor, &q.q, q.limit.unwrap_or(20)).await?))
}

#[utoipa::path(post, path = "/api/v1/persons", tag = "registry", request_body = PersonInput,
    responses((status = 201, body = Person),
              (status = 409, body = ErrorBody, description = "Possible duplicates (`candidates`); resend with `confirm_not_duplicate` if none is the person"),
              (status = 422, body = ErrorBody)))]
async fn create_person(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    JsonBody(input): JsonBody<PersonInput>,
) -> ApiResult<Response> {
    match s.store.create_person(&session.actor, &input).await? {
        Created::Person(p) => Ok((StatusCode::CREATED, Json(*p)).into_response()),
        Created::Duplicates(candidates) => Ok(duplicates_response(candidates)),
    }
}

/// The 409 listing possible duplicates.
pub fn duplicates_response(candidates: Vec<DuplicateCandidate>) -> Response {
    let same_code = candidates.iter().any(|c| c.reason == "same_fiscal_code");
    let message = if same_code {
        "a person with this fiscal code is already registered".to_owned()
    } else {
        format!("{} possible duplicate(s); check them, then confirm with confirm_not_duplicate", candidates.len())
    };
    (
        StatusCode::CONFLICT,
        Json(ErrorBody {
            error: ErrorDetail {
                status: 409,
                code: "possible_duplicates".into(),
                message,
                fields: Vec::new(),
                candidates,
            },
        }),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Person), (status = 404, body = ErrorBody)))]
async fn person(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<Person>> {
    Ok(Json(s.store.person(&session.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/persons/{id}", tag = "registry", params(("id" = i64, Path)), request_body = PersonInput,
    responses((status = 200, body = Person), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn update_person(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<PersonInput>,
) -> ApiResult<Json<Person>> {
    let version = input.version.as_deref().map(|v| {
        v.trim().parse::<i64>().map_err(|_| CaseError::field("version", format!("'{v}' is not a version number")))
    });
    let version = version.transpose()?;
    Ok(Json(s.store.update_person(&session.actor, id, &input, version).await?))
}

#[utoipa::path(get, path = "/api/v1/persons/{id}/history", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PersonVersion>), (status = 404, body = ErrorBody)))]
async fn person_history(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<PersonVersion>>> {
    Ok(Json(s.store.person_history(&session.actor, id).await?))
}

/// Which record to merge into this one.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The duplicate, which is marked as merged.
    pub duplicate_id: i64,
}

#[utoipa::path(post, path = "/api/v1/persons/{id}/merge", tag = "registry", params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, body = Person), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn merge_persons(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<MergeRequest>,
) -> ApiResult<Json<Person>> {
    Ok(Json(s.store.merge_persons(&session.actor, id, req.duplicate_id).await?))
}

#[utoipa::path(get, path = "/api/v1/persons/{id}/network", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<NetworkMember>), (status = 404, body = ErrorBody)))]
async fn network(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<NetworkMember>>> {
    Ok(Json(s.store.network(&session.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/persons/{id}/network", tag = "registry", params(("id" = i64, Path)), request_body = NetworkInput,
    responses((status = 201, body = NetworkMember), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_network_member(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<NetworkInput>,
) -> ApiResult<(StatusCode, Json<NetworkMember>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_network_member(&session.actor, id, &input).await?)))
}

/// A person's cases and contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonCases {
    /// Cases, newest first.
    pub cases: Vec<CaseSummary>,
    /// First contacts, newest first.
    pub contacts: Vec<Contact>,
}

#[utoipa::path(get, path = "/api/v1/persons/{id}/cases", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = PersonCases), (status = 404, body = ErrorBody)))]
async fn person_cases(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<PersonCases>> {
    let (cases, contacts) = s.store.person_cases(&session.actor, id).await?;
    Ok(Json(PersonCases { cases, contacts }))
}

#[utoipa::path(post, path = "/api/v1/households", tag = "registry", request_body = HouseholdInput,
    responses((status = 201, body = Household), (status = 422, body = ErrorBody)))]
async fn create_household(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    JsonBody(input): JsonBody<HouseholdInput>,
) -> ApiResult<(StatusCode, Json<Household>)> {
    Ok((StatusCode::CREATED, Json(s.store.create_household(&session.actor, &input).await?)))
}

/// A household with its members.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdWithMembers {
    /// The household.
    pub household: Household,
    /// Its members.
    pub members: Vec<Person>,
}

#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = HouseholdWithMembers), (status = 404, body = ErrorBody)))]
async fn household(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<HouseholdWithMembers>> {
    let (household, members) = s.store.household(&session.actor, id).await?;
    Ok(Json(HouseholdWithMembers { household, members }))
}

/// A recorded contact, and the case it opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRecorded {
    /// The contact.
    pub contact: Contact,
    /// The case, for outcome `case_opened`.
    pub case: Option<Case>,
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "cases", request_body = ContactInput,
    responses((status = 201, body = ContactRecorded), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_contact(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    JsonBody(input): JsonBody<ContactInput>,
) -> ApiResult<(StatusCode, Json<ContactRecorded>)> {
    let (contact, case) = s.store.record_contact(&session.actor, &input).await?;
    Ok((StatusCode::CREATED, Json(ContactRecorded { contact, case })))
}

/// Case list filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// `open` (default) or `closed`.
    pub status: Option<String>,
    /// Only the caller's cases.
    pub mine: Option<bool>,
    /// At most this many (default 200).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CasesQuery),
    responses((status = 200, body = Vec<CaseSummary>), (status = 403, body = ErrorBody)))]
async fn cases(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<CasesQuery>,
) -> ApiResult<Json<Vec<CaseSummary>>> {
    let status = q.status.unwrap_or_default();
    Ok(Json(s.store.cases(&session.actor, &status, q.mine.unwrap_or(false), q.limit.unwrap_or(200)).await?))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseFile), (status = 404, body = ErrorBody)))]
async fn case_file(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseFile>> {
    Ok(Json(s.store.case_file(&session.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/assessments", tag = "cases", params(("id" = i64, Path)), request_body = AssessmentInput,
    responses((status = 201, body = Assessment), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_assessment(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<AssessmentInput>,
) -> ApiResult<(StatusCode, Json<Assessment>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_assessment(&session.actor, id, &input).await?)))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/plans", tag = "cases", params(("id" = i64, Path)), request_body = PlanInput,
    responses((status = 201, body = Plan), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_plan(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<PlanInput>,
) -> ApiResult<(StatusCode, Json<Plan>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_plan(&session.actor, id, &input).await?)))
}

#[utoipa::path(post, path = "/api/v1/plans/{id}/submit", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Plan), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn submit_plan(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<Plan>> {
    Ok(Json(s.store.submit_plan(&session.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/plans/{id}/decision", tag = "cases", params(("id" = i64, Path)), request_body = DecisionInput,
    responses((status = 200, body = Plan), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_plan(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> ApiResult<Json<Plan>> {
    Ok(Json(s.store.decide_plan(&session.actor, id, &input).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/interventions", tag = "cases", params(("id" = i64, Path)),
    request_body = InterventionInput,
    responses((status = 201, body = Intervention), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The plan is not approved, or the case is closed"),
              (status = 422, body = ErrorBody)))]
async fn add_intervention(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<InterventionInput>,
) -> ApiResult<(StatusCode, Json<Intervention>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_intervention(&session.actor, id, &input).await?)))
}

#[utoipa::path(post, path = "/api/v1/interventions/{id}/end", tag = "cases", params(("id" = i64, Path)), request_body = EndInput,
    responses((status = 200, body = Intervention), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn end_intervention(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<EndInput>,
) -> ApiResult<Json<Intervention>> {
    Ok(Json(s.store.end_intervention(&session.actor, id, &input).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/diary", tag = "cases", params(("id" = i64, Path)), request_body = DiaryInput,
    responses((status = 201, body = DiaryEntry), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_diary_entry(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<DiaryInput>,
) -> ApiResult<(StatusCode, Json<DiaryEntry>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_diary_entry(&session.actor, id, &input).await?)))
}

/// The name of an uploaded document.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// File name.
    pub filename: String,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/documents", tag = "cases", params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes; its type in Content-Type"),
    responses((status = 201, body = Document), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_document(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Document>)> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok((StatusCode::CREATED, Json(s.store.add_document(&session.actor, id, &q.filename, ct, &body).await?)))
}

/// A document download, with its checksum in `x-content-sha256`.
pub fn document_response(d: crate::DocumentBytes) -> Response {
    let mut resp = d.content.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&d.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let safe: String = d.filename.chars().filter(|c| c.is_ascii_graphic() && *c != '"' || *c == ' ').collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&d.sha256) {
        h.insert("x-content-sha256", v);
    }
    resp
}

#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, description = "The file, checked against its SHA-256 (header x-content-sha256)"),
              (status = 404, body = ErrorBody)))]
async fn document(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    Ok(document_response(s.store.document(&session.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/closure", tag = "cases", params(("id" = i64, Path)), request_body = ClosureInput,
    responses((status = 200, body = Case), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Interventions still running, or already closed"),
              (status = 422, body = ErrorBody)))]
async fn close_case(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ClosureInput>,
) -> ApiResult<Json<Case>> {
    Ok(Json(s.store.close_case(&session.actor, id, &input).await?))
}

/// Alert list filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// `new`, `triaged`, `dismissed`; all when absent.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery),
    responses((status = 200, body = Vec<Alert>), (status = 403, body = ErrorBody)))]
async fn alerts(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<AlertsQuery>,
) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(s.store.alerts(&session.actor, q.status.as_deref().unwrap_or("")).await?))
}

#[utoipa::path(post, path = "/api/v1/alerts", tag = "alerts", request_body = AlertInput,
    responses((status = 201, body = Alert), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_alert(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    JsonBody(input): JsonBody<AlertInput>,
) -> ApiResult<(StatusCode, Json<Alert>)> {
    Ok((StatusCode::CREATED, Json(s.store.create_alert(&session.actor, &input).await?)))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/triage", tag = "alerts", params(("id" = i64, Path)), request_body = TriageInput,
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn triage_alert(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<TriageInput>,
) -> ApiResult<Json<Alert>> {
    Ok(Json(s.store.triage_alert(&session.actor, id, &input).await?))
}

#[utoipa::path(get, path = "/api/v1/worklists", tag = "cases", responses((status = 200, body = WorkLists)))]
async fn work_lists(State(s): State<CaseState>, ApiSession(session): ApiSession) -> ApiResult<Json<WorkLists>> {
    Ok(Json(s.store.work_lists(&session.actor).await?))
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit_log(
    State(s): State<CaseState>,
    ApiSession(session): ApiSession,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(s.store.audit_log(&session.actor, &q).await?))
}

/// The OpenAPI description of the case-app API.
#[derive(OpenApi)]
#[openapi(
    paths(
        login, logout, me, enti, users, service_types, search_persons, create_person, person, update_person,
        person_history, merge_persons, network, add_network_member, person_cases, create_household, household,
        record_contact, cases, case_file, add_assessment, add_plan, submit_plan, decide_plan, add_intervention,
        end_intervention, add_diary_entry, add_document, document, close_case, alerts, create_alert, triage_alert,
        work_lists, audit_log, crate::inps::http::flow_file, crate::inps::http::flow_report,
        crate::applications::http::citizen_login, crate::applications::http::citizen_logout,
        crate::applications::http::citizen_me, crate::applications::http::my_applications,
        crate::applications::http::submit_application, crate::applications::http::my_application,
        crate::applications::http::queue, crate::applications::http::application,
        crate::applications::http::decide, crate::applications::http::document,
        crate::inps::http::setup, crate::inps::http::set_up, crate::inps::http::flows, crate::inps::http::record_sina,
        crate::inps::http::record_sinba, crate::inps::http::record_means
    ),
    tags(
        (name = "session", description = "Sign-in, the signed-in user, enti and colleagues"),
        (name = "registry", description = "Persons, households, social network, history, duplicates"),
        (name = "cases", description = "The case file: CSI processes A–E, diary, documents, work lists"),
        (name = "alerts", description = "Alerts (segnalazioni) and their triage"),
        (name = "audit", description = "The append-only log of reads and writes of case files"),
        (name = "inps", description = "The INPS flows (PSA/SINA, SINBA), their pre-send reports, the ente's set-up, SINA and SINBA schemes, means tests"),
        (name = "applications", description = "Citizens' online applications (their own session) and the back-office queue and decisions"),
    )
)]
#[derive(Debug)]
pub struct CaseApi;
