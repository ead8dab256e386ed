//! Check-ins between consultations and their follow-ups (migration 0021).
//!
//! Invariants: one check-in per agreed plan version; sending one (with its access code and
//! message) and answering one (progress on each goal, the check-in, the follow-up) are each one
//! transaction with its audit event.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event};
use crate::cycle::{NewMessage, insert_outbox_message};
use crate::online::issue_access_code_in;
use crate::person::GoalProgressRow;
use crate::sql::new_id;
use crate::{Store, StoreError};

/// A check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInRow {
    pub id: String,
    pub patient_id: String,
    pub plan_id: String,
    pub plan_version: i64,
    pub due_on: String,
    /// `email`, `sms` or `phone`.
    pub channel: String,
    /// `scheduled`, `sent` or `answered`.
    pub status: String,
    pub sent_at: Option<String>,
    pub answered_at: Option<String>,
    pub answered_by: Option<String>,
    pub help_requested: bool,
    pub note: String,
}

/// An open follow-up with the person's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpRow {
    pub id: String,
    pub patient_id: String,
    pub check_in_id: String,
    pub reason: String,
    pub owner_role: String,
    pub due_by: String,
    pub taken_by: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub nhs_number: Option<String>,
    /// What the person wrote with their answers.
    pub note: String,
}

const COLUMNS: &str = "id, patient_id, plan_id, plan_version, due_on, channel, status, sent_at, answered_at, answered_by, \
                       help_requested, note";

fn from_row(row: &sqlx::any::AnyRow) -> Result<CheckInRow, sqlx::Error> {
    Ok(CheckInRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        plan_id: row.try_get(2)?,
        plan_version: row.try_get(3)?,
        due_on: row.try_get(4)?,
        channel: row.try_get(5)?,
        status: row.try_get(6)?,
        sent_at: row.try_get(7)?,
        answered_at: row.try_get(8)?,
        answered_by: row.try_get(9)?,
        help_requested: row.try_get::<i64, _>(10)? != 0,
        note: row.try_get(11)?,
    })
}

/// A follow-up to open with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    pub reason: String,
    pub owner_role: String,
    pub due_by: String,
}

