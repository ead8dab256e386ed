//! API clients and their bearer tokens (migration 0014). Only digests are stored.

use sqlx::Row;

use crate::{Store, StoreError};

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientRow {
    pub id: String,
    pub organisation_ods: String,
    pub name: String,
    /// Space-separated SMART-style scopes (`system/CarePlan.read`).
    pub scopes: String,
    pub secret_sha256: String,
    pub revoked: bool,
}

impl Store {
    pub async fn create_api_client(&self, client: &ApiClientRow, now: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_client (id, organisation_ods, name, scopes, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(client.id.clone())
        .bind(client.organisation_ods.clone())
        .bind(client.name.clone())
        .bind(client.scopes.clone())
        .bind(client.secret_sha256.clone())
        .bind(now.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn api_client(&self, id: &str) -> Result<Option<ApiClientRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, organisation_ods, name, scopes, secret_sha256, revoked_at FROM api_client WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|row| {
                Ok::<_, sqlx::Error>(ApiClientRow {
                    id: row.try_get(0)?,
                    organisation_ods: row.try_get(1)?,
                    name: row.try_get(2)?,
                    scopes: row.try_get(3)?,
                    secret_sha256: row.try_get(4)?,
                    revoked: row.try_get::<Option<String>, _>(5)?.is_some(),
                })
            })
            .transpose()?)
    }

    pub async fn create_api_token(
        &self,
        token_sha256: &str,
        client_id: &str,
        scopes: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_token (token_sha256, client_id, scopes, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_sha256.to_owned())
        .bind(client_id.to_owned())
        .bind(scopes.to_owned())
        .bind(now.to_owned())
        .bind(expires_at.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The client and granted scopes of a live token.
    pub async fn api_token(&self, token_sha256: &str, now: &str) -> Result<Option<(ApiClientRow, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT t.client_id, t.scopes FROM api_token t JOIN api_client c ON c.id = t.client_id \
             WHERE t.token_sha256 = $1 AND t.expires_at > $2 AND c.revoked_at IS NULL",
        )
        .bind(token_sha256.to_owned())
        .bind(now.to_owned())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let client_id: String = row.try_get(0)?;
        let scopes: String = row.try_get(1)?;
        Ok(self.api_client(&client_id).await?.map(|client| (client, scopes)))
    }
}
