//! What the cycle's rules see of one person: a snapshot of their record, already reduced to
//! registers, medicine classes and results in canonical units, on a date the caller chooses.
//!
//! Care-process checklists, red-flag rules and risk ranking are all pure functions of a
//! [`PersonSnapshot`], so the same answer comes from the import path (kept current as results
//! arrive) and from a full recompute. The app builds snapshots from the stored record and the
//! catalogue; nothing here reads storage or a clock.

use std::collections::BTreeSet;

use time::{Date, OffsetDateTime};

use crate::code::Code;
use crate::patient::Sex;

/// One usable result (not entered in error) for an observable, in its canonical unit.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultPoint {
    /// Observable id from `data/observables.csv`, e.g. `"potassium"`.
    pub observable: String,
    /// Value in the observable's canonical unit; for coded findings, the value the codelist
    /// implies (e.g. MRC grade 3), or `None` when the code carries no number.
    pub value: Option<f64>,
    /// The result's own code (the observation code, or the answer code for coded findings).
    pub code: Code,
    /// The code of the value, for coded results whose answer is a code (e.g. a smoking status).
    pub value_code: Option<Code>,
    pub effective: OffsetDateTime,
    /// A stable key for the stored result (its storage id), so a flag names the results behind it.
    pub key: String,
}

impl ResultPoint {
    pub fn date(&self) -> Date {
        self.effective.date()
    }
}

/// A person as the rules see them on `today`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonSnapshot {
    pub today: Date,
    /// Whole years on `today`; `None` when the date of birth is unknown.
    pub age_years: Option<u32>,
    pub sex: Sex,
    /// Register ids the person is on today (e.g. `"diabetes"`, `"copd"`).
    pub registers: BTreeSet<String>,
    /// Moderate or severe frailty (QOF's frailty-stratified targets use these categories).
    pub moderate_or_severe_frailty: bool,
    /// Classes of the active medicines on the GP system's list, as at its extract date
    /// (ids from `data/medicine-classes.csv`, e.g. `"metformin"`, `"acei_arb"`).
    pub medicine_classes: BTreeSet<String>,
    /// Every usable result, oldest first.
    pub results: Vec<ResultPoint>,
}

impl PersonSnapshot {
    pub fn on_register(&self, register: &str) -> bool {
        self.registers.contains(register)
    }

    pub fn takes(&self, medicine_class: &str) -> bool {
        self.medicine_classes.contains(medicine_class)
    }

    /// Results for one observable, oldest first.
    pub fn results_for<'a>(&'a self, observable: &'a str) -> impl DoubleEndedIterator<Item = &'a ResultPoint> + 'a {
        self.results.iter().filter(move |result| result.observable == observable)
    }

    /// The most recent result for an observable, if any.
    pub fn latest(&self, observable: &str) -> Option<&ResultPoint> {
        self.results.iter().rev().find(|result| result.observable == observable)
    }

    /// The most recent result with a numeric value.
    pub fn latest_value(&self, observable: &str) -> Option<(&ResultPoint, f64)> {
        self.results
            .iter()
            .rev()
            .filter(|result| result.observable == observable)
            .find_map(|result| result.value.map(|value| (result, value)))
    }

    /// Sorts results oldest first (ties by key, so the order is deterministic).
    pub fn sort_results(&mut self) {
        self.results.sort_by(|a, b| a.effective.cmp(&b.effective).then_with(|| a.key.cmp(&b.key)));
    }
}
