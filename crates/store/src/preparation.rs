//! The person's preparation: results a clinician withholds from them, and each preparation letter
//! as it was made (migration 0009).
//!
//! Invariants: withholding and releasing are audited in the same transaction; a letter, the
//! cycle's stage change and its outbox message are written in one transaction, so a letter is
//! never recorded as sent without its message or the other way round.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event as audit};
use crate::cycle::{CycleChange, apply_cycle_change_in};
use crate::online::issue_access_code_in;
use crate::sql::new_id;
use crate::status::split;
use crate::{Store, StoreError};

/// A result kept out of the person's letter and online view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithheldRow {
    pub observable: String,
    pub reason: String,
    pub withheld_by: String,
    pub withheld_at: String,
}

/// A preparation letter as made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparationLetterRow {
    pub id: String,
    pub patient_id: String,
    pub cycle_id: String,
    pub made_at: String,
    pub made_by: String,
    /// `standard`, `large_print` or `easy_read`.
    pub format: String,
    /// Observables the letter told.
    pub results: Vec<String>,
    /// Observables withheld when it was made.
    pub withheld: Vec<String>,
    pub plain_text: String,
    /// The PDF as made; empty when listed without it.
    pub pdf_base64: String,
}

impl Store {
    /// Withholds a result from the person, with the reason; withholding one already withheld
    /// changes nothing. Audited in the same transaction.
    pub async fn withhold_result(
        &self,
        patient_id: &str,
        observable: &str,
        reason: &str,
        by: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let existing = sqlx::query(
            "SELECT id FROM withheld_result WHERE patient_id = $1 AND observable = $2 AND released_at IS NULL",
        )
        .bind(patient_id.to_owned())
        .bind(observable.to_owned())
        .fetch_optional(&mut *transaction)
        .await?;
        if existing.is_some() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO withheld_result (id, patient_id, observable, reason, withheld_by, withheld_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(patient_id.to_owned())
        .bind(observable.to_owned())
        .bind(reason.to_owned())
        .bind(by.to_owned())
        .bind(now.to_owned())
        .execute(&mut *transaction)
        .await?;
        let event = audit(
            actor,
            patient_id,
            AuditAction::Create,
            "WithheldResult",
            format!("{observable} withheld from the person: {reason}"),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Releases a withheld result (the row stays, with who released it and when). Audited in the
    /// same transaction. Returns whether anything was withheld.
    pub async fn release_result(
        &self,
        patient_id: &str,
        observable: &str,
        by: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let released = sqlx::query(
            "UPDATE withheld_result SET released_by = $1, released_at = $2 \
             WHERE patient_id = $3 AND observable = $4 AND released_at IS NULL",
        )
        .bind(by.to_owned())
        .bind(now.to_owned())
        .bind(patient_id.to_owned())
        .bind(observable.to_owned())
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if released > 0 {
            let event = audit(
                actor,
                patient_id,
                AuditAction::Update,
                "WithheldResult",
                format!("{observable} released to the person"),
            );
            insert_audit_events(&mut transaction, &[event], now).await?;
        }
        transaction.commit().await?;
        Ok(released > 0)
    }

    /// Results withheld from the person now.
    pub async fn withheld_results(&self, patient_id: &str) -> Result<Vec<WithheldRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT observable, reason, withheld_by, withheld_at FROM withheld_result \
             WHERE patient_id = $1 AND released_at IS NULL ORDER BY withheld_at, id",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WithheldRow {
                    observable: row.try_get(0)?,
                    reason: row.try_get(1)?,
                    withheld_by: row.try_get(2)?,
                    withheld_at: row.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Records a preparation letter with the cycle's change (and the change's outbox messages)
    /// in one transaction, audited. Returns the cycle's new version.
    /// `code`: the digest and expiry of the person's new online access code (their earlier codes
    /// are revoked), written in the same transaction.
    pub async fn record_preparation(
        &self,
        change: &CycleChange,
        letter: &PreparationLetterRow,
        code: Option<(&str, &str)>,
        actor: &Actor,
        now: &str,
    ) -> Result<i64, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let version = apply_cycle_change_in(&mut transaction, change, actor, now).await?;
        if let Some((digest, expires_at)) = code {
            issue_access_code_in(&mut transaction, &letter.patient_id, None, digest, expires_at, now).await?;
        }
        sqlx::query(
            "INSERT INTO preparation_letter (id, patient_id, cycle_id, made_at, made_by, format, results, withheld, \
             plain_text, pdf_base64) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(letter.id.clone())
        .bind(letter.patient_id.clone())
        .bind(letter.cycle_id.clone())
        .bind(letter.made_at.clone())
        .bind(letter.made_by.clone())
        .bind(letter.format.clone())
        .bind(letter.results.join(" "))
        .bind(letter.withheld.join(" "))
        .bind(letter.plain_text.clone())
        .bind(letter.pdf_base64.clone())
        .execute(&mut *transaction)
        .await?;
        let detail = format!(
            "preparation letter made ({}): {} result(s) told{}{}",
            letter.format,
            letter.results.len(),
            if code.is_some() { ", online access code issued" } else { "" },
            if letter.withheld.is_empty() {
                String::new()
            } else {
                format!(", withheld: {}", letter.withheld.join(", "))
            }
        );
        let event = audit(actor, &letter.patient_id, AuditAction::Create, "PreparationLetter", detail);
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// A person's preparation letters, newest first, without their PDFs.
    pub async fn preparation_letters(&self, patient_id: &str) -> Result<Vec<PreparationLetterRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, patient_id, cycle_id, made_at, made_by, format, results, withheld, plain_text, '' \
             FROM preparation_letter WHERE patient_id = $1 ORDER BY made_at DESC, id DESC",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(letter_from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// One preparation letter with its PDF.
    pub async fn preparation_letter(&self, id: &str) -> Result<Option<PreparationLetterRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, patient_id, cycle_id, made_at, made_by, format, results, withheld, plain_text, pdf_base64 \
             FROM preparation_letter WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(letter_from_row).transpose()?)
    }
}

fn letter_from_row(row: &sqlx::any::AnyRow) -> Result<PreparationLetterRow, sqlx::Error> {
    Ok(PreparationLetterRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        cycle_id: row.try_get(2)?,
        made_at: row.try_get(3)?,
        made_by: row.try_get(4)?,
        format: row.try_get(5)?,
        results: split(&row.try_get::<String, _>(6)?),
        withheld: split(&row.try_get::<String, _>(7)?),
        plain_text: row.try_get(8)?,
        pdf_base64: row.try_get(9)?,
    })
}
