//! Professional preparation: the results review for one person.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use concord_app::AppError;
use concord_app::review::{PROFESSIONALS, ReviewInput, ReviewView, TARGETABLE};
use time::OffsetDateTime;

use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{
    FieldError, Layout, ReviewResultView, ReviewSampleView, ReviewTargetView, ReviewTemplate, page,
};
use crate::views;

pub(crate) async fn review_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let view = state.concord.review_view(&signed_in.staff, &patient_id, OffsetDateTime::now_utc()).await?;
    let input = ReviewInput {
        comment: view.comment.clone(),
        assign_to: view.assigned_to.clone(),
        targets: view.targets.clone(),
        without_awaited: false,
    };
    render(&state, &context, &signed_in, &reference, &view, &input, &[], None).await
}

pub(crate) async fn review_results(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let input = ReviewInput {
        comment: field("comment"),
        assign_to: field("assign_to"),
        targets: TARGETABLE
            .iter()
            .map(|(observable, _)| ((*observable).to_owned(), field(&format!("target_{observable}"))))
            .collect(),
        without_awaited: field("without_awaited") == "yes",
    };
    let now = OffsetDateTime::now_utc();
    let (errors, done) = match state.concord.review_results(&signed_in.staff, &patient_id, &input, now).await {
        Ok(Ok(_)) => (vec![], Some("Results reviewed. The person's preparation can now be sent.".to_owned())),
        Ok(Err(errors)) => (errors, None),
        Err(AppError::Refused(message)) => (vec![("flags".to_owned(), message)], None),
        Err(error) => return Err(error.into()),
    };
    let view = state.concord.review_view(&signed_in.staff, &patient_id, now).await?;
    render(&state, &context, &signed_in, &reference, &view, &input, &errors, done).await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    view: &ReviewView,
    input: &ReviewInput,
    errors: &[(String, String)],
    done: Option<String>,
) -> Result<Response, PageError> {
    let row =
        state.concord.store.patient(&view.patient_id).await.map_err(AppError::from)?.ok_or(PageError::NotFound)?;
    let error_for = |name: &str| {
        errors.iter().find(|(field, _)| field == name).map(|(_, message)| message.clone()).unwrap_or_default()
    };
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Review results")
        .with_errors(!errors.is_empty());
    page(&ReviewTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        action: format!("/patients/record/{reference}/review"),
        record_href: format!("/patients/record/{reference}"),
        name: views::clinical_name(&row.patient.name.family, &row.patient.name.given),
        stage: view.stage.map(|stage| stage.label().to_owned()).unwrap_or_else(|| "Due".into()),
        visit: view.visit_on.as_deref().map_or_else(String::new, |on| {
            format!(
                "Information-gathering visit on {}; {} {} arrived since.",
                views::stored_date(on),
                view.results_since_visit,
                if view.results_since_visit == 1 { "result has" } else { "results have" }
            )
        }),
        samples: view
            .samples
            .iter()
            .map(|sample| ReviewSampleView {
                name: sample.name.clone(),
                text: match (&sample.result, sample.awaited_days) {
                    (Some((value, date)), _) => format!("{value} ({})", views::stored_date(date)),
                    (None, Some(days)) if sample.overdue => {
                        format!("No result {days} days after the visit: check with the laboratory")
                    }
                    (None, Some(0)) => "Awaited: sent today".to_owned(),
                    (None, Some(1)) => "Awaited: sent yesterday".to_owned(),
                    (None, days) => format!("Awaited: sent {} days ago", days.unwrap_or_default()),
                },
                arrived: sample.result.is_some(),
                overdue: sample.overdue,
            })
            .collect(),
        awaited: join(&view.awaited()),
        without_awaited: input.without_awaited,
        awaited_error: error_for("without_awaited"),
        can_review: signed_in.staff.require(concord_domain::access::Permission::TriageResults).is_ok(),
        reviewed_by: view.reviewed_by.clone().unwrap_or_default(),
        results: view
            .results
            .iter()
            .map(|result| ReviewResultView {
                name: result.name.clone(),
                values: result
                    .values
                    .iter()
                    .map(|(value, date)| format!("{value} ({})", views::stored_date(date)))
                    .collect(),
                target: result.target.clone().unwrap_or_default(),
                off_target: result.target_met == Some(false),
            })
            .collect(),
        open_flags: view
            .open_flags
            .iter()
            .map(|flag| {
                format!("{} ({}): {}", state.concord.red_flag_rule_name(&flag.rule_id), flag.severity, flag.value_text)
            })
            .collect(),
        comment: input.comment.clone(),
        comment_error: error_for("comment"),
        professionals: PROFESSIONALS
            .iter()
            .map(|(id, label)| ((*id).to_owned(), (*label).to_owned(), input.assign_to == *id))
            .collect(),
        assign_error: error_for("assign_to"),
        targets: TARGETABLE
            .iter()
            .map(|(observable, comparison)| {
                let definition = state.concord.catalogue.observable(observable);
                ReviewTargetView {
                    id: format!("target-{}", observable.replace('_', "-")),
                    name: format!("target_{observable}"),
                    label: format!(
                        "{} target ({})",
                        definition.map_or_else(|| (*observable).to_owned(), |d| d.name.clone()),
                        match comparison.symbol() {
                            "<" => "below",
                            _ => "or below",
                        }
                    ),
                    unit: definition
                        .and_then(|d| d.canonical_unit.as_ref())
                        .map_or_else(String::new, |unit| unit.display()),
                    value: input.targets.get(*observable).cloned().unwrap_or_default(),
                    error: error_for(&format!("target_{observable}")),
                }
            })
            .collect(),
        flags_error: error_for("flags"),
        errors: errors
            .iter()
            .map(|(field, message)| FieldError {
                href: match field.as_str() {
                    "comment" => "#comment".into(),
                    "assign_to" => "#assign-to".into(),
                    "flags" => "#open-flags".into(),
                    other => format!("#{}", other.replace('_', "-")),
                },
                text: message.clone(),
            })
            .collect(),
        done,
    })
}

/// "HbA1c", "HbA1c and urine ACR", "HbA1c, cholesterol and urine ACR".
fn join(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
