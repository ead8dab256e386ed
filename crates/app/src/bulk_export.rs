//! FHIR Bulk Data export (`$export`) of a practice's people as NDJSON, for the practice's own
//! systems only: asynchronous (kick-off, status, files), one file per resource type, every
//! person's read audited with the export's purpose.
//!
//! Invariants: only a practice's client may export, only its registered people, only the types
//! its token may read; files are served only to the client that asked; the audit trail is not
//! exported (each read would add to it; read it with an AuditEvent search).

use std::io::Write as _;
use std::path::PathBuf;

use concord_domain::audit::AuditAction;
use concord_fhir::Resource;
use concord_store::BulkExportRow;
use time::OffsetDateTime;

use crate::api::{ApiCaller, COMPARTMENT};
use crate::fhir_export::fhir_patient;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// The resource types an export may hold.
pub fn export_types() -> Vec<&'static str> {
    std::iter::once("Patient").chain(COMPARTMENT.into_iter().filter(|kind| *kind != "AuditEvent")).collect()
}

/// Where export files are written: `CONCORD_EXPORT_DIR`, else a folder in the system's temporary
/// directory.
pub fn export_dir() -> PathBuf {
    std::env::var_os("CONCORD_EXPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("concord-exports"))
}

/// People per batch of audit events.
const AUDIT_BATCH: usize = 500;

impl Concord {
    /// Starts an export; returns its id. `types` is FHIR's `_type` (comma-separated), or all.
    pub async fn api_start_export(
        &self,
        caller: &ApiCaller,
        types: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<String, AppError> {
        if caller.kind != "practice" {
            return Err(AppError::Forbidden("only the practice's own systems may export its data"));
        }
        let available = export_types();
        let wanted: Vec<&str> = match types {
            Some(list) => list.split(',').map(str::trim).filter(|kind| !kind.is_empty()).collect(),
            None => available.clone(),
        };
        if let Some(unknown) = wanted.iter().find(|kind| !available.contains(kind)) {
            return Err(AppError::Invalid(format!(
                "_type: {unknown} is not exported (choose from {})",
                available.join(", ")
            )));
        }
        for kind in &wanted {
            caller.require(&format!("system/{kind}.read"))?;
        }
        let id = concord_store::new_id();
        let row = BulkExportRow {
            id: id.clone(),
            client_id: caller.client_id.clone(),
            organisation: caller.organisation.clone(),
            types: wanted.join(" "),
            status: "running".into(),
            transaction_time: timestamp(now),
            people: 0,
            output: String::new(),
            error: None,
        };
        self.store.start_bulk_export(&row).await?;
        let concord = self.clone();
        let caller = caller.clone();
        tokio::spawn(async move {
            let outcome = concord.run_export(&row, &caller).await;
            let finished = timestamp(OffsetDateTime::now_utc());
            let result = match outcome {
                Ok((people, output)) => {
                    concord.store.finish_bulk_export(&row.id, "complete", people, &output, None, &finished).await
                }
                Err(error) => {
                    tracing::error!(export = %row.id, error = %error, "bulk export failed");
                    concord
                        .store
                        .finish_bulk_export(&row.id, "failed", 0, "", Some("the export failed: ask again"), &finished)
                        .await
                }
            };
            if let Err(error) = result {
                tracing::error!(export = %row.id, error = %error, "recording the bulk export's end failed");
            }
        });
        Ok(id)
    }

    async fn run_export(&self, row: &BulkExportRow, caller: &ApiCaller) -> Result<(i64, String), AppError> {
        let directory = export_dir().join(&row.id);
        std::fs::create_dir_all(&directory).map_err(|error| AppError::Invalid(format!("export directory: {error}")))?;
        let types: Vec<&str> = row.types.split_whitespace().collect();
        let mut files = Vec::new();
        for kind in &types {
            let file = std::fs::File::create(directory.join(format!("{kind}.ndjson")))
                .map_err(|error| AppError::Invalid(format!("export file: {error}")))?;
            files.push((kind.to_string(), std::io::BufWriter::new(file), 0usize));
        }
        let people = self.store.practice_patient_ids(&row.organisation).await?;
        let mut events = Vec::new();
        for patient_id in &people {
            let Some(person) = self.store.patient(patient_id).await? else { continue };
            for (kind, writer, count) in &mut files {
                let resources = if kind == "Patient" {
                    vec![Resource::Patient(fhir_patient(patient_id, &person.patient))]
                } else {
                    self.compartment(kind, patient_id).await?
                };
                for resource in resources {
                    let line =
                        serde_json::to_string(&resource).map_err(|error| AppError::Invalid(error.to_string()))?;
                    writeln!(writer, "{line}").map_err(|error| AppError::Invalid(format!("export file: {error}")))?;
                    *count += 1;
                }
            }
            events.push(concord_store::NewAuditEvent {
                actor: caller.actor_for_audit(),
                organisation: Some(caller.organisation.clone()),
                patient_id: Some(patient_id.clone()),
                action: AuditAction::Read,
                entity: "BulkExport".into(),
                detail: format!("exported in bulk export {}", row.id),
                request_id: None,
                purpose: Some("direct care: registered practice (bulk export)".into()),
            });
            if events.len() >= AUDIT_BATCH {
                self.store.record_audit(&events).await?;
                events.clear();
            }
        }
        if !events.is_empty() {
            self.store.record_audit(&events).await?;
        }
        let mut output = Vec::new();
        for (kind, mut writer, count) in files {
            writer.flush().map_err(|error| AppError::Invalid(format!("export file: {error}")))?;
            output.push(format!("{kind} {count}"));
        }
        Ok((people.len() as i64, output.join("\n")))
    }

    /// An export's state, if it is this client's.
    pub async fn api_export_status(&self, caller: &ApiCaller, id: &str) -> Result<Option<BulkExportRow>, AppError> {
        Ok(self.store.bulk_export(id, &caller.client_id).await?)
    }

    /// One NDJSON file of a complete export, if it is this client's.
    pub async fn api_export_file(&self, caller: &ApiCaller, id: &str, kind: &str) -> Result<Vec<u8>, AppError> {
        let not_found = || AppError::NotFound("No such export file for this client".into());
        let Some(row) = self.store.bulk_export(id, &caller.client_id).await? else { return Err(not_found()) };
        if row.status != "complete" || !row.types.split_whitespace().any(|listed| listed == kind) {
            return Err(not_found());
        }
        std::fs::read(export_dir().join(&row.id).join(format!("{kind}.ndjson"))).map_err(|_| not_found())
    }
}
