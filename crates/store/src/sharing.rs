//! Sharing with clinicians outside the practice (migration 0015): break-glass grants, FHIR search
//! paging tokens, which person a served resource belongs to, and the person's answers across
//! cycles.
//!
//! Invariants: a break-glass grant and its audit event are written in one transaction, and stay
//! on the privacy officer's list until reviewed; a paging token belongs to one client and lapses.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{NewAuditEvent, insert_audit_events, patient_event};
use crate::online::AgendaAnswerRow;
use crate::{Store, StoreError};

/// One break-glass access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassRow {
    pub id: String,
    pub patient_id: String,
    /// ODS code of the organisation whose clinician broke the glass.
    pub organisation: String,
    /// Who: a client (`client:…`) or a signed-in clinician.
    pub actor: String,
    pub reason: String,
    pub granted_at: String,
    pub expires_at: String,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub review_note: Option<String>,
}

/// A search's next page, as its token names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPageRow {
    pub search: String,
    pub patient_id: String,
    pub offset: i64,
    pub count: i64,
}

const BREAK_GLASS_COLUMNS: &str =
    "id, patient_id, organisation, actor, reason, granted_at, expires_at, reviewed_at, reviewed_by, review_note";

fn break_glass_from_row(row: &sqlx::any::AnyRow) -> Result<BreakGlassRow, sqlx::Error> {
    Ok(BreakGlassRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        organisation: row.try_get(2)?,
        actor: row.try_get(3)?,
        reason: row.try_get(4)?,
        granted_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        reviewed_at: row.try_get(7)?,
        reviewed_by: row.try_get(8)?,
        review_note: row.try_get(9)?,
    })
}

