//! The person's feedback survey online: offered after their care and support planning
//! conversation (for `AFTER_CONVERSATION_DAYS` once their plan is agreed) and at review, once
//! each per cycle year.

use concord_domain::access::Permission;
use concord_domain::cycle::Stage;
use concord_domain::online_access::ProxyScope;
use concord_domain::survey::problems;
use concord_store::SurveyResponseRow;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::online::Visitor;
use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// Days after a plan is agreed with a clinician that the after-conversation survey stays offered
/// (Concord's choice: long enough for a person who signs in rarely, short enough to be about that
/// conversation).
pub const AFTER_CONVERSATION_DAYS: i64 = 120;

impl Concord {
    /// The survey waiting for the person, if any: `at_review` once their review falls due,
    /// otherwise `after_conversation` within `AFTER_CONVERSATION_DAYS` of a plan agreed with them.
    pub async fn survey_due(&self, visitor: &Visitor, now: OffsetDateTime) -> Result<Option<&'static str>, AppError> {
        if !visitor.may(ProxyScope::Plan) {
            return Ok(None);
        }
        Ok(self.survey_waiting(&visitor.patient_id, now).await?.map(|(occasion, _)| occasion))
    }

    /// The survey waiting for a person staff are calling (people without digital access answer
    /// it on the check-in call).
    pub async fn survey_due_on_call(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<&'static str>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        Ok(self.survey_waiting(patient_id, now).await?.map(|(occasion, _)| occasion))
    }

    /// Staff record the survey answers a person gave on a call. `Ok(Ok(false))` when no survey
    /// was waiting (already answered, or not due); problems are named by question.
    pub async fn record_survey_on_call(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        answers: &[(String, String)],
        now: OffsetDateTime,
    ) -> Result<Result<bool, Vec<(String, String)>>, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        staff.require(Permission::ManageCycle)?;
        let problems = problems(answers);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let Some((occasion, cycle_year)) = self.survey_waiting(patient_id, now).await? else { return Ok(Ok(false)) };
        let row =
            response(patient_id, occasion, cycle_year, answers, &format!("{} (by phone)", staff.display_name), now);
        Ok(Ok(self.store.save_survey(&row, &staff.actor(), &timestamp(now)).await?))
    }

    /// The survey waiting, with the cycle year it belongs to. The after-conversation survey
    /// belongs to the year of the conversation, so a plan agreed in December is still asked
    /// about in January.
    async fn survey_waiting(
        &self,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(&'static str, i64)>, AppError> {
        let year = i64::from(now.year());
        let answered = self.store.survey_occasions(patient_id, year).await?;
        let stage = self.store.cycle(patient_id, year).await?.and_then(|cycle| Stage::parse(&cycle.stage));
        if stage == Some(Stage::ReviewDue) && !answered.iter().any(|occasion| occasion == "at_review") {
            return Ok(Some(("at_review", year)));
        }
        // The newest plan agreed with a clinician (a consent change the person makes online
        // saves a version too, but is not a conversation).
        let agreed = self
            .store
            .plan_versions(patient_id)
            .await?
            .into_iter()
            .filter(|row| row.status == "agreed" && !row.recorded_by.ends_with("(online)"))
            .filter_map(|row| OffsetDateTime::parse(&row.recorded_at, &Rfc3339).ok())
            .max();
        let Some(agreed) = agreed.filter(|at| now - *at <= Duration::days(AFTER_CONVERSATION_DAYS)) else {
            return Ok(None);
        };
        let cycle_year = i64::from(agreed.year());
        let answered = self.store.survey_occasions(patient_id, cycle_year).await?;
        if !answered.iter().any(|occasion| occasion == "after_conversation") {
            return Ok(Some(("after_conversation", cycle_year)));
        }
        Ok(None)
    }

    /// Keeps the person's answers (question id → answer code). Problems are named by question.
    pub async fn answer_survey(
        &self,
        visitor: &Visitor,
        answers: &[(String, String)],
        now: OffsetDateTime,
    ) -> Result<Result<(), Vec<(String, String)>>, AppError> {
        let waiting =
            if visitor.may(ProxyScope::Plan) { self.survey_waiting(&visitor.patient_id, now).await? } else { None };
        let Some((occasion, cycle_year)) = waiting else {
            return Err(AppError::Refused("There is no survey waiting for you".into()));
        };
        let problems = problems(answers);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let row = response(&visitor.patient_id, occasion, cycle_year, answers, &visitor.written_by, now);
        if !self.store.save_survey(&row, &visitor.actor(), &timestamp(now)).await? {
            return Err(AppError::Refused("You have already answered this survey".into()));
        }
        Ok(Ok(()))
    }
}

/// The row kept for one set of answers.
fn response(
    patient_id: &str,
    occasion: &str,
    cycle_year: i64,
    answers: &[(String, String)],
    by: &str,
    now: OffsetDateTime,
) -> SurveyResponseRow {
    let answer = |id: &str| {
        answers.iter().find(|(question, _)| question == id).map(|(_, value)| value.clone()).unwrap_or_default()
    };
    SurveyResponseRow {
        patient_id: patient_id.to_owned(),
        occasion: occasion.into(),
        cycle_year,
        support: answer("support"),
        confidence: answer("confidence"),
        goals: answer("goals"),
        submitted_by: by.to_owned(),
        submitted_at: timestamp(now),
    }
}
