//! Route handlers: each checks the permission it needs, calls the application and renders a page.

pub(crate) mod auth;
pub(crate) mod check_ins;
pub(crate) mod clinics;
pub(crate) mod cycle;
pub(crate) mod fhir;
pub(crate) mod home;
pub(crate) mod letters;
pub(crate) mod online;
pub(crate) mod outcomes;
pub(crate) mod patients;
pub(crate) mod plan;
pub(crate) mod preparation;
pub(crate) mod review;
pub(crate) mod shared;
pub(crate) mod system;
pub(crate) mod visit;

use time::{Date, OffsetDateTime};

/// Today's date for ages and registers (UTC; the practice's day differs only around midnight in
/// British Summer Time).
pub(crate) fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// The person a record link names, for staff allowed to see records: the role is checked before
/// the reference is looked at, and a reference from another session is "page not found".
pub(crate) fn record_patient(
    state: &crate::state::AppState,
    signed_in: &crate::session::SignedIn,
    reference: &str,
) -> Result<String, crate::error::PageError> {
    signed_in.staff.require(concord_domain::access::Permission::ViewPatientRecord)?;
    state.refs.resolve(&signed_in.session_key, reference).ok_or(crate::error::PageError::NotFound)
}

/// A PDF: shown in the browser (`inline`) or downloaded. File names never carry identifiers.
pub(crate) fn pdf_response(pdf: Vec<u8>, filename: &str, inline: bool) -> axum::response::Response {
    use axum::response::IntoResponse;
    let disposition = format!("{}; filename=\"{filename}\"", if inline { "inline" } else { "attachment" });
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response()
}
