//! Tests of the red-flag engine on rules built here (the shipped table is tested in
//! `concord-codelists`). Property tests sit at and around every threshold.

use std::collections::BTreeSet;

use proptest::prelude::*;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use super::*;
use crate::patient::Sex;

const TODAY: Date = date!(2026 - 11 - 23);
const NOON: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn measure(observable: &str, label: &str, unit: &str, decimals: u32) -> Measure {
    Measure { observable: observable.into(), label: label.into(), unit: unit.into(), decimals }
}

fn potassium() -> Measure {
    measure("potassium", "K+", "mmol/L", 1)
}

fn creatinine() -> Measure {
    measure("creatinine", "Creatinine", "µmol/L", 0)
}

fn egfr() -> Measure {
    measure("egfr", "eGFR", "mL/min/1.73m²", 0)
}

fn band(lower: Option<Bound>, upper: Option<Bound>) -> Band {
    Band { lower, upper }
}

fn at_least(value: f64) -> Option<Bound> {
    Some(Bound::Inclusive(value))
}

fn below(value: f64) -> Option<Bound> {
    Some(Bound::Exclusive(value))
}

fn rule(id: &str, severity: Severity, kind: RuleKind) -> RedFlagRule {
    RedFlagRule {
        id: id.into(),
        name: id.into(),
        severity,
        kind,
        applies_when: Condition::always(),
        window_days: 30,
        action: format!("act on {id}"),
        source: "test".into(),
    }
}

fn when(mut rule: RedFlagRule, condition: &str) -> RedFlagRule {
    rule.applies_when = Condition::parse(condition).expect("condition");
    rule
}

fn windowed(mut rule: RedFlagRule, days: i64) -> RedFlagRule {
    rule.window_days = days;
    rule
}

fn threshold(id: &str, severity: Severity, measure: Measure, band: Band) -> RedFlagRule {
    rule(id, severity, RuleKind::Threshold { measure, band, scope: Scope::Each })
}

fn latest(id: &str, severity: Severity, measure: Measure, band: Band) -> RedFlagRule {
    windowed(rule(id, severity, RuleKind::Threshold { measure, band, scope: Scope::Latest }), 365)
}

fn nhs_aki() -> AkiAlgorithm {
    AkiAlgorithm {
        rv1_max_days: 7,
        rv2_min_days: 8,
        rv2_max_days: 365,
        stage_ratios: [1.5, 2.0, 3.0],
        stage3_creatinine_above: 354.0,
        rise_hours: 48,
        rise_above: 26.0,
    }
}

fn gfr_categories() -> Categories {
    Categories {
        floors: vec![
            ("G1".into(), 90.0),
            ("G2".into(), 60.0),
            ("G3a".into(), 45.0),
            ("G3b".into(), 30.0),
            ("G4".into(), 15.0),
        ],
        last: "G5".into(),
    }
}

/// The potassium bands of `data/red-flags.csv`.
fn potassium_rules() -> Vec<RedFlagRule> {
    vec![
        threshold("potassium_very_high", Severity::Urgent, potassium(), band(at_least(6.5), None)),
        threshold("potassium_high", Severity::Urgent, potassium(), band(at_least(6.0), below(6.5))),
        threshold("potassium_raised", Severity::Soon, potassium(), band(at_least(5.5), below(6.0))),
        threshold("potassium_very_low", Severity::Urgent, potassium(), band(None, below(2.5))),
        threshold("potassium_low", Severity::Urgent, potassium(), band(at_least(2.5), below(3.0))),
    ]
}

fn aki_rules() -> Vec<RedFlagRule> {
    (1..=3)
        .map(|stage| {
            rule(
                &format!("aki_stage_{stage}"),
                Severity::Urgent,
                RuleKind::Aki { creatinine: creatinine(), stage: StageMatch::Exactly(stage), algorithm: nhs_aki() },
            )
        })
        .chain([rule(
            "creatinine_very_high_no_baseline",
            Severity::Urgent,
            RuleKind::CreatinineWithoutBaseline { creatinine: creatinine(), above: 354.0, lookback_days: 365 },
        )])
        .collect()
}

