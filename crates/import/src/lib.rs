//! Reading extracts from the GP clinical system into Concord's record.
//!
//! Input formats: FHIR R4 Bundles (transaction, batch, collection, searchset) as JSON files, FHIR
//! Bulk Data NDJSON (one resource per line), and Concord's documented CSV format
//! (`docs/import-csv.md`). Each resource becomes an [`Item`] or a [`Rejection`] that names the
//! file, the entry or line, and the reason. A bad record never stops the rest.
//!
//! Architecture invariant: this crate reads files but writes nothing; persistence (idempotent
//! upserts, audit) belongs to the application layer that consumes the [`Sink`].

use std::fmt;
use std::path::PathBuf;

use concord_domain::patient::Patient;
use concord_domain::record::{Condition, Encounter, Medication, Observation};
use concord_domain::{CodedConcept, NhsNumber, Organisation};
use time::OffsetDateTime;

/// Where in the input a record came from, for error messages and the rejects report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 0-based index of the entry in a Bundle.
    pub entry: Option<usize>,
    /// 1-based line in an NDJSON or CSV file.
    pub line: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(formatter, ":{line}")?;
        }
        if let Some(entry) = self.entry {
            write!(formatter, " entry {entry}")?;
        }
        Ok(())
    }
}

/// A stable identity for a source record, so that importing the same extract twice changes nothing
/// and a corrected record replaces the one it corrects. For FHIR this is `Type/id` (from `id`, or
/// from the `fullUrl` when the id is absent); for CSV rows it is the row's `record_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey(pub String);

/// How a clinical record names its patient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectRef {
    /// A patient's source key, e.g. `Patient/123` (FHIR `Patient/123` or `urn:uuid:123` fullUrls
    /// resolve to the key of the Patient resource they point at).
    Source(SourceKey),
    NhsNumber(NhsNumber),
}

/// One record read from an extract, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Organisation(Organisation),
    Patient {
        key: SourceKey,
        patient: Patient,
    },
    Condition {
        key: SourceKey,
        subject: SubjectRef,
        condition: Condition,
    },
    Observation {
        key: SourceKey,
        subject: SubjectRef,
        observation: Observation,
    },
    Medication {
        key: SourceKey,
        subject: SubjectRef,
        medication: Medication,
    },
    Encounter {
        key: SourceKey,
        subject: SubjectRef,
        encounter: Encounter,
    },
    /// A result whose code could raise a red flag but whose value could not be read (unknown unit,
    /// implausible value, malformed). It is kept, visibly, for a clinician to look at.
    UnreadableResult {
        key: SourceKey,
        subject: SubjectRef,
        concept: CodedConcept,
        effective: Option<OffsetDateTime>,
        reason: String,
    },
}

/// A record that could not be imported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub location: Location,
    /// The FHIR resource type (or CSV record type), when it could be read.
    pub resource_type: Option<String>,
    /// The record's own id, when it could be read.
    pub source_key: Option<SourceKey>,
    pub reason: String,
    /// Set when the record was a result whose code could raise a red flag and it had no readable
    /// subject: it then goes on the clinicians' list of unreadable results, never silently dropped.
    pub red_flag_concept: Option<CodedConcept>,
}

/// Receives what the reader finds, in file order. Within one Bundle, Patients are delivered before
/// the records that refer to them; files whose name starts with `Patient` are read first.
pub trait Sink {
    fn item(&mut self, location: &Location, item: Item);
    fn reject(&mut self, rejection: Rejection);
    /// A resource type Concord does not use (e.g. `Claim`, `ExplanationOfBenefit`), counted and skipped.
    fn skipped(&mut self, resource_type: &str);
    /// Progress: bytes of input consumed so far, for a progress bar.
    fn progress(&mut self, _bytes_read: u64) {}
}
