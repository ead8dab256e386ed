//! Booking the two Year of Care contacts: a healthcare assistant's slot for information gathering
//! and a longer nurse or GP slot for the care and support planning conversation, from Concord's
//! clinic lists, beside the appointments recorded from the GP system's appointment book so staff
//! see one schedule (`docs/booking.md`).
//!
//! Invariants: a slot known to be taken (booked in Concord, or overlapping an appointment in the
//! GP system's book with a clinician of the same role) is never offered; a booking moves the
//! person's stage in the same transaction as it takes the slot, or does neither; every change is
//! audited by the store in that transaction, and reading the schedule (identifiable) is audited.
//! Clinic times are UK civil time; they are stored in UTC, as imported appointments are.

use concord_domain::access::Permission;
use concord_domain::audit::AuditAction;
use concord_domain::cycle::{CycleEvent, Stage};
use concord_domain::organisation::OdsCode;
use concord_domain::uk_time::{uk_time_to_utc, utc_to_uk_time};
use concord_store::{CycleChange, CycleRow, GpAppointmentSync, NewAuditEvent, NewClinicList, NewSlot, SlotRow};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

use crate::cycle::Caller;
use crate::status::{date_text, timestamp};
use crate::{AppError, Concord};

/// The conversation's default length: a "double appointment" (two standard 10-minute slots), the
/// time Year of Care practices usually give the care and support planning conversation. Each
/// clinic list may set its own ([`ClinicRequest::minutes`]).
pub const CONVERSATION_MINUTES: i64 = 20;

/// Information gathering's default length: one visit for the tests and measurements of every
/// condition the person has (bloods, urine, blood pressure, weight, foot check). Configurable
/// per clinic list like the conversation's.
pub const INFORMATION_GATHERING_MINUTES: i64 = 20;

/// Shortest and longest slot a clinic list may have.
pub const MIN_SLOT_MINUTES: i64 = 5;
pub const MAX_SLOT_MINUTES: i64 = 90;

/// The longest span a list of slots or the schedule covers in one request.
pub const MAX_DAYS_LISTED: i64 = 366;

/// Which of the two contacts a slot is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotPurpose {
    InformationGathering,
    Conversation,
}

impl SlotPurpose {
    pub const ALL: [SlotPurpose; 2] = [SlotPurpose::InformationGathering, SlotPurpose::Conversation];

    pub fn as_str(self) -> &'static str {
        match self {
            SlotPurpose::InformationGathering => "information_gathering",
            SlotPurpose::Conversation => "conversation",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL.into_iter().find(|purpose| purpose.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            SlotPurpose::InformationGathering => "Information gathering",
            SlotPurpose::Conversation => "Care and support planning conversation",
        }
    }

    pub fn default_minutes(self) -> i64 {
        match self {
            SlotPurpose::InformationGathering => INFORMATION_GATHERING_MINUTES,
            SlotPurpose::Conversation => CONVERSATION_MINUTES,
        }
    }

    /// Who may hold a slot for this contact (roles as encounters spell them): tests are taken by
    /// a healthcare assistant (or a nurse); the conversation is with a nurse, GP or pharmacist.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            SlotPurpose::InformationGathering => &["hca", "nurse"],
            SlotPurpose::Conversation => &["nurse", "gp", "pharmacist"],
        }
    }

    /// The cycle event a booking of this contact records.
    pub fn event(self) -> CycleEvent {
        match self {
            SlotPurpose::InformationGathering => CycleEvent::BookInformationGathering,
            SlotPurpose::Conversation => CycleEvent::BookConversation,
        }
    }

    /// The stage a booking of this contact leads to.
    pub fn booked_stage(self) -> Stage {
        match self {
            SlotPurpose::InformationGathering => Stage::InformationGatheringBooked,
            SlotPurpose::Conversation => Stage::ConversationBooked,
        }
    }
}