/// A rule set mirroring the shipped table, for the engine-level tests.
fn standard_rules() -> Vec<RedFlagRule> {
    let mut rules = potassium_rules();
    rules.extend(aki_rules());
    rules.extend([
        windowed(rule("egfr_new_below_30", Severity::Soon, RuleKind::NewlyBelow { measure: egfr(), below: 30.0 }), 90),
        windowed(
            rule(
                "egfr_sustained_fall",
                Severity::Soon,
                RuleKind::SustainedFall {
                    measure: egfr(),
                    fall_percent: 25.0,
                    lookback_days: 365,
                    categories: gfr_categories(),
                },
            ),
            90,
        ),
        windowed(
            threshold(
                "acr_70_or_more",
                Severity::Soon,
                measure("urine_acr", "Urine ACR", "mg/mmol", 1),
                band(at_least(70.0), None),
            ),
            90,
        ),
        rule(
            "bp_180_120",
            Severity::Urgent,
            RuleKind::BloodPressure {
                systolic: measure("systolic_bp", "Systolic", "mmHg", 0),
                diastolic: measure("diastolic_bp", "Diastolic", "mmHg", 0),
                systolic_at_least: 180.0,
                diastolic_at_least: 120.0,
            },
        ),
        when(
            windowed(
                threshold(
                    "spo2_92_copd",
                    Severity::Soon,
                    measure("spo2", "SpO2", "%", 0),
                    band(None, Some(Bound::Inclusive(92.0))),
                ),
                90,
            ),
            "register:copd",
        ),
        when(
            windowed(
                rule(
                    "mrc_3_no_pulmonary_rehab",
                    Severity::Routine,
                    RuleKind::ThresholdWithoutRecord {
                        measure: measure("mrc_dyspnoea", "MRC dyspnoea grade", "", 0),
                        band: band(at_least(3.0), None),
                        record_observable: "pulmonary_rehab".into(),
                        record_label: "pulmonary rehabilitation".into(),
                        record_lookback_days: 1095,
                    },
                ),
                455,
            ),
            "register:copd",
        ),
        windowed(
            threshold(
                "hba1c_above_86",
                Severity::Soon,
                measure("hba1c", "HbA1c", "mmol/mol", 0),
                band(Some(Bound::Exclusive(86.0)), None),
            ),
            90,
        ),
        windowed(
            rule(
                "foot_ulcer_active",
                Severity::Urgent,
                RuleKind::CodedFinding {
                    observable: "foot_ulcer".into(),
                    label: "Diabetic foot ulcer".into(),
                    terms: vec![(Code::snomed("371087003"), "Ulcer of foot due to diabetes mellitus".into())],
                },
            ),
            90,
        ),
        when(
            latest(
                "overtreatment_hba1c_frail",
                Severity::Routine,
                measure("hba1c", "HbA1c", "mmol/mol", 0),
                band(None, below(53.0)),
            ),
            "frailty & takes:insulin | frailty & takes:sulfonylurea",
        ),
        when(
            latest(
                "overtreatment_bp_frail",
                Severity::Routine,
                measure("systolic_bp", "Systolic BP", "mmHg", 0),
                band(None, below(140.0)),
            ),
            "frailty & takes:antihypertensive",
        ),
        rule(
            "phq9_item9_positive",
            Severity::Urgent,
            RuleKind::AnswerOtherThan {
                measure: measure("phq9_item9", "PHQ-9 item 9", "", 0),
                safe_value_at_most: 0.0,
                safe_answers: vec![Code::new(CodeSystem::Loinc, "LA6568-5")],
            },
        ),
        when(latest("metformin_egfr_below_30", Severity::Soon, egfr(), band(None, below(30.0))), "takes:metformin"),
        when(
            latest("metformin_egfr_30_44", Severity::Routine, egfr(), band(at_least(30.0), below(45.0))),
            "takes:metformin",
        ),
        when(
            latest("sglt2_egfr_below_20", Severity::Routine, egfr(), band(None, below(20.0))),
            "takes:sglt2_inhibitor",
        ),
        when(
            threshold("acei_arb_potassium_6", Severity::Urgent, potassium(), band(at_least(6.0), None)),
            "takes:acei_arb",
        ),
        when(
            rule(
                "triple_whammy_aki",
                Severity::Urgent,
                RuleKind::Aki { creatinine: creatinine(), stage: StageMatch::AtLeast(1), algorithm: nhs_aki() },
            ),
            "takes:acei_arb & takes:diuretic & takes:nsaid",
        ),
        when(
            latest(
                "diabetes_acr_no_acei_arb",
                Severity::Routine,
                measure("urine_acr", "Urine ACR", "mg/mmol", 1),
                band(Some(Bound::Exclusive(3.0)), None),
            ),
            "register:diabetes & !takes:acei_arb",
        ),
    ]);
    rules
}

fn point(observable: &str, value: f64, effective: OffsetDateTime, key: &str) -> ResultPoint {
    ResultPoint {
        observable: observable.into(),
        value: Some(value),
        code: Code::snomed("1000651000000109"),
        value_code: None,
        effective,
        key: key.into(),
    }
}

fn days_ago(days: i64) -> OffsetDateTime {
    NOON - time::Duration::days(days)
}

fn person(results: Vec<ResultPoint>) -> PersonSnapshot {
    let mut person = PersonSnapshot {
        today: TODAY,
        age_years: Some(70),
        sex: Sex::Male,
        registers: BTreeSet::new(),
        moderate_or_severe_frailty: false,
        medicine_classes: BTreeSet::new(),
        results,
    };
    person.sort_results();
    person
}

fn with(mut person: PersonSnapshot, registers: &[&str], medicines: &[&str], frail: bool) -> PersonSnapshot {
    person.registers = registers.iter().map(|id| (*id).to_owned()).collect();
    person.medicine_classes = medicines.iter().map(|id| (*id).to_owned()).collect();
    person.moderate_or_severe_frailty = frail;
    person
}

fn rule_ids(flags: &[Flag]) -> Vec<&str> {
    flags.iter().map(|flag| flag.rule_id.as_str()).collect()
}

fn raised(rules: &[RedFlagRule], person: &PersonSnapshot) -> Vec<String> {
    evaluate(rules, person).into_iter().map(|flag| flag.rule_id).collect()
}

// ----- Severity ----------------------------------------------------------------------------------

#[test]
fn severities_sort_urgent_first_and_round_trip() {
    let mut severities = vec![Severity::Routine, Severity::Urgent, Severity::Soon];
    severities.sort();
    assert_eq!(severities, Severity::ALL);
    for severity in Severity::ALL {
        assert_eq!(Severity::parse(severity.as_str()), Some(severity));
    }
    assert_eq!(Severity::parse("high"), None);
}

// ----- Normal results --------------------------------------------------------------------------

#[test]
fn a_healthy_persons_typical_results_raise_nothing() {
    let results = vec![
        point("potassium", 4.3, days_ago(3), "k"),
        point("creatinine", 82.0, days_ago(200), "c0"),
        point("creatinine", 85.0, days_ago(3), "c1"),
        point("egfr", 84.0, days_ago(200), "e0"),
        point("egfr", 82.0, days_ago(3), "e1"),
        point("urine_acr", 1.2, days_ago(3), "acr"),
        point("systolic_bp", 132.0, days_ago(3), "s"),
        point("diastolic_bp", 78.0, days_ago(3), "d"),
        point("spo2", 97.0, days_ago(3), "o2"),
        point("mrc_dyspnoea", 2.0, days_ago(3), "mrc"),
        point("hba1c", 52.0, days_ago(3), "a1c"),
        point("phq9_item9", 0.0, days_ago(3), "phq"),
    ];
    let healthy = with(person(results), &["diabetes", "copd", "hypertension"], &["metformin", "acei_arb"], false);
    assert_eq!(evaluate(&standard_rules(), &healthy), Vec::<Flag>::new());
}

