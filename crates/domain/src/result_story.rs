//! A result as the person's preparation tells it: what it measures, their latest value against
//! the earlier ones, which way it has moved and whether that is better, and where it stands
//! against the personal target their clinician set. Numbers only; the words are the renderer's.
//!
//! Invariants: only a personal target is ever compared with ("your target"); a default target is
//! never presented as the person's own. A change within `steady_within` of the observable is "about
//! the same", so measurement noise is not told as a trend.

use time::Date;

use crate::criterion::Comparison;
use crate::target::PersonalTarget;

/// Which way is better for a result (`data/result-meanings.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Neither: both too high and too low matter (e.g. potassium, weight).
    WithinRange,
}

impl Better {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "lower" => Some(Self::Lower),
            "higher" => Some(Self::Higher),
            "range" => Some(Self::WithinRange),
            _ => None,
        }
    }
}

/// What a result means, in plain words, with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultMeaning {
    pub observable: String,
    /// How the person's letter names the result ("Blood pressure, top number").
    pub plain_name: String,
    /// One plain sentence: what the test measures.
    pub meaning: String,
    /// The unit explained ("mmHg means millimetres of mercury…").
    pub unit_words: String,
    pub better: Better,
    /// A change no larger than this (canonical unit) is "about the same".
    pub steady_within: f64,
    pub source: String,
}

/// How the latest result compares with the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    FirstResult,
    AboutTheSame,
    Up,
    Down,
}

/// Whether a change is for the better (only for results where one direction is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Better,
    Worse,
}

/// The latest result against the person's own target.
#[derive(Debug, Clone, PartialEq)]
pub struct AgainstTarget {
    pub target: PersonalTarget,
    pub met: bool,
    /// How far the value is from meeting the target (0 when met), in the canonical unit.
    pub short_by: f64,
}

/// One result's story for the preparation.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultStory {
    pub latest: (Date, f64),
    /// Earlier results, newest first.
    pub previous: Vec<(Date, f64)>,
    pub trend: Trend,
    pub progress: Option<Progress>,
    pub against_target: Option<AgainstTarget>,
}

/// Tells `points` (oldest first) for `meaning`; `None` when there is no result.
pub fn tell(meaning: &ResultMeaning, points: &[(Date, f64)], personal: Option<&PersonalTarget>) -> Option<ResultStory> {
    let (&latest, earlier) = points.split_last()?;
    let trend = match earlier.last() {
        None => Trend::FirstResult,
        Some(&(_, before)) if (latest.1 - before).abs() <= meaning.steady_within => Trend::AboutTheSame,
        Some(&(_, before)) if latest.1 > before => Trend::Up,
        Some(_) => Trend::Down,
    };
    let progress = match (meaning.better, trend) {
        (Better::Lower, Trend::Down) | (Better::Higher, Trend::Up) => Some(Progress::Better),
        (Better::Lower, Trend::Up) | (Better::Higher, Trend::Down) => Some(Progress::Worse),
        _ => None,
    };
    let against_target = personal.filter(|target| target.observable == meaning.observable).map(|target| {
        let met = target.comparison.holds(latest.1, target.value);
        let short_by = if met {
            0.0
        } else {
            match target.comparison {
                Comparison::Less | Comparison::LessOrEqual => latest.1 - target.value,
                Comparison::Greater | Comparison::GreaterOrEqual => target.value - latest.1,
                Comparison::Equal => (latest.1 - target.value).abs(),
            }
        };
        AgainstTarget { target: target.clone(), met, short_by }
    });
    Some(ResultStory { latest, previous: earlier.iter().rev().copied().collect(), trend, progress, against_target })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn hba1c() -> ResultMeaning {
        ResultMeaning {
            observable: "hba1c".into(),
            plain_name: "HbA1c".into(),
            unit_words: "mmol/mol".into(),
            meaning: "Average blood sugar over the past 2 to 3 months.".into(),
            better: Better::Lower,
            steady_within: 2.0,
            source: "test".into(),
        }
    }

    fn target(value: f64) -> PersonalTarget {
        PersonalTarget {
            observable: "hba1c".into(),
            comparison: Comparison::LessOrEqual,
            value,
            set_on: date!(2026 - 11 - 01),
            set_by: "Demo Nurse".into(),
        }
    }

    #[test]
    fn a_fall_in_a_lower_is_better_result_is_progress_and_noise_is_about_the_same() {
        let points = [(date!(2025 - 11 - 01), 64.0), (date!(2026 - 05 - 01), 61.0), (date!(2026 - 11 - 01), 58.0)];
        let story = tell(&hba1c(), &points, None).unwrap();
        assert_eq!(story.latest, (date!(2026 - 11 - 01), 58.0));
        assert_eq!(story.previous, vec![(date!(2026 - 05 - 01), 61.0), (date!(2025 - 11 - 01), 64.0)]);
        assert_eq!((story.trend, story.progress), (Trend::Down, Some(Progress::Better)));
        assert_eq!(story.against_target, None, "no personal target: nothing is called theirs");

        let noisy = [(date!(2026 - 05 - 01), 58.0), (date!(2026 - 11 - 01), 60.0)];
        let story = tell(&hba1c(), &noisy, None).unwrap();
        assert_eq!((story.trend, story.progress), (Trend::AboutTheSame, None));
        let rise = [(date!(2026 - 05 - 01), 58.0), (date!(2026 - 11 - 01), 60.5)];
        assert_eq!(tell(&hba1c(), &rise, None).unwrap().progress, Some(Progress::Worse));
        assert_eq!(tell(&hba1c(), &[], None), None);
        assert_eq!(tell(&hba1c(), &rise[1..], None).unwrap().trend, Trend::FirstResult);
    }

    #[test]
    fn the_personal_target_says_how_far_off_it_is() {
        let points = [(date!(2026 - 11 - 01), 58.0)];
        let off = tell(&hba1c(), &points, Some(&target(53.0))).unwrap().against_target.unwrap();
        assert!(!off.met);
        assert!((off.short_by - 5.0).abs() < 1e-9);
        let on = tell(&hba1c(), &points, Some(&target(58.0))).unwrap().against_target.unwrap();
        assert!(on.met && on.short_by == 0.0, "58 meets 58 or below");
        let other = PersonalTarget { observable: "systolic_bp".into(), ..target(140.0) };
        assert_eq!(tell(&hba1c(), &points, Some(&other)).unwrap().against_target, None);
    }

    #[test]
    fn within_range_results_have_a_trend_but_no_better_direction() {
        let potassium = ResultMeaning {
            observable: "potassium".into(),
            better: Better::WithinRange,
            steady_within: 0.2,
            ..hba1c()
        };
        let story = tell(&potassium, &[(date!(2026 - 05 - 01), 4.1), (date!(2026 - 11 - 01), 5.0)], None).unwrap();
        assert_eq!((story.trend, story.progress), (Trend::Up, None));
    }
}
