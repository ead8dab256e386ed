//! Concord's synthetic population: a region of GP practices and their registered patients with
//! long-term conditions, written as standard FHIR R4 JSON for the importer to read.
//!
//! Output is deterministic: the same [`GenerateOptions`] (seed, patients, practices, format,
//! `today`) give byte-identical files, whatever the number of threads. The generator never reads
//! the clock. Each patient is drawn from a random stream keyed by `(seed, patient index)`, and the
//! population is streamed patient by patient through bounded buffers: memory does not grow with
//! the number of patients.
//!
//! # Files
//!
//! [`OutputFormat::Ndjson`] (FHIR Bulk Data style, for large runs): `Organization.ndjson`,
//! `Patient.ndjson`, `Encounter.ndjson`, `Condition.ndjson`, `Observation.ndjson` and
//! `MedicationStatement.ndjson`, one compact resource per line. References are `Type/id`.
//!
//! [`OutputFormat::Bundles`] (small runs and tests): `organisations.json` (a collection Bundle of
//! every Organization) and one collection Bundle per patient, `patient-000001.json`…, whose
//! entries have `urn:uuid:` fullUrls and refer to each other by `urn:uuid:` (as Synthea does);
//! the Patient is the first entry.
//!
//! In both formats organisations are referred to as `Organization/<ODS code>` (the
//! Organization's id is its ODS code), since they live outside the patients' Bundles; the
//! Patient's `generalPractitioner` and an Organization's `partOf` also carry the ODS
//! `identifier` and a display name (Encounter `serviceProvider` carries the id only).
//!
//! # Shapes and project-specific URIs
//!
//! - Organization: identifier `https://fhir.nhs.uk/Id/ods-organization-code`; `partOf` gives the
//!   hierarchy (practice → PCN → region; partners → region); `type` has a coding in
//!   [`ORGANISATION_KIND_SYSTEM`] (`urn:concord:organisation-kind`) with code `region`, `pcn`,
//!   `practice` or `partner` (the `concord_domain::OrganisationKind` spellings). Codes are
//!   fictitious: region `Y99`, PCNs `U00001`…, practices `F00001`…, partners `NZZ` (community
//!   services) and `RZZ` (hospital trust).
//! - Patient (UK Core style): NHS number identifier (`https://fhir.nhs.uk/Id/nhs-number`, 999 test
//!   range only) carrying the UK Core NHSNumberVerificationStatus extension (code `01`). About 1%
//!   have no NHS number: their nhs-number identifier has no `value`, only the verification status
//!   `07` or `03` (valid FHIR R4, though UK Core wants a value in that slice; kept so the reason
//!   is carried). Everyone has a local identifier, system [`LOCAL_PATIENT_ID_SYSTEM`]
//!   (`urn:concord:local-patient-id`). Extensions:
//!   - [`EXTENSION_REGISTRATION_PERIOD`] (`urn:concord:registration-period`, `valuePeriod`): the
//!     registration with the practice in `generalPractitioner`; an `end` means the person left
//!     (or died: deceased people also have `deceasedDateTime`).
//!   - [`EXTENSION_PREFERRED_CONTACT`] (`urn:concord:preferred-contact-channel`, `valueCode`
//!     `letter` | `email` | `sms` | `phone`, the `concord_domain::ContactChannel` spellings); the
//!     matching `telecom` also has `rank` 1.
//!   - `http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired` (core FHIR) when an
//!     interpreter is needed; the language is in `communication` (BCP 47, `preferred`).
//!   - [`EXTENSION_COMMUNICATION_NEED`] (`urn:concord:communication-need`, `valueString`): an
//!     Accessible Information Standard need such as "Large print" or "Easy read".
//!
//!   These URIs are the ones `concord_fhir::uri` lists, so the importer reads them.
//! - Condition: SNOMED CT; `clinicalStatus` active/resolved (+ `abatementDateTime`) or, for
//!   mistakes, `verificationStatus` entered-in-error with no clinical status (FHIR con-5).
//!   Messiness on purpose: duplicates of a diagnosis recorded at later reviews (category
//!   encounter-diagnosis, different id), resolved earlier episodes, codes entered in error,
//!   type 2 diabetes followed by "diabetes resolved" (315051004), and prediabetes (714628002).
//! - Observation: `valueQuantity` with `system` UCUM and `code` the UCUM unit, `unit` the UK
//!   spelling; about 3% use a variant spelling (some without `code`), eGFR above 90 is `>90`
//!   (`comparator`), old diagnostic HbA1c values are in % (DCCT code 1019431000000105). Blood
//!   pressure is one Observation (LOINC 85354-9 + SNOMED 75367002) with systolic and diastolic
//!   components, or for one in ten two separate Observations (271649006, 271650006). Smoking
//!   status and MRC dyspnoea grade are coded findings: the finding is the Observation `code`, with
//!   no value (one in ten smoking records instead use LOINC 72166-2 with `valueCodeableConcept`).
//!   COPD exacerbations in the past year are `valueInteger`; PHQ-2/PHQ-9 are `{score}` quantities.
//!   A few results are `amended`, and a few `entered-in-error` (with a wrong value, followed by
//!   the correct final result).
//! - MedicationStatement: status active/stopped, dm+d or SNOMED product codes, `dateAsserted` =
//!   `today` (the list is "as at" the extract).
//! - Encounter: class `AMB`, `VR` (telephone/video, said in `type.text`), `HH` or `EMER` (A&E at
//!   the partner trust); planned reviews are typed 185349003 or 394703002 with priority `EL`,
//!   unplanned GP contacts 185345009. `participant.type` is one concept naming the role: SNOMED
//!   62247001 "General practitioner" (text `GP`), 106292003 "Professional nurse" (text `Practice
//!   nurse`), or text `Healthcare assistant` alone; no participant means the clinician is not
//!   stated; `participant.individual` carries a display name only (no Practitioner resources).
//!   The booking time is in the extension [`EXTENSION_BOOKED_AT`] (`urn:concord:booked-at`,
//!   `valueDateTime`): booked the same day means unplanned, days ahead means planned.
//!
//! Register prevalence targets and their sources are in [`PREVALENCE_TARGETS`].

