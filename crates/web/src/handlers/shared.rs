//! Partner clinicians' pages (`/shared`): find a person by NHS number (POSTed, never in a URL),
//! read the plan they shared with the clinician's organisation, contingency plans first, or break
//! the glass in an emergency with a stated reason. And the privacy officer's review of break-glass
//! accesses (`/privacy/break-glass`). Sign-in is the staff sign-in, designed to be replaced by NHS
//! smartcard (CIS2) sign-in for these users.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use concord_app::AppError;
use concord_app::shared::SharedSearch;
use time::OffsetDateTime;

use crate::document::document_view;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{BreakGlassReviewTemplate, FieldError, Layout, SharedPlanTemplate, SharedSearchTemplate, page};
use crate::views;

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned()).unwrap_or_default()
}

/// The problem's text without its field name ("reason: say why" → "Say why").
fn message(error: &str) -> String {
    let text = error.split_once(": ").map_or(error, |(_, text)| text);
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

#[allow(clippy::too_many_arguments)]
async fn search_page(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    nhs_number: &str,
    searched: bool,
    found: Option<(String, String, String)>,
    errors: Vec<FieldError>,
    reason: &str,
) -> Result<Response, PageError> {
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Find a shared care plan")
        .current("/shared")
        .with_errors(!errors.is_empty());
    let inline = |href: &str| errors.iter().find(|error| error.href == href).map(|error| error.text.clone());
    page(&SharedSearchTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        nhs_number: nhs_number.to_owned(),
        searched,
        found,
        nhs_error: inline("#nhs_number").unwrap_or_default(),
        reason_error: inline("#reason").unwrap_or_default(),
        errors,
        reason: reason.to_owned(),
        break_glass_minutes: concord_app::api::BREAK_GLASS_MINUTES,
    })
}

pub(crate) async fn search_form(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    signed_in.staff.require(concord_domain::access::Permission::ViewSharedPlans)?;
    search_page(&state, &context, &signed_in, "", false, None, vec![], "").await
}

pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let nhs_number = field(&pairs, "nhs_number");
    match state.concord.shared_search(&signed_in.staff, &nhs_number).await {
        Ok(SharedSearch::Found { patient_id, name, birth_date, purpose }) => {
            let href = format!("/shared/plan/{}", state.refs.reference(&signed_in.session_key, &patient_id));
            let found = (href, format!("{name}, born {}", views::stored_time(&birth_date)), purpose);
            search_page(&state, &context, &signed_in, &nhs_number, true, Some(found), vec![], "").await
        }
        Ok(SharedSearch::NotShared) => {
            search_page(&state, &context, &signed_in, &nhs_number, true, None, vec![], "").await
        }
        Err(AppError::Invalid(error)) => {
            let errors = vec![FieldError { href: "#nhs_number".into(), text: message(&error) }];
            search_page(&state, &context, &signed_in, &nhs_number, false, None, errors, "").await
        }
        Err(error) => Err(error.into()),
    }
}

pub(crate) async fn break_glass(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let nhs_number = field(&pairs, "nhs_number");
    let reason = field(&pairs, "reason");
    match state.concord.staff_break_glass(&signed_in.staff, &nhs_number, &reason, OffsetDateTime::now_utc()).await {
        Ok((patient_id, _)) => {
            let reference = state.refs.reference(&signed_in.session_key, &patient_id);
            Ok(Redirect::to(&format!("/shared/plan/{reference}")).into_response())
        }
        Err(AppError::Invalid(error)) | Err(AppError::NotFound(error)) => {
            let href = if error.starts_with("reason") { "#reason" } else { "#nhs_number" };
            let errors = vec![FieldError { href: href.into(), text: message(&error) }];
            search_page(&state, &context, &signed_in, &nhs_number, true, None, errors, &reason).await
        }
        Err(error) => Err(error.into()),
    }
}

pub(crate) async fn plan(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    signed_in.staff.require(concord_domain::access::Permission::ViewSharedPlans)?;
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let shared = state.concord.shared_plan(&signed_in.staff, &patient_id, OffsetDateTime::now_utc()).await?;
    let layout =
        Layout::new(&context, state.synthetic().await, Some(&signed_in), "Shared care plan").current("/shared");
    page(&SharedPlanTemplate {
        layout,
        person: format!(
            "{}, NHS number {}, born {}",
            shared.name,
            shared.nhs_number.as_deref().map(views::nhs_number).unwrap_or_else(|| "not known".into()),
            views::stored_time(&shared.birth_date)
        ),
        version: format!("Version {} ({})", shared.version, shared.status),
        break_glass: shared.purpose.strip_prefix("break-glass: ").map(str::to_owned),
        document: document_view(&shared.document, 1),
        linked: shared.linked.iter().map(crate::templates::LinkedPlanView::of).collect(),
    })
}

pub(crate) async fn reviews(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    review_page(&state, &context, &signed_in, None, vec![]).await
}

async fn review_page(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    done: Option<String>,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let entries = state.concord.break_glass_reviews(&signed_in.staff, false).await?;
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Break-glass access to review")
        .current("/privacy/break-glass")
        .with_errors(!errors.is_empty());
    page(&BreakGlassReviewTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        entries: entries
            .into_iter()
            .map(|entry| crate::templates::BreakGlassView {
                note_error: errors
                    .iter()
                    .find(|error| error.href == format!("#note-{}", entry.row.id))
                    .map(|error| error.text.clone())
                    .unwrap_or_default(),
                id: entry.row.id,
                person: entry.person,
                nhs_number: entry.nhs_number.as_deref().map(views::nhs_number).unwrap_or_default(),
                organisation: entry.row.organisation,
                who: entry.row.actor,
                reason: entry.row.reason,
                when: views::stored_time(&entry.row.granted_at),
                until: views::stored_time(&entry.row.expires_at),
            })
            .collect(),
        done,
        errors,
    })
}

pub(crate) async fn review(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let id = field(&pairs, "access");
    match state
        .concord
        .review_break_glass(&signed_in.staff, &id, &field(&pairs, "note"), OffsetDateTime::now_utc())
        .await
    {
        Ok(true) => review_page(&state, &context, &signed_in, Some("Review recorded.".into()), vec![]).await,
        Ok(false) => {
            review_page(&state, &context, &signed_in, Some("That access was already reviewed.".into()), vec![]).await
        }
        Err(AppError::Invalid(error)) => {
            let errors = vec![FieldError { href: format!("#note-{id}"), text: message(&error) }];
            review_page(&state, &context, &signed_in, None, errors).await
        }
        Err(error) => Err(error.into()),
    }
}
