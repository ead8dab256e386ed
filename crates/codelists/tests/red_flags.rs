//! The shipped rule-to-severity table and medicine classes: what they say (a change to a severity
//! or a threshold fails here), what they do on realistic snapshots, and what the loader refuses.

use std::collections::BTreeSet;

use concord_codelists::{Catalogue, CatalogueError, MedicineClasses, RedFlagTable, medicine_classes, red_flag_rules};
use concord_domain::patient::Sex;
use concord_domain::red_flag::{Bound, RedFlagRule, RuleKind, Scope, Severity, StageMatch, evaluate};
use concord_domain::snapshot::{PersonSnapshot, ResultPoint};
use concord_domain::{Code, CodeSystem, CodedConcept};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

fn catalogue() -> &'static Catalogue {
    Catalogue::shared().unwrap_or_else(|error| panic!("catalogue: {error}"))
}

fn table() -> &'static RedFlagTable {
    RedFlagTable::shared().unwrap_or_else(|error| panic!("red-flag table: {error}"))
}

fn classes() -> &'static MedicineClasses {
    medicine_classes().unwrap_or_else(|error| panic!("medicine classes: {error}"))
}

fn bound(bound: Option<Bound>, inclusive: &str, exclusive: &str) -> Option<String> {
    bound.map(|bound| match bound {
        Bound::Inclusive(value) => format!("{inclusive}{value}"),
        Bound::Exclusive(value) => format!("{exclusive}{value}"),
    })
}

/// A rule's key parameters in one line, so the expected table below reads like the data.
fn summary(rule: &RedFlagRule) -> String {
    let band = |band: &concord_domain::red_flag::Band| {
        [bound(band.lower, ">=", ">"), bound(band.upper, "<=", "<")].into_iter().flatten().collect::<Vec<_>>().join(" ")
    };
    let kind = match &rule.kind {
        RuleKind::Threshold { measure, band: limits, scope } => {
            let scope = if *scope == Scope::Latest { " latest" } else { "" };
            format!("{} {}{scope}", measure.observable, band(limits))
        }
        RuleKind::BloodPressure { systolic_at_least, diastolic_at_least, .. } => {
            format!("systolic>={systolic_at_least} or diastolic>={diastolic_at_least}")
        }
        RuleKind::Aki { stage, algorithm, .. } => {
            let stage = match stage {
                StageMatch::Exactly(stage) => format!("stage {stage}"),
                StageMatch::AtLeast(stage) => format!("stage>={stage}"),
            };
            let [one, two, three] = algorithm.stage_ratios;
            format!(
                "{stage} rv1 0-{} rv2 {}-{} ratios {one}/{two}/{three} c1>{} rise>{} in {}h",
                algorithm.rv1_max_days,
                algorithm.rv2_min_days,
                algorithm.rv2_max_days,
                algorithm.stage3_creatinine_above,
                algorithm.rise_above,
                algorithm.rise_hours
            )
        }
        RuleKind::CreatinineWithoutBaseline { above, lookback_days, .. } => {
            format!("creatinine>{above} no result in {lookback_days}d")
        }
        RuleKind::NewlyBelow { measure, below } => format!("{} newly <{below}", measure.observable),
        RuleKind::SustainedFall { measure, fall_percent, lookback_days, categories } => format!(
            "{} fall>={fall_percent}% in {lookback_days}d, categories {}",
            measure.observable,
            categories
                .floors
                .iter()
                .map(|(name, floor)| format!("{name}>={floor}"))
                .chain([categories.last.clone()])
                .collect::<Vec<_>>()
                .join("/")
        ),
        RuleKind::CodedFinding { observable, .. } => format!("{observable} recorded"),
        RuleKind::AnswerOtherThan { measure, safe_value_at_most, safe_answers } => format!(
            "{} >{safe_value_at_most} or answer not {}",
            measure.observable,
            safe_answers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
        ),
        RuleKind::ThresholdWithoutRecord { measure, band: limits, record_observable, record_lookback_days, .. } => {
            format!("{} {} without {record_observable} in {record_lookback_days}d", measure.observable, band(limits))
        }
    };
    let when = rule.applies_when.to_string();
    let when = if when.is_empty() { String::new() } else { format!(" when {when}") };
    format!("{kind}{when}; window {}d", rule.window_days)
}

