//! The cycle's use cases: the worklist, moving a person through the cycle (invitations through
//! the outbox), and the triage queue of red flags.

use concord_domain::access::Permission;
use concord_domain::audit::{Actor, AuditAction};
use concord_domain::cycle::{AdjustmentReason, CycleEvent, CycleState, Stage};
use concord_domain::patient::ContactChannel;
use concord_store::{CycleChange, CycleRow, FlagRow, NewMessage, WorklistFilter, WorklistRow};
use time::{Date, OffsetDateTime};

use crate::record::StaffMember;
use crate::status::{date_text, timestamp};
use crate::{AppError, Concord};

/// Who asks: a signed-in staff member (role-checked) or an administrator at the console
/// (`concord report …`, which has the database itself), audited as the command line.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Staff(&'a StaffMember),
    Console,
}

impl Caller<'_> {
    pub(crate) fn require(&self, permission: Permission) -> Result<(), AppError> {
        match self {
            Caller::Staff(staff) => staff.require(permission),
            Caller::Console => Ok(()),
        }
    }

    pub(crate) fn actor(&self) -> Actor {
        match self {
            Caller::Staff(staff) => staff.actor(),
            Caller::Console => Actor::System("cli".into()),
        }
    }

    pub(crate) fn organisation(&self) -> Option<String> {
        match self {
            Caller::Staff(staff) => staff.organisation.clone(),
            Caller::Console => None,
        }
    }
}

/// One line of the worklist, with item names for display.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistEntry {
    pub row: WorklistRow,
    /// Outstanding checklist items as (item id, name, status).
    pub due: Vec<(String, String, String)>,
}

/// A person's open red flags, for the triage queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageEntry {
    pub patient_id: String,
    pub nhs_number: Option<String>,
    pub name: String,
    pub flags: Vec<FlagRow>,
}

impl Concord {
    pub(crate) async fn audit_list(&self, caller: Caller<'_>, entity: &str, detail: String) -> Result<(), AppError> {
        self.audit(caller.actor(), caller.organisation(), None, AuditAction::Read, entity, detail).await
    }

