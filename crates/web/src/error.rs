//! The one place where failures become pages. Handlers return [`PageError`]; it becomes a status
//! code plus an [`ErrorPage`] marker, and [`render_error_pages`] turns the marker (and the router's
//! own 404/405/413 responses) into an NHS-style page with this request's nonce.
//!
//! Internal errors are logged with their whole cause chain and the request id; users only ever see
//! "Sorry, there is a problem with the service".

use std::error::Error;

use axum::extract::rejection::FormRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use concord_app::AppError;

use crate::security::RequestContext;
use crate::state::AppState;
use crate::templates::{ErrorTemplate, Layout, render};

#[derive(Debug)]
pub(crate) enum PageError {
    /// No live session: go to the sign-in page.
    SignInRequired,
    /// No live online session for a person or proxy: go to their sign-in page.
    PersonSignInRequired,
    NotFound,
    Forbidden,
    /// An unsafe request from another site (origin check).
    CrossOrigin,
    /// A form without the right synchronizer token.
    Csrf,
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// The application refused the request with a reason written for the user.
    BadRequest(String),
    /// A form body over the size limit.
    TooLarge,
    Internal(String),
}

impl PageError {
    /// An unexpected failure; the cause chain is logged, never shown.
    pub(crate) fn internal(error: &(dyn Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Internal(chain)
    }
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Forbidden(_) => Self::Forbidden,
            AppError::NotFound(_) => Self::NotFound,
            AppError::Invalid(message) | AppError::Refused(message) => Self::BadRequest(message),
            AppError::Precondition { message, .. } => Self::BadRequest(message),
            AppError::Store(_) => Self::internal(&error),
        }
    }
}

impl From<FormRejection> for PageError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge
        } else {
            Self::BadRequest(format!("The form could not be read: {}", rejection.body_text()))
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        Self::internal(&error)
    }
}

/// Which error page to show; carried from the handler to [`render_error_pages`] in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorPage {
    NotFound,
    Forbidden,
    CrossOrigin,
    Csrf,
    TooManyRequests { retry_after_seconds: u64 },
    BadRequest(String),
    TooLarge,
    Internal,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            Self::SignInRequired => return Redirect::to("/sign-in").into_response(),
            Self::PersonSignInRequired => return Redirect::to("/prepare").into_response(),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorPage::NotFound),
            Self::Forbidden => (StatusCode::FORBIDDEN, ErrorPage::Forbidden),
            Self::CrossOrigin => (StatusCode::FORBIDDEN, ErrorPage::CrossOrigin),
            Self::Csrf => {
                tracing::warn!("refused a form without a valid CSRF token");
                (StatusCode::FORBIDDEN, ErrorPage::Csrf)
            }
            Self::TooManyRequests { retry_after_seconds } => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorPage::TooManyRequests { retry_after_seconds })
            }
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, ErrorPage::BadRequest(message)),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorPage::TooLarge),
            Self::Internal(chain) => {
                tracing::error!(error = %chain, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorPage::Internal)
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(page);
        response
    }
}

/// Renders error pages for marked responses and for the router's and body limit's bare ones.
pub(crate) async fn render_error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let context = request.extensions().get::<RequestContext>().cloned();
    let response = next.run(request).await;
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None if response.headers().contains_key(header::CONTENT_TYPE)
            && response.status() != StatusCode::PAYLOAD_TOO_LARGE =>
        {
            return response;
        }
        None => match response.status() {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => ErrorPage::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorPage::TooLarge,
            _ => return response,
        },
    };
    let Some(context) = context else { return response };
    let status = response.status();
    let layout = Layout::new(&context, state.synthetic().await, None, page.title());
    let body = match render(&ErrorTemplate::new(layout, &page)) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "could not render an error page");
            "Sorry, there is a problem with the service.".to_owned()
        }
    };
    let mut rendered = (status, Html(body)).into_response();
    if let ErrorPage::TooManyRequests { retry_after_seconds } = page
        && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
    {
        rendered.headers_mut().insert(header::RETRY_AFTER, value);
    }
    for name in [header::SET_COOKIE] {
        for value in response.headers().get_all(&name) {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

impl ErrorPage {
    pub(crate) fn title(&self) -> &'static str {
        match self {
            Self::NotFound => "Page not found",
            Self::Forbidden => "You do not have permission to see this page",
            Self::CrossOrigin => "This request was refused",
            Self::Csrf => "This form has expired",
            Self::TooManyRequests { .. } => "Too many sign-in attempts",
            Self::BadRequest(_) => "There is a problem with this request",
            Self::TooLarge => "This request is too large",
            Self::Internal => "Sorry, there is a problem with the service",
        }
    }

    /// Paragraphs of the page, in plain English.
    pub(crate) fn paragraphs(&self) -> Vec<String> {
        match self {
            Self::NotFound => vec![
                "If you typed the web address, check it was correct.".into(),
                "If you pasted the web address, check you copied the entire address.".into(),
                "Links to patient records only work in the session in which you found them. \
                 If you signed out or the link came from someone else, search for the patient again."
                    .into(),
            ],
            Self::Forbidden => vec![
                "Your role does not allow this page.".into(),
                "If you need it for your work, ask your system administrator to review your role.".into(),
            ],
            Self::CrossOrigin => vec![
                "The form was sent from another website or page. For your security, Concord only accepts \
                 forms sent from its own pages."
                    .into(),
                "Go back to Concord and try again.".into(),
            ],
            Self::Csrf => vec![
                "For your security, forms only work for a limited time and in the browser session in which \
                 they were opened."
                    .into(),
                "Go back, reload the page and try again.".into(),
            ],
            Self::TooManyRequests { retry_after_seconds } => vec![
                "There have been too many sign-in attempts from this device.".into(),
                format!("Wait {} and try again.", wait_in_words(*retry_after_seconds)),
            ],
            Self::BadRequest(message) => vec![message.clone()],
            Self::TooLarge => vec!["The form sent was larger than Concord accepts. Go back and try again.".into()],
            Self::Internal => {
                vec!["Try again later.".into(), "If the problem continues, contact your system administrator.".into()]
            }
        }
    }
}

fn wait_in_words(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "a minute".into(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading the record")
        }
    }
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("disk on fire")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }
    impl Error for Inner {}

    #[test]
    fn internal_errors_keep_their_cause_chain_for_the_log() {
        let PageError::Internal(chain) = PageError::internal(&Outer(Inner)) else { panic!() };
        assert_eq!(chain, "reading the record: disk on fire");
    }

    #[test]
    fn waits_are_in_words() {
        assert_eq!(wait_in_words(1), "a second");
        assert_eq!(wait_in_words(42), "42 seconds");
        assert_eq!(wait_in_words(60), "a minute");
        assert_eq!(wait_in_words(121), "3 minutes");
    }
}
