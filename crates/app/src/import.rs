//! The import use case: read extracts on a blocking thread, write batches through the store.
//!
//! Reading (parsing, unit conversion) and writing (SQL) overlap: the reader sends what it finds
//! down a bounded channel to the writer, so memory stays flat for any size of extract.

use std::collections::BTreeMap;
use std::path::PathBuf;

use concord_domain::audit::{Actor, AuditAction};
use concord_domain::patient::Patient;
use concord_domain::{CodedConcept, Organisation};
use concord_import::{Item, Location, ReadOptions, Rejection, Sink, SubjectRef};
use concord_store::{ClinicalRecord, NewAuditEvent, PatientRef, RecordCounts, RejectionRow};
use time::{Date, OffsetDateTime};
use tokio::sync::mpsc;

use crate::{AppError, Concord};

/// Records per write transaction: large enough to amortise commits, small enough to keep latency
/// and memory low.
const BATCH_RECORDS: usize = 4000;
/// Rows changed by an import beyond which the planner's statistics are refreshed before the
/// status refresh reads the changed people back.
const ANALYZE_AFTER_ROWS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub paths: Vec<PathBuf>,
    /// The extract's "as at" date for medication lists that carry none.
    pub extract_date: Date,
    /// A name for the source system, recorded with each result (e.g. `emis`, `systmone`, `synthea`).
    pub source_system: String,
    /// The extract is synthetic (generated); otherwise the database is marked as holding real records.
    pub synthetic: bool,
    /// The practice whose list this extract is, for patients the extract gives no registration
    /// (FHIR exports from outside the NHS, e.g. US Core, carry none). Registered from an unknown date.
    pub default_practice: Option<concord_domain::OdsCode>,
    pub actor: Actor,
}

/// One rejected record, as reported to the user and written to the rejects report.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    pub location: String,
    pub resource_type: Option<String>,
    pub source_key: Option<String>,
    pub reason: String,
    /// The result could raise a red flag: it is on the clinicians' list of unreadable results.
    pub red_flag: Option<CodedConcept>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub run_id: String,
    /// Records read, by kind (`Patient`, `Condition`, `Observation`, …).
    pub read: BTreeMap<String, u64>,
    /// Rows inserted or changed; records identical to what was stored are not counted.
    pub changed: RecordCounts,
    /// Results kept visibly as unreadable for a clinician (inside `changed.observations` when new).
    pub unreadable_results: u64,
    pub rejected: Vec<RejectedRecord>,
    /// Resources Concord does not use, by type.
    pub skipped: BTreeMap<String, u64>,
    /// People whose cycle status was recomputed after the import, and red flags raised.
    pub status: crate::status::Refreshed,
    /// Time spent keeping statuses current (the upkeep cost of the import).
    pub status_seconds: f64,
}

/// Progress for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub records_written: u64,
}

// Items are nearly every event; boxing them would add an allocation per record for no gain.
#[allow(clippy::large_enum_variant)]
enum ReadEvent {
    Item(String, Item),
    Rejected(Rejection),
    Skipped(String),
    Progress(u64),
}

struct ChannelSink {
    sender: mpsc::Sender<ReadEvent>,
}

impl ChannelSink {
    fn send(&self, event: ReadEvent) {
        // The writer only stops listening when it has failed; its error is reported instead.
        let _ = self.sender.blocking_send(event);
    }
}

impl Sink for ChannelSink {
    fn item(&mut self, location: &Location, item: Item) {
        self.send(ReadEvent::Item(location.to_string(), item));
    }

    fn reject(&mut self, rejection: Rejection) {
        self.send(ReadEvent::Rejected(rejection));
    }

    fn skipped(&mut self, resource_type: &str) {
        self.send(ReadEvent::Skipped(resource_type.to_owned()));
    }

    fn progress(&mut self, bytes_read: u64) {
        self.send(ReadEvent::Progress(bytes_read));
    }
}

fn patient_ref(subject: &SubjectRef) -> PatientRef {
    match subject {
        SubjectRef::Source(key) => PatientRef::SourceKey(key.0.clone()),
        SubjectRef::NhsNumber(number) => PatientRef::NhsNumber(number.as_str().to_owned()),
    }
}

#[derive(Default)]
struct Batch {
    organisations: Vec<Organisation>,
    patients: Vec<(String, Patient)>,
    patient_locations: Vec<String>,
    records: Vec<(PatientRef, String, ClinicalRecord)>,
    record_locations: Vec<(String, &'static str)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.organisations.len() + self.patients.len() + self.records.len()
    }
}

