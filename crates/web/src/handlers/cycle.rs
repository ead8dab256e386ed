//! The Year of Care worklist (who is due, risk-ranked, with bulk invitations) and the triage
//! queue (red flags waiting for a clinician's action).
//!
//! People are linked and selected by the session's opaque references, never by identifiers; the
//! filters carry only a register and a stage.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use concord_app::AppError;
use concord_app::cycle::{Caller, TriageEntry, WorklistEntry};
use concord_domain::access::Permission;
use concord_domain::cycle::{CycleEvent, Stage};
use concord_store::WorklistFilter;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionForm, SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{
    BulkOutcome, FieldError, FlagView, Layout, Option_, ReviewQueueView, TriageEntryView, TriageTemplate,
    WorklistRowView, WorklistTemplate, page,
};
use crate::views;

/// People shown per worklist page.
const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WorklistQuery {
    #[serde(default)]
    register: String,
    #[serde(default)]
    stage: String,
    /// Who the conversation is assigned to (nurse, gp, pharmacist).
    #[serde(default)]
    assigned: String,
    #[serde(default)]
    page: Option<u32>,
}

pub(crate) async fn worklist(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Query(query): Query<WorklistQuery>,
) -> Result<Response, PageError> {
    render_worklist(&state, &context, &signed_in, &query, None).await
}

async fn render_worklist(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    query: &WorklistQuery,
    outcome: Option<BulkOutcome>,
) -> Result<Response, PageError> {
    let staff = &signed_in.staff;
    staff.require(Permission::ViewPracticeLists)?;
    let register = state.concord.catalogue.register(&query.register).map(|register| register.id.clone());
    let stage = Stage::parse(&query.stage);
    let assigned =
        concord_app::review::PROFESSIONALS.iter().find(|(id, _)| *id == query.assigned).map(|(id, _)| (*id).to_owned());
    let page_number = query.page.unwrap_or(1).clamp(1, 10_000);
    let filter = WorklistFilter {
        practice: staff.organisation.clone(),
        register: register.clone(),
        stage: stage.map(|stage| stage.as_str().to_owned()),
        assigned_to: assigned.clone(),
        ..WorklistFilter::default()
    };
    let now = OffsetDateTime::now_utc();
    let entries = state
        .concord
        .worklist(
            Caller::Staff(staff),
            &filter,
            now.date(),
            now,
            PAGE_SIZE + 1,
            (i64::from(page_number) - 1) * PAGE_SIZE,
        )
        .await?;
    let more = entries.len() as i64 > PAGE_SIZE;
    let opens_records = staff.require(Permission::ViewPatientRecord).is_ok();
    let books = staff.require(Permission::ManageCycle).is_ok();
    let rows = entries
        .iter()
        .take(PAGE_SIZE as usize)
        .map(|entry| {
            let mut row = row_view(state, signed_in, entry);
            if !opens_records {
                row.href.clear();
            }
            if books {
                row.book_href = format!("/patients/record/{}/book", row.reference);
            }
            row
        })
        .collect();
    let link = |page: u32| {
        let mut parts = vec![format!("page={page}")];
        if let Some(register) = &register {
            parts.push(format!("register={register}"));
        }
        if let Some(stage) = stage {
            parts.push(format!("stage={}", stage.as_str()));
        }
        if let Some(assigned) = &assigned {
            parts.push(format!("assigned={assigned}"));
        }
        format!("/worklist?{}", parts.join("&"))
    };
    let registers = state
        .concord
        .catalogue
        .registers
        .iter()
        .map(|definition| Option_ {
            value: definition.id.clone(),
            text: definition.name.clone(),
            selected: register.as_deref() == Some(definition.id.as_str()),
        })
        .collect();
    let professionals = concord_app::review::PROFESSIONALS
        .iter()
        .map(|(id, label)| Option_ {
            value: (*id).into(),
            text: (*label).into(),
            selected: assigned.as_deref() == Some(*id),
        })
        .collect();
    let stages = Stage::ALL
        .into_iter()
        .map(|each| Option_ { value: each.as_str().into(), text: each.label().into(), selected: stage == Some(each) })
        .collect();
    let has_errors = outcome.as_ref().is_some_and(|outcome| !outcome.refused.is_empty() || outcome.nothing_selected);
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Worklist")
        .current("/worklist")
        .with_errors(has_errors);
    page(&WorklistTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        can_invite: staff.require(Permission::ManageCycle).is_ok(),
        registers,
        stages,
        professionals,
        rows,
        outcome,
        page: page_number,
        previous: (page_number > 1).then(|| link(page_number - 1)),
        next: more.then(|| link(page_number + 1)),
        filtered: register.is_some() || stage.is_some() || assigned.is_some(),
    })
}

