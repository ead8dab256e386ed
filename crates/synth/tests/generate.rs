//! End-to-end checks of the generator's output: determinism, identifiers, references, register
//! prevalence (intended and as recomputed from the written Conditions with the domain's QOF-style
//! register rule), red flags and the Bundle format.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use concord_domain::codelist::{Codelist, RegisterDefinition};
use concord_domain::patient::{Patient, Registration, Sex};
use concord_domain::record::{Condition, ConditionStatus};
use concord_domain::{Code, CodedConcept, NhsNumber, OdsCode};
use concord_synth::{
    BeyondTestRange, GenerateOptions, OutputFormat, PREVALENCE_TARGETS, Summary, Tuning, generate, generate_with,
    register_codes,
};
use serde_json::Value;
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 03 - 01);
const POPULATION: u64 = 20_000;
/// A smaller population whose every file is parsed and cross-checked (parsing is the slow part).
const DETAILED: u64 = 5_000;
/// Allowed relative difference between generated and target prevalence on 20,000 patients.
const PREVALENCE_TOLERANCE: f64 = 0.20;

fn scratch(name: &str) -> PathBuf {
    // One folder per process: the test runner may run tests of this file in parallel processes.
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("concord-synth-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    path
}

fn run(name: &str, patients: u64, seed: u64) -> (PathBuf, Summary) {
    let directory = scratch(name);
    let mut options = GenerateOptions::new(patients, seed, TODAY);
    options.practices = 4;
    let summary = generate(&options, &directory).expect("generation succeeds");
    (directory, summary)
}

/// The shared 20,000-patient NDJSON population (prevalence, NHS numbers, registers).
fn population() -> &'static (PathBuf, Summary, Scan) {
    static RUN: OnceLock<(PathBuf, Summary, Scan)> = OnceLock::new();
    RUN.get_or_init(|| {
        let (directory, summary) = run("population", POPULATION, 2026);
        let scan = scan_files(&directory, false);
        // Tests use only the summary and the scan; the files (hundreds of MB) go at once.
        let _ = fs::remove_dir_all(&directory);
        (directory, summary, scan)
    })
}

/// The shared 5,000-patient population whose every line is parsed and checked.
fn detailed() -> &'static (PathBuf, Summary, Scan) {
    static RUN: OnceLock<(PathBuf, Summary, Scan)> = OnceLock::new();
    RUN.get_or_init(|| {
        let (directory, summary) = run("detailed", DETAILED, 7);
        let scan = scan_files(&directory, true);
        let _ = fs::remove_dir_all(&directory);
        (directory, summary, scan)
    })
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn parse_date(text: &str) -> Date {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(&text[..10], format).unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn directory_contents(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(directory)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name().to_string_lossy().into_owned(), fs::read(entry.path()).unwrap())
        })
        .collect()
}

#[test]
fn the_same_seed_gives_identical_files_whatever_the_threads_and_another_seed_differs() {
    let run = |name: &str, seed: u64, threads: usize, format: OutputFormat, patients: u64| {
        let directory = scratch(name);
        let mut options = GenerateOptions::new(patients, seed, TODAY);
        options.practices = 3;
        options.format = format;
        let tuning = Tuning { threads, ..Tuning::default() };
        let summary = generate_with(&options, &tuning, &directory).unwrap();
        (directory_contents(&directory), summary)
    };
    let (first, first_summary) = run("determinism-a", 11, 1, OutputFormat::Ndjson, 700);
    let (second, second_summary) = run("determinism-b", 11, 3, OutputFormat::Ndjson, 700);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    for (name, bytes) in &first {
        assert!(bytes == &second[name], "{name} differs between runs with the same seed");
    }
    assert_eq!(first_summary, Summary { files: first_summary.files.clone(), ..second_summary.clone() });
    assert_eq!(first_summary.patients, 700);

    let (other, _) = run("determinism-c", 12, 1, OutputFormat::Ndjson, 700);
    assert_ne!(first["Patient.ndjson"], other["Patient.ndjson"]);
    assert_ne!(first["Observation.ndjson"], other["Observation.ndjson"]);

    // A patient's record does not depend on how many patients are generated.
    let (fewer, _) = run("determinism-d", 11, 2, OutputFormat::Ndjson, 300);
    let first_lines: Vec<&[u8]> = first["Patient.ndjson"].split(|byte| *byte == b'\n').take(300).collect();
    let fewer_lines: Vec<&[u8]> = fewer["Patient.ndjson"].split(|byte| *byte == b'\n').take(300).collect();
    assert_eq!(first_lines, fewer_lines);

    // Slices written one after another make the same population as one run.
    let slice = |name: &str, range: std::ops::Range<u64>| {
        let directory = scratch(name);
        let mut options = GenerateOptions::new(700, 11, TODAY);
        options.practices = 3;
        concord_synth::generate_range(&options, &Tuning::default(), &directory, range).unwrap();
        directory_contents(&directory)
    };
    let (head, tail) = (slice("slice-a", 0..300), slice("slice-b", 300..700));
    for (name, bytes) in &first {
        if name == "Organization.ndjson" {
            assert!(head[name] == *bytes && tail[name] == *bytes, "every slice carries every organisation");
            continue;
        }
        let joined: Vec<u8> = head[name].iter().chain(&tail[name]).copied().collect();
        assert!(joined == *bytes, "{name}: the slices joined differ from one run");
    }
    let mut options = GenerateOptions::new(700, 11, TODAY);
    options.practices = 3;
    assert!(concord_synth::generate_range(&options, &Tuning::default(), &scratch("slice-c"), 600..701).is_err());

    let (bundles_a, _) = run("determinism-e", 5, 1, OutputFormat::Bundles, 40);
    let (bundles_b, _) = run("determinism-f", 5, 2, OutputFormat::Bundles, 40);
    assert_eq!(bundles_a, bundles_b);
}

