//! The fixtures read against the catalogue compiled into the build (`data/`), so that the
//! importer and the clinical data agree on codes, units and red flags.

mod common;

use std::path::PathBuf;

use common::*;
use concord_codelists::Catalogue;
use concord_domain::record::{ObservationValue, Quantity};
use concord_import::{Item, read_paths};

fn read_standard(relative: &[&str]) -> Collect {
    let catalogue = Catalogue::standard().expect("the embedded catalogue loads");
    let paths: Vec<PathBuf> = relative.iter().map(|path| fixture(path)).collect();
    let mut sink = Collect::default();
    read_paths(&paths, &catalogue, &options(), &mut sink).expect("fixtures exist");
    sink
}

fn observation(sink: &Collect, key: &str) -> (String, ObservationValue) {
    sink.items()
        .into_iter()
        .find_map(|item| match item {
            Item::Observation { key: found, observation, .. } if found.0 == key => {
                Some((observation.observable.clone().unwrap_or_default(), observation.value.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no observation {key}"))
}

fn value_text(value: &ObservationValue) -> &str {
    match value {
        ObservationValue::Quantity(Quantity { value_text, .. }) => value_text,
        _ => "",
    }
}

#[test]
fn synthea_blood_pressure_and_hba1c_map_to_standard_observables() {
    let sink = read_standard(&["synthea"]);
    let panel = "Observation/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
    let (observable, value) = observation(&sink, &format!("{panel}#systolic"));
    assert_eq!((observable.as_str(), value_text(&value)), ("systolic_bp", "134"));
    let (observable, value) = observation(&sink, &format!("{panel}#diastolic"));
    assert_eq!((observable.as_str(), value_text(&value)), ("diastolic_bp", "82"));
    let (observable, value) = observation(&sink, "Observation/2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f");
    assert_eq!((observable.as_str(), value_text(&value)), ("hba1c", "53"));
    assert!(sink.rejections().is_empty(), "{:#?}", sink.rejections());
}

#[test]
fn standard_red_flags_decide_between_unreadable_and_rejected() {
    let sink = read_standard(&["bad/unknown-units.json"]);
    assert!(matches!(sink.items()[..], [Item::UnreadableResult { .. }]), "{:#?}", sink.events);
    let rejections = sink.rejections();
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].source_key.as_ref().unwrap().0, "Observation/uu-bmi");
    assert_eq!(rejections[0].red_flag_concept, None);
}

#[test]
fn every_fixture_reads_against_the_standard_catalogue() {
    let sink = read_standard(&["."]);
    for item in sink.items() {
        if let Item::Observation { observation, key, .. } = item {
            assert!(observation.observable.is_some(), "{key:?} has no observable");
        }
    }
    assert!(sink.items().len() > 30);
}

#[test]
fn an_mrc_grade_recorded_as_a_code_means_its_grade() {
    let catalogue = Catalogue::standard().unwrap();
    let mut reader = concord_import::Reader::new(&catalogue, options());
    let mut sink = Collect::default();
    reader.read_json(
        r#"{"resourceType":"Observation","id":"mrc","status":"final","subject":{"reference":"Patient/1"},
            "effectiveDateTime":"2026-02-01T10:00:00Z",
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"391124000","display":"MRC Breathlessness Scale: grade 3"}]}}"#,
        std::path::Path::new("inline.json"),
        &mut sink,
    );
    let (observable, value) = observation(&sink, "Observation/mrc");
    assert_eq!((observable.as_str(), value_text(&value)), ("mrc_dyspnoea", "3"));
}
