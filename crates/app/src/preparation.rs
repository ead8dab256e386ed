//! Patient preparation (Year of Care step 4): the preparation letter from the reviewed results,
//! results a clinician withholds, sending one letter or a clinic list's letters through the
//! outbox, and the letter as PDF.
//!
//! Invariants: a letter is made only from "results reviewed" on, and never while an urgent or
//! soon red flag has no recorded action (`concord_domain::preparation::may_prepare`); a withheld
//! result never reaches a letter; each letter is stored as made (PDF and text) with the cycle's
//! change and its outbox message in one transaction.

use std::collections::BTreeSet;

use base64::Engine as _;
use concord_codelists::cycle_rules::DUE_WINDOW_DAYS;
use concord_codelists::result_meanings::result_meanings;
use concord_domain::access::Permission;
use concord_domain::audit::AuditAction;
use concord_domain::care_process::{ItemStatus, merged_checklist};
use concord_domain::cycle::{CycleEvent, Stage};
use concord_domain::document::{Document, long_date};
use concord_domain::preparation::{Appointment, LetterInput, LetterResult, Variant, letter, may_prepare};
use concord_domain::red_flag::Severity;
use concord_domain::result_story::tell;
use concord_pdf::{Made, Print};
use concord_store::{NewMessage, PreparationLetterRow, WithheldRow};
use time::OffsetDateTime;

use crate::cycle::Caller;
use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// The outbox attachment naming a preparation letter's stored PDF: this prefix and its id.
pub const PREPARATION_ATTACHMENT: &str = "preparation_letter:";

/// How many earlier results a letter tells and charts.
const HISTORY: usize = 5;
/// Results outside the checklist are told when taken within this many days.
const RECENT_DAYS: i64 = 120;

/// The format a person's letters come in (NHS Accessible Information Standard), from the
/// communication needs the GP record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterFormat {
    Standard,
    LargePrint,
    EasyRead,
}

impl LetterFormat {
    pub const ALL: [LetterFormat; 3] = [LetterFormat::Standard, LetterFormat::LargePrint, LetterFormat::EasyRead];

    pub fn as_str(self) -> &'static str {
        match self {
            LetterFormat::Standard => "standard",
            LetterFormat::LargePrint => "large_print",
            LetterFormat::EasyRead => "easy_read",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            LetterFormat::Standard => "Standard print",
            LetterFormat::LargePrint => "Large print",
            LetterFormat::EasyRead => "Easy read",
        }
    }

    /// Easy read before large print: an easy-read letter is also set in large print.
    pub fn from_needs(needs: &[String]) -> Self {
        let needs: Vec<String> = needs.iter().map(|need| need.to_lowercase()).collect();
        if needs.iter().any(|need| need.contains("easy read")) {
            LetterFormat::EasyRead
        } else if needs.iter().any(|need| need.contains("large print")) {
            LetterFormat::LargePrint
        } else {
            LetterFormat::Standard
        }
    }

    /// Whether this format is set in large print.
    pub fn is_large(self) -> bool {
        self != LetterFormat::Standard
    }

    fn variant(self) -> Variant {
        if self == LetterFormat::EasyRead { Variant::EasyRead } else { Variant::Full }
    }

    fn print(self) -> Print {
        if self == LetterFormat::Standard { Print::Standard } else { Print::LargePrint }
    }
}

/// One result the clinician may withhold or release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultChoice {
    pub observable: String,
    pub name: String,
    /// "58 mmol/mol on 2 November 2026".
    pub latest: String,
    pub withheld: Option<WithheldRow>,
}

