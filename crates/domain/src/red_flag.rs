//! Red flags: results that need a clinician's attention, found by rules held as data with their
//! source (`data/red-flags.csv`, loaded by `concord-codelists`), and the medicine classes those
//! rules read (`data/medicine-classes.csv`).
//!
//! Clinical rule: an urgent red flag must never be hidden, delayed or dropped. [`evaluate`] is a
//! pure function of the rules and a [`PersonSnapshot`]: no clock (it uses `person.today`), no IO,
//! deterministic, and independent of the order of the input results. Every usable result within a
//! rule's window is evaluated, so two results in one import each raise their own flag; a flag's
//! identity is its rule id and the sorted keys of the results behind it ([`Flag::identity`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use time::{Date, Duration};

use crate::code::{Code, CodeSystem, CodedConcept};
use crate::codelist::Codelist;
use crate::criterion::Condition;
use crate::snapshot::{PersonSnapshot, ResultPoint};

/// How soon a flag needs a clinician. Ordered so that `Urgent` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Act today (same working day).
    Urgent,
    /// Act within days to two weeks, before the review conversation.
    Soon,
    /// Address at the review conversation.
    Routine,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Urgent, Severity::Soon, Severity::Routine];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Urgent => "urgent",
            Severity::Soon => "soon",
            Severity::Routine => "routine",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|severity| severity.as_str() == text.trim())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One end of a [`Band`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Inclusive(f64),
    Exclusive(f64),
}

impl Bound {
    pub fn value(self) -> f64 {
        match self {
            Bound::Inclusive(value) | Bound::Exclusive(value) => value,
        }
    }
}

/// A range of values: `at_least`/`above` below, `below`/`at_most` above, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Band {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

impl Band {
    pub fn contains(&self, value: f64) -> bool {
        if !value.is_finite() {
            return false;
        }
        let above_lower = match self.lower {
            None => true,
            Some(Bound::Inclusive(low)) => value >= low,
            Some(Bound::Exclusive(low)) => value > low,
        };
        let below_upper = match self.upper {
            None => true,
            Some(Bound::Inclusive(high)) => value <= high,
            Some(Bound::Exclusive(high)) => value < high,
        };
        above_lower && below_upper
    }

    /// A band no value can fall in (or an unbounded one, which would flag everything).
    pub fn is_unusable(&self) -> bool {
        match (self.lower, self.upper) {
            (None, None) => true,
            (Some(low), Some(high)) => {
                let (low_value, high_value) = (low.value(), high.value());
                low_value > high_value
                    || (low_value == high_value
                        && !(matches!(low, Bound::Inclusive(_)) && matches!(high, Bound::Inclusive(_))))
            }
            _ => false,
        }
    }

    /// The band in words, e.g. "6.0 or more and below 6.5".
    pub fn describe(&self) -> String {
        let lower = self.lower.map(|bound| match bound {
            Bound::Inclusive(value) => format!("{value} or more"),
            Bound::Exclusive(value) => format!("above {value}"),
        });
        let upper = self.upper.map(|bound| match bound {
            Bound::Inclusive(value) => format!("{value} or less"),
            Bound::Exclusive(value) => format!("below {value}"),
        });
        match (lower, upper) {
            (Some(lower), Some(upper)) => format!("{lower} and {upper}"),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => "any value".to_owned(),
        }
    }
}

/// How a measured value is shown in a flag: "K+ 6.7 mmol/L".
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// Observable id from `data/observables.csv`.
    pub observable: String,
    pub label: String,
    /// Unit as printed for people (empty for scores).
    pub unit: String,
    pub decimals: u32,
}

impl Measure {
    pub fn format(&self, value: f64) -> String {
        let number = format!("{value:.precision$}", precision = self.decimals as usize);
        if self.unit.is_empty() {
            format!("{} {number}", self.label)
        } else {
            format!("{} {number} {}", self.label, self.unit)
        }
    }

