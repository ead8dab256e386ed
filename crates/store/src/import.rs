//! Writing imported records: idempotent upserts in batches, each batch one transaction with its
//! audit events.
//!
//! Identity: a patient is found by NHS number when the extract has one, else by a source key
//! (`Type/id` of the source resource, or a local identifier). Repeated Conditions collapse on
//! (patient, code, onset). Results, medications and encounters are keyed by their source key, so
//! an amended or entered-in-error result replaces the earlier version of itself.

use std::collections::{BTreeMap, HashMap};

use concord_domain::audit::{Actor, AuditAction};
use concord_domain::patient::Patient;
use concord_domain::record::{Condition, Encounter, Medication, Observation, ObservationValue, ResultSource};
use concord_domain::{CodedConcept, Organisation};
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

use crate::audit::{NewAuditEvent, insert_audit_events};
use crate::sql::{self, Value, bind_owned, bind_values, generated, upsert_sql, upsert_sql_with_casts};
use crate::{Store, StoreError};

/// How a clinical record names its patient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatientRef {
    /// A source key such as `Patient/123`, or a local identifier, recorded when the patient was imported.
    SourceKey(String),
    /// Ten digits.
    NhsNumber(String),
    /// Concord's own id for the patient (records made in Concord, e.g. at the information-gathering visit).
    Id(String),
}

/// A clinical record to store for a patient.
#[derive(Debug, Clone, PartialEq)]
pub enum ClinicalRecord {
    Condition(Condition),
    Observation(Observation),
    Medication(Medication),
    Encounter(Encounter),
    /// A red-flag-capable result that could not be read; stored visibly as "unreadable".
    Unreadable {
        concept: CodedConcept,
        effective: Option<OffsetDateTime>,
        reason: String,
    },
    /// A sample sent to the laboratory from the information-gathering visit; its result arrives
    /// later by import.
    LaboratorySample(LaboratorySample),
}

/// A laboratory sample sent for one checklist item (e.g. `hba1c`) at a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaboratorySample {
    /// The visit's key (the source-key prefix of everything recorded at it).
    pub visit_key: String,
    pub item: String,
    pub sent_at: OffsetDateTime,
}

/// Counts of rows written (inserted or changed) per kind of record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub organisations: u64,
    pub patients: u64,
    pub conditions: u64,
    pub observations: u64,
    pub medications: u64,
    pub encounters: u64,
    pub laboratory_samples: u64,
}

impl RecordCounts {
    pub fn total(&self) -> u64 {
        self.organisations
            + self.patients
            + self.conditions
            + self.observations
            + self.medications
            + self.encounters
            + self.laboratory_samples
    }

    pub fn add(&mut self, other: &Self) {
        self.organisations += other.organisations;
        self.patients += other.patients;
        self.conditions += other.conditions;
        self.observations += other.observations;
        self.medications += other.medications;
        self.encounters += other.encounters;
        self.laboratory_samples += other.laboratory_samples;
    }
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteOutcome {
    /// Rows inserted or changed. Rows identical to what was stored are not counted.
    pub changed: RecordCounts,
    /// Records (by index into the batch's `records`, or `patients` for patient problems) that could
    /// not be written, with the reason; nothing else in the batch is affected.
    pub refused_patients: Vec<(usize, String)>,
    pub refused_records: Vec<(usize, String)>,
}

/// Writes import batches, remembering patient identities across batches of one run.
pub struct ImportWriter {
    store: Store,
    actor: Actor,
    patient_ids: HashMap<PatientRef, String>,
    /// References looked up in this batch's transaction and found to name nobody (yet); a
    /// patient created later in the batch is found first in `patient_ids`.
    absent: std::collections::HashSet<PatientRef>,
    /// Identifiers of the batch's patients, inserted together after them.
    pending_identifiers: Vec<(String, String, String)>,
}

/// Rows per multi-row statement. On SQLite, sqlx looks up every parameter's name when it binds
/// (`sqlite3_bind_parameter_name`, a third of the import's time at 64 rows), a cost that grows
/// faster than the statement, so short statements win there; PostgreSQL prefers fewer round trips.
fn chunk_rows(backend: crate::Backend) -> usize {
    match backend {
        crate::Backend::Sqlite => {
            std::env::var("CONCORD_SQLITE_CHUNK_ROWS").ok().and_then(|text| text.parse().ok()).unwrap_or(8)
        }
        crate::Backend::Postgres => 64,
    }
}

/// The rows for one record table in a batch, and how to upsert and count them.
struct TableWrite {
    table: &'static str,
    columns: &'static [&'static str],
    conflict: &'static [&'static str],
    rows: Vec<Vec<Value>>,
    count: fn(&mut RecordCounts),
}

