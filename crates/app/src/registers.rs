//! Long-term condition registers: who is on which register on a given date, by the catalogue's
//! QOF-style rules.

use std::collections::BTreeMap;

use time::Date;

use crate::{AppError, Concord};

/// Patient counts by register id, for one practice or the whole database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterCounts {
    pub on: Date,
    pub practice: Option<String>,
    pub patients_considered: u64,
    pub counts: BTreeMap<String, u64>,
}

impl Concord {
    /// Counts people on each register on `on`. Every register in the catalogue appears, with zero
    /// when nobody is on it.
    pub async fn register_counts(&self, on: Date, practice: Option<&str>) -> Result<RegisterCounts, AppError> {
        let mut counts: BTreeMap<String, u64> =
            self.catalogue.registers.iter().map(|register| (register.id.clone(), 0)).collect();
        let registers = &self.catalogue.registers;
        let patients_considered = self
            .store
            .for_each_register_patient(practice, |entry| {
                for register in registers {
                    if register.includes(&entry.patient, &entry.conditions, on) {
                        *counts.get_mut(&register.id).expect("every register has a count") += 1;
                    }
                }
            })
            .await?;
        Ok(RegisterCounts { on, practice: practice.map(str::to_owned), patients_considered, counts })
    }

    /// The registers one patient is on (ids and names), for the patient summary.
    pub fn registers_for(
        &self,
        patient: &concord_domain::Patient,
        conditions: &[concord_domain::record::Condition],
        on: Date,
    ) -> Vec<(String, String)> {
        self.catalogue
            .registers
            .iter()
            .filter(|register| register.includes(patient, conditions, on))
            .map(|register| (register.id.clone(), register.name.clone()))
            .collect()
    }
}
