//! The information-gathering visit's laboratory samples and the results that answer them.
//!
//! The healthcare assistant takes blood and urine at the visit and sends them to the laboratory;
//! the results arrive days later by import. A result answers a sample when it is evidence for the
//! sample's checklist item and is dated from the day the sample was sent up to
//! [`ATTACH_WINDOW_DAYS`] later (laboratories date a result by when the sample was taken). The
//! earliest such result is the answer. Matching happens when read, so it is always consistent
//! with the record, whatever order results and samples were stored in.

use time::{Date, Duration};

use crate::snapshot::{PersonSnapshot, ResultPoint};

/// How long after the visit a result still counts as the answer to its sample. Longer than any
/// routine laboratory turnaround; a result later than this belongs to another request.
pub const ATTACH_WINDOW_DAYS: i64 = 28;

/// A sample sent for one checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSent {
    pub item: String,
    pub sent_on: Date,
}

/// Where a sample's result is.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleState<'a> {
    /// The result that answers the sample.
    Arrived(&'a ResultPoint),
    /// No result yet, `days` after the sample was sent.
    Awaited { days: i64 },
    /// No result within the window: the sample is lost or the request was never processed.
    Overdue { days: i64 },
}

impl SampleState<'_> {
    pub fn is_outstanding(&self) -> bool {
        !matches!(self, SampleState::Arrived(_))
    }
}

/// The state of each sample, in the order given. `evidence` names the observables that count as
/// each item done (the care process's evidence, e.g. `kidney_function` → creatinine, eGFR).
pub fn sample_states<'a, 'e>(
    samples: &[SampleSent],
    evidence: impl Fn(&str) -> &'e [String],
    person: &'a PersonSnapshot,
    today: Date,
) -> Vec<(SampleSent, SampleState<'a>)> {
    samples
        .iter()
        .map(|sample| {
            let last_day = sample.sent_on + Duration::days(ATTACH_WINDOW_DAYS);
            let observables = evidence(&sample.item);
            let answer = person
                .results
                .iter()
                .filter(|result| observables.contains(&result.observable))
                .filter(|result| (sample.sent_on..=last_day).contains(&result.date()))
                .min_by(|a, b| a.effective.cmp(&b.effective).then_with(|| a.key.cmp(&b.key)));
            let days = (today - sample.sent_on).whole_days();
            let state = match answer {
                Some(result) => SampleState::Arrived(result),
                None if days > ATTACH_WINDOW_DAYS => SampleState::Overdue { days },
                None => SampleState::Awaited { days },
            };
            (sample.clone(), state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::macros::{date, datetime};

    use super::*;
    use crate::code::Code;
    use crate::patient::Sex;

    fn result(observable: &str, at: time::OffsetDateTime, key: &str) -> ResultPoint {
        ResultPoint {
            observable: observable.into(),
            value: Some(1.0),
            code: Code::snomed("1"),
            value_code: None,
            effective: at,
            key: key.into(),
        }
    }

    fn person(results: Vec<ResultPoint>) -> PersonSnapshot {
        let mut person = PersonSnapshot {
            today: date!(2026 - 12 - 01),
            age_years: Some(60),
            sex: Sex::Female,
            registers: BTreeSet::from(["diabetes".to_owned()]),
            moderate_or_severe_frailty: false,
            medicine_classes: BTreeSet::new(),
            results,
        };
        person.sort_results();
        person
    }

    fn evidence(item: &str) -> &'static [String] {
        use std::sync::OnceLock;
        static HBA1C: OnceLock<Vec<String>> = OnceLock::new();
        static KIDNEY: OnceLock<Vec<String>> = OnceLock::new();
        match item {
            "hba1c" => HBA1C.get_or_init(|| vec!["hba1c".into()]),
            "kidney_function" => KIDNEY.get_or_init(|| vec!["creatinine".into(), "egfr".into()]),
            _ => &[],
        }
    }

    #[test]
    fn a_result_from_the_day_of_the_visit_or_after_answers_the_sample() {
        let sent_on = date!(2026 - 11 - 20);
        let samples =
            vec![SampleSent { item: "hba1c".into(), sent_on }, SampleSent { item: "kidney_function".into(), sent_on }];
        let person = person(vec![
            // Before the visit: last year's result, not an answer.
            result("hba1c", datetime!(2026-05-01 09:00 UTC), "old"),
            // The laboratory dates the result by collection: the day of the visit.
            result("hba1c", datetime!(2026-11-20 10:00 UTC), "new"),
            result("hba1c", datetime!(2026-11-25 10:00 UTC), "later"),
        ]);
        let states = sample_states(&samples, evidence, &person, date!(2026 - 11 - 23));
        assert!(matches!(&states[0].1, SampleState::Arrived(point) if point.key == "new"));
        assert_eq!(states[1].1, SampleState::Awaited { days: 3 });
    }

    #[test]
    fn any_observable_of_the_item_answers_it() {
        let samples = vec![SampleSent { item: "kidney_function".into(), sent_on: date!(2026 - 11 - 20) }];
        let person = person(vec![result("egfr", datetime!(2026-11-21 08:00 UTC), "egfr")]);
        let states = sample_states(&samples, evidence, &person, date!(2026 - 11 - 23));
        assert!(matches!(&states[0].1, SampleState::Arrived(point) if point.key == "egfr"));
    }

    #[test]
    fn a_result_after_the_window_belongs_to_another_request_and_the_sample_is_overdue() {
        let sent_on = date!(2026 - 10 - 01);
        let samples = vec![SampleSent { item: "hba1c".into(), sent_on }];
        let late = sent_on + Duration::days(ATTACH_WINDOW_DAYS + 1);
        let person = person(vec![result("hba1c", late.midnight().assume_utc(), "late")]);
        let today = date!(2026 - 12 - 01);
        let states = sample_states(&samples, evidence, &person, today);
        assert_eq!(states[0].1, SampleState::Overdue { days: (today - sent_on).whole_days() });
        assert!(states[0].1.is_outstanding());
        // On the last day of the window it still answers.
        let on_time = sent_on + Duration::days(ATTACH_WINDOW_DAYS);
        let person = self::person(vec![result("hba1c", on_time.midnight().assume_utc(), "last")]);
        let states = sample_states(&samples, evidence, &person, today);
        assert!(matches!(&states[0].1, SampleState::Arrived(point) if point.key == "last"));
    }
}