impl Store {
    pub fn import_writer(&self, actor: Actor) -> ImportWriter {
        ImportWriter {
            store: self.clone(),
            actor,
            patient_ids: HashMap::new(),
            absent: std::collections::HashSet::new(),
            pending_identifiers: Vec::new(),
        }
    }
}

impl ImportWriter {
    /// Writes one batch in one transaction: organisations, then patients, then their records, then
    /// one audit event per patient whose record changed. A record whose patient cannot be found is
    /// refused (and reported) without affecting the rest.
    pub async fn write(
        &mut self,
        organisations: &[Organisation],
        patients: &[(String, Patient)],
        records: &[(PatientRef, String, ClinicalRecord)],
    ) -> Result<WriteOutcome, StoreError> {
        let now = sql::timestamp_text(OffsetDateTime::now_utc());
        let mut outcome = WriteOutcome::default();
        let mut transaction = self.store.pool().begin().await?;
        // Patient ids whose record changed in this batch -> (created?, what changed).
        let mut touched: BTreeMap<String, (bool, RecordCounts)> = BTreeMap::new();

        for organisation in organisations {
            let result = sqlx::query(
                "INSERT INTO organisation (ods_code, name, kind, parent_ods_code) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (ods_code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 parent_ods_code = excluded.parent_ods_code \
                 WHERE organisation.name IS DISTINCT FROM excluded.name OR organisation.kind IS DISTINCT FROM excluded.kind \
                 OR organisation.parent_ods_code IS DISTINCT FROM excluded.parent_ods_code",
            )
            .bind(organisation.ods_code.as_str().to_owned())
            .bind(organisation.name.clone())
            .bind(organisation.kind.as_str().to_owned())
            .bind(organisation.parent.as_ref().map(|parent| parent.as_str().to_owned()))
            .execute(&mut *transaction)
            .await?;
            outcome.changed.organisations += result.rows_affected();
        }

        // Every patient reference of the batch is looked up in a few statements, not one by one.
        let mut references: Vec<PatientRef> = Vec::with_capacity(patients.len() * 2 + records.len());
        for (source_key, patient) in patients {
            references.push(PatientRef::SourceKey(source_key.clone()));
            if let Some(number) = &patient.nhs_number {
                references.push(PatientRef::NhsNumber(number.as_str().to_owned()));
            }
        }
        references.extend(records.iter().map(|(patient_ref, _, _)| patient_ref.clone()));
        self.absent.clear();
        self.prefetch(&mut transaction, references).await?;

        for (index, (source_key, patient)) in patients.iter().enumerate() {
            match self.write_patient(&mut transaction, source_key, patient, &now).await? {
                Ok(Some((patient_id, created))) => {
                    outcome.changed.patients += 1;
                    let entry = touched.entry(patient_id).or_default();
                    entry.0 |= created;
                    entry.1.patients += 1;
                }
                Ok(None) => {}
                Err(reason) => outcome.refused_patients.push((index, reason)),
            }
        }
        self.write_pending_identifiers(&mut transaction).await?;

        let mut conditions = Vec::new();
        let mut observations = Vec::new();
        let mut medications = Vec::new();
        let mut encounters = Vec::new();
        let mut samples = Vec::new();
        for (index, (patient_ref, source_key, record)) in records.iter().enumerate() {
            let Some(patient_id) = self.resolve(&mut transaction, patient_ref).await? else {
                let reason = match patient_ref {
                    PatientRef::SourceKey(key) => format!("subject {key} is not a known patient"),
                    PatientRef::NhsNumber(number) => format!("no patient has NHS number {number}"),
                    PatientRef::Id(_) => "the person is no longer in the record".to_owned(),
                };
                outcome.refused_records.push((index, reason));
                continue;
            };
            match record {
                ClinicalRecord::Condition(condition) => {
                    conditions.push(condition_row(&patient_id, source_key, condition, &now))
                }
                ClinicalRecord::Observation(observation) => {
                    observations.push(observation_row(&patient_id, source_key, observation, &now))
                }
                ClinicalRecord::Unreadable { concept, effective, reason } => {
                    observations.push(unreadable_row(&patient_id, source_key, concept, *effective, reason, &now))
                }
                ClinicalRecord::Medication(medication) => {
                    medications.push(medication_row(&patient_id, source_key, medication, &now))
                }
                ClinicalRecord::Encounter(encounter) => {
                    encounters.push(encounter_row(&patient_id, source_key, encounter, &now))
                }
                ClinicalRecord::LaboratorySample(sample) => {
                    samples.push(sample_row(&patient_id, source_key, sample, &now))
                }
            }
        }

        let tables = [
            TableWrite {
                table: "condition",
                columns: CONDITION_COLUMNS,
                conflict: &["patient_id", "code_system", "code", "onset"],
                rows: conditions,
                count: |counts| counts.conditions += 1,
            },
            TableWrite {
                table: "observation",
                columns: OBSERVATION_COLUMNS,
                conflict: &["source_key"],
                rows: observations,
                count: |counts| counts.observations += 1,
            },
            TableWrite {
                table: "medication",
                columns: MEDICATION_COLUMNS,
                conflict: &["source_key"],
                rows: medications,
                count: |counts| counts.medications += 1,
            },
            TableWrite {
                table: "encounter",
                columns: ENCOUNTER_COLUMNS,
                conflict: &["source_key"],
                rows: encounters,
                count: |counts| counts.encounters += 1,
            },
            TableWrite {
                table: "laboratory_sample",
                columns: SAMPLE_COLUMNS,
                conflict: &["source_key"],
                rows: samples,
                count: |counts| counts.laboratory_samples += 1,
            },
        ];
        let chunk_rows = chunk_rows(self.store.backend());
        for TableWrite { table, columns, conflict, rows, count } in tables {
            let compared = compared_columns(columns, conflict);
            let mut rows = last_per_key(rows, columns, conflict).into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Vec<Value>> = rows.by_ref().take(chunk_rows).collect();
                // sqlx's Any driver declares a NULL f64 to PostgreSQL as float4 (sqlx-core 0.9
                // any/arguments.rs swaps Real and Double for nulls), so a statement prepared with a
                // NULL value_number would refuse a later float8 in the same slot. On PostgreSQL the
                // numbers therefore travel as text (Rust's shortest round-trip form, which float8
                // reads back exactly) cast in SQL, so one prepared statement serves every chunk.
                let postgres = self.store.backend() == crate::Backend::Postgres;
                let casts: &[(&str, &str)] = if postgres { &[("value_number", "DOUBLE PRECISION")] } else { &[] };
                let sql = upsert_sql_with_casts(table, columns, conflict, &compared, chunk.len(), "patient_id", casts);
                let values = chunk.into_iter().flatten().map(|value| match value {
                    Value::Real(number) if postgres => Value::Text(number.map(|number| number.to_string())),
                    other => other,
                });
                let returned = bind_owned(generated(sql), values).fetch_all(&mut *transaction).await?;
                for row in returned {
                    let patient_id: String = row.try_get(0)?;
                    count(&mut touched.entry(patient_id).or_default().1);
                    count(&mut outcome.changed);
                }
            }
        }

