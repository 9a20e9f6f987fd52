//! Who is asking, for the parts of the API that are not public: the managers'
//! dashboard, the reports and the SQL endpoint read data of the enti in the caller's
//! scope only. The session is the case-management core's (cookie `mosaico_session` or
//! `Authorization: Bearer`), so one sign-in serves both halves.
//!
//! [`Signed`] answers a JSON 401/403; [`SignedPage`] sends a browser to the sign-in
//! page and back.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use mosaico_case_app::{CaseError, Permission, Session};

use crate::{ApiError, AppState};

/// A signed-in API caller.
#[derive(Debug)]
pub struct Signed(pub Session);

impl Signed {
    /// Fails with 403 unless the caller's role allows `p`.
    pub fn require(&self, p: Permission, what: &'static str) -> Result<(), ApiError> {
        self.0.actor.require(p, what).map_err(|_| ApiError::forbidden(what))
    }

    /// The enti in the caller's scope.
    pub fn enti(&self) -> &[String] {
        &self.0.actor.enti
    }
}

async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, CaseError> {
    let Some(cases) = state.inner.cases.as_ref() else { return Ok(None) };
    let Some(token) = mosaico_case_app::http::session_token(&parts.headers).or_else(|| bearer(&parts.headers)) else {
        return Ok(None);
    };
    match cases.store.session(&token).await {
        Ok(s) => Ok(Some(s)),
        Err(CaseError::Unauthorized) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The token of `Authorization: Bearer <token>`: the session cookie's value, for
/// scripts. A browser never sends it on its own, so it needs no CSRF token.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match session_of(parts, state).await {
            Ok(Some(s)) => Ok(Self(s)),
            Ok(None) => Err(ApiError::unauthorized()),
            Err(e) => Err(ApiError::internal(&e)),
        }
    }
}

/// A signed-in user of a page; without a session the browser goes to the sign-in page,
/// which brings it back here.
#[derive(Debug)]
pub struct SignedPage(pub Session);

impl FromRequestParts<AppState> for SignedPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match session_of(parts, state).await {
            Ok(Some(s)) => Ok(Self(s)),
            Ok(None) => {
                let next = parts.uri.path_and_query().map_or("/app", |p| p.as_str());
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Err(Redirect::to(&format!("/app/login?next={next}")).into_response())
            }
            Err(e) => Err(ApiError::internal(&e).into_response()),
        }
    }
}

impl ApiError {
    /// A 401: sign in first.
    pub fn unauthorized() -> Self {
        Self { status: StatusCode::UNAUTHORIZED, message: "sign-in required: POST /api/v1/session".into() }
    }

    /// A 403 naming what the role does not allow.
    pub fn forbidden(what: &str) -> Self {
        Self { status: StatusCode::FORBIDDEN, message: format!("your role does not allow this: {what}") }
    }
}
