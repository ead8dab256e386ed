//! Codelists, registers and observables: clinical rules held as data with their source.
//!
//! The definitions themselves live in `data/` (loaded by the `concord-codelists` crate); this
//! module holds their shape and the pure rules that apply them.

use std::collections::HashMap;

use time::Date;

use crate::code::Code;
use crate::patient::Patient;
use crate::record::{Condition, ConditionStatus};
use crate::units::{LinearConversion, Ucum, round_to};

/// A versioned list of codes, each with its term, and where the list came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Codelist {
    pub id: String,
    pub version: String,
    pub source: String,
    terms: HashMap<Code, String>,
}

impl Codelist {
    pub fn new(id: impl Into<String>, version: impl Into<String>, source: impl Into<String>) -> Self {
        Self { id: id.into(), version: version.into(), source: source.into(), terms: HashMap::new() }
    }

    /// Adds a code; returns false if it was already listed.
    pub fn insert(&mut self, code: Code, term: impl Into<String>) -> bool {
        self.terms.insert(code, term.into()).is_none()
    }

    pub fn contains(&self, code: &Code) -> bool {
        self.terms.contains_key(code)
    }

    pub fn term(&self, code: &Code) -> Option<&str> {
        self.terms.get(code).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn codes(&self) -> impl Iterator<Item = (&Code, &str)> {
        self.terms.iter().map(|(code, term)| (code, term.as_str()))
    }
}

/// A long-term condition register, defined as QOF defines its registers: people with a diagnosis
/// code from a codelist, not later resolved, alive and currently registered, within age limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterDefinition {
    /// Stable id used in reports, e.g. `"diabetes"`, `"copd"`, `"ckd"`.
    pub id: String,
    pub name: String,
    pub diagnosis: Codelist,
    /// Codes that end register membership when recorded after the latest diagnosis (e.g. "diabetes resolved").
    pub resolved: Option<Codelist>,
    pub minimum_age: Option<i32>,
    /// Only diagnoses on or after this date count (e.g. QOF depression: from 1 April 2006).
    pub diagnosed_on_or_after: Option<Date>,
    pub source: String,
    /// How a letter to the person names the condition ("high blood pressure"); `None`: letters
    /// do not name it.
    pub plain_name: Option<String>,
}

impl RegisterDefinition {
    /// Whether the person is on this register on `on`, by the QOF-style rule above.
    /// Conditions recorded in error never count; a condition whose status is resolved, or whose
    /// resolution date has passed, no longer counts.
    pub fn includes(&self, patient: &Patient, conditions: &[Condition], on: Date) -> bool {
        if !patient.is_alive_on(on) || !patient.is_registered_on(on) {
            return false;
        }
        if self.minimum_age.is_some_and(|minimum| patient.age_on(on) < minimum) {
            return false;
        }
        let mut latest_diagnosis: Option<Option<Date>> = None;
        for condition in conditions {
            if condition.status == ConditionStatus::EnteredInError || !self.diagnosis.contains(&condition.concept.code)
            {
                continue;
            }
            let effective = condition.effective_date();
            if effective.is_some_and(|date| date > on) {
                continue;
            }
            if let (Some(earliest), Some(date)) = (self.diagnosed_on_or_after, effective)
                && date < earliest
            {
                continue;
            }
            let resolved_by_now = condition.status == ConditionStatus::Resolved
                && condition.resolved.is_none_or(|resolved| resolved <= on);
            let resolved_by_date = condition.resolved.is_some_and(|resolved| resolved <= on);
            if resolved_by_now || resolved_by_date {
                continue;
            }
            latest_diagnosis = Some(match latest_diagnosis {
                Some(Some(previous)) => Some(effective.map_or(previous, |date| date.max(previous))),
                Some(None) | None => effective,
            });
        }
        let Some(latest_diagnosis) = latest_diagnosis else {
            return false;
        };
        let Some(resolved_codes) = &self.resolved else {
            return true;
        };
        !conditions.iter().any(|condition| {
            condition.status != ConditionStatus::EnteredInError
                && resolved_codes.contains(&condition.concept.code)
                && match (condition.effective_date(), latest_diagnosis) {
                    (Some(resolved), Some(diagnosed)) => resolved >= diagnosed && resolved <= on,
                    (Some(resolved), None) => resolved <= on,
                    (None, _) => true,
                }
        })
    }
}

