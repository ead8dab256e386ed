//! Concord's CSV extract format (documented in `docs/import-csv.md`): one file per record type,
//! recognised by its header, one record per row. Each row becomes an item or a rejection naming
//! its line and the column at fault.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use concord_domain::patient::{
    Address, CommunicationNeeds, ContactChannel, ContactDetails, LocalIdentifier, Patient, PersonName, Registration,
    Sex,
};
use concord_domain::record::{
    Clinician, Condition, ConditionStatus, Encounter, EncounterSetting, EncounterStatus, Medication, MedicationStatus,
    ObservationStatus,
};
use concord_domain::{
    Code, CodeSystem, CodedConcept, NhsNumber, NhsNumberVerification, OdsCode, Organisation, OrganisationKind,
};
use concord_fhir::FhirDate;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::map::result::{Interpretation, Reading, ReadingValue, interpret, with_implied_value};
use crate::map::subject::check_not_rejected;
use crate::map::{Context, Refusal};
use crate::reader::{Output, PROGRESS_STEP, Reader};
use crate::{Item, Location, SourceKey, SubjectRef};
use concord_domain::uk_time::uk_offset;

/// The record types a CSV file can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    Organisations,
    Patients,
    Conditions,
    Observations,
    Medications,
    Encounters,
}

struct Layout {
    record_type: RecordType,
    /// Columns that must be in the header (the last identifies the type).
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

const PATIENT_REFERENCE: [&str; 2] = ["nhs_number", "local_patient_id"];

const LAYOUTS: [Layout; 6] = [
    Layout {
        record_type: RecordType::Organisations,
        required: &["ods_code", "name", "kind"],
        optional: &["parent_ods_code"],
    },
    Layout {
        record_type: RecordType::Patients,
        required: &["record_id", "birth_date"],
        optional: &[
            "nhs_number",
            "nhs_number_verification",
            "title",
            "given_name",
            "family_name",
            "sex",
            "address_line_1",
            "address_line_2",
            "address_line_3",
            "city",
            "postcode",
            "death_date",
            "practice_ods_code",
            "registered_from",
            "registered_until",
            "phone",
            "mobile",
            "email",
            "preferred_channel",
            "language",
            "interpreter_needed",
            "communication_needs",
        ],
    },
    Layout {
        record_type: RecordType::Conditions,
        required: &["record_id", "code", "onset_date"],
        optional: &[
            "nhs_number",
            "local_patient_id",
            "code_system",
            "term",
            "status",
            "resolved_date",
            "recorded_date",
        ],
    },
    Layout {
        record_type: RecordType::Observations,
        required: &["record_id", "code", "effective_at"],
        optional: &[
            "nhs_number",
            "local_patient_id",
            "code_system",
            "term",
            "value",
            "unit",
            "value_code_system",
            "value_code",
            "value_term",
            "value_text",
            "status",
        ],
    },
    Layout {
        record_type: RecordType::Medications,
        required: &["record_id", "code", "dosage"],
        optional: &["nhs_number", "local_patient_id", "code_system", "term", "status", "prescribed_on", "as_at"],
    },
    Layout {
        record_type: RecordType::Encounters,
        required: &["record_id", "start_at"],
        optional: &[
            "nhs_number",
            "local_patient_id",
            "setting",
            "clinician",
            "status",
            "type_code_system",
            "type_code",
            "type_term",
            "planned",
            "booked_at",
            "year_of_care_contact",
        ],
    },
];

impl RecordType {
    fn label(self) -> &'static str {
        match self {
            Self::Organisations => "organisations",
            Self::Patients => "patients",
            Self::Conditions => "conditions",
            Self::Observations => "observations",
            Self::Medications => "medications",
            Self::Encounters => "encounters",
        }
    }

