//! Staff accounts and server-side sessions. Password hashing and token generation happen in the
//! application layer; this module stores only PHC hash strings and SHA-256 digests of tokens.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub organisation: Option<String>,
    pub password_hash: String,
    pub failed_sign_ins: i64,
    pub locked_until: Option<String>,
    pub is_demo: bool,
}

/// A staff account to create; the password is already an argon2id PHC string.
#[derive(Debug, Clone, Copy)]
pub struct NewStaffUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub organisation: Option<&'a str>,
    pub password_hash: &'a str,
    pub is_demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: StaffUserRow,
    pub csrf_token: String,
    pub expires_at: String,
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.organisation, u.password_hash, u.failed_sign_ins, u.locked_until, u.is_demo";

fn user_from_row(row: &AnyRow) -> Result<StaffUserRow, sqlx::Error> {
    let is_demo: i64 = row.try_get(8)?;
    Ok(StaffUserRow {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        display_name: row.try_get(2)?,
        role: row.try_get(3)?,
        organisation: row.try_get(4)?,
        password_hash: row.try_get(5)?,
        failed_sign_ins: row.try_get(6)?,
        locked_until: row.try_get(7)?,
        is_demo: is_demo != 0,
    })
}

impl Store {
    /// Creates a staff account; fails with `Conflict` if the username is taken.
    pub async fn create_staff_user(&self, user: &NewStaffUser<'_>, now: &str) -> Result<String, StoreError> {
        let NewStaffUser { username, display_name, role, organisation, password_hash, is_demo } = *user;
        let id = sql::new_id();
        let result = sqlx::query(
            "INSERT INTO staff_user (id, username, display_name, role, organisation, password_hash, is_demo, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username) DO NOTHING",
        )
        .bind(id.clone())
        .bind(username.to_owned())
        .bind(display_name.to_owned())
        .bind(role.to_owned())
        .bind(organisation.map(str::to_owned))
        .bind(password_hash.to_owned())
        .bind(i64::from(is_demo))
        .bind(now.to_owned())
        .execute(self.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("a staff user called {username:?} already exists")));
        }
        Ok(id)
    }

    pub async fn staff_user_by_username(&self, username: &str) -> Result<Option<StaffUserRow>, StoreError> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM staff_user u WHERE u.username = $1")))
                .bind(username.to_owned())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn staff_user_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff_user").fetch_one(self.pool()).await?;
        Ok(count)
    }

    /// Records a failed sign-in; locks the account until `lock_until` when given.
    pub async fn record_failed_sign_in(&self, user_id: &str, lock_until: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE staff_user SET failed_sign_ins = failed_sign_ins + 1, locked_until = COALESCE($2, locked_until) \
             WHERE id = $1",
        )
        .bind(user_id.to_owned())
        .bind(lock_until.map(str::to_owned))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn record_successful_sign_in(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE staff_user SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO staff_session (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_owned())
        .bind(user_id.to_owned())
        .bind(csrf_token.to_owned())
        .bind(now.to_owned())
        .bind(expires_at.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session for a token digest (expired sessions are not returned).
    pub async fn session(&self, token_hash: &str, now: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.expires_at FROM staff_session s \
             JOIN staff_user u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
        )))
        .bind(token_hash.to_owned())
        .bind(now.to_owned())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRow { user: user_from_row(&row)?, csrf_token: row.try_get(9)?, expires_at: row.try_get(10)? }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staff_session WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes expired sessions.
    pub async fn delete_expired_sessions(&self, now: &str) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM staff_session WHERE expires_at <= $1")
            .bind(now.to_owned())
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected())
    }
}