        let changed: Vec<String> = touched.keys().cloned().collect();
        crate::status::mark_stale(&mut transaction, &changed, &now).await?;
        let events: Vec<NewAuditEvent> = touched
            .into_iter()
            .map(|(patient_id, (created, counts))| NewAuditEvent {
                actor: self.actor.clone(),
                organisation: None,
                patient_id: Some(patient_id),
                action: if created { AuditAction::Create } else { AuditAction::Update },
                entity: "PatientRecord".into(),
                detail: describe_counts(&counts),
                request_id: None,
                purpose: None,
            })
            .collect();
        insert_audit_events(&mut transaction, &events, &now).await?;
        transaction.commit().await?;
        Ok(outcome)
    }

    /// Looks up many references at once, remembering who they name (and, for this batch, which
    /// name nobody), so `resolve` rarely needs the database.
    async fn prefetch(
        &mut self,
        transaction: &mut Transaction<'_, Any>,
        references: Vec<PatientRef>,
    ) -> Result<(), StoreError> {
        const LOOKUP_CHUNK: usize = 500;
        let mut wanted: std::collections::HashSet<PatientRef> = std::collections::HashSet::new();
        for reference in references {
            if !self.patient_ids.contains_key(&reference) {
                wanted.insert(reference);
            }
        }
        let (mut keys, mut numbers, mut ids) = (Vec::new(), Vec::new(), Vec::new());
        for reference in &wanted {
            match reference {
                PatientRef::SourceKey(key) => keys.push(key.clone()),
                PatientRef::NhsNumber(number) => numbers.push(number.clone()),
                PatientRef::Id(id) => ids.push(id.clone()),
            }
        }
        type Lookup<'a> = (Vec<String>, &'a str, fn(String) -> PatientRef);
        let lookups: [Lookup<'_>; 3] = [
            (
                keys,
                "SELECT value, patient_id FROM patient_identifier WHERE system = 'source' AND value IN",
                PatientRef::SourceKey,
            ),
            (numbers, "SELECT nhs_number, id FROM patient WHERE nhs_number IN", PatientRef::NhsNumber),
            (ids, "SELECT id, id FROM patient WHERE id IN", PatientRef::Id),
        ];
        for (values, select, make) in lookups {
            for chunk in values.chunks(LOOKUP_CHUNK) {
                let list: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
                let sql = format!("{select} ({})", list.join(", "));
                let rows = bind_owned(generated(sql), chunk.iter().map(|value| Value::text(value.clone())))
                    .fetch_all(&mut **transaction)
                    .await?;
                for row in rows {
                    let (value, id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                    self.patient_ids.insert(make(value), id);
                }
            }
        }
        for reference in wanted {
            if !self.patient_ids.contains_key(&reference) {
                self.absent.insert(reference);
            }
        }
        Ok(())
    }

    /// Inserts the identifiers of the batch's patients (the same identifier twice is kept once).
    async fn write_pending_identifiers(&mut self, transaction: &mut Transaction<'_, Any>) -> Result<(), StoreError> {
        const IDENTIFIER_CHUNK: usize = 300;
        let pending = std::mem::take(&mut self.pending_identifiers);
        for chunk in pending.chunks(IDENTIFIER_CHUNK) {
            let rows: Vec<String> =
                (0..chunk.len()).map(|row| format!("(${}, ${}, ${})", row * 3 + 1, row * 3 + 2, row * 3 + 3)).collect();
            let sql = format!(
                "INSERT INTO patient_identifier (system, value, patient_id) VALUES {} ON CONFLICT (system, value) DO NOTHING",
                rows.join(", ")
            );
            let values = chunk.iter().flat_map(|(system, value, id)| {
                [Value::text(system.clone()), Value::text(value.clone()), Value::text(id.clone())]
            });
            bind_owned(generated(sql), values).execute(&mut **transaction).await?;
        }
        Ok(())
    }

    /// Looks a patient up by reference, remembering answers for the rest of the run.
    async fn resolve(
        &mut self,
        transaction: &mut Transaction<'_, Any>,
        patient_ref: &PatientRef,
    ) -> Result<Option<String>, StoreError> {
        if let Some(id) = self.patient_ids.get(patient_ref) {
            return Ok(Some(id.clone()));
        }
        if self.absent.contains(patient_ref) {
            return Ok(None);
        }
        let found: Option<(String,)> = match patient_ref {
            PatientRef::SourceKey(key) => {
                sqlx::query_as("SELECT patient_id FROM patient_identifier WHERE system = 'source' AND value = $1")
                    .bind(key.clone())
                    .fetch_optional(&mut **transaction)
                    .await?
            }
            PatientRef::NhsNumber(number) => {
                sqlx::query_as("SELECT id FROM patient WHERE nhs_number = $1")
                    .bind(number.clone())
                    .fetch_optional(&mut **transaction)
                    .await?
            }
            PatientRef::Id(id) => {
                sqlx::query_as("SELECT id FROM patient WHERE id = $1")
                    .bind(id.clone())
                    .fetch_optional(&mut **transaction)
                    .await?
            }
        };
        if let Some((id,)) = &found {
            self.patient_ids.insert(patient_ref.clone(), id.clone());
        }
        Ok(found.map(|(id,)| id))
    }

    /// Inserts or updates one patient. Returns `Ok(Some((id, created)))` when something was
    /// written, `Ok(None)` when the stored record was already identical, and `Err(reason)` when the
    /// patient cannot be written without confusing two people.
    async fn write_patient(
        &mut self,
        transaction: &mut Transaction<'_, Any>,
        source_key: &str,
        patient: &Patient,
        now: &str,
    ) -> Result<Result<Option<(String, bool)>, String>, StoreError> {
        let by_key = self.resolve(transaction, &PatientRef::SourceKey(source_key.to_owned())).await?;
        let by_number = match &patient.nhs_number {
            Some(number) => self.resolve(transaction, &PatientRef::NhsNumber(number.as_str().to_owned())).await?,
            None => None,
        };
        let (id, created) = match (by_key, by_number) {
            (Some(key_id), Some(number_id)) if key_id != number_id => {
                return Ok(Err(format!(
                    "NHS number {} already belongs to another patient record than {source_key}; not merged",
                    patient.nhs_number.as_ref().map(ToString::to_string).unwrap_or_default()
                )));
            }
            (Some(id), _) | (None, Some(id)) => (id, false),
            (None, None) => (sql::new_id(), true),
        };
        let values = patient_values(&id, patient, now);
        let sql = upsert_sql("patient", PATIENT_COLUMNS, &["id"], &compared_columns(PATIENT_COLUMNS, &["id"]), 1, "id");
        let written = bind_values(generated(sql), &values).fetch_optional(&mut **transaction).await?.is_some();

        let mut identifiers = vec![("source".to_owned(), source_key.to_owned())];
        identifiers.extend(
            patient.local_identifiers.iter().map(|identifier| (identifier.system.clone(), identifier.value.clone())),
        );
        for (system, value) in identifiers {
            self.pending_identifiers.push((system, value, id.clone()));
        }
        self.patient_ids.insert(PatientRef::SourceKey(source_key.to_owned()), id.clone());
        if let Some(number) = &patient.nhs_number {
            self.patient_ids.insert(PatientRef::NhsNumber(number.as_str().to_owned()), id.clone());
        }
        Ok(Ok(written.then_some((id, created))))
    }
}

