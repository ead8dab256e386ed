//! Care and support plans (migration 0011): one plan per person, each version kept whole.
//!
//! Invariants: a version is added only by a conditional update of the plan's current version, so
//! two clinicians saving at once cannot both succeed: the second gets a conflict and nothing of
//! theirs is written; a version, its entries, its prescriber tasks, the cycle's change (if any)
//! and the audit event are one transaction; nothing is overwritten.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event};
use crate::cycle::{CycleChange, apply_cycle_change_in};
use crate::sql::new_id;
use crate::{Store, StoreError};

/// A version to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanVersion {
    pub patient_id: String,
    /// The version the clinician started from (0: the person has no plan yet).
    pub based_on: i64,
    /// `draft`, `agreed` or `declined`.
    pub status: String,
    pub cycle_id: Option<String>,
    pub recorded_by: String,
    /// "What changed" in words, one line each.
    pub changes: Vec<String>,
    /// (section, item, field, value).
    pub entries: Vec<(String, i64, String, String)>,
    /// Treatments agreed in this version, each a task for a prescriber.
    pub tasks: Vec<String>,
    /// The PDF generated at agreement (base64); `None` for drafts.
    pub pdf_base64: Option<String>,
}

/// A version as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersionRow {
    /// The person's plan (the same for every version).
    pub plan_id: String,
    pub version_id: String,
    pub version: i64,
    pub status: String,
    pub recorded_by: String,
    pub recorded_at: String,
    pub changes: Vec<String>,
}

/// A person's current plan, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummaryRow {
    pub patient_id: String,
    pub nhs_number: Option<String>,
    pub version: i64,
    pub status: String,
    pub recorded_at: String,
    pub review_date: Option<String>,
}

/// A task for a prescriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrescriberTaskRow {
    pub id: String,
    pub patient_id: String,
    pub description: String,
    pub created_at: String,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
}