mod catalogue;
mod fhir;
mod json;
mod population;
mod record;
mod util;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

pub use catalogue::{Concept, PREVALENCE_TARGETS, PrevalenceTarget, register_codes};
pub use fhir::ORGANISATION_KIND_SYSTEM;
pub use record::{
    EXTENSION_BOOKED_AT, EXTENSION_COMMUNICATION_NEED, EXTENSION_PREFERRED_CONTACT, EXTENSION_REGISTRATION_PERIOD,
    LOCAL_PATIENT_ID_SYSTEM,
};

use crate::fhir::{Kind, Sink, Style};
use crate::population::{NhsNumberPool, Organisations};
use crate::record::{Context, Prevalence, RED_FLAG_KINDS, Stats};

/// How the output is packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// FHIR Bulk Data NDJSON, one file per resource type. Use for large runs.
    #[default]
    Ndjson,
    /// One collection Bundle per patient. Use for small runs and tests.
    Bundles,
}

/// The number of valid NHS numbers in the 999 test range (999 000 000x to 999 999 999x, less the
/// prefixes whose check digit would be 10). Larger populations cannot all have one.
pub const TEST_RANGE_NHS_NUMBERS: u64 = 909_091;

/// Bumped whenever what the generator writes for given options changes (revision 2: the annual
/// diabetic foot check), so stored populations, such as the benchmarks', are not reused across it.
pub const GENERATOR_REVISION: u32 = 2;

/// What to do with patients beyond the [`TEST_RANGE_NHS_NUMBERS`]th.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BeyondTestRange {
    /// Generate them without an NHS number (local identifier only, verification status 07 or
    /// 03), and count them in [`Summary::without_nhs_number`]. Region-scale runs (1.6 million
    /// patients) need this: about 43% of such a population has no NHS number.
    #[default]
    WithoutNhsNumber,
    /// Refuse the run with [`GenerateError::NhsNumbersExhausted`].
    Refuse,
}

/// What to generate. The output is a function of these fields alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    pub patients: u64,
    /// GP practices (1 to 99,999); PCNs are formed from every five.
    pub practices: u32,
    pub seed: u64,
    pub format: OutputFormat,
    /// The generation date: "now" for the record (the extract date). Not read from the clock.
    pub today: time::Date,
}

impl GenerateOptions {
    /// Options with NDJSON output and one practice per ~8,000 patients.
    pub fn new(patients: u64, seed: u64, today: time::Date) -> Self {
        Self {
            patients,
            practices: patients.div_ceil(8_000).clamp(1, 99_999) as u32,
            seed,
            format: OutputFormat::Ndjson,
            today,
        }
    }
}

/// How to run, without changing what is generated (except that [`BeyondTestRange::Refuse`] may
/// refuse a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tuning {
    /// Worker threads; 0 means one per available core. The output does not depend on it.
    pub threads: usize,
    pub beyond_test_range: BeyondTestRange,
}