/// The expected table. A change to the data that alters a severity or threshold fails this test:
/// update it only with the clinical safety officer's sign-off (docs/clinical-safety/red-flags.md).
const EXPECTED: &[(&str, Severity, &str)] = &[
    ("potassium_very_high", Severity::Urgent, "potassium >=6.5; window 30d"),
    ("potassium_high", Severity::Urgent, "potassium >=6 <6.5; window 30d"),
    ("potassium_raised", Severity::Soon, "potassium >=5.5 <6; window 30d"),
    ("potassium_very_low", Severity::Urgent, "potassium <2.5; window 30d"),
    ("potassium_low", Severity::Urgent, "potassium >=2.5 <3; window 30d"),
    ("aki_stage_3", Severity::Urgent, "stage 3 rv1 0-7 rv2 8-365 ratios 1.5/2/3 c1>354 rise>26 in 48h; window 30d"),
    ("aki_stage_2", Severity::Urgent, "stage 2 rv1 0-7 rv2 8-365 ratios 1.5/2/3 c1>354 rise>26 in 48h; window 30d"),
    ("aki_stage_1", Severity::Urgent, "stage 1 rv1 0-7 rv2 8-365 ratios 1.5/2/3 c1>354 rise>26 in 48h; window 30d"),
    ("creatinine_very_high_no_baseline", Severity::Urgent, "creatinine>354 no result in 365d; window 30d"),
    ("egfr_new_below_30", Severity::Soon, "egfr newly <30; window 90d"),
    (
        "egfr_sustained_fall",
        Severity::Soon,
        "egfr fall>=25% in 365d, categories G1>=90/G2>=60/G3a>=45/G3b>=30/G4>=15/G5; window 90d",
    ),
    ("acr_70_or_more", Severity::Soon, "urine_acr >=70; window 90d"),
    ("bp_180_120", Severity::Urgent, "systolic>=180 or diastolic>=120; window 30d"),
    ("spo2_92_copd", Severity::Soon, "spo2 <=92 when register:copd; window 90d"),
    (
        "mrc_3_no_pulmonary_rehab",
        Severity::Routine,
        "mrc_dyspnoea >=3 without pulmonary_rehab in 1095d when register:copd; window 455d",
    ),
    ("hba1c_above_86", Severity::Soon, "hba1c >86; window 90d"),
    ("foot_ulcer_active", Severity::Urgent, "foot_ulcer recorded; window 90d"),
    (
        "overtreatment_hba1c_frail",
        Severity::Routine,
        "hba1c <53 latest when frailty & takes:insulin | frailty & takes:sulfonylurea; window 365d",
    ),
    (
        "overtreatment_bp_frail",
        Severity::Routine,
        "systolic_bp <140 latest when frailty & takes:antihypertensive; window 365d",
    ),
    ("phq9_item9_positive", Severity::Urgent, "phq9_item9 >0 or answer not loinc|LA6568-5; window 30d"),
    ("metformin_egfr_below_30", Severity::Soon, "egfr <30 latest when takes:metformin; window 365d"),
    ("metformin_egfr_30_44", Severity::Routine, "egfr >=30 <45 latest when takes:metformin; window 365d"),
    ("sglt2_egfr_below_20", Severity::Routine, "egfr <20 latest when takes:sglt2_inhibitor; window 365d"),
    ("acei_arb_potassium_6", Severity::Urgent, "potassium >=6 when takes:acei_arb; window 30d"),
    (
        "triple_whammy_aki",
        Severity::Urgent,
        "stage>=1 rv1 0-7 rv2 8-365 ratios 1.5/2/3 c1>354 rise>26 in 48h when takes:acei_arb & takes:diuretic & takes:nsaid; window 30d",
    ),
    (
        "diabetes_acr_no_acei_arb",
        Severity::Routine,
        "urine_acr >3 latest when register:diabetes & !takes:acei_arb; window 365d",
    ),
];

#[test]
fn the_shipped_table_says_what_the_expected_table_says() {
    let table = table();
    assert!(!table.version.is_empty() && !table.source.is_empty());
    let shipped: Vec<(&str, Severity, String)> =
        table.rules.iter().map(|rule| (rule.id.as_str(), rule.severity, summary(rule))).collect();
    let expected: Vec<(&str, Severity, String)> =
        EXPECTED.iter().map(|(id, severity, summary)| (*id, *severity, (*summary).to_owned())).collect();
    assert_eq!(shipped, expected);
    for rule in &table.rules {
        assert!(!rule.action.is_empty() && !rule.source.is_empty() && !rule.name.is_empty(), "{}", rule.id);
    }
    assert!(std::ptr::eq(red_flag_rules().unwrap(), table.rules.as_slice()), "shared once");
}

