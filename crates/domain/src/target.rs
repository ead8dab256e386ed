//! Targets for results. Default targets are data with their source (`data/targets.csv`), chosen by
//! the person's conditions, age and frailty; a clinician sets each person's own target.
//!
//! Invariant: only a target a clinician has set for this person is ever called "your target";
//! a default is always labelled as a default.

use time::Date;

use crate::criterion::{Comparison, Condition};
use crate::snapshot::PersonSnapshot;

/// A default target from `data/targets.csv`. The first row (in file order) whose register and
/// condition match the person applies.
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultTarget {
    pub id: String,
    pub observable: String,
    /// Register the target is for, or `None` for anyone.
    pub register: Option<String>,
    pub applies_when: Condition,
    pub comparison: Comparison,
    pub value: f64,
    pub source: String,
}

/// A target a clinician set for one person.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalTarget {
    pub observable: String,
    pub comparison: Comparison,
    pub value: f64,
    pub set_on: Date,
    /// Display name of the clinician who set it.
    pub set_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Personal,
    Default,
}

/// The target that applies to a result, and whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub observable: String,
    pub comparison: Comparison,
    pub value: f64,
    pub kind: TargetKind,
    /// For a default, the guideline it comes from; for a personal target, who set it and when.
    pub basis: String,
}

impl Target {
    /// The heading a screen or letter shows: never "your target" for a default.
    pub fn label(&self) -> &'static str {
        match self.kind {
            TargetKind::Personal => "Your target",
            TargetKind::Default => "Usual target (default, not yet agreed with you)",
        }
    }

    pub fn is_met_by(&self, value: f64) -> bool {
        self.comparison.holds(value, self.value)
    }
}

/// The target for `observable`: the person's own if a clinician set one, else the first default
/// that applies, else none.
pub fn target_for(
    defaults: &[DefaultTarget],
    personal: &[PersonalTarget],
    person: &PersonSnapshot,
    observable: &str,
) -> Option<Target> {
    if let Some(own) = personal.iter().filter(|target| target.observable == observable).max_by_key(|t| t.set_on) {
        return Some(Target {
            observable: observable.to_owned(),
            comparison: own.comparison,
            value: own.value,
            kind: TargetKind::Personal,
            basis: format!("set by {} on {}", own.set_by, own.set_on),
        });
    }
    defaults
        .iter()
        .filter(|target| target.observable == observable)
        .find(|target| {
            target.register.as_deref().is_none_or(|register| person.on_register(register))
                && target.applies_when.holds(person)
        })
        .map(|target| Target {
            observable: observable.to_owned(),
            comparison: target.comparison,
            value: target.value,
            kind: TargetKind::Default,
            basis: target.source.clone(),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::macros::date;

    use super::*;
    use crate::patient::Sex;

    fn defaults() -> Vec<DefaultTarget> {
        let row = |id: &str, register: Option<&str>, when: &str, value: f64| DefaultTarget {
            id: id.into(),
            observable: "hba1c".into(),
            register: register.map(Into::into),
            applies_when: Condition::parse(when).unwrap(),
            comparison: Comparison::LessOrEqual,
            value,
            source: format!("source of {id}"),
        };
        vec![
            row("frail", Some("diabetes"), "frailty", 75.0),
            row("hypo", Some("diabetes"), "takes:insulin|takes:sulfonylurea", 53.0),
            row("usual", Some("diabetes"), "", 48.0),
        ]
    }

    fn person(frail: bool, medicines: &[&str], registers: &[&str]) -> PersonSnapshot {
        PersonSnapshot {
            today: date!(2026 - 06 - 01),
            age_years: Some(70),
            sex: Sex::Female,
            registers: registers.iter().map(|r| (*r).to_owned()).collect(),
            moderate_or_severe_frailty: frail,
            medicine_classes: medicines.iter().map(|m| (*m).to_owned()).collect::<BTreeSet<_>>(),
            results: vec![],
        }
    }

    #[test]
    fn first_matching_default_applies_and_is_labelled_default() {
        let target = target_for(&defaults(), &[], &person(false, &["insulin"], &["diabetes"]), "hba1c").unwrap();
        assert_eq!((target.value, target.kind), (53.0, TargetKind::Default));
        assert!(!target.label().to_lowercase().contains("your target"));
        assert_eq!(
            target_for(&defaults(), &[], &person(true, &["insulin"], &["diabetes"]), "hba1c").unwrap().value,
            75.0
        );
        assert_eq!(target_for(&defaults(), &[], &person(false, &[], &["diabetes"]), "hba1c").unwrap().value, 48.0);
        assert!(target_for(&defaults(), &[], &person(false, &[], &["copd"]), "hba1c").is_none());
    }

    #[test]
    fn a_clinicians_target_is_the_persons_own() {
        let personal = [
            PersonalTarget {
                observable: "hba1c".into(),
                comparison: Comparison::LessOrEqual,
                value: 58.0,
                set_on: date!(2025 - 01 - 01),
                set_by: "Dr A".into(),
            },
            PersonalTarget {
                observable: "hba1c".into(),
                comparison: Comparison::LessOrEqual,
                value: 60.0,
                set_on: date!(2026 - 01 - 01),
                set_by: "Nurse B".into(),
            },
        ];
        let target = target_for(&defaults(), &personal, &person(false, &[], &["diabetes"]), "hba1c").unwrap();
        assert_eq!((target.value, target.kind, target.label()), (60.0, TargetKind::Personal, "Your target"));
        assert!(target.is_met_by(60.0) && !target.is_met_by(60.5));
    }
}