/// A clinic list to create, as staff enter it (validated by [`Concord::create_clinic`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicRequest {
    /// The practice's ODS code.
    pub practice: String,
    /// `information_gathering` or `conversation`.
    pub purpose: String,
    /// `hca`, `nurse`, `gp` or `pharmacist` (see [`SlotPurpose::roles`]).
    pub clinician_role: String,
    pub clinician_name: String,
    pub date: Date,
    /// UK civil time of the first slot.
    pub first_start: Time,
    /// UK civil time of the last slot (it may run past this).
    pub last_start: Time,
    /// Slot length; the purpose's default when `None`.
    pub minutes: Option<i64>,
}

/// A slot with its start in UK civil time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub row: SlotRow,
    pub local_start: PrimitiveDateTime,
}

/// The state of a slot in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// A Concord slot that can be offered.
    Free,
    /// Booked in Concord.
    Booked,
    /// A Concord slot overlapping an appointment in the GP system's book: not offered.
    TakenElsewhere,
    /// Booked in Concord and also overlapping an appointment in the GP system's book (booked in
    /// both before the GP system's book was last imported): someone must move one of them.
    DoubleBooked,
    /// An appointment recorded from the GP system's book.
    GpSystem,
}

impl SlotState {
    pub fn of(slot: &SlotRow) -> Self {
        match (slot.source.as_str(), slot.booked_patient_id.is_some(), slot.taken_elsewhere) {
            ("gp_system", _, _) => SlotState::GpSystem,
            (_, true, true) => SlotState::DoubleBooked,
            (_, true, false) => SlotState::Booked,
            (_, false, true) => SlotState::TakenElsewhere,
            (_, false, false) => SlotState::Free,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SlotState::Free => "Free",
            SlotState::Booked => "Booked",
            SlotState::TakenElsewhere => "Taken in the GP system",
            SlotState::DoubleBooked => "Double-booked with the GP system",
            SlotState::GpSystem => "GP system appointment",
        }
    }
}

/// One line of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEntry {
    pub slot: SlotRow,
    pub local_start: PrimitiveDateTime,
    pub state: SlotState,
    pub nhs_number: Option<String>,
    /// "FAMILY, Given" of the person booked.
    pub patient_name: Option<String>,
}

/// A booking made: the slot and the person's cycle after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub slot: Slot,
    pub cycle: CycleRow,
}