    fn number(&self, value: f64) -> String {
        format!("{value:.precision$}", precision = self.decimals as usize)
    }
}

/// Which results in the window a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every result: each can raise its own flag.
    Each,
    /// Only the latest result with a value (rules about the current state, e.g. a medicine against
    /// kidney function, where the medicine list is as at the extract date).
    Latest,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "each" => Some(Scope::Each),
            "latest" => Some(Scope::Latest),
            _ => None,
        }
    }
}

/// The NHS England acute kidney injury algorithm (Patient Safety Alert NHS/PSA/D/2014/010), with
/// its parameters as data. See `docs/clinical-safety/red-flags.md` for the flow.
#[derive(Debug, Clone, PartialEq)]
pub struct AkiAlgorithm {
    /// RV1: the lowest creatinine from this many days before the current result (0 to 7).
    pub rv1_max_days: i64,
    /// RV2: the median creatinine from `rv2_min_days` to `rv2_max_days` before (8 to 365).
    pub rv2_min_days: i64,
    pub rv2_max_days: i64,
    /// Ratio of current to reference value for stages 1, 2 and 3 (1.5, 2, 3).
    pub stage_ratios: [f64; 3],
    /// With a ratio at stage 1 or more, a current creatinine above this is stage 3 (354 µmol/L).
    pub stage3_creatinine_above: f64,
    /// When the ratio is below stage 1: a rise of more than `rise_above` over the lowest result in
    /// the previous `rise_hours` hours is stage 1 (26 µmol/L in 48 hours).
    pub rise_hours: i64,
    pub rise_above: f64,
}

/// Which reference value decided an AKI stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AkiBasis {
    /// Lowest result in the previous 0–7 days (RV1).
    LowestRecent,
    /// Median of results 8–365 days before (RV2).
    MedianBaseline,
    /// Rise over the lowest result in the previous 48 hours.
    Rise,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AkiStage {
    pub stage: u8,
    pub basis: AkiBasis,
    /// The reference value (RV1, RV2, or the lowest in 48 hours for a rise).
    pub reference: f64,
    /// Current / reference (for a rise, the ratio is below stage 1).
    pub ratio: f64,
}

impl AkiAlgorithm {
    /// The AKI warning stage of `current` given every creatinine result (any order; results not
    /// strictly earlier than `current`, or without a value, are ignored). `None` when there is no
    /// AKI or no reference value (the algorithm does not stage a result without a baseline).
    pub fn stage(&self, current: &ResultPoint, creatinine: &[&ResultPoint]) -> Option<AkiStage> {
        let c1 = current.value?;
        let earlier: Vec<(&ResultPoint, f64)> = creatinine
            .iter()
            .filter(|result| result.effective < current.effective)
            .filter_map(|result| {
                result.value.filter(|value| value.is_finite() && *value > 0.0).map(|value| (*result, value))
            })
            .collect();
        let days_before = |result: &ResultPoint| (current.date() - result.date()).whole_days();
        let rv1 = earlier
            .iter()
            .filter(|(result, _)| (0..=self.rv1_max_days).contains(&days_before(result)))
            .map(|(_, value)| *value)
            .min_by(f64::total_cmp);
        let mut baseline: Vec<f64> = earlier
            .iter()
            .filter(|(result, _)| (self.rv2_min_days..=self.rv2_max_days).contains(&days_before(result)))
            .map(|(_, value)| *value)
            .collect();
        let rv2 = median(&mut baseline);
        // Both reference values available: the higher ratio counts (the more sensitive reading).
        let candidates = [(rv1, AkiBasis::LowestRecent), (rv2, AkiBasis::MedianBaseline)];
        let best = candidates
            .iter()
            .filter_map(|(reference, basis)| reference.map(|reference| (c1 / reference, reference, *basis)))
            .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| basis_rank(b.2).cmp(&basis_rank(a.2))));
        let [stage1, stage2, stage3] = self.stage_ratios;
        if let Some((ratio, reference, basis)) = best
            && ratio >= stage1
        {
            let stage = if ratio >= stage3 || c1 > self.stage3_creatinine_above {
                3
            } else if ratio >= stage2 {
                2
            } else {
                1
            };
            return Some(AkiStage { stage, basis, reference, ratio });
        }
        let window_start = current.effective - Duration::hours(self.rise_hours);
        let lowest_recent = earlier
            .iter()
            .filter(|(result, _)| result.effective >= window_start)
            .map(|(_, value)| *value)
            .min_by(f64::total_cmp)?;
        (c1 - lowest_recent > self.rise_above).then(|| AkiStage {
            stage: 1,
            basis: AkiBasis::Rise,
            reference: lowest_recent,
            ratio: c1 / lowest_recent,
        })
    }
}

