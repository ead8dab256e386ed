//! Clinic lists and booking: the practice's schedule for a day (Concord's slots and the GP
//! system's appointments together), creating a clinic list, and booking a person into a slot.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use concord_app::AppError;
use concord_app::booking::{ClinicRequest, SlotPurpose, SlotState};
use concord_app::cycle::Caller;
use concord_domain::access::Permission;
use concord_domain::cycle::Stage;
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{BookTemplate, ClinicsTemplate, FieldError, Layout, ScheduleRowView, SlotChoiceView, page};
use crate::views;

/// Days of free slots offered when booking.
const BOOKING_HORIZON_DAYS: i64 = 28;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DayQuery {
    #[serde(default)]
    date: String,
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

fn parse_time(text: &str) -> Option<Time> {
    let (hour, minute) = text.trim().split_once(':')?;
    Time::from_hms(hour.parse().ok()?, minute.parse().ok()?, 0).ok()
}

fn practice_of(signed_in: &SignedIn) -> Result<String, PageError> {
    signed_in
        .staff
        .organisation
        .clone()
        .ok_or_else(|| PageError::BadRequest("Your account is not linked to a practice, so it has no clinics.".into()))
}

pub(crate) async fn clinics(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Query(query): Query<DayQuery>,
) -> Result<Response, PageError> {
    let day = parse_date(&query.date).unwrap_or_else(|| OffsetDateTime::now_utc().date());
    render_clinics(&state, &context, &signed_in, day, &Default::default(), &[], None).await
}

#[derive(Default)]
pub(crate) struct ClinicForm {
    purpose: String,
    role: String,
    clinician: String,
    date: String,
    first: String,
    last: String,
    minutes: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_clinics(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    day: Date,
    form: &ClinicForm,
    errors: &[FieldError],
    created: Option<String>,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ViewPracticeLists)?;
    let practice = practice_of(signed_in)?;
    let now = OffsetDateTime::now_utc();
    let entries = state.concord.schedule(Caller::Staff(&signed_in.staff), &practice, day, day, now).await?;
    let rows = entries
        .iter()
        .map(|entry| ScheduleRowView {
            time: format!("{:02}:{:02}", entry.local_start.hour(), entry.local_start.minute()),
            minutes: entry.slot.minutes,
            purpose: SlotPurpose::parse(&entry.slot.purpose)
                .map_or_else(|| entry.slot.purpose.clone(), |p| p.label().to_owned()),
            clinician: entry.slot.clinician_name.clone(),
            state: match entry.state {
                SlotState::Free => "Free",
                SlotState::Booked => "Booked",
                SlotState::TakenElsewhere => "Taken in the GP system",
                SlotState::DoubleBooked => "Double-booked: move one",
                SlotState::GpSystem => "GP system appointment",
            },
            person: match (&entry.patient_name, &entry.slot.booked_patient_id) {
                (Some(name), Some(id)) => Some((
                    name.clone(),
                    format!("/patients/record/{}", state.refs.reference(&signed_in.session_key, id)),
                )),
                _ => None,
            },
        })
        .collect();
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Clinics")
        .current("/clinics")
        .with_errors(!errors.is_empty());
    let date_link = |date: Date| format!("/clinics?date={}", views_date(date));
    page(&ClinicsTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        day: views::long_date(day),
        previous: date_link(day - Duration::days(1)),
        next: date_link(day + Duration::days(1)),
        rows,
        can_create: signed_in.staff.require(Permission::ManageCycle).is_ok(),
        errors: errors.to_vec(),
        created,
        purpose: form.purpose.clone(),
        role: form.role.clone(),
        clinician: form.clinician.clone(),
        date: if form.date.is_empty() { views_date(day) } else { form.date.clone() },
        first: if form.first.is_empty() { "09:00".into() } else { form.first.clone() },
        last: if form.last.is_empty() { "11:40".into() } else { form.last.clone() },
        minutes: if form.minutes.is_empty() { "20".into() } else { form.minutes.clone() },
        week_from: views_date(day),
        week_to: views_date(day + Duration::days(6)),
        week_label: format!("{} to {}", views::long_date(day), views::long_date(day + Duration::days(6))),
    })
}

fn views_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day())
}

