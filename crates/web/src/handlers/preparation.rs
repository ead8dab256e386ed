//! Patient preparation: the letter as it will be sent, results a clinician withholds, sending the
//! letter (one person, or everyone on a clinic list), and the letters as PDF.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use concord_app::AppError;
use concord_app::cycle::Caller;
use concord_app::online::{PROXY_BASES, ProxyInput};
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
    AccessCodeView, Layout, PreparationLetterView, PreparationResultView, PreparationTemplate,
    PreparationsSentTemplate, ProxyView, page,
};
use crate::views;

pub(crate) async fn preparation_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
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
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
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

/// Online access: send a code (to the person or a proxy), set up or end a carer's proxy access.
pub(crate) async fn access_action(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let staff = &signed_in.staff;
    let proxy_id = Some(field("proxy_id")).filter(|id| !id.is_empty());
    let mut proxy_errors = Vec::new();
    let input = ProxyInput {
        name: field("proxy_name"),
        relationship: field("relationship"),
        birth_date: field("birth_date"),
        email: field("email"),
        mobile: field("mobile"),
        basis: field("basis"),
        basis_note: field("basis_note"),
    };
    let done = match field("action").as_str() {
        "send_code" => {
            let channel =
                state.concord.send_access_code(Caller::Staff(staff), &patient_id, proxy_id.as_deref(), now).await?;
            Some(format!(
                "A new access code is on its way by {}. Earlier codes no longer work.",
                channel_words(&channel)
            ))
        }
        "add_proxy" => match state.concord.add_proxy(staff, &patient_id, &input, now).await? {
            Ok(proxy) => {
                let channel =
                    state.concord.send_access_code(Caller::Staff(staff), &patient_id, Some(&proxy.id), now).await?;
                Some(format!(
                    "Proxy access set up for {}. Their access code is on its way by {}.",
                    proxy.proxy_name,
                    channel_words(&channel)
                ))
            }
            Err(errors) => {
                proxy_errors = errors;
                None
            }
        },
        "revoke_proxy" => {
            let ended =
                state.concord.revoke_proxy(staff, &patient_id, proxy_id.as_deref().unwrap_or_default(), now).await?;
            Some(
                if ended {
                    "Proxy access ended. Their codes no longer work."
                } else {
                    "That proxy access had already ended."
                }
                .into(),
            )
        }
        _ => return Err(PageError::BadRequest("Choose what to do".into())),
    };
    let view = state.concord.preparation_view(staff, &patient_id, now).await?;
    let mut response_input = None;
    if !proxy_errors.is_empty() {
        response_input = Some((input, proxy_errors));
    }
    render_with(&state, &context, &signed_in, &reference, &view, done, None, response_input).await
}