// ----- Potassium bands -------------------------------------------------------------------------

#[test]
fn each_potassium_band_has_its_severity() {
    for (value, expected) in [
        (6.7, Some(("potassium_very_high", Severity::Urgent))),
        (6.5, Some(("potassium_very_high", Severity::Urgent))),
        (6.4, Some(("potassium_high", Severity::Urgent))),
        (6.0, Some(("potassium_high", Severity::Urgent))),
        (5.9, Some(("potassium_raised", Severity::Soon))),
        (5.5, Some(("potassium_raised", Severity::Soon))),
        (5.4, None),
        (3.0, None),
        (2.9, Some(("potassium_low", Severity::Urgent))),
        (2.5, Some(("potassium_low", Severity::Urgent))),
        (2.4, Some(("potassium_very_low", Severity::Urgent))),
    ] {
        let flags = evaluate(&potassium_rules(), &person(vec![point("potassium", value, days_ago(1), "k")]));
        let found: Vec<(&str, Severity)> = flags.iter().map(|flag| (flag.rule_id.as_str(), flag.severity)).collect();
        assert_eq!(found, expected.into_iter().collect::<Vec<_>>(), "K+ {value}");
    }
}

#[test]
fn a_flag_names_its_value_with_units_and_its_result() {
    let flags = evaluate(&potassium_rules(), &person(vec![point("potassium", 6.7, days_ago(2), "obs-17")]));
    assert_eq!(flags.len(), 1);
    let flag = &flags[0];
    assert_eq!(flag.value, "K+ 6.7 mmol/L");
    assert_eq!(flag.observation_keys, vec!["obs-17".to_owned()]);
    assert_eq!(flag.observation_codes, vec![Code::snomed("1000651000000109")]);
    assert_eq!(flag.result_date, date!(2026 - 11 - 21));
    assert_eq!(flag.action, "act on potassium_very_high");
    assert_eq!(
        flag.identity(),
        FlagIdentity { rule_id: "potassium_very_high".into(), observation_keys: vec!["obs-17".into()] }
    );
}

#[test]
fn two_results_in_one_import_each_raise_their_own_flag() {
    let results = vec![point("potassium", 6.6, days_ago(2), "a"), point("potassium", 6.8, days_ago(1), "b")];
    let flags = evaluate(&potassium_rules(), &person(results));
    let identities: Vec<String> = flags.iter().map(|flag| flag.identity().to_string()).collect();
    assert_eq!(identities, ["potassium_very_high:b", "potassium_very_high:a"], "most recent first");
}

#[test]
fn results_outside_the_window_or_in_the_future_are_not_evaluated() {
    let results = vec![
        point("potassium", 7.0, days_ago(31), "old"),
        point("potassium", 7.1, days_ago(30), "edge"),
        point("potassium", 7.2, days_ago(-1), "tomorrow"),
    ];
    let flags = evaluate(&potassium_rules(), &person(results));
    assert_eq!(flags.iter().map(|flag| flag.observation_keys[0].as_str()).collect::<Vec<_>>(), ["edge"]);
}

#[test]
fn results_without_a_value_are_skipped() {
    let mut unreadable = point("potassium", 0.0, days_ago(1), "x");
    unreadable.value = None;
    assert!(evaluate(&potassium_rules(), &person(vec![unreadable])).is_empty());
}

// ----- AKI -------------------------------------------------------------------------------------

fn aki_person(results: &[(f64, i64)]) -> PersonSnapshot {
    person(
        results
            .iter()
            .enumerate()
            .map(|(index, (value, days))| point("creatinine", *value, days_ago(*days), &format!("c{index}")))
            .collect(),
    )
}

/// The stage of the most recent result.
fn stage_of(results: &[(f64, i64)]) -> Option<u8> {
    let person = aki_person(results);
    let all: Vec<&ResultPoint> = person.results.iter().collect();
    nhs_aki().stage(person.results.last().unwrap(), &all).map(|stage| stage.stage)
}

#[test]
fn aki_stages_one_to_three_against_the_median_baseline() {
    let baseline = [(100.0, 300), (90.0, 200), (110.0, 100)]; // median 100
    let with = |current: f64| {
        let mut results = baseline.to_vec();
        results.push((current, 0));
        stage_of(&results)
    };
    assert_eq!(with(149.0), None);
    assert_eq!(with(150.0), Some(1));
    assert_eq!(with(199.0), Some(1));
    assert_eq!(with(200.0), Some(2));
    assert_eq!(with(299.0), Some(2));
    assert_eq!(with(300.0), Some(3));
}

#[test]
fn aki_uses_the_lowest_result_in_the_previous_seven_days() {
    assert_eq!(stage_of(&[(80.0, 7), (120.0, 3), (170.0, 0)]), Some(2), "170/80 = 2.1 (lowest in 0-7 days)");
    assert_eq!(
        stage_of(&[(80.0, 8), (120.0, 3), (170.0, 0)]),
        Some(2),
        "RV1 120 gives 1.4, RV2 80 (day 8) gives 2.1: the higher counts"
    );
    assert_eq!(
        stage_of(&[(80.0, 9), (120.0, 8), (170.0, 0)]),
        Some(1),
        "no RV1: the median of days 8-365 is 100, ratio 1.7"
    );
    assert_eq!(stage_of(&[(120.0, 3), (170.0, 0)]), None, "170/120 = 1.42, rise 50 but not within 48 hours");
}