/// What the preparation page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparationView {
    pub patient_id: String,
    pub stage: Option<Stage>,
    /// Why a letter cannot be made now, in words; `None` when it can.
    pub blocked: Option<String>,
    /// The letter as it would be made now (when not blocked).
    pub letter: Option<Document>,
    pub format: LetterFormat,
    pub results: Vec<ResultChoice>,
    /// Letters made this year and before, newest first (without their PDFs).
    pub letters: Vec<PreparationLetterRow>,
    /// What the person (or their carer) wrote online for the conversation.
    pub agenda: Vec<crate::online::AgendaLine>,
    /// Online access codes sent, newest first.
    pub codes: Vec<concord_store::AccessCodeRow>,
    /// Carers with proxy access, live and ended.
    pub proxies: Vec<concord_store::ProxyRow>,
}

/// The outcome of sending a clinic list's letters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// "FAMILY, Given" of each person a letter was made for.
    pub sent: Vec<String>,
    /// Each person skipped, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// A letter composed but not yet recorded.
pub(crate) struct Composed {
    pub(crate) input: LetterInput,
    pub(crate) format: LetterFormat,
    pub(crate) told: Vec<String>,
    pub(crate) withheld: Vec<String>,
    /// Email or text message (with its address) when the person prefers it and has no need for
    /// paper; `None`: a letter by post.
    pub(crate) digital: Option<(&'static str, String)>,
}

impl Composed {
    pub(crate) fn format_variant(&self) -> Variant {
        self.format.variant()
    }
}

impl Concord {
    /// Why no letter may be made for this person now, if anything stops it: their stage, or an
    /// urgent or soon red flag without an action.
    pub(crate) async fn preparation_blocker(&self, patient_id: &str, year: i64) -> Result<Option<String>, AppError> {
        let stage = self.store.cycle(patient_id, year).await?.and_then(|row| Stage::parse(&row.stage));
        if !matches!(stage, Some(Stage::ResultsReviewed | Stage::PreparationSent | Stage::ConversationBooked)) {
            return Ok(Some(format!(
                "A preparation letter is made once a clinician has reviewed the results; this person's cycle is at \"{}\"",
                stage.map_or("not started", Stage::label)
            )));
        }
        let open = self.store.red_flags(Some(patient_id), true).await?;
        Ok(may_prepare(open.iter().filter_map(|flag| Severity::parse(&flag.severity)))
            .err()
            .map(|error| error.to_string()))
    }