/// What the tests need from the shared population, gathered in one pass over each file (the
/// files are large, and parsing them in a debug build is the slow part of this suite).
#[derive(Default)]
struct Scan {
    lines_by_type: BTreeMap<String, u64>,
    problems: Vec<String>,
    references_checked: u64,
    organisation_kinds: BTreeMap<String, u64>,
    patients_without_nhs_number: u64,
    registers_from_files: BTreeMap<String, u64>,
    resolved_conditions: u64,
    conditions_in_error: u64,
    encounter_diagnoses: u64,
    prediabetes: u64,
    diabetes_resolved: u64,
    observation_statuses: HashSet<String>,
    units: HashSet<String>,
    egfr_comparator: bool,
    dcct_hba1c: bool,
    integer_values: bool,
    usable_potassium_red_flags: u64,
    potassium_in_error_red_flags: u64,
    usable_hba1c_red_flags: u64,
    diabetic: u64,
    diabetic_with_three_years: u64,
    encounter_classes: HashSet<String>,
    booked_at: bool,
    roles: HashSet<String>,
}

fn for_each_line(directory: &Path, resource_type: &str, scan: &mut Scan, mut visit: impl FnMut(&Value, &mut Scan)) {
    let path = directory.join(format!("{resource_type}.ndjson"));
    let file = fs::File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut ids = HashSet::new();
    let mut count = 0;
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.unwrap();
        let resource: Value =
            serde_json::from_str(&line).unwrap_or_else(|error| panic!("{}:{}: {error}", path.display(), number + 1));
        if text(&resource, "/resourceType") != Some(resource_type) {
            scan.problems.push(format!("{}:{}: wrong resourceType", path.display(), number + 1));
        }
        match text(&resource, "/id") {
            Some(id) if ids.insert(id.to_owned()) => {}
            other => scan.problems.push(format!("{resource_type} id {other:?} missing or repeated")),
        }
        visit(&resource, scan);
        count += 1;
    }
    scan.lines_by_type.insert(resource_type.to_owned(), count);
}

