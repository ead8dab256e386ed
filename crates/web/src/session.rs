//! Session cookies and the extractors that require a signed-in member of staff.
//!
//! The cookie holds only a random token; the session lives server-side (the application stores a
//! digest of the token). Cookies are `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` and the
//! `__Host-` prefix behind HTTPS (OWASP ASVS 3.4.1-3.4.3).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::{Form, RequestPartsExt};
use concord_app::auth::token_digest;
use concord_app::record::StaffMember;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::csrf::constant_time_eq;
use crate::error::PageError;
use crate::state::AppState;

const SESSION_COOKIE: &str = "concord_session";
const SIGN_IN_COOKIE: &str = "concord_sign_in";

/// A cookie's name: with the `__Host-` prefix (host-only, Secure, Path=/) behind HTTPS.
pub(crate) fn cookie_name(state: &AppState, base: &str) -> String {
    if state.secure_cookies { format!("__Host-{base}") } else { base.to_owned() }
}

/// `Set-Cookie` value for a browser-session cookie (no Max-Age: it goes when the browser closes;
/// the server-side session expires on its own).
pub(crate) fn set_cookie(state: &AppState, base: &str, value: &str) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{}={value}; HttpOnly; SameSite=Strict; Path=/{secure}", cookie_name(state, base))
}

/// `Set-Cookie` value that removes a cookie.
pub(crate) fn clear_cookie(state: &AppState, base: &str) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}", cookie_name(state, base))
}

pub(crate) fn session_cookie(state: &AppState, token: &str) -> String {
    set_cookie(state, SESSION_COOKIE, token)
}

pub(crate) fn clear_session_cookie(state: &AppState) -> String {
    clear_cookie(state, SESSION_COOKIE)
}

pub(crate) fn sign_in_cookie(state: &AppState, token: &str) -> String {
    set_cookie(state, SIGN_IN_COOKIE, token)
}

pub(crate) fn clear_sign_in_cookie(state: &AppState) -> String {
    clear_cookie(state, SIGN_IN_COOKIE)
}

/// The value of a cookie sent with the request.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

pub(crate) fn read_sign_in_cookie(state: &AppState, headers: &HeaderMap) -> Option<String> {
    read_cookie(headers, &cookie_name(state, SIGN_IN_COOKIE))
}

/// A signed-in member of staff, from a live server-side session.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub token: String,
    /// The token's digest: names the session in memory (patient references) without the token.
    pub session_key: String,
    pub staff: StaffMember,
    pub csrf_token: String,
}

impl SignedIn {
    pub(crate) async fn from_parts(parts: &Parts, state: &AppState) -> Result<Option<Self>, PageError> {
        let Some(token) = read_cookie(&parts.headers, &cookie_name(state, SESSION_COOKIE)) else { return Ok(None) };
        // A token of the wrong shape is not looked up.
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(session) = state.concord.session(&token).await? else { return Ok(None) };
        Ok(Some(Self {
            session_key: token_digest(&token),
            token,
            staff: session.staff,
            csrf_token: session.csrf_token,
        }))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        Self::from_parts(parts, state).await?.ok_or(PageError::SignInRequired)
    }
}

/// An optional session, for pages that also work signed out (sign-in).
pub(crate) struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        Ok(Self(SignedIn::from_parts(parts, state).await?))
    }
}

#[derive(Deserialize)]
struct WithToken<T> {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(flatten)]
    fields: T,
}

/// A form posted by a signed-in member of staff, accepted only with the session's synchronizer
/// token in its `csrf_token` field (OWASP ASVS 4.2.2). Every signed-in POST uses this extractor.
pub(crate) struct SessionForm<T>(pub SignedIn, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SessionForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let signed_in: SignedIn = parts.extract_with_state(state).await?;
        let Form(form) = Form::<WithToken<T>>::from_request(Request::from_parts(parts, body), state).await?;
        match form.csrf_token {
            Some(token) if constant_time_eq(&token, &signed_in.csrf_token) => Ok(Self(signed_in, form.fields)),
            _ => Err(PageError::Csrf),
        }
    }
}

/// The client's address, when the server was started with connection info (see [`crate::serve`]);
/// `None` otherwise (in-process tests), and then all such clients share one rate-limit budget.
/// Behind a reverse proxy this is the proxy's address.
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip())))
    }
}

/// A form whose fields may repeat (checkbox lists such as the worklist's selected people), as
/// ordered name/value pairs, accepted only with the session's synchronizer token like
/// [`SessionForm`]. serde's URL-encoded forms cannot carry repeated fields, so the body is parsed
/// with `form_urlencoded` (the WHATWG parser the `url` crate uses).
pub(crate) struct SessionPairs(pub SignedIn, pub Vec<(String, String)>);

/// Largest form body read (a worklist page of selections is a few kilobytes).
const PAIRS_LIMIT: usize = 256 * 1024;

impl FromRequest<AppState> for SessionPairs {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let signed_in: SignedIn = parts.extract_with_state(state).await?;
        let bytes = axum::body::to_bytes(body, PAIRS_LIMIT).await.map_err(|_| PageError::TooLarge)?;
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(&bytes).map(|(name, value)| (name.into_owned(), value.into_owned())).collect();
        let token = pairs.iter().find(|(name, _)| name == "csrf_token").map(|(_, value)| value.as_str());
        match token {
            Some(token) if constant_time_eq(token, &signed_in.csrf_token) => Ok(Self(signed_in, pairs)),
            _ => Err(PageError::Csrf),
        }
    }
}
