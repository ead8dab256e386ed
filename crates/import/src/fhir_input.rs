//! FHIR JSON (Bundles and single resources) and Bulk Data NDJSON.
//!
//! Each resource is looked at twice at most: its `resourceType` and `id` are read first
//! ([`peek_header`]), and only resources Concord uses are then parsed into typed structs. Bundle
//! entries stay raw JSON until then. NDJSON is streamed line by line, so files of any size read
//! in constant memory.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use concord_domain::CodedConcept;
use concord_fhir::json::validate;
use concord_fhir::{
    Bundle, CodeableConcept, JsonError, JsonErrorKind, Reference, ResourceHeader, from_json, peek_header,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use time::Date;

use crate::map::codes::first_observable;
use crate::map::condition::map_condition;
use crate::map::encounter::{map_appointment, map_encounter};
use crate::map::medication::{map_medication_request, map_medication_statement};
use crate::map::observation::{ObservationOutcome, map_observation};
use crate::map::organisation::{map_organisation, ods_code};
use crate::map::patient::map_patient;
use crate::map::subject::{patient_subject, source_key};
use crate::map::{Context, OrganisationEntry, Refusal};
use crate::reader::{Output, PROGRESS_STEP, Reader};
use crate::{Item, Location, SourceKey};

/// Where a resource sits: its Bundle's `fullUrl`s and "as at" date, or none outside a Bundle.
struct Scope<'s> {
    full_urls: &'s HashMap<String, SourceKey>,
    as_at: Date,
}

/// One resource to process.
struct Entry<'t> {
    text: &'t str,
    header: Result<ResourceHeader, JsonError>,
    full_url: Option<&'t str>,
    location: Location,
    /// Already known to be well-formed JSON (Bundle entries are checked with their Bundle).
    validated: bool,
}

/// How to place a JSON error: by line and column in a file of one resource, by column within an
/// NDJSON line, and not at all within a Bundle entry (positions there are relative to the entry).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    None,
    Column,
    LineAndColumn,
}

impl Position {
    fn of(location: &Location) -> Self {
        match (location.line, location.entry) {
            (Some(_), _) => Self::Column,
            (None, Some(_)) => Self::None,
            (None, None) => Self::LineAndColumn,
        }
    }
}

const READ_BUNDLE_TYPES: [&str; 6] = ["collection", "transaction", "batch", "searchset", "document", "message"];

/// A Bulk Data export manifest (`transactionTime` and `output`), which is not a resource.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkManifest {
    transaction_time: Option<IgnoredAny>,
    output: Option<IgnoredAny>,
}

/// The parts of an Observation that still matter when the rest cannot be read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObservationSkeleton {
    code: Option<CodeableConcept>,
    subject: Option<Reference>,
    effective_date_time: Option<Box<RawValue>>,
}

impl ObservationSkeleton {
    fn effective(&self) -> Option<time::OffsetDateTime> {
        let raw = self.effective_date_time.as_ref()?;
        serde_json::from_str::<concord_fhir::FhirDateTime>(raw.get()).ok().map(|moment| moment.earliest_moment())
    }
}

/// Says why JSON could not be read, with its position when the position helps.
fn describe(error: &JsonError, position: Position) -> String {
    match position {
        _ if error.line == 0 => error.to_string(),
        Position::None => error.to_string(),
        Position::Column => format!("{error} (column {})", error.column),
        Position::LineAndColumn => format!("{error} (line {}, column {})", error.line, error.column),
    }
}