#[test]
fn with_both_reference_values_the_higher_ratio_counts() {
    // RV1 (lowest in 7 days) = 150: ratio 1.33. RV2 (median 8-365 days) = 100: ratio 2.0.
    assert_eq!(stage_of(&[(100.0, 60), (150.0, 5), (200.0, 0)]), Some(2));
    // RV1 = 60: ratio 3.3. RV2 = 100: ratio 2.0.
    assert_eq!(stage_of(&[(100.0, 60), (60.0, 5), (200.0, 0)]), Some(3));
}

#[test]
fn creatinine_above_354_with_a_stage_one_ratio_is_stage_three() {
    assert_eq!(stage_of(&[(236.0, 100), (355.0, 0)]), Some(3), "355/236 = 1.504, above 354");
    assert_eq!(stage_of(&[(236.0, 100), (354.0, 0)]), Some(1), "354 is not above 354");
    assert_eq!(stage_of(&[(300.0, 100), (400.0, 0)]), None, "400/300 = 1.33: above 354 alone is not a stage");
}

#[test]
fn a_rise_of_more_than_26_in_48_hours_is_stage_one_when_the_ratio_is_below_one_and_a_half() {
    let start = datetime!(2026-11-21 12:00 UTC);
    let rise = |hours: i64, first: f64, second: f64| {
        let person = person(vec![
            point("creatinine", first, start, "first"),
            point("creatinine", second, start + time::Duration::hours(hours), "second"),
        ]);
        let all: Vec<&ResultPoint> = person.results.iter().collect();
        nhs_aki().stage(person.results.last().unwrap(), &all)
    };
    let stage = rise(24, 100.0, 127.0).expect("rise of 27 in 24 hours");
    assert_eq!((stage.stage, stage.basis), (1, AkiBasis::Rise));
    assert_eq!(rise(24, 100.0, 126.0), None, "a rise of exactly 26 is not more than 26");
    assert_eq!(rise(48, 100.0, 140.0).map(|stage| stage.stage), Some(1), "48 hours is within");
    assert_eq!(rise(49, 100.0, 140.0), None, "49 hours is outside (and 1.4 is below the ratio)");
}

#[test]
fn no_baseline_means_no_stage_but_a_very_high_creatinine_is_still_flagged() {
    assert_eq!(stage_of(&[(500.0, 0)]), None);
    assert_eq!(stage_of(&[(100.0, 400), (500.0, 0)]), None, "only a result more than 365 days before");
    let flags = evaluate(&aki_rules(), &aki_person(&[(100.0, 400), (500.0, 0)]));
    assert_eq!(rule_ids(&flags), ["creatinine_very_high_no_baseline"]);
    assert_eq!(flags[0].value, "Creatinine 500 µmol/L, no earlier creatinine in 365 days");
    assert!(evaluate(&aki_rules(), &aki_person(&[(354.0, 0)])).is_empty(), "354 is not above 354");
    let with_baseline = evaluate(&aki_rules(), &aki_person(&[(450.0, 100), (500.0, 0)]));
    assert!(with_baseline.is_empty(), "a known high baseline: no AKI stage, and not 'no baseline' either");
}

#[test]
fn each_creatinine_raises_only_its_own_stage() {
    let flags = evaluate(&aki_rules(), &aki_person(&[(100.0, 100), (160.0, 2), (320.0, 0)]));
    let found: Vec<String> = flags.iter().map(|flag| flag.identity().to_string()).collect();
    assert_eq!(found, ["aki_stage_3:c2", "aki_stage_1:c1"]);
    assert_eq!(flags[0].value, "Creatinine 320 µmol/L, AKI stage 3 (3.2× median of 8 to 365 days before (100))");
}

// ----- eGFR ------------------------------------------------------------------------------------

#[test]
fn egfr_newly_below_30_only_when_the_previous_was_not() {
    let rules = standard_rules();
    let ids = |results: Vec<ResultPoint>| raised(&rules, &person(results));
    assert_eq!(ids(vec![point("egfr", 29.0, days_ago(1), "a")]), ["egfr_new_below_30"], "no previous result");
    assert_eq!(
        ids(vec![point("egfr", 31.0, days_ago(40), "a"), point("egfr", 29.0, days_ago(1), "b")]),
        ["egfr_new_below_30"]
    );
    assert!(
        ids(vec![point("egfr", 28.0, days_ago(120), "a"), point("egfr", 27.0, days_ago(1), "b")]).is_empty(),
        "already below"
    );
    let both_new = ids(vec![point("egfr", 28.0, days_ago(40), "a"), point("egfr", 27.0, days_ago(1), "b")]);
    assert_eq!(both_new, ["egfr_new_below_30"], "the first fall in the window is new; the second is not");
    assert!(ids(vec![point("egfr", 30.0, days_ago(1), "a")]).is_empty(), "30 is not below 30");
}

#[test]
fn a_sustained_fall_of_a_quarter_with_a_category_change_is_flagged() {
    let rule = rule(
        "egfr_sustained_fall",
        Severity::Soon,
        RuleKind::SustainedFall {
            measure: egfr(),
            fall_percent: 25.0,
            lookback_days: 365,
            categories: gfr_categories(),
        },
    );
    let fall = |values: &[(f64, i64)]| {
        let results = values
            .iter()
            .enumerate()
            .map(|(index, (value, days))| point("egfr", *value, days_ago(*days), &format!("e{index}")))
            .collect();
        evaluate(std::slice::from_ref(&rule), &person(results))
    };
    let flags = fall(&[(64.0, 300), (48.0, 20), (47.0, 1)]);
    assert_eq!(flags.len(), 1, "64 (G2) -> 48, 47 (G3a): both 25% or more below");
    assert_eq!(flags[0].identity().observation_keys, ["e1", "e2"]);
    assert_eq!(
        flags[0].value,
        "eGFR 47 mL/min/1.73m², confirmed by 48 on 2026-11-03: 27% below 64 on 2026-01-27 (G2 to G3a)"
    );
    assert!(fall(&[(64.0, 300), (49.0, 20), (47.0, 1)]).is_empty(), "49 is a 23% fall: not sustained");
    assert!(fall(&[(64.0, 300), (47.0, 1)]).is_empty(), "a single result is not sustained");
    assert!(fall(&[(80.0, 300), (60.0, 20), (60.0, 1)]).is_empty(), "25% fall but still G2");
    assert!(fall(&[(64.0, 400), (48.0, 20), (47.0, 1)]).is_empty(), "baseline older than 12 months");
}