    /// Composes the person's letter from their record, the review, their targets and booking.
    pub(crate) async fn compose_preparation(
        &self,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<Composed, AppError> {
        let today = now.date();
        let rules = self.status_rules().await?;
        let (record, person) = self.person_snapshot(patient_id, &rules, today).await?;
        let patient = &record.person.patient;
        let meanings = result_meanings().map_err(|error| AppError::Invalid(format!("result meanings: {error}")))?;
        let personal = self.personal_targets(patient_id).await?;
        let withheld: BTreeSet<String> =
            self.store.withheld_results(patient_id).await?.into_iter().map(|row| row.observable).collect();
        let checklist = merged_checklist(&rules.cycle.care_processes, &person, DUE_WINDOW_DAYS);
        let mut told = Vec::new();
        let mut results = Vec::new();
        let mut other_checks = Vec::new();
        for item in &checklist {
            let mut numeric = false;
            for observable in &item.evidence {
                let Some(meaning) = meanings.iter().find(|meaning| &meaning.observable == observable) else {
                    continue;
                };
                numeric = true;
                if withheld.contains(observable) || told.contains(observable) {
                    continue;
                }
                if let Some(result) = letter_result(rules.catalogue, meaning, &person, &personal) {
                    told.push(observable.clone());
                    results.push(result);
                }
            }
            if !numeric {
                let status = match (item.status, item.last_done) {
                    (_, Some(done)) if item.status != ItemStatus::Due => format!("done on {}", long_date(done)),
                    (_, Some(done)) => format!("last done on {}; due again", long_date(done)),
                    (_, None) => "not done yet".to_owned(),
                };
                other_checks.push((item.name.clone(), status));
            }
        }
        // Other results taken recently (e.g. a potassium with the kidney tests) are told too,
        // after the checklist's.
        for meaning in meanings {
            let observable = &meaning.observable;
            if withheld.contains(observable) || told.contains(observable) {
                continue;
            }
            let recent = person
                .latest_value(observable)
                .is_some_and(|(point, _)| (today - point.date()).whole_days() <= RECENT_DAYS);
            if let Some(result) = letter_result(rules.catalogue, meaning, &person, &personal).filter(|_| recent) {
                told.push(observable.clone());
                results.push(result);
            }
        }
        let cycle = self.store.cycle(patient_id, i64::from(today.year())).await?;
        let comment = cycle.as_ref().and_then(|row| {
            row.comment_for_person
                .clone()
                .filter(|comment| !comment.trim().is_empty())
                .map(|comment| (comment, row.results_reviewed_by.clone().unwrap_or_else(|| "your clinician".into())))
        });
        let appointment = self
            .store
            .booked_slots(patient_id, &timestamp(now))
            .await?
            .into_iter()
            .find(|slot| slot.purpose == "conversation")
            .and_then(|row| crate::booking::slot(row).ok())
            .map(|slot| Appointment {
                when: spoken_time(slot.local_start),
                with: professional(&slot.row.clinician_role, &slot.row.clinician_name),
                minutes: slot.row.minutes,
            });
        let practice = patient.registration.as_ref().map(|registration| registration.practice.as_str().to_owned());
        let practice_name = match &practice {
            Some(ods) => self
                .store
                .organisations()
                .await?
                .into_iter()
                .find(|(code, ..)| code == ods)
                .map_or_else(|| "Your GP practice".to_owned(), |(_, name, ..)| name),
            None => "Your GP practice".to_owned(),
        };
        let conditions = rules
            .catalogue
            .registers
            .iter()
            .filter(|register| person.on_register(&register.id))
            .filter_map(|register| register.plain_name.clone())
            .collect();
        let given_name = patient.name.given.split_whitespace().next().unwrap_or_default().to_owned();
        let format = LetterFormat::from_needs(&patient.communication.needs);
        let contact = &patient.contact;
        let digital = match contact.preferred_channel {
            _ if format != LetterFormat::Standard => None,
            Some(concord_domain::patient::ContactChannel::Email) => contact.email.clone().map(|email| ("email", email)),
            Some(concord_domain::patient::ContactChannel::Sms) => contact.mobile.clone().map(|mobile| ("sms", mobile)),
            _ => None,
        };
        Ok(Composed {
            input: LetterInput {
                given_name,
                practice_name,
                written_on: today,
                conditions,
                results,
                other_checks,
                comment,
                appointment,
                online: None,
            },
            format,
            told,
            withheld: withheld.into_iter().collect(),
            digital,
        })
    }

    /// The preparation page: the letter as it would be made now, the results the clinician may
    /// withhold, and the letters already made. Audited as a read of the record.
    pub async fn preparation_view(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<PreparationView, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let year = i64::from(now.year());
        let blocked = self.preparation_blocker(patient_id, year).await?;
        let composed = self.compose_preparation(patient_id, now).await?;
        let withheld_rows = self.store.withheld_results(patient_id).await?;
        let rules = self.status_rules().await?;
        let (_, person) = self.person_snapshot(patient_id, &rules, now.date()).await?;
        let meanings = result_meanings().map_err(|error| AppError::Invalid(format!("result meanings: {error}")))?;
        let mut results = Vec::new();
        for meaning in meanings {
            let Some((date, value)) = person.latest_value(&meaning.observable) else { continue };
            let Some(definition) = rules.catalogue.observable(&meaning.observable) else { continue };
            let unit = definition.canonical_unit.as_ref().map_or_else(String::new, |unit| unit.display());
            let decimals = u8::try_from(definition.decimals).unwrap_or(1);
            results.push(ResultChoice {
                observable: meaning.observable.clone(),
                name: meaning.plain_name.clone(),
                latest: format!(
                    "{} on {}",
                    concord_domain::preparation::value_with_unit(value, decimals, &unit),
                    long_date(date.date())
                ),
                withheld: withheld_rows.iter().find(|row| row.observable == meaning.observable).cloned(),
            });
        }
        self.audit_person(staff, patient_id, AuditAction::Read, "Preparation", "preparation opened".into()).await?;
        Ok(PreparationView {
            patient_id: patient_id.to_owned(),
            stage: self.store.cycle(patient_id, year).await?.and_then(|row| Stage::parse(&row.stage)),
            letter: blocked.is_none().then(|| letter(&composed.input, composed.format.variant())),
            blocked,
            format: composed.format,
            results,
            letters: self.store.preparation_letters(patient_id).await?,
            agenda: match self.store.cycle(patient_id, year).await? {
                Some(cycle) => crate::online::agenda_lines(&self.store.agenda(&cycle.id).await?),
                None => vec![],
            },
            codes: self.store.access_codes(patient_id).await?,
            proxies: self.store.proxies(patient_id).await?,
        })
    }

    /// Withholds a result from the person's letter and online view (serious harm), with the reason.
    pub async fn withhold_result(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        observable: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        staff.require(Permission::TriageResults)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid(
                "Give the reason for withholding this result: showing it could cause serious harm because …".into(),
            ));
        }
        if reason.chars().count() > 1000 {
            return Err(AppError::Invalid("The reason must be 1,000 characters or fewer".into()));
        }
        let known =
            result_meanings().is_ok_and(|meanings| meanings.iter().any(|meaning| meaning.observable == observable));
        if !known {
            return Err(AppError::Invalid(format!("`{observable}` is not a result the letter tells")));
        }
        self.store
            .withhold_result(patient_id, observable, reason, &staff.display_name, &staff.actor(), &timestamp(now))
            .await?;
        Ok(())
    }