fn basis_rank(basis: AkiBasis) -> u8 {
    match basis {
        AkiBasis::LowestRecent => 0,
        AkiBasis::MedianBaseline => 1,
        AkiBasis::Rise => 2,
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] })
}

/// Which AKI stages a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageMatch {
    Exactly(u8),
    AtLeast(u8),
}

impl StageMatch {
    pub fn matches(self, stage: u8) -> bool {
        match self {
            StageMatch::Exactly(wanted) => stage == wanted,
            StageMatch::AtLeast(lowest) => stage >= lowest,
        }
    }
}

/// Named categories by lower limit, worst last: e.g. G1 ≥90, G2 ≥60, G3a ≥45, G3b ≥30, G4 ≥15, G5.
#[derive(Debug, Clone, PartialEq)]
pub struct Categories {
    /// `(name, lowest value in the category)`, highest first; the last category has no floor.
    pub floors: Vec<(String, f64)>,
    pub last: String,
}

impl Categories {
    /// 0 for the best category; larger is worse.
    pub fn index(&self, value: f64) -> usize {
        self.floors.iter().position(|(_, floor)| value >= *floor).unwrap_or(self.floors.len())
    }

    pub fn name(&self, value: f64) -> &str {
        let index = self.index(value);
        self.floors.get(index).map_or(self.last.as_str(), |(name, _)| name.as_str())
    }
}

/// What a rule looks for, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A result in a band (e.g. potassium 6.0 or more and below 6.5).
    Threshold { measure: Measure, band: Band, scope: Scope },
    /// A blood-pressure reading (systolic and diastolic taken together) at or above either limit.
    BloodPressure { systolic: Measure, diastolic: Measure, systolic_at_least: f64, diastolic_at_least: f64 },
    /// A creatinine result at an AKI warning stage by the NHS England algorithm.
    Aki { creatinine: Measure, stage: StageMatch, algorithm: AkiAlgorithm },
    /// A creatinine above a level with no earlier result to compare with (no AKI stage possible).
    CreatinineWithoutBaseline { creatinine: Measure, above: f64, lookback_days: i64 },
    /// A result below a level when the previous result was not (or there was none).
    NewlyBelow { measure: Measure, below: f64 },
    /// A fall of at least `fall_percent` from the highest result in the previous `lookback_days`,
    /// confirmed by the result before it (both fallen, both in a worse category).
    SustainedFall { measure: Measure, fall_percent: f64, lookback_days: i64, categories: Categories },
    /// Any recorded coded finding (e.g. a diabetic foot ulcer).
    CodedFinding { observable: String, label: String, terms: Vec<(Code, String)> },
    /// A questionnaire answer other than the safe one ("not at all"): a score above
    /// `safe_value_at_most`, an answer code not in `safe_answers`, or no readable answer at all.
    AnswerOtherThan { measure: Measure, safe_value_at_most: f64, safe_answers: Vec<Code> },
    /// A result in a band with no record of a follow-up observable in the last `record_lookback_days`.
    ThresholdWithoutRecord {
        measure: Measure,
        band: Band,
        record_observable: String,
        record_label: String,
        record_lookback_days: i64,
    },
}