    /// The practice worklist, statuses brought up to date first. Reading it is audited.
    pub async fn worklist(
        &self,
        caller: Caller<'_>,
        filter: &WorklistFilter,
        today: Date,
        now: OffsetDateTime,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<WorklistEntry>, AppError> {
        caller.require(Permission::ViewPracticeLists)?;
        self.refresh_statuses(today, now).await?;
        let rules = concord_codelists::cycle_rules::CycleRules::shared()
            .map_err(|error| AppError::Invalid(format!("cycle rules: {error}")))?;
        let rows = self
            .store
            .worklist(
                filter,
                i64::from(today.year()),
                i64::from(today.month() as u8),
                limit.clamp(1, 100_000),
                offset.max(0),
            )
            .await?;
        self.audit_list(caller, "Worklist", format!("{} person(s) listed", rows.len())).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let due = row
                    .due
                    .iter()
                    .map(|(item, status)| {
                        (item.clone(), rules.item_name(item).unwrap_or(item).to_owned(), status.clone())
                    })
                    .collect();
                WorklistEntry { row, due }
            })
            .collect())
    }

    /// People with open red flags, urgent first, then the oldest result. Reading it is audited.
    pub async fn triage_queue(
        &self,
        caller: Caller<'_>,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<TriageEntry>, AppError> {
        caller.require(Permission::ViewPatientRecord)?;
        self.refresh_statuses(today, now).await?;
        self.escalate_overdue_flags(now).await?;
        let flags = self.store.red_flags(None, true).await?;
        let mut ids: Vec<String> = flags.iter().map(|flag| flag.patient_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let names = self.store.patient_names(&ids).await?;
        // People in the order of their first (most pressing) flag.
        let mut entries: Vec<TriageEntry> = Vec::new();
        let mut position: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for flag in flags {
            match position.get(&flag.patient_id) {
                Some(&at) => entries[at].flags.push(flag),
                None => {
                    let (nhs_number, name) = names
                        .get(&flag.patient_id)
                        .map(|(number, family, given)| (number.clone(), format!("{}, {given}", family.to_uppercase())))
                        .unwrap_or((None, String::from("(unknown person)")));
                    position.insert(flag.patient_id.clone(), entries.len());
                    entries.push(TriageEntry {
                        patient_id: flag.patient_id.clone(),
                        nhs_number,
                        name,
                        flags: vec![flag],
                    });
                }
            }
        }
        self.audit_list(caller, "TriageQueue", format!("{} person(s) with open flags listed", entries.len())).await?;
        Ok(entries)
    }

    /// Records the action taken on a red flag (professional preparation).
    pub async fn record_flag_action(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        flag_id: &str,
        action: &str,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        staff.require(Permission::TriageResults)?;
        let action = action.trim();
        if action.len() < 3 {
            return Err(AppError::Invalid(
                "Describe the action taken (for example: phoned, repeat bloods booked, referred)".into(),
            ));
        }
        if action.len() > 2000 {
            return Err(AppError::Invalid("The action must be 2,000 characters or fewer".into()));
        }
        self.store.record_flag_action(flag_id, patient_id, action, &staff.actor(), &timestamp(now)).await?;
        Ok(())
    }

    /// Applies a cycle event for a person on a date, with the messages it causes, in one
    /// transaction. Refused (with the reason) when the cycle does not allow it.
    pub async fn record_cycle_event(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        event: CycleEvent,
        on: Date,
        note: Option<String>,
        now: OffsetDateTime,
    ) -> Result<CycleRow, AppError> {
        let needed = match event {
            CycleEvent::ReviewResults => Permission::TriageResults,
            _ => Permission::ManageCycle,
        };
        caller.require(needed)?;
        let change = self.prepare_cycle_change(caller, patient_id, event, on, note).await?;
        let version = self.store.apply_cycle_change(&change, &caller.actor(), &timestamp(now)).await?;
        Ok(CycleRow { version, ..change.after })
    }

    /// The change an event makes to a person's cycle on a date, with the messages it causes;
    /// refused (with the domain's reason) when the cycle does not allow it. Writes nothing: the
    /// caller writes it (`apply_cycle_change`, or `book_slot` with a slot). Permission is the
    /// caller's to check.
    pub(crate) async fn prepare_cycle_change(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        event: CycleEvent,
        on: Date,
        note: Option<String>,
    ) -> Result<CycleChange, AppError> {
        let Some(patient) = self.store.patient(patient_id).await? else {
            return Err(AppError::NotFound("No such person".into()));
        };
        let year = i64::from(on.year());
        let existing = self.store.cycle(patient_id, year).await?;
        let before = match &existing {
            Some(row) => state_of(row)?,
            None => CycleState::new(Date::from_calendar_date(on.year(), time::Month::January, 1).unwrap_or(on)),
        };
        if patient.patient.death_date.is_some_and(|died| died <= on) && !matches!(event, CycleEvent::Die) {
            return Err(AppError::Refused("This person has died; only their death can be recorded".into()));
        }
        let after = before.apply(event, on).map_err(|error| AppError::Refused(error.to_string()))?;
        let mut messages = Vec::new();
        if event == CycleEvent::Invite {
            messages.push(invitation(&patient.patient, after.invitations, on));
        }
        let base = existing.clone().unwrap_or_else(|| CycleRow {
            id: concord_store::new_id(),
            patient_id: patient_id.to_owned(),
            cycle_year: year,
            stage: Stage::Due.as_str().into(),
            stage_since: date_text(before.since),
            invitations: 0,
            last_invited: None,
            adjustment: None,
            before_dna: None,
            assigned_to: None,
            results_reviewed_by: None,
            comment_for_person: None,
            version: 0,
        });
        let mut row = CycleRow {
            stage: after.stage.as_str().into(),
            stage_since: date_text(after.since),
            invitations: i64::from(after.invitations),
            last_invited: after.last_invited.map(date_text),
            adjustment: after.adjustment.map(|reason| reason.as_str().to_owned()),
            before_dna: after.before_did_not_attend.map(|stage| stage.as_str().to_owned()),
            ..base
        };
        if event == CycleEvent::ReviewResults
            && let Caller::Staff(staff) = caller
        {
            row.results_reviewed_by = Some(staff.display_name.clone());
        }
        Ok(CycleChange {
            after: row,
            existed: existing.is_some(),
            event: event.as_str().into(),
            from_stage: before.stage.as_str().into(),
            on_date: date_text(on),
            note,
            messages,
            snomed_code: concord_codelists::cycle_codes::code_for(event.as_str()),
        })
    }
}

