//! Reading extracts from the GP clinical system into Concord's record.
//!
//! Input formats: FHIR R4 Bundles (transaction, batch, collection, searchset) as JSON files, FHIR
//! Bulk Data NDJSON (one resource per line), and Concord's documented CSV format
//! (`docs/import-csv.md`). Each resource becomes an [`Item`] or a [`Rejection`] that names the
//! file, the entry or line, and the reason. A bad record never stops the rest.
//!
//! Architecture invariant: this crate reads files but writes nothing; persistence (idempotent
//! upserts, audit) belongs to the application layer that consumes the [`Sink`].
//!
//! Reading invariants: every resource or row is delivered exactly once, as complete items (a blood
//! pressure panel gives one per reading), a rejection, or a skip, never half of one; no input
//! makes the reader panic; the delivery order depends only on the paths; the clock is never read.
//!
//! Layout: [`files`](discover) finds and orders the files; the reader streams FHIR JSON and NDJSON
//! (`fhir_input`) and CSV (`csv_input`); [`map`] holds the pure mapping from FHIR resources (the
//! `concord-fhir` wire model) to domain records, and the rule for results shared by both formats.

use std::fmt;
use std::path::{Path, PathBuf};

use concord_codelists::Catalogue;
use concord_domain::patient::Patient;
use concord_domain::record::{Condition, Encounter, Medication, Observation};
use concord_domain::{CodedConcept, NhsNumber, Organisation};
use time::{Date, OffsetDateTime};

mod csv_input;
mod fhir_input;
mod files;
pub mod map;
mod reader;

pub use files::{Format, detect_format, discover};
pub use reader::Reader;

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

/// Receives what the reader finds, in file order. Within one Bundle, Organizations and then
/// Patients are delivered before the records that refer to them; files whose name starts with
/// `Organization` (or `organisation`) are read first, then `Medication` and `Patient` files.
pub trait Sink {
    fn item(&mut self, location: &Location, item: Item);
    fn reject(&mut self, rejection: Rejection);
    /// Something read but not kept, counted under a label: a resource type Concord does not use
    /// (e.g. `Claim`, `ExplanationOfBenefit`), `Observation (code not used)` for results on no
    /// observable, `Organization (no ODS code)`, `Medication` (read only to name the medicines
    /// that statements refer to), and the like.
    fn skipped(&mut self, resource_type: &str);
    /// Progress: bytes of input consumed so far, for a progress bar.
    fn progress(&mut self, _bytes_read: u64) {}
}

/// What the caller knows about the extract that the files may not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The date the extract was taken. Medications are shown "as at" this date when neither the
    /// record (`dateAsserted`) nor its Bundle (`timestamp`, `meta.lastUpdated`) gives one. Callers
    /// pass it: reading never consults the clock.
    pub extract_date: Date,
    /// The clinical system the extract came from (e.g. `"EMIS Web"`), recorded as the source of
    /// results and as the system of the local identifier every imported patient gets.
    pub source_system: String,
}

/// Totals for one run of the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadSummary {
    pub files: u64,
    pub bytes: u64,
    pub items: u64,
    pub rejected: u64,
    pub skipped: u64,
}

/// A failure to find the input at all. Problems inside files are [`Rejection`]s, never errors.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    #[error("{path}: cannot list folder: {source}")]
    UnreadableFolder { path: PathBuf, source: std::io::Error },
}

/// Reads files and folders (recursively) in a deterministic order: organisation files first,
/// then medication and patient files, then the rest, each group sorted by path (see [`discover`]).
/// Every resource or row becomes exactly one delivery to `sink`: an item (a blood pressure panel
/// gives two), a rejection, or a count of something skipped.
pub fn read_paths(
    paths: &[PathBuf],
    catalogue: &Catalogue,
    options: &ReadOptions,
    sink: &mut impl Sink,
) -> Result<ReadSummary, ImportError> {
    let files = discover(paths)?;
    let mut reader = Reader::new(catalogue, options.clone());
    for file in &files {
        reader.read_file(file, sink);
    }
    Ok(reader.summary())
}

impl Location {
    /// The whole file.
    pub fn file(file: &Path) -> Self {
        Self { file: file.to_owned(), entry: None, line: None }
    }

    /// An entry of a Bundle (0-based).
    pub fn entry(file: &Path, entry: usize) -> Self {
        Self { file: file.to_owned(), entry: Some(entry), line: None }
    }

    /// A line of an NDJSON or CSV file (1-based).
    pub fn line(file: &Path, line: u64) -> Self {
        Self { file: file.to_owned(), entry: None, line: Some(line) }
    }
}
