//! The audit trail: append-only events, written in the same transaction as the change they record.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

use crate::sql::{self, Value, bind_values, generated};
use crate::{Store, StoreError};

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub actor: Actor,
    pub organisation: Option<String>,
    pub patient_id: Option<String>,
    pub action: AuditAction,
    /// What was touched, e.g. `PatientRecord`, `PatientSummary`, `PatientSearch`, `StaffSession`.
    pub entity: String,
    /// A short description without free-text clinical content or search terms.
    pub detail: String,
    pub request_id: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub actor_role: String,
    pub organisation: Option<String>,
    pub patient_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub detail: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub action: Option<String>,
    pub limit: Option<i64>,
}

const AUDIT_COLUMNS: &[&str] =
    &["id", "at", "actor", "actor_role", "organisation", "patient_id", "action", "entity", "detail", "request_id"];

/// An audit event about one person's record, by `actor`, with no organisation or request id.
pub(crate) fn patient_event(
    actor: &Actor,
    patient_id: &str,
    action: AuditAction,
    entity: &str,
    detail: String,
) -> NewAuditEvent {
    NewAuditEvent {
        actor: actor.clone(),
        organisation: None,
        patient_id: Some(patient_id.to_owned()),
        action,
        entity: entity.into(),
        detail,
        request_id: None,
    }
}

pub(crate) async fn insert_audit_events(
    transaction: &mut Transaction<'_, Any>,
    events: &[NewAuditEvent],
    at: &str,
) -> Result<(), StoreError> {
    for chunk in events.chunks(64) {
        let mut sql = format!("INSERT INTO audit_event ({}) VALUES ", AUDIT_COLUMNS.join(", "));
        let mut values = Vec::with_capacity(chunk.len() * AUDIT_COLUMNS.len());
        for (row, event) in chunk.iter().enumerate() {
            if row > 0 {
                sql.push_str(", ");
            }
            let base = row * AUDIT_COLUMNS.len();
            let placeholders: Vec<String> = (1..=AUDIT_COLUMNS.len()).map(|n| format!("${}", base + n)).collect();
            sql.push_str(&format!("({})", placeholders.join(", ")));
            values.extend([
                Value::text(sql::new_id()),
                Value::text(at),
                Value::text(event.actor.name()),
                Value::text(event.actor.role()),
                Value::optional_text(event.organisation.clone()),
                Value::optional_text(event.patient_id.clone()),
                Value::text(event.action.as_str()),
                Value::text(event.entity.clone()),
                Value::text(event.detail.clone()),
                Value::optional_text(event.request_id.clone()),
            ]);
        }
        bind_values(generated(sql), &values).execute(&mut **transaction).await?;
    }
    Ok(())
}

impl Store {
    /// Records events on their own (reads, searches, sign-ins), committed before returning.
    pub async fn record_audit(&self, events: &[NewAuditEvent]) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        insert_audit_events(&mut transaction, events, &sql::timestamp_text(OffsetDateTime::now_utc())).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Audit events, newest first.
    pub async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = format!("SELECT {} FROM audit_event WHERE 1 = 1", AUDIT_COLUMNS.join(", "));
        let mut values = Vec::new();
        if let Some(patient_id) = &filter.patient_id {
            values.push(Value::text(patient_id.clone()));
            sql.push_str(&format!(" AND patient_id = ${}", values.len()));
        }
        if let Some(action) = &filter.action {
            values.push(Value::text(action.clone()));
            sql.push_str(&format!(" AND action = ${}", values.len()));
        }
        sql.push_str(" ORDER BY at DESC, id DESC");
        values.push(Value::Integer(Some(filter.limit.unwrap_or(1000))));
        sql.push_str(&format!(" LIMIT ${}", values.len()));
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    actor_role: row.try_get(3)?,
                    organisation: row.try_get(4)?,
                    patient_id: row.try_get(5)?,
                    action: row.try_get(6)?,
                    entity: row.try_get(7)?,
                    detail: row.try_get(8)?,
                    request_id: row.try_get(9)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Number of audit events (for tests and the import summary).
    pub async fn audit_event_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_event").fetch_one(self.pool()).await?;
        Ok(count)
    }
}
