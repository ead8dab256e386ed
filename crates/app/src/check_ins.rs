//! Check-ins between consultations: scheduled when a plan is agreed (four weeks on), sent by
//! email or text with a code to answer online, or put on the practice's call list for people
//! without digital access; the answers become progress on each goal (FHIR Goal achievement), and
//! those who ask for help or are finding a goal hard go on the follow-up list with an owner and a
//! time to respond.
//!
//! Invariants: every message and page says replies are not watched for emergencies and where to
//! get help now; a request for help, and every note the person writes, makes a follow-up; a
//! check-in is answered once; nobody who has died, moved away or declined is messaged or called
//! (such check-ins are withdrawn with the reason, and kept off the call list).

use concord_domain::access::Permission;
use concord_domain::check_in::{
    CHECK_IN_DAYS, FOLLOW_UP_OWNER, FOLLOW_UP_WORKING_DAYS, channel, follow_up_reason, respond_by,
};
use concord_domain::document::long_date;
use concord_domain::online_access::{GOAL_PROGRESS, ProxyScope};
use concord_store::{CheckInRow, FollowUpRow, GoalProgressRow, NewFollowUp, NewMessage};
use time::{Duration, OffsetDateTime};

use crate::online::Visitor;
use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// What every check-in message and page says about urgent problems.
pub const NOT_WATCHED: &str =
    "Replies are not watched for emergencies. If you need help now, call 111, or 999 in an emergency.";

/// The longest note kept with an answer.
const MAX_NOTE: usize = 1000;

/// What a run of the check-ins found to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckInRun {
    pub sent: u64,
    pub calls: u64,
    /// Withdrawn: the person died, moved away, or their cycle stops messages.
    pub withdrawn: u64,
}

/// Who answered a check-in: the name written with the progress, the audited actor, and whether
/// it was the person (or their proxy) online rather than staff on a call.
struct Answerer<'a> {
    name: &'a str,
    actor: &'a concord_domain::audit::Actor,
    the_person: bool,
}

/// A check-in as answered: how each goal is going (one status per goal, or empty), whether the
/// person would like help, and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckInAnswers {
    pub statuses: Vec<String>,
    pub help: bool,
    pub note: String,
}

impl Concord {
    /// Schedules the check-in of the person's newest plan version agreed by a clinician, if it has
    /// none (called when a plan is agreed; `concord check-ins schedule` sweeps everyone).
    pub async fn schedule_check_in(&self, patient_id: &str, now: OffsetDateTime) -> Result<bool, AppError> {
        let versions = self.store.plan_versions(patient_id).await?;
        let Some(agreed) = versions.iter().find(|row| row.status == "agreed" && !row.recorded_by.ends_with("(online)"))
        else {
            return Ok(false);
        };
        let Some(person) = self.store.patient(patient_id).await? else { return Ok(false) };
        let contact = &person.patient.contact;
        let preferred = contact.preferred_channel.map(|channel| channel.as_str());
        let agreed_on =
            time::OffsetDateTime::parse(&agreed.recorded_at, &time::format_description::well_known::Rfc3339)
                .map_or(now.date(), |at| at.date());
        let row = CheckInRow {
            id: concord_store::new_id(),
            patient_id: patient_id.to_owned(),
            plan_id: agreed.plan_id.clone(),
            plan_version: agreed.version,
            due_on: (agreed_on + Duration::days(CHECK_IN_DAYS)).to_string(),
            channel: channel(preferred, contact.email.is_some(), contact.mobile.is_some()).into(),
            status: "scheduled".into(),
            sent_at: None,
            answered_at: None,
            answered_by: None,
            help_requested: false,
            note: String::new(),
        };
        Ok(self.store.schedule_check_in(&row, &timestamp(now)).await?)
    }

