//! What a sink receives from each fixture extract: exact items, rejections and skips, in order,
//! with their locations.

mod common;

use common::*;
use concord_domain::patient::{
    Address, CommunicationNeeds, ContactChannel, ContactDetails, LocalIdentifier, Patient, PersonName, Registration,
    Sex,
};
use concord_domain::record::{
    Clinician, Condition, ConditionStatus, Encounter, EncounterSetting, EncounterStatus, Medication, MedicationStatus,
    Observation, ObservationStatus, ObservationValue, Quantity, ResultSource,
};
use concord_domain::units::Ucum;
use concord_domain::{
    Code, CodeSystem, CodedConcept, NhsNumber, NhsNumberVerification, OdsCode, Organisation, OrganisationKind,
};
use concord_import::{ImportError, Item, Location, ReadSummary, Rejection, SourceKey, SubjectRef, read_paths};
use time::OffsetDateTime;
use time::macros::{date, datetime};

fn at_entry(file: &str, entry: usize) -> Location {
    Location::entry(&fixture(file), entry)
}

fn at_line(file: &str, line: u64) -> Location {
    Location::line(&fixture(file), line)
}

fn key(text: &str) -> SourceKey {
    SourceKey(text.into())
}

fn patient_key(text: &str) -> SubjectRef {
    SubjectRef::Source(key(text))
}

fn nhs(number: &str) -> SubjectRef {
    SubjectRef::NhsNumber(NhsNumber::parse(number).unwrap())
}

fn ods(code: &str) -> OdsCode {
    OdsCode::parse(code).unwrap()
}

fn concept(code: Code, term: &str) -> CodedConcept {
    CodedConcept { code, term: term.into() }
}

fn quantity(text: &str, value: f64, unit: &str) -> ObservationValue {
    ObservationValue::Quantity(Quantity { value_text: text.into(), value, unit: Ucum::new(unit) })
}

fn result(concept: CodedConcept, observable: &str, value: ObservationValue, effective: OffsetDateTime) -> Observation {
    Observation {
        concept,
        observable: Some(observable.into()),
        value,
        effective,
        status: ObservationStatus::Final,
        source: ResultSource::Imported("test-gp-system".into()),
    }
}

fn rejected(location: Location, resource_type: Option<&str>, source_key: Option<&str>, reason: &str) -> Event {
    Event::Rejected(Rejection {
        location,
        resource_type: resource_type.map(str::to_owned),
        source_key: source_key.map(key),
        reason: reason.into(),
        red_flag_concept: None,
    })
}

fn red_flag(event: Event, concept: CodedConcept) -> Event {
    match event {
        Event::Rejected(rejection) => Event::Rejected(Rejection { red_flag_concept: Some(concept), ..rejection }),
        other => other,
    }
}

fn skipped(label: &str) -> Event {
    Event::Skipped(label.into())
}

fn local(system: &str, value: &str) -> LocalIdentifier {
    LocalIdentifier { system: system.into(), value: value.into() }
}

fn potassium() -> CodedConcept {
    concept(Code::loinc("2823-3"), "Potassium")
}

const CHECK_DIGIT: &str = "the check digit does not match: this is not a valid NHS number";

