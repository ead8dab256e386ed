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
    /// Why: the purpose of a read outside direct care by the practice (e.g. "break-glass: …",
    /// "shared care: consent"); `None` for the practice's own direct care.
    pub purpose: Option<String>,
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
    pub purpose: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub action: Option<String>,
    pub limit: Option<i64>,
}

const AUDIT_COLUMNS: &[&str] = &[
    "id",
    "at",
    "actor",
    "actor_role",
    "organisation",
    "patient_id",
    "action",
    "entity",
    "detail",
    "request_id",
    "purpose",
];

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
        purpose: None,
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
                Value::optional_text(event.purpose.clone()),
            ]);
        }
        bind_values(generated(sql), &values).execute(&mut **transaction).await?;
    }
    Ok(())
}

/// Events waiting for the group commit: the events, their time, and who to tell when they are
/// durable.
type AuditRequest = (Vec<NewAuditEvent>, String, tokio::sync::oneshot::Sender<Result<(), String>>);
pub(crate) type AuditSender = tokio::sync::mpsc::UnboundedSender<AuditRequest>;

/// The most events one group commit writes.
const GROUP_LIMIT: usize = 2000;

impl Store {
    /// Records events on their own (reads, searches, sign-ins), committed before returning.
    ///
    /// Group commit: events from concurrent callers are written together in one transaction by
    /// one writer, which takes whatever arrived while the previous commit was in flight (so a
    /// lone caller waits for no one, and under load many reads share one fsync). Each caller
    /// still returns only once its own events are committed, so nothing is shown before its
    /// read is audited.
    pub async fn record_audit(&self, events: &[NewAuditEvent]) -> Result<(), StoreError> {
        let at = sql::timestamp_text(OffsetDateTime::now_utc());
        let sender = self.audit_writer.get_or_init(|| {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(write_audit_groups(self.pool().clone(), receiver));
            sender
        });
        let (done, committed) = tokio::sync::oneshot::channel();
        if sender.send((events.to_vec(), at.clone(), done)).is_err() {
            // The writer has gone (its runtime ended): write directly.
            let mut transaction = self.pool().begin().await?;
            insert_audit_events(&mut transaction, events, &at).await?;
            transaction.commit().await?;
            return Ok(());
        }
        committed
            .await
            .map_err(|_| StoreError::Database("the audit writer stopped before committing".into()))?
            .map_err(StoreError::Database)
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
                    purpose: row.try_get(10)?,
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

/// The group-commit writer: one transaction per group of waiting events.
async fn write_audit_groups(pool: sqlx::AnyPool, mut receiver: tokio::sync::mpsc::UnboundedReceiver<AuditRequest>) {
    while let Some(first) = receiver.recv().await {
        let mut group = vec![first];
        let mut count = group[0].0.len();
        while count < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(next) => {
                    count += next.0.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let outcome = async {
            let mut transaction = pool.begin().await?;
            for (events, at, _) in &group {
                insert_audit_events(&mut transaction, events, at).await?;
            }
            transaction.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await
        .map_err(|error| error.to_string());
        for (_, _, done) in group {
            let _ = done.send(outcome.clone());
        }
    }
}