    /// The resource type recorded in rejections and keys (`Condition/<record_id>`).
    fn resource_type(self) -> &'static str {
        match self {
            Self::Organisations => "Organization",
            Self::Patients => "Patient",
            Self::Conditions => "Condition",
            Self::Observations => "Observation",
            Self::Medications => "MedicationStatement",
            Self::Encounters => "Encounter",
        }
    }
}

/// Recognises a header: the one record type whose required columns are all present and that
/// knows every column given. Unknown columns are refused, so that a misspelt column is not
/// silently ignored.
pub fn recognise(header: &[String]) -> Result<RecordType, String> {
    let present = |column: &str| header.iter().any(|name| name == column);
    let candidates: Vec<&Layout> =
        LAYOUTS.iter().filter(|layout| layout.required.iter().all(|column| present(column))).collect();
    let Some(layout) = candidates.last() else {
        return Err(
            "header matches no Concord CSV record type (organisations, patients, conditions, observations, medications, encounters): see docs/import-csv.md"
                .into(),
        );
    };
    if candidates.len() > 1 {
        let names: Vec<_> = candidates.iter().map(|layout| layout.record_type.label()).collect();
        return Err(format!("header fits more than one record type ({}): use one file per type", names.join(", ")));
    }
    let known = |column: &str| {
        layout.required.contains(&column)
            || layout.optional.contains(&column)
            || (layout.record_type == RecordType::Patients && column == "local_patient_id")
    };
    let unknown: Vec<&str> = header.iter().map(String::as_str).filter(|column| !known(column)).collect();
    if !unknown.is_empty() {
        return Err(format!("unknown column(s) for a {} file: {}", layout.record_type.label(), unknown.join(", ")));
    }
    if ![RecordType::Organisations, RecordType::Patients].contains(&layout.record_type)
        && !PATIENT_REFERENCE.iter().any(|column| present(column))
    {
        return Err(format!("a {} file needs an nhs_number or local_patient_id column", layout.record_type.label()));
    }
    Ok(layout.record_type)
}

/// One row, with its cells looked up by column name. Empty cells are absent.
pub struct Row<'r> {
    columns: &'r HashMap<String, usize>,
    cells: &'r csv::StringRecord,
}

impl<'r> Row<'r> {
    fn get(&self, column: &str) -> Option<&'r str> {
        let index = *self.columns.get(column)?;
        self.cells.get(index).map(str::trim).filter(|cell| !cell.is_empty())
    }

    fn require(&self, column: &str) -> Result<&'r str, String> {
        self.get(column).ok_or_else(|| format!("{column} is empty"))
    }

    fn date(&self, column: &str) -> Result<Option<Date>, String> {
        self.get(column).map(|text| full_date(column, text)).transpose()
    }

    fn moment(&self, column: &str) -> Result<Option<OffsetDateTime>, String> {
        self.get(column)
            .map(|text| {
                parse_moment(text).ok_or_else(|| {
                    format!("{column}: {text:?} is not a date and time (YYYY-MM-DDThh:mm[:ss], optionally Z or ±hh:mm)")
                })
            })
            .transpose()
    }

    fn flag(&self, column: &str) -> Result<Option<bool>, String> {
        self.get(column)
            .map(|text| match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => Ok(true),
                "false" | "no" | "n" | "0" => Ok(false),
                _ => Err(format!("{column}: {text:?} is not true or false")),
            })
            .transpose()
    }

    fn concept(
        &self,
        system_column: &str,
        code_column: &str,
        term_column: &str,
    ) -> Result<Option<CodedConcept>, String> {
        let Some(code) = self.get(code_column) else {
            return Ok(None);
        };
        let system = self.get(system_column).map_or(CodeSystem::Snomed, CodeSystem::from_uri);
        Ok(Some(CodedConcept {
            code: Code::new(system, code),
            term: self.get(term_column).unwrap_or_default().to_owned(),
        }))
    }

    fn key(&self, record_type: RecordType) -> Result<SourceKey, String> {
        Ok(SourceKey(format!("{}/{}", record_type.resource_type(), self.require("record_id")?)))
    }
}

