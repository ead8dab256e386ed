//! The information-gathering visit: the healthcare assistant's one form for every condition.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use concord_app::visit::{FieldKind, VisitErrors, VisitForm};
use concord_domain::care_process::ItemStatus;
use time::OffsetDateTime;

use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{FieldError, Layout, VisitFieldView, VisitSavedTemplate, VisitSectionView, VisitTemplate, page};
use crate::views;

pub(crate) async fn visit_form(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let form = state.concord.visit_form(&signed_in.staff, &patient_id, OffsetDateTime::now_utc()).await?;
    render(&state, &context, &signed_in, &reference, &form, &BTreeMap::new(), &VisitErrors::default()).await
}

pub(crate) async fn record_visit(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let answers: BTreeMap<String, String> = pairs.into_iter().filter(|(name, _)| name != "csrf_token").collect();
    let now = OffsetDateTime::now_utc();
    match state.concord.record_visit(&signed_in.staff, &patient_id, &answers, now).await? {
        Ok(outcome) => {
            let (name, _) = person(&state, &patient_id).await?;
            let title = if outcome.risk_of_harm { "Stop: same-day assessment needed" } else { "Visit recorded" };
            let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), title);
            page(&VisitSavedTemplate {
                layout,
                record_href: format!("/patients/record/{reference}"),
                name,
                results_saved: outcome.results_saved,
                risk_of_harm: outcome.risk_of_harm,
                urgent_flags: outcome.urgent_flags,
                stage: outcome.stage.unwrap_or_default(),
                samples_sent: outcome.samples_sent,
            })
        }
        Err(errors) => {
            let form = state.concord.visit_form(&signed_in.staff, &patient_id, now).await?;
            render(&state, &context, &signed_in, &reference, &form, &answers, &errors).await
        }
    }
}

async fn person(state: &AppState, patient_id: &str) -> Result<(String, String), PageError> {
    let row = state
        .concord
        .store
        .patient(patient_id)
        .await
        .map_err(concord_app::AppError::from)?
        .ok_or(PageError::NotFound)?;
    Ok((
        views::clinical_name(&row.patient.name.family, &row.patient.name.given),
        row.patient.nhs_number.map_or_else(|| "Not recorded".into(), |number| views::nhs_number(number.as_str())),
    ))
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    form: &VisitForm,
    answers: &BTreeMap<String, String>,
    errors: &VisitErrors,
) -> Result<Response, PageError> {
    let (name, nhs_number) = person(state, &form.patient_id).await?;
    let error_for = |field: &str| {
        errors.0.iter().find(|(name, _)| name == field).map(|(_, message)| message.clone()).unwrap_or_default()
    };
    let sections = form
        .sections
        .iter()
        .map(|section| VisitSectionView {
            name: section.name.clone(),
            status: match section.status {
                ItemStatus::Overdue => "Overdue",
                ItemStatus::Due => "Due",
                ItemStatus::Done => "Done",
            },
            status_class: match section.status {
                ItemStatus::Overdue => "nhsuk-tag--red",
                ItemStatus::Due => "nhsuk-tag--yellow",
                ItemStatus::Done => "nhsuk-tag--green",
            },
            last_done: section.last_done.as_deref().map(views::stored_date).unwrap_or_default(),
            phq9: section.item == "phq9",
            note: section.note.clone().unwrap_or_default(),
            fields: section
                .fields
                .iter()
                .map(|field| {
                    let value = answers.get(&field.name).cloned().unwrap_or_default();
                    VisitFieldView {
                        id: format!("field-{}", field.name.replace('_', "-")),
                        name: field.name.clone(),
                        label: field.label.clone(),
                        hint: field.hint.clone(),
                        unit: field.unit.clone(),
                        error: error_for(&field.name),
                        kind: match field.kind {
                            FieldKind::Number => "number",
                            FieldKind::Choice(_) => "choice",
                            FieldKind::Done => "done",
                            FieldKind::SampleSent => "sample",
                        },
                        options: match &field.kind {
                            FieldKind::Choice(options) => options
                                .iter()
                                .map(|(option, label, _)| (option.clone(), label.clone(), *option == value))
                                .collect(),
                            _ => vec![],
                        },
                        value,
                    }
                })
                .collect(),
        })
        .collect();
    let error_list: Vec<FieldError> = errors
        .0
        .iter()
        .map(|(field, message)| FieldError {
            href: format!("#field-{}", field.replace('_', "-")),
            text: message.clone(),
        })
        .collect();
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Information-gathering visit")
        .with_errors(!error_list.is_empty());
    page(&VisitTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        action: format!("/patients/record/{reference}/visit"),
        record_href: format!("/patients/record/{reference}"),
        name,
        nhs_number,
        sections,
        errors: error_list,
    })
}
