//! FHIR Bulk Data export bookkeeping (migration 0019) and the list of a practice's people.

use sqlx::Row;

use crate::{Store, StoreError};

/// One export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkExportRow {
    pub id: String,
    pub client_id: String,
    pub organisation: String,
    /// Space-separated resource types asked for.
    pub types: String,
    /// `running`, `complete` or `failed`.
    pub status: String,
    pub transaction_time: String,
    pub people: i64,
    /// When complete: lines of `Type count` for each file written.
    pub output: String,
    pub error: Option<String>,
}

impl Store {
    pub async fn start_bulk_export(&self, row: &BulkExportRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bulk_export (id, client_id, organisation, types, status, transaction_time, people, output) \
             VALUES ($1, $2, $3, $4, 'running', $5, 0, '')",
        )
        .bind(row.id.clone())
        .bind(row.client_id.clone())
        .bind(row.organisation.clone())
        .bind(row.types.clone())
        .bind(row.transaction_time.clone())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records how an export ended.
    pub async fn finish_bulk_export(
        &self,
        id: &str,
        status: &str,
        people: i64,
        output: &str,
        error: Option<&str>,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE bulk_export SET status = $1, people = $2, output = $3, error = $4, finished_at = $5 WHERE id = $6",
        )
        .bind(status.to_owned())
        .bind(people)
        .bind(output.to_owned())
        .bind(error.map(str::to_owned))
        .bind(now.to_owned())
        .bind(id.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An export, if it is this client's.
    pub async fn bulk_export(&self, id: &str, client_id: &str) -> Result<Option<BulkExportRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, client_id, organisation, types, status, transaction_time, people, output, error FROM bulk_export \
             WHERE id = $1 AND client_id = $2",
        )
        .bind(id.to_owned())
        .bind(client_id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|row| {
                Ok::<_, sqlx::Error>(BulkExportRow {
                    id: row.try_get(0)?,
                    client_id: row.try_get(1)?,
                    organisation: row.try_get(2)?,
                    types: row.try_get(3)?,
                    status: row.try_get(4)?,
                    transaction_time: row.try_get(5)?,
                    people: row.try_get(6)?,
                    output: row.try_get(7)?,
                    error: row.try_get(8)?,
                })
            })
            .transpose()?)
    }

    /// The ids of the people registered at a practice, in id order.
    pub async fn practice_patient_ids(&self, practice: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM patient WHERE practice_ods_code = $1 ORDER BY id")
            .bind(practice.to_owned())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| row.try_get(0)).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
    }
}
