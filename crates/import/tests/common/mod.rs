//! Shared test support: a small catalogue, a sink that records what it receives, fixture paths.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use concord_codelists::Catalogue;
use concord_domain::Code;
use concord_domain::codelist::{Codelist, ObservableDefinition};
use concord_domain::units::{LinearConversion, Ucum};
use concord_import::{Item, Location, ReadOptions, ReadSummary, Rejection, Sink, read_paths};
use time::macros::date;

/// What a sink received, in order (progress reports are kept apart).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Item(Location, Item),
    Rejected(Rejection),
    Skipped(String),
}

#[derive(Debug, Default)]
pub struct Collect {
    pub events: Vec<Event>,
    pub progress: Vec<u64>,
}

impl Sink for Collect {
    fn item(&mut self, location: &Location, item: Item) {
        self.events.push(Event::Item(location.clone(), item));
    }

    fn reject(&mut self, rejection: Rejection) {
        self.events.push(Event::Rejected(rejection));
    }

    fn skipped(&mut self, resource_type: &str) {
        self.events.push(Event::Skipped(resource_type.to_owned()));
    }

    fn progress(&mut self, bytes_read: u64) {
        self.progress.push(bytes_read);
    }
}

impl Collect {
    pub fn items(&self) -> Vec<&Item> {
        self.events
            .iter()
            .filter_map(|event| if let Event::Item(_, item) = event { Some(item) } else { None })
            .collect()
    }

    pub fn rejections(&self) -> Vec<&Rejection> {
        self.events
            .iter()
            .filter_map(|event| if let Event::Rejected(rejection) = event { Some(rejection) } else { None })
            .collect()
    }

    pub fn skipped(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|event| if let Event::Skipped(label) = event { Some(label.as_str()) } else { None })
            .collect()
    }
}

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

pub fn options() -> ReadOptions {
    ReadOptions { extract_date: date!(2026 - 11 - 23), source_system: "test-gp-system".into() }
}

pub fn read(relative: &[&str]) -> (Collect, ReadSummary) {
    let catalogue = catalogue();
    let paths: Vec<PathBuf> = relative.iter().map(|path| fixture(path)).collect();
    let mut sink = Collect::default();
    let summary = read_paths(&paths, &catalogue, &options(), &mut sink).expect("fixtures exist");
    (sink, summary)
}

fn codelist(id: &str, codes: &[Code]) -> Codelist {
    let mut list = Codelist::new(id, "test", "test");
    for code in codes {
        list.insert(code.clone(), code.code.clone());
    }
    list
}

fn observable(
    id: &str,
    codes: &[Code],
    unit: Option<&str>,
    decimals: u32,
    range: Option<(f64, f64)>,
    red_flag_capable: bool,
) -> ObservableDefinition {
    ObservableDefinition {
        id: id.into(),
        name: id.replace('_', " "),
        codes: codelist(id, codes),
        canonical_unit: unit.map(Ucum::new),
        decimals,
        conversions: vec![],
        plausible_range: range,
        red_flag_capable,
        source: "test".into(),
    }
}

/// HbA1c, blood pressure, potassium and eGFR (red-flag capable), BMI (not), smoking status (coded).
pub fn catalogue() -> Catalogue {
    let mut hba1c = observable(
        "hba1c",
        &[
            Code::snomed("999791000000106"),
            Code::snomed("1019431000000105"),
            Code::loinc("4548-4"),
            Code::loinc("59261-8"),
        ],
        Some("mmol/mol"),
        0,
        Some((15.0, 200.0)),
        true,
    );
    hba1c.conversions = vec![(Ucum::new("%"), LinearConversion { scale: 10.929, offset: -23.497 })];
    let observables = vec![
        hba1c,
        observable(
            "systolic_bp",
            &[Code::loinc("8480-6"), Code::snomed("271649006")],
            Some("mm[Hg]"),
            0,
            Some((50.0, 300.0)),
            true,
        ),
        observable(
            "diastolic_bp",
            &[Code::loinc("8462-4"), Code::snomed("271650006")],
            Some("mm[Hg]"),
            0,
            Some((20.0, 200.0)),
            true,
        ),
        observable(
            "potassium",
            &[Code::loinc("2823-3"), Code::loinc("6298-4")],
            Some("mmol/L"),
            1,
            Some((1.0, 10.0)),
            true,
        ),
        observable("egfr", &[Code::snomed("1011481000000105")], Some("mL/min/{1.73_m2}"), 0, Some((1.0, 200.0)), true),
        observable(
            "bmi",
            &[Code::loinc("39156-5"), Code::snomed("60621009")],
            Some("kg/m2"),
            1,
            Some((8.0, 120.0)),
            false,
        ),
        observable("smoking_status", &[Code::snomed("8517006"), Code::snomed("266919005")], None, 0, None, false),
    ];
    Catalogue::from_parts(HashMap::new(), vec![], observables).expect("no code is claimed twice")
}