#[test]
fn every_rule_reads_observables_the_catalogue_has_and_urgent_ones_stay_visible() {
    let catalogue = catalogue();
    for id in ["phq9_item9", "pulmonary_rehab", "foot_ulcer"] {
        assert!(catalogue.observable(id).is_some(), "observable {id}");
    }
    assert!(catalogue.is_red_flag_capable(&Code::loinc("44260-8")), "PHQ-9 item 9");
    assert!(catalogue.is_red_flag_capable(&Code::snomed("371087003")), "diabetic foot ulcer");
    assert_eq!(catalogue.observable_for(&Code::snomed("15081005")).map(|o| o.id.as_str()), Some("pulmonary_rehab"));
}

#[test]
fn synthetic_and_real_medicines_fall_in_their_classes() {
    let classes = classes();
    let class_of = |system: CodeSystem, code: &str, term: &str| {
        classes.classify(&CodedConcept { code: Code::new(system, code), term: term.into() })
    };
    // The synthetic generator's catalogue (crates/synth/src/catalogue.rs, "Medicines").
    assert_eq!(class_of(CodeSystem::Snomed, "109081006", "Metformin"), ["metformin"]);
    assert_eq!(class_of(CodeSystem::Snomed, "776108001", "Gliclazide"), ["sulfonylurea"]);
    assert_eq!(
        class_of(
            CodeSystem::Dmd,
            "11933011000001106",
            "Lantus 100units/ml solution for injection 3ml pre-filled SoloStar pens (Sanofi)"
        ),
        ["insulin"]
    );
    assert_eq!(class_of(CodeSystem::Snomed, "108564000", "Ramipril"), ["acei_arb", "antihypertensive"]);
    assert_eq!(class_of(CodeSystem::Dmd, "108537001", "Amlodipine"), ["antihypertensive"]);
    assert!(class_of(CodeSystem::Dmd, "39733011000001106", "Atorvastatin 20mg tablets").is_empty());
    assert!(class_of(CodeSystem::Dmd, "42206511000001102", "Apixaban 5mg tablets").is_empty());
    // By code alone (no text), and by text alone (a code not on any list).
    assert_eq!(class_of(CodeSystem::Dmd, "25238811000001107", ""), ["sglt2_inhibitor"]);
    assert_eq!(class_of(CodeSystem::Dmd, "1", "Co-amilofruse 5mg/40mg tablets"), ["antihypertensive", "diuretic"]);
    assert_eq!(class_of(CodeSystem::Dmd, "1", "Synjardy 12.5mg/1000mg tablets"), ["metformin", "sglt2_inhibitor"]);
    assert_eq!(class_of(CodeSystem::Dmd, "1", "Ibuprofen 400mg tablets"), ["nsaid"]);
    assert_eq!(class_of(CodeSystem::Dmd, "1", "Dexibuprofen 400mg tablets"), ["nsaid"]);
    assert_eq!(class_of(CodeSystem::Dmd, "1", "Insulin degludec 100units/ml FlexTouch"), ["insulin"]);
    assert!(
        class_of(CodeSystem::Dmd, "1", "Aspirin 75mg dispersible tablets").is_empty(),
        "aspirin is not an NSAID here"
    );
    let all = classes.classify_all(&[
        CodedConcept { code: Code::snomed("109081006"), term: "Metformin".into() },
        CodedConcept { code: Code::snomed("1"), term: "Naproxen 500mg tablets".into() },
    ]);
    assert_eq!(all, BTreeSet::from(["metformin".to_owned(), "nsaid".to_owned()]));
}

const TODAY: Date = date!(2026 - 11 - 23);

fn at(days_ago: i64) -> OffsetDateTime {
    datetime!(2026-11-23 09:00 UTC) - Duration::days(days_ago)
}

fn result(observable: &str, value: f64, days_ago: i64, key: &str) -> ResultPoint {
    let code = catalogue()
        .observable(observable)
        .and_then(|definition| definition.codes.codes().map(|(code, _)| code.clone()).min())
        .expect("observable with a code");
    ResultPoint {
        observable: observable.into(),
        value: Some(value),
        code,
        value_code: None,
        effective: at(days_ago),
        key: key.into(),
    }
}

/// A PHQ-9 item 9 answer as US Core records it: a LOINC answer code, no number.
fn answer(code: &str, key: &str) -> ResultPoint {
    ResultPoint { value: None, value_code: Some(Code::loinc(code)), ..result("phq9_item9", 0.0, 3, key) }
}

