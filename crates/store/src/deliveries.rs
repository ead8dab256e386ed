//! After sending (migration 0020): delivery receipts the SMS gateway reports later, and messages
//! that could not be delivered, waiting for a member of staff.
//!
//! Invariants: a receipt names the message by Concord's id (the reference sent with it) or the
//! gateway's id; a receipt of failure makes the message failed, so it reaches staff; dealing with
//! a failed message (sending it as a letter instead, or recording that it was handled another
//! way) is audited in the same transaction, and a failed message is dealt with once.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event};
use crate::cycle::{NewMessage, OUTBOX_COLUMNS, OutboxRow, insert_outbox_message, outbox_from_row};
use crate::sql::generated;
use crate::{Store, StoreError};

/// A failed message with the person's name and NHS number, for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMessage {
    pub message: OutboxRow,
    pub given_name: String,
    pub family_name: String,
    pub nhs_number: Option<String>,
}

impl Store {
    /// Records a delivery receipt; returns the message id, or `None` when no message has that
    /// reference. `failed` receipts make the message failed (with `reason`) unless it was
    /// already dealt with.
    pub async fn record_delivery_receipt(
        &self,
        reference: &str,
        delivery_status: &str,
        failed: Option<&str>,
        actor: &Actor,
        now: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(
            "SELECT id, patient_id FROM outbox_message WHERE (id = $1 OR provider_id = $1) AND status IN ('sent', 'failed') \
             ORDER BY created_at LIMIT 1",
        )
        .bind(reference.to_owned())
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get(0)?;
        let patient_id: String = row.try_get(1)?;
        sqlx::query(
            "UPDATE outbox_message SET delivery_status = $1, delivery_updated_at = $2, \
             status = CASE WHEN $3 <> '' AND resolved_at IS NULL THEN 'failed' ELSE status END, \
             last_error = CASE WHEN $3 <> '' THEN $3 ELSE last_error END WHERE id = $4",
        )
        .bind(delivery_status.to_owned())
        .bind(now.to_owned())
        .bind(failed.unwrap_or_default().to_owned())
        .bind(id.clone())
        .execute(&mut *transaction)
        .await?;
        let event = patient_event(
            actor,
            &patient_id,
            AuditAction::Update,
            "OutboxMessage",
            format!("delivery receipt for message {id}: {delivery_status}"),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(Some(id))
    }

    /// Messages that could not be delivered and nobody has dealt with yet, oldest first (a
    /// practice's people only, when given).
    pub async fn failed_messages(&self, practice: Option<&str>) -> Result<Vec<FailedMessage>, StoreError> {
        let columns: Vec<String> = OUTBOX_COLUMNS.split(", ").map(|column| format!("m.{column}")).collect();
        let rows = generated(format!(
            "SELECT {}, p.given_name, p.family_name, p.nhs_number FROM outbox_message m JOIN patient p ON p.id = m.patient_id \
             WHERE m.status = 'failed' AND m.resolved_at IS NULL AND ($1 = '' OR p.practice_ods_code = $1) \
             ORDER BY m.created_at, m.id",
            columns.join(", ")
        ))
        .bind(practice.unwrap_or_default().to_owned())
        .fetch_all(self.pool())
        .await?;
        let width = columns.len();
        rows.iter()
            .map(|row| {
                Ok(FailedMessage {
                    message: outbox_from_row(row)?,
                    given_name: row.try_get(width)?,
                    family_name: row.try_get(width + 1)?,
                    nhs_number: row.try_get(width + 2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Deals with a failed message: `letter` puts the same message on the print list instead;
    /// `handled` records that staff reached the person another way. False when the message is
    /// not failed, or was already dealt with.
    pub async fn resolve_failed_message(
        &self,
        id: &str,
        action: &str,
        by: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = generated(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox_message WHERE id = $1 AND status = 'failed' AND resolved_at IS NULL"
        ))
        .bind(id.to_owned())
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let message = outbox_from_row(&row)?;
        let resolution = match action {
            "letter" => {
                let letter = NewMessage {
                    purpose: message.purpose.clone(),
                    channel: "letter".into(),
                    template: message.template.clone(),
                    recipient: None,
                    subject: message.subject.clone(),
                    body: message.body.clone(),
                    attachment: message.attachment.clone(),
                    not_before: now.to_owned(),
                };
                insert_outbox_message(&mut transaction, &message.patient_id, message.cycle_id.as_deref(), &letter, now)
                    .await?;
                "sent as a letter instead"
            }
            _ => "handled another way",
        };
        sqlx::query("UPDATE outbox_message SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE id = $4")
            .bind(now.to_owned())
            .bind(by.to_owned())
            .bind(resolution.to_owned())
            .bind(id.to_owned())
            .execute(&mut *transaction)
            .await?;
        let event = patient_event(
            actor,
            &message.patient_id,
            AuditAction::Update,
            "OutboxMessage",
            format!("undelivered {} message {id} {resolution}", message.channel),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }
}
