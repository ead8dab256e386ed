//! Measures reading speed on generated Synthea-style extracts, or on files you name.
//!
//! `cargo run --release -p concord-import --example throughput` writes, into a temporary folder,
//! Synthea-style transaction Bundles (about 5 MB each: a patient, encounters, vital signs and
//! laboratory results, claims and explanations of benefit) and a Bulk Data NDJSON set, then reads
//! each with the embedded catalogue and prints resources per second and MB per second.
//!
//! `cargo run --release -p concord-import --example throughput -- <file-or-folder>...` reads those
//! instead and also prints what was found, by kind, and the commonest rejection reasons.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use concord_codelists::Catalogue;
use concord_import::{Item, Location, ReadOptions, Rejection, Sink, read_paths};

#[derive(Default)]
struct Tally {
    items: BTreeMap<&'static str, u64>,
    skipped: BTreeMap<String, u64>,
    reasons: BTreeMap<String, u64>,
}

impl Sink for Tally {
    fn item(&mut self, _: &Location, item: Item) {
        let kind = match item {
            Item::Organisation(_) => "Organisation",
            Item::Patient { .. } => "Patient",
            Item::Condition { .. } => "Condition",
            Item::Observation { .. } => "Observation",
            Item::Medication { .. } => "Medication",
            Item::Encounter { .. } => "Encounter",
            Item::UnreadableResult { .. } => "UnreadableResult",
        };
        *self.items.entry(kind).or_default() += 1;
    }

    fn reject(&mut self, rejection: Rejection) {
        // Group by the reason's shape, not its particular values.
        let shape: String = rejection.reason.chars().take(70).filter(|c| !c.is_ascii_digit()).collect();
        *self.reasons.entry(format!("{} {shape}", rejection.resource_type.unwrap_or_default())).or_default() += 1;
    }

    fn skipped(&mut self, resource_type: &str) {
        *self.skipped.entry(resource_type.to_owned()).or_default() += 1;
    }
}

fn measure(label: &str, paths: &[PathBuf], resources: Option<u64>, catalogue: &Catalogue) -> Tally {
    let options = ReadOptions { extract_date: time::macros::date!(2026 - 11 - 23), source_system: "throughput".into() };
    let mut tally = Tally::default();
    let started = Instant::now();
    let summary = read_paths(paths, catalogue, &options, &mut tally).expect("paths exist");
    let seconds = started.elapsed().as_secs_f64();
    let resources = resources.unwrap_or(summary.items + summary.rejected + summary.skipped);
    let megabytes = summary.bytes as f64 / 1e6;
    println!(
        "{label}: {} files, {megabytes:.1} MB, {resources} resources in {seconds:.2} s: {:.0} resources/s, {:.1} MB/s",
        summary.files,
        resources as f64 / seconds,
        megabytes / seconds
    );
    tally
}

fn main() {
    let catalogue = Catalogue::standard().expect("embedded catalogue");
    let named: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if !named.is_empty() {
        let tally = measure("named extract", &named, None, &catalogue);
        println!("items: {:?}", tally.items);
        println!("skipped: {:?}", tally.skipped);
        let mut reasons: Vec<_> = tally.reasons.into_iter().collect();
        reasons.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        for (reason, count) in reasons.iter().take(25) {
            println!("{count:>9}  {reason}");
        }
        return;
    }
    let folder = std::env::temp_dir().join(format!("concord-throughput-{}", std::process::id()));
    let bundles = folder.join("bundles");
    let ndjson = folder.join("ndjson");
    fs::create_dir_all(&bundles).unwrap();
    fs::create_dir_all(&ndjson).unwrap();

    let mut bundle_resources = 0;
    for patient in 0..20 {
        bundle_resources += write_bundle(&bundles.join(format!("patient-{patient:03}.json")), patient, 400);
    }
    let ndjson_resources = write_ndjson(&ndjson, 600, 60);
    measure("Synthea-style Bundles", &[bundles], Some(bundle_resources), &catalogue);
    measure("Bulk Data NDJSON", &[ndjson], Some(ndjson_resources), &catalogue);
    let _ = fs::remove_dir_all(&folder);
}

