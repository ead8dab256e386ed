//! Care processes per condition (what is measured or done, how often, by whom, on whose
//! authority) and the merged checklist: one list per person, the union of what all their
//! conditions need, each item once, due/overdue/done within its own interval.
//!
//! Invariants: an item appears once however many conditions need it, with the shortest interval
//! any of them asks for; an item never done is overdue; the checklist is a pure function of the
//! definitions and the snapshot.

use std::collections::BTreeSet;

use time::{Date, Duration, Month};

use crate::criterion::Condition;
use crate::snapshot::PersonSnapshot;

/// Who carries out a care process in the two-contact model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PerformedBy {
    /// At the information-gathering appointment (healthcare assistant).
    HealthcareAssistant,
    /// By the person, on a questionnaire before or at the first contact.
    Person,
    /// By a nurse or GP at the conversation.
    Clinician,
    /// By the NHS Diabetic Eye Screening Programme; imported, never done by the practice.
    EyeScreening,
}

impl PerformedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            PerformedBy::HealthcareAssistant => "hca",
            PerformedBy::Person => "person",
            PerformedBy::Clinician => "clinician",
            PerformedBy::EyeScreening => "eye_screening",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "hca" => PerformedBy::HealthcareAssistant,
            "person" => PerformedBy::Person,
            "clinician" => PerformedBy::Clinician,
            "eye_screening" => PerformedBy::EyeScreening,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            PerformedBy::HealthcareAssistant => "Healthcare assistant",
            PerformedBy::Person => "Questionnaire",
            PerformedBy::Clinician => "Nurse or GP",
            PerformedBy::EyeScreening => "Diabetic eye screening service",
        }
    }
}

/// A register id meaning "anyone on at least one register" (e.g. depression screening).
pub const ANY_REGISTER: &str = "*";

/// One care process for one condition, as listed in `data/care-processes.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CareProcess {
    /// Unique row id, e.g. `"diabetes.hba1c"`.
    pub id: String,
    /// Register the process belongs to, or [`ANY_REGISTER`].
    pub register: String,
    /// Merge key shared across conditions, e.g. `"blood_pressure"`.
    pub item: String,
    pub name: String,
    /// Observables any one of which, recorded, counts as the process done.
    pub evidence: Vec<String>,
    pub interval_months: u32,
    /// A shorter interval while a condition holds (e.g. HbA1c every 3 months until stable).
    pub shorter: Option<(Condition, u32)>,
    /// Only for people who meet this (e.g. SpO2 in very severe COPD; PHQ-9 after a positive PHQ-2).
    pub applies_when: Condition,
    pub performed_by: PerformedBy,
    pub source: String,
}

impl CareProcess {
    fn applies_to(&self, person: &PersonSnapshot) -> bool {
        let on_register = if self.register == ANY_REGISTER {
            !person.registers.is_empty()
        } else {
            person.on_register(&self.register)
        };
        on_register && self.applies_when.holds(person)
    }

    /// The interval that applies to this person now.
    pub fn interval_for(&self, person: &PersonSnapshot) -> u32 {
        match &self.shorter {
            Some((condition, months)) if condition.holds(person) => (*months).min(self.interval_months),
            _ => self.interval_months,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemStatus {
    /// Never done, or its interval has run out.
    Overdue,
    /// Falls due within the recall window.
    Due,
    /// Done within its interval and not due within the window.
    Done,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Overdue => "overdue",
            ItemStatus::Due => "due",
            ItemStatus::Done => "done",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "overdue" => ItemStatus::Overdue,
            "due" => ItemStatus::Due,
            "done" => ItemStatus::Done,
            _ => return None,
        })
    }

    pub fn is_outstanding(self) -> bool {
        self != ItemStatus::Done
    }
}