/// The columns whose change makes an upsert a change worth writing and auditing: all but the
/// conflict key, Concord's own id and timestamp, and bookkeeping that does not alter the record
/// (which source record or system a row came from, the derived search name). So a repeated
/// Condition under another source key, or a re-import, is no change.
fn compared_columns(columns: &[&'static str], conflict: &[&str]) -> Vec<&'static str> {
    const NOT_COMPARED: [&str; 5] = ["id", "updated_at", "source_key", "source", "search_name"];
    columns.iter().copied().filter(|column| !NOT_COMPARED.contains(column) && !conflict.contains(column)).collect()
}

/// Keeps the last row for each conflict key: one statement may not touch a row twice (PostgreSQL
/// refuses), and within an extract the later record is the correction of the earlier.
fn last_per_key(rows: Vec<Vec<Value>>, columns: &[&str], conflict: &[&str]) -> Vec<Vec<Value>> {
    let key_indices: Vec<usize> =
        conflict.iter().filter_map(|name| columns.iter().position(|column| column == name)).collect();
    let mut position_of_key: HashMap<Vec<Option<String>>, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<Option<Vec<Value>>> = Vec::with_capacity(rows.len());
    for row in rows {
        // Conflict keys are text columns (ids, codes, dates).
        let key: Vec<Option<String>> = key_indices
            .iter()
            .map(|&index| match &row[index] {
                Value::Text(text) => text.clone(),
                other => Some(format!("{other:?}")),
            })
            .collect();
        if let Some(&previous) = position_of_key.get(&key) {
            kept[previous] = None;
        }
        position_of_key.insert(key, kept.len());
        kept.push(Some(row));
    }
    kept.into_iter().flatten().collect()
}

fn describe_counts(counts: &RecordCounts) -> String {
    let parts: Vec<String> = [
        ("demographics", counts.patients),
        ("conditions", counts.conditions),
        ("observations", counts.observations),
        ("medications", counts.medications),
        ("encounters", counts.encounters),
        ("laboratory samples", counts.laboratory_samples),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .map(|(name, count)| format!("{name}: {count}"))
    .collect();
    format!("import wrote {}", parts.join(", "))
}

pub(crate) const PATIENT_COLUMNS: &[&str] = &[
    "id",
    "nhs_number",
    "nhs_number_verification",
    "name_prefix",
    "given_name",
    "family_name",
    "search_name",
    "birth_date",
    "sex",
    "address_lines",
    "city",
    "postcode",
    "death_date",
    "practice_ods_code",
    "registration_start",
    "registration_end",
    "phone",
    "mobile",
    "email",
    "preferred_channel",
    "language",
    "interpreter_needed",
    "communication_needs",
    "updated_at",
];

/// Lower-case "family given" used for prefix search on family name.
pub(crate) fn search_name(family: &str, given: &str) -> String {
    format!("{} {}", family.trim().to_lowercase(), given.trim().to_lowercase())
}

fn patient_values(id: &str, patient: &Patient, now: &str) -> Vec<Value> {
    let registration = patient.registration.as_ref();
    vec![
        Value::text(id),
        Value::optional_text(patient.nhs_number.as_ref().map(|number| number.as_str().to_owned())),
        Value::optional_text(patient.nhs_number_verification.map(|status| status.code())),
        Value::optional_text(patient.name.prefix.clone()),
        Value::text(patient.name.given.clone()),
        Value::text(patient.name.family.clone()),
        Value::text(search_name(&patient.name.family, &patient.name.given)),
        Value::text(sql::date_text(patient.birth_date)),
        Value::text(patient.sex.as_str()),
        Value::optional_text((!patient.address.lines.is_empty()).then(|| patient.address.lines.join("\n"))),
        Value::optional_text(patient.address.city.clone()),
        Value::optional_text(patient.address.postcode.clone()),
        Value::optional_text(sql::optional_date_text(patient.death_date)),
        Value::optional_text(registration.map(|registration| registration.practice.as_str().to_owned())),
        Value::optional_text(registration.and_then(|registration| sql::optional_date_text(registration.start))),
        Value::optional_text(registration.and_then(|registration| sql::optional_date_text(registration.end))),
        Value::optional_text(patient.contact.phone.clone()),
        Value::optional_text(patient.contact.mobile.clone()),
        Value::optional_text(patient.contact.email.clone()),
        Value::optional_text(patient.contact.preferred_channel.map(|channel| channel.as_str())),
        Value::optional_text(patient.communication.language.clone()),
        Value::Integer(Some(i64::from(patient.communication.interpreter_needed))),
        Value::optional_text((!patient.communication.needs.is_empty()).then(|| patient.communication.needs.join("\n"))),
        Value::text(now),
    ]
}

const CONDITION_COLUMNS: &[&str] = &[
    "id",
    "patient_id",
    "source_key",
    "code_system",
    "code",
    "term",
    "onset",
    "resolved",
    "recorded",
    "status",
    "updated_at",
];

/// The columns every coded record row starts with: Concord's id, the patient, the source key and
/// the code with its term.
fn coded_row_start(patient_id: &str, source_key: &str, concept: &CodedConcept) -> Vec<Value> {
    vec![
        Value::text(sql::new_id()),
        Value::text(patient_id),
        Value::text(source_key),
        Value::text(concept.code.system.short_name()),
        Value::text(concept.code.code.clone()),
        Value::text(concept.term.clone()),
    ]
}

fn condition_row(patient_id: &str, source_key: &str, condition: &Condition, now: &str) -> Vec<Value> {
    let mut row = coded_row_start(patient_id, source_key, &condition.concept);
    row.extend([
        // Unknown onset is stored as '' so that repeats of an undated code still collapse.
        Value::text(sql::optional_date_text(condition.onset).unwrap_or_default()),
        Value::optional_text(sql::optional_date_text(condition.resolved)),
        Value::optional_text(sql::optional_date_text(condition.recorded)),
        Value::text(condition.status.as_str()),
        Value::text(now),
    ]);
    row
}

const OBSERVATION_COLUMNS: &[&str] = &[
    "id",
    "patient_id",
    "source_key",
    "code_system",
    "code",
    "term",
    "observable",
    "value_kind",
    "value_text",
    "value_number",
    "unit",
    "value_code_system",
    "value_code",
    "effective",
    "status",
    "source",
    "unreadable_reason",
    "updated_at",
];

fn observation_row(patient_id: &str, source_key: &str, observation: &Observation, now: &str) -> Vec<Value> {
    let (kind, text, number, unit, value_system, value_code) = match &observation.value {
        ObservationValue::Quantity(quantity) => (
            "quantity",
            Some(quantity.value_text.clone()),
            Some(quantity.value),
            Some(quantity.unit.as_str().to_owned()),
            None,
            None,
        ),
        ObservationValue::Coded(concept) => (
            "coded",
            Some(concept.term.clone()),
            None,
            None,
            Some(concept.code.system.short_name().to_owned()),
            Some(concept.code.code.clone()),
        ),
        ObservationValue::Text(text) => ("text", Some(text.clone()), None, None, None, None),
        ObservationValue::None => ("none", None, None, None, None, None),
    };
    let mut row = coded_row_start(patient_id, source_key, &observation.concept);
    row.extend([
        Value::optional_text(observation.observable.clone()),
        Value::text(kind),
        Value::Text(text),
        Value::Real(number),
        Value::Text(unit),
        Value::Text(value_system),
        Value::Text(value_code),
        Value::text(sql::timestamp_text(observation.effective)),
        Value::text(observation.status.as_str()),
        Value::text(match &observation.source {
            ResultSource::Imported(system) => format!("import:{system}"),
            ResultSource::Concord => "concord".to_owned(),
        }),
        Value::Text(None),
        Value::text(now),
    ]);
    row
}

fn unreadable_row(
    patient_id: &str,
    source_key: &str,
    concept: &CodedConcept,
    effective: Option<OffsetDateTime>,
    reason: &str,
    now: &str,
) -> Vec<Value> {
    let mut row = coded_row_start(patient_id, source_key, concept);
    row.extend([
        Value::Text(None),
        Value::text("unreadable"),
        Value::Text(None),
        Value::Real(None),
        Value::Text(None),
        Value::Text(None),
        Value::Text(None),
        // An undated unreadable result sorts as the newest, so it is seen first.
        Value::text(effective.map_or_else(|| now.to_owned(), sql::timestamp_text)),
        Value::text("unknown"),
        Value::text("import"),
        Value::text(reason),
        Value::text(now),
    ]);
    row
}

const MEDICATION_COLUMNS: &[&str] = &[
    "id",
    "patient_id",
    "source_key",
    "code_system",
    "code",
    "term",
    "dosage",
    "status",
    "authored",
    "as_at",
    "updated_at",
];

fn medication_row(patient_id: &str, source_key: &str, medication: &Medication, now: &str) -> Vec<Value> {
    let mut row = coded_row_start(patient_id, source_key, &medication.concept);
    row.extend([
        Value::optional_text(medication.dosage.clone()),
        Value::text(medication.status.as_str()),
        Value::optional_text(sql::optional_date_text(medication.authored)),
        Value::text(sql::date_text(medication.as_at)),
        Value::text(now),
    ]);
    row
}

const ENCOUNTER_COLUMNS: &[&str] = &[
    "id",
    "patient_id",
    "source_key",
    "start_at",
    "setting",
    "clinician",
    "status",
    "kind_code_system",
    "kind_code",
    "kind_term",
    "planned",
    "booked_at",
    "year_of_care_contact",
    "updated_at",
];

fn encounter_row(patient_id: &str, source_key: &str, encounter: &Encounter, now: &str) -> Vec<Value> {
    vec![
        Value::text(sql::new_id()),
        Value::text(patient_id),
        Value::text(source_key),
        Value::text(sql::timestamp_text(encounter.start)),
        Value::text(encounter.setting.as_str()),
        Value::text(encounter.clinician.as_str()),
        Value::text(encounter.status.as_str()),
        Value::optional_text(encounter.kind.as_ref().map(|kind| kind.code.system.short_name().to_owned())),
        Value::optional_text(encounter.kind.as_ref().map(|kind| kind.code.code.clone())),
        Value::optional_text(encounter.kind.as_ref().map(|kind| kind.term.clone())),
        Value::Integer(encounter.planned.map(i64::from)),
        Value::optional_text(encounter.booked_at.map(sql::timestamp_text)),
        Value::Integer(Some(i64::from(encounter.year_of_care_contact))),
        Value::text(now),
    ]
}

const SAMPLE_COLUMNS: &[&str] = &["id", "patient_id", "source_key", "visit_key", "item", "sent_at", "updated_at"];

fn sample_row(patient_id: &str, source_key: &str, sample: &LaboratorySample, now: &str) -> Vec<Value> {
    vec![
        Value::text(sql::new_id()),
        Value::text(patient_id),
        Value::text(source_key),
        Value::text(sample.visit_key.clone()),
        Value::text(sample.item.clone()),
        Value::text(sql::timestamp_text(sample.sent_at)),
        Value::text(now),
    ]
}