/// Reads the files back; `everything` adds Encounters, Observations and MedicationStatements.
fn scan_files(directory: &Path, everything: bool) -> Scan {
    let mut scan = Scan::default();
    let mut organisations = HashSet::new();
    for_each_line(directory, "Organization", &mut scan, |organisation, scan| {
        organisations.insert(format!("Organization/{}", text(organisation, "/id").unwrap()));
        let kind = text(organisation, "/type/0/coding/0/code").unwrap_or("none").to_owned();
        if text(organisation, "/type/0/coding/0/system") != Some("urn:concord:organisation-kind") {
            scan.problems.push("organisation kind system".into());
        }
        if text(organisation, "/partOf/reference").is_none() && kind != "region" {
            scan.problems.push(format!("{kind} without a parent"));
        }
        *scan.organisation_kinds.entry(kind).or_insert(0) += 1;
    });
    let mut people: HashMap<String, Patient> = HashMap::new();
    let mut nhs_numbers = HashSet::new();
    for_each_line(directory, "Patient", &mut scan, |patient, scan| {
        check_nhs_number(patient, &mut nhs_numbers, scan);
        for reference in [text(patient, "/generalPractitioner/0/reference"), text(patient, "/partOf/reference")]
            .into_iter()
            .flatten()
        {
            if !organisations.contains(reference) {
                scan.problems.push(format!("unknown organisation {reference}"));
            }
        }
        people.insert(format!("Patient/{}", text(patient, "/id").unwrap()), domain_patient(patient));
    });
    let mut encounters = HashSet::new();
    let check_references = |resource: &Value, scan: &mut Scan, encounters: &HashSet<String>| {
        if !everything {
            return;
        }
        let subject = text(resource, "/subject/reference").unwrap_or("none");
        if !people.contains_key(subject) {
            scan.problems.push(format!("unknown subject {subject}"));
        }
        if let Some(encounter) = text(resource, "/encounter/reference")
            && !encounters.contains(encounter)
        {
            scan.problems.push(format!("unknown encounter {encounter}"));
        }
        if let Some(provider) = text(resource, "/serviceProvider/reference")
            && !organisations.contains(provider)
        {
            scan.problems.push(format!("unknown organisation {provider}"));
        }
        scan.references_checked += 1;
    };
    if everything {
        for_each_line(directory, "Encounter", &mut scan, |encounter, scan| {
            encounters.insert(format!("Encounter/{}", text(encounter, "/id").unwrap()));
            check_references(encounter, scan, &HashSet::new());
            scan.encounter_classes.insert(text(encounter, "/class/code").unwrap().to_owned());
            scan.booked_at |= text(encounter, "/extension/0/url") == Some("urn:concord:booked-at");
            if let Some(role) = text(encounter, "/participant/0/type/0/coding/0/code") {
                scan.roles.insert(role.to_owned());
            }
        });
    }
    let mut conditions: HashMap<String, Vec<Condition>> = HashMap::new();
    let mut diabetic = HashSet::new();
    for_each_line(directory, "Condition", &mut scan, |resource, scan| {
        check_references(resource, scan, &encounters);
        let subject = text(resource, "/subject/reference").unwrap().to_owned();
        let code = text(resource, "/code/coding/0/code").unwrap();
        let clinical = text(resource, "/clinicalStatus/coding/0/code");
        let status = if text(resource, "/verificationStatus/coding/0/code") == Some("entered-in-error") {
            scan.conditions_in_error += u64::from(clinical.is_none());
            ConditionStatus::EnteredInError
        } else {
            ConditionStatus::parse(clinical.unwrap()).unwrap()
        };
        scan.resolved_conditions +=
            u64::from(clinical == Some("resolved") && resource.get("abatementDateTime").is_some());
        scan.encounter_diagnoses +=
            u64::from(text(resource, "/category/0/coding/0/code") == Some("encounter-diagnosis"));
        scan.prediabetes += u64::from(code == "714628002");
        scan.diabetes_resolved += u64::from(code == "315051004");
        if code == "44054006" && clinical == Some("active") {
            diabetic.insert(subject.clone());
        }
        conditions.entry(subject).or_default().push(Condition {
            concept: CodedConcept { code: Code::snomed(code), term: String::new() },
            onset: text(resource, "/onsetDateTime").map(parse_date),
            resolved: text(resource, "/abatementDateTime").map(parse_date),
            status,
            recorded: text(resource, "/recordedDate").map(parse_date),
        });
    });
    scan.registers_from_files = registers(&people, &conditions);
    if !everything {
        return scan;
    }
    let mut earliest_hba1c: HashMap<String, Date> = HashMap::new();
    for_each_line(directory, "Observation", &mut scan, |observation, scan| {
        check_references(observation, scan, &encounters);
        let status = text(observation, "/status").unwrap();
        scan.observation_statuses.insert(status.to_owned());
        let usable = matches!(status, "final" | "amended");
        if let Some(unit) = text(observation, "/valueQuantity/unit") {
            scan.units.insert(unit.to_owned());
        }
        scan.egfr_comparator |= text(observation, "/valueQuantity/comparator") == Some(">");
        scan.integer_values |= observation.get("valueInteger").is_some();
        let code = text(observation, "/code/coding/0/code").unwrap();
        scan.dcct_hba1c |= code == "1019431000000105";
        let value = observation.pointer("/valueQuantity/value").and_then(Value::as_f64);
        match (code, value) {
            ("1000651000000109", Some(value)) if value >= 6.5 => {
                if usable {
                    scan.usable_potassium_red_flags += 1;
                } else {
                    scan.potassium_in_error_red_flags += 1;
                }
            }
            ("999791000000106", Some(value)) => {
                scan.usable_hba1c_red_flags += u64::from(value > 86.0 && usable);
                let subject = text(observation, "/subject/reference").unwrap();
                if diabetic.contains(subject) {
                    let day = parse_date(text(observation, "/effectiveDateTime").unwrap());
                    let entry = earliest_hba1c.entry(subject.to_owned()).or_insert(day);
                    *entry = (*entry).min(day);
                }
            }
            _ => {}
        }
    });
    let three_years_ago = TODAY - time::Duration::days(3 * 365);
    scan.diabetic = diabetic.len() as u64;
    scan.diabetic_with_three_years = earliest_hba1c.values().filter(|day| **day <= three_years_ago).count() as u64;
    for_each_line(directory, "MedicationStatement", &mut scan, |medication, scan| {
        check_references(medication, scan, &encounters);
        if text(medication, "/dateAsserted") != Some("2026-03-01") {
            scan.problems.push("medication not asserted as at today".into());
        }
    });
    scan
}

