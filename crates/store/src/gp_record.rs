//! What goes back to the GP record (migration 0016): the items Concord recorded for a person that
//! the GP system must hold, which of them are filed, and the bookkeeping of each export.
//!
//! Invariants: an item is filed only when the GP system confirmed its entry in the export that
//! last carried it; an unfiled item is carried again by the next export; every export and every
//! confirmation is audited in its own transaction.

use std::collections::BTreeMap;

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{NewAuditEvent, insert_audit_events, patient_event};
use crate::plans::{PrescriberTaskRow, task_from_row};
use crate::{Store, StoreError};

/// A cycle event as the GP record needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleEventRow {
    pub id: String,
    pub event: String,
    pub on_date: String,
    pub at: String,
    pub actor: String,
    pub note: Option<String>,
    pub snomed_code: Option<String>,
}

/// An item's filing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingRow {
    pub item_key: String,
    pub export_id: String,
    pub position: i64,
    pub filed_at: Option<String>,
    pub gp_reference: Option<String>,
}

impl Store {
    /// Every event of every cycle of a person, oldest first.
    pub async fn patient_cycle_events(&self, patient_id: &str) -> Result<Vec<CycleEventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event, on_date, at, actor, note, snomed_code FROM care_cycle_event WHERE patient_id = $1 \
             ORDER BY at, id",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CycleEventRow {
                    id: row.try_get(0)?,
                    event: row.try_get(1)?,
                    on_date: row.try_get(2)?,
                    at: row.try_get(3)?,
                    actor: row.try_get(4)?,
                    note: row.try_get(5)?,
                    snomed_code: row.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every prescriber task of a person (open and done), oldest first.
    pub async fn patient_prescriber_tasks(&self, patient_id: &str) -> Result<Vec<PrescriberTaskRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, patient_id, description, created_at, done_at, done_by FROM prescriber_task \
             WHERE patient_id = $1 ORDER BY created_at, id",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(task_from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// The filing state of a person's items, by item key.
    pub async fn gp_filing(&self, patient_id: &str) -> Result<BTreeMap<String, FilingRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT item_key, export_id, position, filed_at, gp_reference FROM gp_filing WHERE patient_id = $1",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        let mut filing = BTreeMap::new();
        for row in rows {
            let item = FilingRow {
                item_key: row.try_get(0)?,
                export_id: row.try_get(1)?,
                position: row.try_get(2)?,
                filed_at: row.try_get(3)?,
                gp_reference: row.try_get(4)?,
            };
            filing.insert(item.item_key.clone(), item);
        }
        Ok(filing)
    }

    /// Records that `export_id` carries these unfiled items (item key, entry position), audited in
    /// the same transaction. An item already filed is left as it is.
    pub async fn record_gp_export(
        &self,
        patient_id: &str,
        export_id: &str,
        items: &[(String, i64)],
        actor: &Actor,
        organisation: Option<&str>,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        for (key, position) in items {
            sqlx::query(
                "INSERT INTO gp_filing (item_key, patient_id, export_id, position, exported_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (item_key) DO UPDATE SET export_id = excluded.export_id, position = excluded.position, \
                 exported_at = excluded.exported_at WHERE gp_filing.filed_at IS NULL",
            )
            .bind(key.clone())
            .bind(patient_id.to_owned())
            .bind(export_id.to_owned())
            .bind(*position)
            .bind(now.to_owned())
            .execute(&mut *transaction)
            .await?;
        }
        let event = NewAuditEvent {
            organisation: organisation.map(str::to_owned),
            ..patient_event(
                actor,
                patient_id,
                AuditAction::Read,
                "GpRecordExport",
                format!("export {export_id}: {} item(s) sent to the GP record", items.len()),
            )
        };
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Marks filed the items of `export_id` at the confirmed positions (with the GP system's
    /// reference), audited in the same transaction. Returns how many were newly filed; positions
    /// that carried nothing, or an item since carried by a newer export, change nothing.
    pub async fn confirm_gp_filing(
        &self,
        export_id: &str,
        confirmed: &[(i64, Option<String>)],
        actor: &Actor,
        organisation: Option<&str>,
        now: &str,
    ) -> Result<(Option<String>, usize), StoreError> {
        let mut transaction = self.pool().begin().await?;
        let patient: Option<String> = sqlx::query("SELECT patient_id FROM gp_filing WHERE export_id = $1 LIMIT 1")
            .bind(export_id.to_owned())
            .fetch_optional(&mut *transaction)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        let Some(patient_id) = patient else { return Ok((None, 0)) };
        let mut filed = 0;
        for (position, reference) in confirmed {
            let done = sqlx::query(
                "UPDATE gp_filing SET filed_at = $1, gp_reference = $2 WHERE export_id = $3 AND position = $4 \
                 AND filed_at IS NULL",
            )
            .bind(now.to_owned())
            .bind(reference.clone())
            .bind(export_id.to_owned())
            .bind(*position)
            .execute(&mut *transaction)
            .await?;
            filed += done.rows_affected() as usize;
        }
        let event = NewAuditEvent {
            organisation: organisation.map(str::to_owned),
            ..patient_event(
                actor,
                &patient_id,
                AuditAction::Update,
                "GpRecordFiling",
                format!("export {export_id}: {filed} item(s) confirmed filed in the GP record"),
            )
        };
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok((Some(patient_id), filed))
    }
}