/// One patient's resources, as Synthea writes them (references by `urn:uuid:`).
fn patient_resources(
    patient: u64,
    encounters: u64,
    reference: &dyn Fn(&str, &str) -> String,
    emit: &mut dyn FnMut(&str, &str, String),
) {
    let patient_id = format!("00000000-0000-4000-8000-{patient:012}");
    let subject = reference("Patient", &patient_id);
    emit(
        "Patient",
        &patient_id,
        format!(
            r#"{{"resourceType":"Patient","id":"{patient_id}","extension":[{{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex","valueCode":"F"}},{{"url":"http://synthetichealth.github.io/synthea/disability-adjusted-life-years","valueDecimal":0.25}}],"identifier":[{{"system":"https://github.com/synthetichealth/synthea","value":"{patient_id}"}}],"name":[{{"use":"official","family":"Doe{patient}","given":["Jane"]}}],"telecom":[{{"system":"phone","value":"555-0100","use":"home"}}],"gender":"female","birthDate":"1961-02-03","address":[{{"line":["1 Main St"],"city":"Boston","postalCode":"02115"}}]}}"#
        ),
    );
    for encounter in 0..encounters {
        let day = 1 + encounter % 28;
        let when = format!("2015-{:02}-{day:02}T10:03:12-04:00", 1 + encounter % 12);
        let id = |kind: u64| format!("{kind:08x}-0000-4000-8000-{:06}{:06}", patient, encounter);
        let encounter_id = id(1);
        emit(
            "Encounter",
            &encounter_id,
            format!(
                r#"{{"resourceType":"Encounter","id":"{encounter_id}","status":"finished","class":{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}},"type":[{{"coding":[{{"system":"http://snomed.info/sct","code":"185349003","display":"Encounter for check up (procedure)"}}],"text":"Encounter for check up (procedure)"}}],"subject":{{"reference":"{subject}"}},"participant":[{{"type":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PPRF","display":"primary performer"}}]}}],"individual":{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999998479"}}}}],"period":{{"start":"{when}","end":"{when}"}},"serviceProvider":{{"reference":"Organization?identifier=https://github.com/synthetichealth/synthea|abc"}}}}"#
            ),
        );
        let bp_id = id(2);
        emit(
            "Observation",
            &bp_id,
            format!(
                r#"{{"resourceType":"Observation","id":"{bp_id}","status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],"code":{{"coding":[{{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel with all children optional"}}]}},"subject":{{"reference":"{subject}"}},"effectiveDateTime":"{when}","issued":"2015-01-01T10:03:12.442-04:00","component":[{{"code":{{"coding":[{{"system":"http://loinc.org","code":"8462-4","display":"Diastolic Blood Pressure"}}]}},"valueQuantity":{{"value":8{day},"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}}},{{"code":{{"coding":[{{"system":"http://loinc.org","code":"8480-6","display":"Systolic Blood Pressure"}}]}},"valueQuantity":{{"value":12{day},"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}}}]}}"#
            ),
        );
        for (kind, code, display, value, unit) in [
            (3, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "6.8", "%"),
            (4, "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "4.3", "mmol/L"),
            (5, "39156-5", "Body mass index (BMI) [Ratio]", "29.1", "kg/m2"),
            (6, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "2", "{score}"),
        ] {
            let observation_id = id(kind);
            emit(
                "Observation",
                &observation_id,
                format!(
                    r#"{{"resourceType":"Observation","id":"{observation_id}","status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],"code":{{"coding":[{{"system":"http://loinc.org","code":"{code}","display":"{display}"}}],"text":"{display}"}},"subject":{{"reference":"{subject}"}},"encounter":{{"reference":"{}"}},"effectiveDateTime":"{when}","issued":"2015-01-01T10:03:12.442-04:00","valueQuantity":{{"value":{value},"unit":"{unit}","system":"http://unitsofmeasure.org","code":"{unit}"}}}}"#,
                    reference("Encounter", &encounter_id)
                ),
            );
        }
        for kind in [7, 8] {
            let claim_id = id(kind);
            let resource_type = if kind == 7 { "Claim" } else { "ExplanationOfBenefit" };
            let mut items = String::new();
            for sequence in 1..=12 {
                let _ = write!(
                    items,
                    r#"{}{{"sequence":{sequence},"productOrService":{{"coding":[{{"system":"http://snomed.info/sct","code":"185349003","display":"Encounter for check up"}}]}},"encounter":[{{"reference":"{}"}}],"net":{{"value":129.16,"currency":"USD"}},"adjudication":[{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_coinsrnc_amt"}}]}},"amount":{{"value":25.83,"currency":"USD"}}}}]}}"#,
                    if sequence > 1 { "," } else { "" },
                    reference("Encounter", &encounter_id)
                );
            }
            emit(
                resource_type,
                &claim_id,
                format!(
                    r#"{{"resourceType":"{resource_type}","id":"{claim_id}","status":"active","type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}}]}},"use":"claim","patient":{{"reference":"{subject}"}},"billablePeriod":{{"start":"{when}","end":"{when}"}},"created":"{when}","provider":{{"reference":"Organization?identifier=https://github.com/synthetichealth/synthea|abc"}},"item":[{items}],"total":{{"value":1549.92,"currency":"USD"}}}}"#
                ),
            );
        }
    }
}

fn write_bundle(path: &Path, patient: u64, encounters: u64) -> u64 {
    let mut out = String::from(r#"{"resourceType":"Bundle","type":"transaction","entry":["#);
    let mut count = 0;
    patient_resources(patient, encounters, &|_, id| format!("urn:uuid:{id}"), &mut |resource_type, id, json| {
        if count > 0 {
            out.push(',');
        }
        count += 1;
        let _ = write!(
            out,
            r#"{{"fullUrl":"urn:uuid:{id}","resource":{json},"request":{{"method":"POST","url":"{resource_type}"}}}}"#
        );
    });
    out.push_str("]}");
    fs::write(path, out).unwrap();
    count
}

fn write_ndjson(folder: &Path, patients: u64, encounters: u64) -> u64 {
    let mut files: BTreeMap<String, BufWriter<fs::File>> = BTreeMap::new();
    let mut count = 0;
    for patient in 0..patients {
        patient_resources(patient, encounters, &|kind, id| format!("{kind}/{id}"), &mut |resource_type, _, json| {
            count += 1;
            let file = files.entry(resource_type.to_owned()).or_insert_with(|| {
                BufWriter::new(fs::File::create(folder.join(format!("{resource_type}.ndjson"))).unwrap())
            });
            writeln!(file, "{json}").unwrap();
        });
    }
    for (_, mut file) in files {
        file.flush().unwrap();
    }
    count
}