impl RuleKind {
    /// The kind's name as written in `data/red-flags.csv`.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Threshold { .. } => "threshold",
            RuleKind::BloodPressure { .. } => "blood_pressure",
            RuleKind::Aki { .. } => "aki",
            RuleKind::CreatinineWithoutBaseline { .. } => "creatinine_without_baseline",
            RuleKind::NewlyBelow { .. } => "newly_below",
            RuleKind::SustainedFall { .. } => "sustained_fall",
            RuleKind::CodedFinding { .. } => "coded_finding",
            RuleKind::AnswerOtherThan { .. } => "answer_other_than",
            RuleKind::ThresholdWithoutRecord { .. } => "threshold_without_record",
        }
    }
}

/// One row of the rule-to-severity table.
#[derive(Debug, Clone, PartialEq)]
pub struct RedFlagRule {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub kind: RuleKind,
    /// Who the rule applies to (registers, frailty, medicine classes); always when empty.
    pub applies_when: Condition,
    /// Results dated more than this many days before `today` are not evaluated.
    pub window_days: i64,
    /// The recommended action, in plain clinical words.
    pub action: String,
    pub source: String,
}

/// What makes two flags the same flag: the rule and the (sorted) results behind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlagIdentity {
    pub rule_id: String,
    pub observation_keys: Vec<String>,
}

impl fmt::Display for FlagIdentity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.rule_id, self.observation_keys.join(","))
    }
}

/// A raised red flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub rule_id: String,
    pub severity: Severity,
    /// Short display text with units, e.g. "K+ 6.7 mmol/L".
    pub value: String,
    /// Keys of the results behind the flag, the triggering result first.
    pub observation_keys: Vec<String>,
    /// Codes of those results, in the same order.
    pub observation_codes: Vec<Code>,
    /// Date of the triggering result.
    pub result_date: Date,
    pub action: String,
}

impl Flag {
    pub fn identity(&self) -> FlagIdentity {
        let mut observation_keys = self.observation_keys.clone();
        observation_keys.sort();
        observation_keys.dedup();
        FlagIdentity { rule_id: self.rule_id.clone(), observation_keys }
    }
}

/// Applies every rule to the person on `person.today`. Returns each flag once (by identity),
/// urgent first, then the most recent result first, then by rule id and result keys.
pub fn evaluate(rules: &[RedFlagRule], person: &PersonSnapshot) -> Vec<Flag> {
    let results = Results::of(person);
    let mut flags: BTreeMap<FlagIdentity, Flag> = BTreeMap::new();
    for rule in rules {
        if !rule.applies_when.holds(person) {
            continue;
        }
        let context = Context { rule, person, results: &results };
        for flag in context.flags() {
            flags.entry(flag.identity()).or_insert(flag);
        }
    }
    let mut flags: Vec<(FlagIdentity, Flag)> = flags.into_iter().collect();
    flags.sort_by(|(left_identity, left), (right_identity, right)| {
        left.severity
            .cmp(&right.severity)
            .then_with(|| right.result_date.cmp(&left.result_date))
            .then_with(|| left_identity.cmp(right_identity))
    });
    flags.into_iter().map(|(_, flag)| flag).collect()
}

/// The person's results by observable, each list ordered by time then key (so evaluation does not
/// depend on the order the snapshot was built in).
struct Results<'a> {
    by_observable: BTreeMap<&'a str, Vec<&'a ResultPoint>>,
}

impl<'a> Results<'a> {
    fn of(person: &'a PersonSnapshot) -> Self {
        let mut by_observable: BTreeMap<&'a str, Vec<&'a ResultPoint>> = BTreeMap::new();
        for result in &person.results {
            by_observable.entry(result.observable.as_str()).or_default().push(result);
        }
        for list in by_observable.values_mut() {
            list.sort_by(|a, b| a.effective.cmp(&b.effective).then_with(|| a.key.cmp(&b.key)));
        }
        Self { by_observable }
    }

