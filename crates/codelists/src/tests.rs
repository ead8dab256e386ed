//! Tests of the catalogue as shipped in `data/` and of the loader's refusals.

use std::collections::BTreeSet;

use concord_domain::units::{Ucum, normalise_unit};
use concord_domain::{Code, CodeSystem, CodedConcept};

use super::*;
use crate::check_digit::{is_valid_loinc, is_valid_sctid};

fn standard() -> &'static Catalogue {
    match Catalogue::shared() {
        Ok(catalogue) => catalogue,
        Err(error) => panic!("standard catalogue does not load: {error}"),
    }
}

const REGISTER_IDS: [&str; 11] = [
    "diabetes",
    "copd",
    "hypertension",
    "asthma",
    "ckd",
    "chd",
    "heart_failure",
    "atrial_fibrillation",
    "stroke_tia",
    "depression",
    "frailty",
];

#[test]
fn the_standard_catalogue_loads_and_is_shared() {
    let catalogue = standard();
    assert!(std::ptr::eq(catalogue, standard()), "loaded once");
    let copy = Catalogue::standard().expect("standard");
    assert_eq!(copy.registers.len(), catalogue.registers.len());
    assert_eq!(copy.codelists.len(), catalogue.codelists.len());
}

#[test]
fn every_register_exists_with_its_rules() {
    let catalogue = standard();
    for id in REGISTER_IDS {
        let register = catalogue.register(id).unwrap_or_else(|| panic!("register {id}"));
        assert!(!register.diagnosis.is_empty(), "{id}");
        assert!(!register.source.is_empty(), "{id}");
    }
    assert_eq!(catalogue.registers.len(), REGISTER_IDS.len());
    assert_eq!(catalogue.register("diabetes").unwrap().minimum_age, Some(17));
    assert_eq!(catalogue.register("ckd").unwrap().minimum_age, Some(18));
    let depression = catalogue.register("depression").unwrap();
    assert_eq!(depression.minimum_age, Some(18));
    assert_eq!(depression.diagnosed_on_or_after, Some(time::macros::date!(2006 - 04 - 01)));
    assert!(catalogue.register_note("asthma").unwrap().contains("not applied"));
    assert!(catalogue.register_note("copd").unwrap().contains("not applied"));
}

#[test]
fn registers_hold_the_codes_records_carry() {
    let catalogue = standard();
    let has =
        |register: &str, code: &str| catalogue.register(register).unwrap().diagnosis.contains(&Code::snomed(code));
    for (register, code) in [
        ("diabetes", "73211009"),
        ("diabetes", "44054006"),
        ("diabetes", "46635009"),
        ("diabetes", "368581000119106"), // Synthea: neuropathy due to type 2 diabetes
        ("copd", "13645005"),
        ("copd", "185086009"),
        ("copd", "87433001"),
        ("hypertension", "38341003"),
        ("hypertension", "59621000"),
        ("asthma", "195967001"),
        ("asthma", "233678006"),
        ("ckd", "433144002"),
        ("ckd", "700378005"),
        ("ckd", "324311000000101"),
        ("ckd", "46177005"),
        ("chd", "53741008"),
        ("chd", "22298006"),
        ("chd", "194828000"),
        ("heart_failure", "84114007"),
        ("heart_failure", "88805009"),
        ("atrial_fibrillation", "49436004"),
        ("atrial_fibrillation", "5370000"),
        ("stroke_tia", "230690007"),
        ("stroke_tia", "266257000"),
        ("stroke_tia", "1078001000000105"), // haemorrhagic stroke is on STRK_COD
        ("depression", "370143000"),
        ("depression", "35489007"),
        ("frailty", "925831000000107"),
    ] {
        assert!(has(register, code), "{register} should list {code}");
    }
    // Not registers: prediabetes, CKD stages 1-2.
    for (register, code) in
        [("diabetes", "714628002"), ("diabetes", "15777000"), ("ckd", "431855005"), ("ckd", "431856006")]
    {
        assert!(!has(register, code), "{register} should not list {code}");
    }
    let ckd_resolved = catalogue.register("ckd").unwrap().resolved.as_ref().unwrap();
    assert!(ckd_resolved.contains(&Code::snomed("431856006")), "a later stage 2 code ends CKD 3-5 membership");
}

#[test]
fn every_code_in_data_passes_its_check_digit() {
    let catalogue = standard();
    let mut checked = 0;
    for codelist in catalogue.codelists.values() {
        for (code, _) in codelist.codes() {
            let valid = match code.system {
                CodeSystem::Snomed | CodeSystem::Dmd => is_valid_sctid(&code.code),
                CodeSystem::Loinc => is_valid_loinc(&code.code),
                _ => true,
            };
            assert!(valid, "{} in {}", code, codelist.id);
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} codes checked");
}

#[test]
fn every_codelist_file_is_embedded_and_loaded() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/codelists");
    let on_disk: BTreeSet<String> = std::fs::read_dir(directory)
        .expect("data/codelists")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".csv"))
        .collect();
    let embedded: BTreeSet<String> = embedded::CODELIST_FILES.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(on_disk, embedded);
    let loaded: BTreeSet<String> = standard().codelists.keys().map(|id| format!("{id}.csv")).collect();
    assert_eq!(loaded, embedded);
}