    /// Releases a withheld result to the person.
    pub async fn release_result(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        observable: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        staff.require(Permission::TriageResults)?;
        Ok(self
            .store
            .release_result(patient_id, observable, &staff.display_name, &staff.actor(), &timestamp(now))
            .await?)
    }

    /// Makes the person's preparation letter, records it with the cycle's change, and queues it
    /// for printing through the outbox. Refused while blocked (stage or unactioned flags).
    pub async fn send_preparation(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<PreparationLetterRow, AppError> {
        caller.require(Permission::ManageCycle)?;
        if let Some(reason) = self.preparation_blocker(patient_id, i64::from(now.year())).await? {
            return Err(AppError::Refused(reason));
        }
        let mut composed = self.compose_preparation(patient_id, now).await?;
        let (access, code_digest, code_expires) = self.letter_access(now);
        composed.input.online = Some(access.clone());
        let document = letter(&composed.input, composed.format.variant());
        let author = composed.input.practice_name.clone();
        let pdf = concord_pdf::render(&document, composed.format.print(), &author, Made::from(now))
            .map_err(|error| AppError::Invalid(error.to_string()))?;
        let mut change =
            self.prepare_cycle_change(caller, patient_id, CycleEvent::SendPreparation, now.date(), None).await?;
        let letter_id = concord_store::new_id();
        change.messages.push(match &composed.digital {
            // By email or text: where to read it and the code, never the results themselves.
            Some((channel, recipient)) => NewMessage {
                purpose: "preparation".into(),
                channel: (*channel).into(),
                template: "preparation_online".into(),
                recipient: Some(recipient.clone()),
                subject: "Your results are ready: get ready for your appointment".into(),
                body: format!(
                    "Hello {}, your results and some questions to help you get ready for your care and support planning \
                     appointment are ready. {} This message is not watched: if you need help now, call 111, or 999 in an emergency.",
                    composed.input.given_name,
                    concord_domain::preparation::online_sentence(&access)
                ),
                attachment: None,
                not_before: timestamp(now),
            },
            None => NewMessage {
                purpose: "preparation".into(),
                channel: "letter".into(),
                template: "preparation_letter".into(),
                recipient: None,
                subject: document.title.clone(),
                body: document.plain_text(),
                attachment: Some(format!("{PREPARATION_ATTACHMENT}{letter_id}")),
                not_before: timestamp(now),
            },
        });
        let row = PreparationLetterRow {
            id: letter_id,
            patient_id: patient_id.to_owned(),
            cycle_id: change.after.id.clone(),
            made_at: timestamp(now),
            made_by: match caller {
                Caller::Staff(staff) => staff.display_name.clone(),
                Caller::Console => "Concord (command line)".into(),
            },
            format: composed.format.as_str().into(),
            results: composed.told,
            withheld: composed.withheld,
            plain_text: document.plain_text(),
            pdf_base64: base64::engine::general_purpose::STANDARD.encode(&pdf),
        };
        self.store
            .record_preparation(&change, &row, Some((&code_digest, &code_expires)), &caller.actor(), &timestamp(now))
            .await?;
        Ok(row)
    }

    /// Sends the preparation letter to everyone booked for a conversation at the practice from
    /// `from` to `to` (UK dates, inclusive) who has not had one this year. People whose letter
    /// cannot be made yet are listed with the reason; nobody is skipped silently.
    pub async fn send_preparations(
        &self,
        caller: Caller<'_>,
        practice: &str,
        from: time::Date,
        to: time::Date,
        now: OffsetDateTime,
    ) -> Result<BatchOutcome, AppError> {
        caller.require(Permission::ManageCycle)?;
        let schedule = self.schedule(caller, practice, from, to, now).await?;
        let year = i64::from(now.year());
        let mut outcome = BatchOutcome::default();
        let mut seen = BTreeSet::new();
        for entry in schedule {
            let slot = &entry.slot;
            let Some(patient_id) = slot.booked_patient_id.clone() else { continue };
            if slot.purpose != "conversation" || slot.source != "concord" || !seen.insert(patient_id.clone()) {
                continue;
            }
            let name = entry.patient_name.clone().unwrap_or_else(|| "Unknown".into());
            let cycle_id = self.store.cycle(&patient_id, year).await?.map(|row| row.id);
            let already = self
                .store
                .preparation_letters(&patient_id)
                .await?
                .into_iter()
                .find(|letter| Some(&letter.cycle_id) == cycle_id.as_ref());
            if let Some(letter) = already {
                outcome.skipped.push((name, format!("a letter was already made on {}", &letter.made_at[..10])));
                continue;
            }
            match self.send_preparation(caller, &patient_id, now).await {
                Ok(_) => outcome.sent.push(name),
                Err(AppError::Refused(reason)) => outcome.skipped.push((name, reason)),
                Err(error) => return Err(error),
            }
        }
        Ok(outcome)
    }

    /// The person's letter as it would be made now (print view, preview, the command line), in
    /// their format unless another is asked for, with the practice's name (its author). Refused
    /// while blocked. Audited as a read.
    pub async fn preparation_document(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        format: Option<LetterFormat>,
        now: OffsetDateTime,
    ) -> Result<(Document, LetterFormat, String), AppError> {
        caller.require(Permission::ViewPatientRecord)?;
        if let Some(reason) = self.preparation_blocker(patient_id, i64::from(now.year())).await? {
            return Err(AppError::Refused(reason));
        }
        let composed = self.compose_preparation(patient_id, now).await?;
        let format = format.unwrap_or(composed.format);
        self.audit_caller(caller, patient_id, "PreparationLetter", format!("letter shown ({})", format.as_str()))
            .await?;
        Ok((letter(&composed.input, format.variant()), format, composed.input.practice_name))
    }

    /// [`Concord::preparation_document`] as PDF.
    pub async fn preparation_pdf(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        format: Option<LetterFormat>,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, AppError> {
        let (document, format, author) = self.preparation_document(caller, patient_id, format, now).await?;
        concord_pdf::render(&document, format.print(), &author, Made::from(now))
            .map_err(|error| AppError::Invalid(error.to_string()))
    }

    /// A letter as it was made, as PDF. Audited as a read.
    pub async fn preparation_letter_pdf(
        &self,
        caller: Caller<'_>,
        letter_id: &str,
    ) -> Result<(PreparationLetterRow, Vec<u8>), AppError> {
        caller.require(Permission::ViewPatientRecord)?;
        let Some(row) = self.store.preparation_letter(letter_id).await? else {
            return Err(AppError::NotFound("No such preparation letter".into()));
        };
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(row.pdf_base64.as_bytes())
            .map_err(|_| AppError::Invalid(format!("stored letter {letter_id} is unreadable")))?;
        self.audit_caller(
            caller,
            &row.patient_id,
            "PreparationLetter",
            format!("letter of {} opened", &row.made_at[..10]),
        )
        .await?;
        Ok((row, pdf))
    }

    /// Audits a read of one person's record by staff or the command line.
    pub(crate) async fn audit_caller(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        entity: &str,
        detail: String,
    ) -> Result<(), AppError> {
        self.audit(caller.actor(), caller.organisation(), Some(patient_id), AuditAction::Read, entity, detail).await
    }
}

/// One result's story for the letter: its latest values (up to [`HISTORY`] earlier ones) against
/// the person's newest personal target for it.
fn letter_result(
    catalogue: &concord_codelists::Catalogue,
    meaning: &concord_domain::result_story::ResultMeaning,
    person: &concord_domain::snapshot::PersonSnapshot,
    personal: &[concord_domain::target::PersonalTarget],
) -> Option<LetterResult> {
    let definition = catalogue.observable(&meaning.observable)?;
    let points: Vec<_> = person
        .results_for(&meaning.observable)
        .filter_map(|result| result.value.map(|value| (result.date(), value)))
        .collect();
    let recent = &points[points.len().saturating_sub(HISTORY + 1)..];
    let target = personal.iter().rev().find(|target| target.observable == meaning.observable);
    Some(LetterResult {
        meaning: meaning.clone(),
        unit: definition.canonical_unit.as_ref().map_or_else(String::new, |unit| unit.display()),
        decimals: u8::try_from(definition.decimals).unwrap_or(1),
        story: tell(meaning, recent, target)?,
    })
}

/// "Tuesday 8 December 2026 at 10:20am" (UK civil time, as people say it).
fn spoken_time(local: time::PrimitiveDateTime) -> String {
    let (hour, minute) = (local.hour(), local.minute());
    let (twelve, half) = match hour {
        0 => (12, "am"),
        1..=11 => (hour, "am"),
        12 => (12, "pm"),
        _ => (hour - 12, "pm"),
    };
    format!("{} {} at {twelve}:{minute:02}{half}", local.weekday(), long_date(local.date()))
}

/// "the practice nurse", "a GP (Dr Shah)".
fn professional(role: &str, name: &str) -> String {
    let role = match role {
        "nurse" => "the practice nurse",
        "gp" => "a GP",
        "pharmacist" => "the practice pharmacist",
        _ => "a member of the practice team",
    };
    if name.trim().is_empty() { role.to_owned() } else { format!("{role}, {name}") }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn formats_follow_the_recorded_communication_needs() {
        assert_eq!(LetterFormat::from_needs(&[]), LetterFormat::Standard);
        assert_eq!(LetterFormat::from_needs(&["Large print (16pt)".into()]), LetterFormat::LargePrint);
        assert_eq!(LetterFormat::from_needs(&["large print".into(), "Easy read".into()]), LetterFormat::EasyRead);
    }

    #[test]
    fn times_are_written_as_people_say_them() {
        assert_eq!(spoken_time(datetime!(2026-12-08 10:20)), "Tuesday 8 December 2026 at 10:20am");
        assert_eq!(spoken_time(datetime!(2026-12-08 14:05)), "Tuesday 8 December 2026 at 2:05pm");
        assert_eq!(professional("nurse", "Nurse Patel"), "the practice nurse, Nurse Patel");
    }
}