fn check_nhs_number(patient: &Value, numbers: &mut HashSet<String>, scan: &mut Scan) {
    let identifiers = patient["identifier"].as_array().unwrap();
    let Some(identifier) = identifiers.iter().find(|i| text(i, "/system") == Some("https://fhir.nhs.uk/Id/nhs-number"))
    else {
        scan.problems.push("no NHS number identifier or verification status".into());
        return;
    };
    let status = text(identifier, "/extension/0/valueCodeableConcept/coding/0/code").unwrap_or("none");
    match text(identifier, "/value") {
        Some(value) => {
            match NhsNumber::parse(value) {
                Ok(number) if number.is_test_range() => {}
                other => scan.problems.push(format!("NHS number {value}: {other:?}")),
            }
            if !numbers.insert(value.to_owned()) {
                scan.problems.push(format!("NHS number {value} used twice"));
            }
            if status != "01" {
                scan.problems.push(format!("verification {status} with a number"));
            }
        }
        None => {
            scan.patients_without_nhs_number += 1;
            if !matches!(status, "07" | "03") {
                scan.problems.push(format!("verification {status} without a number"));
            }
            if !identifiers.iter().any(|i| text(i, "/system") == Some("urn:concord:local-patient-id")) {
                scan.problems.push("no NHS number and no local identifier".into());
            }
        }
    }
}