fn row_view(state: &AppState, signed_in: &SignedIn, entry: &WorklistEntry) -> WorklistRowView {
    let row = &entry.row;
    let reference = state.refs.reference(&signed_in.session_key, &row.patient_id);
    let register_name =
        |id: &str| state.concord.catalogue.register(id).map_or_else(|| id.to_owned(), |r| r.name.clone());
    WorklistRowView {
        href: format!("/patients/record/{reference}"),
        book_href: String::new(),
        reference,
        name: views::clinical_name(&row.family_name, &row.given_name),
        nhs_number: row.nhs_number.as_deref().map_or_else(|| "Not recorded".into(), views::nhs_number),
        birth_date: views::stored_date(&row.birth_date),
        conditions: row.registers.iter().map(|id| register_name(id)).collect::<Vec<_>>().join(", "),
        stage: Stage::parse(&row.stage).map_or_else(|| row.stage.clone(), |stage| stage.label().to_owned()),
        risk: row.risk_score,
        risk_reasons: row
            .risk_factors
            .iter()
            .map(|id| state.concord.risk_factor_description(id))
            .collect::<Vec<_>>()
            .join(", "),
        due: entry
            .due
            .iter()
            .map(|(_, name, status)| if status == "overdue" { format!("{name} (overdue)") } else { name.clone() })
            .collect(),
        open_flags: row.open_flags,
        invitations: row.invitations,
    }
}

/// Invites everyone selected, one stage change each; a refusal for one person (already invited
/// this fortnight, declined…) is listed by name and does not stop the others.
pub(crate) async fn invite(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ManageCycle)?;
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let query = WorklistQuery {
        register: field("register"),
        stage: field("stage"),
        assigned: field("assigned"),
        page: field("page").parse().ok(),
    };
    let selected: Vec<&str> =
        pairs.iter().filter(|(key, _)| key == "selected").map(|(_, value)| value.as_str()).collect();
    let booking = field("action") == "book";
    let mut outcome = BulkOutcome { done: 0, refused: Vec::new(), nothing_selected: selected.is_empty(), booking };
    let now = OffsetDateTime::now_utc();
    if booking {
        book_selected(&state, &signed_in, &selected, now, &mut outcome).await?;
        return render_worklist(&state, &context, &signed_in, &query, Some(outcome)).await;
    }
    for reference in selected {
        let Some(patient_id) = state.refs.resolve(&signed_in.session_key, reference) else {
            outcome.refused.push("A selected person is no longer on this page; reload the worklist.".into());
            continue;
        };
        match state
            .concord
            .record_cycle_event(Caller::Staff(&signed_in.staff), &patient_id, CycleEvent::Invite, now.date(), None, now)
            .await
        {
            Ok(_) => outcome.done += 1,
            Err(AppError::Refused(reason) | AppError::Invalid(reason)) => {
                let name = state
                    .concord
                    .store
                    .patient(&patient_id)
                    .await
                    .map_err(AppError::from)?
                    .map(|row| views::clinical_name(&row.patient.name.family, &row.patient.name.given))
                    .unwrap_or_default();
                outcome.refused.push(format!("{name}: {reason}"));
            }
            Err(error) => return Err(error.into()),
        }
    }
    render_worklist(&state, &context, &signed_in, &query, Some(outcome)).await
}

