//! Persistence of Concord's patient record, audit trail and staff sign-in, on SQLite (the embedded
//! default) and PostgreSQL (a region), through one sqlx `Any` code path.
//!
//! Architecture invariants:
//! - One portable SQL subset serves both engines (see ARCHITECTURE.md); the few engine differences
//!   sit behind [`Backend`] matches in this crate only. Migrations are kept per engine.
//! - Every change to patient data writes its audit event in the same transaction.
//! - SQLite runs in WAL mode with `synchronous=FULL` (durable clinical commits), foreign keys on.
//! - No sqlx type crosses this crate's boundary: callers see domain types and [`StoreError`].

mod api;
mod audit;
mod bulk;
mod check_ins;
mod completeness;
mod cycle;
mod deliveries;
mod gp_record;
mod import;
mod linked_plans;
mod online;
mod outcomes;
mod person;
mod plans;
mod preparation;
mod read;
mod sharing;
mod slots;
mod sql;
mod staff;
mod status;
mod survey;
mod targets;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use api::ApiClientRow;
pub use audit::{AuditEntry, AuditFilter, NewAuditEvent};
pub use bulk::BulkExportRow;
pub use check_ins::{CheckInRow, FollowUpRow, NewFollowUp};
pub use completeness::{Completeness, MeasureDefinition};
pub use deliveries::FailedMessage;
pub use gp_record::{CycleEventRow, FilingRow};
pub use import::{ClinicalRecord, ImportWriter, LaboratorySample, PatientRef, RecordCounts, WriteOutcome};
pub use linked_plans::LinkedPlanRow;
pub use online::{AccessCodeRow, AgendaAnswerRow, PersonSessionRow, ProxyRow};
pub use outcomes::{FlagTimingRow, KeptOutcomeRow, OutcomeInputs, PlanOutcomeRow};
pub use person::{GoalProgressRow, StepUpCheck};
pub use plans::{NewPlanVersion, PlanSummaryRow, PlanVersionRow, PrescriberTaskRow};
pub use preparation::{PreparationLetterRow, WithheldRow};
pub use read::{
    ConditionRow, EncounterRow, MedicationRow, ObservationRow, PatientListing, PatientRow, PatientSearch,
    RegisterPatient, RejectionRow, SampleRow,
};
pub use sharing::{BreakGlassRow, SearchPageRow};
pub use slots::{
    GP_APPOINTMENT_MINUTES, GP_SYSTEM_NAME_PREFIX, GpAppointmentSync, NewClinicList, NewSlot, ScheduleRow, SlotRow,
    gp_system_clinician_name,
};
pub use staff::{NewStaffUser, SessionRow, StaffUserRow};
pub use survey::SurveyResponseRow;
pub use targets::PersonalTargetRow;
/// A new time-ordered id (UUIDv7), for rows the application names before writing.
pub fn new_id() -> String {
    sql::new_id()
}

pub use cycle::{
    CycleChange, CycleRow, DeliveryOutcome, NewMessage, OutboxRow, ReviewQueueRow, WorklistFilter, WorklistRow,
};
pub use status::{
    FlagRow, ItemStatusRow, KeptStatus, MedicineRow, NewFlag, PersonRecord, ResultRow, SavedStatuses, StatusRow,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is not sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot open database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored value in {table}.{column} is not valid: {reason}")]
    Corrupt { table: &'static str, column: &'static str, reason: String },
    #[error("{0}")]
    Conflict(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.to_string())
    }
}

/// A connection pool to Concord's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Group commit of standalone audit events (reads, searches, sign-ins): started on first use.
    audit_writer: std::sync::Arc<std::sync::OnceLock<audit::AuditSender>>,
}