impl Store {
    /// Adds a version (with the cycle's change when given). Refused with a conflict, writing
    /// nothing, when the plan's current version is no longer `based_on`. Returns the new version.
    pub async fn add_plan_version(
        &self,
        new: &NewPlanVersion,
        change: Option<&CycleChange>,
        actor: &Actor,
        now: &str,
    ) -> Result<i64, StoreError> {
        let stale = || {
            StoreError::Conflict(
                "This plan was changed by someone else while you were editing it. Nothing of yours was saved: your \
                 changes are still in the form; compare them with the newer version and save again."
                    .into(),
            )
        };
        let mut transaction = self.pool().begin().await?;
        let version = new.based_on + 1;
        let plan_id = if new.based_on == 0 {
            let id = new_id();
            let inserted = sqlx::query(
                "INSERT INTO care_plan (id, patient_id, current_version, created_at, updated_at) VALUES ($1, $2, 1, $3, $3) \
                 ON CONFLICT (patient_id) DO NOTHING",
            )
            .bind(id.clone())
            .bind(new.patient_id.clone())
            .bind(now.to_owned())
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(stale());
            }
            id
        } else {
            let row = sqlx::query(
                "UPDATE care_plan SET current_version = $1, updated_at = $2 WHERE patient_id = $3 AND current_version = $4 \
                 RETURNING id",
            )
            .bind(version)
            .bind(now.to_owned())
            .bind(new.patient_id.clone())
            .bind(new.based_on)
            .fetch_optional(&mut *transaction)
            .await?;
            match row {
                Some(row) => row.try_get(0)?,
                None => return Err(stale()),
            }
        };
        crate::outcomes::outcomes_changed(&mut transaction, &new.patient_id).await?;
        let version_id = new_id();
        sqlx::query(
            "INSERT INTO care_plan_version (id, plan_id, version, status, cycle_id, recorded_by, recorded_at, changes, \
             pdf_base64) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(version_id.clone())
        .bind(plan_id)
        .bind(version)
        .bind(new.status.clone())
        .bind(new.cycle_id.clone())
        .bind(new.recorded_by.clone())
        .bind(now.to_owned())
        .bind(new.changes.join("\n"))
        .bind(new.pdf_base64.clone())
        .execute(&mut *transaction)
        .await?;
        for (section, item, field, value) in &new.entries {
            sqlx::query(
                "INSERT INTO care_plan_entry (version_id, section, item, field, value) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(version_id.clone())
            .bind(section.clone())
            .bind(*item)
            .bind(field.clone())
            .bind(value.clone())
            .execute(&mut *transaction)
            .await?;
        }
        for task in &new.tasks {
            sqlx::query(
                "INSERT INTO prescriber_task (id, patient_id, version_id, description, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(new.patient_id.clone())
            .bind(version_id.clone())
            .bind(task.clone())
            .bind(now.to_owned())
            .execute(&mut *transaction)
            .await?;
        }
        if let Some(change) = change {
            apply_cycle_change_in(&mut transaction, change, actor, now).await?;
        }
        let detail = format!(
            "care and support plan version {version} ({}){}",
            new.status,
            if new.tasks.is_empty() { String::new() } else { format!(", {} prescriber task(s)", new.tasks.len()) }
        );
        let action = if version == 1 { AuditAction::Create } else { AuditAction::Update };
        insert_audit_events(
            &mut transaction,
            &[patient_event(actor, &new.patient_id, action, "CarePlan", detail)],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// The person whose plan this is.
    pub async fn plan_patient(&self, plan_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT patient_id FROM care_plan WHERE id = $1")
            .bind(plan_id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// A person's plan versions, newest first.
    pub async fn plan_versions(&self, patient_id: &str) -> Result<Vec<PlanVersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.id, v.version, v.status, v.recorded_by, v.recorded_at, v.changes, v.plan_id FROM care_plan_version v \
             JOIN care_plan p ON p.id = v.plan_id WHERE p.patient_id = $1 ORDER BY v.version DESC",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let changes: String = row.try_get(5)?;
                Ok(PlanVersionRow {
                    plan_id: row.try_get(6)?,
                    version_id: row.try_get(0)?,
                    version: row.try_get(1)?,
                    status: row.try_get(2)?,
                    recorded_by: row.try_get(3)?,
                    recorded_at: row.try_get(4)?,
                    changes: changes.lines().filter(|line| !line.is_empty()).map(str::to_owned).collect(),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The PDF generated when a version was agreed (base64), if it was.
    pub async fn plan_version_pdf(&self, version_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT pdf_base64 FROM care_plan_version WHERE id = $1")
            .bind(version_id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => None,
        })
    }

    /// The entries of one version: (section, item, field, value).
    pub async fn plan_entries(&self, version_id: &str) -> Result<Vec<(String, i64, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT section, item, field, value FROM care_plan_entry WHERE version_id = $1 ORDER BY section, item, field",
        )
        .bind(version_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every person's current plan (optionally one practice's), with its review date.
    pub async fn current_plans(&self, practice: Option<&str>) -> Result<Vec<PlanSummaryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.patient_id, pt.nhs_number, v.version, v.status, v.recorded_at, e.value \
             FROM care_plan p JOIN care_plan_version v ON v.plan_id = p.id AND v.version = p.current_version \
             JOIN patient pt ON pt.id = p.patient_id \
             LEFT JOIN care_plan_entry e ON e.version_id = v.id AND e.section = 'plan' AND e.field = 'review_date' \
             WHERE ($1 = '' OR pt.practice_ods_code = $1) ORDER BY pt.nhs_number, p.patient_id",
        )
        .bind(practice.unwrap_or_default().to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PlanSummaryRow {
                    patient_id: row.try_get(0)?,
                    nhs_number: row.try_get(1)?,
                    version: row.try_get(2)?,
                    status: row.try_get(3)?,
                    recorded_at: row.try_get(4)?,
                    review_date: row.try_get(5)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Prescriber tasks not yet done (optionally one practice's), oldest first.
    pub async fn open_prescriber_tasks(&self, practice: Option<&str>) -> Result<Vec<PrescriberTaskRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.patient_id, t.description, t.created_at, t.done_at, t.done_by FROM prescriber_task t \
             JOIN patient p ON p.id = t.patient_id WHERE t.done_at IS NULL AND ($1 = '' OR p.practice_ods_code = $1) \
             ORDER BY t.created_at, t.id",
        )
        .bind(practice.unwrap_or_default().to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(task_from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Marks a prescriber task done (made in the GP system), audited. Returns whether it was open.
    pub async fn complete_prescriber_task(
        &self,
        id: &str,
        by: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE prescriber_task SET done_at = $1, done_by = $2 WHERE id = $3 AND done_at IS NULL \
             RETURNING patient_id, description",
        )
        .bind(now.to_owned())
        .bind(by.to_owned())
        .bind(id.to_owned())
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let patient_id: String = row.try_get(0)?;
        let description: String = row.try_get(1)?;
        let detail = format!("done in the GP system: {description}");
        let event = patient_event(actor, &patient_id, AuditAction::Update, "PrescriberTask", detail);
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }
}

/// A prescriber task from `id, patient_id, description, created_at, done_at, done_by`.
pub(crate) fn task_from_row(row: &sqlx::any::AnyRow) -> Result<PrescriberTaskRow, sqlx::Error> {
    Ok(PrescriberTaskRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        description: row.try_get(2)?,
        created_at: row.try_get(3)?,
        done_at: row.try_get(4)?,
        done_by: row.try_get(5)?,
    })
}
