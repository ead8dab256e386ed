//! The clinical catalogue: codelists, register definitions and observables, loaded from the
//! versioned files in `data/` (embedded in the binary at build time), each with its source.
//!
//! Architecture invariant: no IO at run time. The files are compiled in with `include_str!`, and
//! loading is a pure function of their text, so every build carries exactly one catalogue version.

use std::collections::HashMap;

use concord_domain::Code;
use concord_domain::codelist::{Codelist, ObservableDefinition, RegisterDefinition};

#[derive(Debug, thiserror::Error)]
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
}

impl Catalogue {
    /// The catalogue compiled into this build from `data/`.
    pub fn standard() -> Result<Self, CatalogueError> {
        todo!("load data/ files")
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
        Ok(Self { codelists, registers, observables, observable_by_code })
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

    /// Whether a result with this code could raise a red flag (see `ObservableDefinition::red_flag_capable`).
    pub fn is_red_flag_capable(&self, code: &Code) -> bool {
        self.observable_for(code).is_some_and(|observable| observable.red_flag_capable)
    }
}