impl Store {
    /// Opens (creating an SQLite file if absent) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens without migrating (used by the upgrade test).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let connect_url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let mut options =
            AnyConnectOptions::from_str(&connect_url).map_err(|error| StoreError::Connect(error.to_string()))?;
        // Query strings and parameters may carry identifiers: never log statements.
        options = options.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes each commit durable
                        // across power loss (sqlite.org/pragma.html#pragma_synchronous).
                        connection.execute("PRAGMA journal_mode = WAL").await?;
                        connection.execute("PRAGMA synchronous = FULL").await?;
                        connection.execute("PRAGMA foreign_keys = ON").await?;
                        connection.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|error| StoreError::Connect(error.to_string()))?;
        Ok(Self { pool, backend, audit_writer: Default::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration of this engine.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await.map_err(|error| StoreError::Migrate(error.to_string()))
    }

    /// Applies migrations up to and including `version` only (to build a database "made by an
    /// earlier schema" in upgrade tests).
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        let mut partial = Migrator::DEFAULT;
        partial.migrations = self.migrator().migrations.iter().filter(|m| m.version <= version).cloned().collect();
        partial.run(&self.pool).await.map_err(|error| StoreError::Migrate(error.to_string()))
    }

    /// Versions of migrations shipped for this engine.
    pub fn migration_versions(&self) -> Vec<i64> {
        self.migrator().migrations.iter().map(|migration| migration.version).collect()
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A named fact about this database (e.g. whether it holds real records).
    pub async fn fact(&self, name: &str) -> Result<Option<String>, StoreError> {
        let value: Option<(String,)> = sqlx::query_as("SELECT value FROM database_fact WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.map(|(value,)| value))
    }

    /// Every fact whose name starts with `prefix`, as (name, value).
    pub async fn facts_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT name, value FROM database_fact WHERE name >= $1 AND name < $2 ORDER BY name")
            .bind(prefix.to_owned())
            .bind(format!("{prefix}\u{10ffff}"))
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn set_fact(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO database_fact (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Records a database fact inside a transaction.
pub(crate) async fn set_fact_in(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO database_fact (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
        .bind(name.to_owned())
        .bind(value.to_owned())
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Which tables' planner statistics to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatisticsOf {
    /// The imported record: patients, identifiers, conditions, results, medicines, encounters.
    Records,
    /// What the status refresh keeps: statuses, checklist lines, flags, measures.
    Statuses,
}

impl Store {
    /// Refreshes the query planner's statistics after a bulk load, so reads use their indexes:
    /// `ANALYZE` on PostgreSQL, `PRAGMA optimize` on SQLite. The record tables before the status
    /// refresh reads the changed people back; the status tables after it (analysed while
    /// everyone was stale, the planner would scan the whole table for the few stale people).
    pub async fn refresh_planner_statistics(&self, tables: StatisticsOf) -> Result<(), StoreError> {
        let sql = match (self.backend(), tables) {
            (Backend::Postgres, StatisticsOf::Records) => {
                "ANALYZE patient, patient_identifier, condition, observation, medication, encounter"
            }
            (Backend::Postgres, StatisticsOf::Statuses) => {
                "ANALYZE patient_status, care_process_status, red_flag, kept_measure"
            }
            (Backend::Sqlite, _) => "PRAGMA optimize",
        };
        sqlx::query(sql).execute(self.pool()).await?;
        Ok(())
    }

    /// Engine-level settings that matter for durability, for tests and `/readyz` diagnostics.
    pub async fn durability_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let queries: &[(&str, &'static str)] = match self.backend {
            Backend::Sqlite => &[
                ("journal_mode", "PRAGMA journal_mode"),
                ("synchronous", "PRAGMA synchronous"),
                ("foreign_keys", "PRAGMA foreign_keys"),
            ],
            Backend::Postgres => &[("fsync", "SHOW fsync"), ("synchronous_commit", "SHOW synchronous_commit")],
        };
        let mut settings = Vec::new();
        for (name, query) in queries {
            let row = sqlx::query(*query).fetch_one(&self.pool).await?;
            let value = sql::text_or_integer(&row, 0)?;
            settings.push(((*name).to_owned(), value));
        }
        Ok(settings)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store {
    /// Runs one administrative statement (tests create throwaway PostgreSQL databases with it).
    /// Never pass data in `statement`.
    #[doc(hidden)]
    pub async fn execute_admin(&self, statement: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned())).execute(&self.pool).await?;
        Ok(())
    }
}