// ----- Blood pressure --------------------------------------------------------------------------

#[test]
fn blood_pressure_180_over_120_either_number_on_one_reading() {
    let reading = |systolic: f64, diastolic: f64| {
        person(vec![
            point("systolic_bp", systolic, days_ago(1), "s"),
            point("diastolic_bp", diastolic, days_ago(1), "d"),
        ])
    };
    let rules = standard_rules();
    let flags = evaluate(&rules, &reading(185.0, 95.0));
    assert_eq!(rule_ids(&flags), ["bp_180_120"]);
    assert_eq!(flags[0].value, "BP 185/95 mmHg");
    assert_eq!(flags[0].identity().observation_keys, ["d", "s"], "one flag for the reading, both results behind it");
    assert_eq!(raised(&rules, &reading(150.0, 120.0)), ["bp_180_120"]);
    assert!(raised(&rules, &reading(179.0, 119.0)).is_empty());
    let alone = evaluate(&rules, &person(vec![point("diastolic_bp", 125.0, days_ago(1), "d")]));
    assert_eq!(alone[0].value, "BP —/125 mmHg");
}

// ----- COPD ------------------------------------------------------------------------------------

#[test]
fn spo2_92_or_less_only_for_people_on_the_copd_register() {
    let rules = standard_rules();
    let low = |value: f64| person(vec![point("spo2", value, days_ago(1), "o")]);
    assert!(raised(&rules, &low(92.0)).is_empty(), "not on the COPD register");
    assert_eq!(raised(&rules, &with(low(92.0), &["copd"], &[], false)), ["spo2_92_copd"]);
    assert!(raised(&rules, &with(low(93.0), &["copd"], &[], false)).is_empty());
}

#[test]
fn mrc_3_without_pulmonary_rehabilitation_is_a_routine_prompt() {
    let rules = standard_rules();
    let copd = |results| with(person(results), &["copd"], &[], false);
    let flags = evaluate(&rules, &copd(vec![point("mrc_dyspnoea", 3.0, days_ago(100), "m")]));
    assert_eq!(rule_ids(&flags), ["mrc_3_no_pulmonary_rehab"]);
    assert_eq!(flags[0].severity, Severity::Routine);
    assert!(raised(&rules, &copd(vec![point("mrc_dyspnoea", 2.0, days_ago(100), "m")])).is_empty());
    let addressed =
        copd(vec![point("mrc_dyspnoea", 4.0, days_ago(100), "m"), point("pulmonary_rehab", 1.0, days_ago(900), "pr")]);
    assert!(raised(&rules, &addressed).is_empty(), "a referral, attendance or decline within 3 years");
    let long_ago =
        copd(vec![point("mrc_dyspnoea", 4.0, days_ago(100), "m"), point("pulmonary_rehab", 1.0, days_ago(1200), "pr")]);
    assert_eq!(raised(&rules, &long_ago), ["mrc_3_no_pulmonary_rehab"]);
}

// ----- Diabetes --------------------------------------------------------------------------------

#[test]
fn hba1c_above_86_is_soon_and_86_is_not_flagged() {
    let rules = standard_rules();
    let hba1c = |value: f64| person(vec![point("hba1c", value, days_ago(5), "a")]);
    assert_eq!(raised(&rules, &hba1c(87.0)), ["hba1c_above_86"]);
    assert!(raised(&rules, &hba1c(86.0)).is_empty());
}

#[test]
fn a_coded_foot_ulcer_is_urgent_and_named_by_its_term() {
    let mut ulcer = point("foot_ulcer", 0.0, days_ago(10), "u");
    ulcer.value = None;
    ulcer.code = Code::snomed("371087003");
    let flags = evaluate(&standard_rules(), &person(vec![ulcer.clone()]));
    assert_eq!(rule_ids(&flags), ["foot_ulcer_active"]);
    assert_eq!(flags[0].severity, Severity::Urgent);
    assert_eq!(flags[0].value, "Diabetic foot ulcer: Ulcer of foot due to diabetes mellitus");
    ulcer.code = Code::snomed("860977000");
    assert_eq!(evaluate(&standard_rules(), &person(vec![ulcer]))[0].value, "Diabetic foot ulcer (snomed|860977000)");
}

#[test]
fn over_treatment_needs_frailty_and_the_medicine() {
    let rules = standard_rules();
    let low = || person(vec![point("hba1c", 50.0, days_ago(20), "a"), point("systolic_bp", 128.0, days_ago(20), "s")]);
    assert!(raised(&rules, &with(low(), &["diabetes"], &["insulin"], false)).is_empty(), "not frail");
    assert!(
        raised(&rules, &with(low(), &["diabetes"], &["metformin"], true)).is_empty(),
        "frail, no hypoglycaemic agent"
    );
    assert_eq!(raised(&rules, &with(low(), &["diabetes"], &["sulfonylurea"], true)), ["overtreatment_hba1c_frail"]);
    assert_eq!(
        raised(&rules, &with(low(), &["diabetes"], &["insulin", "antihypertensive"], true)),
        ["overtreatment_bp_frail", "overtreatment_hba1c_frail"]
    );
    let at_target = person(vec![point("hba1c", 53.0, days_ago(20), "a")]);
    assert!(raised(&rules, &with(at_target, &[], &["insulin"], true)).is_empty(), "53 is not below 53");
    let recovered = person(vec![point("hba1c", 45.0, days_ago(200), "old"), point("hba1c", 60.0, days_ago(20), "new")]);
    assert!(raised(&rules, &with(recovered, &[], &["insulin"], true)).is_empty(), "only the latest counts");
}

