//! Pure mapping from what an extract says to Concord's domain records: no IO, no clock. Every
//! function takes the resource (or CSV row) and a [`Context`] and returns the records, or a
//! [`Refusal`] saying why the record cannot be imported as it stands.

pub mod codes;
pub mod condition;
pub mod encounter;
pub mod medication;
pub mod observation;
pub mod organisation;
pub mod patient;
pub mod result;
pub mod subject;

use std::collections::HashMap;

use concord_codelists::Catalogue;
use concord_domain::{CodedConcept, NhsNumber, OdsCode};
use concord_fhir::CodeableConcept;
use time::Date;

use crate::SourceKey;

/// Why a record was not imported. `red_flag_concept` is set when it was a result that could raise
/// a red flag, so that it reaches the clinicians' list rather than only the rejects report.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub red_flag_concept: Option<CodedConcept>,
}

impl Refusal {
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), red_flag_concept: None }
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Self::new(reason)
    }
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        Self::new(reason)
    }
}

/// What an organisation reference can resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganisationEntry {
    /// Read, with its ODS code (`None`: an organisation without one, e.g. a US hospital).
    Read(Option<OdsCode>),
    /// Read but rejected, for this reason.
    Rejected(String),
}

/// What the run has learnt so far that later records may refer to.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Organisations by key (`Organization/<id>`).
    pub organisations: HashMap<SourceKey, OrganisationEntry>,
    /// Patients rejected in this run, with the reason, so records about them are rejected too.
    pub rejected_patients: HashMap<SourceKey, String>,
    /// NHS numbers of patients rejected for a reason other than the number itself.
    pub rejected_nhs_numbers: HashMap<NhsNumber, String>,
    /// Medicines defined by Medication resources, by key (`Medication/<id>`).
    pub medications: HashMap<SourceKey, CodeableConcept>,
}

/// The surroundings of one record: the catalogue, the run's index and the enclosing Bundle.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub catalogue: &'a Catalogue,
    /// The clinical system the extract came from.
    pub source_system: &'a str,
    /// The date a medication list is "as at" when a record does not say: the Bundle's timestamp
    /// (or `meta.lastUpdated`), else the extract date the caller gave.
    pub as_at: Date,
    pub index: &'a Index,
    /// `Bundle.entry.fullUrl` to the key of the resource at that entry (empty outside Bundles).
    pub full_urls: &'a HashMap<String, SourceKey>,
}