    /// Sends the check-ins due on or before `due_by` (today, unless catching up): email or text
    /// with a new access code to answer online; phone check-ins go on the practice's call list.
    pub async fn send_due_check_ins(
        &self,
        due_by: time::Date,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<CheckInRun, AppError> {
        let mut run = CheckInRun::default();
        for check_in in self.store.due_check_ins(&due_by.to_string(), limit).await? {
            if let Some(reason) = self.suppression_reason(&check_in.patient_id, now).await? {
                run.withdrawn += u64::from(self.store.withdraw_check_in(&check_in, &reason, &timestamp(now)).await?);
                continue;
            }
            if check_in.channel == "phone" {
                run.calls += u64::from(self.store.send_check_in(&check_in, None, &timestamp(now)).await?);
                continue;
            }
            let Some(person) = self.store.patient(&check_in.patient_id).await? else { continue };
            let recipient = if check_in.channel == "email" {
                person.patient.contact.email.clone()
            } else {
                person.patient.contact.mobile.clone()
            };
            let given = person.patient.name.given.split_whitespace().next().unwrap_or_default().to_owned();
            let (access, digest, expires_at) = self.letter_access(now);
            let message = NewMessage {
                purpose: "check_in".into(),
                channel: check_in.channel.clone(),
                template: "check_in".into(),
                recipient,
                subject: "How is your plan going?".into(),
                body: format!(
                    "Hello {given}, it is four weeks since you agreed your care and support plan. How are your goals \
                     going? Tell us at {} with the code {} and your date of birth (until {}). If you would like help, \
                     say so and someone from the practice will contact you. {NOT_WATCHED}",
                    access.address,
                    access.code,
                    long_date(access.until)
                ),
                attachment: None,
                not_before: timestamp(now),
            };
            // False when another sender took it first: then no code or message of ours was kept.
            run.sent += u64::from(
                self.store.send_check_in(&check_in, Some((&digest, &expires_at, &message)), &timestamp(now)).await?,
            );
        }
        Ok(run)
    }

    /// The goals a check-in asks about (those of the plan version it was made for).
    pub async fn check_in_goals(&self, check_in: &CheckInRow) -> Result<Vec<String>, AppError> {
        Ok(self
            .load_plan(&check_in.patient_id, Some(check_in.plan_version))
            .await?
            .map(|view| view.plan.goals.into_iter().map(|goal| goal.words).collect())
            .unwrap_or_default())
    }

    /// Whether a check-in waits for the person's answer (for the link to it; shows nothing else).
    pub async fn check_in_waiting(&self, visitor: &Visitor) -> Result<bool, AppError> {
        Ok(visitor.may(ProxyScope::Plan) && self.store.open_check_in(&visitor.patient_id).await?.is_some())
    }

    /// The person's check-in waiting for their answer, with its goals. Audited as their read.
    pub async fn online_check_in(&self, visitor: &Visitor) -> Result<Option<(CheckInRow, Vec<String>)>, AppError> {
        visitor.require(ProxyScope::Plan)?;
        let Some(check_in) = self.store.open_check_in(&visitor.patient_id).await? else { return Ok(None) };
        let goals = self.check_in_goals(&check_in).await?;
        self.audit_visitor(visitor, concord_domain::audit::AuditAction::Read, "CheckIn", "check-in read online".into())
            .await?;
        Ok(Some((check_in, goals)))
    }

    /// The person (or a proxy allowed to) answers their check-in online. Returns whether a
    /// follow-up was made, and by when someone will respond.
    pub async fn answer_online_check_in(
        &self,
        visitor: &Visitor,
        answers: &CheckInAnswers,
        now: OffsetDateTime,
    ) -> Result<Option<String>, AppError> {
        let Some((check_in, goals)) = self.online_check_in(visitor).await? else {
            return Err(AppError::Refused("There is no check-in waiting for an answer".into()));
        };
        let by = Answerer { name: &visitor.written_by, actor: &visitor.actor(), the_person: true };
        self.answer(&check_in, &goals, answers, &by, now).await
    }

    async fn answer(
        &self,
        check_in: &CheckInRow,
        goals: &[String],
        answers: &CheckInAnswers,
        by: &Answerer<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<String>, AppError> {
        if answers.statuses.len() != goals.len() {
            return Err(AppError::Invalid("progress: answer for each goal (or leave it blank)".into()));
        }
        if let Some(unknown) = answers
            .statuses
            .iter()
            .find(|status| !status.is_empty() && !GOAL_PROGRESS.iter().any(|(code, ..)| code == *status))
        {
            return Err(AppError::Invalid(format!("progress: {unknown:?} is not one of the choices")));
        }
        let note = answers.note.trim();
        if note.chars().count() > MAX_NOTE {
            return Err(AppError::Invalid(format!("note: at most {MAX_NOTE} characters")));
        }
        if !answers.help && answers.statuses.iter().all(String::is_empty) && note.is_empty() {
            return Err(AppError::Invalid(
                "progress: say how at least one goal is going, ask for help, or write a note".into(),
            ));
        }
        let progress: Vec<GoalProgressRow> = goals
            .iter()
            .zip(&answers.statuses)
            .filter(|(_, status)| !status.is_empty())
            .map(|(goal, status)| GoalProgressRow {
                goal: goal.clone(),
                status: status.clone(),
                note: String::new(),
                written_by: by.name.to_owned(),
                written_at: timestamp(now),
            })
            .collect();
        let statuses: Vec<&str> = answers.statuses.iter().map(String::as_str).collect();
        let follow_up =
            follow_up_reason(&statuses, answers.help, by.the_person && !note.is_empty()).map(|reason| NewFollowUp {
                reason: reason.into(),
                owner_role: FOLLOW_UP_OWNER.into(),
                due_by: respond_by(now.date(), FOLLOW_UP_WORKING_DAYS).to_string(),
            });
        let answered = self
            .store
            .answer_check_in(
                check_in,
                &progress,
                answers.help,
                note,
                by.name,
                follow_up.as_ref(),
                by.actor,
                &timestamp(now),
            )
            .await?;
        if !answered {
            return Err(AppError::Refused(
                "This check-in has already been answered, perhaps on a call with the practice. If you would like \
                 help, contact the practice."
                    .into(),
            ));
        }
        Ok(follow_up.map(|follow_up| follow_up.due_by))
    }

    /// Check-ins waiting for a call, for staff: people asked by phone, and people who have not
    /// answered an email or text within `UNANSWERED_CALL_DAYS`.
    pub async fn check_in_calls(
        &self,
        staff: &StaffMember,
        now: OffsetDateTime,
    ) -> Result<Vec<(CheckInRow, String, String, Option<String>, Option<String>, Vec<String>)>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let unanswered_before = timestamp(now - time::Duration::days(concord_domain::check_in::UNANSWERED_CALL_DAYS));
        let mut calls = Vec::new();
        for (check_in, given, family, nhs, phone) in
            self.store.check_in_calls(staff.organisation.as_deref(), &unanswered_before).await?
        {
            // Nobody is rung who has died, moved away or declined since the check-in was sent.
            if self.suppression_reason(&check_in.patient_id, now).await?.is_some() {
                continue;
            }
            let goals = self.check_in_goals(&check_in).await?;
            calls.push((check_in, given, family, nhs, phone, goals));
        }
        self.audit(
            staff.actor(),
            staff.organisation.clone(),
            None,
            concord_domain::audit::AuditAction::Read,
            "CheckIn",
            format!("{} check-in call(s) listed", calls.len()),
        )
        .await?;
        Ok(calls)
    }

    /// Staff record the answers given on a check-in call.
    pub async fn record_check_in_call(
        &self,
        staff: &StaffMember,
        check_in_id: &str,
        answers: &CheckInAnswers,
        now: OffsetDateTime,
    ) -> Result<Option<String>, AppError> {
        staff.require(Permission::ManageCycle)?;
        staff.require(Permission::ViewPatientRecord)?;
        let Some(check_in) = self.store.check_in(check_in_id).await?.filter(|row| row.status == "sent") else {
            return Err(AppError::NotFound("That check-in is not waiting for a call".into()));
        };
        let goals = self.check_in_goals(&check_in).await?;
        let name = format!("{} (by phone)", staff.display_name);
        let by = Answerer { name: &name, actor: &staff.actor(), the_person: false };
        self.answer(&check_in, &goals, answers, &by, now).await
    }

    /// Open follow-ups, soonest due first.
    pub async fn follow_ups(&self, staff: &StaffMember) -> Result<Vec<FollowUpRow>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let rows = self.store.open_follow_ups(staff.organisation.as_deref()).await?;
        self.audit(
            staff.actor(),
            staff.organisation.clone(),
            None,
            concord_domain::audit::AuditAction::Read,
            "FollowUp",
            format!("{} follow-up(s) listed", rows.len()),
        )
        .await?;
        Ok(rows)
    }

    /// Closes a follow-up with what was done.
    pub async fn complete_follow_up(
        &self,
        staff: &StaffMember,
        id: &str,
        outcome: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        staff.require(Permission::ManageCycle)?;
        let outcome = outcome.trim();
        if outcome.is_empty() {
            return Err(AppError::Invalid("outcome: say what was done".into()));
        }
        Ok(self.store.complete_follow_up(id, &staff.display_name, outcome, &staff.actor(), &timestamp(now)).await?)
    }
}