impl Reader<'_> {
    pub(crate) fn read_json_bytes(&mut self, bytes: &[u8], file: &Path, out: &mut Output<'_>) {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) if looks_like_ndjson(text) => self.read_ndjson_lines(text.as_bytes(), file, out),
            Ok(text) => self.read_json_text(text, file, out),
            Err(error) => out.reject_file(file, format!("is not UTF-8 text: {error}")),
        }
    }

    pub(crate) fn read_json_text(&mut self, text: &str, file: &Path, out: &mut Output<'_>) {
        let header = match peek_header(text) {
            Ok(header) => header,
            Err(error) => return out.reject_file(file, describe(&error, Position::LineAndColumn)),
        };
        match header.resource_type.as_deref() {
            Some("Bundle") => self.read_bundle(text, file, out),
            Some(_) => {
                let full_urls = HashMap::new();
                let scope = Scope { full_urls: &full_urls, as_at: self.options.extract_date };
                let entry = Entry {
                    text,
                    header: Ok(header),
                    full_url: None,
                    location: Location::file(file),
                    validated: false,
                };
                self.process(entry, &scope, out);
            }
            None => match from_json::<BulkManifest>(text) {
                Ok(BulkManifest { transaction_time: Some(_), output: Some(_) }) => out.skipped("Bulk Data manifest"),
                _ => out.reject_file(file, "has no resourceType: not a FHIR resource".into()),
            },
        }
    }

    fn read_bundle(&mut self, text: &str, file: &Path, out: &mut Output<'_>) {
        let bundle: Bundle<&RawValue> = match from_json(text) {
            Ok(bundle) => bundle,
            Err(error) => {
                return out.reject_file(file, format!("Bundle: {}", describe(&error, Position::LineAndColumn)));
            }
        };
        let bundle_type = bundle.r#type.as_deref().unwrap_or("collection");
        if !READ_BUNDLE_TYPES.contains(&bundle_type) {
            return out.reject_file(
                file,
                format!("Bundle type {bundle_type:?} is not an extract (expected {})", READ_BUNDLE_TYPES.join(", ")),
            );
        }
        let as_at = bundle
            .timestamp
            .or(bundle.meta.as_ref().and_then(|meta| meta.last_updated))
            .map_or(self.options.extract_date, |instant| instant.0.date());

        let mut entries = Vec::with_capacity(bundle.entry.len());
        for (index, entry) in bundle.entry.iter().enumerate() {
            if bundle_type == "searchset" {
                let mode = entry.search.as_ref().and_then(|search| search.mode.as_deref());
                if let Some(mode) = mode.filter(|mode| !matches!(*mode, "match" | "include")) {
                    out.skipped(&format!("Bundle entry (search mode {mode})"));
                    continue;
                }
            }
            let Some(resource) = entry.resource else {
                out.skipped("Bundle entry without a resource");
                continue;
            };
            entries.push(Entry {
                text: resource.get(),
                header: peek_header(resource.get()),
                full_url: entry.full_url.as_deref(),
                location: Location::entry(file, index),
                validated: true,
            });
        }

        let mut full_urls = HashMap::new();
        for entry in &entries {
            if let (Ok(header), Some(full_url)) = (&entry.header, entry.full_url)
                && let Some(kind) = header.resource_type.as_deref()
                && let Some(key) = source_key(kind, header.id.as_deref(), Some(full_url))
            {
                full_urls.insert(full_url.to_owned(), key);
            }
        }
        for entry in &entries {
            let (Ok(header), Some(key)) = (&entry.header, entry_key(entry)) else { continue };
            match header.resource_type.as_deref() {
                Some("Organization") => self.index_organisation(entry.text, key),
                Some("Medication") => self.index_medication(entry.text, key),
                _ => {}
            }
        }

        let scope = Scope { full_urls: &full_urls, as_at };
        let type_of = |entry: &Entry<'_>| entry.header.as_ref().ok().and_then(|header| header.resource_type.clone());
        let (first, rest): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|entry| type_of(entry).as_deref() == Some("Organization"));
        let (patients, rest): (Vec<_>, Vec<_>) =
            rest.into_iter().partition(|entry| type_of(entry).as_deref() == Some("Patient"));
        for entry in first.into_iter().chain(patients).chain(rest) {
            self.process(entry, &scope, out);
        }
    }

    pub(crate) fn read_ndjson_lines(&mut self, mut input: impl BufRead, file: &Path, out: &mut Output<'_>) {
        let full_urls = HashMap::new();
        let scope = Scope { full_urls: &full_urls, as_at: self.options.extract_date };
        let mut line = Vec::new();
        let mut line_number = 0u64;
        let mut consumed = 0u64;
        let mut reported = 0u64;
        loop {
            line.clear();
            match input.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(length) => consumed += length as u64,
                Err(error) => {
                    out.refuse(
                        &Location::line(file, line_number + 1),
                        None,
                        None,
                        format!("cannot be read: {error}"),
                        None,
                    );
                    break;
                }
            }
            line_number += 1;
            let location = Location::line(file, line_number);
            let text = match std::str::from_utf8(&line) {
                Ok(text) => text.trim(),
                Err(error) => {
                    out.refuse(&location, None, None, format!("is not UTF-8 text: {error}"), None);
                    continue;
                }
            };
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            if text.is_empty() {
                continue;
            }
            let entry = Entry { text, header: peek_header(text), full_url: None, location, validated: false };
            self.process(entry, &scope, out);
            if consumed - reported >= PROGRESS_STEP {
                reported = consumed;
                out.progress_within(consumed);
            }
        }
    }

    /// First pass over an NDJSON organisation file: learn each organisation's ODS code.
    pub(crate) fn index_organisation_lines(&mut self, mut input: impl BufRead) {
        let mut line = String::new();
        loop {
            line.clear();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = line.trim();
            if let Ok(header) = peek_header(text)
                && header.resource_type.as_deref() == Some("Organization")
                && let Some(key) = source_key("Organization", header.id.as_deref(), None)
            {
                self.index_organisation(text, key);
            }
        }
    }

    fn index_organisation(&mut self, text: &str, key: SourceKey) {
        let entry = match from_json::<concord_fhir::Organization>(text) {
            Ok(organization) => match ods_code(&organization) {
                Ok(code) => OrganisationEntry::Read(code),
                Err(reason) => OrganisationEntry::Rejected(reason),
            },
            Err(error) => OrganisationEntry::Rejected(error.to_string()),
        };
        self.index.organisations.insert(key, entry);
    }

    fn index_medication(&mut self, text: &str, key: SourceKey) {
        if let Ok(concord_fhir::Medication { code: Some(code), .. }) = from_json(text) {
            self.index.medications.insert(key, code);
        }
    }

    /// Turns one resource into items, a rejection or a skip.
    fn process(&mut self, entry: Entry<'_>, scope: &Scope<'_>, out: &mut Output<'_>) {
        let location = &entry.location;
        let header = match entry.header {
            Ok(header) => header,
            Err(error) => return out.refuse(location, None, None, describe(&error, Position::of(location)), None),
        };
        let Some(resource_type) = header.resource_type else {
            return out.refuse(location, None, None, "has no resourceType: not a FHIR resource".into(), None);
        };
        let key = source_key(&resource_type, header.id.as_deref(), entry.full_url);
        let text = entry.text;
        let refuse = |out: &mut Output<'_>, reason: String| {
            out.refuse(location, Some(&resource_type), key.as_ref(), reason, None)
        };
        if !matches!(
            resource_type.as_str(),
            "Patient"
                | "Organization"
                | "Condition"
                | "Observation"
                | "MedicationStatement"
                | "MedicationRequest"
                | "Encounter"
                | "Appointment"
                | "Medication"
        ) {
            if !entry.validated
                && let Err(error) = validate(text)
            {
                return refuse(out, describe(&error, Position::of(location)));
            }
            return out.skipped(&resource_type);
        }
        let Some(key) = key.clone() else {
            return refuse(out, "has no id (and no fullUrl): it cannot be imported idempotently".into());
        };
        match resource_type.as_str() {
            "Patient" => self.patient(text, key, location, scope, out),
            "Organization" => self.organisation(text, key, location, scope, out),
            "Medication" => {
                if !entry.validated {
                    if let Err(error) = validate(text) {
                        return refuse(out, describe(&error, Position::of(location)));
                    }
                    self.index_medication(text, key);
                }
                out.skipped("Medication");
            }
            "Observation" => self.observation(text, key, location, scope, out),
            other => {
                let context = self.context(scope);
                let position = Position::of(location);
                let key = || key.clone();
                let mapped = match other {
                    "Condition" => parse_then(text, position, |condition| {
                        let (subject, condition) = map_condition(&condition, &context)?;
                        Ok(Item::Condition { key: key(), subject, condition })
                    }),
                    "MedicationStatement" => parse_then(text, position, |statement| {
                        let (subject, medication) = map_medication_statement(&statement, &context)?;
                        Ok(Item::Medication { key: key(), subject, medication })
                    }),
                    "MedicationRequest" => parse_then(text, position, |request| {
                        let (subject, medication) = map_medication_request(&request, &context)?;
                        Ok(Item::Medication { key: key(), subject, medication })
                    }),
                    "Encounter" => parse_then(text, position, |encounter| {
                        let (subject, encounter) = map_encounter(&encounter, &context)?;
                        Ok(Item::Encounter { key: key(), subject, encounter })
                    }),
                    _ => parse_then(text, position, |appointment| {
                        let (subject, encounter) = map_appointment(&appointment, &context)?;
                        Ok(Item::Encounter { key: key(), subject, encounter })
                    }),
                };
                match mapped {
                    Ok(item) => out.item(location, item),
                    Err(refusal) => {
                        out.refuse(location, Some(other), Some(&key()), refusal.reason, refusal.red_flag_concept);
                    }
                }
            }
        }
    }

    fn context<'s>(&'s self, scope: &Scope<'s>) -> Context<'s> {
        Context {
            catalogue: self.catalogue,
            source_system: &self.options.source_system,
            as_at: scope.as_at,
            index: &self.index,
            full_urls: scope.full_urls,
        }
    }

    fn patient(&mut self, text: &str, key: SourceKey, location: &Location, scope: &Scope<'_>, out: &mut Output<'_>) {
        let (result, nhs_number) = match from_json::<concord_fhir::Patient>(text) {
            Ok(resource) => {
                let number = resource
                    .identifier
                    .iter()
                    .find(|identifier| identifier.system.as_deref() == Some(concord_fhir::uri::NHS_NUMBER))
                    .and_then(|identifier| concord_domain::NhsNumber::parse(identifier.value.as_deref()?).ok());
                (map_patient(&resource, &key, &self.context(scope)), number)
            }
            Err(error) => (Err(describe(&error, Position::of(location))), None),
        };
        match result {
            Ok(patient) => out.item(location, Item::Patient { key, patient }),
            Err(reason) => {
                out.refuse(location, Some("Patient"), Some(&key), reason.clone(), None);
                if let Some(number) = nhs_number {
                    self.index.rejected_nhs_numbers.insert(number, reason.clone());
                }
                self.index.rejected_patients.insert(key, reason);
            }
        }
    }

    fn organisation(
        &mut self,
        text: &str,
        key: SourceKey,
        location: &Location,
        scope: &Scope<'_>,
        out: &mut Output<'_>,
    ) {
        let resource = match from_json::<concord_fhir::Organization>(text) {
            Ok(resource) => resource,
            Err(error) => {
                let reason = describe(&error, Position::of(location));
                self.index.organisations.insert(key.clone(), OrganisationEntry::Rejected(reason.clone()));
                return out.refuse(location, Some("Organization"), Some(&key), reason, None);
            }
        };
        if !self.index.organisations.contains_key(&key) {
            self.index_organisation(text, key.clone());
        }
        match map_organisation(&resource, &self.context(scope)) {
            Ok(Ok(organisation)) => out.item(location, Item::Organisation(organisation)),
            Ok(Err(not_kept)) => out.skipped(not_kept.label()),
            Err(reason) => {
                self.index.organisations.insert(key.clone(), OrganisationEntry::Rejected(reason.clone()));
                out.refuse(location, Some("Organization"), Some(&key), reason, None);
            }
        }
    }

    fn observation(
        &mut self,
        text: &str,
        key: SourceKey,
        location: &Location,
        scope: &Scope<'_>,
        out: &mut Output<'_>,
    ) {
        let context = self.context(scope);
        let resource = match from_json::<concord_fhir::Observation>(text) {
            Ok(resource) => resource,
            Err(error) => return self.unparsable_observation(text, key, location, &context, &error, out),
        };
        // A record Concord sent to the GP record, coming back in a GP extract: the same record,
        // not a second copy.
        let key = resource
            .identifier
            .iter()
            .find(|identifier| identifier.system.as_deref() == Some(concord_fhir::uri::CONCORD_RECORD))
            .and_then(|identifier| identifier.value.clone())
            .filter(|value| !value.is_empty())
            .map_or(key, SourceKey);
        match map_observation(&resource, &key, &context) {
            Ok(ObservationOutcome::NotUsed) => out.skipped("Observation (code not used)"),
            Ok(ObservationOutcome::Items(items)) => {
                for item in items {
                    out.item(location, item);
                }
            }
            Err(Refusal { reason, red_flag_concept }) => {
                out.refuse(location, Some("Observation"), Some(&key), reason, red_flag_concept);
            }
        }
    }

    /// An Observation that cannot be parsed: when its code could raise a red flag it is kept as
    /// an unreadable result (or, without a subject, rejected with its concept) so a clinician sees it.
    fn unparsable_observation(
        &self,
        text: &str,
        key: SourceKey,
        location: &Location,
        context: &Context<'_>,
        error: &JsonError,
        out: &mut Output<'_>,
    ) {
        let reason = describe(error, Position::of(location));
        let skeleton =
            if error.kind == JsonErrorKind::Data { from_json::<ObservationSkeleton>(text).ok() } else { None };
        let red_flag: Option<CodedConcept> = skeleton.as_ref().and_then(|skeleton| {
            let (observable, concept) = first_observable(context.catalogue, skeleton.code.as_ref()?)?;
            observable.red_flag_capable.then_some(concept)
        });
        match (red_flag, skeleton) {
            (Some(concept), Some(skeleton)) => match patient_subject(skeleton.subject.as_ref(), context) {
                Ok(subject) => out.item(
                    location,
                    Item::UnreadableResult { key, subject, concept, effective: skeleton.effective(), reason },
                ),
                Err(subject_problem) => out.refuse(
                    location,
                    Some("Observation"),
                    Some(&key),
                    format!("{reason}; {subject_problem}"),
                    Some(concept),
                ),
            },
            _ => out.refuse(location, Some("Observation"), Some(&key), reason, None),
        }
    }
}

/// Parses a resource and maps it; a parse error is a refusal naming the element at fault.
fn parse_then<R: serde::de::DeserializeOwned>(
    text: &str,
    position: Position,
    map: impl FnOnce(R) -> Result<Item, Refusal>,
) -> Result<Item, Refusal> {
    let resource = from_json::<R>(text).map_err(|error| Refusal::new(describe(&error, position)))?;
    map(resource)
}

fn entry_key(entry: &Entry<'_>) -> Option<SourceKey> {
    let header = entry.header.as_ref().ok()?;
    source_key(header.resource_type.as_deref()?, header.id.as_deref(), entry.full_url)
}

/// A `.json` file holding one JSON value per line (NDJSON under another name): a complete JSON
/// value on the first line, and more after it.
fn looks_like_ndjson(text: &str) -> bool {
    let Some((first, rest)) = text.trim_start().split_once('\n') else {
        return false;
    };
    !rest.trim().is_empty() && first.trim_end().ends_with('}') && validate(first.trim()).is_ok()
}