/// Total size of the files under `paths`, for progress.
fn total_bytes(paths: &[PathBuf]) -> u64 {
    fn size(path: &std::path::Path) -> u64 {
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => std::fs::read_dir(path)
                .map(|entries| entries.flatten().map(|entry| size(&entry.path())).sum())
                .unwrap_or(0),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        }
    }
    paths.iter().map(|path| size(path)).sum()
}

impl Concord {
    /// Imports extracts. Bad records are rejected with their location and reason and never stop
    /// the rest; only an unusable path or a database failure is an error.
    pub async fn import(
        &self,
        options: ImportOptions,
        mut on_progress: impl FnMut(ImportProgress),
    ) -> Result<ImportReport, AppError> {
        for path in &options.paths {
            if !path.exists() {
                return Err(AppError::NotFound(format!("{}: no such file or folder", path.display())));
            }
        }
        let started = OffsetDateTime::now_utc();
        let mut report = ImportReport { run_id: uuid_like(started), ..Default::default() };
        if !options.synthetic {
            self.store.set_fact("holds_real_records", "yes").await?;
        }
        self.store
            .record_audit(&[NewAuditEvent {
                actor: options.actor.clone(),
                organisation: None,
                patient_id: None,
                action: AuditAction::Import,
                entity: "ImportRun".into(),
                detail: format!("import run {} started: {} path(s)", report.run_id, options.paths.len()),
                request_id: None,
                purpose: None,
            }])
            .await?;

        let bytes_total = total_bytes(&options.paths);
        let (sender, mut receiver) = mpsc::channel::<ReadEvent>(8192);
        let catalogue = self.catalogue;
        let read_options =
            ReadOptions { extract_date: options.extract_date, source_system: options.source_system.clone() };
        let paths = options.paths.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let mut sink = ChannelSink { sender };
            concord_import::read_paths(&paths, catalogue, &read_options, &mut sink)
        });

        let mut writer = self.store.import_writer(options.actor.clone());
        let mut batch = Batch::default();
        let mut bytes_read = 0;
        while let Some(event) = receiver.recv().await {
            match event {
                ReadEvent::Item(location, item) => {
                    self.add_item(&mut batch, &mut report, location, item, options.default_practice.as_ref());
                    if batch.len() >= BATCH_RECORDS {
                        self.flush(&mut writer, &mut batch, &mut report).await?;
                        on_progress(ImportProgress {
                            bytes_read,
                            bytes_total,
                            records_written: report.changed.total(),
                        });
                    }
                }
                ReadEvent::Rejected(rejection) => report.rejected.push(RejectedRecord {
                    location: rejection.location.to_string(),
                    resource_type: rejection.resource_type,
                    source_key: rejection.source_key.map(|key| key.0),
                    reason: rejection.reason,
                    red_flag: rejection.red_flag_concept,
                }),
                ReadEvent::Skipped(resource_type) => *report.skipped.entry(resource_type).or_default() += 1,
                ReadEvent::Progress(bytes) => {
                    bytes_read = bytes;
                }
            }
        }
        self.flush(&mut writer, &mut batch, &mut report).await?;
        on_progress(ImportProgress { bytes_read: bytes_total, bytes_total, records_written: report.changed.total() });
        // Statuses and red flags follow the results straight away: the writer marked everyone
        // whose record changed as stale in the same transactions, so a crash here loses nothing
        // (the next refresh finds them still stale).
        let started = std::time::Instant::now();
        // After a large load the planner's statistics no longer describe the tables (a first
        // import starts from none), and the refresh's per-person reads would scan whole tables.
        let large = report.changed.total() >= ANALYZE_AFTER_ROWS;
        if large {
            self.store.refresh_planner_statistics(concord_store::StatisticsOf::Records).await?;
        }
        let now = OffsetDateTime::now_utc();
        report.status = self.refresh_statuses(now.date(), now).await?;
        if large {
            self.store.refresh_planner_statistics(concord_store::StatisticsOf::Statuses).await?;
        }
        report.status_seconds = started.elapsed().as_secs_f64();
        match reader.await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(AppError::Invalid(error.to_string())),
            Err(join_error) => return Err(AppError::Invalid(format!("the reader stopped unexpectedly: {join_error}"))),
        }

        let at = concord_store_timestamp(OffsetDateTime::now_utc());
        let rows: Vec<RejectionRow> = report
            .rejected
            .iter()
            .map(|rejected| RejectionRow {
                id: String::new(),
                run_id: report.run_id.clone(),
                at: at.clone(),
                location: rejected.location.clone(),
                resource_type: rejected.resource_type.clone(),
                source_key: rejected.source_key.clone(),
                reason: rejected.reason.clone(),
                red_flag: rejected.red_flag.clone(),
            })
            .collect();
        self.store.record_rejections(&report.run_id, &rows).await?;
        self.store
            .record_audit(&[NewAuditEvent {
                actor: options.actor,
                organisation: None,
                patient_id: None,
                action: AuditAction::Import,
                entity: "ImportRun".into(),
                detail: format!(
                    "import run {} finished: {} rows changed, {} rejected",
                    report.run_id,
                    report.changed.total(),
                    report.rejected.len()
                ),
                request_id: None,
                purpose: None,
            }])
            .await?;
        Ok(report)
    }

    fn add_item(
        &self,
        batch: &mut Batch,
        report: &mut ImportReport,
        location: String,
        item: Item,
        default_practice: Option<&concord_domain::OdsCode>,
    ) {
        let (kind, entry): (&'static str, Option<(PatientRef, String, ClinicalRecord)>) = match item {
            Item::Organisation(organisation) => {
                batch.organisations.push(organisation);
                ("Organization", None)
            }
            Item::Patient { key, mut patient } => {
                if let (None, Some(practice)) = (&patient.registration, default_practice) {
                    patient.registration = Some(concord_domain::patient::Registration {
                        practice: practice.clone(),
                        start: None,
                        end: None,
                    });
                }
                batch.patients.push((key.0, patient));
                batch.patient_locations.push(location.clone());
                ("Patient", None)
            }
            Item::Condition { key, subject, condition } => {
                ("Condition", Some((patient_ref(&subject), key.0, ClinicalRecord::Condition(condition))))
            }
            Item::Observation { key, subject, observation } => {
                ("Observation", Some((patient_ref(&subject), key.0, ClinicalRecord::Observation(observation))))
            }
            Item::Medication { key, subject, medication } => {
                ("Medication", Some((patient_ref(&subject), key.0, ClinicalRecord::Medication(medication))))
            }
            Item::Encounter { key, subject, encounter } => {
                ("Encounter", Some((patient_ref(&subject), key.0, ClinicalRecord::Encounter(encounter))))
            }
            Item::UnreadableResult { key, subject, concept, effective, reason } => {
                report.unreadable_results += 1;
                (
                    "Observation (unreadable)",
                    Some((patient_ref(&subject), key.0, ClinicalRecord::Unreadable { concept, effective, reason })),
                )
            }
        };
        *report.read.entry(kind.to_owned()).or_default() += 1;
        if let Some(record) = entry {
            batch.records.push(record);
            batch.record_locations.push((location, kind));
        }
    }

    async fn flush(
        &self,
        writer: &mut concord_store::ImportWriter,
        batch: &mut Batch,
        report: &mut ImportReport,
    ) -> Result<(), AppError> {
        if batch.len() == 0 {
            return Ok(());
        }
        let taken = std::mem::take(batch);
        let outcome = writer.write(&taken.organisations, &taken.patients, &taken.records).await?;
        report.changed.add(&outcome.changed);
        for (index, reason) in outcome.refused_patients {
            report.rejected.push(RejectedRecord {
                location: taken.patient_locations[index].clone(),
                resource_type: Some("Patient".into()),
                source_key: Some(taken.patients[index].0.clone()),
                reason,
                red_flag: None,
            });
        }
        for (index, reason) in outcome.refused_records {
            let (location, kind) = &taken.record_locations[index];
            let (_, key, record) = &taken.records[index];
            // A result that could raise a red flag is never dropped silently: it stays on the
            // clinicians' list of unreadable results even when its patient cannot be found.
            let red_flag = match record {
                ClinicalRecord::Observation(observation)
                    if self.catalogue.is_red_flag_capable(&observation.concept.code) =>
                {
                    Some(observation.concept.clone())
                }
                ClinicalRecord::Unreadable { concept, .. } => Some(concept.clone()),
                _ => None,
            };
            report.rejected.push(RejectedRecord {
                location: location.clone(),
                resource_type: Some((*kind).to_owned()),
                source_key: Some(key.clone()),
                reason,
                red_flag,
            });
        }
        Ok(())
    }
}

fn concord_store_timestamp(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A run id: sortable by start time, unique enough for one database.
fn uuid_like(started: OffsetDateTime) -> String {
    format!("{}-{:08x}", started.unix_timestamp_nanos() / 1_000_000, rand::random::<u32>())
}