fn person(results: Vec<ResultPoint>, registers: &[&str], medicines: &[&str], frail: bool) -> PersonSnapshot {
    let mut person = PersonSnapshot {
        today: TODAY,
        age_years: Some(74),
        sex: Sex::Female,
        registers: registers.iter().map(|id| (*id).to_owned()).collect(),
        moderate_or_severe_frailty: frail,
        medicine_classes: medicines.iter().map(|id| (*id).to_owned()).collect(),
        results,
    };
    person.sort_results();
    person
}

#[test]
fn a_healthy_person_raises_nothing_with_the_shipped_rules() {
    let healthy = person(
        vec![
            result("potassium", 4.4, 5, "k"),
            result("creatinine", 78.0, 300, "c0"),
            result("creatinine", 81.0, 5, "c1"),
            result("egfr", 86.0, 300, "e0"),
            result("egfr", 83.0, 5, "e1"),
            result("urine_acr", 1.4, 5, "acr"),
            result("systolic_bp", 134.0, 5, "s"),
            result("diastolic_bp", 80.0, 5, "d"),
            result("spo2", 96.0, 5, "o"),
            result("mrc_dyspnoea", 2.0, 5, "m"),
            result("hba1c", 54.0, 5, "a"),
            answer("LA6568-5", "q"),
        ],
        &["diabetes", "copd", "hypertension"],
        &["metformin", "acei_arb", "antihypertensive"],
        false,
    );
    assert_eq!(evaluate(red_flag_rules().unwrap(), &healthy), vec![]);
}

#[test]
fn the_shipped_rules_raise_urgent_flags_first_with_units() {
    let unwell = person(
        vec![
            result("potassium", 6.7, 1, "k"),
            result("creatinine", 90.0, 200, "c0"),
            result("creatinine", 96.0, 100, "c1"),
            result("creatinine", 210.0, 1, "c2"),
            result("hba1c", 91.0, 20, "a"),
            answer("LA6570-1", "q"),
        ],
        &["diabetes"],
        &["acei_arb", "diuretic", "nsaid"],
        false,
    );
    let flags = evaluate(red_flag_rules().unwrap(), &unwell);
    let ids: Vec<&str> = flags.iter().map(|flag| flag.rule_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "acei_arb_potassium_6",
            "aki_stage_2",
            "potassium_very_high",
            "triple_whammy_aki",
            "phq9_item9_positive",
            "hba1c_above_86"
        ]
    );
    assert_eq!(flags[2].value, "K+ 6.7 mmol/L");
    assert_eq!(flags[4].value, "PHQ-9 item 9 answered loinc|LA6570-1");
    assert_eq!(flags[1].value, "Serum creatinine 210 µmol/L, AKI stage 2 (2.3× median of 8 to 365 days before (93))");
    assert_eq!(flags[5].value, "HbA1c 91 mmol/mol");
    assert_eq!(flags[5].severity, Severity::Soon);
}

// ----- Loader refusals -------------------------------------------------------------------------

const HEADER: &str = "# version: test\n# source: test\nid,name,severity,kind,observables,parameters,applies_when,window_days,action,source\n";

fn load_rules(rows: &str) -> Result<RedFlagTable, CatalogueError> {
    RedFlagTable::load(catalogue(), classes(), &format!("{HEADER}{rows}"))
}

fn refusal(result: Result<RedFlagTable, CatalogueError>) -> (String, u64, String) {
    match result {
        Ok(_) => panic!("expected the loader to refuse"),
        Err(CatalogueError::Invalid { file, line, reason }) => (file, line, reason),
    }
}

#[test]
fn a_good_row_loads() {
    let table = load_rules("k,K,urgent,threshold,potassium,at_least=6.5,,30,act,src\n").expect("loads");
    assert_eq!(table.rules[0].severity, Severity::Urgent);
}