// ----- PHQ-9 item 9 ----------------------------------------------------------------------------

#[test]
fn phq9_item9_other_than_not_at_all_is_urgent() {
    let rules = standard_rules();
    let answer = |value: Option<f64>, code: Option<&str>| {
        let mut result = point("phq9_item9", 0.0, days_ago(1), "q");
        result.value = value;
        result.value_code = code.map(|code| Code::new(CodeSystem::Loinc, code));
        evaluate(&rules, &person(vec![result]))
    };
    assert!(answer(Some(0.0), None).is_empty(), "not at all");
    let flags = answer(Some(1.0), None);
    assert_eq!((rule_ids(&flags), flags[0].severity), (vec!["phq9_item9_positive"], Severity::Urgent));
    assert_eq!(flags[0].value, "PHQ-9 item 9 score 1");
    assert!(answer(None, Some("LA6568-5")).is_empty(), "coded 'not at all'");
    assert_eq!(answer(None, Some("LA6571-9"))[0].value, "PHQ-9 item 9 answered loinc|LA6571-9");
    assert_eq!(answer(None, None)[0].value, "PHQ-9 item 9 recorded without a readable answer", "fails safe");
}

// ----- Medicines -------------------------------------------------------------------------------

#[test]
fn metformin_and_sglt2_against_the_latest_egfr() {
    let rules = standard_rules();
    let egfr_on = |value: f64, medicines: &[&str]| {
        with(person(vec![point("egfr", value, days_ago(60), "e")]), &[], medicines, false)
    };
    let medicine_flags = |value: f64, medicines: &[&str]| {
        raised(&rules, &egfr_on(value, medicines))
            .into_iter()
            .filter(|id| id != "egfr_new_below_30")
            .collect::<Vec<_>>()
    };
    assert_eq!(medicine_flags(29.0, &["metformin"]), ["metformin_egfr_below_30"]);
    assert_eq!(medicine_flags(30.0, &["metformin"]), ["metformin_egfr_30_44"]);
    assert_eq!(medicine_flags(44.0, &["metformin"]), ["metformin_egfr_30_44"]);
    assert!(medicine_flags(45.0, &["metformin"]).is_empty());
    assert!(medicine_flags(25.0, &[]).is_empty(), "no metformin");
    assert_eq!(medicine_flags(19.0, &["sglt2_inhibitor"]), ["sglt2_egfr_below_20"]);
    assert!(medicine_flags(20.0, &["sglt2_inhibitor"]).is_empty());
}

#[test]
fn acei_arb_with_potassium_6_is_urgent() {
    let rules = standard_rules();
    let on = |value: f64, medicines: &[&str]| {
        raised(&rules, &with(person(vec![point("potassium", value, days_ago(1), "k")]), &[], medicines, false))
    };
    assert_eq!(on(6.0, &["acei_arb"]), ["acei_arb_potassium_6", "potassium_high"]);
    assert_eq!(on(6.0, &[]), ["potassium_high"]);
    assert_eq!(on(5.9, &["acei_arb"]), ["potassium_raised"]);
}

#[test]
fn the_triple_whammy_with_aki_needs_all_three_classes() {
    let rules = standard_rules();
    let aki = || aki_person(&[(100.0, 60), (160.0, 1)]);
    let ids = |medicines: &[&str]| raised(&rules, &with(aki(), &[], medicines, false));
    assert_eq!(ids(&["acei_arb", "diuretic", "nsaid"]), ["aki_stage_1", "triple_whammy_aki"]);
    assert_eq!(ids(&["acei_arb", "diuretic"]), ["aki_stage_1"]);
    let no_aki = with(aki_person(&[(100.0, 60), (140.0, 1)]), &[], &["acei_arb", "diuretic", "nsaid"], false);
    assert!(raised(&rules, &no_aki).is_empty());
}

#[test]
fn diabetes_with_albuminuria_and_no_acei_arb() {
    let rules = standard_rules();
    let acr = |value: f64, medicines: &[&str]| {
        raised(
            &rules,
            &with(person(vec![point("urine_acr", value, days_ago(30), "a")]), &["diabetes"], medicines, false),
        )
    };
    assert_eq!(acr(3.1, &[]), ["diabetes_acr_no_acei_arb"]);
    assert!(acr(3.0, &[]).is_empty(), "3 is not above 3");
    assert!(acr(12.0, &["acei_arb"]).is_empty());
    assert_eq!(acr(75.0, &[]), ["acr_70_or_more", "diabetes_acr_no_acei_arb"]);
}

