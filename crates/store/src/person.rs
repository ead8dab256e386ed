//! The person's own controls (migration 0017): the stronger identity check before they change who
//! may see their record, what each of their proxies may do, and their progress on their goals.
//!
//! Invariants: a step-up code is kept as a digest, one per session, and stops working after
//! `STEP_UP_ATTEMPTS` wrong tries or when it lapses; sending one queues its message in the same
//! transaction; every change is audited in its own transaction.

use concord_domain::audit::{Actor, AuditAction};
use concord_domain::online_access::STEP_UP_ATTEMPTS;
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event};
use crate::cycle::{NewMessage, insert_outbox_message};
use crate::sql::new_id;
use crate::{Store, StoreError};

/// What checking a step-up code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepUpCheck {
    /// Right: the session holds the check until the time given.
    Verified,
    /// Wrong; this many tries are left.
    Wrong(i64),
    /// No live code (never sent, lapsed or used up): ask for a new one.
    NoCode,
}

/// One progress note on a goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalProgressRow {
    pub goal: String,
    pub status: String,
    pub note: String,
    pub written_by: String,
    pub written_at: String,
}

impl Store {
    /// Sends a step-up code: keeps its digest for the session (replacing an earlier one) and
    /// queues the message carrying it, audited, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_step_up(
        &self,
        token_sha256: &str,
        patient_id: &str,
        code_sha256: &str,
        expires_at: &str,
        message: &NewMessage,
        actor: &Actor,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query("DELETE FROM step_up_code WHERE token_sha256 = $1")
            .bind(token_sha256.to_owned())
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO step_up_code (token_sha256, code_sha256, channel, expires_at, attempts) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(token_sha256.to_owned())
        .bind(code_sha256.to_owned())
        .bind(message.channel.clone())
        .bind(expires_at.to_owned())
        .execute(&mut *transaction)
        .await?;
        insert_outbox_message(&mut transaction, patient_id, None, message, now).await?;
        let event = patient_event(
            actor,
            patient_id,
            AuditAction::Create,
            "StepUpCode",
            format!("identity check code sent by {}", message.channel),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Checks a step-up code for the session; when right, the session holds the check until
    /// `verified_until` and the code is used up. Audited either way.
    pub async fn check_step_up(
        &self,
        token_sha256: &str,
        patient_id: &str,
        code_sha256: &str,
        verified_until: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<StepUpCheck, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(
            "SELECT code_sha256, attempts FROM step_up_code WHERE token_sha256 = $1 AND expires_at > $2 AND attempts < $3",
        )
        .bind(token_sha256.to_owned())
        .bind(now.to_owned())
        .bind(STEP_UP_ATTEMPTS)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else { return Ok(StepUpCheck::NoCode) };
        let stored: String = row.try_get(0)?;
        let attempts: i64 = row.try_get(1)?;
        let outcome = if same_digest(&stored, code_sha256) {
            sqlx::query("DELETE FROM step_up_code WHERE token_sha256 = $1")
                .bind(token_sha256.to_owned())
                .execute(&mut *transaction)
                .await?;
            sqlx::query("UPDATE person_session SET verified_until = $1 WHERE token_sha256 = $2")
                .bind(verified_until.to_owned())
                .bind(token_sha256.to_owned())
                .execute(&mut *transaction)
                .await?;
            StepUpCheck::Verified
        } else {
            sqlx::query("UPDATE step_up_code SET attempts = attempts + 1 WHERE token_sha256 = $1")
                .bind(token_sha256.to_owned())
                .execute(&mut *transaction)
                .await?;
            StepUpCheck::Wrong(STEP_UP_ATTEMPTS - attempts - 1)
        };
        let (action, detail) = match outcome {
            StepUpCheck::Verified => (AuditAction::SignIn, "identity check passed"),
            _ => (AuditAction::SignInFailed, "identity check code wrong"),
        };
        let event = patient_event(actor, patient_id, action, "StepUpCode", detail.into());
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(outcome)
    }

    /// Sets what a proxy may do, audited. False when the proxy is not the person's or has ended.
    pub async fn set_proxy_scope(
        &self,
        patient_id: &str,
        proxy_id: &str,
        scope: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let done =
            sqlx::query("UPDATE proxy_access SET scope = $1 WHERE id = $2 AND patient_id = $3 AND revoked_at IS NULL")
                .bind(scope.to_owned())
                .bind(proxy_id.to_owned())
                .bind(patient_id.to_owned())
                .execute(&mut *transaction)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let event = patient_event(
            actor,
            patient_id,
            AuditAction::Update,
            "ProxyAccess",
            format!("what proxy {proxy_id} may do set to: {scope}"),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Records progress on a goal, audited in the same transaction.
    pub async fn record_goal_progress(
        &self,
        patient_id: &str,
        plan_id: &str,
        progress: &GoalProgressRow,
        actor: &Actor,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO goal_progress (id, patient_id, plan_id, goal, status, note, written_by, written_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id())
        .bind(patient_id.to_owned())
        .bind(plan_id.to_owned())
        .bind(progress.goal.clone())
        .bind(progress.status.clone())
        .bind(progress.note.clone())
        .bind(progress.written_by.clone())
        .bind(progress.written_at.clone())
        .execute(&mut *transaction)
        .await?;
        crate::outcomes::outcomes_changed(&mut transaction, patient_id).await?;
        let event = patient_event(
            actor,
            patient_id,
            AuditAction::Create,
            "GoalProgress",
            format!("progress on a goal recorded: {}", progress.status),
        );
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The newest progress on each goal of a plan, by goal words.
    pub async fn goal_progress(&self, plan_id: &str) -> Result<Vec<GoalProgressRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT goal, status, note, written_by, written_at FROM goal_progress WHERE plan_id = $1 \
             ORDER BY goal, written_at, id",
        )
        .bind(plan_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        let mut newest: Vec<GoalProgressRow> = Vec::new();
        for row in rows {
            let progress = GoalProgressRow {
                goal: row.try_get(0)?,
                status: row.try_get(1)?,
                note: row.try_get(2)?,
                written_by: row.try_get(3)?,
                written_at: row.try_get(4)?,
            };
            match newest.last_mut() {
                Some(last) if last.goal == progress.goal => *last = progress,
                _ => newest.push(progress),
            }
        }
        Ok(newest)
    }
}

/// Digest equality in time independent of where they differ.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
