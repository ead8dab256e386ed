//! The person's preparation online (migration 0010): proxy access the practice sets up, access
//! codes (digests only), the person's sessions, and their agenda answers.
//!
//! Invariants: every change is audited in its own transaction; issuing a code revokes the same
//! person's (or proxy's) earlier codes and queues the message carrying it, in one transaction; an
//! agenda answer is appended, never overwritten, and only when it differs from the current one.

use concord_domain::audit::{Actor, AuditAction};
use sqlx::Row;

use crate::audit::{insert_audit_events, patient_event as event};
use crate::cycle::{NewMessage, insert_outbox_message};
use crate::sql::{generated, new_id};
use crate::{Store, StoreError};

/// Someone the practice has allowed to act for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRow {
    pub id: String,
    pub patient_id: String,
    pub proxy_name: String,
    pub relationship: String,
    /// ISO 8601, checked at sign-in.
    pub birth_date: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// `consent`, `lasting_power_of_attorney`, `court_appointed_deputy` or `best_interests`.
    pub basis: String,
    pub basis_note: String,
    /// What the proxy may do: `preparation` (read the preparation, write the agenda).
    pub scope: String,
    pub verified_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// An access code as stored (its digest, never the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCodeRow {
    pub id: String,
    pub patient_id: String,
    pub proxy_id: Option<String>,
    pub issued_at: String,
    pub expires_at: String,
    pub failed_attempts: i64,
    pub locked_until: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A live online session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSessionRow {
    pub patient_id: String,
    pub code_id: String,
    pub proxy_id: Option<String>,
    pub csrf_token: String,
    pub expires_at: String,
    /// Until when the session holds the stronger identity check, if it passed one.
    pub verified_until: Option<String>,
}

/// One agenda answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaAnswerRow {
    pub question: String,
    pub answer: String,
    pub written_by: String,
    pub written_at: String,
}

const CODE_COLUMNS: &str =
    "id, patient_id, proxy_id, issued_at, expires_at, failed_attempts, locked_until, revoked_at, last_used_at";

/// Revokes the person's (or the proxy's) live codes and records a new one, inside a transaction.
pub(crate) async fn issue_access_code_in(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    patient_id: &str,
    proxy_id: Option<&str>,
    code_sha256: &str,
    expires_at: &str,
    now: &str,
) -> Result<String, StoreError> {
    let revoke = match proxy_id {
        Some(_) => {
            "UPDATE access_code SET revoked_at = $1 WHERE patient_id = $2 AND proxy_id = $3 AND revoked_at IS NULL"
        }
        None => {
            "UPDATE access_code SET revoked_at = $1 WHERE patient_id = $2 AND proxy_id IS NULL AND revoked_at IS NULL \
                 AND $3 = ''"
        }
    };
    sqlx::query(revoke)
        .bind(now.to_owned())
        .bind(patient_id.to_owned())
        .bind(proxy_id.unwrap_or_default().to_owned())
        .execute(&mut **transaction)
        .await?;
    let id = new_id();
    sqlx::query(
        "INSERT INTO access_code (id, patient_id, proxy_id, code_sha256, issued_at, expires_at, failed_attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
    )
    .bind(id.clone())
    .bind(patient_id.to_owned())
    .bind(proxy_id.map(str::to_owned))
    .bind(code_sha256.to_owned())
    .bind(now.to_owned())
    .bind(expires_at.to_owned())
    .execute(&mut **transaction)
    .await?;
    Ok(id)
}

fn code_from_row(row: &sqlx::any::AnyRow) -> Result<AccessCodeRow, sqlx::Error> {
    Ok(AccessCodeRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        proxy_id: row.try_get(2)?,
        issued_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        failed_attempts: row.try_get(5)?,
        locked_until: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
        last_used_at: row.try_get(8)?,
    })
}

const PROXY_COLUMNS: &str = "id, patient_id, proxy_name, relationship, birth_date, email, mobile, basis, basis_note, \
     scope, verified_by, created_at, revoked_at";

fn proxy_from_row(row: &sqlx::any::AnyRow) -> Result<ProxyRow, sqlx::Error> {
    Ok(ProxyRow {
        id: row.try_get(0)?,
        patient_id: row.try_get(1)?,
        proxy_name: row.try_get(2)?,
        relationship: row.try_get(3)?,
        birth_date: row.try_get(4)?,
        email: row.try_get(5)?,
        mobile: row.try_get(6)?,
        basis: row.try_get(7)?,
        basis_note: row.try_get(8)?,
        scope: row.try_get(9)?,
        verified_by: row.try_get(10)?,
        created_at: row.try_get(11)?,
        revoked_at: row.try_get(12)?,
    })
}