impl Store {
    /// Records a break-glass access with its audit event (purpose: the reason), in one transaction.
    pub async fn grant_break_glass(&self, grant: &BreakGlassRow, actor: &Actor, now: &str) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO break_glass (id, patient_id, organisation, actor, reason, granted_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(grant.id.clone())
        .bind(grant.patient_id.clone())
        .bind(grant.organisation.clone())
        .bind(grant.actor.clone())
        .bind(grant.reason.clone())
        .bind(grant.granted_at.clone())
        .bind(grant.expires_at.clone())
        .execute(&mut *transaction)
        .await?;
        let event = NewAuditEvent {
            organisation: Some(grant.organisation.clone()),
            purpose: Some(format!("break-glass: {}", grant.reason)),
            ..patient_event(
                actor,
                &grant.patient_id,
                AuditAction::Create,
                "BreakGlass",
                format!("break-glass access until {} (flagged to the privacy officer)", grant.expires_at),
            )
        };
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The live break-glass grant of an organisation for a person, if any.
    pub async fn live_break_glass(
        &self,
        patient_id: &str,
        organisation: &str,
        now: &str,
    ) -> Result<Option<BreakGlassRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {BREAK_GLASS_COLUMNS} FROM break_glass WHERE patient_id = $1 AND organisation = $2 \
             AND expires_at > $3 ORDER BY expires_at DESC LIMIT 1"
        )))
        .bind(patient_id.to_owned())
        .bind(organisation.to_owned())
        .bind(now.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(break_glass_from_row).transpose()?)
    }

    /// Break-glass accesses, newest first: those not yet reviewed, or all.
    pub async fn break_glass_list(&self, unreviewed_only: bool, limit: i64) -> Result<Vec<BreakGlassRow>, StoreError> {
        let filter = if unreviewed_only { "WHERE reviewed_at IS NULL" } else { "" };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {BREAK_GLASS_COLUMNS} FROM break_glass {filter} ORDER BY granted_at DESC, id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(break_glass_from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Marks a break-glass access reviewed by the privacy officer, audited in the same
    /// transaction. False when it was already reviewed or does not exist.
    pub async fn review_break_glass(
        &self,
        id: &str,
        reviewed_by: &str,
        note: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query("SELECT patient_id FROM break_glass WHERE id = $1 AND reviewed_at IS NULL")
            .bind(id.to_owned())
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else { return Ok(false) };
        let patient_id: String = row.try_get(0)?;
        sqlx::query("UPDATE break_glass SET reviewed_at = $1, reviewed_by = $2, review_note = $3 WHERE id = $4")
            .bind(now.to_owned())
            .bind(reviewed_by.to_owned())
            .bind(note.to_owned())
            .bind(id.to_owned())
            .execute(&mut *transaction)
            .await?;
        let event = patient_event(actor, &patient_id, AuditAction::Update, "BreakGlass", "break-glass reviewed".into());
        insert_audit_events(&mut transaction, &[event], now).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Keeps a search's next page under `token`.
    pub async fn save_search_page(
        &self,
        token: &str,
        client_id: &str,
        page: &SearchPageRow,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO search_page (token, client_id, search, patient_id, page_offset, page_count, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.to_owned())
        .bind(client_id.to_owned())
        .bind(page.search.clone())
        .bind(page.patient_id.clone())
        .bind(page.offset)
        .bind(page.count)
        .bind(expires_at.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The page a token names, if it is live and belongs to this client.
    pub async fn search_page(
        &self,
        token: &str,
        client_id: &str,
        now: &str,
    ) -> Result<Option<SearchPageRow>, StoreError> {
        let row = sqlx::query(
            "SELECT search, patient_id, page_offset, page_count FROM search_page \
             WHERE token = $1 AND client_id = $2 AND expires_at > $3",
        )
        .bind(token.to_owned())
        .bind(client_id.to_owned())
        .bind(now.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|row| {
                Ok::<_, sqlx::Error>(SearchPageRow {
                    search: row.try_get(0)?,
                    patient_id: row.try_get(1)?,
                    offset: row.try_get(2)?,
                    count: row.try_get(3)?,
                })
            })
            .transpose()?)
    }

    /// Forgets lapsed paging tokens.
    pub async fn forget_search_pages(&self, now: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM search_page WHERE expires_at <= $1")
            .bind(now.to_owned())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The person a served resource belongs to, by its type and Concord id.
    pub async fn resource_patient(&self, resource_type: &str, id: &str) -> Result<Option<String>, StoreError> {
        let (sql, key) = match resource_type {
            "Condition" => ("SELECT patient_id FROM condition WHERE id = $1", id),
            "Observation" => ("SELECT patient_id FROM observation WHERE id = $1", id),
            "QuestionnaireResponse" => ("SELECT patient_id FROM care_cycle WHERE id = $1", id),
            "AuditEvent" => ("SELECT patient_id FROM audit_event WHERE id = $1", id),
            "Consent" => ("SELECT patient_id FROM care_plan WHERE id = $1", id.strip_suffix("-consent").unwrap_or("")),
            "CarePlan" => ("SELECT patient_id FROM linked_plan WHERE id = $1", id),
            "Provenance" => (
                "SELECT p.patient_id FROM care_plan_version v JOIN care_plan p ON p.id = v.plan_id WHERE v.id = $1",
                id.strip_suffix("-provenance").unwrap_or(""),
            ),
            "DocumentReference" | "Binary" => match id.split_once('-') {
                Some(("letter", letter)) => ("SELECT patient_id FROM preparation_letter WHERE id = $1", letter),
                Some(("plan", version)) => (
                    "SELECT p.patient_id FROM care_plan_version v JOIN care_plan p ON p.id = v.plan_id WHERE v.id = $1",
                    version,
                ),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let row = sqlx::query(sql).bind(key.to_owned()).fetch_optional(self.pool()).await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<String>, _>(0)?,
            None => None,
        })
    }

    /// The person's current agenda answers in every cycle: (cycle id, answers), oldest cycle first.
    pub async fn patient_agendas(&self, patient_id: &str) -> Result<Vec<(String, Vec<AgendaAnswerRow>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT cycle_id, question, answer, written_by, written_at FROM agenda_answer WHERE patient_id = $1 \
             ORDER BY cycle_id, question, written_at, id",
        )
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        let mut cycles: Vec<(String, Vec<AgendaAnswerRow>)> = Vec::new();
        for row in rows {
            let cycle_id: String = row.try_get(0)?;
            let answer = AgendaAnswerRow {
                question: row.try_get(1)?,
                answer: row.try_get(2)?,
                written_by: row.try_get(3)?,
                written_at: row.try_get(4)?,
            };
            if cycles.last().is_none_or(|(last, _)| *last != cycle_id) {
                cycles.push((cycle_id, Vec::new()));
            }
            let Some((_, answers)) = cycles.last_mut() else { continue };
            match answers.last_mut() {
                Some(last) if last.question == answer.question => *last = answer,
                _ => answers.push(answer),
            }
        }
        cycles.sort_by(|a, b| {
            let first = |answers: &Vec<AgendaAnswerRow>| answers.iter().map(|a| a.written_at.clone()).min();
            first(&a.1).cmp(&first(&b.1))
        });
        Ok(cycles)
    }
}