fn full_date(column: &str, text: &str) -> Result<Date, String> {
    FhirDate::parse(text)
        .ok()
        .and_then(FhirDate::full)
        .ok_or_else(|| format!("{column}: {text:?} is not a date (YYYY-MM-DD)"))
}

/// `YYYY-MM-DD`, or that with a time (`T` or a space, `hh:mm`, optional `:ss` and fraction) and
/// an optional `Z` or `±hh:mm` offset. Without an offset the time is UK local time.
pub fn parse_moment(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let date = FhirDate::parse(text.get(..10)?).ok()?.full()?;
    let rest = text.get(10..)?;
    if rest.is_empty() {
        let local = PrimitiveDateTime::new(date, Time::MIDNIGHT);
        return Some(local.assume_offset(uk_offset(local)));
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let split = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(split);
    let mut parts = clock.split(':');
    let hour: u8 = parts.next()?.parse().ok()?;
    let minute: u8 = parts.next()?.parse().ok()?;
    let (second, nanosecond) = match parts.next() {
        None => (0, 0),
        Some(seconds) => {
            let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
            let fraction: String = fraction.chars().chain(std::iter::repeat('0')).take(9).collect();
            (whole.parse::<u8>().ok()?, fraction.parse::<u32>().ok()?)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    let local = PrimitiveDateTime::new(date, Time::from_hms_nano(hour, minute, second, nanosecond).ok()?);
    let offset = match zone {
        "" => uk_offset(local),
        "Z" | "z" => UtcOffset::UTC,
        _ => {
            let sign: i8 = if zone.starts_with('-') { -1 } else { 1 };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            let hours: i8 = digits[..2].parse().ok()?;
            let minutes: i8 = digits[2..].parse().ok()?;
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
    };
    Some(local.assume_offset(offset))
}

/// The patient a row is about: by NHS number when given, else by local patient id.
fn subject(row: &Row<'_>, context: &Context<'_>) -> Result<SubjectRef, String> {
    let subject = if let Some(number) = row.get("nhs_number") {
        SubjectRef::NhsNumber(NhsNumber::parse(number).map_err(|error| format!("nhs_number {number:?}: {error}"))?)
    } else if let Some(local) = row.get("local_patient_id") {
        SubjectRef::Source(SourceKey(format!("Patient/{local}")))
    } else {
        return Err("no patient: give nhs_number or local_patient_id".into());
    };
    check_not_rejected(subject, context)
}

pub fn map_organisation_row(row: &Row<'_>) -> Result<Organisation, String> {
    let ods_code = OdsCode::parse(row.require("ods_code")?).map_err(|error| format!("ods_code: {error}"))?;
    let kind_text = row.require("kind")?;
    let kind = OrganisationKind::parse(&kind_text.to_ascii_lowercase())
        .ok_or_else(|| format!("kind: {kind_text:?} is not region, pcn, practice or partner"))?;
    let parent = row
        .get("parent_ods_code")
        .map(|code| OdsCode::parse(code).map_err(|error| format!("parent_ods_code: {error}")))
        .transpose()?;
    Ok(Organisation { ods_code, name: row.require("name")?.to_owned(), kind, parent })
}

pub fn map_patient_row(row: &Row<'_>, source_system: &str) -> Result<(SourceKey, Patient), String> {
    let key = row.key(RecordType::Patients)?;
    let record_id = row.require("record_id")?;
    let nhs_number = row
        .get("nhs_number")
        .map(|number| NhsNumber::parse(number).map_err(|error| format!("nhs_number {number:?}: {error}")))
        .transpose()?;
    let nhs_number_verification = row
        .get("nhs_number_verification")
        .map(|code| {
            NhsNumberVerification::from_code(code)
                .ok_or_else(|| format!("nhs_number_verification: {code:?} is not 01 to 08"))
        })
        .transpose()?;
    let sex = match row.get("sex") {
        None => Sex::Unknown,
        Some(text) => Sex::parse(text).ok_or_else(|| format!("sex: {text:?} is not male, female, other or unknown"))?,
    };
    let registration = match row.get("practice_ods_code") {
        None => None,
        Some(code) => Some(Registration {
            practice: OdsCode::parse(code).map_err(|error| format!("practice_ods_code: {error}"))?,
            start: row.date("registered_from")?,
            end: row.date("registered_until")?,
        }),
    };
    let preferred_channel = row
        .get("preferred_channel")
        .map(|text| {
            ContactChannel::parse(text)
                .ok_or_else(|| format!("preferred_channel: {text:?} is not letter, email, sms or phone"))
        })
        .transpose()?;
    let mut local_identifiers =
        vec![LocalIdentifier { system: concord_fhir::uri::CONCORD_LOCAL_PATIENT_ID.into(), value: record_id.into() }];
    local_identifiers.push(LocalIdentifier { system: source_system.to_owned(), value: key.0.clone() });
    let patient = Patient {
        nhs_number,
        nhs_number_verification,
        local_identifiers,
        name: PersonName {
            prefix: row.get("title").map(str::to_owned),
            given: row.get("given_name").unwrap_or_default().to_owned(),
            family: row.get("family_name").unwrap_or_default().to_owned(),
        },
        birth_date: full_date("birth_date", row.require("birth_date")?)?,
        sex,
        address: Address {
            lines: ["address_line_1", "address_line_2", "address_line_3"]
                .iter()
                .filter_map(|column| row.get(column).map(str::to_owned))
                .collect(),
            city: row.get("city").map(str::to_owned),
            postcode: row.get("postcode").map(str::to_owned),
        },
        death_date: row.date("death_date")?,
        registration,
        contact: ContactDetails {
            phone: row.get("phone").map(str::to_owned),
            mobile: row.get("mobile").map(str::to_owned),
            email: row.get("email").map(str::to_owned),
            preferred_channel,
        },
        communication: CommunicationNeeds {
            language: row.get("language").map(str::to_owned),
            interpreter_needed: row.flag("interpreter_needed")?.unwrap_or(false),
            needs: row
                .get("communication_needs")
                .map(|needs| {
                    needs.split(';').map(str::trim).filter(|need| !need.is_empty()).map(str::to_owned).collect()
                })
                .unwrap_or_default(),
        },
    };
    Ok((key, patient))
}

pub fn map_condition_row(row: &Row<'_>) -> Result<Condition, String> {
    let concept = row.concept("code_system", "code", "term")?.ok_or("code is empty")?;
    let resolved = row.date("resolved_date")?;
    let mut status = match row.get("status") {
        None => ConditionStatus::Active,
        Some(text) => ConditionStatus::parse(&text.to_ascii_lowercase())
            .ok_or_else(|| format!("status: {text:?} is not active, resolved or entered-in-error"))?,
    };
    if status == ConditionStatus::Active && resolved.is_some() {
        status = ConditionStatus::Resolved;
    }
    let onset = row
        .get("onset_date")
        .map(|text| {
            FhirDate::parse(text)
                .map(FhirDate::earliest)
                .map_err(|_| format!("onset_date: {text:?} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)"))
        })
        .transpose()?;
    Ok(Condition { concept, onset, resolved, status, recorded: row.date("recorded_date")? })
}

pub fn map_medication_row(row: &Row<'_>, extract_date: Date) -> Result<Medication, String> {
    let concept = row.concept("code_system", "code", "term")?.ok_or("code is empty")?;
    let status = match row.get("status") {
        None => MedicationStatus::Unknown,
        Some(text) => MedicationStatus::parse(&text.to_ascii_lowercase())
            .ok_or_else(|| format!("status: {text:?} is not active, stopped or unknown"))?,
    };
    Ok(Medication {
        concept,
        dosage: row.get("dosage").map(str::to_owned),
        status,
        authored: row.date("prescribed_on")?,
        as_at: row.date("as_at")?.unwrap_or(extract_date),
    })
}

pub fn map_encounter_row(row: &Row<'_>, extract_date: Date) -> Result<Encounter, String> {
    let start = row.moment("start_at")?.ok_or("start_at is empty")?;
    let setting = match row.get("setting") {
        None => EncounterSetting::Surgery,
        Some(text) => EncounterSetting::parse(&text.to_ascii_lowercase())
            .ok_or_else(|| format!("setting: {text:?} is not a Concord setting (see docs/import-csv.md)"))?,
    };
    let clinician = match row.get("clinician") {
        None => Clinician::Unknown,
        Some(text) => Clinician::parse(text)
            .ok_or_else(|| format!("clinician: {text:?} is not gp, nurse, hca, pharmacist, other or unknown"))?,
    };
    let status = match row.get("status") {
        None if start.date() > extract_date => EncounterStatus::Booked,
        None => EncounterStatus::Attended,
        Some(text) => EncounterStatus::parse(&text.to_ascii_lowercase())
            .ok_or_else(|| format!("status: {text:?} is not attended, did-not-attend, cancelled or booked"))?,
    };
    Ok(Encounter {
        start,
        setting,
        clinician,
        status,
        kind: row.concept("type_code_system", "type_code", "type_term")?,
        planned: row.flag("planned")?,
        booked_at: row.moment("booked_at")?,
        year_of_care_contact: row.flag("year_of_care_contact")?.unwrap_or(false),
    })
}

/// A result row: `Ok(None)` when its code records no observable Concord uses.
pub fn map_observation_row(
    row: &Row<'_>,
    subject: Result<SubjectRef, String>,
    key: SourceKey,
    context: &Context<'_>,
) -> Result<Option<Item>, Refusal> {
    let concept = row.concept("code_system", "code", "term")?.ok_or("code is empty")?;
    let Some(observable) = context.catalogue.observable_for(&concept.code) else {
        return Ok(None);
    };
    let red_flag_concept = observable.red_flag_capable.then(|| concept.clone());
    let refuse = |reason: String| Refusal { reason, red_flag_concept: red_flag_concept.clone() };
    let subject = subject.map_err(refuse)?;
    let status = match row.get("status") {
        None => ObservationStatus::Final,
        Some(text) => ObservationStatus::parse(&text.to_ascii_lowercase())
            .ok_or_else(|| refuse(format!("status: {text:?} is not an Observation status")))?,
    };
    let given: Vec<&str> =
        ["value", "value_code", "value_text"].into_iter().filter(|column| row.get(column).is_some()).collect();
    if given.len() > 1 {
        return Err(refuse(format!("give one of value, value_code or value_text, not {}", given.join(" and "))));
    }
    let value = if let Some(text) = row.get("value") {
        let (comparator, number) = split_comparator(text);
        ReadingValue::Quantity {
            value: number.to_owned(),
            comparator: comparator.map(str::to_owned),
            units: row.get("unit").into_iter().map(str::to_owned).collect(),
        }
    } else if let Some(coded) = row.concept("value_code_system", "value_code", "value_term").map_err(refuse)? {
        ReadingValue::Coded(coded)
    } else if let Some(text) = row.get("value_text") {
        ReadingValue::Text(text.to_owned())
    } else {
        with_implied_value(ReadingValue::Absent(None), context.catalogue, observable, &concept)
    };
    let effective = match row.moment("effective_at") {
        Ok(effective) => effective,
        Err(reason) if observable.red_flag_capable && status.is_usable() => {
            return Ok(Some(Item::UnreadableResult { key, subject, concept, effective: None, reason }));
        }
        Err(reason) => return Err(refuse(reason)),
    };
    match interpret(observable, concept, Reading { value, effective, status }, context.source_system) {
        Interpretation::Observation(observation) => Ok(Some(Item::Observation { key, subject, observation })),
        Interpretation::Unreadable { concept, effective, reason } => {
            Ok(Some(Item::UnreadableResult { key, subject, concept, effective, reason }))
        }
        Interpretation::Refused(reason) => Err(refuse(reason)),
    }
}

/// A record and its subject as an item: the record's own problems are reported first.
fn with_subject<T>(
    record: Result<T, String>,
    subject: Result<SubjectRef, String>,
    make: impl FnOnce(SubjectRef, T) -> Item,
) -> Result<Option<Item>, Refusal> {
    let record = record?;
    Ok(Some(make(subject?, record)))
}

fn split_comparator(text: &str) -> (Option<&str>, &str) {
    for comparator in ["<=", ">=", "<", ">"] {
        if let Some(rest) = text.strip_prefix(comparator) {
            return (Some(comparator), rest.trim());
        }
    }
    (None, text)
}

impl Reader<'_> {
    pub(crate) fn read_csv_rows(&mut self, input: impl Read, file: &Path, out: &mut Output<'_>) {
        let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input);
        let header: Vec<String> = match csv.headers() {
            Ok(header) => header
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    let name = if index == 0 { name.trim_start_matches('\u{feff}') } else { name };
                    name.trim().to_ascii_lowercase()
                })
                .collect(),
            Err(error) => return out.reject_file(file, format!("CSV header cannot be read: {error}")),
        };
        let record_type = match recognise(&header) {
            Ok(record_type) => record_type,
            Err(reason) => return out.reject_file(file, reason),
        };
        let columns: HashMap<String, usize> =
            header.iter().enumerate().map(|(index, name)| (name.clone(), index)).collect();
        let resource_type = record_type.resource_type();
        let mut cells = csv::StringRecord::new();
        let mut reported = 0u64;
        loop {
            let line = csv.position().line() + 1;
            match csv.read_record(&mut cells) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => {
                    let line = error.position().map_or(line, |position| position.line());
                    let fatal = matches!(error.kind(), csv::ErrorKind::Io(_));
                    out.refuse(
                        &Location::line(file, line),
                        Some(resource_type),
                        None,
                        format!("CSV row cannot be read: {error}"),
                        None,
                    );
                    if fatal {
                        break;
                    }
                    continue;
                }
            }
            let line = cells.position().map_or(line, |position| position.line());
            let row = Row { columns: &columns, cells: &cells };
            self.csv_row(record_type, &row, &Location::line(file, line), out);
            let consumed = csv.position().byte();
            if consumed - reported >= PROGRESS_STEP {
                reported = consumed;
                out.progress_within(consumed);
            }
        }
    }

    fn csv_row(&mut self, record_type: RecordType, row: &Row<'_>, location: &Location, out: &mut Output<'_>) {
        let resource_type = record_type.resource_type();
        let key = row.key(record_type).ok();
        let refuse = |out: &mut Output<'_>, refusal: Refusal| {
            out.refuse(location, Some(resource_type), key.as_ref(), refusal.reason, refusal.red_flag_concept);
        };
        if record_type == RecordType::Organisations {
            return match map_organisation_row(row) {
                Ok(organisation) => out.item(location, Item::Organisation(organisation)),
                Err(reason) => refuse(out, reason.into()),
            };
        }
        let Some(key) = key.clone() else {
            return refuse(out, "record_id is empty".into());
        };
        if record_type == RecordType::Patients {
            return match map_patient_row(row, &self.options.source_system) {
                Ok((key, patient)) => out.item(location, Item::Patient { key, patient }),
                Err(reason) => {
                    refuse(out, reason.clone().into());
                    if let Some(number) = row.get("nhs_number").and_then(|number| NhsNumber::parse(number).ok()) {
                        self.index.rejected_nhs_numbers.insert(number, reason.clone());
                    }
                    self.index.rejected_patients.insert(key, reason);
                }
            };
        }
        let full_urls = HashMap::new();
        let context = Context {
            catalogue: self.catalogue,
            source_system: &self.options.source_system,
            as_at: self.options.extract_date,
            index: &self.index,
            full_urls: &full_urls,
        };
        let subject = subject(row, &context);
        let extract_date = self.options.extract_date;
        let outcome: Result<Option<Item>, Refusal> =
            match record_type {
                RecordType::Observations => map_observation_row(row, subject, key, &context),
                RecordType::Conditions => with_subject(map_condition_row(row), subject, |subject, condition| {
                    Item::Condition { key, subject, condition }
                }),
                RecordType::Medications => {
                    with_subject(map_medication_row(row, extract_date), subject, |subject, medication| {
                        Item::Medication { key, subject, medication }
                    })
                }
                RecordType::Encounters | RecordType::Organisations | RecordType::Patients => {
                    with_subject(map_encounter_row(row, extract_date), subject, |subject, encounter| Item::Encounter {
                        key,
                        subject,
                        encounter,
                    })
                }
            };
        match outcome {
            Ok(Some(item)) => out.item(location, item),
            Ok(None) => out.skipped("Observation (code not used)"),
            Err(refusal) => refuse(out, refusal),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn header(columns: &str) -> Vec<String> {
        columns.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn headers_decide_the_record_type() {
        assert_eq!(recognise(&header("record_id,nhs_number,birth_date,sex")), Ok(RecordType::Patients));
        assert_eq!(recognise(&header("record_id,local_patient_id,code,onset_date")), Ok(RecordType::Conditions));
        assert_eq!(
            recognise(&header("record_id,nhs_number,code,effective_at,value,unit")),
            Ok(RecordType::Observations)
        );
        assert_eq!(recognise(&header("record_id,nhs_number,code,dosage")), Ok(RecordType::Medications));
        assert_eq!(recognise(&header("record_id,nhs_number,start_at")), Ok(RecordType::Encounters));
        assert_eq!(recognise(&header("ods_code,name,kind")), Ok(RecordType::Organisations));
        assert!(recognise(&header("record_id,nhs_number,code,effective_at,valu")).unwrap_err().contains("valu"));
        assert!(
            recognise(&header("record_id,code,effective_at")).unwrap_err().contains("nhs_number or local_patient_id")
        );
        assert!(recognise(&header("a,b")).unwrap_err().starts_with("header matches no"));
    }

    #[test]
    fn times_without_an_offset_are_uk_local() {
        assert_eq!(parse_moment("2026-07-01T09:30"), Some(datetime!(2026-07-01 08:30 UTC)));
        assert_eq!(parse_moment("2026-01-01 09:30:15"), Some(datetime!(2026-01-01 09:30:15 UTC)));
        assert_eq!(parse_moment("2026-07-01T09:30:00Z"), Some(datetime!(2026-07-01 09:30 UTC)));
        assert_eq!(parse_moment("2026-07-01T09:30:00+02:00"), Some(datetime!(2026-07-01 07:30 UTC)));
        assert_eq!(parse_moment("2026-07-01"), Some(datetime!(2026-06-30 23:00 UTC)));
        for bad in ["2026-07-01T9", "2026-07-01T25:00", "2026-02-30", "01/07/2026", "2026-07-01T09:30:00+2", "é"] {
            assert_eq!(parse_moment(bad), None, "{bad}");
        }
    }

    #[test]
    fn comparators_are_split_from_the_value() {
        assert_eq!(split_comparator(">90"), (Some(">"), "90"));
        assert_eq!(split_comparator("<= 0.5"), (Some("<="), "0.5"));
        assert_eq!(split_comparator("5.0"), (None, "5.0"));
    }
}
