//! The cycle's stages and history, the practice worklist, and the outbox.
//!
//! Invariants:
//! - A stage change, its history row, its audit event and any message it causes are written in
//!   one transaction, guarded by the cycle's version (a concurrent change is refused, not lost).
//! - Outbox messages are delivered later; nothing here sends.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{NewAuditEvent, insert_audit_events};
use crate::sql::{Value, bind_values, generated, new_id};
use crate::status::split;
use crate::{Store, StoreError};

/// A person's cycle for one year, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleRow {
    pub id: String,
    pub patient_id: String,
    pub cycle_year: i64,
    pub stage: String,
    pub stage_since: String,
    pub invitations: i64,
    pub last_invited: Option<String>,
    pub adjustment: Option<String>,
    pub before_dna: Option<String>,
    pub assigned_to: Option<String>,
    pub results_reviewed_by: Option<String>,
    pub comment_for_person: Option<String>,
    pub version: i64,
}

/// A message to put in the outbox with a stage change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub purpose: String,
    pub channel: String,
    pub template: String,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    pub attachment: Option<String>,
    pub not_before: String,
}

/// A stage change to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleChange {
    /// The state after the change (its `version` is the one read; the store increments it).
    pub after: CycleRow,
    /// Whether the cycle row existed when read.
    pub existed: bool,
    pub event: String,
    pub from_stage: String,
    pub on_date: String,
    pub note: Option<String>,
    pub messages: Vec<NewMessage>,
    /// The SNOMED CT concept recorded with the event, where its id is confirmed.
    pub snomed_code: Option<String>,
}

/// One line of the worklist.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistRow {
    pub patient_id: String,
    pub nhs_number: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: String,
    pub practice_ods_code: Option<String>,
    pub stage: String,
    pub risk_score: i64,
    pub risk_factors: Vec<String>,
    pub registers: Vec<String>,
    pub care_planning: Vec<String>,
    pub recall_month: i64,
    pub assigned_to: Option<String>,
    pub invitations: i64,
    /// Outstanding checklist items as (item, status).
    pub due: Vec<(String, String)>,
    pub open_flags: i64,
}

/// A person whose visit's results wait for a clinician's review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewQueueRow {
    pub patient_id: String,
    pub nhs_number: Option<String>,
    pub given_name: String,
    pub family_name: String,
    /// When the cycle reached "tests done" (the information-gathering visit), RFC 3339.
    pub tests_done_at: String,
}

/// Who the worklist lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorklistFilter {
    pub practice: Option<String>,
    pub register: Option<String>,
    pub stage: Option<String>,
    pub assigned_to: Option<String>,
    /// Only people whose recall month is this one (1–12).
    pub recall_month: Option<i64>,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryOutcome<'a> {
    /// sent, queued (to retry at `not_before`), failed or suppressed.
    pub status: &'a str,
    pub provider_id: Option<&'a str>,
    pub error: Option<&'a str>,
    pub suppressed_reason: Option<&'a str>,
    pub not_before: Option<&'a str>,
}

/// An outbox message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: String,
    pub patient_id: String,
    pub cycle_id: Option<String>,
    pub purpose: String,
    pub channel: String,
    pub template: String,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    pub attachment: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub not_before: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub provider_id: Option<String>,
    pub last_error: Option<String>,
    pub suppressed_reason: Option<String>,
}

const CYCLE_COLUMNS: &str = "id, patient_id, cycle_year, stage, stage_since, invitations, last_invited, adjustment, \
     before_dna, assigned_to, results_reviewed_by, comment_for_person, version";

pub(crate) const OUTBOX_COLUMNS: &str = "id, patient_id, cycle_id, purpose, channel, template, recipient, subject, body, attachment, \
     status, attempts, not_before, created_at, sent_at, provider_id, last_error, suppressed_reason";

fn cycle_from_row(row: &sqlx::any::AnyRow) -> Result<CycleRow, sqlx::Error> {
    Ok(CycleRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        cycle_year: row.try_get(2)?,
        stage: row.try_get(3)?,
        stage_since: row.try_get(4)?,
        invitations: row.try_get(5)?,
        last_invited: row.try_get(6)?,
        adjustment: row.try_get(7)?,
        before_dna: row.try_get(8)?,
        assigned_to: row.try_get(9)?,
        results_reviewed_by: row.try_get(10)?,
        comment_for_person: row.try_get(11)?,
        version: row.try_get(12)?,
    })
}

