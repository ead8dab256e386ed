//! The clinical catalogue: codelists, register definitions and observables, loaded from the
//! versioned files in `data/` (embedded in the binary at build time), each with its source.
//!
//! Architecture invariant: no IO at run time. The files are compiled in with `include_str!`, and
//! loading is a pure function of their text, so every build carries exactly one catalogue version.
//! Loading validates everything it reads (code check digits, units, cross-references) and returns
//! an error naming the file and line rather than panicking on bad data.

pub mod check_digit;
pub mod cycle_codes;
pub mod cycle_rules;
pub mod lcs_activity;
mod load;
pub mod result_meanings;
pub mod services;

use std::collections::HashMap;
use std::sync::OnceLock;

use concord_domain::codelist::{Codelist, ObservableDefinition, RegisterDefinition};
use concord_domain::{Code, CodedConcept};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/codelist_files.rs"));
}

/// Id of the codelist of blood-pressure panel codes (LOINC 85354-9, SNOMED 75367002…): a panel is
/// not an observable itself; its systolic and diastolic components are.
pub const BLOOD_PRESSURE_PANEL_CODELIST: &str = "bp-panel";
/// Id of the codelist of encounter types that mean a planned contact (annual reviews, check-ups…).
pub const PLANNED_CONTACT_CODELIST: &str = "planned-contact-types";

#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogueError {
    #[error("{file}: line {line}: {reason}")]
    Invalid { file: String, line: u64, reason: String },
}

/// Every codelist, register and observable Concord knows, indexed for lookup by code.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub codelists: HashMap<String, Codelist>,
    pub registers: Vec<RegisterDefinition>,
    pub observables: Vec<ObservableDefinition>,
    observable_by_code: HashMap<Code, usize>,
    /// Values meant by coded results that carry none (e.g. MRC grade 3 for 391124000).
    implied_values: HashMap<Code, f64>,
    /// Rules of each register that are documented but not applied (from `data/registers.csv`).
    register_notes: HashMap<String, String>,
}

impl Catalogue {
    /// The catalogue compiled into this build from `data/` (a copy of [`Catalogue::shared`]).
    pub fn standard() -> Result<Self, CatalogueError> {
        Self::shared().cloned().map_err(Clone::clone)
    }

    /// The catalogue compiled into this build, loaded once per process and then shared.
    pub fn shared() -> Result<&'static Catalogue, &'static CatalogueError> {
        static SHARED: OnceLock<Result<Catalogue, CatalogueError>> = OnceLock::new();
        SHARED.get_or_init(Self::load_embedded).as_ref()
    }

    fn load_embedded() -> Result<Self, CatalogueError> {
        load::catalogue(&load::Sources {
            codelists: embedded::CODELIST_FILES,
            registers: include_str!("../../../data/registers.csv"),
            observables: include_str!("../../../data/observables.csv"),
            unit_conversions: include_str!("../../../data/unit-conversions.csv"),
        })
    }

    /// Builds a catalogue from parts (used by tests and by `standard`). Fails if two observables claim one code.
    pub fn from_parts(
        codelists: HashMap<String, Codelist>,
        registers: Vec<RegisterDefinition>,
        observables: Vec<ObservableDefinition>,
    ) -> Result<Self, CatalogueError> {
        let mut observable_by_code = HashMap::new();
        for (index, observable) in observables.iter().enumerate() {
            for (code, _) in observable.codes.codes() {
                if let Some(previous) = observable_by_code.insert(code.clone(), index) {
                    return Err(CatalogueError::Invalid {
                        file: "observables".into(),
                        line: 0,
                        reason: format!(
                            "code {code} is listed for both {} and {}",
                            observables[previous].id, observable.id
                        ),
                    });
                }
            }
        }
        Ok(Self {
            codelists,
            registers,
            observables,
            observable_by_code,
            implied_values: HashMap::new(),
            register_notes: HashMap::new(),
        })
    }

    /// The observable a code records (e.g. LOINC 4548-4 and SNOMED 999791000000106 both record HbA1c).
    pub fn observable_for(&self, code: &Code) -> Option<&ObservableDefinition> {
        self.observable_by_code.get(code).map(|&index| &self.observables[index])
    }

    pub fn observable(&self, id: &str) -> Option<&ObservableDefinition> {
        self.observables.iter().find(|observable| observable.id == id)
    }

    pub fn register(&self, id: &str) -> Option<&RegisterDefinition> {
        self.registers.iter().find(|register| register.id == id)
    }

    pub fn codelist(&self, id: &str) -> Option<&Codelist> {
        self.codelists.get(id)
    }

    /// Whether a code is on any register's diagnosis or resolved codelist. UK GP extracts often
    /// record such codes as coded entries (FHIR Observations) rather than problems (Conditions):
    /// e.g. "Diabetes resolved" or an electronic frailty index category. The importer keeps them as
    /// conditions so that register rules see them.
    pub fn is_register_code(&self, code: &Code) -> bool {
        self.registers.iter().any(|register| {
            register.diagnosis.contains(code)
                || register.resolved.as_ref().is_some_and(|resolved| resolved.contains(code))
        })
    }

    /// Whether a result with this code could raise a red flag (see `ObservableDefinition::red_flag_capable`).
    pub fn is_red_flag_capable(&self, code: &Code) -> bool {
        self.observable_for(code).is_some_and(|observable| observable.red_flag_capable)
    }

    /// The value a coded result means when it carries none, e.g. 3 for "MRC Breathlessness Scale:
    /// grade 3". `None` for codes that need a recorded value.
    pub fn implied_value(&self, code: &Code) -> Option<f64> {
        self.implied_values.get(code).copied()
    }

    /// Whether the code is a blood-pressure panel whose components carry the readings.
    pub fn is_blood_pressure_panel(&self, code: &Code) -> bool {
        self.codelist(BLOOD_PRESSURE_PANEL_CODELIST).is_some_and(|panels| panels.contains(code))
    }

    /// Whether an encounter of this type is a planned contact (a review, check-up or immunisation).
    /// Suits `concord_domain::record::is_unscheduled_gp_contact` as its `is_planned_kind`.
    pub fn is_planned_contact_type(&self, kind: &CodedConcept) -> bool {
        self.codelist(PLANNED_CONTACT_CODELIST).is_some_and(|planned| planned.contains(&kind.code))
    }

    /// Register rules documented in `data/registers.csv` but not applied by `RegisterDefinition::includes`.
    pub fn register_note(&self, id: &str) -> Option<&str> {
        self.register_notes.get(id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests;

mod red_flags;
pub use red_flags::{
    MEDICINE_CLASSES_FILE, MedicineClasses, RED_FLAGS_FILE, RedFlagTable, medicine_classes, red_flag_rules,
};