impl Store {
    /// Schedules a check-in for an agreed plan version, unless it has one. True when scheduled.
    pub async fn schedule_check_in(&self, row: &CheckInRow, now: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO check_in ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', NULL, NULL, NULL, 0, '') \
             ON CONFLICT (plan_id, plan_version) DO NOTHING"
        )))
        .bind(row.id.clone())
        .bind(row.patient_id.clone())
        .bind(row.plan_id.clone())
        .bind(row.plan_version)
        .bind(row.due_on.clone())
        .bind(row.channel.clone())
        .execute(&mut *transaction)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_with_event(
            transaction,
            &row.patient_id,
            AuditAction::Create,
            format!("check-in by {} scheduled for {}", row.channel, row.due_on),
            now,
        )
        .await?;
        Ok(true)
    }

    /// Check-ins due on or before `today` and not yet sent.
    pub async fn due_check_ins(&self, today: &str, limit: i64) -> Result<Vec<CheckInRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM check_in WHERE status = 'scheduled' AND withdrawn IS NULL AND due_on <= $1 \
             ORDER BY due_on, id LIMIT $2"
        )))
        .bind(today.to_owned())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Marks a check-in sent: for email and text with a new access code (earlier ones stop
    /// working) and the message carrying it; for phone, onto the call list. One transaction.
    /// False, with nothing written, when it was no longer waiting to be sent (another sender
    /// took it, or it was withdrawn): two senders never make two codes and two messages.
    pub async fn send_check_in(
        &self,
        check_in: &CheckInRow,
        code: Option<(&str, &str, &NewMessage)>,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let taken = sqlx::query(
            "UPDATE check_in SET status = 'sent', sent_at = $1 WHERE id = $2 AND status = 'scheduled' \
             AND withdrawn IS NULL",
        )
        .bind(now.to_owned())
        .bind(check_in.id.clone())
        .execute(&mut *transaction)
        .await?;
        if taken.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some((code_sha256, expires_at, message)) = code {
            issue_access_code_in(&mut transaction, &check_in.patient_id, None, code_sha256, expires_at, now).await?;
            insert_outbox_message(&mut transaction, &check_in.patient_id, None, message, now).await?;
        }
        commit_with_event(
            transaction,
            &check_in.patient_id,
            AuditAction::Update,
            format!("check-in sent by {}", check_in.channel),
            now,
        )
        .await?;
        Ok(true)
    }

    /// Withdraws a check-in not yet sent, with the reason (the person died, moved away or their
    /// cycle stops messages), audited. False when it was no longer waiting to be sent.
    pub async fn withdraw_check_in(&self, check_in: &CheckInRow, reason: &str, now: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE check_in SET withdrawn = $1 WHERE id = $2 AND status = 'scheduled' AND withdrawn IS NULL",
        )
        .bind(reason.to_owned())
        .bind(check_in.id.clone())
        .execute(&mut *transaction)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_with_event(
            transaction,
            &check_in.patient_id,
            AuditAction::Update,
            format!("check-in withdrawn: {reason}"),
            now,
        )
        .await?;
        Ok(true)
    }

    /// The person's check-in waiting for their answer, if any.
    pub async fn open_check_in(&self, patient_id: &str) -> Result<Option<CheckInRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM check_in WHERE patient_id = $1 AND status = 'sent' ORDER BY due_on DESC LIMIT 1"
        )))
        .bind(patient_id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    pub async fn check_in(&self, id: &str) -> Result<Option<CheckInRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM check_in WHERE id = $1")))
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Records the answers: progress on each goal, the check-in answered, and a follow-up when
    /// one is needed, in one transaction. False when the check-in was already answered.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_check_in(
        &self,
        check_in: &CheckInRow,
        progress: &[GoalProgressRow],
        help_requested: bool,
        note: &str,
        answered_by: &str,
        follow_up: Option<&NewFollowUp>,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE check_in SET status = 'answered', answered_at = $1, answered_by = $2, help_requested = $3, note = $4 \
             WHERE id = $5 AND status = 'sent'",
        )
        .bind(now.to_owned())
        .bind(answered_by.to_owned())
        .bind(i64::from(help_requested))
        .bind(note.to_owned())
        .bind(check_in.id.clone())
        .execute(&mut *transaction)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        crate::outcomes::outcomes_changed(&mut transaction, &check_in.patient_id).await?;
        for row in progress {
            sqlx::query(
                "INSERT INTO goal_progress (id, patient_id, plan_id, goal, status, note, written_by, written_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_id())
            .bind(check_in.patient_id.clone())
            .bind(check_in.plan_id.clone())
            .bind(row.goal.clone())
            .bind(row.status.clone())
            .bind(row.note.clone())
            .bind(row.written_by.clone())
            .bind(row.written_at.clone())
            .execute(&mut *transaction)
            .await?;
        }
        if let Some(follow_up) = follow_up {
            sqlx::query(
                "INSERT INTO follow_up (id, patient_id, check_in_id, reason, owner_role, due_by) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(check_in.patient_id.clone())
            .bind(check_in.id.clone())
            .bind(follow_up.reason.clone())
            .bind(follow_up.owner_role.clone())
            .bind(follow_up.due_by.clone())
            .execute(&mut *transaction)
            .await?;
        }
        let detail = match follow_up {
            Some(follow_up) => format!("check-in answered; follow-up by {}: {}", follow_up.due_by, follow_up.reason),
            None => "check-in answered".to_owned(),
        };
        let event = patient_event(actor, &check_in.patient_id, AuditAction::Update, "CheckIn", detail);
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Check-ins waiting for a call: by phone, and by email or text sent before `unanswered_before`
    /// with no answer: (check-in, given name, family name, NHS number, phone).
    pub async fn check_in_calls(
        &self,
        practice: Option<&str>,
        unanswered_before: &str,
    ) -> Result<Vec<(CheckInRow, String, String, Option<String>, Option<String>)>, StoreError> {
        let columns: Vec<String> = COLUMNS.split(", ").map(|column| format!("c.{column}")).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {}, p.given_name, p.family_name, p.nhs_number, COALESCE(p.phone, p.mobile) FROM check_in c \
             JOIN patient p ON p.id = c.patient_id WHERE c.status = 'sent' \
             AND (c.channel = 'phone' OR c.sent_at < $2) \
             AND ($1 = '' OR p.practice_ods_code = $1) ORDER BY c.due_on, c.id",
            columns.join(", ")
        )))
        .bind(practice.unwrap_or_default().to_owned())
        .bind(unanswered_before.to_owned())
        .fetch_all(self.pool())
        .await?;
        let width = columns.len();
        rows.iter()
            .map(|row| {
                Ok((
                    from_row(row)?,
                    row.try_get(width)?,
                    row.try_get(width + 1)?,
                    row.try_get(width + 2)?,
                    row.try_get(width + 3)?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Open follow-ups, soonest due first.
    pub async fn open_follow_ups(&self, practice: Option<&str>) -> Result<Vec<FollowUpRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.patient_id, f.check_in_id, f.reason, f.owner_role, f.due_by, f.taken_by, p.given_name, \
             p.family_name, p.nhs_number, c.note FROM follow_up f JOIN patient p ON p.id = f.patient_id \
             JOIN check_in c ON c.id = f.check_in_id WHERE f.done_at IS NULL AND ($1 = '' OR p.practice_ods_code = $1) \
             ORDER BY f.due_by, f.id",
        )
        .bind(practice.unwrap_or_default().to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FollowUpRow {
                    id: row.try_get(0)?,
                    patient_id: row.try_get(1)?,
                    check_in_id: row.try_get(2)?,
                    reason: row.try_get(3)?,
                    owner_role: row.try_get(4)?,
                    due_by: row.try_get(5)?,
                    taken_by: row.try_get(6)?,
                    given_name: row.try_get(7)?,
                    family_name: row.try_get(8)?,
                    nhs_number: row.try_get(9)?,
                    note: row.try_get(10)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Closes a follow-up with what was done, audited. False when it was already closed.
    pub async fn complete_follow_up(
        &self,
        id: &str,
        by: &str,
        outcome: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query("SELECT patient_id FROM follow_up WHERE id = $1 AND done_at IS NULL")
            .bind(id.to_owned())
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else { return Ok(false) };
        let patient_id: String = row.try_get(0)?;
        sqlx::query("UPDATE follow_up SET done_at = $1, taken_by = $2, outcome = $3 WHERE id = $4")
            .bind(now.to_owned())
            .bind(by.to_owned())
            .bind(outcome.to_owned())
            .bind(id.to_owned())
            .execute(&mut *transaction)
            .await?;
        let event = patient_event(actor, &patient_id, AuditAction::Update, "FollowUp", "follow-up done".into());
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }
}

/// Commits a check-in change with its audit event, written by the check-ins process, in the same
/// transaction.
async fn commit_with_event(
    mut transaction: sqlx::Transaction<'_, sqlx::Any>,
    patient_id: &str,
    action: AuditAction,
    detail: String,
    now: &str,
) -> Result<(), StoreError> {
    let event = patient_event(&Actor::System("check-ins".into()), patient_id, action, "CheckIn", detail);
    insert_audit_events(&mut transaction, &[event], now).await?;
    transaction.commit().await?;
    Ok(())
}
