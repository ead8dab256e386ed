//! Plans from other services (migration 0018), linked into the person's overarching plan.
//!
//! Invariants: every write is audited in its transaction; an update names the version it
//! replaces and is refused with a conflict, writing nothing, when that is no longer current.

use concord_domain::audit::{Actor, AuditAction};
use concord_domain::linked_plan::LinkedPlan;
use sqlx::Row;

use crate::audit::{NewAuditEvent, insert_audit_events, patient_event};
use crate::{Store, StoreError};

/// A linked plan as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedPlanRow {
    pub id: String,
    pub patient_id: String,
    pub plan: LinkedPlan,
    /// `api` or `practice`.
    pub received_via: String,
    /// The FHIR CarePlan as received, when it came through the API.
    pub resource_json: Option<String>,
    pub version: i64,
    pub recorded_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, patient_id, organisation, service, kind, title, summary, status, period_start, period_end, \
                       received_via, resource_json, version, recorded_by, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<LinkedPlanRow, sqlx::Error> {
    Ok(LinkedPlanRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        plan: LinkedPlan {
            organisation: row.try_get(2)?,
            service: row.try_get(3)?,
            kind: row.try_get(4)?,
            title: row.try_get(5)?,
            summary: row.try_get(6)?,
            status: row.try_get(7)?,
            period_start: row.try_get(8)?,
            period_end: row.try_get(9)?,
        },
        received_via: row.try_get(10)?,
        resource_json: row.try_get(11)?,
        version: row.try_get(12)?,
        recorded_by: row.try_get(13)?,
        created_at: row.try_get(14)?,
        updated_at: row.try_get(15)?,
    })
}

impl Store {
    /// Adds a linked plan (version 1), audited with the organisation that sent it.
    pub async fn add_linked_plan(&self, row: &LinkedPlanRow, actor: &Actor, now: &str) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO linked_plan ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $14)"
        )))
        .bind(row.id.clone())
        .bind(row.patient_id.clone())
        .bind(row.plan.organisation.clone())
        .bind(row.plan.service.clone())
        .bind(row.plan.kind.clone())
        .bind(row.plan.title.clone())
        .bind(row.plan.summary.clone())
        .bind(row.plan.status.clone())
        .bind(row.plan.period_start.clone())
        .bind(row.plan.period_end.clone())
        .bind(row.received_via.clone())
        .bind(row.resource_json.clone())
        .bind(row.recorded_by.clone())
        .bind(now.to_owned())
        .execute(&mut *transaction)
        .await?;
        let event = NewAuditEvent {
            organisation: row.plan.organisation.clone(),
            ..patient_event(
                actor,
                &row.patient_id,
                AuditAction::Create,
                "LinkedPlan",
                format!("plan from {} linked ({})", row.plan.service, row.plan.kind),
            )
        };
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Replaces a linked plan's content if it is still at `expected_version`; returns the new
    /// version. A conflict (nothing written) when it has moved on.
    pub async fn update_linked_plan(
        &self,
        row: &LinkedPlanRow,
        expected_version: i64,
        actor: &Actor,
        now: &str,
    ) -> Result<i64, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE linked_plan SET service = $1, kind = $2, title = $3, summary = $4, status = $5, period_start = $6, \
             period_end = $7, resource_json = $8, version = version + 1, recorded_by = $9, updated_at = $10 \
             WHERE id = $11 AND version = $12",
        )
        .bind(row.plan.service.clone())
        .bind(row.plan.kind.clone())
        .bind(row.plan.title.clone())
        .bind(row.plan.summary.clone())
        .bind(row.plan.status.clone())
        .bind(row.plan.period_start.clone())
        .bind(row.plan.period_end.clone())
        .bind(row.resource_json.clone())
        .bind(row.recorded_by.clone())
        .bind(now.to_owned())
        .bind(row.id.clone())
        .bind(expected_version)
        .execute(&mut *transaction)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "linked plan {} is no longer at version {expected_version}",
                row.id
            )));
        }
        let event = NewAuditEvent {
            organisation: row.plan.organisation.clone(),
            ..patient_event(
                actor,
                &row.patient_id,
                AuditAction::Update,
                "LinkedPlan",
                format!("plan from {} updated to version {}", row.plan.service, expected_version + 1),
            )
        };
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(expected_version + 1)
    }

    /// A person's linked plans, newest first.
    pub async fn linked_plans(&self, patient_id: &str) -> Result<Vec<LinkedPlanRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM linked_plan WHERE patient_id = $1 ORDER BY updated_at DESC, id"
        )))
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// One linked plan.
    pub async fn linked_plan(&self, id: &str) -> Result<Option<LinkedPlanRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM linked_plan WHERE id = $1")))
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }
}
