//! Personal targets a clinician sets for a person (the only targets ever called "your target").

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{NewAuditEvent, insert_audit_events};
use crate::sql::new_id;
use crate::{Store, StoreError};

/// A personal target as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalTargetRow {
    pub observable: String,
    /// `<`, `<=`, `>` or `>=`.
    pub comparison: String,
    pub value: f64,
    pub set_on: String,
    pub set_by: String,
    pub reason: Option<String>,
}

impl Store {
    /// Adds personal targets (a newer target for the same result supersedes the older one when
    /// read), audited in the same transaction.
    pub async fn set_personal_targets(
        &self,
        patient_id: &str,
        targets: &[PersonalTargetRow],
        actor: &Actor,
        now: &str,
    ) -> Result<(), StoreError> {
        if targets.is_empty() {
            return Ok(());
        }
        let mut transaction = self.pool().begin().await?;
        for target in targets {
            sqlx::query(
                "INSERT INTO personal_target (id, patient_id, observable, comparison, value, set_on, set_by, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_id())
            .bind(patient_id.to_owned())
            .bind(target.observable.clone())
            .bind(target.comparison.clone())
            .bind(target.value)
            .bind(target.set_on.clone())
            .bind(target.set_by.clone())
            .bind(target.reason.clone())
            .execute(&mut *transaction)
            .await?;
        }
        let detail = targets
            .iter()
            .map(|target| format!("{} {} {}", target.observable, target.comparison, target.value))
            .collect::<Vec<_>>()
            .join(", ");
        insert_audit_events(
            &mut transaction,
            &[NewAuditEvent {
                actor: actor.clone(),
                organisation: None,
                patient_id: Some(patient_id.to_owned()),
                action: AuditAction::Create,
                entity: "PersonalTarget".into(),
                detail: format!("personal targets set: {detail}"),
                request_id: None,
                purpose: None,
            }],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Every personal target set for a person, oldest first.
    pub async fn personal_targets(&self, patient_id: &str) -> Result<Vec<PersonalTargetRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT observable, comparison, value, set_on, set_by, reason FROM personal_target WHERE patient_id = $1 ORDER BY set_on, id",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PersonalTargetRow {
                    observable: row.try_get(0)?,
                    comparison: row.try_get(1)?,
                    value: row.try_get(2)?,
                    set_on: row.try_get(3)?,
                    set_by: row.try_get(4)?,
                    reason: row.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