/// The domain's view of a written Patient (what register rules need).
fn domain_patient(resource: &Value) -> Patient {
    let registration = resource["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|extension| text(extension, "/url") == Some("urn:concord:registration-period"))
        .unwrap();
    let practice = text(resource, "/generalPractitioner/0/identifier/value").unwrap();
    Patient {
        nhs_number: None,
        nhs_number_verification: None,
        local_identifiers: vec![],
        name: Default::default(),
        birth_date: parse_date(text(resource, "/birthDate").unwrap()),
        sex: Sex::parse(text(resource, "/gender").unwrap()).unwrap(),
        address: Default::default(),
        death_date: text(resource, "/deceasedDateTime").map(parse_date),
        registration: Some(Registration {
            practice: OdsCode::parse(practice).unwrap(),
            start: text(registration, "/valuePeriod/start").map(parse_date),
            end: text(registration, "/valuePeriod/end").map(parse_date),
        }),
        contact: Default::default(),
        communication: Default::default(),
    }
}

/// Applies the domain's QOF-style register rule, with the generator's codelists, to the people
/// and Conditions read back from the files.
fn registers(people: &HashMap<String, Patient>, conditions: &HashMap<String, Vec<Condition>>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for target in PREVALENCE_TARGETS {
        let (diagnosis_codes, resolution_codes) = register_codes(target.register).unwrap();
        let mut diagnosis = Codelist::new(target.register, "test", "concord-synth");
        for concept in diagnosis_codes {
            diagnosis.insert(Code::snomed(concept.code), concept.display);
        }
        let resolved = (!resolution_codes.is_empty()).then(|| {
            let mut list = Codelist::new(format!("{}-resolved", target.register), "test", "concord-synth");
            for concept in resolution_codes {
                list.insert(Code::snomed(concept.code), concept.display);
            }
            list
        });
        let register = RegisterDefinition {
            id: target.register.into(),
            name: target.name.into(),
            diagnosis,
            resolved,
            minimum_age: Some(i32::from(target.minimum_age)),
            diagnosed_on_or_after: (target.register == "depression").then_some(date!(2006 - 04 - 01)),
            source: "test".into(),
            plain_name: None,
        };
        let on_register = people
            .iter()
            .filter(|(reference, patient)| {
                register.includes(patient, conditions.get(*reference).map_or(&[][..], Vec::as_slice), TODAY)
            })
            .count();
        counts.insert(target.register.to_owned(), on_register as u64);
    }
    counts
}

#[test]
fn every_line_is_a_fhir_resource_of_its_file_type_and_references_resolve() {
    let (_, summary, scan) = detailed();
    assert!(
        scan.problems.is_empty(),
        "{} problems, first: {:?}",
        scan.problems.len(),
        &scan.problems[..scan.problems.len().min(5)]
    );
    assert_eq!(scan.lines_by_type, summary.resources_by_type);
    assert_eq!(scan.lines_by_type["Patient"], DETAILED);
    assert!(scan.references_checked > DETAILED * 10);
    assert_eq!(
        scan.organisation_kinds,
        BTreeMap::from([("partner".into(), 2), ("pcn".into(), 1), ("practice".into(), 4), ("region".into(), 1)])
    );
}

#[test]
fn nhs_numbers_are_valid_unique_and_only_from_the_test_range() {
    let (_, summary, scan) = population();
    assert!(scan.problems.is_empty(), "{:?}", &scan.problems[..scan.problems.len().min(5)]);
    assert_eq!(scan.patients_without_nhs_number, summary.without_nhs_number);
    let share = summary.without_nhs_number as f64 / POPULATION as f64;
    assert!((0.004..0.02).contains(&share), "{share}");
}

#[test]
fn register_prevalence_is_close_to_the_published_targets_by_intent_and_by_the_written_codes() {
    let (_, summary, scan) = population();
    for target in PREVALENCE_TARGETS {
        let generated = summary.prevalence_percent(target.register).unwrap();
        let relative = (generated - target.percent).abs() / target.percent;
        assert!(
            relative <= PREVALENCE_TOLERANCE,
            "{}: generated {generated:.2}%, target {}% ({:.0}% off)",
            target.register,
            target.percent,
            100.0 * relative
        );
    }
    // The written Conditions, read with the domain's register rule, give exactly the intended
    // registers: duplicates, resolved episodes and codes in error change nothing.
    assert_eq!(scan.registers_from_files, summary.register_counts);
    assert!(summary.registered > POPULATION * 9 / 10 && summary.registered < POPULATION);
    assert!(summary.deceased > 0 && summary.left_practice > 0);
}

#[test]
fn the_written_record_is_realistically_messy() {
    let (_, _, scan) = detailed();
    assert!(scan.resolved_conditions > 20, "{}", scan.resolved_conditions);
    assert!(scan.conditions_in_error > 2, "{}", scan.conditions_in_error);
    assert!(scan.encounter_diagnoses > 30);
    assert!(scan.prediabetes > 30);
    let (_, _, large) = population();
    assert!(large.diabetes_resolved > 0);
    for status in ["final", "amended", "entered-in-error"] {
        assert!(scan.observation_statuses.contains(status), "{status}");
    }
    for unit in ["mmol/l", "µmol/l", "%", "µmol/L", "mL/min/1.73m²", "mmHg"] {
        assert!(scan.units.contains(unit), "no result written in {unit}");
    }
    assert!(scan.egfr_comparator && scan.dcct_hba1c && scan.integer_values);
    assert_eq!(scan.encounter_classes, HashSet::from(["AMB", "VR", "HH", "EMER"].map(String::from)));
    assert!(scan.booked_at);
    assert!(scan.roles.contains("62247001") && scan.roles.contains("106292003"));
}

#[test]
fn people_on_a_register_have_at_least_three_years_of_results() {
    let (_, _, scan) = detailed();
    assert!(scan.diabetic > 150, "{}", scan.diabetic);
    assert!(
        scan.diabetic_with_three_years as f64 >= 0.85 * scan.diabetic as f64,
        "{} of {}",
        scan.diabetic_with_three_years,
        scan.diabetic
    );
}

#[test]
fn red_flag_results_are_written_and_counted() {
    for (kind, count) in &population().1.red_flag_results {
        assert!(*count > 0, "no {kind} results in {POPULATION} patients");
    }
    let (_, summary, scan) = detailed();
    assert_eq!(scan.usable_potassium_red_flags, summary.red_flag_results["potassium_at_least_6_5"]);
    assert_eq!(scan.usable_hba1c_red_flags, summary.red_flag_results["hba1c_above_86"]);
    assert!(scan.potassium_in_error_red_flags > 0, "a result entered in error should look alarming but not count");
}

#[test]
fn bundles_are_collections_whose_references_resolve() {
    let directory = scratch("bundles");
    let mut options = GenerateOptions::new(60, 9, TODAY);
    options.format = OutputFormat::Bundles;
    options.practices = 2;
    let summary = generate(&options, &directory).unwrap();
    assert_eq!(summary.bundle_files, 60);
    let organisations: Value =
        serde_json::from_str(&fs::read_to_string(directory.join("organisations.json")).unwrap()).unwrap();
    let organisation_ids: HashSet<String> = organisations["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| format!("Organization/{}", text(entry, "/resource/id").unwrap()))
        .collect();
    assert_eq!(organisation_ids.len(), 6);
    let mut resources = 0;
    for index in 1..=60 {
        let path = directory.join(format!("patient-{index:06}.json"));
        let bundle: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(text(&bundle, "/resourceType"), Some("Bundle"));
        assert_eq!(text(&bundle, "/type"), Some("collection"));
        let entries = bundle["entry"].as_array().unwrap();
        assert_eq!(text(&entries[0], "/resource/resourceType"), Some("Patient"));
        let full_urls: HashSet<&str> = entries.iter().map(|entry| text(entry, "/fullUrl").unwrap()).collect();
        assert_eq!(full_urls.len(), entries.len());
        for entry in entries {
            let full_url = text(entry, "/fullUrl").unwrap();
            assert_eq!(full_url.strip_prefix("urn:uuid:"), text(entry, "/resource/id"));
            let mut references = Vec::new();
            collect_references(&entry["resource"], &mut references);
            for reference in references {
                if reference.starts_with("urn:uuid:") {
                    assert!(full_urls.contains(reference.as_str()), "{}: {reference}", path.display());
                } else {
                    assert!(organisation_ids.contains(&reference), "{reference}");
                }
            }
            resources += 1;
        }
    }
    let patient_level: u64 =
        summary.resources_by_type.iter().filter(|(kind, _)| *kind != "Organization").map(|(_, count)| count).sum();
    assert_eq!(resources, patient_level);
}

fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                if key == "reference" {
                    out.push(member.as_str().unwrap().to_owned());
                } else {
                    collect_references(member, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        _ => {}
    }
}

#[test]
fn options_are_checked() {
    let directory = scratch("refused");
    let mut options = GenerateOptions::new(10, 1, TODAY);
    options.practices = 0;
    assert!(matches!(generate(&options, &directory), Err(concord_synth::GenerateError::InvalidOptions(_))));
    let empty = generate(&GenerateOptions::new(0, 1, TODAY), &directory).unwrap();
    assert_eq!((empty.patients, empty.organisations), (0, 5));
    let too_many = GenerateOptions::new(2_000_000, 1, TODAY);
    let strict = Tuning { beyond_test_range: BeyondTestRange::Refuse, ..Tuning::default() };
    assert!(matches!(
        generate_with(&too_many, &strict, &directory),
        Err(concord_synth::GenerateError::NhsNumbersExhausted { requested: 2_000_000, capacity: 909_091 })
    ));
}

#[test]
fn project_uris_are_the_ones_the_importer_reads() {
    use concord_fhir::uri;
    assert_eq!(concord_synth::EXTENSION_REGISTRATION_PERIOD, uri::CONCORD_REGISTRATION_PERIOD);
    assert_eq!(concord_synth::EXTENSION_PREFERRED_CONTACT, uri::CONCORD_PREFERRED_CHANNEL);
    assert_eq!(concord_synth::EXTENSION_BOOKED_AT, uri::CONCORD_BOOKED_AT);
    assert_eq!(concord_synth::EXTENSION_COMMUNICATION_NEED, uri::CONCORD_COMMUNICATION_NEED);
    assert_eq!(concord_synth::LOCAL_PATIENT_ID_SYSTEM, uri::CONCORD_LOCAL_PATIENT_ID);
    assert_eq!(concord_synth::ORGANISATION_KIND_SYSTEM, uri::CONCORD_ORGANISATION_KIND);
}