    fn of_observable(&self, observable: &str) -> &[&'a ResultPoint] {
        self.by_observable.get(observable).map_or(&[], Vec::as_slice)
    }
}

struct Context<'r, 'a> {
    rule: &'r RedFlagRule,
    person: &'r PersonSnapshot,
    results: &'r Results<'a>,
}

impl<'a> Context<'_, 'a> {
    fn in_window(&self, result: &ResultPoint) -> bool {
        within(result.date(), self.person.today, self.rule.window_days)
    }

    /// Results of an observable in the rule's window, oldest first.
    fn windowed(&self, observable: &str) -> Vec<&'a ResultPoint> {
        self.results.of_observable(observable).iter().copied().filter(|result| self.in_window(result)).collect()
    }

    fn flag(&self, value: String, triggering: &[&ResultPoint]) -> Flag {
        Flag {
            rule_id: self.rule.id.clone(),
            severity: self.rule.severity,
            value,
            observation_keys: triggering.iter().map(|result| result.key.clone()).collect(),
            observation_codes: triggering.iter().map(|result| result.code.clone()).collect(),
            result_date: triggering.first().map_or(self.person.today, |result| result.date()),
            action: self.rule.action.clone(),
        }
    }

    fn flags(&self) -> Vec<Flag> {
        match &self.rule.kind {
            RuleKind::Threshold { measure, band, scope } => self.threshold(measure, band, *scope),
            RuleKind::BloodPressure { systolic, diastolic, systolic_at_least, diastolic_at_least } => {
                self.blood_pressure(systolic, diastolic, *systolic_at_least, *diastolic_at_least)
            }
            RuleKind::Aki { creatinine, stage, algorithm } => self.aki(creatinine, *stage, algorithm),
            RuleKind::CreatinineWithoutBaseline { creatinine, above, lookback_days } => {
                self.creatinine_without_baseline(creatinine, *above, *lookback_days)
            }
            RuleKind::NewlyBelow { measure, below } => self.newly_below(measure, *below),
            RuleKind::SustainedFall { measure, fall_percent, lookback_days, categories } => {
                self.sustained_fall(measure, *fall_percent, *lookback_days, categories)
            }
            RuleKind::CodedFinding { observable, label, terms } => self.coded_finding(observable, label, terms),
            RuleKind::AnswerOtherThan { measure, safe_value_at_most, safe_answers } => {
                self.answer_other_than(measure, *safe_value_at_most, safe_answers)
            }
            RuleKind::ThresholdWithoutRecord {
                measure,
                band,
                record_observable,
                record_label,
                record_lookback_days,
            } => self.threshold_without_record(measure, band, record_observable, record_label, *record_lookback_days),
        }
    }

    fn threshold(&self, measure: &Measure, band: &Band, scope: Scope) -> Vec<Flag> {
        let valued: Vec<(&ResultPoint, f64)> = self
            .windowed(&measure.observable)
            .into_iter()
            .filter_map(|result| result.value.map(|value| (result, value)))
            .collect();
        let considered: Vec<(&ResultPoint, f64)> = match scope {
            Scope::Each => valued,
            Scope::Latest => valued.last().copied().into_iter().collect(),
        };
        considered
            .into_iter()
            .filter(|(_, value)| band.contains(*value))
            .map(|(result, value)| self.flag(measure.format(value), &[result]))
            .collect()
    }

    fn blood_pressure(
        &self,
        systolic: &Measure,
        diastolic: &Measure,
        systolic_limit: f64,
        diastolic_limit: f64,
    ) -> Vec<Flag> {
        let systolic_results = self.windowed(&systolic.observable);
        let diastolic_results = self.windowed(&diastolic.observable);
        let mut paired_diastolic: BTreeSet<&str> = BTreeSet::new();
        let mut flags = Vec::new();
        let reading = |s: Option<f64>, d: Option<f64>| {
            let part =
                |value: Option<f64>, measure: &Measure| value.map_or("—".to_owned(), |value| measure.number(value));
            format!("BP {}/{} {}", part(s, systolic), part(d, diastolic), systolic.unit).trim_end().to_owned()
        };
        for s in &systolic_results {
            // The diastolic of the same reading: same effective time (first by key).
            let d = diastolic_results
                .iter()
                .find(|d| d.effective == s.effective && !paired_diastolic.contains(d.key.as_str()));
            if let Some(d) = d {
                paired_diastolic.insert(d.key.as_str());
            }
            let high_systolic = s.value.is_some_and(|value| value >= systolic_limit);
            let high_diastolic = d.and_then(|d| d.value).is_some_and(|value| value >= diastolic_limit);
            if high_systolic || high_diastolic {
                let mut behind = vec![*s];
                behind.extend(d.copied());
                flags.push(self.flag(reading(s.value, d.and_then(|d| d.value)), &behind));
            }
        }
        for d in diastolic_results.iter().filter(|d| !paired_diastolic.contains(d.key.as_str())) {
            if d.value.is_some_and(|value| value >= diastolic_limit) {
                flags.push(self.flag(reading(None, d.value), &[d]));
            }
        }
        flags
    }

    fn aki(&self, creatinine: &Measure, wanted: StageMatch, algorithm: &AkiAlgorithm) -> Vec<Flag> {
        let all = self.results.of_observable(&creatinine.observable);
        self.windowed(&creatinine.observable)
            .into_iter()
            .filter_map(|current| {
                let stage = algorithm.stage(current, all)?;
                if !wanted.matches(stage.stage) {
                    return None;
                }
                let value = current.value?;
                let basis = match stage.basis {
                    AkiBasis::LowestRecent => format!(
                        "{:.1}× lowest in previous {} days ({})",
                        stage.ratio,
                        algorithm.rv1_max_days,
                        creatinine.number(stage.reference)
                    ),
                    AkiBasis::MedianBaseline => format!(
                        "{:.1}× median of {} to {} days before ({})",
                        stage.ratio,
                        algorithm.rv2_min_days,
                        algorithm.rv2_max_days,
                        creatinine.number(stage.reference)
                    ),
                    AkiBasis::Rise => format!(
                        "rise of {} in {} hours from {}",
                        creatinine.number(value - stage.reference),
                        algorithm.rise_hours,
                        creatinine.number(stage.reference)
                    ),
                };
                Some(
                    self.flag(format!("{}, AKI stage {} ({basis})", creatinine.format(value), stage.stage), &[current]),
                )
            })
            .collect()
    }

    fn creatinine_without_baseline(&self, creatinine: &Measure, above: f64, lookback_days: i64) -> Vec<Flag> {
        let all = self.results.of_observable(&creatinine.observable);
        self.windowed(&creatinine.observable)
            .into_iter()
            .filter_map(|current| {
                let value = current.value.filter(|value| *value > above)?;
                let has_baseline = all.iter().any(|earlier| {
                    earlier.effective < current.effective
                        && earlier.value.is_some()
                        && (current.date() - earlier.date()).whole_days() <= lookback_days
                });
                (!has_baseline).then(|| {
                    self.flag(
                        format!("{}, no earlier creatinine in {lookback_days} days", creatinine.format(value)),
                        &[current],
                    )
                })
            })
            .collect()
    }

    fn newly_below(&self, measure: &Measure, below: f64) -> Vec<Flag> {
        let all = self.results.of_observable(&measure.observable);
        self.windowed(&measure.observable)
            .into_iter()
            .filter_map(|current| {
                let value = current.value.filter(|value| *value < below)?;
                let previous = previous_valued(all, current);
                match previous {
                    Some((_, earlier)) if earlier < below => None,
                    Some((result, earlier)) => Some(self.flag(
                        format!(
                            "{} (previous {} on {})",
                            measure.format(value),
                            measure.number(earlier),
                            result.date()
                        ),
                        &[current],
                    )),
                    None => Some(self.flag(format!("{} (no earlier result)", measure.format(value)), &[current])),
                }
            })
            .collect()
    }

    fn sustained_fall(
        &self,
        measure: &Measure,
        fall_percent: f64,
        lookback_days: i64,
        categories: &Categories,
    ) -> Vec<Flag> {
        let all = self.results.of_observable(&measure.observable);
        let fallen = |baseline: f64, value: f64| (baseline - value) * 100.0 >= fall_percent * baseline - 1e-9;
        self.windowed(&measure.observable)
            .into_iter()
            .filter_map(|current| {
                let value = current.value?;
                let (previous, previous_value) = previous_valued(all, current)?;
                let baseline = all
                    .iter()
                    .filter(|earlier| earlier.effective < previous.effective)
                    .filter(|earlier| (current.date() - earlier.date()).whole_days() <= lookback_days)
                    .filter_map(|earlier| earlier.value.map(|baseline| (*earlier, baseline)))
                    .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.effective.cmp(&a.0.effective)))?;
                let (baseline_result, baseline_value) = baseline;
                let worse = |value: f64| categories.index(value) > categories.index(baseline_value);
                let sustained = fallen(baseline_value, value)
                    && fallen(baseline_value, previous_value)
                    && worse(value)
                    && worse(previous_value);
                sustained.then(|| {
                    let percent = (baseline_value - value) / baseline_value * 100.0;
                    self.flag(
                        format!(
                            "{}, confirmed by {} on {}: {percent:.0}% below {} on {} ({} to {})",
                            measure.format(value),
                            measure.number(previous_value),
                            previous.date(),
                            measure.number(baseline_value),
                            baseline_result.date(),
                            categories.name(baseline_value),
                            categories.name(value),
                        ),
                        &[current, previous],
                    )
                })
            })
            .collect()
    }

    fn coded_finding(&self, observable: &str, label: &str, terms: &[(Code, String)]) -> Vec<Flag> {
        self.windowed(observable)
            .into_iter()
            .map(|result| {
                let term = terms.iter().find(|(code, _)| same_code(code, &result.code)).map(|(_, term)| term.as_str());
                let value = match term {
                    Some(term) => format!("{label}: {term}"),
                    None => format!("{label} ({})", result.code),
                };
                self.flag(value, &[result])
            })
            .collect()
    }

    fn answer_other_than(&self, measure: &Measure, safe_value_at_most: f64, safe_answers: &[Code]) -> Vec<Flag> {
        self.windowed(&measure.observable)
            .into_iter()
            .filter_map(|result| {
                let value = match (result.value, &result.value_code) {
                    (Some(score), _) if score > safe_value_at_most => {
                        format!("{} score {}", measure.label, measure.number(score))
                    }
                    (Some(_), _) => return None,
                    (None, Some(answer)) if safe_answers.iter().any(|safe| same_code(safe, answer)) => return None,
                    (None, Some(answer)) => format!("{} answered {answer}", measure.label),
                    (None, None) => format!("{} recorded without a readable answer", measure.label),
                };
                Some(self.flag(value, &[result]))
            })
            .collect()
    }

    fn threshold_without_record(
        &self,
        measure: &Measure,
        band: &Band,
        record_observable: &str,
        record_label: &str,
        record_lookback_days: i64,
    ) -> Vec<Flag> {
        let today = self.person.today;
        let recorded = self
            .results
            .of_observable(record_observable)
            .iter()
            .any(|record| record.date() > today || within(record.date(), today, record_lookback_days));
        if recorded {
            return Vec::new();
        }
        self.windowed(&measure.observable)
            .into_iter()
            .filter_map(|result| {
                let value = result.value.filter(|value| band.contains(*value))?;
                Some(self.flag(
                    format!("{}, no {record_label} record in {record_lookback_days} days", measure.format(value)),
                    &[result],
                ))
            })
            .collect()
    }
}