/// One line of a person's merged checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    pub item: String,
    pub name: String,
    pub status: ItemStatus,
    pub last_done: Option<Date>,
    /// When it next falls due (`None` when never done: it is due now).
    pub next_due: Option<Date>,
    pub interval_months: u32,
    pub performed_by: PerformedBy,
    /// Care-process ids that ask for this item (one per condition).
    pub because_of: Vec<String>,
    pub evidence: Vec<String>,
}

/// The merged checklist for a person: items in the order the definitions list them.
/// `due_window_days` is how far ahead an item counts as due (the recall window).
pub fn merged_checklist(
    processes: &[CareProcess],
    person: &PersonSnapshot,
    due_window_days: i64,
) -> Vec<ChecklistItem> {
    let mut items: Vec<ChecklistItem> = Vec::new();
    for process in processes.iter().filter(|process| process.applies_to(person)) {
        let interval = process.interval_for(person);
        match items.iter_mut().find(|item| item.item == process.item) {
            Some(item) => {
                item.interval_months = item.interval_months.min(interval);
                item.because_of.push(process.id.clone());
                for observable in &process.evidence {
                    if !item.evidence.contains(observable) {
                        item.evidence.push(observable.clone());
                    }
                }
            }
            None => items.push(ChecklistItem {
                item: process.item.clone(),
                name: process.name.clone(),
                status: ItemStatus::Overdue,
                last_done: None,
                next_due: None,
                interval_months: interval,
                performed_by: process.performed_by,
                because_of: vec![process.id.clone()],
                evidence: process.evidence.clone(),
            }),
        }
    }
    let window_end = person.today.saturating_add(Duration::days(due_window_days.max(0)));
    for item in &mut items {
        let evidence: BTreeSet<&str> = item.evidence.iter().map(String::as_str).collect();
        item.last_done = person
            .results
            .iter()
            .filter(|result| evidence.contains(result.observable.as_str()) && result.date() <= person.today)
            .map(|result| result.date())
            .max();
        item.next_due = item.last_done.map(|done| add_months(done, item.interval_months));
        item.status = match item.next_due {
            None => ItemStatus::Overdue,
            Some(next) if next <= person.today => ItemStatus::Overdue,
            Some(next) if next <= window_end => ItemStatus::Due,
            Some(_) => ItemStatus::Done,
        };
    }
    items
}