#[test]
fn codes_find_their_observable() {
    let catalogue = standard();
    let id = |code: Code| catalogue.observable_for(&code).map(|observable| observable.id.as_str());
    assert_eq!(id(Code::loinc("4548-4")), Some("hba1c"));
    assert_eq!(id(Code::loinc("59261-8")), Some("hba1c"));
    assert_eq!(id(Code::snomed("999791000000106")), Some("hba1c"));
    assert_eq!(id(Code::loinc("8480-6")), Some("systolic_bp"));
    assert_eq!(id(Code::loinc("8462-4")), Some("diastolic_bp"));
    assert_eq!(id(Code::snomed("1011481000000105")), Some("egfr"));
    assert_eq!(id(Code::loinc("33914-3")), Some("egfr"));
    assert_eq!(id(Code::loinc("72166-2")), Some("smoking_status"));
    assert_eq!(id(Code::loinc("85354-9")), None, "a panel is not an observable");
    assert!(catalogue.is_blood_pressure_panel(&Code::loinc("85354-9")));
    assert!(catalogue.is_blood_pressure_panel(&Code::snomed("75367002")));
    assert!(catalogue.is_red_flag_capable(&Code::snomed("1000651000000109")), "potassium");
    assert!(!catalogue.is_red_flag_capable(&Code::loinc("39156-5")), "BMI");
}

#[test]
fn every_required_observable_exists_with_a_normalised_unit() {
    let catalogue = standard();
    for id in [
        "hba1c",
        "systolic_bp",
        "diastolic_bp",
        "total_cholesterol",
        "hdl_cholesterol",
        "ldl_cholesterol",
        "non_hdl_cholesterol",
        "triglycerides",
        "egfr",
        "creatinine",
        "urine_acr",
        "potassium",
        "sodium",
        "glucose",
        "bmi",
        "weight",
        "height",
        "heart_rate",
        "spo2",
        "fev1",
        "fev1_fvc_ratio",
        "mrc_dyspnoea",
        "copd_exacerbations",
        "cat_score",
        "phq2",
        "phq9",
        "smoking_status",
        "foot_risk",
        "retinal_screening",
        "foot_examination",
    ] {
        let observable = catalogue.observable(id).unwrap_or_else(|| panic!("observable {id}"));
        if let Some(unit) = &observable.canonical_unit {
            assert_eq!(normalise_unit(unit.as_str()).as_ref(), Some(unit), "{id}");
        }
    }
    assert_eq!(catalogue.observable("smoking_status").unwrap().canonical_unit, None);
}

#[test]
fn conversions_reach_the_canonical_unit() {
    let catalogue = standard();
    let convert = |id: &str, value: f64, unit: &str| {
        let observable = catalogue.observable(id).unwrap();
        observable.to_canonical(value, &Ucum::new(unit)).map(|(value, _, _)| value)
    };
    assert_eq!(convert("hba1c", 7.0, "%"), Ok(53.0));
    assert_eq!(convert("hba1c", 6.5, "%"), Ok(48.0));
    assert_eq!(convert("total_cholesterol", 193.0, "mg/dL"), Ok(5.0));
    assert_eq!(convert("triglycerides", 150.0, "mg/dL"), Ok(1.7));
    assert_eq!(convert("creatinine", 1.0, "mg/dL"), Ok(88.0));
    assert_eq!(convert("glucose", 126.0, "mg/dL"), Ok(7.0));
    assert_eq!(convert("urine_acr", 30.0, "mg/g"), Ok(3.4));
    assert_eq!(convert("height", 1.72, "m"), Ok(172.0));
    assert_eq!(convert("fev1", 2350.0, "mL"), Ok(2.35));
    assert_eq!(convert("fev1_fvc_ratio", 0.68, "{score}"), Ok(68.0));
    assert!(convert("hba1c", 53.0, "mmol/L").is_err(), "unlisted unit refused");
    assert!(convert("potassium", 40.0, "mmol/L").is_err(), "implausible value refused");
}

#[test]
fn coded_grades_imply_their_value() {
    let catalogue = standard();
    assert_eq!(catalogue.implied_value(&Code::snomed("391124000")), Some(3.0));
    assert_eq!(catalogue.observable_for(&Code::snomed("391124000")).unwrap().id, "mrc_dyspnoea");
    assert_eq!(catalogue.implied_value(&Code::loinc("4548-4")), None);
}

#[test]
fn planned_contact_types_are_recognised() {
    let catalogue = standard();
    let concept = |code: &str| CodedConcept { code: Code::snomed(code), term: String::new() };
    assert!(catalogue.is_planned_contact_type(&concept("394703002")), "COPD annual review");
    assert!(catalogue.is_planned_contact_type(&concept("185349003")), "Synthea check-up");
    assert!(!catalogue.is_planned_contact_type(&concept("185347001")), "encounter for problem");
}