impl Store {
    /// Records proxy access set up by the practice, audited.
    pub async fn create_proxy(&self, proxy: &ProxyRow, actor: &Actor, now: &str) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        generated(format!(
            "INSERT INTO proxy_access ({PROXY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)"
        ))
        .bind(proxy.id.clone())
        .bind(proxy.patient_id.clone())
        .bind(proxy.proxy_name.clone())
        .bind(proxy.relationship.clone())
        .bind(proxy.birth_date.clone())
        .bind(proxy.email.clone())
        .bind(proxy.mobile.clone())
        .bind(proxy.basis.clone())
        .bind(proxy.basis_note.clone())
        .bind(proxy.scope.clone())
        .bind(proxy.verified_by.clone())
        .bind(now.to_owned())
        .execute(&mut *transaction)
        .await?;
        let detail = format!(
            "proxy access for {} ({}), basis {}, scope {}, verified by {}",
            proxy.proxy_name, proxy.relationship, proxy.basis, proxy.scope, proxy.verified_by
        );
        insert_audit_events(
            &mut transaction,
            &[event(actor, &proxy.patient_id, AuditAction::Create, "ProxyAccess", detail)],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Ends a proxy's access and revokes their codes and sessions, audited. Returns whether it was live.
    pub async fn revoke_proxy(
        &self,
        patient_id: &str,
        proxy_id: &str,
        by: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let revoked = sqlx::query(
            "UPDATE proxy_access SET revoked_by = $1, revoked_at = $2 WHERE id = $3 AND patient_id = $4 AND revoked_at IS NULL",
        )
        .bind(by.to_owned())
        .bind(now.to_owned())
        .bind(proxy_id.to_owned())
        .bind(patient_id.to_owned())
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if revoked > 0 {
            sqlx::query("UPDATE access_code SET revoked_at = $1 WHERE proxy_id = $2 AND revoked_at IS NULL")
                .bind(now.to_owned())
                .bind(proxy_id.to_owned())
                .execute(&mut *transaction)
                .await?;
            sqlx::query("DELETE FROM person_session WHERE code_id IN (SELECT id FROM access_code WHERE proxy_id = $1)")
                .bind(proxy_id.to_owned())
                .execute(&mut *transaction)
                .await?;
            insert_audit_events(
                &mut transaction,
                &[event(actor, patient_id, AuditAction::Update, "ProxyAccess", format!("proxy access ended by {by}"))],
                now,
            )
            .await?;
        }
        transaction.commit().await?;
        Ok(revoked > 0)
    }

    /// A person's proxies, live and ended, oldest first.
    pub async fn proxies(&self, patient_id: &str) -> Result<Vec<ProxyRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {PROXY_COLUMNS} FROM proxy_access WHERE patient_id = $1 ORDER BY created_at, id"
        ))
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(proxy_from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    pub async fn proxy(&self, proxy_id: &str) -> Result<Option<ProxyRow>, StoreError> {
        let row = generated(format!("SELECT {PROXY_COLUMNS} FROM proxy_access WHERE id = $1"))
            .bind(proxy_id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(proxy_from_row).transpose()?)
    }

    /// Issues a code (its digest), revoking the same person's or proxy's earlier codes, with the
    /// message that carries it (if any), audited, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_access_code(
        &self,
        patient_id: &str,
        proxy_id: Option<&str>,
        code_sha256: &str,
        expires_at: &str,
        message: Option<(&NewMessage, Option<&str>)>,
        actor: &Actor,
        now: &str,
    ) -> Result<String, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let id = issue_access_code_in(&mut transaction, patient_id, proxy_id, code_sha256, expires_at, now).await?;
        if let Some((message, cycle_id)) = message {
            insert_outbox_message(&mut transaction, patient_id, cycle_id, message, now).await?;
        }
        let detail = format!(
            "online access code issued{} (until {expires_at}){}",
            if proxy_id.is_some() { " to a proxy" } else { "" },
            message.map_or_else(String::new, |(message, _)| format!(", sent by {}", message.channel))
        );
        insert_audit_events(
            &mut transaction,
            &[event(actor, patient_id, AuditAction::Create, "AccessCode", detail)],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(id)
    }

    /// The code with this digest.
    pub async fn access_code_by_digest(&self, code_sha256: &str) -> Result<Option<AccessCodeRow>, StoreError> {
        let row = generated(format!("SELECT {CODE_COLUMNS} FROM access_code WHERE code_sha256 = $1"))
            .bind(code_sha256.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(code_from_row).transpose()?)
    }

    /// A person's codes, newest first.
    pub async fn access_codes(&self, patient_id: &str) -> Result<Vec<AccessCodeRow>, StoreError> {
        let rows = generated(format!(
            "SELECT {CODE_COLUMNS} FROM access_code WHERE patient_id = $1 ORDER BY issued_at DESC, id DESC"
        ))
        .bind(patient_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(code_from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }

    /// Records a wrong date of birth against a code (its new failure count, lock and revocation),
    /// audited as a failed sign-in.
    pub async fn record_code_failure(
        &self,
        code: &AccessCodeRow,
        failed_attempts: i64,
        locked_until: Option<&str>,
        revoked: bool,
        actor: &Actor,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "UPDATE access_code SET failed_attempts = $1, locked_until = $2, revoked_at = CASE WHEN $3 = 1 THEN $4 ELSE revoked_at END \
             WHERE id = $5",
        )
        .bind(failed_attempts)
        .bind(locked_until.map(str::to_owned))
        .bind(i64::from(revoked))
        .bind(now.to_owned())
        .bind(code.id.clone())
        .execute(&mut *transaction)
        .await?;
        let detail = format!(
            "online access refused: date of birth did not match ({failed_attempts} wrong){}{}",
            if locked_until.is_some() { "; code locked" } else { "" },
            if revoked { "; code revoked" } else { "" }
        );
        insert_audit_events(
            &mut transaction,
            &[event(actor, &code.patient_id, AuditAction::SignInFailed, "PersonSession", detail)],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Starts an online session after a good code and date of birth, audited.
    pub async fn create_person_session(
        &self,
        token_sha256: &str,
        code: &AccessCodeRow,
        csrf_token: &str,
        expires_at: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO person_session (token_sha256, patient_id, code_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_sha256.to_owned())
        .bind(code.patient_id.clone())
        .bind(code.id.clone())
        .bind(csrf_token.to_owned())
        .bind(now.to_owned())
        .bind(expires_at.to_owned())
        .execute(&mut *transaction)
        .await?;
        sqlx::query("UPDATE access_code SET last_used_at = $1, failed_attempts = 0, locked_until = NULL WHERE id = $2")
            .bind(now.to_owned())
            .bind(code.id.clone())
            .execute(&mut *transaction)
            .await?;
        insert_audit_events(
            &mut transaction,
            &[event(actor, &code.patient_id, AuditAction::SignIn, "PersonSession", "signed in online".into())],
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The live session for a token digest: unexpired, its code not revoked.
    pub async fn person_session(&self, token_sha256: &str, now: &str) -> Result<Option<PersonSessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.patient_id, s.code_id, c.proxy_id, s.csrf_token, s.expires_at, s.verified_until FROM person_session s \
             JOIN access_code c ON c.id = s.code_id WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND c.revoked_at IS NULL",
        )
        .bind(token_sha256.to_owned())
        .bind(now.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|row| {
                Ok::<_, sqlx::Error>(PersonSessionRow {
                    patient_id: row.try_get(0)?,
                    code_id: row.try_get(1)?,
                    proxy_id: row.try_get(2)?,
                    csrf_token: row.try_get(3)?,
                    expires_at: row.try_get(4)?,
                    verified_until: row.try_get(5)?,
                })
            })
            .transpose()?)
    }

    /// Ends an online session, audited.
    pub async fn end_person_session(&self, token_sha256: &str, actor: &Actor, now: &str) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query("DELETE FROM person_session WHERE token_sha256 = $1 RETURNING patient_id")
            .bind(token_sha256.to_owned())
            .fetch_optional(&mut *transaction)
            .await?;
        if let Some(row) = row {
            let patient_id: String = row.try_get(0)?;
            insert_audit_events(
                &mut transaction,
                &[event(actor, &patient_id, AuditAction::SignOut, "PersonSession", "signed out online".into())],
                now,
            )
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Appends the answers that differ from the current ones, audited in the same transaction.
    /// Returns how many were written.
    pub async fn save_agenda(
        &self,
        patient_id: &str,
        cycle_id: &str,
        answers: &[(String, String)],
        written_by: &str,
        actor: &Actor,
        now: &str,
    ) -> Result<usize, StoreError> {
        let current = self.agenda(cycle_id).await?;
        let changed: Vec<&(String, String)> = answers
            .iter()
            .filter(|(question, answer)| {
                let before = current.iter().find(|row| &row.question == question).map(|row| row.answer.as_str());
                before.unwrap_or_default() != answer.as_str()
            })
            .collect();
        if changed.is_empty() {
            return Ok(0);
        }
        let mut transaction = self.pool().begin().await?;
        for (question, answer) in &changed {
            sqlx::query(
                "INSERT INTO agenda_answer (id, patient_id, cycle_id, question, answer, written_by, written_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(patient_id.to_owned())
            .bind(cycle_id.to_owned())
            .bind(question.clone())
            .bind(answer.clone())
            .bind(written_by.to_owned())
            .bind(now.to_owned())
            .execute(&mut *transaction)
            .await?;
        }
        let detail = format!(
            "agenda written by {written_by}: {}",
            changed.iter().map(|(question, _)| question.as_str()).collect::<Vec<_>>().join(", ")
        );
        insert_audit_events(&mut transaction, &[event(actor, patient_id, AuditAction::Update, "Agenda", detail)], now)
            .await?;
        transaction.commit().await?;
        Ok(changed.len())
    }

    /// The current answer to each question of a cycle's agenda.
    pub async fn agenda(&self, cycle_id: &str) -> Result<Vec<AgendaAnswerRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT question, answer, written_by, written_at FROM agenda_answer WHERE cycle_id = $1 \
             ORDER BY question, written_at, id",
        )
        .bind(cycle_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        let mut current: Vec<AgendaAnswerRow> = Vec::new();
        for row in rows {
            let answer = AgendaAnswerRow {
                question: row.try_get(0)?,
                answer: row.try_get(1)?,
                written_by: row.try_get(2)?,
                written_at: row.try_get(3)?,
            };
            match current.last_mut() {
                Some(last) if last.question == answer.question => *last = answer,
                _ => current.push(answer),
            }
        }
        Ok(current)
    }
}