/// Books each selected person, in the worklist's order, into the next free information-gathering
/// slot at the practice within four weeks; a slot someone else takes meanwhile is skipped.
async fn book_selected(
    state: &AppState,
    signed_in: &SignedIn,
    selected: &[&str],
    now: OffsetDateTime,
    outcome: &mut BulkOutcome,
) -> Result<(), PageError> {
    let Some(practice) = signed_in.staff.organisation.clone() else {
        outcome.refused.push("Your account is not linked to a practice, so it has no clinics.".into());
        return Ok(());
    };
    let caller = Caller::Staff(&signed_in.staff);
    let mut slots = state
        .concord
        .free_slots(caller, &practice, "information_gathering", now.date(), now.date() + time::Duration::days(28), now)
        .await?
        .into_iter();
    for reference in selected {
        let Some(patient_id) = state.refs.resolve(&signed_in.session_key, reference) else {
            outcome.refused.push("A selected person is no longer on this page; reload the worklist.".into());
            continue;
        };
        let name = state
            .concord
            .store
            .patient(&patient_id)
            .await
            .map_err(AppError::from)?
            .map(|row| views::clinical_name(&row.patient.name.family, &row.patient.name.given))
            .unwrap_or_default();
        loop {
            let Some(slot) = slots.next() else {
                outcome.refused.push(format!("{name}: no free information-gathering appointment in the next 4 weeks"));
                break;
            };
            match state.concord.book(caller, &patient_id, &slot.row.id, now).await {
                Ok(_) => {
                    outcome.done += 1;
                    break;
                }
                // Someone took this slot meanwhile: try the next one.
                Err(AppError::Store(concord_store::StoreError::Conflict(_))) => continue,
                Err(AppError::Refused(reason) | AppError::Invalid(reason)) => {
                    outcome.refused.push(format!("{name}: {reason}"));
                    // The slot was not used: offer it to the next person.
                    let rest: Vec<_> = std::iter::once(slot).chain(slots.by_ref()).collect();
                    slots = rest.into_iter();
                    break;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(())
}

pub(crate) async fn triage(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    render_triage(&state, &context, &signed_in, None, None).await
}

async fn render_triage(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    failed: Option<(String, String)>,
    recorded: Option<String>,
) -> Result<Response, PageError> {
    let staff = &signed_in.staff;
    let now = OffsetDateTime::now_utc();
    let entries = state.concord.triage_queue(Caller::Staff(staff), now.date(), now).await?;
    let entries: Vec<TriageEntryView> =
        entries.iter().map(|entry| entry_view(state, signed_in, entry, failed.as_ref())).collect();
    let errors = failed
        .as_ref()
        .map(|(flag_id, message)| vec![FieldError { href: format!("#action-{flag_id}"), text: message.clone() }])
        .unwrap_or_default();
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Triage: red flags")
        .current("/triage")
        .with_errors(!errors.is_empty());
    let duty = match &staff.organisation {
        Some(practice) => state.concord.duty_clinician(practice, now.date()).await?.unwrap_or_default(),
        None => String::new(),
    };
    let to_review = state
        .concord
        .results_to_review(Caller::Staff(staff), now.date())
        .await?
        .into_iter()
        .map(|entry| {
            let reference = state.refs.reference(&signed_in.session_key, &entry.patient_id);
            ReviewQueueView {
                name: entry.name,
                review_href: format!("/patients/record/{reference}/review"),
                nhs_number: entry.nhs_number.as_deref().map_or_else(|| "Not recorded".into(), views::nhs_number),
                tests_done: views::stored_date(&entry.tests_done_on),
                complete: entry.awaited.is_empty(),
                laboratory: if entry.awaited.is_empty() {
                    "All in".to_owned()
                } else {
                    format!("Awaited: {}", entry.awaited.join(", "))
                },
                overdue: entry.overdue,
            }
        })
        .collect();
    page(&TriageTemplate {
        to_review,
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        can_act: staff.require(Permission::TriageResults).is_ok(),
        duty,
        has_practice: staff.organisation.is_some(),
        urgent: match entries.iter().filter(|entry| entry.flags.iter().any(|flag| flag.severity == "urgent")).count() {
            0 => String::new(),
            1 => "1 person with urgent red flags.".into(),
            count => format!("{count} people with urgent red flags."),
        },
        entries,
        errors,
        recorded,
    })
}

fn entry_view(
    state: &AppState,
    signed_in: &SignedIn,
    entry: &TriageEntry,
    failed: Option<&(String, String)>,
) -> TriageEntryView {
    let reference = state.refs.reference(&signed_in.session_key, &entry.patient_id);
    TriageEntryView {
        href: format!("/patients/record/{reference}"),
        name: entry.name.clone(),
        nhs_number: entry.nhs_number.as_deref().map_or_else(|| "Not recorded".into(), views::nhs_number),
        flags: entry
            .flags
            .iter()
            .map(|flag| FlagView {
                id: flag.id.clone(),
                patient: reference.clone(),
                severity: flag.severity.clone(),
                severity_label: match flag.severity.as_str() {
                    "urgent" => "Urgent",
                    "soon" => "Soon",
                    _ => "Routine",
                },
                severity_class: match flag.severity.as_str() {
                    "urgent" => "nhsuk-tag--red",
                    "soon" => "nhsuk-tag--orange",
                    _ => "nhsuk-tag--grey",
                },
                rule: state.concord.red_flag_rule_name(&flag.rule_id),
                value: flag.value_text.clone(),
                result_date: views::stored_date(&flag.result_date),
                recommended: flag.recommended.clone(),
                raised: views::stored_time(&flag.raised_at),
                escalated: flag.escalated_at.is_some(),
                duty: flag.duty_clinician.clone().unwrap_or_default(),
                error: failed.filter(|(id, _)| *id == flag.id).map(|(_, message)| message.clone()).unwrap_or_default(),
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    flag: String,
    #[serde(default)]
    patient: String,
    #[serde(default)]
    action: String,
}

/// Records the action taken on one flag; the queue is shown again with the outcome.
pub(crate) async fn record_action(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionForm(signed_in, form): SessionForm<ActionForm>,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::TriageResults)?;
    let patient_id = state.refs.resolve(&signed_in.session_key, &form.patient).ok_or(PageError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    match state.concord.record_flag_action(&signed_in.staff, &patient_id, &form.flag, &form.action, now).await {
        Ok(()) => {
            render_triage(
                &state,
                &context,
                &signed_in,
                None,
                Some("Action recorded. The flag has left the queue.".into()),
            )
            .await
        }
        Err(AppError::Invalid(message)) => {
            render_triage(&state, &context, &signed_in, Some((form.flag, message)), None).await
        }
        Err(AppError::Store(concord_store::StoreError::Conflict(message))) => {
            render_triage(&state, &context, &signed_in, Some((form.flag, message)), None).await
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DutyForm {}

/// Names the signed-in clinician as today's duty clinician for their practice.
pub(crate) async fn take_duty(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionForm(signed_in, _form): SessionForm<DutyForm>,
) -> Result<Response, PageError> {
    state.concord.take_duty(&signed_in.staff, OffsetDateTime::now_utc()).await?;
    render_triage(
        &state,
        &context,
        &signed_in,
        None,
        Some("You are today's duty clinician: urgent flags come to you.".into()),
    )
    .await
}