/// What was written, and what the generator intended (for checking the importer and registers).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Patient resources written (including the deceased and those who left).
    pub patients: u64,
    pub organisations: u64,
    /// Alive and registered on `today`: the list size that prevalence is measured against.
    pub registered: u64,
    pub deceased: u64,
    pub left_practice: u64,
    pub without_nhs_number: u64,
    /// Resources written, by FHIR resource type.
    pub resources_by_type: BTreeMap<String, u64>,
    /// People the generator put on each register (alive, registered, of register age, with an
    /// active diagnosis), keyed by [`PrevalenceTarget::register`].
    pub register_counts: BTreeMap<String, u64>,
    /// Registered people in each register's prevalence denominator (its age band).
    pub register_denominators: BTreeMap<String, u64>,
    /// Usable (final or amended) results at or beyond a red-flag threshold, by kind.
    pub red_flag_results: BTreeMap<String, u64>,
    /// Files written, except the per-patient Bundles (counted in `bundle_files`).
    pub files: Vec<PathBuf>,
    pub bundle_files: u64,
    pub bytes_written: u64,
}

impl Summary {
    /// Intended prevalence of a register, percent of its denominator.
    pub fn prevalence_percent(&self, register: &str) -> Option<f64> {
        let count = *self.register_counts.get(register)?;
        let denominator = *self.register_denominators.get(register)?;
        (denominator > 0).then(|| 100.0 * count as f64 / denominator as f64)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error(
        "{requested} patients were asked for, but the NHS number test range (999) has only {capacity} valid numbers"
    )]
    NhsNumbersExhausted { requested: u64, capacity: u64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("a generator thread stopped unexpectedly")]
    WorkerStopped,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io { path: path.to_path_buf(), source }
}

/// Patients per unit of work handed to a thread.
const CHUNK_PATIENTS: u64 = 256;
/// Chunks a thread may have finished but not yet written (bounds memory).
const CHUNKS_IN_FLIGHT: usize = 2;
const WRITE_BUFFER: usize = 1 << 20;

/// Generates the population into `out_dir` (created if missing; existing files of the same names
/// are replaced), on every core, giving patients beyond the test range no NHS number.
pub fn generate(options: &GenerateOptions, out_dir: &Path) -> Result<Summary, GenerateError> {
    generate_with(options, &Tuning::default(), out_dir)
}

/// [`generate`] with explicit [`Tuning`].
pub fn generate_with(options: &GenerateOptions, tuning: &Tuning, out_dir: &Path) -> Result<Summary, GenerateError> {
    generate_range(options, tuning, out_dir, 0..options.patients)
}

