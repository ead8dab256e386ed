//! Per-request context (request id, CSP nonce), security headers, request logging, and the
//! origin check that refuses cross-site form posts before any handler runs.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use tracing::Instrument;

use crate::error::PageError;
use crate::state::AppState;
use crate::templates::NHSUK_FRONTEND_VERSION;

/// Made for each request by [`request_context`] and available to handlers as an extension.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// Goes in logs, the `X-Request-Id` header and the audit trail.
    pub request_id: String,
    /// The CSP nonce of this response's one inline script.
    pub nonce: String,
}

impl RequestContext {
    fn new() -> Self {
        let mut id = [0u8; 12];
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        rand::rng().fill_bytes(&mut nonce);
        Self { request_id: URL_SAFE_NO_PAD.encode(id), nonce: STANDARD.encode(nonce) }
    }
}

fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

const PERMISSIONS_POLICY: &str =
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

/// Outermost middleware: gives the request its id and nonce, sets the security headers on the
/// response, and logs one line per request. Only the path is logged: query strings may carry
/// identifiers (OWASP ASVS 8.3.1) and are never recorded.
pub(crate) async fn request_context(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let context = RequestContext::new();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(context.clone());
    let span = tracing::info_span!("request", request_id = %context.request_id);
    let mut response = next.run(request).instrument(span.clone()).await;

    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, &content_security_policy(&context.nonce));
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY);
    set(headers, header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(headers, header::HeaderName::from_static("x-request-id"), &context.request_id);
    if state.secure_cookies {
        set(headers, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    // Pages may show patient data: nothing is stored by browsers or proxies unless a route
    // (the static assets) says otherwise.
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }

    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(method = %method, path = %path, status, latency_ms, "request");
        } else {
            tracing::info!(method = %method, path = %path, status, latency_ms, "request");
        }
    });
    response
}

/// Refuses unsafe requests (POST and the like) that a browser says come from another site, or whose
/// `Origin` is not this host. The synchronizer token is the second, independent defence.
pub(crate) async fn reject_cross_origin(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || same_origin(request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!("refused a cross-origin {} request", request.method());
        PageError::CrossOrigin.into_response()
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// `Sec-Fetch-Site` must be `same-origin` (or `none`: typed by the user) when present, and
/// `Origin`, when present, must name this host. Clients that send neither (not browsers, or very
/// old ones) are left to the token check.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return false;
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|host| host.to_str().ok());
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|origin| origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")));
            matches!((origin_host, host), (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host))
        }
    }
}

/// Long caching for the design-system assets: a year for files whose names carry the pinned
/// package version, a day for the rest (favicons, manifest). Errors are not cached.
pub(crate) async fn cache_assets(request: Request, next: Next) -> Response {
    let versioned = request.uri().path().contains(NHSUK_FRONTEND_VERSION);
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let value = if versioned { "public, max-age=31536000, immutable" } else { "public, max-age=86400" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn origin_checks() {
        assert!(same_origin(&headers(&[])), "no browser headers: left to the token");
        assert!(same_origin(&headers(&[
            ("sec-fetch-site", "same-origin"),
            ("host", "a.test"),
            ("origin", "https://a.test")
        ])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!same_origin(&headers(&[("host", "a.test"), ("origin", "https://evil.test")])));
        assert!(!same_origin(&headers(&[("host", "a.test"), ("origin", "null")])));
        assert!(!same_origin(&headers(&[("host", "a.test:8080"), ("origin", "http://a.test")])), "ports differ");
        assert!(!same_origin(&headers(&[("origin", "http://a.test")])), "no host to compare");
    }

    #[test]
    fn the_policy_allows_only_the_nonced_inline_script() {
        let policy = content_security_policy("abc");
        assert!(policy.contains("script-src 'self' 'nonce-abc';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe"));
    }
}