/// Rebuilds the domain state from a stored row, refusing stored text it does not recognise.
fn state_of(row: &CycleRow) -> Result<CycleState, AppError> {
    let corrupt = |what: &str| AppError::Invalid(format!("stored cycle {} has an unknown {what}", row.id));
    let parse_date = |text: &str| {
        Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| corrupt("date"))
    };
    Ok(CycleState {
        stage: Stage::parse(&row.stage).ok_or_else(|| corrupt("stage"))?,
        since: parse_date(&row.stage_since)?,
        invitations: u32::try_from(row.invitations).map_err(|_| corrupt("invitation count"))?,
        last_invited: row.last_invited.as_deref().map(parse_date).transpose()?,
        adjustment: row
            .adjustment
            .as_deref()
            .map(|text| AdjustmentReason::parse(text).ok_or_else(|| corrupt("adjustment")))
            .transpose()?,
        before_did_not_attend: row
            .before_dna
            .as_deref()
            .map(|text| Stage::parse(text).ok_or_else(|| corrupt("stage")))
            .transpose()?,
    })
}

/// The leaflet that goes with the first invitation: the two appointments in plain words.
pub const TWO_APPOINTMENTS_LEAFLET: &str = include_str!("../../../data/messages/two-appointments-leaflet.txt");

/// An invitation by the person's preferred channel, falling back to a letter when the channel's
/// address is missing or their needs call for paper (large print, easy read, braille).
fn invitation(patient: &concord_domain::Patient, number: u32, on: Date) -> NewMessage {
    let needs_paper = patient.communication.needs.iter().any(|need| {
        let need = need.to_lowercase();
        need.contains("large print") || need.contains("braille") || need.contains("easy read")
    });
    let (channel, recipient) = match (patient.contact.preferred_channel, needs_paper) {
        (Some(ContactChannel::Email), false) if patient.contact.email.is_some() => {
            ("email", patient.contact.email.clone())
        }
        (Some(ContactChannel::Sms), false) if patient.contact.mobile.is_some() => {
            ("sms", patient.contact.mobile.clone())
        }
        _ => ("letter", None),
    };
    let given = patient.name.given.split_whitespace().next().unwrap_or_default().to_owned();
    let subject = "Your long-term condition review: please book your first appointment".to_owned();
    let reminder = if number > 1 { format!("This is reminder {} of 3. ", number - 1) } else { String::new() };
    let body = match channel {
        "sms" => format!(
            "{reminder}Hello {given}, it is time for your yearly health review at your GP practice. Please call the practice \
             to book a short check with a healthcare assistant first; a conversation with your nurse or GP follows."
        ),
        _ => format!(
            "Dear {given},\n\n{reminder}It is time for your yearly review of your long-term condition(s). It has two \
             appointments:\n\n1. A check with a healthcare assistant, who takes blood and urine samples and measures \
             things like your blood pressure and weight. Tests for all your conditions are done at this one visit.\n\
             2. About two weeks later, a conversation with your nurse or GP about what matters to you. Before it, we \
             will send you your results explained in plain words, so you can think about what you want to talk about.\n\n\
             Please contact the practice to book your first appointment.\n\nIf you do not want a review, please tell us.\n"
        ),
    };
    NewMessage {
        purpose: format!("invitation_{number}"),
        channel: channel.into(),
        template: if number == 1 { "invitation_first".into() } else { "invitation_reminder".into() },
        recipient,
        subject,
        body,
        attachment: (number == 1 && channel != "sms").then(|| "two-appointments-leaflet".to_owned()),
        not_before: format!("{}T00:00:00Z", date_text(on)),
    }
}

impl Concord {
    /// The display name of a red-flag rule (its id when unknown).
    pub fn red_flag_rule_name(&self, rule_id: &str) -> String {
        concord_codelists::red_flag_rules()
            .ok()
            .and_then(|rules| rules.iter().find(|rule| rule.id == rule_id))
            .map_or_else(|| rule_id.to_owned(), |rule| rule.name.clone())
    }

    /// The description of a risk factor (its id when unknown).
    pub fn risk_factor_description(&self, factor: &str) -> String {
        concord_codelists::cycle_rules::CycleRules::shared()
            .ok()
            .and_then(|rules| rules.risk_factors.iter().find(|known| known.id == factor))
            .map_or_else(|| factor.to_owned(), |known| known.description.clone())
    }

    /// The display name of a checklist item (its id when unknown).
    pub fn checklist_item_name(&self, item: &str) -> String {
        concord_codelists::cycle_rules::CycleRules::shared()
            .ok()
            .and_then(|rules| rules.item_name(item))
            .map_or_else(|| item.to_owned(), str::to_owned)
    }
}