/// Writes only the patients whose index in the population `options` describes falls in
/// `patients` (with every organisation). Each patient depends only on the options and their
/// index, so slices written one after another and imported in turn make the same population as
/// one run: a large population can be imported without its whole extract on disk at once.
pub fn generate_range(
    options: &GenerateOptions,
    tuning: &Tuning,
    out_dir: &Path,
    patients: std::ops::Range<u64>,
) -> Result<Summary, GenerateError> {
    if patients.end > options.patients || patients.start > patients.end {
        return Err(GenerateError::InvalidOptions(format!(
            "patients {}..{} are not within the population of {}",
            patients.start, patients.end, options.patients
        )));
    }
    if options.practices == 0 || options.practices > 99_999 {
        return Err(GenerateError::InvalidOptions(format!(
            "practices must be between 1 and 99999, not {}",
            options.practices
        )));
    }
    if !(2010..=2999).contains(&options.today.year()) {
        return Err(GenerateError::InvalidOptions(format!("today must be in 2010 or later, not {}", options.today)));
    }
    let pool = NhsNumberPool::new(options.seed);
    if options.patients > pool.capacity() && tuning.beyond_test_range == BeyondTestRange::Refuse {
        return Err(GenerateError::NhsNumbersExhausted { requested: options.patients, capacity: pool.capacity() });
    }
    let mut seed_bytes = [0u8; 32];
    for (index, chunk) in seed_bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &util::mix64(options.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes(),
        );
    }
    let context = Context {
        seed: options.seed,
        seed_bytes,
        today: util::day_from_date(options.today),
        organisations: Organisations::build(options.seed, options.practices),
        pool,
        prevalence: Prevalence::calibrated(),
    };
    let style = match options.format {
        OutputFormat::Ndjson => Style::Ndjson,
        OutputFormat::Bundles => Style::Bundle,
    };

    fs::create_dir_all(out_dir).map_err(io_error(out_dir))?;
    let mut summary = Summary::default();
    let (organisations_text, organisation_count) =
        fhir::write_organisations(&context.organisations, options.seed, style, context.today);
    let organisations_path = out_dir.join(match style {
        Style::Ndjson => "Organization.ndjson",
        Style::Bundle => "organisations.json",
    });
    fs::write(&organisations_path, &organisations_text).map_err(io_error(&organisations_path))?;
    summary.organisations = organisation_count;
    summary.bytes_written += organisations_text.len() as u64;
    summary.files.push(organisations_path);

    let mut writer = Writer::open(style, out_dir)?;
    summary.files.extend(writer.paths());
    let mut stats = Stats::default();
    let mut counts = [0u64; 6];
    counts[Kind::Organization.index()] = organisation_count;

    let chunk_count = (patients.end - patients.start).div_ceil(CHUNK_PATIENTS);
    let threads = match tuning.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, 64)
    .min(chunk_count.max(1) as usize);

    let result: Result<(), GenerateError> = std::thread::scope(|scope| {
        let mut receivers = Vec::with_capacity(threads);
        for worker in 0..threads {
            let (sender, receiver) = mpsc::sync_channel::<(Sink, Stats)>(CHUNKS_IN_FLIGHT);
            receivers.push(receiver);
            let context = &context;
            let range = patients.clone();
            scope.spawn(move || {
                let mut chunk = worker as u64;
                while chunk < chunk_count {
                    let mut sink = Sink::new(style);
                    let mut chunk_stats = Stats::default();
                    let first = range.start + chunk * CHUNK_PATIENTS;
                    for index in first..(first + CHUNK_PATIENTS).min(range.end) {
                        record::generate_patient(context, index, &mut sink, &mut chunk_stats);
                    }
                    if sender.send((sink, chunk_stats)).is_err() {
                        return;
                    }
                    chunk += threads as u64;
                }
            });
        }
        for chunk in 0..chunk_count {
            let receiver = &receivers[(chunk % threads as u64) as usize];
            let (sink, chunk_stats) = receiver.recv().map_err(|_| GenerateError::WorkerStopped)?;
            stats.merge(&chunk_stats);
            for (total, count) in counts.iter_mut().zip(sink.counts) {
                *total += count;
            }
            summary.bytes_written += writer.write(sink)?;
        }
        Ok(())
    });
    result?;
    writer.finish()?;

    summary.patients = stats.patients;
    summary.registered = stats.registered;
    summary.deceased = stats.deceased;
    summary.left_practice = stats.left_practice;
    summary.without_nhs_number = stats.without_nhs_number;
    summary.bundle_files = if style == Style::Bundle { stats.patients } else { 0 };
    for kind in Kind::ALL {
        summary.resources_by_type.insert(kind.name().to_owned(), counts[kind.index()]);
    }
    for (index, target) in PREVALENCE_TARGETS.iter().enumerate() {
        summary.register_counts.insert(target.register.to_owned(), stats.register_counts[index]);
        summary.register_denominators.insert(target.register.to_owned(), stats.register_denominators[index]);
    }
    for (index, kind) in RED_FLAG_KINDS.iter().enumerate() {
        summary.red_flag_results.insert((*kind).to_owned(), stats.red_flags[index]);
    }
    Ok(summary)
}

/// Where rendered chunks go.
enum Writer {
    Ndjson { files: Vec<(Kind, PathBuf, BufWriter<File>)> },
    Bundles { directory: PathBuf },
}

impl Writer {
    fn open(style: Style, out_dir: &Path) -> Result<Self, GenerateError> {
        match style {
            Style::Ndjson => {
                let mut files = Vec::new();
                for kind in Kind::ALL.into_iter().filter(|kind| *kind != Kind::Organization) {
                    let path = out_dir.join(format!("{}.ndjson", kind.name()));
                    let file = File::create(&path).map_err(io_error(&path))?;
                    files.push((kind, path, BufWriter::with_capacity(WRITE_BUFFER, file)));
                }
                Ok(Self::Ndjson { files })
            }
            Style::Bundle => Ok(Self::Bundles { directory: out_dir.to_path_buf() }),
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        match self {
            Self::Ndjson { files } => files.iter().map(|(_, path, _)| path.clone()).collect(),
            Self::Bundles { .. } => Vec::new(),
        }
    }

    /// Writes a chunk; returns the bytes written.
    fn write(&mut self, sink: Sink) -> Result<u64, GenerateError> {
        let mut bytes = 0;
        match self {
            Self::Ndjson { files } => {
                for (kind, path, file) in files.iter_mut() {
                    let text = &sink.lines[kind.index()];
                    file.write_all(text.as_bytes()).map_err(io_error(path))?;
                    bytes += text.len() as u64;
                }
            }
            Self::Bundles { directory } => {
                for (index, bundle) in &sink.bundles {
                    let path = directory.join(format!("patient-{:06}.json", index + 1));
                    fs::write(&path, bundle).map_err(io_error(&path))?;
                    bytes += bundle.len() as u64;
                }
            }
        }
        Ok(bytes)
    }

    fn finish(self) -> Result<(), GenerateError> {
        if let Self::Ndjson { files } = self {
            for (_, path, mut file) in files {
                file.flush().map_err(io_error(&path))?;
            }
        }
        Ok(())
    }
}
