//! The person's feedback survey online: offered after their care and support planning
//! conversation (once their plan is agreed) and at review, once each per cycle year.

use concord_domain::cycle::Stage;
use concord_domain::online_access::ProxyScope;
use concord_domain::survey::problems;
use concord_store::SurveyResponseRow;
use time::OffsetDateTime;

use crate::online::Visitor;
use crate::status::timestamp;
use crate::{AppError, Concord};

impl Concord {
    /// The survey waiting for the person, if any: `at_review` once their review falls due,
    /// otherwise `after_conversation` once a plan was agreed with them this year.
    pub async fn survey_due(&self, visitor: &Visitor, now: OffsetDateTime) -> Result<Option<&'static str>, AppError> {
        if !visitor.may(ProxyScope::Plan) {
            return Ok(None);
        }
        let year = i64::from(now.year());
        let answered = self.store.survey_occasions(&visitor.patient_id, year).await?;
        let stage = self.store.cycle(&visitor.patient_id, year).await?.and_then(|cycle| Stage::parse(&cycle.stage));
        if stage == Some(Stage::ReviewDue) && !answered.iter().any(|occasion| occasion == "at_review") {
            return Ok(Some("at_review"));
        }
        let agreed_this_year = self
            .store
            .plan_versions(&visitor.patient_id)
            .await?
            .iter()
            .any(|row| row.status == "agreed" && row.recorded_at.starts_with(&year.to_string()));
        if agreed_this_year && !answered.iter().any(|occasion| occasion == "after_conversation") {
            return Ok(Some("after_conversation"));
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
        let Some(occasion) = self.survey_due(visitor, now).await? else {
            return Err(AppError::Refused("There is no survey waiting for you".into()));
        };
        let problems = problems(answers);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let answer = |id: &str| {
            answers.iter().find(|(question, _)| question == id).map(|(_, value)| value.clone()).unwrap_or_default()
        };
        let row = SurveyResponseRow {
            patient_id: visitor.patient_id.clone(),
            occasion: occasion.into(),
            cycle_year: i64::from(now.year()),
            support: answer("support"),
            confidence: answer("confidence"),
            goals: answer("goals"),
            submitted_by: visitor.written_by.clone(),
            submitted_at: timestamp(now),
        };
        if !self.store.save_survey(&row, &visitor.actor(), &timestamp(now)).await? {
            return Err(AppError::Refused("You have already answered this survey".into()));
        }
        Ok(Ok(()))
    }
}