impl Concord {
    /// Creates a clinic list: slots every `minutes` from the first start to the last, for one
    /// clinician. Refused with the field at fault; a slot the clinician already has at one of the
    /// times refuses the whole list, naming the time.
    pub async fn create_clinic(
        &self,
        caller: Caller<'_>,
        request: &ClinicRequest,
        now: OffsetDateTime,
    ) -> Result<Vec<Slot>, AppError> {
        caller.require(Permission::ManageCycle)?;
        let practice = self.known_practice(&request.practice).await?;
        let purpose = SlotPurpose::parse(&request.purpose).ok_or_else(|| {
            AppError::Invalid(format!(
                "Purpose: {:?} is not information_gathering or conversation",
                request.purpose.trim()
            ))
        })?;
        let role = request.clinician_role.trim().to_ascii_lowercase();
        if !purpose.roles().contains(&role.as_str()) {
            return Err(AppError::Invalid(format!(
                "Clinician role: {:?} cannot hold {} slots; use one of {}",
                request.clinician_role.trim(),
                purpose.as_str(),
                purpose.roles().join(", ")
            )));
        }
        let name = request.clinician_name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(AppError::Invalid("Clinician name: enter the name staff know the clinician by".into()));
        }
        if name.chars().count() > 100 {
            return Err(AppError::Invalid("Clinician name: 100 characters or fewer".into()));
        }
        if name.starts_with(concord_store::GP_SYSTEM_NAME_PREFIX) {
            return Err(AppError::Invalid(format!(
                "Clinician name: names beginning \"{}\" are kept for the GP system's appointment book",
                concord_store::GP_SYSTEM_NAME_PREFIX
            )));
        }
        let minutes = request.minutes.unwrap_or(purpose.default_minutes());
        if !(MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&minutes) {
            return Err(AppError::Invalid(format!(
                "Minutes: a slot is {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES} minutes long, not {minutes}"
            )));
        }
        if request.last_start < request.first_start {
            return Err(AppError::Invalid(format!(
                "Last start time: {} is before the first start time {}",
                clock(request.last_start),
                clock(request.first_start)
            )));
        }
        let first = request.date.with_time(request.first_start);
        if uk_time_to_utc(first) <= now {
            return Err(AppError::Invalid(format!(
                "Date and first start time: {} is in the past; a clinic list is for times to come",
                local_label(first)
            )));
        }
        let last = request.date.with_time(request.last_start);
        let mut slots = Vec::new();
        let mut start = first;
        while start <= last {
            slots.push(NewSlot { starts_at: timestamp(uk_time_to_utc(start)), label: local_label(start) });
            start += Duration::minutes(minutes);
        }
        let list = NewClinicList {
            practice_ods_code: practice.clone(),
            purpose: purpose.as_str().into(),
            clinician_role: role,
            clinician_name: name,
            slots,
            minutes,
        };
        let created = self.store.create_clinic_list(&list, &caller.actor(), &timestamp(now)).await?;
        // New slots may already overlap appointments in the GP system's book.
        self.store.sync_gp_appointments(&practice, &caller.actor(), &timestamp(now)).await?;
        let mut slots = Vec::with_capacity(created.len());
        for row in created {
            let row = self.store.clinic_slot(&row.id).await?.unwrap_or(row);
            slots.push(slot(row)?);
        }
        Ok(slots)
    }

    /// Brings a practice's slots in line with the GP system's appointment book as last imported
    /// (see [`concord_store::Store::sync_gp_appointments`]). Listing free slots or the schedule
    /// and booking do this first.
    pub async fn sync_gp_appointments(
        &self,
        caller: Caller<'_>,
        practice: &str,
        now: OffsetDateTime,
    ) -> Result<GpAppointmentSync, AppError> {
        caller.require(Permission::ManageCycle)?;
        let practice = practice_code(practice)?;
        Ok(self.store.sync_gp_appointments(&practice, &caller.actor(), &timestamp(now)).await?)
    }

    /// Slots that can be offered for one contact at a practice, on the UK dates `from` to `to`
    /// (both included) and not yet started, soonest first.
    pub async fn free_slots(
        &self,
        caller: Caller<'_>,
        practice: &str,
        purpose: &str,
        from: Date,
        to: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<Slot>, AppError> {
        caller.require(Permission::ViewPracticeLists)?;
        let practice = practice_code(practice)?;
        let purpose = SlotPurpose::parse(purpose).ok_or_else(|| {
            AppError::Invalid(format!("Purpose: {:?} is not information_gathering or conversation", purpose.trim()))
        })?;
        let (start, end) = date_range(from, to)?;
        let now_text = timestamp(now);
        self.store.sync_gp_appointments(&practice, &caller.actor(), &now_text).await?;
        let start = if start > now { timestamp(start) } else { now_text };
        let rows = self.store.free_slots(&practice, purpose.as_str(), &start, &timestamp(end)).await?;
        rows.into_iter().map(slot).collect()
    }

    /// The practice's schedule on the UK dates `from` to `to` (both included): Concord's slots,
    /// free or booked, and the appointments recorded from the GP system's book, by time. The
    /// GP system's book is brought in first; reading the schedule is audited.
    pub async fn schedule(
        &self,
        caller: Caller<'_>,
        practice: &str,
        from: Date,
        to: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<ScheduleEntry>, AppError> {
        caller.require(Permission::ViewPracticeLists)?;
        let practice = practice_code(practice)?;
        let (start, end) = date_range(from, to)?;
        self.store.sync_gp_appointments(&practice, &caller.actor(), &timestamp(now)).await?;
        let rows = self.store.clinic_schedule(&practice, &timestamp(start), &timestamp(end)).await?;
        self.store
            .record_audit(&[NewAuditEvent {
                actor: caller.actor(),
                organisation: caller.organisation(),
                patient_id: None,
                action: AuditAction::Read,
                entity: "ClinicSchedule".into(),
                detail: format!(
                    "{} slot(s) of {practice} from {} to {} listed, {} booked",
                    rows.len(),
                    date_text(from),
                    date_text(to),
                    rows.iter().filter(|row| row.slot.booked_patient_id.is_some()).count()
                ),
                request_id: None,
                purpose: None,
            }])
            .await?;
        rows.into_iter()
            .map(|row| {
                let patient_name = match (&row.family_name, &row.given_name) {
                    (Some(family), Some(given)) => Some(format!("{}, {given}", family.to_uppercase())),
                    _ => None,
                };
                let state = SlotState::of(&row.slot);
                let Slot { row: slot, local_start } = slot(row.slot)?;
                Ok(ScheduleEntry { slot, local_start, state, nhs_number: row.nhs_number, patient_name })
            })
            .collect()
    }

    /// Books a person into a slot: the slot and the stage change (information gathering booked,
    /// or conversation booked) are written together or not at all. Refused when the cycle does
    /// not allow the booking (the cycle's reason), for a slot of another practice, a slot that
    /// has started, or a slot someone has just taken.
    ///
    /// A person whose booking was cancelled is still at the booked stage; they are rebooked into
    /// another slot of the same contact (recorded in the cycle's history, the stage unchanged).
    pub async fn book(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        slot_id: &str,
        now: OffsetDateTime,
    ) -> Result<Booking, AppError> {
        caller.require(Permission::ManageCycle)?;
        let actor = caller.actor();
        let now_text = timestamp(now);
        let Some(row) = self.store.clinic_slot(slot_id).await? else {
            return Err(AppError::NotFound("No such slot".into()));
        };
        if row.source != "concord" {
            return Err(AppError::Refused(
                "This is an appointment in the GP system's book; only Concord's own slots can be booked here".into(),
            ));
        }
        let purpose = SlotPurpose::parse(&row.purpose)
            .ok_or_else(|| AppError::Invalid(format!("stored slot {} has an unknown purpose", row.id)))?;
        let booked = slot(row)?;
        if uk_time_to_utc(booked.local_start) <= now {
            return Err(AppError::Refused("This slot has already started; choose another".into()));
        }
        let Some(patient) = self.store.patient(patient_id).await? else {
            return Err(AppError::NotFound("No such person".into()));
        };
        let their_practice = patient.patient.registration.as_ref().map(|registration| registration.practice.as_str());
        if their_practice != Some(booked.row.practice_ods_code.as_str()) {
            return Err(AppError::Refused(format!(
                "This slot is at practice {}, not at the person's practice ({})",
                booked.row.practice_ods_code,
                their_practice.unwrap_or("none recorded")
            )));
        }
        // An appointment just imported from the GP system takes its slots before this booking.
        self.store.sync_gp_appointments(&booked.row.practice_ods_code, &actor, &now_text).await?;

        let on = utc_to_uk_time(now).date();
        let note = Some(format!(
            "{} with {} at {}",
            purpose.label(),
            booked.row.clinician_name,
            local_label(booked.local_start)
        ));
        let existing = self.store.cycle(patient_id, i64::from(on.year())).await?;
        let change = match existing {
            Some(cycle) if cycle.stage == purpose.booked_stage().as_str() => {
                if patient.patient.death_date.is_some_and(|died| died <= on) {
                    return Err(AppError::Refused("This person has died; only their death can be recorded".into()));
                }
                let held = self.store.booked_slots(patient_id, &now_text).await?;
                if let Some(held) = held.into_iter().find(|held| held.purpose == purpose.as_str()) {
                    let held = slot(held)?;
                    return Err(AppError::Refused(format!(
                        "This person is already booked for {} with {} at {}; cancel that booking first",
                        purpose.label().to_lowercase(),
                        held.row.clinician_name,
                        local_label(held.local_start)
                    )));
                }
                CycleChange {
                    existed: true,
                    event: purpose.event().as_str().into(),
                    from_stage: cycle.stage.clone(),
                    on_date: date_text(on),
                    note: note.map(|note| format!("{note} (rebooked after a cancellation)")),
                    messages: Vec::new(),
                    snomed_code: concord_codelists::cycle_codes::code_for(purpose.event().as_str()),
                    after: cycle,
                }
            }
            _ => self.prepare_cycle_change(caller, patient_id, purpose.event(), on, note).await?,
        };
        let version = self.store.book_slot(slot_id, patient_id, &change, &actor, &now_text).await?;
        let row = self.store.clinic_slot(slot_id).await?.ok_or_else(|| AppError::NotFound("No such slot".into()))?;
        Ok(Booking { slot: slot(row)?, cycle: CycleRow { version, ..change.after } })
    }

    /// Cancels a Concord booking that has not started, freeing the slot for someone else. The
    /// person stays at the booked stage, to be rebooked ([`Concord::book`]).
    pub async fn cancel(&self, caller: Caller<'_>, slot_id: &str, now: OffsetDateTime) -> Result<Slot, AppError> {
        caller.require(Permission::ManageCycle)?;
        let Some(row) = self.store.clinic_slot(slot_id).await? else {
            return Err(AppError::NotFound("No such slot".into()));
        };
        if row.source != "concord" {
            return Err(AppError::Refused(
                "This appointment was booked in the GP system; cancel it there (the next import frees it here)".into(),
            ));
        }
        if row.booked_patient_id.is_none() {
            return Err(AppError::Refused("This slot is not booked".into()));
        }
        let start = slot(row)?;
        if uk_time_to_utc(start.local_start) <= now {
            return Err(AppError::Refused(
                "This appointment has already started; record whether the person attended instead".into(),
            ));
        }
        let cancelled = self.store.cancel_booking(slot_id, &caller.actor(), &timestamp(now)).await?;
        slot(cancelled)
    }

    /// A practice Concord knows (an organisation of kind practice), as its ODS code.
    async fn known_practice(&self, practice: &str) -> Result<String, AppError> {
        let code = practice_code(practice)?;
        let known = self.store.organisations().await?;
        if known.iter().any(|(ods_code, _, kind, _)| *ods_code == code && kind == "practice") {
            Ok(code)
        } else {
            Err(AppError::Invalid(format!(
                "Practice: {code} is not a practice Concord knows (import the organisations file first)"
            )))
        }
    }
}

fn practice_code(practice: &str) -> Result<String, AppError> {
    OdsCode::parse(practice)
        .map(|code| code.as_str().to_owned())
        .map_err(|error| AppError::Invalid(format!("Practice: {error}")))
}

/// The UTC bounds `[from 00:00, the day after to 00:00)` of UK dates, checked.
fn date_range(from: Date, to: Date) -> Result<(OffsetDateTime, OffsetDateTime), AppError> {
    if to < from {
        return Err(AppError::Invalid(format!("To: {} is before the from date {}", date_text(to), date_text(from))));
    }
    if (to - from).whole_days() >= MAX_DAYS_LISTED {
        return Err(AppError::Invalid(format!("To: list at most {MAX_DAYS_LISTED} days at a time")));
    }
    let after = to.next_day().ok_or_else(|| AppError::Invalid("To: the date is out of range".into()))?;
    Ok((uk_time_to_utc(from.midnight()), uk_time_to_utc(after.midnight())))
}

pub(crate) fn slot(row: SlotRow) -> Result<Slot, AppError> {
    let at = OffsetDateTime::parse(&row.starts_at, &Rfc3339)
        .map_err(|_| AppError::Invalid(format!("stored slot {} has an unreadable start time", row.id)))?;
    Ok(Slot { local_start: utc_to_uk_time(at), row })
}

fn clock(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// How staff read a slot's time: `09:30 on 2026-12-01` (UK civil time).
pub fn local_label(local: PrimitiveDateTime) -> String {
    format!("{} on {}", clock(local.time()), date_text(local.date()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_parse_and_name_their_events() {
        assert_eq!(SlotPurpose::parse(" Information-Gathering "), Some(SlotPurpose::InformationGathering));
        assert_eq!(SlotPurpose::parse("conversation"), Some(SlotPurpose::Conversation));
        assert_eq!(SlotPurpose::parse("review"), None);
        assert_eq!(SlotPurpose::Conversation.event(), CycleEvent::BookConversation);
        assert_eq!(SlotPurpose::Conversation.default_minutes(), CONVERSATION_MINUTES);
        assert!(!SlotPurpose::Conversation.roles().contains(&"hca"));
    }
}