/// Creates a clinic list from the form; errors name the field.
pub(crate) async fn create_clinic(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ManageCycle)?;
    let practice = practice_of(&signed_in)?;
    let field = |name: &str| {
        pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned()).unwrap_or_default()
    };
    let form = ClinicForm {
        purpose: field("purpose"),
        role: field("role"),
        clinician: field("clinician"),
        date: field("date"),
        first: field("first"),
        last: field("last"),
        minutes: field("minutes"),
    };
    let mut errors = Vec::new();
    let date = parse_date(&form.date);
    if date.is_none() {
        errors.push(FieldError {
            href: "#date".into(),
            text: "Enter the clinic date as YYYY-MM-DD, for example 2026-12-14".into(),
        });
    }
    let first = parse_time(&form.first);
    if first.is_none() {
        errors.push(FieldError {
            href: "#first".into(),
            text: "Enter the first appointment time as HH:MM, for example 09:00".into(),
        });
    }
    let last = parse_time(&form.last);
    if last.is_none() {
        errors.push(FieldError {
            href: "#last".into(),
            text: "Enter the last appointment time as HH:MM, for example 11:40".into(),
        });
    }
    let minutes = if form.minutes.is_empty() { None } else { form.minutes.parse::<i64>().ok() };
    if !form.minutes.is_empty() && minutes.is_none() {
        errors.push(FieldError {
            href: "#minutes".into(),
            text: "Appointment length must be a whole number of minutes".into(),
        });
    }
    let day = date.unwrap_or_else(|| OffsetDateTime::now_utc().date());
    if let (true, Some(date), Some(first), Some(last)) = (errors.is_empty(), date, first, last) {
        let request = ClinicRequest {
            practice,
            purpose: form.purpose.clone(),
            clinician_role: form.role.clone(),
            clinician_name: form.clinician.clone(),
            date,
            first_start: first,
            last_start: last,
            minutes,
        };
        match state.concord.create_clinic(Caller::Staff(&signed_in.staff), &request, OffsetDateTime::now_utc()).await {
            Ok(slots) => {
                let message = format!(
                    "{} {} created.",
                    slots.len(),
                    if slots.len() == 1 { "appointment" } else { "appointments" }
                );
                return render_clinics(&state, &context, &signed_in, day, &ClinicForm::default(), &[], Some(message))
                    .await;
            }
            Err(AppError::Invalid(message) | AppError::Refused(message)) => {
                let href = match message.split(':').next().unwrap_or("").trim().to_lowercase().as_str() {
                    "purpose" => "#purpose",
                    "clinician role" | "role" => "#role",
                    "clinician" | "clinician name" => "#clinician",
                    "minutes" | "appointment length" => "#minutes",
                    _ => "#date",
                };
                errors.push(FieldError { href: href.into(), text: message });
            }
            Err(AppError::Store(concord_store::StoreError::Conflict(message))) => {
                errors.push(FieldError { href: "#first".into(), text: message });
            }
            Err(error) => return Err(error.into()),
        }
    }
    render_clinics(&state, &context, &signed_in, day, &form, &errors, None).await
}

/// Which contact a person at this stage can be booked for.
fn purpose_for(stage: Option<Stage>) -> Option<SlotPurpose> {
    match stage {
        None | Some(Stage::Due | Stage::Invited | Stage::InformationGatheringBooked) => {
            Some(SlotPurpose::InformationGathering)
        }
        Some(Stage::ResultsReviewed | Stage::PreparationSent | Stage::ConversationBooked) => {
            Some(SlotPurpose::Conversation)
        }
        Some(Stage::DidNotAttend) => Some(SlotPurpose::InformationGathering),
        _ => None,
    }
}

pub(crate) async fn book_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    render_book(&state, &context, &signed_in, &reference, None, None).await
}

async fn render_book(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    error: Option<String>,
    booked: Option<String>,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ManageCycle)?;
    let patient_id = state.refs.resolve(&signed_in.session_key, reference).ok_or(PageError::NotFound)?;
    let row = state.concord.store.patient(&patient_id).await.map_err(AppError::from)?.ok_or(PageError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let cycle = state.concord.store.cycle(&patient_id, i64::from(now.year())).await.map_err(AppError::from)?;
    let stage = cycle.as_ref().and_then(|cycle| Stage::parse(&cycle.stage));
    let practice = row.patient.registration.as_ref().map(|registration| registration.practice.as_str().to_owned());
    let purpose = purpose_for(stage);
    let slots = match (&practice, purpose) {
        (Some(practice), Some(purpose)) => {
            state
                .concord
                .free_slots(
                    Caller::Staff(&signed_in.staff),
                    practice,
                    purpose.as_str(),
                    now.date(),
                    now.date() + Duration::days(BOOKING_HORIZON_DAYS),
                    now,
                )
                .await?
        }
        _ => vec![],
    };
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Book an appointment")
        .with_errors(error.is_some());
    page(&BookTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        action: format!("/patients/record/{reference}/book"),
        record_href: format!("/patients/record/{reference}"),
        name: views::clinical_name(&row.patient.name.family, &row.patient.name.given),
        stage: stage.map_or("Due", Stage::label).to_owned(),
        purpose: purpose.map(|purpose| purpose.label().to_owned()).unwrap_or_default(),
        slots: slots
            .iter()
            .map(|slot| SlotChoiceView {
                id: slot.row.id.clone(),
                label: format!(
                    "{} at {:02}:{:02}, {} ({} minutes)",
                    views::long_date(slot.local_start.date()),
                    slot.local_start.hour(),
                    slot.local_start.minute(),
                    slot.row.clinician_name,
                    slot.row.minutes
                ),
            })
            .collect(),
        errors: error.map(|text| vec![FieldError { href: "#slot".into(), text }]).unwrap_or_default(),
        booked,
    })
}

pub(crate) async fn book(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ManageCycle)?;
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let slot = pairs.iter().find(|(key, _)| key == "slot").map(|(_, value)| value.clone()).unwrap_or_default();
    if slot.is_empty() {
        return render_book(&state, &context, &signed_in, &reference, Some("Choose an appointment".into()), None).await;
    }
    match state.concord.book(Caller::Staff(&signed_in.staff), &patient_id, &slot, OffsetDateTime::now_utc()).await {
        Ok(booking) => {
            let message = format!(
                "Booked: {} at {:02}:{:02} with {}.",
                views::long_date(booking.slot.local_start.date()),
                booking.slot.local_start.hour(),
                booking.slot.local_start.minute(),
                booking.slot.row.clinician_name
            );
            render_book(&state, &context, &signed_in, &reference, None, Some(message)).await
        }
        Err(AppError::Refused(message) | AppError::Invalid(message)) => {
            render_book(&state, &context, &signed_in, &reference, Some(message), None).await
        }
        Err(AppError::Store(concord_store::StoreError::Conflict(message))) => {
            render_book(&state, &context, &signed_in, &reference, Some(message), None).await
        }
        Err(error) => Err(error.into()),
    }
}