/// Something measured in a review (HbA1c, systolic blood pressure, eGFR…), the codes that record
/// it in SNOMED CT and LOINC, its canonical unit and the conversions accepted into it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservableDefinition {
    pub id: String,
    pub name: String,
    pub codes: Codelist,
    /// `None` for coded findings with no numeric value (e.g. smoking status, foot risk).
    pub canonical_unit: Option<Ucum>,
    /// Decimal places kept after a conversion.
    pub decimals: u32,
    pub conversions: Vec<(Ucum, LinearConversion)>,
    /// Values outside this range cannot be real measurements and are refused (e.g. HbA1c 4000).
    pub plausible_range: Option<(f64, f64)>,
    /// Results of this observable can raise a red flag (e.g. potassium, eGFR, blood pressure), so a
    /// result that cannot be read must stay visible to a clinician rather than be dropped.
    pub red_flag_capable: bool,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("unit {unit:?} is not accepted for {observable} (expected {expected})")]
    UnitNotAccepted { observable: String, unit: String, expected: String },
    #[error("{observable} has no numeric value")]
    NotNumeric { observable: String },
    #[error("{value} {unit} is outside the plausible range for {observable} ({low} to {high})")]
    Implausible { observable: String, value: f64, unit: String, low: f64, high: f64 },
}