#[test]
fn a_uk_core_extract_delivers_organisations_then_patients_then_records() {
    const FILE: &str = "uk-core/gp-extract.json";
    let (sink, summary) = read(&[FILE]);
    let pat = || patient_key("Patient/pat-1");
    let expected = vec![
        Event::Item(
            at_entry(FILE, 2),
            Item::Organisation(Organisation {
                ods_code: ods("F83004"),
                name: "Mill Lane Surgery".into(),
                kind: OrganisationKind::Practice,
                parent: Some(ods("U12345")),
            }),
        ),
        Event::Item(
            at_entry(FILE, 1),
            Item::Patient {
                key: key("Patient/pat-1"),
                patient: Patient {
                    nhs_number: Some(NhsNumber::parse("9434765919").unwrap()),
                    nhs_number_verification: Some(NhsNumberVerification::PresentAndVerified),
                    local_identifiers: vec![
                        local("urn:concord:local-patient-id", "E1001"),
                        local("test-gp-system", "Patient/pat-1"),
                    ],
                    name: PersonName { prefix: Some("Mrs".into()), given: "Amina".into(), family: "Begum".into() },
                    birth_date: date!(1956 - 02 - 29),
                    sex: Sex::Female,
                    address: Address {
                        lines: vec!["12 Mill Lane".into()],
                        city: Some("Leeds".into()),
                        postcode: Some("LS6 1AA".into()),
                    },
                    death_date: None,
                    registration: Some(Registration {
                        practice: ods("F83004"),
                        start: Some(date!(2001 - 04 - 01)),
                        end: None,
                    }),
                    contact: ContactDetails {
                        phone: Some("0113 496 0000".into()),
                        mobile: Some("07700 900123".into()),
                        email: None,
                        preferred_channel: Some(ContactChannel::Sms),
                    },
                    communication: CommunicationNeeds {
                        language: Some("Bengali".into()),
                        interpreter_needed: true,
                        needs: vec![],
                    },
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 0),
            Item::Condition {
                key: key("Condition/cond-1"),
                subject: pat(),
                condition: Condition {
                    concept: concept(Code::snomed("44054006"), "Type 2 diabetes mellitus"),
                    onset: Some(date!(2015 - 03 - 02)),
                    resolved: None,
                    status: ConditionStatus::Active,
                    recorded: Some(date!(2015 - 03 - 03)),
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 3),
            Item::Observation {
                key: key("Observation/obs-hba1c"),
                subject: pat(),
                observation: result(
                    concept(Code::snomed("999791000000106"), "Haemoglobin A1c level - IFCC standardised"),
                    "hba1c",
                    quantity("53.0", 53.0, "mmol/mol"),
                    datetime!(2026-10-01 08:30 UTC),
                ),
            },
        ),
        Event::Item(
            at_entry(FILE, 4),
            Item::Observation {
                key: key("Observation/obs-smoking"),
                subject: pat(),
                observation: result(
                    concept(Code::snomed("8517006"), "Ex-smoker"),
                    "smoking_status",
                    ObservationValue::None,
                    datetime!(2026-10-01 00:00 UTC),
                ),
            },
        ),
        Event::Item(
            at_entry(FILE, 5),
            Item::Medication {
                key: key("MedicationStatement/med-1"),
                subject: pat(),
                medication: Medication {
                    concept: concept(Code::new(CodeSystem::Dmd, "39113611000001102"), "Metformin 500mg tablets"),
                    dosage: Some("One tablet twice a day with food".into()),
                    status: MedicationStatus::Active,
                    authored: Some(date!(2019 - 05 - 01)),
                    // No dateAsserted: as at the Bundle's timestamp.
                    as_at: date!(2026 - 11 - 20),
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 6),
            Item::Encounter {
                key: key("Encounter/enc-1"),
                subject: pat(),
                encounter: Encounter {
                    start: datetime!(2026-10-01 08:20 UTC),
                    setting: EncounterSetting::Surgery,
                    clinician: Clinician::Nurse,
                    status: EncounterStatus::Attended,
                    kind: Some(concept(Code::snomed("185349003"), "Encounter for check up")),
                    planned: Some(true),
                    booked_at: Some(datetime!(2026-09-20 10:00 UTC)),
                    year_of_care_contact: false,
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 7),
            Item::Encounter {
                key: key("Appointment/appt-1"),
                subject: pat(),
                encounter: Encounter {
                    start: datetime!(2026-12-03 10:00 UTC),
                    setting: EncounterSetting::Telephone,
                    clinician: Clinician::Gp,
                    status: EncounterStatus::Booked,
                    kind: Some(concept(Code::snomed("394703002"), "COPD annual review")),
                    planned: None,
                    booked_at: Some(datetime!(2026-11-18 15:04 UTC)),
                    year_of_care_contact: false,
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 8),
            Item::Observation {
                key: key("Observation/obs-potassium"),
                subject: nhs("9434765919"),
                observation: result(
                    concept(Code::loinc("2823-3"), "Potassium [Moles/volume] in Serum or Plasma"),
                    "potassium",
                    quantity("4.20", 4.2, "mmol/L"),
                    datetime!(2026-10-01 08:30 UTC),
                ),
            },
        ),
    ];
    assert_eq!(sink.events, expected);
    assert_eq!(summary, ReadSummary { files: 1, bytes: summary.bytes, items: 9, rejected: 0, skipped: 0 });
    assert_eq!(sink.progress.last(), Some(&summary.bytes));
}

#[test]
fn a_synthea_bundle_is_read_through_urn_uuid_references() {
    const FILE: &str = "synthea/Jane_Doe_1961.json";
    let (sink, _) = read(&[FILE]);
    let jane = || patient_key("Patient/2f1a4c9e-1b7d-4e55-9a7f-0c1d2e3f4a5b");
    let taken = datetime!(2019-05-14 14:03:12 UTC);
    let bp = "Observation/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
    let expected = vec![
        Event::Item(
            at_entry(FILE, 0),
            Item::Patient {
                key: key("Patient/2f1a4c9e-1b7d-4e55-9a7f-0c1d2e3f4a5b"),
                patient: Patient {
                    nhs_number: None,
                    nhs_number_verification: None,
                    local_identifiers: vec![
                        local("https://github.com/synthetichealth/synthea", "2f1a4c9e-1b7d-4e55-9a7f-0c1d2e3f4a5b"),
                        local("http://hospital.smarthealthit.org", "2f1a4c9e-1b7d-4e55-9a7f-0c1d2e3f4a5b"),
                        local("http://hl7.org/fhir/sid/us-ssn", "999-41-7623"),
                        local("test-gp-system", "Patient/2f1a4c9e-1b7d-4e55-9a7f-0c1d2e3f4a5b"),
                    ],
                    name: PersonName { prefix: Some("Mrs.".into()), given: "Jane123".into(), family: "Doe456".into() },
                    birth_date: date!(1961 - 02 - 03),
                    sex: Sex::Female,
                    address: Address {
                        lines: vec!["123 Example Street Unit 4".into()],
                        city: Some("Boston".into()),
                        postcode: Some("02115".into()),
                    },
                    death_date: None,
                    registration: None,
                    contact: ContactDetails { phone: Some("555-123-4567".into()), ..ContactDetails::default() },
                    communication: CommunicationNeeds::default(),
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 1),
            Item::Encounter {
                key: key("Encounter/7c0e8f3a-5d2b-4a61-8f9e-1a2b3c4d5e6f"),
                subject: jane(),
                encounter: Encounter {
                    start: taken,
                    setting: EncounterSetting::Surgery,
                    clinician: Clinician::Unknown,
                    status: EncounterStatus::Attended,
                    kind: Some(concept(Code::snomed("162673000"), "General examination of patient (procedure)")),
                    planned: None,
                    booked_at: None,
                    year_of_care_contact: false,
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 2),
            Item::Condition {
                key: key("Condition/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
                subject: jane(),
                condition: Condition {
                    concept: concept(Code::snomed("44054006"), "Diabetes mellitus type 2 (disorder)"),
                    onset: Some(date!(2019 - 05 - 14)),
                    resolved: None,
                    status: ConditionStatus::Active,
                    recorded: Some(date!(2019 - 05 - 14)),
                },
            },
        ),
        Event::Item(
            at_entry(FILE, 3),
            Item::Observation {
                key: key(&format!("{bp}#diastolic")),
                subject: jane(),
                observation: result(
                    concept(Code::loinc("8462-4"), "Diastolic Blood Pressure"),
                    "diastolic_bp",
                    quantity("82", 82.0, "mm[Hg]"),
                    taken,
                ),
            },
        ),
        Event::Item(
            at_entry(FILE, 3),
            Item::Observation {
                key: key(&format!("{bp}#systolic")),
                subject: jane(),
                observation: result(
                    concept(Code::loinc("8480-6"), "Systolic Blood Pressure"),
                    "systolic_bp",
                    quantity("134", 134.0, "mm[Hg]"),
                    taken,
                ),
            },
        ),
        Event::Item(
            at_entry(FILE, 4),
            Item::Observation {
                key: key("Observation/2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"),
                subject: jane(),
                // 7.0 % (DCCT) is 53 mmol/mol (IFCC), written with hba1c's 0 decimals.
                observation: result(
                    concept(Code::loinc("4548-4"), "Hemoglobin A1c/Hemoglobin.total in Blood"),
                    "hba1c",
                    quantity("53", 53.0, "mmol/mol"),
                    taken,
                ),
            },
        ),
        skipped("Observation (code not used)"),
        Event::Item(
            at_entry(FILE, 6),
            Item::Medication {
                key: key("MedicationRequest/4e5f6a7b-8c9d-4e0f-9a2b-3c4d5e6f7a8b"),
                subject: jane(),
                medication: Medication {
                    concept: concept(
                        Code::new(CodeSystem::RxNorm, "860975"),
                        "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
                    ),
                    dosage: Some("Take 1 tablet daily".into()),
                    status: MedicationStatus::Active,
                    authored: Some(date!(2019 - 05 - 14)),
                    // Neither dateAsserted nor a Bundle timestamp: the caller's extract date.
                    as_at: date!(2026 - 11 - 23),
                },
            },
        ),
        skipped("Claim"),
        skipped("ExplanationOfBenefit"),
        skipped("Immunization"),
        skipped("Provenance"),
    ];
    assert_eq!(sink.events, expected);
}

#[test]
fn bulk_data_ndjson_is_located_by_line_and_rejected_patients_reject_their_records() {
    const ORGANISATIONS: &str = "ndjson/Organization.ndjson";
    const PATIENTS: &str = "ndjson/Patient.ndjson";
    const OBSERVATIONS: &str = "ndjson/Observation.ndjson";
    // Named in the wrong order: organisation and patient files are still read first.
    let (sink, summary) = read(&[OBSERVATIONS, PATIENTS, ORGANISATIONS]);
    let bad_number = format!("NHS number \"9990000019\": {CHECK_DIGIT}");
    let expected = vec![
        // The practice names its PCN before the PCN's line: organisation files are indexed first.
        Event::Item(
            at_line(ORGANISATIONS, 1),
            Item::Organisation(Organisation {
                ods_code: ods("F83004"),
                name: "Mill Lane Surgery".into(),
                kind: OrganisationKind::Practice,
                parent: Some(ods("U12345")),
            }),
        ),
        Event::Item(
            at_line(ORGANISATIONS, 2),
            Item::Organisation(Organisation {
                ods_code: ods("U12345"),
                name: "Riverside PCN".into(),
                kind: OrganisationKind::Pcn,
                parent: None,
            }),
        ),
        skipped("Organization (no ODS code)"),
        Event::Item(
            at_line(PATIENTS, 1),
            Item::Patient {
                key: key("Patient/pat-a"),
                patient: Patient {
                    nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
                    nhs_number_verification: None,
                    local_identifiers: vec![local("test-gp-system", "Patient/pat-a")],
                    name: PersonName { prefix: None, given: "Rhys".into(), family: "Evans".into() },
                    birth_date: date!(1944 - 11 - 05),
                    sex: Sex::Male,
                    address: Address::default(),
                    death_date: None,
                    registration: Some(Registration { practice: ods("F83004"), start: None, end: None }),
                    contact: ContactDetails::default(),
                    communication: CommunicationNeeds::default(),
                },
            },
        ),
        rejected(at_line(PATIENTS, 3), Some("Patient"), Some("Patient/pat-b"), &bad_number),
        rejected(
            at_line(PATIENTS, 4),
            Some("Patient"),
            Some("Patient/pat-c"),
            "birthDate is missing: a patient's date of birth is required",
        ),
        Event::Item(
            at_line(PATIENTS, 5),
            Item::Patient {
                key: key("Patient/pat-d"),
                patient: Patient {
                    nhs_number: None,
                    nhs_number_verification: Some(NhsNumberVerification::NotPresentTraceNotRequired),
                    local_identifiers: vec![
                        local("urn:concord:local-patient-id", "L-77"),
                        local("test-gp-system", "Patient/pat-d"),
                    ],
                    name: PersonName { prefix: None, given: "Ewa".into(), family: "Nowak".into() },
                    birth_date: date!(1990 - 07 - 14),
                    sex: Sex::Female,
                    address: Address::default(),
                    death_date: None,
                    registration: None,
                    contact: ContactDetails::default(),
                    communication: CommunicationNeeds::default(),
                },
            },
        ),
        Event::Item(
            at_line(OBSERVATIONS, 1),
            Item::Observation {
                key: key("Observation/k-1"),
                subject: patient_key("Patient/pat-a"),
                observation: result(
                    potassium(),
                    "potassium",
                    quantity("4.8", 4.8, "mmol/L"),
                    datetime!(2026-09-01 08:45 UTC),
                ),
            },
        ),
        rejected(
            at_line(OBSERVATIONS, 2),
            Some("Observation"),
            Some("Observation/bmi-1"),
            &format!("subject Patient/pat-b was rejected: {bad_number}"),
        ),
        red_flag(
            rejected(
                at_line(OBSERVATIONS, 3),
                Some("Observation"),
                Some("Observation/k-2"),
                &format!("subject Patient/pat-b was rejected: {bad_number}"),
            ),
            potassium(),
        ),
        rejected(at_line(OBSERVATIONS, 4), None, None, "not valid JSON: expected value (column 1)"),
        rejected(
            at_line(OBSERVATIONS, 5),
            Some("Observation"),
            Some("Observation/k-3"),
            "truncated JSON: EOF while parsing a string (column 151)",
        ),
    ];
    assert_eq!(sink.events, expected);
    assert_eq!(summary.files, 3);
    assert_eq!((summary.items, summary.rejected, summary.skipped), (5, 6, 1));
}

#[test]
fn concord_csv_files_are_recognised_by_header() {
    let (sink, summary) = read(&["csv"]);
    let csv = |name: &str, line: u64| at_line(&format!("csv/{name}.csv"), line);
    let john = || patient_key("Patient/P001");
    let at_nine_thirty = datetime!(2026-07-01 08:30 UTC);
    let organisation = |code: &str, name: &str, kind, parent: Option<&str>| {
        Item::Organisation(Organisation { ods_code: ods(code), name: name.into(), kind, parent: parent.map(ods) })
    };
    let bad_birth_date = "birth_date: \"1975-13-01\" is not a date (YYYY-MM-DD)";
    let expected = vec![
        Event::Item(csv("organisations", 2), organisation("Y99", "North Region", OrganisationKind::Region, None)),
        Event::Item(
            csv("organisations", 3),
            organisation("U12345", "Riverside PCN", OrganisationKind::Pcn, Some("Y99")),
        ),
        Event::Item(
            csv("organisations", 4),
            organisation("F83004", "Mill Lane Surgery", OrganisationKind::Practice, Some("U12345")),
        ),
        Event::Item(
            csv("patients", 2),
            Item::Patient {
                key: key("Patient/P001"),
                patient: Patient {
                    nhs_number: Some(NhsNumber::parse("9912003888").unwrap()),
                    nhs_number_verification: Some(NhsNumberVerification::PresentAndVerified),
                    local_identifiers: vec![
                        local("urn:concord:local-patient-id", "P001"),
                        local("test-gp-system", "Patient/P001"),
                    ],
                    name: PersonName { prefix: Some("Mr".into()), given: "John".into(), family: "Smith".into() },
                    birth_date: date!(1948 - 03 - 12),
                    sex: Sex::Male,
                    address: Address {
                        lines: vec!["2 Mill Lane".into()],
                        city: Some("Leeds".into()),
                        postcode: Some("LS2 2BB".into()),
                    },
                    death_date: None,
                    registration: Some(Registration {
                        practice: ods("F83004"),
                        start: Some(date!(1999 - 01 - 01)),
                        end: None,
                    }),
                    contact: ContactDetails {
                        phone: None,
                        mobile: Some("07700 900001".into()),
                        email: None,
                        preferred_channel: Some(ContactChannel::Sms),
                    },
                    communication: CommunicationNeeds {
                        language: Some("Polish".into()),
                        interpreter_needed: true,
                        needs: vec!["large print".into(), "easy read".into()],
                    },
                },
            },
        ),
        rejected(csv("patients", 3), Some("Patient"), Some("Patient/P002"), bad_birth_date),
        Event::Item(
            csv("conditions", 2),
            Item::Condition {
                key: key("Condition/C1"),
                subject: john(),
                condition: Condition {
                    concept: concept(Code::snomed("13645005"), "Chronic obstructive lung disease"),
                    onset: Some(date!(2012 - 05 - 01)),
                    resolved: None,
                    status: ConditionStatus::Active,
                    recorded: None,
                },
            },
        ),
        rejected(
            csv("conditions", 3),
            Some("Condition"),
            Some("Condition/C2"),
            &format!("subject Patient/P002 was rejected: {bad_birth_date}"),
        ),
        Event::Item(
            csv("conditions", 4),
            Item::Condition {
                key: key("Condition/C3"),
                subject: john(),
                condition: Condition {
                    concept: concept(Code::snomed("38341003"), "Hypertensive disorder"),
                    onset: Some(date!(2001 - 06 - 30)),
                    resolved: Some(date!(2010 - 01 - 31)),
                    status: ConditionStatus::Resolved,
                    recorded: Some(date!(2001 - 07 - 01)),
                },
            },
        ),
        Event::Item(
            csv("encounters", 2),
            Item::Encounter {
                key: key("Encounter/E1"),
                subject: nhs("9912003888"),
                encounter: Encounter {
                    start: at_nine_thirty,
                    setting: EncounterSetting::Surgery,
                    clinician: Clinician::Gp,
                    status: EncounterStatus::Attended,
                    kind: Some(concept(Code::snomed("185349003"), "Encounter for check up")),
                    planned: Some(true),
                    booked_at: Some(datetime!(2026-06-20 09:00 UTC)),
                    year_of_care_contact: true,
                },
            },
        ),
        Event::Item(
            csv("encounters", 3),
            Item::Encounter {
                key: key("Encounter/E2"),
                subject: john(),
                encounter: Encounter {
                    start: datetime!(2026-12-01 10:00 UTC),
                    setting: EncounterSetting::Telephone,
                    clinician: Clinician::Nurse,
                    // No status, after the extract date: booked.
                    status: EncounterStatus::Booked,
                    kind: None,
                    planned: None,
                    booked_at: None,
                    year_of_care_contact: false,
                },
            },
        ),
        rejected(
            csv("encounters", 4),
            Some("Encounter"),
            Some("Encounter/E3"),
            "setting: \"ward\" is not a Concord setting (see docs/import-csv.md)",
        ),
        Event::Item(
            csv("medications", 2),
            Item::Medication {
                key: key("MedicationStatement/M1"),
                subject: nhs("9912003888"),
                medication: Medication {
                    concept: concept(Code::new(CodeSystem::Dmd, "39113611000001102"), "Metformin 500mg tablets"),
                    dosage: Some("One tablet twice a day".into()),
                    status: MedicationStatus::Active,
                    authored: Some(date!(2019 - 05 - 01)),
                    as_at: date!(2026 - 11 - 23),
                },
            },
        ),
        Event::Item(
            csv("medications", 3),
            Item::Medication {
                key: key("MedicationStatement/M2"),
                subject: john(),
                medication: Medication {
                    concept: concept(Code::new(CodeSystem::Dmd, "39113611000001102"), "Metformin 500mg tablets"),
                    dosage: None,
                    status: MedicationStatus::Stopped,
                    authored: Some(date!(2018 - 01 - 01)),
                    as_at: date!(2026 - 11 - 01),
                },
            },
        ),
        Event::Item(
            csv("observations", 2),
            Item::Observation {
                key: key("Observation/O1"),
                subject: nhs("9912003888"),
                observation: result(
                    concept(Code::loinc("59261-8"), "HbA1c"),
                    "hba1c",
                    quantity("48", 48.0, "mmol/mol"),
                    at_nine_thirty,
                ),
            },
        ),
        Event::Item(
            csv("observations", 3),
            Item::Observation {
                key: key("Observation/O2"),
                subject: nhs("9912003888"),
                // A date without a time is midnight, UK time (BST in July).
                observation: result(
                    concept(Code::snomed("8517006"), "Ex-smoker"),
                    "smoking_status",
                    ObservationValue::None,
                    datetime!(2026-06-30 23:00 UTC),
                ),
            },
        ),
        Event::Item(
            csv("observations", 4),
            Item::UnreadableResult {
                key: key("Observation/O3"),
                subject: john(),
                concept: potassium(),
                effective: Some(at_nine_thirty),
                reason: "unit \"mmol/fortnight\" is not recognised for potassium".into(),
            },
        ),
        rejected(
            csv("observations", 5),
            Some("Observation"),
            Some("Observation/O4"),
            "unit \"stone\" is not recognised for bmi",
        ),
        skipped("Observation (code not used)"),
        rejected(
            csv("observations", 7),
            Some("Observation"),
            Some("Observation/O6"),
            "effective_at: \"01/07/2026\" is not a date and time (YYYY-MM-DDThh:mm[:ss], optionally Z or ±hh:mm)",
        ),
        Event::Item(
            csv("observations", 8),
            Item::Observation {
                key: key("Observation/O7"),
                subject: john(),
                observation: result(
                    concept(Code::snomed("1011481000000105"), "eGFR"),
                    "egfr",
                    quantity(">90", 90.0, "mL/min/{1.73_m2}"),
                    datetime!(2026-07-01 09:30 UTC),
                ),
            },
        ),
    ];
    assert_eq!(sink.events, expected);
    assert_eq!((summary.files, summary.items, summary.rejected, summary.skipped), (6, 14, 5, 1));
}

#[test]
fn a_truncated_bundle_is_rejected_whole_with_its_position() {
    let (sink, _) = read(&["bad/truncated-bundle.json"]);
    assert_eq!(
        sink.events,
        vec![rejected(
            Location::file(&fixture("bad/truncated-bundle.json")),
            None,
            None,
            "Bundle: truncated JSON: EOF while parsing an object (line 15, column 5)",
        )]
    );
}

#[test]
fn text_that_is_not_json_is_rejected() {
    let (sink, _) = read(&["bad/not-json.json"]);
    assert_eq!(
        sink.events,
        vec![rejected(
            Location::file(&fixture("bad/not-json.json")),
            None,
            None,
            "not valid JSON: expected value (line 1, column 1)",
        )]
    );
}

#[test]
fn wrong_json_types_and_bad_dates_name_the_element() {
    const FILE: &str = "bad/wrong-types.json";
    let (sink, _) = read(&[FILE]);
    let string_decimal =
        "valueQuantity.value: invalid type: a string (FHIR decimals are JSON numbers), expected a decimal number";
    let expected = vec![
        skipped("Bundle entry without a resource"),
        rejected(
            at_entry(FILE, 0),
            Some("Patient"),
            Some("Patient/wt-patient"),
            "birthDate: invalid type: integer `19500101`, expected a FHIR date string",
        ),
        rejected(at_entry(FILE, 1), Some("Observation"), Some("Observation/wt-bmi"), string_decimal),
        // A potassium that cannot be parsed could still be dangerous: kept for a clinician.
        Event::Item(
            at_entry(FILE, 2),
            Item::UnreadableResult {
                key: key("Observation/wt-potassium"),
                subject: patient_key("Patient/p-1"),
                concept: potassium(),
                effective: Some(datetime!(2026-05-01 00:00 UTC)),
                reason: string_decimal.into(),
            },
        ),
        rejected(
            at_entry(FILE, 3),
            Some("Condition"),
            Some("Condition/wt-condition"),
            "onsetDateTime: \"2020-02-30\" is not a valid FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with Z or an offset)",
        ),
        rejected(at_entry(FILE, 4), None, None, "invalid type: sequence, expected a FHIR resource (a JSON object)"),
        rejected(at_entry(FILE, 5), None, None, "has no resourceType: not a FHIR resource"),
    ];
    assert_eq!(sink.events, expected);
}

#[test]
fn missing_subjects_are_rejected_and_red_flag_results_say_so() {
    const FILE: &str = "bad/missing-subject.json";
    let (sink, _) = read(&[FILE]);
    let no_subject = "no subject: the record does not say which patient it is about";
    let expected = vec![
        skipped("Bundle entry (search mode outcome)"),
        rejected(at_entry(FILE, 0), Some("Condition"), Some("Condition/ms-condition"), no_subject),
        red_flag(
            rejected(at_entry(FILE, 1), Some("Observation"), Some("Observation/ms-potassium"), no_subject),
            potassium(),
        ),
        rejected(at_entry(FILE, 2), Some("Observation"), Some("Observation/ms-bmi"), no_subject),
    ];
    assert_eq!(sink.events, expected);
}

#[test]
fn a_malformed_nhs_number_rejects_the_patient_and_every_record_about_them() {
    const FILE: &str = "bad/malformed-nhs-number.json";
    let (sink, _) = read(&[FILE]);
    let patient = "Patient/3e0c1a52-0000-4000-8000-000000000000";
    let reason = format!("NHS number \"943 476 5918\": {CHECK_DIGIT}");
    let expected = vec![
        rejected(at_entry(FILE, 1), Some("Patient"), Some(patient), &reason),
        rejected(
            at_entry(FILE, 0),
            Some("Condition"),
            Some("Condition/3e0c1a52-0000-4000-8000-000000000001"),
            &format!("subject {patient} was rejected: {reason}"),
        ),
    ];
    assert_eq!(sink.events, expected);
}

#[test]
fn unknown_units_keep_red_flag_results_visible_and_refuse_the_rest() {
    const FILE: &str = "bad/unknown-units.json";
    let (sink, _) = read(&[FILE]);
    let expected = vec![
        Event::Item(
            at_entry(FILE, 0),
            Item::UnreadableResult {
                key: key("Observation/uu-potassium"),
                subject: patient_key("Patient/p-1"),
                concept: potassium(),
                effective: Some(datetime!(2026-05-01 10:00 UTC)),
                reason: "unit \"mmol/fortnight\" is not recognised for potassium".into(),
            },
        ),
        rejected(
            at_entry(FILE, 1),
            Some("Observation"),
            Some("Observation/uu-bmi"),
            "unit \"stone per square foot\" is not recognised for bmi",
        ),
    ];
    assert_eq!(sink.events, expected);
}

#[test]
fn a_missing_path_is_an_error_and_nothing_is_read() {
    let catalogue = catalogue();
    let mut sink = Collect::default();
    let missing = fixture("no-such-folder");
    let error = read_paths(&[fixture("csv"), missing.clone()], &catalogue, &options(), &mut sink).unwrap_err();
    assert!(matches!(error, ImportError::NotFound(path) if path == missing));
    assert!(sink.events.is_empty());
}

#[test]
fn reading_is_deterministic_and_accounts_for_every_byte() {
    let (first, summary) = read(&["."]);
    let (second, _) = read(&["."]);
    assert_eq!(first.events, second.events);
    let total: u64 = walk(&fixture(".")).iter().map(|path| std::fs::metadata(path).unwrap().len()).sum();
    assert_eq!(summary.bytes, total);
    assert_eq!(first.progress.last(), Some(&total));
    assert!(first.progress.windows(2).all(|pair| pair[0] <= pair[1]), "progress never goes back");
    assert_eq!(summary.items + summary.rejected + summary.skipped, first.events.len() as u64);
}

fn walk(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn single_resources_and_ndjson_named_json_are_recognised_by_content() {
    let folder = std::env::temp_dir().join(format!("concord-import-content-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let patients = std::fs::read_to_string(fixture("ndjson/Patient.ndjson")).unwrap();
    let first_line = patients.lines().next().unwrap();
    std::fs::write(folder.join("one-patient.json"), format!("\n  {first_line}\n")).unwrap();
    std::fs::write(folder.join("lines.json"), &patients).unwrap();
    std::fs::write(folder.join("export.dat"), &patients).unwrap();
    std::fs::write(folder.join("notes.txt"), "ignored in folders").unwrap();
    let catalogue = catalogue();
    let mut sink = Collect::default();
    let summary = read_paths(&[folder.clone(), folder.join("export.dat")], &catalogue, &options(), &mut sink).unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    // export.dat (named explicitly, sniffed as JSON, read as NDJSON), lines.json, one-patient.json.
    assert_eq!(summary.files, 3);
    let locations: Vec<Location> = sink
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Item(location, Item::Patient { key, .. }) if key.0 == "Patient/pat-a" => Some(location.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        locations,
        vec![
            Location::line(&folder.join("export.dat"), 1),
            Location::line(&folder.join("lines.json"), 1),
            Location::file(&folder.join("one-patient.json")),
        ]
    );
}
