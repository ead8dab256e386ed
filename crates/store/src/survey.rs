//! The person's survey responses (migration 0022): one per person, occasion and cycle year.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event};
use crate::sql::new_id;
use crate::{Store, StoreError};

/// A response: the answer codes ("" for a question left blank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyResponseRow {
    pub patient_id: String,
    pub occasion: String,
    pub cycle_year: i64,
    pub support: String,
    pub confidence: String,
    pub goals: String,
    pub submitted_by: String,
    pub submitted_at: String,
}

impl Store {
    /// Keeps a response, audited; false when this occasion of this year was already answered.
    pub async fn save_survey(&self, row: &SurveyResponseRow, actor: &Actor, now: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let done = sqlx::query(
            "INSERT INTO survey_response (id, patient_id, occasion, cycle_year, support, confidence, goals, submitted_by, \
             submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (patient_id, occasion, cycle_year) DO NOTHING",
        )
        .bind(new_id())
        .bind(row.patient_id.clone())
        .bind(row.occasion.clone())
        .bind(row.cycle_year)
        .bind(row.support.clone())
        .bind(row.confidence.clone())
        .bind(row.goals.clone())
        .bind(row.submitted_by.clone())
        .bind(row.submitted_at.clone())
        .execute(&mut *transaction)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        crate::outcomes::outcomes_changed(&mut transaction, &row.patient_id).await?;
        let event = patient_event(
            actor,
            &row.patient_id,
            AuditAction::Create,
            "SurveyResponse",
            format!("{} survey answered", row.occasion),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// The occasions of `cycle_year` the person has answered.
    pub async fn survey_occasions(&self, patient_id: &str, cycle_year: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT occasion FROM survey_response WHERE patient_id = $1 AND cycle_year = $2")
            .bind(patient_id.to_owned())
            .bind(cycle_year)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| row.try_get(0)).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Every response of a practice's people (all practices when `None`), for the outcome measures.
    pub async fn survey_responses(&self, practice: Option<&str>) -> Result<Vec<SurveyResponseRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.patient_id, s.occasion, s.cycle_year, s.support, s.confidence, s.goals, s.submitted_by, s.submitted_at \
             FROM survey_response s JOIN patient p ON p.id = s.patient_id WHERE ($1 = '' OR p.practice_ods_code = $1) \
             ORDER BY s.submitted_at, s.id",
        )
        .bind(practice.unwrap_or_default().to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SurveyResponseRow {
                    patient_id: row.try_get(0)?,
                    occasion: row.try_get(1)?,
                    cycle_year: row.try_get(2)?,
                    support: row.try_get(3)?,
                    confidence: row.try_get(4)?,
                    goals: row.try_get(5)?,
                    submitted_by: row.try_get(6)?,
                    submitted_at: row.try_get(7)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