/// Whether `date` is on `today` or at most `days` days before it.
fn within(date: Date, today: Date, days: i64) -> bool {
    let start = today.checked_sub(Duration::days(days)).unwrap_or(Date::MIN);
    date >= start && date <= today
}

/// The latest result with a value strictly before `current`.
fn previous_valued<'a>(all: &[&'a ResultPoint], current: &ResultPoint) -> Option<(&'a ResultPoint, f64)> {
    all.iter()
        .rev()
        .filter(|earlier| earlier.effective < current.effective)
        .find_map(|earlier| earlier.value.map(|value| (*earlier, value)))
}

/// Codes compared as the same concept: dm+d identifiers are SNOMED CT identifiers.
fn same_code(left: &Code, right: &Code) -> bool {
    left.code == right.code && (left.system == right.system || (is_sct(&left.system) && is_sct(&right.system)))
}

fn is_sct(system: &CodeSystem) -> bool {
    matches!(system, CodeSystem::Snomed | CodeSystem::Dmd)
}

/// A class of medicines (e.g. SGLT2 inhibitors) as `data/medicine-classes.csv` defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct MedicineClass {
    /// Stable id, e.g. `"metformin"`, `"acei_arb"`.
    pub id: String,
    pub name: String,
    /// Product codes (dm+d or SNOMED CT) in the class.
    pub codes: Codelist,
    /// Ingredient and brand words, lower case; matched as whole words in the display text.
    pub words: Vec<String>,
    /// Classes whose members are also members of this one (e.g. diuretics lower blood pressure).
    pub includes: Vec<String>,
    pub source: String,
}