/// Adds calendar months, keeping the day where the month has it (31 Jan + 1 month = 28/29 Feb).
pub fn add_months(date: Date, months: u32) -> Date {
    let total = date.year() * 12 + (date.month() as i32 - 1) + months as i32;
    let year = total.div_euclid(12);
    let month = Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    let last_day = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, date.day().min(last_day)).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::macros::date;

    use super::*;
    use crate::code::Code;
    use crate::patient::Sex;
    use crate::snapshot::ResultPoint;

    fn process(id: &str, register: &str, item: &str, evidence: &[&str], months: u32) -> CareProcess {
        CareProcess {
            id: id.into(),
            register: register.into(),
            item: item.into(),
            name: item.replace('_', " "),
            evidence: evidence.iter().map(|e| (*e).to_owned()).collect(),
            interval_months: months,
            shorter: None,
            applies_when: Condition::always(),
            performed_by: PerformedBy::HealthcareAssistant,
            source: "test".into(),
        }
    }

    fn person(registers: &[&str], results: &[(&str, f64, Date)]) -> PersonSnapshot {
        let mut person = PersonSnapshot {
            today: date!(2026 - 06 - 01),
            age_years: Some(70),
            sex: Sex::Male,
            registers: registers.iter().map(|r| (*r).to_owned()).collect(),
            moderate_or_severe_frailty: false,
            medicine_classes: BTreeSet::new(),
            results: results
                .iter()
                .enumerate()
                .map(|(index, (observable, value, on))| ResultPoint {
                    observable: (*observable).into(),
                    value: Some(*value),
                    code: Code::snomed("1"),
                    value_code: None,
                    effective: on.midnight().assume_utc(),
                    key: index.to_string(),
                })
                .collect(),
        };
        person.sort_results();
        person
    }

    fn definitions() -> Vec<CareProcess> {
        let mut hba1c = process("diabetes.hba1c", "diabetes", "hba1c", &["hba1c"], 6);
        hba1c.shorter = Some((Condition::parse("hba1c>=58").unwrap(), 3));
        let mut spo2 = process("copd.spo2", "copd", "spo2", &["spo2"], 12);
        spo2.applies_when = Condition::parse("mrc_dyspnoea>=4").unwrap();
        vec![
            hba1c,
            process("diabetes.bp", "diabetes", "blood_pressure", &["systolic_bp"], 12),
            process("copd.mrc", "copd", "mrc_dyspnoea", &["mrc_dyspnoea"], 12),
            spo2,
            process("hypertension.bp", "hypertension", "blood_pressure", &["systolic_bp"], 12),
            process("ckd.bp", "ckd", "blood_pressure", &["systolic_bp", "diastolic_bp"], 6),
            process("any.phq2", ANY_REGISTER, "phq2", &["phq2"], 12),
        ]
    }

    #[test]
    fn each_item_once_with_the_shortest_interval() {
        let person = person(&["diabetes", "hypertension", "ckd"], &[]);
        let list = merged_checklist(&definitions(), &person, 60);
        let items: Vec<&str> = list.iter().map(|item| item.item.as_str()).collect();
        assert_eq!(items, ["hba1c", "blood_pressure", "phq2"]);
        let bp = &list[1];
        assert_eq!(bp.interval_months, 6);
        assert_eq!(bp.because_of, ["diabetes.bp", "hypertension.bp", "ckd.bp"]);
        assert_eq!(bp.evidence, ["systolic_bp", "diastolic_bp"]);
        assert!(list.iter().all(|item| item.status == ItemStatus::Overdue && item.last_done.is_none()));
    }

    #[test]
    fn status_follows_each_interval() {
        let person = person(
            &["diabetes", "copd"],
            &[
                ("hba1c", 50.0, date!(2026 - 01 - 10)), // 6 months: next 2026-07-10, within 60 days: due
                ("systolic_bp", 130.0, date!(2025 - 05 - 01)), // 12 months: next 2026-05-01: overdue
                ("mrc_dyspnoea", 2.0, date!(2026 - 03 - 01)), // next 2027-03-01: done
            ],
        );
        let list = merged_checklist(&definitions(), &person, 60);
        let status = |item: &str| list.iter().find(|i| i.item == item).map(|i| i.status);
        assert_eq!(status("hba1c"), Some(ItemStatus::Due));
        assert_eq!(status("blood_pressure"), Some(ItemStatus::Overdue));
        assert_eq!(status("mrc_dyspnoea"), Some(ItemStatus::Done));
        assert_eq!(status("spo2"), None, "SpO2 applies only in very severe disease");
        assert_eq!(list.iter().find(|i| i.item == "hba1c").unwrap().next_due, Some(date!(2026 - 07 - 10)));
    }

    #[test]
    fn shorter_interval_while_unstable() {
        let person = person(&["diabetes"], &[("hba1c", 64.0, date!(2026 - 01 - 10))]);
        let list = merged_checklist(&definitions(), &person, 30);
        assert_eq!(list[0].interval_months, 3);
        assert_eq!(list[0].status, ItemStatus::Overdue, "3 months from 10 January has passed by 1 June");
    }

    #[test]
    fn conditional_items_appear_when_met() {
        let person = person(&["copd"], &[("mrc_dyspnoea", 4.0, date!(2026 - 05 - 01))]);
        let list = merged_checklist(&definitions(), &person, 60);
        assert!(list.iter().any(|item| item.item == "spo2"));
    }

    #[test]
    fn no_register_no_checklist() {
        assert!(merged_checklist(&definitions(), &person(&[], &[]), 60).is_empty());
    }

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(add_months(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 11 - 15), 3), date!(2027 - 02 - 15));
        assert_eq!(add_months(date!(2026 - 06 - 01), 12), date!(2027 - 06 - 01));
    }
}