#[test]
fn medicines_are_classified_by_code_or_whole_word() {
    let mut codes = Codelist::new("med-insulin", "t", "t");
    codes.insert(Code::new(CodeSystem::Dmd, "11933011000001106"), "Lantus SoloStar");
    let insulin = MedicineClass {
        id: "insulin".into(),
        name: "Insulins".into(),
        codes,
        words: vec!["insulin".into(), "humalog".into()],
        includes: vec![],
        source: "t".into(),
    };
    let hypoglycaemic = MedicineClass {
        id: "hypoglycaemic".into(),
        name: "Can cause hypoglycaemia".into(),
        codes: Codelist::new("none", "t", "t"),
        words: vec![],
        includes: vec!["insulin".into()],
        source: "t".into(),
    };
    let classes = [insulin, hypoglycaemic];
    let concept =
        |system: CodeSystem, code: &str, term: &str| CodedConcept { code: Code::new(system, code), term: term.into() };
    assert_eq!(
        classify_medicine(&classes, &concept(CodeSystem::Dmd, "11933011000001106", "")),
        ["hypoglycaemic", "insulin"]
    );
    assert_eq!(
        classify_medicine(&classes, &concept(CodeSystem::Snomed, "11933011000001106", "")),
        ["hypoglycaemic", "insulin"],
        "dm+d and SNOMED CT identifiers are one"
    );
    assert_eq!(
        classify_medicine(&classes, &concept(CodeSystem::Dmd, "1", "INSULIN GLARGINE 100units/ml")),
        ["hypoglycaemic", "insulin"]
    );
    assert_eq!(
        classify_medicine(&classes, &concept(CodeSystem::Dmd, "1", "Humalog KwikPen")),
        ["hypoglycaemic", "insulin"]
    );
    assert!(
        classify_medicine(&classes, &concept(CodeSystem::Dmd, "1", "Noninsulinic 5mg")).is_empty(),
        "not a whole word"
    );
    assert!(classify_medicine(&classes, &concept(CodeSystem::Loinc, "11933011000001106", "x")).is_empty());
}

#[test]
fn whole_words_respect_boundaries_and_case() {
    assert!(contains_word("Co-amilofruse 5mg/40mg tablets", "co-amilofruse"));
    assert!(contains_word("Furosemide 40mg tablets", "FUROSEMIDE"));
    assert!(contains_word("Ibuprofen/codeine", "codeine"));
    assert!(!contains_word("Dexibuprofen 400mg tablets", "ibuprofen"));
    assert!(!contains_word("Metformina", "metformin"));
    assert!(!contains_word("anything", " "));
}

// ----- Determinism -----------------------------------------------------------------------------

fn busy_person() -> PersonSnapshot {
    with(
        person(vec![
            point("potassium", 6.7, days_ago(2), "k1"),
            point("potassium", 2.4, days_ago(1), "k2"),
            point("creatinine", 100.0, days_ago(100), "c0"),
            point("creatinine", 310.0, days_ago(1), "c1"),
            point("systolic_bp", 190.0, days_ago(3), "s"),
            point("diastolic_bp", 100.0, days_ago(3), "d"),
            point("egfr", 64.0, days_ago(300), "e0"),
            point("egfr", 40.0, days_ago(20), "e1"),
            point("egfr", 19.0, days_ago(1), "e2"),
            point("hba1c", 90.0, days_ago(4), "a"),
            point("urine_acr", 80.0, days_ago(4), "acr"),
            point("spo2", 90.0, days_ago(4), "o"),
            point("mrc_dyspnoea", 4.0, days_ago(4), "m"),
            point("phq9_item9", 2.0, days_ago(4), "q"),
        ]),
        &["diabetes", "copd"],
        &["metformin", "sglt2_inhibitor", "acei_arb", "diuretic", "nsaid"],
        true,
    )
}

#[test]
fn flags_come_urgent_first_then_most_recent() {
    let flags = evaluate(&standard_rules(), &busy_person());
    let severities: Vec<Severity> = flags.iter().map(|flag| flag.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort();
    assert_eq!(severities, sorted);
    assert_eq!(flags[0].severity, Severity::Urgent);
    assert_eq!(flags[0].result_date, date!(2026 - 11 - 22), "the most recent urgent result leads");
    let identities: BTreeSet<FlagIdentity> = flags.iter().map(Flag::identity).collect();
    assert_eq!(identities.len(), flags.len(), "each flag once");
    for expected in [
        "potassium_very_high",
        "potassium_very_low",
        "aki_stage_3",
        "triple_whammy_aki",
        "bp_180_120",
        "egfr_sustained_fall",
        "egfr_new_below_30",
        "hba1c_above_86",
        "acr_70_or_more",
        "spo2_92_copd",
        "mrc_3_no_pulmonary_rehab",
        "phq9_item9_positive",
        "metformin_egfr_below_30",
        "sglt2_egfr_below_20",
        "acei_arb_potassium_6",
    ] {
        assert!(flags.iter().any(|flag| flag.rule_id == expected), "{expected} not raised: {:?}", rule_ids(&flags));
    }
}

#[test]
fn evaluate_is_deterministic() {
    let person = busy_person();
    assert_eq!(evaluate(&standard_rules(), &person), evaluate(&standard_rules(), &person));
}

// ----- Property tests at and around each threshold ------------------------------------------

/// Values on the one-decimal grid the catalogue stores potassium on (1 decimal place).
fn tenths(low: u32, high: u32) -> impl Strategy<Value = f64> {
    (low..=high).prop_map(|tenths| f64::from(tenths) / 10.0)
}

fn expected_potassium_rule(value: f64) -> Option<&'static str> {
    if value >= 6.5 {
        Some("potassium_very_high")
    } else if value >= 6.0 {
        Some("potassium_high")
    } else if value >= 5.5 {
        Some("potassium_raised")
    } else if value < 2.5 {
        Some("potassium_very_low")
    } else if value < 3.0 {
        Some("potassium_low")
    } else {
        None
    }
}