impl MedicineClass {
    /// Whether the medicine is in this class by its own code or display text (not via `includes`).
    pub fn matches_directly(&self, medicine: &CodedConcept) -> bool {
        let by_code = self.codes.contains(&medicine.code)
            || (is_sct(&medicine.code.system)
                && [CodeSystem::Snomed, CodeSystem::Dmd]
                    .into_iter()
                    .any(|system| self.codes.contains(&Code::new(system, medicine.code.code.clone()))));
        by_code || self.words.iter().any(|word| contains_word(&medicine.term, word))
    }
}

/// The classes a medicine belongs to, as sorted ids.
///
/// The rule: a medicine is in a class if its code is on the class codelist (dm+d and SNOMED CT
/// identifiers compared as one), OR its display text contains one of the class words as a whole
/// word (case-insensitive), OR it is in a class the class `includes`. dm+d has tens of thousands of
/// product codes and adds more every month, so a code list alone would silently miss new products;
/// the generic and brand names in dm+d display text catch them.
pub fn classify_medicine<'a>(classes: &'a [MedicineClass], medicine: &CodedConcept) -> Vec<&'a str> {
    let mut members: BTreeSet<&'a str> =
        classes.iter().filter(|class| class.matches_directly(medicine)).map(|class| class.id.as_str()).collect();
    // Close over `includes` (bounded: each pass adds at least one class or stops).
    for _ in 0..classes.len() {
        let before = members.len();
        for class in classes {
            if class.includes.iter().any(|included| members.contains(included.as_str())) {
                members.insert(class.id.as_str());
            }
        }
        if members.len() == before {
            break;
        }
    }
    members.into_iter().collect()
}

/// Whether `text` contains `word` as a whole word, ignoring case. A word boundary is any character
/// that is not a letter or digit (so "co-amilofruse" and "Insulin glargine" match, "dinsulin" does not).
pub fn contains_word(text: &str, word: &str) -> bool {
    let text = text.to_lowercase();
    let word = word.trim().to_lowercase();
    if word.is_empty() {
        return false;
    }
    text.match_indices(word.as_str()).any(|(start, found)| {
        let before = text[..start].chars().next_back();
        let after = text[start + found.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests;
