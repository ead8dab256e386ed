//! Sign in and sign out. The application hashes, locks out and audits; this module adds the
//! pre-session CSRF token, the per-client rate limit and the session cookie.

use axum::Extension;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use concord_app::AppError;
use serde::Deserialize;

use crate::csrf;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{
    ClientAddress, MaybeSignedIn, SessionForm, clear_session_cookie, clear_sign_in_cookie, read_sign_in_cookie,
    session_cookie, sign_in_cookie,
};
use crate::state::AppState;
use crate::templates::{FieldError, Layout, SignInTemplate, SignedOutTemplate, page, render};

/// Longest username or password looked at; anything longer is refused before hashing.
const MAX_FIELD: usize = 256;

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: Option<String>,
}

/// The sign-in form; signed-in staff go straight home.
pub(crate) async fn sign_in_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    MaybeSignedIn(signed_in): MaybeSignedIn,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if signed_in.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let token = read_sign_in_cookie(&state, &headers)
        .filter(|token| csrf::pre_session_is_valid(&state.signing_key, token))
        .unwrap_or_else(|| csrf::issue_pre_session(&state.signing_key));
    sign_in_form(&state, &context, token, String::new(), None).await
}

async fn sign_in_form(
    state: &AppState,
    context: &RequestContext,
    token: String,
    username: String,
    errors: Option<(String, String, Vec<FieldError>)>,
) -> Result<Response, PageError> {
    let (username_error, password_error, errors) = errors.unwrap_or_default();
    let layout = Layout::new(context, state.synthetic().await, None, "Sign in").with_errors(!errors.is_empty());
    let body = render(&SignInTemplate {
        layout,
        errors,
        username,
        username_error,
        password_error,
        csrf_token: token.clone(),
    })?;
    Ok(([(header::SET_COOKIE, sign_in_cookie(state, &token))], axum::response::Html(body)).into_response())
}

/// Checks, in order: the rate limit, the pre-session token, that both fields are filled in, then
/// the password (through the application, which locks accounts and audits every attempt).
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, PageError> {
    if let Err(wait) = state.sign_in_limiter.take(client) {
        tracing::warn!("sign-in rate limit reached");
        return Err(PageError::TooManyRequests { retry_after_seconds: wait.as_secs().max(1) });
    }
    let Form(form) = form?;
    let cookie = read_sign_in_cookie(&state, &headers);
    if !csrf::pre_session_matches(&state.signing_key, cookie.as_deref(), form.csrf_token.as_deref()) {
        state.sign_in_limiter.give_back(client);
        return Err(PageError::Csrf);
    }
    let token = cookie.unwrap_or_default();
    let username = form.username.trim().to_owned();
    let mut errors = Vec::new();
    let (mut username_error, mut password_error) = (String::new(), String::new());
    if username.is_empty() {
        username_error = "Enter your username".to_owned();
        errors.push(FieldError { href: "#username".into(), text: username_error.clone() });
    }
    if form.password.is_empty() {
        password_error = "Enter your password".to_owned();
        errors.push(FieldError { href: "#password".into(), text: password_error.clone() });
    }
    if !errors.is_empty() {
        state.sign_in_limiter.give_back(client);
        return sign_in_form(&state, &context, token, username, Some((username_error, password_error, errors))).await;
    }
    if username.len() > MAX_FIELD || form.password.len() > MAX_FIELD {
        return Err(PageError::BadRequest("The username or password is too long.".into()));
    }
    match state.concord.sign_in(&username, &form.password, Some(context.request_id.clone())).await {
        Ok(session) => {
            state.sign_in_limiter.give_back(client);
            tracing::info!(role = session.staff.role.as_str(), "signed in");
            let mut response = Redirect::to("/").into_response();
            let headers = response.headers_mut();
            for cookie in [session_cookie(&state, &session.token), clear_sign_in_cookie(&state)] {
                if let Ok(value) = cookie.parse() {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            Ok(response)
        }
        Err(AppError::Refused(message)) => {
            let errors = vec![FieldError { href: "#username".into(), text: message.clone() }];
            sign_in_form(&state, &context, token, username, Some((message, String::new(), errors))).await
        }
        Err(error) => Err(error.into()),
    }
}

/// A form with no fields of its own (only the CSRF token).
#[derive(Deserialize)]
pub(crate) struct NoFields {}

/// Ends the session server-side, forgets its patient references and removes the cookie.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionForm(signed_in, NoFields {}): SessionForm<NoFields>,
) -> Result<Response, PageError> {
    state.concord.sign_out(&signed_in.token, &signed_in.staff, Some(context.request_id.clone())).await?;
    state.refs.forget(&signed_in.session_key);
    let layout = Layout::new(&context, state.synthetic().await, None, "You have signed out");
    let mut response = page(&SignedOutTemplate { layout })?;
    if let Ok(value) = clear_session_cookie(&state).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