proptest! {
    #[test]
    fn potassium_bands_tile_without_gaps_or_overlaps(value in tenths(10, 100)) {
        let flags = raised(&potassium_rules(), &person(vec![point("potassium", value, days_ago(1), "k")]));
        let expected: Vec<String> = expected_potassium_rule(value).into_iter().map(str::to_owned).collect();
        prop_assert_eq!(flags, expected);
    }

    #[test]
    fn potassium_just_either_side_of_each_boundary(boundary in prop::sample::select(vec![2.5, 3.0, 5.5, 6.0, 6.5]), offset in 1u32..=5) {
        let step = f64::from(offset) * 0.01;
        for value in [boundary - step, boundary, boundary + step] {
            let flags = raised(&potassium_rules(), &person(vec![point("potassium", value, days_ago(1), "k")]));
            let expected: Vec<String> = expected_potassium_rule(value).into_iter().map(str::to_owned).collect();
            prop_assert_eq!(flags, expected, "K+ {}", value);
        }
    }

    #[test]
    fn inclusive_and_exclusive_bounds_behave_as_written(limit in -500.0f64..500.0, delta in 0.001f64..10.0) {
        prop_assert!(band(at_least(limit), None).contains(limit));
        prop_assert!(!band(at_least(limit), None).contains(limit - delta));
        prop_assert!(!band(Some(Bound::Exclusive(limit)), None).contains(limit));
        prop_assert!(band(Some(Bound::Exclusive(limit)), None).contains(limit + delta));
        prop_assert!(!band(None, below(limit)).contains(limit));
        prop_assert!(band(None, below(limit)).contains(limit - delta));
        prop_assert!(band(None, Some(Bound::Inclusive(limit))).contains(limit));
        prop_assert!(!band(None, Some(Bound::Inclusive(limit))).contains(limit + delta));
    }

    #[test]
    fn aki_stage_follows_the_ratio_to_the_median_baseline(baseline in 40u32..=230, current in 20u32..=1200) {
        let (baseline, current) = (f64::from(baseline), f64::from(current));
        let ratio = current / baseline;
        let expected = if ratio >= 3.0 || (ratio >= 1.5 && current > 354.0) {
            Some(3)
        } else if ratio >= 2.0 {
            Some(2)
        } else if ratio >= 1.5 {
            Some(1)
        } else {
            None
        };
        prop_assert_eq!(stage_of(&[(baseline, 200), (baseline, 100), (current, 0)]), expected);
    }

    #[test]
    fn the_48_hour_rise_is_strictly_more_than_26(start in 40u32..=300, rise in 0u32..=60) {
        let (start, rise) = (f64::from(start), f64::from(rise));
        let current = start + rise;
        let first = datetime!(2026-11-22 08:00 UTC);
        let person = person(vec![
            point("creatinine", start, first, "a"),
            point("creatinine", current, first + time::Duration::hours(30), "b"),
        ]);
        let all: Vec<&ResultPoint> = person.results.iter().collect();
        let stage = nhs_aki().stage(person.results.last().unwrap(), &all).map(|stage| stage.stage);
        let ratio = current / start;
        let expected = if ratio >= 1.5 {
            if ratio >= 3.0 || current > 354.0 { Some(3) } else if ratio >= 2.0 { Some(2) } else { Some(1) }
        } else if rise > 26.0 {
            Some(1)
        } else {
            None
        };
        prop_assert_eq!(stage, expected);
    }

    #[test]
    fn blood_pressure_limits_are_inclusive(systolic in 150u32..=200, diastolic in 90u32..=130) {
        let reading = person(vec![
            point("systolic_bp", f64::from(systolic), days_ago(1), "s"),
            point("diastolic_bp", f64::from(diastolic), days_ago(1), "d"),
        ]);
        let flagged = raised(&standard_rules(), &reading).contains(&"bp_180_120".to_owned());
        prop_assert_eq!(flagged, systolic >= 180 || diastolic >= 120);
    }

    #[test]
    fn egfr_limits_for_medicines_and_referral(value in 10u32..=60) {
        let value = f64::from(value);
        let person = with(person(vec![point("egfr", value, days_ago(10), "e")]), &[], &["metformin", "sglt2_inhibitor"], false);
        let flags = raised(&standard_rules(), &person);
        prop_assert_eq!(flags.contains(&"metformin_egfr_below_30".to_owned()), value < 30.0);
        prop_assert_eq!(flags.contains(&"metformin_egfr_30_44".to_owned()), (30.0..45.0).contains(&value));
        prop_assert_eq!(flags.contains(&"sglt2_egfr_below_20".to_owned()), value < 20.0);
        prop_assert_eq!(flags.contains(&"egfr_new_below_30".to_owned()), value < 30.0);
    }

    #[test]
    fn single_result_thresholds(spo2 in 85u32..=99, acr in 600u32..=800, hba1c in 80u32..=95, item9 in 0u32..=3) {
        let (spo2, acr, hba1c, item9) = (f64::from(spo2), f64::from(acr) / 10.0, f64::from(hba1c), f64::from(item9));
        let person = with(
            person(vec![
                point("spo2", spo2, days_ago(2), "o"),
                point("urine_acr", acr, days_ago(2), "acr"),
                point("hba1c", hba1c, days_ago(2), "a"),
                point("phq9_item9", item9, days_ago(2), "q"),
            ]),
            &["copd"],
            &["acei_arb"],
            false,
        );
        let flags = raised(&standard_rules(), &person);
        prop_assert_eq!(flags.contains(&"spo2_92_copd".to_owned()), spo2 <= 92.0);
        prop_assert_eq!(flags.contains(&"acr_70_or_more".to_owned()), acr >= 70.0);
        prop_assert_eq!(flags.contains(&"hba1c_above_86".to_owned()), hba1c > 86.0);
        prop_assert_eq!(flags.contains(&"phq9_item9_positive".to_owned()), item9 > 0.0);
    }

    #[test]
    fn evaluation_does_not_depend_on_the_order_of_the_results(seed in prop::collection::vec(any::<u32>(), 14)) {
        let sorted = busy_person();
        let mut shuffled = sorted.clone();
        let mut keyed: Vec<(u32, ResultPoint)> = seed.into_iter().zip(shuffled.results.drain(..)).collect();
        keyed.sort_by_key(|(key, _)| *key);
        shuffled.results = keyed.into_iter().map(|(_, result)| result).collect();
        prop_assert_eq!(evaluate(&standard_rules(), &shuffled), evaluate(&standard_rules(), &sorted));
        shuffled.sort_results();
        prop_assert_eq!(shuffled, sorted);
    }
}