// Loader refusals, on small synthetic catalogues.

const REGISTERS: &str = "id,name,diagnosis_codelist,resolved_codelist,minimum_age,diagnosed_on_or_after,source,note\n";
const OBSERVABLES: &str =
    "id,name,codelist,canonical_unit,decimals,plausible_low,plausible_high,red_flag_capable,source\n";
const CONVERSIONS: &str = "observable,unit,scale,offset,source\n";

fn codelist_text(id: &str, rows: &str) -> String {
    format!("# id: {id}\n# version: test\n# source: test\nsystem,code,term\n{rows}")
}

fn load(
    codelists: &[(&str, &str)],
    registers: &str,
    observables: &str,
    conversions: &str,
) -> Result<Catalogue, CatalogueError> {
    load::catalogue(&load::Sources { codelists, registers, observables, unit_conversions: conversions })
}

fn refusal(result: Result<Catalogue, CatalogueError>) -> (String, u64, String) {
    match result {
        Ok(_) => panic!("expected the loader to refuse"),
        Err(CatalogueError::Invalid { file, line, reason }) => (file, line, reason),
    }
}

#[test]
fn a_code_with_a_wrong_check_digit_is_refused_with_file_and_line() {
    let text = codelist_text("dm", "snomed,44054006,Type 2 diabetes\nsnomed,73211008,Diabetes typo\n");
    let (file, line, reason) = refusal(load(&[("dm.csv", &text)], REGISTERS, OBSERVABLES, CONVERSIONS));
    assert_eq!(file, "data/codelists/dm.csv");
    assert_eq!(line, 6);
    assert!(reason.contains("73211008"), "{reason}");

    let text = codelist_text("hba1c", "loinc,4548-3,HbA1c typo\n");
    let (_, line, _) = refusal(load(&[("hba1c.csv", &text)], REGISTERS, OBSERVABLES, CONVERSIONS));
    assert_eq!(line, 5);
}

#[test]
fn a_code_in_two_observables_is_refused() {
    let first = codelist_text("a", "loinc,4548-4,HbA1c\n");
    let second = codelist_text("b", "loinc,4548-4,HbA1c again\n");
    let observables = format!(
        "{OBSERVABLES}hba1c,HbA1c,a,mmol/mol,0,15,200,true,test\nglycated,Glycated,b,mmol/mol,0,15,200,true,test\n"
    );
    let (_, _, reason) = refusal(load(&[("a.csv", &first), ("b.csv", &second)], REGISTERS, &observables, CONVERSIONS));
    assert!(reason.contains("4548-4"), "{reason}");
}

#[test]
fn references_units_and_metadata_are_checked() {
    let list = codelist_text("dm", "snomed,44054006,Type 2 diabetes\n");
    let codelists = [("dm.csv", list.as_str())];

    let registers = format!("{REGISTERS}diabetes,Diabetes,missing,,17,,test,\n");
    let (file, line, reason) = refusal(load(&codelists, &registers, OBSERVABLES, CONVERSIONS));
    assert_eq!((file.as_str(), line), ("data/registers.csv", 2));
    assert!(reason.contains("missing"), "{reason}");

    let observables = format!("{OBSERVABLES}x,X,dm,mmHg,0,,,false,test\n");
    let (_, _, reason) = refusal(load(&codelists, REGISTERS, &observables, CONVERSIONS));
    assert!(reason.contains("mm[Hg]"), "non-UCUM spelling refused: {reason}");

    let observables = format!("{OBSERVABLES}x,X,dm,mmol/L,1,1,10,false,test\n");
    let conversions = format!("{CONVERSIONS}x,furlongs,1,0,test\n");
    let (file, _, reason) = refusal(load(&codelists, REGISTERS, &observables, &conversions));
    assert_eq!(file, "data/unit-conversions.csv");
    assert!(reason.contains("furlongs"), "{reason}");

    let wrong_id = codelist_text("other", "snomed,44054006,Type 2 diabetes\n");
    let (_, _, reason) = refusal(load(&[("dm.csv", &wrong_id)], REGISTERS, OBSERVABLES, CONVERSIONS));
    assert!(reason.contains("does not match"), "{reason}");

    let unknown_system = codelist_text("dm", "icd10,E11,Type 2 diabetes\n");
    let (_, _, reason) = refusal(load(&[("dm.csv", &unknown_system)], REGISTERS, OBSERVABLES, CONVERSIONS));
    assert!(reason.contains("icd10"), "{reason}");

    let duplicate = codelist_text("dm", "snomed,44054006,Type 2 diabetes\nsnomed,44054006,Again\n");
    let (_, line, _) = refusal(load(&[("dm.csv", &duplicate)], REGISTERS, OBSERVABLES, CONVERSIONS));
    assert_eq!(line, 6);
}
