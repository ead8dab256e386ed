//! Patient preparation: the letter as it will be sent, results a clinician withholds, sending the
//! letter (one person, or everyone on a clinic list), and the letters as PDF.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use concord_app::AppError;
use concord_app::cycle::Caller;
use concord_app::preparation::{LetterFormat, PreparationView};
use concord_domain::access::Permission;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::document::document_view;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{
    Layout, PreparationLetterView, PreparationResultView, PreparationTemplate, PreparationsSentTemplate, page,
};
use crate::views;

pub(crate) async fn preparation_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let view = state.concord.preparation_view(&signed_in.staff, &patient_id, OffsetDateTime::now_utc()).await?;
    render(&state, &context, &signed_in, &reference, &view, None, None).await
}

/// One form for the page's actions: `send`, `withhold` (with `observable` and `reason`) and
/// `release` (with `observable`).
pub(crate) async fn preparation_action(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let staff = &signed_in.staff;
    let observable = field("observable");
    let outcome = match field("action").as_str() {
        "send" => state
            .concord
            .send_preparation(Caller::Staff(staff), &patient_id, now)
            .await
            .map(|_| "Preparation letter made. It is on the list of letters to print.".to_owned()),
        "withhold" => state
            .concord
            .withhold_result(staff, &patient_id, &observable, &field("reason"), now)
            .await
            .map(|()| "Result withheld from the person's letter and online view.".to_owned()),
        "release" => state
            .concord
            .release_result(staff, &patient_id, &observable, now)
            .await
            .map(|_| "Result released: the person's next letter and online view will show it.".to_owned()),
        _ => Err(AppError::Invalid("Choose what to do".into())),
    };
    let (done, problem) = match outcome {
        Ok(message) => (Some(message), None),
        Err(AppError::Invalid(message) | AppError::Refused(message)) => (None, Some((observable, message))),
        Err(error) => return Err(error.into()),
    };
    let view = state.concord.preparation_view(staff, &patient_id, now).await?;
    render(&state, &context, &signed_in, &reference, &view, done, problem).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FormatQuery {
    #[serde(default)]
    format: String,
}

fn pdf_response(pdf: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")),
        ],
        pdf,
    )
        .into_response()
}

/// The letter as it would be made now, as PDF, in the person's format or the one asked for.
pub(crate) async fn preparation_pdf(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<FormatQuery>,
) -> Result<Response, PageError> {
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let format = LetterFormat::parse(&query.format);
    let pdf = state
        .concord
        .preparation_pdf(Caller::Staff(&signed_in.staff), &patient_id, format, OffsetDateTime::now_utc())
        .await?;
    Ok(pdf_response(pdf, "preparation-letter.pdf"))
}

/// The letter as it would be made now alone on a page, to print from the browser.
pub(crate) async fn print_view(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<FormatQuery>,
) -> Result<Response, PageError> {
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let (document, format, _) = state
        .concord
        .preparation_document(
            Caller::Staff(&signed_in.staff),
            &patient_id,
            LetterFormat::parse(&query.format),
            OffsetDateTime::now_utc(),
        )
        .await?;
    let html = crate::print_page(&document, format.is_large(), "/assets", "/static/print.css")?;
    Ok(axum::response::Html(html).into_response())
}

/// A letter as it was made.
pub(crate) async fn letter_pdf(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (_, pdf) = state.concord.preparation_letter_pdf(Caller::Staff(&signed_in.staff), &id).await?;
    Ok(pdf_response(pdf, "preparation-letter.pdf"))
}

/// Sends the preparation letters for the practice's conversations between two dates.
pub(crate) async fn send_for_clinics(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let parse = |text: &str| Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok();
    let (Some(from), Some(to)) = (parse(&field("from")), parse(&field("to"))) else {
        return Err(PageError::BadRequest("Give the first and last day of the clinics as dates".into()));
    };
    let practice = signed_in.staff.organisation.clone().ok_or_else(|| {
        PageError::BadRequest("Your account is not linked to a practice, so it has no clinics.".into())
    })?;
    let outcome = state
        .concord
        .send_preparations(Caller::Staff(&signed_in.staff), &practice, from, to, OffsetDateTime::now_utc())
        .await?;
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Preparation letters");
    page(&PreparationsSentTemplate {
        layout,
        period: if from == to {
            views::stored_date(&from.to_string())
        } else {
            format!("{} to {}", views::stored_date(&from.to_string()), views::stored_date(&to.to_string()))
        },
        day: from.to_string(),
        sent: outcome.sent,
        skipped: outcome.skipped,
    })
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    view: &PreparationView,
    done: Option<String>,
    problem: Option<(String, String)>,
) -> Result<Response, PageError> {
    let row =
        state.concord.store.patient(&view.patient_id).await.map_err(AppError::from)?.ok_or(PageError::NotFound)?;
    let can_withhold = signed_in.staff.require(Permission::TriageResults).is_ok();
    let layout =
        Layout::new(context, state.synthetic().await, Some(signed_in), "Preparation").with_errors(problem.is_some());
    let (problem_observable, problem_text) = problem.unwrap_or_default();
    page(&PreparationTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        action: format!("/patients/record/{reference}/preparation"),
        pdf_href: format!("/patients/record/{reference}/preparation.pdf"),
        print_href: format!("/patients/record/{reference}/preparation/print"),
        record_href: format!("/patients/record/{reference}"),
        name: views::clinical_name(&row.patient.name.family, &row.patient.name.given),
        stage: view.stage.map(|stage| stage.label().to_owned()).unwrap_or_else(|| "Due".into()),
        blocked: view.blocked.clone().unwrap_or_default(),
        format: view.format.label().to_owned(),
        can_send: view.blocked.is_none() && signed_in.staff.require(Permission::ManageCycle).is_ok(),
        can_withhold,
        results: view
            .results
            .iter()
            .map(|choice| PreparationResultView {
                id: choice.observable.replace('_', "-"),
                observable: choice.observable.clone(),
                name: choice.name.clone(),
                latest: choice.latest.clone(),
                withheld: choice.withheld.as_ref().map(|row| {
                    format!(
                        "Withheld by {} on {}: {}",
                        row.withheld_by,
                        views::stored_time(&row.withheld_at),
                        row.reason
                    )
                }),
                error: if problem_observable == choice.observable { problem_text.clone() } else { String::new() },
            })
            .collect(),
        problem: if view.results.iter().any(|choice| choice.observable == problem_observable) {
            String::new()
        } else {
            problem_text.clone()
        },
        errors: if problem_text.is_empty() {
            vec![]
        } else {
            vec![crate::templates::FieldError {
                href: if problem_observable.is_empty() {
                    "#send".into()
                } else {
                    format!("#reason-{}", problem_observable.replace('_', "-"))
                },
                text: problem_text,
            }]
        },
        letters: view
            .letters
            .iter()
            .map(|letter| PreparationLetterView {
                made: views::stored_time(&letter.made_at),
                made_by: letter.made_by.clone(),
                format: LetterFormat::parse(&letter.format).map_or_else(|| letter.format.clone(), |f| f.label().into()),
                href: format!("/preparation-letters/{}", letter.id),
            })
            .collect(),
        document: view.letter.as_ref().map(|document| document_view(document, 1)),
        done,
    })
}