#[test]
fn the_loader_refuses_bad_rules_naming_file_and_line() {
    let good = "k,K,urgent,threshold,potassium,at_least=6.5,,30,act,src\n";
    for (row, expected) in [
        ("x,X,critical,threshold,potassium,at_least=6.5,,30,act,src\n", "severity `critical`"),
        ("x,X,urgent,threshold,potasium,at_least=6.5,,30,act,src\n", "observable `potasium`"),
        ("x,X,urgent,threshold,potassium,at_least=six,,30,act,src\n", "at_least `six` is not a number"),
        ("x,X,urgent,threshold,potassium,at_lest=6.5,,30,act,src\n", "parameter `at_lest` is not used"),
        ("x,X,urgent,threshold,potassium,at_least=6.5;below=6,,30,act,src\n", "cannot be met"),
        ("x,X,urgent,threshold,potassium,,,30,act,src\n", "no limit"),
        ("x,X,urgent,treshold,potassium,at_least=6.5,,30,act,src\n", "kind `treshold`"),
        ("x,X,urgent,threshold,potassium,at_least=6.5,register:gout,30,act,src\n", "register `gout`"),
        ("x,X,urgent,threshold,potassium,at_least=6.5,takes:statin,30,act,src\n", "medicine class `statin`"),
        ("x,X,urgent,threshold,potassium,at_least=6.5,,0,act,src\n", "window_days `0`"),
        ("x,X,urgent,threshold,potassium,at_least=6.5,,30,,src\n", "action is empty"),
        ("x,X,soon,threshold,mrc_dyspnoea,at_least=3,,30,act,src\n", "not red_flag_capable"),
        ("x,X,urgent,coded_finding,foot_ulcer;potassium,,,30,act,src\n", "reads 1 observable"),
        (
            "x,X,urgent,aki,creatinine,stage=4;rv1_days=0-7;rv2_days=8-365;ratios=1.5/2/3;stage3_creatinine_above=354;rise_hours=48;rise_above=26,,30,act,src\n",
            "stage `4`",
        ),
        (
            "x,X,urgent,aki,creatinine,stage=1;rv1_days=0-7;rv2_days=8-365;ratios=2/1.5/3;stage3_creatinine_above=354;rise_hours=48;rise_above=26,,30,act,src\n",
            "ratios `2/1.5/3`",
        ),
        (
            "x,X,urgent,answer_other_than,phq9_item9,safe_value_at_most=0;safe_answers=loinc:LA65685,,30,act,src\n",
            "answer `loinc:LA65685`",
        ),
        (
            "x,X,soon,sustained_fall,egfr,fall_percent=25;lookback_days=365;categories=G1>=60/G2>=90/G3,,30,act,src\n",
            "categories",
        ),
        ("k,K,urgent,threshold,potassium,at_least=7,,30,act,src\n", "defined twice"),
    ] {
        let (file, line, reason) = refusal(load_rules(&format!("{good}{row}")));
        assert_eq!((file.as_str(), line), ("data/red-flags.csv", 5), "{row}");
        assert!(reason.contains(expected), "{row}: {reason}");
    }
}

#[test]
fn every_aki_rule_must_stage_alike() {
    let algorithm = |ratios: &str| {
        format!("rv1_days=0-7;rv2_days=8-365;ratios={ratios};stage3_creatinine_above=354;rise_hours=48;rise_above=26")
    };
    let rows = format!(
        "a,A,urgent,aki,creatinine,stage=1;{},,30,act,src\nb,B,urgent,aki,creatinine,stage=2;{},,30,act,src\n",
        algorithm("1.5/2/3"),
        algorithm("1.4/2/3")
    );
    let (_, line, reason) = refusal(load_rules(&rows));
    assert_eq!(line, 5);
    assert!(reason.contains("differ from rule `a`"), "{reason}");
}

#[test]
fn the_medicine_classes_loader_refuses_unknown_codelists_and_include_cycles() {
    let header = "# version: test\n# source: test\nid,name,codelist,words,includes,source\n";
    let load = |rows: &str| MedicineClasses::load(catalogue(), &format!("{header}{rows}"));
    let reason = |rows: &str| match load(rows) {
        Ok(_) => panic!("expected a refusal for {rows}"),
        Err(CatalogueError::Invalid { file, line, reason }) => {
            assert_eq!(file, "data/medicine-classes.csv");
            assert!(line >= 4, "{line}");
            reason
        }
    };
    assert!(load("a,A,med-nsaid,ibuprofen,,src\n").is_ok());
    assert!(reason("a,A,med-missing,ibuprofen,,src\n").contains("med-missing"));
    assert!(reason("a,A,med-nsaid,Ibuprofen,,src\n").contains("lower case"));
    assert!(reason("a,A,med-nsaid,ibuprofen,b,src\n").contains("unknown class `b`"));
    assert!(reason("a,A,med-nsaid,ibuprofen,b,src\nb,B,med-nsaid,naproxen,a,src\n").contains("through another class"));
}