impl ObservableDefinition {
    /// Converts a value in `unit` to the canonical unit, refusing units not listed for this observable.
    /// Returns the converted value and, when a conversion happened, its decimal text.
    pub fn to_canonical(&self, value: f64, unit: &Ucum) -> Result<(f64, Ucum, bool), ValueError> {
        let Some(canonical) = &self.canonical_unit else {
            return Err(ValueError::NotNumeric { observable: self.id.clone() });
        };
        let (converted, changed) = if unit == canonical {
            (value, false)
        } else if let Some((_, conversion)) = self.conversions.iter().find(|(from, _)| from == unit) {
            (round_to(conversion.apply(value), self.decimals), true)
        } else {
            let mut expected = vec![canonical.as_str().to_owned()];
            expected.extend(self.conversions.iter().map(|(from, _)| from.as_str().to_owned()));
            return Err(ValueError::UnitNotAccepted {
                observable: self.id.clone(),
                unit: unit.as_str().to_owned(),
                expected: expected.join(", "),
            });
        };
        if let Some((low, high)) = self.plausible_range
            && !(low..=high).contains(&converted)
        {
            return Err(ValueError::Implausible {
                observable: self.id.clone(),
                value: converted,
                unit: canonical.as_str().to_owned(),
                low,
                high,
            });
        }
        Ok((converted, canonical.clone(), changed))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::code::CodedConcept;
    use crate::organisation::OdsCode;
    use crate::patient::{Registration, Sex};

    fn diabetes_register() -> RegisterDefinition {
        let mut diagnosis = Codelist::new("diabetes", "test", "test");
        diagnosis.insert(Code::snomed("44054006"), "Type 2 diabetes mellitus");
        let mut resolved = Codelist::new("diabetes-resolved", "test", "test");
        resolved.insert(Code::snomed("315051004"), "Diabetes resolved");
        RegisterDefinition {
            id: "diabetes".into(),
            name: "Diabetes".into(),
            diagnosis,
            resolved: Some(resolved),
            minimum_age: Some(17),
            diagnosed_on_or_after: None,
            source: "test".into(),
            plain_name: None,
        }
    }

    fn person(born: Date) -> Patient {
        Patient {
            nhs_number: None,
            nhs_number_verification: None,
            local_identifiers: vec![],
            name: Default::default(),
            birth_date: born,
            sex: Sex::Female,
            address: Default::default(),
            death_date: None,
            registration: Some(Registration { practice: OdsCode::parse("F83004").unwrap(), start: None, end: None }),
            contact: Default::default(),
            communication: Default::default(),
        }
    }

    fn condition(code: &str, onset: Date, status: ConditionStatus) -> Condition {
        Condition {
            concept: CodedConcept { code: Code::snomed(code), term: String::new() },
            onset: Some(onset),
            resolved: None,
            status,
            recorded: None,
        }
    }

    const ON: Date = date!(2026 - 11 - 23);

    #[test]
    fn an_adult_with_an_active_code_is_on_the_register() {
        let register = diabetes_register();
        let conditions = [condition("44054006", date!(2015 - 01 - 01), ConditionStatus::Active)];
        assert!(register.includes(&person(date!(1960 - 01 - 01)), &conditions, ON));
    }

    #[test]
    fn age_limit_death_deregistration_and_error_codes_exclude() {
        let register = diabetes_register();
        let conditions = [condition("44054006", date!(2025 - 01 - 01), ConditionStatus::Active)];
        assert!(!register.includes(&person(date!(2010 - 01 - 01)), &conditions, ON), "aged 16");

        let mut died = person(date!(1950 - 01 - 01));
        died.death_date = Some(date!(2026 - 01 - 01));
        assert!(!register.includes(&died, &conditions, ON));

        let mut left = person(date!(1950 - 01 - 01));
        left.registration.as_mut().unwrap().end = Some(date!(2026 - 06 - 01));
        assert!(!register.includes(&left, &conditions, ON));

        let in_error = [condition("44054006", date!(2025 - 01 - 01), ConditionStatus::EnteredInError)];
        assert!(!register.includes(&person(date!(1950 - 01 - 01)), &in_error, ON));
    }

    #[test]
    fn a_later_resolved_code_removes_and_a_later_diagnosis_restores() {
        let register = diabetes_register();
        let adult = person(date!(1950 - 01 - 01));
        let resolved_after = [
            condition("44054006", date!(2015 - 01 - 01), ConditionStatus::Active),
            condition("315051004", date!(2020 - 01 - 01), ConditionStatus::Active),
        ];
        assert!(!register.includes(&adult, &resolved_after, ON));
        let diagnosed_again = [
            condition("44054006", date!(2015 - 01 - 01), ConditionStatus::Active),
            condition("315051004", date!(2020 - 01 - 01), ConditionStatus::Active),
            condition("44054006", date!(2024 - 01 - 01), ConditionStatus::Active),
        ];
        assert!(register.includes(&adult, &diagnosed_again, ON));
    }

    #[test]
    fn a_resolved_fhir_condition_does_not_count() {
        let register = diabetes_register();
        let mut resolved = condition("44054006", date!(2015 - 01 - 01), ConditionStatus::Active);
        resolved.resolved = Some(date!(2019 - 01 - 01));
        assert!(!register.includes(&person(date!(1950 - 01 - 01)), &[resolved], ON));
    }

    #[test]
    fn observables_convert_listed_units_and_refuse_others() {
        let hba1c = ObservableDefinition {
            id: "hba1c".into(),
            name: "HbA1c".into(),
            codes: Codelist::new("hba1c", "t", "t"),
            canonical_unit: Some(Ucum::new("mmol/mol")),
            decimals: 0,
            conversions: vec![(Ucum::new("%"), LinearConversion { scale: 10.929, offset: -23.497 })],
            plausible_range: Some((10.0, 250.0)),
            red_flag_capable: true,
            source: "t".into(),
        };
        assert_eq!(hba1c.to_canonical(7.0, &Ucum::new("%")).unwrap().0, 53.0);
        assert_eq!(hba1c.to_canonical(53.0, &Ucum::new("mmol/mol")).unwrap().0, 53.0);
        assert!(matches!(hba1c.to_canonical(53.0, &Ucum::new("mmol/L")), Err(ValueError::UnitNotAccepted { .. })));
        assert!(matches!(hba1c.to_canonical(4000.0, &Ucum::new("mmol/mol")), Err(ValueError::Implausible { .. })));
    }
}
