//! Liveness and readiness for load balancers and orchestrators (no session needed), the fallback
//! "page not found", the small script that starts the NHS.UK frontend components, and the SMS
//! gateway's delivery receipts.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::error::PageError;
use crate::state::AppState;

/// The process is up.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.concord.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(error = %error, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        }
    }
}

/// Anything unrouted: a page saying so, or under `/fhir` an OperationOutcome (FHIR clients read
/// errors as resources, never as HTML).
pub(crate) async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/fhir/") { super::fhir::unknown().await } else { PageError::NotFound.into_response() }
}

/// A method a route does not take: 405, as an OperationOutcome under `/fhir`.
pub(crate) async fn method_not_allowed(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/fhir/") {
        super::fhir::not_allowed().await
    } else {
        axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response()
    }
}

const SCRIPT: &str = include_str!("../../static/concord.mjs");

/// The print view's stylesheet.
pub(crate) const PRINT_CSS: &str = include_str!("../../static/print.css");

pub(crate) async fn print_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], PRINT_CSS)
}

pub(crate) async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        SCRIPT,
    )
}

/// `POST /callbacks/sms`: a delivery receipt from the SMS gateway (GOV.UK Notify's callback shape:
/// JSON with `reference`, our message id, and `status`), with the configured bearer token. Always
/// 200 for a known token, so the gateway does not retry a receipt for a message Concord no longer
/// has; logs counts only, never a number or a reference.
pub(crate) async fn sms_receipt(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let receipt: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return (StatusCode::BAD_REQUEST, "the body is not JSON").into_response(),
    };
    let field = |name: &str| receipt[name].as_str().unwrap_or_default().to_owned();
    match state
        .concord
        .sms_delivery_receipt(bearer, &field("reference"), &field("status"), time::OffsetDateTime::now_utc())
        .await
    {
        Ok(known) => {
            if !known {
                tracing::warn!("a delivery receipt named no message Concord has");
            }
            StatusCode::OK.into_response()
        }
        Err(concord_app::AppError::Forbidden(_)) => StatusCode::UNAUTHORIZED.into_response(),
        Err(concord_app::AppError::Invalid(text)) => (StatusCode::BAD_REQUEST, text).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "recording a delivery receipt failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