fn channel_words(channel: &str) -> &'static str {
    match channel {
        "email" => "email",
        "sms" => "text message",
        _ => "post (it is on the list of letters to print)",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FormatQuery {
    #[serde(default)]
    format: String,
}

/// The letter as it would be made now, as PDF, in the person's format or the one asked for.
pub(crate) async fn preparation_pdf(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<FormatQuery>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let format = LetterFormat::parse(&query.format);
    let pdf = state
        .concord
        .preparation_pdf(Caller::Staff(&signed_in.staff), &patient_id, format, OffsetDateTime::now_utc())
        .await?;
    Ok(super::pdf_response(pdf, "preparation-letter.pdf", true))
}

/// The letter as it would be made now alone on a page, to print from the browser.
pub(crate) async fn print_view(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<FormatQuery>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
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
    Ok(super::pdf_response(pdf, "preparation-letter.pdf", true))
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
    render_with(state, context, signed_in, reference, view, done, problem, None).await
}

#[allow(clippy::too_many_arguments)]
async fn render_with(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    view: &PreparationView,
    done: Option<String>,
    problem: Option<(String, String)>,
    proxy_form: Option<(ProxyInput, Vec<(String, String)>)>,
) -> Result<Response, PageError> {
    let row =
        state.concord.store.patient(&view.patient_id).await.map_err(AppError::from)?.ok_or(PageError::NotFound)?;
    let can_withhold = signed_in.staff.require(Permission::TriageResults).is_ok();
    let (proxy_input, proxy_errors) = proxy_form.unwrap_or_default();
    let proxy_error = |name: &str| {
        proxy_errors.iter().find(|(key, _)| key == name).map(|(_, message)| message.clone()).unwrap_or_default()
    };
    let proxy_names: std::collections::HashMap<&str, &str> =
        view.proxies.iter().map(|proxy| (proxy.id.as_str(), proxy.proxy_name.as_str())).collect();
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Preparation")
        .with_errors(problem.is_some() || !proxy_errors.is_empty());
    let (problem_observable, problem_text) = problem.unwrap_or_default();
    let now_text = OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
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
        errors: if !proxy_errors.is_empty() {
            proxy_errors
                .iter()
                .map(|(key, message)| crate::templates::FieldError {
                    href: format!("#{}", key.replace('_', "-")),
                    text: message.clone(),
                })
                .collect()
        } else if problem_text.is_empty() {
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
        agenda: view
            .agenda
            .iter()
            .map(|line| (line.question.clone(), line.answer.clone(), line.written.clone()))
            .collect(),
        can_manage: signed_in.staff.require(Permission::ManageCycle).is_ok(),
        access_action: format!("/patients/record/{reference}/preparation/access"),
        codes: view
            .codes
            .iter()
            .take(6)
            .map(|code| AccessCodeView {
                to: code.proxy_id.as_deref().map_or_else(
                    || "The person".to_owned(),
                    |id| proxy_names.get(id).copied().unwrap_or("A carer").to_owned(),
                ),
                issued: views::stored_time(&code.issued_at),
                state: if code.revoked_at.is_some() {
                    "No longer works".into()
                } else if code.expires_at.as_str() <= now_text.as_str() {
                    "Expired".into()
                } else if code.locked_until.as_deref().is_some_and(|until| until > now_text.as_str()) {
                    "Locked after wrong dates of birth".into()
                } else {
                    format!("Works until {}", views::stored_time(&code.expires_at))
                },
                used: code.last_used_at.as_deref().map(views::stored_time).unwrap_or_default(),
            })
            .collect(),
        proxies: view
            .proxies
            .iter()
            .map(|proxy| ProxyView {
                id: proxy.id.clone(),
                name: format!("{} ({})", proxy.proxy_name, proxy.relationship),
                basis: PROXY_BASES
                    .iter()
                    .find(|(id, _)| *id == proxy.basis)
                    .map_or_else(|| proxy.basis.clone(), |(_, label)| (*label).to_owned()),
                note: proxy.basis_note.clone(),
                verified: format!("Verified by {} on {}", proxy.verified_by, views::stored_time(&proxy.created_at)),
                ended: proxy.revoked_at.as_deref().map(views::stored_time),
            })
            .collect(),
        bases: PROXY_BASES
            .iter()
            .map(|(id, label)| ((*id).to_owned(), (*label).to_owned(), proxy_input.basis == *id))
            .collect(),
        proxy_name: proxy_input.name.clone(),
        relationship: proxy_input.relationship.clone(),
        proxy_birth_date: proxy_input.birth_date.clone(),
        proxy_email: proxy_input.email.clone(),
        proxy_mobile: proxy_input.mobile.clone(),
        basis_note: proxy_input.basis_note.clone(),
        proxy_name_error: proxy_error("proxy_name"),
        relationship_error: proxy_error("relationship"),
        birth_date_error: proxy_error("birth_date"),
        email_error: proxy_error("email"),
        mobile_error: proxy_error("mobile"),
        basis_error: proxy_error("basis"),
        basis_note_error: proxy_error("basis_note"),
        proxy_form_open: !proxy_errors.is_empty(),
    })
}