pub(crate) fn outbox_from_row(row: &sqlx::any::AnyRow) -> Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        cycle_id: row.try_get(2)?,
        purpose: row.try_get(3)?,
        channel: row.try_get(4)?,
        template: row.try_get(5)?,
        recipient: row.try_get(6)?,
        subject: row.try_get(7)?,
        body: row.try_get(8)?,
        attachment: row.try_get(9)?,
        status: row.try_get(10)?,
        attempts: row.try_get(11)?,
        not_before: row.try_get(12)?,
        created_at: row.try_get(13)?,
        sent_at: row.try_get(14)?,
        provider_id: row.try_get(15)?,
        last_error: row.try_get(16)?,
        suppressed_reason: row.try_get(17)?,
    })
}

impl Store {
    pub async fn cycle(&self, patient_id: &str, cycle_year: i64) -> Result<Option<CycleRow>, StoreError> {
        let row =
            generated(format!("SELECT {CYCLE_COLUMNS} FROM care_cycle WHERE patient_id = $1 AND cycle_year = $2"))
                .bind(patient_id.to_owned())
                .bind(cycle_year)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.as_ref().map(cycle_from_row).transpose()?)
    }

    /// The history of a cycle: (event, from, to, date, actor, note), oldest first.
    pub async fn cycle_events(
        &self,
        cycle_id: &str,
    ) -> Result<Vec<(String, String, String, String, String, Option<String>, Option<String>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT event, from_stage, to_stage, on_date, actor, note, snomed_code FROM care_cycle_event WHERE cycle_id = $1 \
             ORDER BY at, id",
        )
        .bind(cycle_id.to_owned())
        .fetch_all(self.pool())
        .await?)
    }

    /// Writes a stage change with its history, audit and messages, refusing it if the cycle
    /// changed since it was read. Returns the new version.
    pub async fn apply_cycle_change(&self, change: &CycleChange, actor: &Actor, now: &str) -> Result<i64, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let version = apply_cycle_change_in(&mut transaction, change, actor, now).await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// The worklist: people who enter the cycle, those whose recall month comes soonest first
    /// (counting from `current_month`), highest risk first within a month.
    pub async fn worklist(
        &self,
        filter: &WorklistFilter,
        cycle_year: i64,
        current_month: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<WorklistRow>, StoreError> {
        // Two index-ordered parts: this month to December, then January to last month. Each is
        // read in the index's order and stops at the page's end.
        let later = self.worklist_part(filter, cycle_year, current_month, true, limit, offset).await?;
        if later.len() as i64 >= limit {
            return Ok(later);
        }
        let later_total = if later.is_empty() && offset > 0 {
            self.worklist_part_count(filter, cycle_year, current_month).await?
        } else {
            offset + later.len() as i64
        };
        let earlier_offset = (offset - later_total).max(0);
        let mut list = later;
        let rest = limit - list.len() as i64;
        list.extend(self.worklist_part(filter, cycle_year, current_month, false, rest, earlier_offset).await?);
        Ok(list)
    }

    /// People whose cycle this year is at "tests done" (their results await a clinician's review),
    /// longest waiting first; optionally one practice's.
    pub async fn results_to_review(
        &self,
        practice: Option<&str>,
        cycle_year: i64,
        limit: i64,
    ) -> Result<Vec<ReviewQueueRow>, StoreError> {
        let mut values = vec![Value::Integer(Some(cycle_year))];
        let mut sql = String::from(
            "SELECT c.patient_id, p.nhs_number, p.given_name, p.family_name, c.stage_since FROM care_cycle c \
             JOIN patient p ON p.id = c.patient_id WHERE c.cycle_year = $1 AND c.stage = 'tests_done'",
        );
        if let Some(practice) = practice {
            values.push(Value::text(practice));
            sql.push_str(&format!(" AND p.practice_ods_code = ${}", values.len()));
        }
        values.push(Value::Integer(Some(limit)));
        sql.push_str(&format!(" ORDER BY c.stage_since, c.patient_id LIMIT ${}", values.len()));
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(ReviewQueueRow {
                    patient_id: row.try_get(0)?,
                    nhs_number: row.try_get(1)?,
                    given_name: row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                    family_name: row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                    tests_done_at: row.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    fn worklist_where(filter: &WorklistFilter, values: &mut Vec<Value>) -> String {
        let mut sql = String::new();
        if let Some(practice) = &filter.practice {
            values.push(Value::text(practice.clone()));
            sql.push_str(&format!(" AND s.practice_ods_code = ${}", values.len()));
        }
        if let Some(register) = &filter.register {
            values.push(Value::text(format!("% {register} %")));
            sql.push_str(&format!(" AND (' ' || s.registers || ' ') LIKE ${}", values.len()));
        }
        if let Some(stage) = &filter.stage {
            values.push(Value::text(stage.clone()));
            sql.push_str(&format!(" AND COALESCE(c.stage, 'due') = ${}", values.len()));
        }
        if let Some(assigned) = &filter.assigned_to {
            values.push(Value::text(assigned.clone()));
            sql.push_str(&format!(" AND c.assigned_to = ${}", values.len()));
        }
        if let Some(month) = filter.recall_month {
            values.push(Value::Integer(Some(month)));
            sql.push_str(&format!(" AND s.recall_month = ${}", values.len()));
        }
        sql
    }

    async fn worklist_part_count(
        &self,
        filter: &WorklistFilter,
        cycle_year: i64,
        current_month: i64,
    ) -> Result<i64, StoreError> {
        let mut values = vec![Value::Integer(Some(cycle_year)), Value::Integer(Some(current_month))];
        let mut sql = String::from(
            "SELECT COUNT(*) FROM patient_status s LEFT JOIN care_cycle c ON c.patient_id = s.patient_id AND c.cycle_year = $1 \
             WHERE s.enters_cycle = 1 AND s.recall_month >= $2",
        );
        sql.push_str(&Self::worklist_where(filter, &mut values));
        Ok(bind_values(generated(sql), &values).fetch_one(self.pool()).await?.try_get(0)?)
    }

    async fn worklist_part(
        &self,
        filter: &WorklistFilter,
        cycle_year: i64,
        current_month: i64,
        from_this_month: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<WorklistRow>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let mut values = vec![Value::Integer(Some(cycle_year)), Value::Integer(Some(current_month))];
        let mut sql = format!(
            "SELECT s.patient_id, p.nhs_number, s.given_name, s.family_name, p.birth_date, s.practice_ods_code, \
             COALESCE(c.stage, 'due'), s.risk_score, s.risk_factors, s.registers, s.care_planning, s.recall_month, \
             c.assigned_to, COALESCE(c.invitations, 0), s.open_flags, s.due_items \
             FROM patient_status s JOIN patient p ON p.id = s.patient_id \
             LEFT JOIN care_cycle c ON c.patient_id = s.patient_id AND c.cycle_year = $1 \
             WHERE s.enters_cycle = 1 AND s.recall_month {} $2",
            if from_this_month { ">=" } else { "<" }
        );
        sql.push_str(&Self::worklist_where(filter, &mut values));
        values.push(Value::Integer(Some(limit)));
        values.push(Value::Integer(Some(offset)));
        sql.push_str(&format!(
            " ORDER BY s.recall_month, s.risk_score DESC, s.family_name, s.given_name, s.patient_id LIMIT ${} OFFSET ${}",
            values.len() - 1,
            values.len()
        ));
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        let mut list = Vec::with_capacity(rows.len());
        for row in &rows {
            list.push(WorklistRow {
                patient_id: row.try_get(0)?,
                nhs_number: row.try_get(1)?,
                given_name: row.try_get(2)?,
                family_name: row.try_get(3)?,
                birth_date: row.try_get(4)?,
                practice_ods_code: row.try_get(5)?,
                stage: row.try_get(6)?,
                risk_score: row.try_get(7)?,
                risk_factors: split(&row.try_get::<String, _>(8)?),
                registers: split(&row.try_get::<String, _>(9)?),
                care_planning: split(&row.try_get::<String, _>(10)?),
                recall_month: row.try_get(11)?,
                assigned_to: row.try_get(12)?,
                invitations: row.try_get(13)?,
                due: row
                    .try_get::<String, _>(15)?
                    .split(' ')
                    .filter_map(|word| word.split_once('='))
                    .map(|(item, status)| (item.to_owned(), status.to_owned()))
                    .collect(),
                open_flags: row.try_get(14)?,
            });
        }
        Ok(list)
    }

    /// Messages due to go (queued, not before `now`), oldest first.
    pub async fn pending_messages(&self, now: &str, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox_message WHERE status = 'queued' AND not_before <= $1 \
             ORDER BY not_before, id LIMIT $2"
        ))
        .bind(now.to_owned())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outbox_from_row).collect::<Result<_, _>>()?)
    }

    /// The outbox, oldest first (all of it, or only messages with this status).
    pub async fn outbox(&self, status: Option<&str>, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox_message WHERE ($1 = '' OR status = $1) ORDER BY created_at, id LIMIT $2"
        ))
        .bind(status.unwrap_or_default().to_owned())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outbox_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn messages_for(&self, patient_id: &str) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox_message WHERE patient_id = $1 ORDER BY created_at, id"
        ))
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outbox_from_row).collect::<Result<_, _>>()?)
    }

    /// Records the outcome of one delivery attempt (`status`: sent, queued again with a later
    /// `not_before`, failed or suppressed).
    pub async fn record_delivery(
        &self,
        message_id: &str,
        outcome: &DeliveryOutcome<'_>,
        now: &str,
    ) -> Result<(), StoreError> {
        let DeliveryOutcome { status, provider_id, error, suppressed_reason, not_before } = *outcome;
        sqlx::query(
            "UPDATE outbox_message SET status = $1, attempts = attempts + 1, provider_id = COALESCE($2, provider_id), \
             last_error = $3, suppressed_reason = $4, not_before = COALESCE($5, not_before), \
             sent_at = CASE WHEN $1 = 'sent' THEN $6 ELSE sent_at END WHERE id = $7",
        )
        .bind(status.to_owned())
        .bind(provider_id.map(str::to_owned))
        .bind(error.map(str::to_owned))
        .bind(suppressed_reason.map(str::to_owned))
        .bind(not_before.map(str::to_owned))
        .bind(now.to_owned())
        .bind(message_id.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// Writes a stage change with its history, audit and messages inside the caller's transaction
/// (booking writes its slot in the same one), refusing it if the cycle changed since it was read.
/// Returns the new version.
/// Puts a message in the outbox (letters wait on the print list; others are queued to send).
pub(crate) async fn insert_outbox_message(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    patient_id: &str,
    cycle_id: Option<&str>,
    message: &NewMessage,
    now: &str,
) -> Result<(), StoreError> {
    generated(format!(
        "INSERT INTO outbox_message ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, \
         NULL, NULL, NULL, NULL)"
    ))
    .bind(new_id())
    .bind(patient_id.to_owned())
    .bind(cycle_id.map(str::to_owned))
    .bind(message.purpose.clone())
    .bind(message.channel.clone())
    .bind(message.template.clone())
    .bind(message.recipient.clone())
    .bind(message.subject.clone())
    .bind(message.body.clone())
    .bind(message.attachment.clone())
    .bind(if message.channel == "letter" { "to_print" } else { "queued" })
    .bind(message.not_before.clone())
    .bind(now.to_owned())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

pub(crate) async fn apply_cycle_change_in(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    change: &CycleChange,
    actor: &Actor,
    now: &str,
) -> Result<i64, StoreError> {
    let after = &change.after;
    let stale = || StoreError::Conflict("this person's cycle was changed by someone else; reload and try again".into());
    if change.existed {
        let updated = sqlx::query(
            "UPDATE care_cycle SET stage = $1, stage_since = $2, invitations = $3, last_invited = $4, adjustment = $5, \
             before_dna = $6, assigned_to = $7, results_reviewed_by = $8, comment_for_person = $9, version = version + 1, \
             updated_at = $10 WHERE id = $11 AND version = $12",
        )
        .bind(after.stage.clone())
        .bind(after.stage_since.clone())
        .bind(after.invitations)
        .bind(after.last_invited.clone())
        .bind(after.adjustment.clone())
        .bind(after.before_dna.clone())
        .bind(after.assigned_to.clone())
        .bind(after.results_reviewed_by.clone())
        .bind(after.comment_for_person.clone())
        .bind(now.to_owned())
        .bind(after.id.clone())
        .bind(after.version)
        .execute(&mut **transaction)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(stale());
        }
    } else {
        let inserted = sqlx::query(
            "INSERT INTO care_cycle (id, patient_id, cycle_year, stage, stage_since, invitations, last_invited, adjustment, \
             before_dna, assigned_to, results_reviewed_by, comment_for_person, version, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13) ON CONFLICT (patient_id, cycle_year) DO NOTHING",
        )
        .bind(after.id.clone())
        .bind(after.patient_id.clone())
        .bind(after.cycle_year)
        .bind(after.stage.clone())
        .bind(after.stage_since.clone())
        .bind(after.invitations)
        .bind(after.last_invited.clone())
        .bind(after.adjustment.clone())
        .bind(after.before_dna.clone())
        .bind(after.assigned_to.clone())
        .bind(after.results_reviewed_by.clone())
        .bind(after.comment_for_person.clone())
        .bind(now.to_owned())
        .execute(&mut **transaction)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(stale());
        }
    }
    sqlx::query(
        "INSERT INTO care_cycle_event (id, cycle_id, patient_id, event, from_stage, to_stage, on_date, at, actor, note, \
         snomed_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new_id())
    .bind(after.id.clone())
    .bind(after.patient_id.clone())
    .bind(change.event.clone())
    .bind(change.from_stage.clone())
    .bind(after.stage.clone())
    .bind(change.on_date.clone())
    .bind(now.to_owned())
    .bind(actor.name().to_owned())
    .bind(change.note.clone())
    .bind(change.snomed_code.clone())
    .execute(&mut **transaction)
    .await?;
    crate::outcomes::outcomes_changed(transaction, &after.patient_id).await?;
    for message in &change.messages {
        insert_outbox_message(transaction, &after.patient_id, Some(&after.id), message, now).await?;
    }
    insert_audit_events(
        transaction,
        &[NewAuditEvent {
            actor: actor.clone(),
            organisation: None,
            patient_id: Some(after.patient_id.clone()),
            action: if change.existed { AuditAction::Update } else { AuditAction::Create },
            entity: "CareCycle".into(),
            detail: format!("{}: {} -> {}", change.event, change.from_stage, after.stage),
            request_id: None,
            purpose: None,
        }],
        now,
    )
    .await?;
    Ok(if change.existed { after.version + 1 } else { 1 })
}

impl Store {
    /// Letters waiting to be printed (oldest first), with the person's name, for one practice or all.
    pub async fn letters_to_print(
        &self,
        practice: Option<&str>,
    ) -> Result<Vec<(OutboxRow, String, String)>, StoreError> {
        let mut values = Vec::new();
        let mut sql = format!(
            "SELECT {}, p.family_name, p.given_name FROM outbox_message m JOIN patient p ON p.id = m.patient_id \
             WHERE m.status = 'to_print'",
            OUTBOX_COLUMNS.split(", ").map(|column| format!("m.{}", column.trim())).collect::<Vec<_>>().join(", ")
        );
        if let Some(practice) = practice {
            values.push(Value::text(practice));
            sql.push_str(" AND p.practice_ods_code = $1");
        }
        sql.push_str(" ORDER BY m.created_at, m.id");
        let rows = bind_values(generated(sql), &values).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| Ok((outbox_from_row(row)?, row.try_get(18)?, row.try_get(19)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// One outbox message by id.
    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxRow>, StoreError> {
        let row = generated(format!("SELECT {OUTBOX_COLUMNS} FROM outbox_message WHERE id = $1"))
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(outbox_from_row).transpose()?)
    }

    /// Marks letters printed (only those still waiting), audited per person in one transaction.
    pub async fn mark_letters_printed(&self, ids: &[String], actor: &Actor, now: &str) -> Result<u64, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let mut events = Vec::new();
        for id in ids {
            let printed = sqlx::query(
                "UPDATE outbox_message SET status = 'printed', sent_at = $1, attempts = attempts + 1 \
                 WHERE id = $2 AND status = 'to_print' RETURNING patient_id, purpose",
            )
            .bind(now.to_owned())
            .bind(id.clone())
            .fetch_optional(&mut *transaction)
            .await?;
            if let Some(row) = printed {
                events.push(NewAuditEvent {
                    actor: actor.clone(),
                    organisation: None,
                    patient_id: Some(row.try_get(0)?),
                    action: AuditAction::Update,
                    entity: "Letter".into(),
                    detail: format!("{} printed", row.try_get::<String, _>(1)?),
                    request_id: None,
                    purpose: None,
                });
            }
        }
        insert_audit_events(&mut transaction, &events, now).await?;
        transaction.commit().await?;
        Ok(events.len() as u64)
    }
}
