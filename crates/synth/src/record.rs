//! One patient's record: registers and diagnoses, contacts, results and medicines, written as FHIR
//! resources to a [`Sink`].
//!
//! Everything about patient `index` is drawn from a ChaCha8 stream keyed by `(seed, index)`, so a
//! patient's record does not depend on how many patients are generated, in what batches, or on how
//! many threads. Only this patient's contacts are held in memory while it is written.
//!
//! Register membership is decided first (a Gaussian copula over age-specific prevalence, with a
//! shared cardiometabolic factor and explicit links: diabetes raises hypertension, both raise CKD,
//! CHD raises heart failure, AF raises stroke, smoking raises COPD, multimorbidity raises
//! frailty). Each link is divided by its expected value at that age, so each register's
//! prevalence at a given age stays what [`Prevalence`] was calibrated to.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::catalogue::{self as cat, Concept, OLDEST_AGE, Register};
use crate::fhir::{self, Kind, Sink, Style};
use crate::json::Obj;
use crate::population::{
    Channel, Demographics, Gender, HOSPITAL_CODE, NhsNumberPool, Organisations, Smoking, draw_demographics,
    retained_share,
};
use crate::util::{
    Day, Id, IdSequence, between, chance, civil_from_day, day_from_civil, decimal, mix64, normal, normal_cdf, pick,
    poisson, push_date, push_date_time, standard_normal, uniform,
};

/// Project-owned extension URIs (documented in the crate docs).
pub const EXTENSION_REGISTRATION_PERIOD: &str = "urn:concord:registration-period";
pub const EXTENSION_PREFERRED_CONTACT: &str = "urn:concord:preferred-contact-channel";
pub const EXTENSION_BOOKED_AT: &str = "urn:concord:booked-at";
pub const LOCAL_PATIENT_ID_SYSTEM: &str = "urn:concord:local-patient-id";
pub const EXTENSION_COMMUNICATION_NEED: &str = "urn:concord:communication-need";

const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const NHS_VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const NHS_VERIFICATION_SYSTEM: &str = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
const INTERPRETER_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const ACT_PRIORITY: &str = "http://terminology.hl7.org/CodeSystem/v3-ActPriority";

/// Highest probability any register may reach at one age.
const CAP: f64 = 0.9;
/// Loading of the shared cardiometabolic factor in the copula.
const SHARED_LOADING: f64 = 0.2;
/// QOF counts depression diagnoses from 1 April 2006.
const DEPRESSION_REGISTER_START: (i32, u32, u32) = (2006, 4, 1);

/// Kinds of result that should raise a red flag (thresholds from clinical.md section 4), counted
/// in `Summary::red_flag_results` when written with a usable status.
pub(crate) const RED_FLAG_KINDS: [&str; 6] = [
    "potassium_at_least_6_5",
    "egfr_below_30",
    "bp_at_least_180_120",
    "acr_at_least_70",
    "spo2_at_most_92_copd",
    "hba1c_above_86",
];

#[derive(Debug, Clone, Copy)]
enum RedFlag {
    Potassium,
    Egfr,
    BloodPressure,
    Acr,
    Spo2,
    Hba1c,
}

/// Register prevalence by single year of age, calibrated to [`cat::PREVALENCE_TARGETS`] over the
/// age pyramid.
pub(crate) struct Prevalence {
    by_age: Vec<[f64; Register::COUNT]>,
}

impl Prevalence {
    pub(crate) fn calibrated() -> Self {
        let ages = 0..=OLDEST_AGE;
        let weights: Vec<f64> = ages
            .clone()
            .map(|age| {
                let band = (age / 5).min(19) as usize;
                cat::AGE_BANDS[band] / if band == 19 { 6.0 } else { 5.0 } * retained_share(age)
            })
            .collect();
        let mut by_age = vec![[0.0; Register::COUNT]; weights.len()];
        for register in Register::ALL {
            let target = register.target();
            let curve: Vec<f64> =
                ages.clone().map(|age| interpolate(cat::age_curve(register), f64::from(age))).collect();
            let first = usize::from(target.denominator_minimum_age);
            let goal = target.percent / 100.0;
            let denominator: f64 = weights[first..].iter().sum();
            let mean_at = |scale: f64| {
                weights[first..].iter().zip(&curve[first..]).map(|(w, c)| w * (scale * c).min(CAP)).sum::<f64>()
                    / denominator
            };
            let mut scale = goal / mean_at(1.0).max(1e-12);
            for _ in 0..30 {
                scale *= goal / mean_at(scale).max(1e-12);
            }
            for (age, value) in curve.iter().enumerate() {
                by_age[age][register.index()] = (scale * value).min(CAP);
            }
        }
        Self { by_age }
    }

    pub(crate) fn at(&self, register: Register, age: i32) -> f64 {
        self.by_age[age.clamp(0, OLDEST_AGE) as usize][register.index()]
    }
}

fn interpolate(knots: &[(f64, f64)], age: f64) -> f64 {
    let Some(&(first_age, _)) = knots.first() else { return 0.0 };
    if age < first_age {
        return 0.0;
    }
    for pair in knots.windows(2) {
        let ((a0, v0), (a1, v1)) = (pair[0], pair[1]);
        if age <= a1 {
            return v0 + (v1 - v0) * (age - a0) / (a1 - a0);
        }
    }
    knots.last().map_or(0.0, |&(_, value)| value)
}

/// What every patient's generation shares: read-only, built once per run.
pub(crate) struct Context {
    pub seed: u64,
    pub seed_bytes: [u8; 32],
    pub today: Day,
    pub organisations: Organisations,
    pub pool: NhsNumberPool,
    pub prevalence: Prevalence,
}

/// Counts gathered while generating, merged across chunks into the `Summary`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    pub patients: u64,
    pub registered: u64,
    pub deceased: u64,
    pub left_practice: u64,
    pub without_nhs_number: u64,
    pub register_counts: [u64; Register::COUNT],
    pub register_denominators: [u64; Register::COUNT],
    pub red_flags: [u64; RED_FLAG_KINDS.len()],
}

impl Stats {
    pub(crate) fn merge(&mut self, other: &Stats) {
        self.patients += other.patients;
        self.registered += other.registered;
        self.deceased += other.deceased;
        self.left_practice += other.left_practice;
        self.without_nhs_number += other.without_nhs_number;
        for index in 0..Register::COUNT {
            self.register_counts[index] += other.register_counts[index];
            self.register_denominators[index] += other.register_denominators[index];
        }
        for index in 0..RED_FLAG_KINDS.len() {
            self.red_flags[index] += other.red_flags[index];
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DiabetesType {
    Type1,
    Type2,
    Unspecified,
}

/// A Condition that does not put the person on a register (resolved, in error, or superseded).
struct OtherCondition {
    concept: Concept,
    onset: Day,
    state: OtherState,
}

enum OtherState {
    /// Active code that a later code cancels (e.g. type 2 diabetes followed by "diabetes resolved").
    Active,
    Resolved(Day),
    EnteredInError,
}

/// The person's clinical picture: active register diagnoses with onsets, and details.
struct Clinical {
    onset: [Option<Day>; Register::COUNT],
    diabetes: DiabetesType,
    ckd_stage: u8,
    /// For CKD that progressed, the earlier stage 3 code's date.
    ckd_stage3_onset: Option<Day>,
    copd_severity: usize,
    copd_code: Concept,
    chd_code: Concept,
    stroke_code: Concept,
    severe_frailty: bool,
    poorly_controlled_diabetes: bool,
    others: Vec<OtherCondition>,
    /// Had diabetes coded and later resolved (HbA1c is still monitored).
    diabetes_resolved: bool,
}

impl Clinical {
    fn has(&self, register: Register) -> bool {
        self.onset[register.index()].is_some()
    }

    fn onset(&self, register: Register) -> Option<Day> {
        self.onset[register.index()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ambulatory,
    Virtual,
    Home,
    Emergency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Gp,
    Nurse,
    HealthcareAssistant,
    Unstated,
}

struct Contact {
    id: Id,
    day: Day,
    minute: u32,
    length: u32,
    class: Class,
    status: &'static str,
    role: Role,
    kind: Option<Concept>,
    text: Option<&'static str>,
    booked: Option<(Day, u32)>,
    planned: bool,
    /// The information-gathering contact of an annual review.
    gathering: bool,
    hospital: bool,
}

/// An annual (or mid-year) review: the day bloods and measurements are taken.
struct Review {
    day: Day,
    minute: u32,
    contact: Option<Id>,
    mid_year: bool,
}

/// A unit as written: UCUM code, the usual UK spelling, and spellings seen in real extracts.
struct Unit {
    ucum: &'static str,
    display: &'static str,
    variants: &'static [&'static str],
}

const MMOL_PER_MOL: Unit = Unit { ucum: "mmol/mol", display: "mmol/mol", variants: &["mmol/mol (IFCC)", "mmol/mol"] };
const PERCENT_DCCT: Unit = Unit { ucum: "%", display: "%", variants: &["%"] };
const MMOL_PER_L: Unit = Unit { ucum: "mmol/L", display: "mmol/L", variants: &["mmol/l", "mmol/litre"] };
const UMOL_PER_L: Unit = Unit { ucum: "umol/L", display: "µmol/L", variants: &["µmol/l", "umol/L", "micromol/l"] };
const EGFR_UNIT: Unit =
    Unit { ucum: "mL/min/{1.73_m2}", display: "mL/min/1.73m²", variants: &["mL/min/1.73m2", "ml/min/1.73m^2"] };
const MG_PER_MMOL: Unit = Unit { ucum: "mg/mmol", display: "mg/mmol", variants: &["mg/mmol"] };
const KG_PER_M2: Unit = Unit { ucum: "kg/m2", display: "kg/m²", variants: &["kg/m2", "kg/m^2", "KG/M2"] };
const PERCENT: Unit = Unit { ucum: "%", display: "%", variants: &["%"] };
const LITRE: Unit = Unit { ucum: "L", display: "L", variants: &["l", "litres"] };
const SCORE: Unit = Unit { ucum: "{score}", display: "score", variants: &["{score}"] };
const MM_HG: Unit = Unit { ucum: "mm[Hg]", display: "mmHg", variants: &["mm Hg", "MMHG", "mm[Hg]"] };

#[derive(Debug, Clone, Copy)]
enum Category {
    Laboratory,
    VitalSigns,
    Survey,
    SocialHistory,
    Exam,
}

impl Category {
    fn code(self) -> (&'static str, &'static str) {
        match self {
            Self::Laboratory => ("laboratory", "Laboratory"),
            Self::VitalSigns => ("vital-signs", "Vital Signs"),
            Self::Survey => ("survey", "Survey"),
            Self::SocialHistory => ("social-history", "Social History"),
            Self::Exam => ("exam", "Exam"),
        }
    }
}

/// A numeric result to write.
struct Quantity<'a> {
    codes: &'a [Concept],
    category: Category,
    value: f64,
    decimals: usize,
    unit: &'a Unit,
    comparator: Option<&'static str>,
    red_flag: Option<RedFlag>,
}

/// Person-level physiology: levels and trends the results are drawn around.
struct Physiology {
    systolic: f64,
    diastolic: f64,
    hba1c_level: f64,
    hba1c_drift: f64,
    cholesterol: f64,
    egfr_now: f64,
    egfr_decline: f64,
    potassium: f64,
    acr: f64,
    bmi: f64,
    bmi_drift: f64,
    fev1_now: f64,
}

/// Red-flag scenarios assigned to this person: their latest full review shows the flagged value.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    potassium: bool,
    blood_pressure: bool,
    acr: bool,
    hba1c: bool,
    egfr: bool,
}

/// Generates patient `index` into `sink`, adding to `stats`.
pub(crate) fn generate_patient(context: &Context, index: u64, sink: &mut Sink, stats: &mut Stats) {
    let mut rng = ChaCha8Rng::from_seed(context.seed_bytes);
    rng.set_stream(index);
    let mut ids = IdSequence::new(mix64(context.seed ^ mix64(index.wrapping_add(0x7061_7469_656e_7473))));
    let patient_id = ids.next_id();
    let bundle_id = ids.next_id();
    let demographics =
        draw_demographics(&mut rng, context.today, &context.organisations, index, context.pool.number(index));
    let clinical = draw_clinical(context, &mut rng, &demographics);

    let mut builder = Builder {
        context,
        rng,
        ids,
        patient_id,
        end: demographics.record_end(context.today),
        person: demographics,
        clinical,
        sink,
        stats,
        contacts: Vec::new(),
        reviews: Vec::new(),
    };
    builder.sink.begin_patient(bundle_id, context.today);
    builder.count();
    builder.write_patient();
    builder.plan_reviews();
    builder.plan_unplanned_contacts();
    builder.write_contacts();
    builder.write_conditions();
    builder.write_results();
    builder.write_medicines();
    builder.write_foot_checks(context, index);
    builder.sink.end_patient(index);
}

fn age_at(person: &Demographics, day: Day) -> i32 {
    let (by, bm, bd) = civil_from_day(person.birth);
    let (y, m, d) = civil_from_day(day);
    let mut years = y - by;
    if (m, d) < (bm, bd) {
        years -= 1;
    }
    years
}

/// Draws register membership and diagnosis details.
fn draw_clinical(context: &Context, rng: &mut ChaCha8Rng, person: &Demographics) -> Clinical {
    let age = person.age;
    let p = |register: Register| context.prevalence.at(register, age);
    let shared = standard_normal(rng);
    let draw = |rng: &mut ChaCha8Rng, loading: f64, probability: f64| {
        let latent = loading.sqrt() * shared + (1.0 - loading).sqrt() * standard_normal(rng);
        normal_cdf(latent) < probability.min(CAP)
    };
    let link = |has: bool, strength: f64, expected: f64| {
        (1.0 + strength * f64::from(u8::from(has))) / (1.0 + strength * expected)
    };

    let diabetes = draw(rng, SHARED_LOADING, p(Register::Diabetes));
    let hypertension =
        draw(rng, SHARED_LOADING, p(Register::Hypertension) * link(diabetes, 1.2, p(Register::Diabetes)));
    let chd = draw(rng, SHARED_LOADING, p(Register::Chd));
    let af = draw(rng, SHARED_LOADING * 0.5, p(Register::AtrialFibrillation));
    let ckd = draw(
        rng,
        0.0,
        p(Register::Ckd)
            * link(diabetes, 1.5, p(Register::Diabetes))
            * link(hypertension, 1.0, p(Register::Hypertension)),
    );
    let heart_failure = draw(rng, 0.0, p(Register::HeartFailure) * link(chd, 3.0, p(Register::Chd)));
    let stroke = draw(rng, 0.0, p(Register::StrokeTia) * link(af, 1.5, p(Register::AtrialFibrillation)));
    let (current, ex) = cat::smoking_shares(age);
    let smoking_multiplier = match person.smoking {
        Smoking::Current => 3.5,
        Smoking::Ex => 3.0,
        Smoking::Never => 0.25,
    };
    let expected_multiplier = 3.5 * current + 3.0 * ex + 0.25 * (1.0 - current - ex);
    let copd = draw(rng, 0.0, p(Register::Copd) * smoking_multiplier / expected_multiplier);
    let asthma = draw(rng, 0.0, p(Register::Asthma));
    let depression = draw(rng, 0.0, p(Register::Depression));
    let ndh =
        !diabetes && draw(rng, 0.0, p(Register::NonDiabeticHyperglycaemia) / (1.0 - p(Register::Diabetes)).max(0.1));
    let conditions = [hypertension, diabetes, chd, af, ckd, heart_failure, stroke, copd];
    let count = conditions.iter().filter(|has| **has).count() as f64;
    let expected_count: f64 = [
        Register::Hypertension,
        Register::Diabetes,
        Register::Chd,
        Register::AtrialFibrillation,
        Register::Ckd,
        Register::HeartFailure,
        Register::StrokeTia,
        Register::Copd,
    ]
    .iter()
    .map(|register| p(*register))
    .sum();
    let frailty =
        age >= 50 && draw(rng, 0.0, p(Register::Frailty) * (1.0 + 0.6 * count) / (1.0 + 0.6 * expected_count));

    let end = person.record_end(context.today);
    let depression_start =
        day_from_civil(DEPRESSION_REGISTER_START.0, DEPRESSION_REGISTER_START.1, DEPRESSION_REGISTER_START.2);
    let mut onset = [None; Register::COUNT];
    let mut set =
        |register: Register, has: bool, rng: &mut ChaCha8Rng, earliest_age: i32, max_years: f64, not_before: Day| {
            if has {
                onset[register.index()] = Some(draw_onset(rng, person, end, earliest_age, max_years, not_before));
            }
        };
    set(Register::Hypertension, hypertension, rng, 25, 30.0, Day::MIN);
    set(Register::Diabetes, diabetes, rng, 3, 30.0, Day::MIN);
    set(Register::Asthma, asthma, rng, 4, 30.0, Day::MIN);
    set(Register::Ckd, ckd, rng, 30, 15.0, Day::MIN);
    set(Register::Chd, chd, rng, 35, 25.0, Day::MIN);
    set(Register::Copd, copd, rng, 40, 20.0, Day::MIN);
    set(Register::AtrialFibrillation, af, rng, 40, 15.0, Day::MIN);
    set(Register::HeartFailure, heart_failure, rng, 45, 12.0, Day::MIN);
    set(Register::StrokeTia, stroke, rng, 35, 20.0, Day::MIN);
    set(Register::Depression, depression, rng, 16, 20.0, depression_start);
    set(Register::NonDiabeticHyperglycaemia, ndh, rng, 25, 8.0, Day::MIN);
    set(Register::Frailty, frailty, rng, 50, 4.0, Day::MIN);

    let diabetes_type = match onset[Register::Diabetes.index()] {
        Some(day) => {
            let onset_age = age_at(person, day);
            if chance(rng, if onset_age < 30 { 0.6 } else { 0.03 }) {
                DiabetesType::Type1
            } else if chance(rng, 0.03) {
                DiabetesType::Unspecified
            } else {
                DiabetesType::Type2
            }
        }
        None => DiabetesType::Type2,
    };
    let ckd_stage = match uniform(rng) {
        roll if roll < 0.85 => 3,
        roll if roll < 0.96 => 4,
        _ => 5,
    };
    let ckd_stage3_onset = match onset[Register::Ckd.index()] {
        Some(day) if ckd_stage > 3 && end - day > 3 * 365 => {
            let later = day + between(rng, 365, end - day - 30);
            let earlier = day;
            onset[Register::Ckd.index()] = Some(later);
            Some(earlier)
        }
        _ => None,
    };
    let copd_severity = crate::util::pick_weighted(rng, &[0.30, 0.45, 0.20, 0.05]);
    let copd_code = [cat::COPD, cat::CHRONIC_OBSTRUCTIVE_BRONCHITIS, cat::EMPHYSEMA]
        [crate::util::pick_weighted(rng, &[0.8, 0.1, 0.1])];
    let chd_code = if chance(rng, 0.3) { cat::MYOCARDIAL_INFARCTION } else { cat::CHD };
    let stroke_code = if chance(rng, 0.35) { cat::TIA } else { cat::STROKE };

    let mut others = Vec::new();
    // Childhood asthma that resolved: not on the register.
    if !asthma && age >= 12 && chance(rng, 0.03) {
        let start = person.birth + between(rng, 4 * 365, 9 * 365);
        let resolved = person.birth + between(rng, 10 * 365, 12 * 365);
        if resolved < end {
            others.push(OtherCondition { concept: cat::ASTHMA, onset: start, state: OtherState::Resolved(resolved) });
        }
    }
    // An earlier, resolved asthma episode before the current one.
    if let Some(current_onset) = onset[Register::Asthma.index()] {
        let start = person.birth + between(rng, 3 * 365, 7 * 365);
        let resolved = start + between(rng, 2 * 365, 5 * 365);
        if chance(rng, 0.15) && resolved + 365 < current_onset {
            others.push(OtherCondition { concept: cat::ASTHMA, onset: start, state: OtherState::Resolved(resolved) });
        }
    }
    // Depression that resolved (not on the register), or an earlier episode before the current one.
    if !depression && age >= 19 && chance(rng, 0.06) {
        let start = (end - between(rng, 365, 15 * 365)).max(person.birth + 17 * 365);
        let resolved = start + between(rng, 180, 720);
        if resolved < end {
            others.push(OtherCondition {
                concept: cat::DEPRESSION,
                onset: start,
                state: OtherState::Resolved(resolved),
            });
        }
    }
    if let Some(current_onset) = onset[Register::Depression.index()] {
        let start = current_onset - between(rng, 2 * 365, 8 * 365);
        let resolved = start + between(rng, 180, 540);
        if chance(rng, 0.25) && start > person.birth + 16 * 365 && resolved + 180 < current_onset {
            others.push(OtherCondition {
                concept: cat::DEPRESSION,
                onset: start,
                state: OtherState::Resolved(resolved),
            });
        }
    }
    // Type 2 diabetes later coded as resolved (QOF DMRES_COD): off the diabetes register.
    let mut diabetes_resolved = false;
    if !diabetes && age >= 35 && chance(rng, 0.004) {
        let start = end - between(rng, 3 * 365, 10 * 365);
        let resolved = start + between(rng, 365, 3 * 365);
        if start > person.birth + 25 * 365 && resolved < end {
            others.push(OtherCondition { concept: cat::TYPE_2_DIABETES, onset: start, state: OtherState::Active });
            others.push(OtherCondition { concept: cat::DIABETES_RESOLVED, onset: resolved, state: OtherState::Active });
            diabetes_resolved = true;
        }
    }
    // A diagnosis recorded in error on the wrong patient and marked entered-in-error.
    if age >= 18 && chance(rng, 0.004) {
        let candidates: Vec<(Register, Concept)> = [
            (Register::Diabetes, cat::TYPE_2_DIABETES),
            (Register::Copd, cat::COPD),
            (Register::HeartFailure, cat::HEART_FAILURE),
            (Register::Ckd, cat::CKD_STAGE_3),
            (Register::Chd, cat::CHD),
        ]
        .into_iter()
        .filter(|(register, _)| onset[register.index()].is_none())
        .collect();
        if !candidates.is_empty() {
            let (_, concept) = *pick(rng, &candidates);
            let day = end - between(rng, 30, 5 * 365);
            if day > person.birth {
                others.push(OtherCondition { concept, onset: day, state: OtherState::EnteredInError });
            }
        }
    }

    Clinical {
        onset,
        diabetes: diabetes_type,
        ckd_stage,
        ckd_stage3_onset,
        copd_severity,
        copd_code,
        chd_code,
        stroke_code,
        severe_frailty: chance(rng, 0.2),
        poorly_controlled_diabetes: chance(rng, 0.12),
        others,
        diabetes_resolved,
    }
}

/// A diagnosis date between `earliest_age` and the end of the record, skewed towards recent years.
fn draw_onset(
    rng: &mut ChaCha8Rng,
    person: &Demographics,
    end: Day,
    earliest_age: i32,
    max_years: f64,
    not_before: Day,
) -> Day {
    let age_at_end = age_at(person, end).max(0);
    let available = f64::from((age_at_end - earliest_age).max(0)).min(max_years);
    let years_ago = available * uniform(rng).powf(1.6);
    let day = end - (years_ago * 365.25) as i32 - between(rng, 0, 60);
    let earliest = (person.birth + earliest_age.min(age_at_end) * 365).max(not_before).max(person.birth + 1);
    day.max(earliest).min(end - 1)
}

struct Builder<'a> {
    context: &'a Context,
    rng: ChaCha8Rng,
    ids: IdSequence,
    patient_id: Id,
    person: Demographics,
    clinical: Clinical,
    /// Last day the practice record was kept (death, leaving, or today).
    end: Day,
    sink: &'a mut Sink,
    stats: &'a mut Stats,
    contacts: Vec<Contact>,
    reviews: Vec<Review>,
}

impl<'a> Builder<'a> {
    fn today(&self) -> Day {
        self.context.today
    }

    fn style(&self) -> Style {
        self.sink.style()
    }

    fn practice(&self) -> (&'a str, &'a str) {
        let practice = &self.context.organisations.practices[self.person.practice];
        (&practice.code, &practice.name)
    }

    /// Records who this person counts for: the list, registers and denominators on `today`.
    fn count(&mut self) {
        let person = &self.person;
        self.stats.patients += 1;
        if person.death.is_some() {
            self.stats.deceased += 1;
        } else if person.registered_until.is_some() {
            self.stats.left_practice += 1;
        }
        if person.nhs_number.is_none() {
            self.stats.without_nhs_number += 1;
        }
        if !person.is_registered_and_alive(self.context.today) {
            return;
        }
        self.stats.registered += 1;
        for register in Register::ALL {
            let target = register.target();
            if person.age >= i32::from(target.denominator_minimum_age) {
                self.stats.register_denominators[register.index()] += 1;
            }
            if person.age >= i32::from(target.minimum_age) && self.clinical.has(register) {
                self.stats.register_counts[register.index()] += 1;
            }
        }
    }

    fn write_patient(&mut self) {
        let person = &self.person;
        let (practice_code, practice_name) = self.practice();
        let town = cat::TOWNS[person.town].name;
        self.sink.resource(Kind::Patient, self.patient_id, |o| {
            o.arr("extension", |a| {
                a.obj(|e| {
                    e.str("url", EXTENSION_REGISTRATION_PERIOD);
                    e.obj("valuePeriod", |period| {
                        period.str_with("start", |s| push_date(s, person.registered_from));
                        if let Some(until) = person.registered_until {
                            period.str_with("end", |s| push_date(s, until));
                        }
                    });
                });
                a.obj(|e| {
                    e.str("url", EXTENSION_PREFERRED_CONTACT).str("valueCode", person.channel.code());
                });
                if person.interpreter {
                    a.obj(|e| {
                        e.str("url", INTERPRETER_EXTENSION).bool("valueBoolean", true);
                    });
                }
                if let Some(need) = person.communication_need {
                    a.obj(|e| {
                        e.str("url", EXTENSION_COMMUNICATION_NEED).str("valueString", need);
                    });
                }
            });
            o.arr("identifier", |a| {
                a.obj(|i| {
                    i.arr("extension", |extensions| {
                        extensions.obj(|e| {
                            e.str("url", NHS_VERIFICATION_EXTENSION);
                            e.obj("valueCodeableConcept", |cc| {
                                cc.arr("coding", |codings| {
                                    codings.obj(|c| {
                                        c.str("system", NHS_VERIFICATION_SYSTEM)
                                            .str("code", person.nhs_verification)
                                            .str(
                                                "display",
                                                match person.nhs_verification {
                                                    "01" => "Number present and verified",
                                                    "03" => "Trace required",
                                                    _ => "Number not present and trace not required",
                                                },
                                            );
                                    });
                                });
                            });
                        });
                    });
                    i.str("system", NHS_NUMBER_SYSTEM);
                    if let Some(number) = &person.nhs_number {
                        i.str("value", number.as_str());
                    }
                });
                a.obj(|i| {
                    i.str("use", "secondary").str("system", LOCAL_PATIENT_ID_SYSTEM).str("value", &person.local_id);
                });
            });
            o.arr("name", |a| {
                a.obj(|n| {
                    n.str("use", "official").str("family", person.family);
                    n.arr("given", |given| {
                        given.str(person.given);
                        if let Some(middle) = person.middle {
                            given.str(middle);
                        }
                    });
                    if let Some(title) = person.title {
                        n.arr("prefix", |prefix| {
                            prefix.str(title);
                        });
                    }
                });
            });
            let has_telecom = person.landline.is_some() || person.mobile.is_some() || person.email.is_some();
            if has_telecom {
                o.arr("telecom", |a| {
                    let preferred = |system: Channel| person.channel == system;
                    if let Some(landline) = &person.landline {
                        a.obj(|t| {
                            t.str("system", "phone").str("value", landline).str("use", "home");
                            if preferred(Channel::Phone) && person.mobile.is_none() {
                                t.int("rank", 1);
                            }
                        });
                    }
                    if let Some(mobile) = &person.mobile {
                        a.obj(|t| {
                            t.str("system", if person.channel == Channel::Sms { "sms" } else { "phone" })
                                .str("value", mobile)
                                .str("use", "mobile");
                            if preferred(Channel::Sms) || preferred(Channel::Phone) {
                                t.int("rank", 1);
                            }
                        });
                    }
                    if let Some(email) = &person.email {
                        a.obj(|t| {
                            t.str("system", "email").str("value", email).str("use", "home");
                            if preferred(Channel::Email) {
                                t.int("rank", 1);
                            }
                        });
                    }
                });
            }
            o.str("gender", person.gender.fhir());
            o.str_with("birthDate", |s| push_date(s, person.birth));
            if let Some(death) = person.death {
                // A time of day that varies with the date (deterministic, no extra draw).
                let minute = (death.rem_euclid(24 * 60)) as u32;
                o.str_with("deceasedDateTime", |s| push_date_time(s, death, minute));
            }
            o.arr("address", |a| {
                a.obj(|address| {
                    address.str("use", "home");
                    address.arr("line", |lines| {
                        lines.str(&format!("{} {}", person.house_number, person.street));
                    });
                    address.str("city", town).str("postalCode", &person.postcode).str("country", "GB");
                });
            });
            if let Some((code, display)) = person.language {
                o.arr("communication", |a| {
                    a.obj(|c| {
                        c.obj("language", |language| {
                            language.arr("coding", |codings| {
                                codings.obj(|coding| {
                                    coding.str("system", "urn:ietf:bcp:47").str("code", code).str("display", display);
                                });
                            });
                            language.str("text", display);
                        });
                        c.bool("preferred", true);
                    });
                });
            }
            o.arr("generalPractitioner", |a| fhir::organisation_reference_in(a, practice_code, practice_name));
            fhir::organisation_reference(o, "managingOrganization", practice_code, practice_name);
        });
    }

    // ----- Contacts -----------------------------------------------------------------------------

    /// First day of the contact window: three years back, or registration if later.
    fn contact_window_start(&self) -> Day {
        (self.today() - 3 * 365).max(self.person.registered_from)
    }

    fn has_reviewed_condition(&self) -> bool {
        Register::ALL.iter().any(|register| *register != Register::Frailty && self.clinical.has(*register))
            || self.clinical.diabetes_resolved
    }

    fn needs_mid_year_review(&self) -> bool {
        self.clinical.has(Register::Diabetes)
            || self.clinical.has(Register::HeartFailure)
            || (self.clinical.has(Register::Ckd) && self.clinical.ckd_stage >= 4)
    }

    /// Plans annual reviews in the person's birth month (a common recall scheme), over at least
    /// three years and longer for long-standing conditions, with the contacts they need.
    fn plan_reviews(&mut self) {
        if !self.has_reviewed_condition() {
            return;
        }
        let first_onset =
            Register::ALL.iter().filter_map(|register| self.clinical.onset(*register)).min().unwrap_or(self.end);
        let years_since = ((self.today() - first_onset) / 365).max(0);
        let span_years = (3 + years_since / 2).clamp(3, 8);
        // Reviews within span + 1 years, so the earliest falls at least `span_years` ago.
        let start = (self.today() - (span_years + 1) * 365).max(self.person.birth + 365);
        let (_, birth_month, _) = civil_from_day(self.person.birth);
        let recall_day = between(&mut self.rng, 1, 28) as u32;
        let disengaged = chance(&mut self.rng, 0.05);
        let window_start = self.contact_window_start();
        let (start_year, _, _) = civil_from_day(start);
        let (today_year, _, _) = civil_from_day(self.today());
        let mid_year = self.needs_mid_year_review();
        for year in start_year..=today_year + 1 {
            let day = day_from_civil(year, birth_month, recall_day);
            if day < start {
                continue;
            }
            if day > self.end {
                // An upcoming review already booked, for people still on the list.
                if self.end == self.today()
                    && day <= self.today() + 28
                    && self.person.is_registered_and_alive(self.today())
                {
                    let booked = self.today() - between(&mut self.rng, 0, 20);
                    let minute = self.appointment_minute();
                    let id = self.ids.next_id();
                    let kind = if self.clinical.has(Register::Copd) { cat::COPD_REVIEW } else { cat::CHECK_UP };
                    self.contacts.push(Contact {
                        id,
                        day,
                        minute,
                        length: 20,
                        class: Class::Ambulatory,
                        status: "planned",
                        role: Role::HealthcareAssistant,
                        kind: Some(kind),
                        text: Some("Long term condition review: information gathering"),
                        booked: Some((booked, between(&mut self.rng, 8 * 60, 17 * 60) as u32)),
                        planned: true,
                        gathering: false,
                        hospital: false,
                    });
                }
                break;
            }
            if chance(&mut self.rng, if disengaged { 0.35 } else { 0.08 }) {
                continue;
            }
            let minute = self.appointment_minute();
            let contact = if day >= window_start {
                match self.review_contacts(day, minute) {
                    Some(gather) => Some(gather),
                    None => continue,
                }
            } else {
                None
            };
            self.reviews.push(Review { day, minute, contact, mid_year: false });
            let half_year = day + 182 + between(&mut self.rng, -14, 14);
            if mid_year && half_year <= self.end && chance(&mut self.rng, 0.8) {
                let minute = self.appointment_minute();
                let contact = (half_year >= window_start).then(|| {
                    let id = self.ids.next_id();
                    let booked = half_year - between(&mut self.rng, 7, 28);
                    self.contacts.push(Contact {
                        id,
                        day: half_year,
                        minute,
                        length: 10,
                        class: Class::Ambulatory,
                        status: "finished",
                        role: if chance(&mut self.rng, 0.6) { Role::HealthcareAssistant } else { Role::Nurse },
                        kind: Some(cat::CHECK_UP),
                        text: Some("Blood test"),
                        booked: Some((booked, between(&mut self.rng, 8 * 60, 17 * 60) as u32)),
                        planned: true,
                        gathering: false,
                        hospital: false,
                    });
                    id
                });
                self.reviews.push(Review { day: half_year, minute, contact, mid_year: true });
            }
        }
    }

    fn appointment_minute(&mut self) -> u32 {
        // Ten-minute slots from 08:30 to 17:50.
        (8 * 60 + 30 + 10 * between(&mut self.rng, 0, 56)) as u32
    }

    /// The two Year of Care contacts of an annual review; returns the information-gathering one,
    /// or `None` when the person cancelled it (and the review did not happen).
    fn review_contacts(&mut self, day: Day, minute: u32) -> Option<Id> {
        let cancelled = chance(&mut self.rng, 0.02);
        let gather = self.ids.next_id();
        let kind = if self.clinical.has(Register::Copd) { cat::COPD_REVIEW } else { cat::CHECK_UP };
        let booked = day - between(&mut self.rng, 10, 35);
        self.contacts.push(Contact {
            id: gather,
            day,
            minute,
            length: 20 + 10 * between(&mut self.rng, 0, 1) as u32,
            class: Class::Ambulatory,
            status: if cancelled { "cancelled" } else { "finished" },
            role: if chance(&mut self.rng, 0.5) { Role::HealthcareAssistant } else { Role::Nurse },
            kind: Some(kind),
            text: Some("Long term condition review: information gathering"),
            booked: chance(&mut self.rng, 0.85).then(|| (booked, between(&mut self.rng, 8 * 60, 17 * 60) as u32)),
            planned: true,
            gathering: !cancelled,
            hospital: false,
        });
        if cancelled {
            return None;
        }
        let conversation = day + between(&mut self.rng, 7, 14);
        if conversation <= self.end {
            let id = self.ids.next_id();
            let minute = self.appointment_minute();
            self.contacts.push(Contact {
                id,
                day: conversation,
                minute,
                length: 20 + 10 * between(&mut self.rng, 0, 1) as u32,
                class: if chance(&mut self.rng, 0.2) { Class::Virtual } else { Class::Ambulatory },
                status: "finished",
                role: if chance(&mut self.rng, 0.65) { Role::Nurse } else { Role::Gp },
                kind: Some(cat::CHECK_UP),
                text: Some("Long term condition review: care and support planning conversation"),
                booked: chance(&mut self.rng, 0.85).then(|| (day, between(&mut self.rng, 9 * 60, 17 * 60) as u32)),
                planned: true,
                gathering: false,
                hospital: false,
            });
        }
        Some(gather)
    }

    /// Unplanned GP and nurse contacts and A&E attendances over the contact window; more for
    /// older and multimorbid people.
    fn plan_unplanned_contacts(&mut self) {
        let start = self.contact_window_start();
        if start >= self.end {
            return;
        }
        let years = f64::from(self.end - start) / 365.0;
        let conditions = Register::ALL.iter().filter(|register| self.clinical.has(**register)).count() as f64;
        let age = f64::from(self.person.age);
        let mut rate = 0.8 + 0.025 * age + 0.9 * conditions;
        if self.person.age < 5 {
            rate += 1.5;
        }
        if self.clinical.has(Register::Frailty) {
            rate += 1.5;
        }
        let count = poisson(&mut self.rng, rate * years).min(80);
        let home_share = if self.clinical.has(Register::Frailty) || self.person.age >= 85 { 0.2 } else { 0.03 };
        for _ in 0..count {
            let day = between(&mut self.rng, start, self.end);
            let minute = self.appointment_minute();
            let roll = uniform(&mut self.rng);
            let class = if roll < home_share {
                Class::Home
            } else if roll < home_share + 0.4 {
                Class::Virtual
            } else {
                Class::Ambulatory
            };
            let role = match uniform(&mut self.rng) {
                r if r < 0.74 => Role::Gp,
                r if r < 0.87 => Role::Nurse,
                _ => Role::Unstated,
            };
            let booking = uniform(&mut self.rng);
            let booked = if booking < 0.6 {
                Some((day, between(&mut self.rng, 8 * 60, (minute as i32 - 5).max(8 * 60)) as u32))
            } else if booking < 0.75 {
                Some((day - between(&mut self.rng, 1, 6), between(&mut self.rng, 8 * 60, 18 * 60) as u32))
            } else {
                None
            };
            let text = match class {
                Class::Virtual if chance(&mut self.rng, 0.1) => Some("Video consultation"),
                Class::Virtual => Some("Telephone consultation"),
                Class::Home => Some("Home visit"),
                _ => None,
            };
            let id = self.ids.next_id();
            self.contacts.push(Contact {
                id,
                day,
                minute,
                length: 10,
                class,
                status: if chance(&mut self.rng, 0.04) { "cancelled" } else { "finished" },
                role,
                kind: chance(&mut self.rng, 0.7).then_some(cat::ENCOUNTER_FOR_SYMPTOM),
                text,
                booked,
                planned: false,
                gathering: false,
                hospital: false,
            });
        }
        let mut emergency_rate = 0.12 + 0.05 * conditions;
        if self.clinical.has(Register::Copd) || self.clinical.has(Register::HeartFailure) {
            emergency_rate += 0.3;
        }
        for _ in 0..poisson(&mut self.rng, emergency_rate * years).min(20) {
            let day = between(&mut self.rng, start, self.end);
            let id = self.ids.next_id();
            self.contacts.push(Contact {
                id,
                day,
                minute: between(&mut self.rng, 0, 24 * 60 - 1) as u32,
                length: between(&mut self.rng, 90, 420) as u32,
                class: Class::Emergency,
                status: "finished",
                role: Role::Unstated,
                kind: Some(cat::EMERGENCY_ATTENDANCE),
                text: Some("Emergency department attendance"),
                booked: None,
                planned: false,
                gathering: false,
                hospital: true,
            });
        }
        self.contacts.sort_by_key(|contact| (contact.day, contact.minute, contact.id));
    }

    fn write_contacts(&mut self) {
        let style = self.style();
        let patient = self.patient_id;
        let (practice_code, _) = self.practice();
        let practice_index = self.person.practice as u64;
        for contact in &self.contacts {
            self.sink.resource(Kind::Encounter, contact.id, |o| {
                if let Some((day, minute)) = contact.booked {
                    o.arr("extension", |a| {
                        a.obj(|e| {
                            e.str("url", EXTENSION_BOOKED_AT)
                                .str_with("valueDateTime", |s| push_date_time(s, day, minute));
                        });
                    });
                }
                o.str("status", contact.status);
                let (code, display) = match contact.class {
                    Class::Ambulatory => ("AMB", "ambulatory"),
                    Class::Virtual => ("VR", "virtual"),
                    Class::Home => ("HH", "home health"),
                    Class::Emergency => ("EMER", "emergency"),
                };
                o.obj("class", |c| {
                    c.str("system", ACT_CODE).str("code", code).str("display", display);
                });
                if contact.kind.is_some() || contact.text.is_some() {
                    o.arr("type", |a| {
                        a.obj(|cc| {
                            if let Some(kind) = &contact.kind {
                                cc.arr("coding", |codings| fhir::coding(codings, kind));
                            }
                            if let Some(text) = contact.text {
                                cc.str("text", text);
                            }
                        });
                    });
                }
                if contact.planned {
                    fhir::simple_code(o, "priority", ACT_PRIORITY, "EL", Some("elective"));
                } else if contact.class == Class::Emergency {
                    fhir::simple_code(o, "priority", ACT_PRIORITY, "EM", Some("emergency"));
                }
                fhir::reference(o, "subject", style, Kind::Patient, patient);
                if contact.role != Role::Unstated {
                    o.arr("participant", |a| {
                        a.obj(|p| {
                            p.arr("type", |types| {
                                types.obj(|cc| match contact.role {
                                    Role::Gp => fhir::codeable_members(cc, &[cat::ROLE_GP], Some("GP")),
                                    Role::Nurse => {
                                        fhir::codeable_members(cc, &[cat::ROLE_NURSE], Some("Practice nurse"))
                                    }
                                    _ => {
                                        cc.str("text", "Healthcare assistant");
                                    }
                                });
                            });
                            p.obj("individual", |individual| {
                                individual.str("display", &clinician_name(practice_index, contact.role, contact.id));
                            });
                        });
                    });
                }
                o.obj("period", |period| {
                    period.str_with("start", |s| push_date_time(s, contact.day, contact.minute));
                    if contact.status == "finished" {
                        let end_minute = contact.minute + contact.length;
                        let (day, minute) = if end_minute >= 24 * 60 {
                            (contact.day + 1, end_minute - 24 * 60)
                        } else {
                            (contact.day, end_minute)
                        };
                        period.str_with("end", |s| push_date_time(s, day, minute));
                    }
                });
                // By id only: the Organization's id is its ODS code (keeps the busiest file smaller).
                o.obj("serviceProvider", |r| {
                    r.str_with("reference", |s| {
                        s.push_str("Organization/");
                        s.push_str(if contact.hospital { HOSPITAL_CODE } else { practice_code });
                    });
                });
            });
        }
    }

    // ----- Conditions ---------------------------------------------------------------------------

    fn diagnosis_concept(&self, register: Register) -> Concept {
        let clinical = &self.clinical;
        match register {
            Register::Hypertension => cat::HYPERTENSION,
            Register::Diabetes => match clinical.diabetes {
                DiabetesType::Type1 => cat::TYPE_1_DIABETES,
                DiabetesType::Type2 => cat::TYPE_2_DIABETES,
                DiabetesType::Unspecified => cat::DIABETES_UNSPECIFIED,
            },
            Register::Asthma => cat::ASTHMA,
            Register::Ckd => match clinical.ckd_stage {
                3 => cat::CKD_STAGE_3,
                4 => cat::CKD_STAGE_4,
                _ => cat::CKD_STAGE_5,
            },
            Register::Chd => clinical.chd_code,
            Register::Copd => clinical.copd_code,
            Register::AtrialFibrillation => cat::ATRIAL_FIBRILLATION,
            Register::HeartFailure => cat::HEART_FAILURE,
            Register::StrokeTia => clinical.stroke_code,
            Register::Depression => cat::DEPRESSION,
            Register::NonDiabeticHyperglycaemia => cat::PREDIABETES,
            Register::Frailty => {
                if clinical.severe_frailty {
                    cat::SEVERE_FRAILTY
                } else {
                    cat::MODERATE_FRAILTY
                }
            }
        }
    }

    fn write_conditions(&mut self) {
        let review_contacts: Vec<(Id, Day)> =
            self.contacts.iter().filter(|contact| contact.gathering).map(|contact| (contact.id, contact.day)).collect();
        for register in Register::ALL {
            let Some(onset) = self.clinical.onset(register) else { continue };
            let concept = self.diagnosis_concept(register);
            if register == Register::Ckd
                && let Some(earlier) = self.clinical.ckd_stage3_onset
            {
                self.condition(cat::CKD_STAGE_3, earlier, ConditionState::Active, None);
            }
            self.condition(concept, onset, ConditionState::Active, None);
            // Synthea-style duplicates: the same code recorded again at later reviews.
            if chance(&mut self.rng, 0.2) {
                let copies = between(&mut self.rng, 1, 2);
                for _ in 0..copies {
                    let later: Vec<&(Id, Day)> = review_contacts.iter().filter(|(_, day)| *day > onset).collect();
                    if later.is_empty() {
                        break;
                    }
                    let (contact, day) = **pick(&mut self.rng, &later);
                    self.condition(concept, onset, ConditionState::Active, Some((contact, day)));
                }
            }
            if chance(&mut self.rng, 0.01) {
                self.condition(concept, onset, ConditionState::EnteredInError, None);
            }
        }
        let others = std::mem::take(&mut self.clinical.others);
        for other in &others {
            let state = match other.state {
                OtherState::Active => ConditionState::Active,
                OtherState::Resolved(day) => ConditionState::Resolved(day),
                OtherState::EnteredInError => ConditionState::EnteredInError,
            };
            self.condition(other.concept, other.onset, state, None);
        }
        self.clinical.others = others;
    }

    fn condition(&mut self, concept: Concept, onset: Day, state: ConditionState, encounter: Option<(Id, Day)>) {
        let id = self.ids.next_id();
        let style = self.style();
        let patient = self.patient_id;
        let recorded = match encounter {
            Some((_, day)) => day,
            None => (onset + between(&mut self.rng, 0, 21)).min(self.end),
        };
        self.sink.resource(Kind::Condition, id, |o| {
            match state {
                ConditionState::Active => {
                    fhir::simple_code(o, "clinicalStatus", CONDITION_CLINICAL, "active", Some("Active"));
                    fhir::simple_code(o, "verificationStatus", CONDITION_VERIFICATION, "confirmed", Some("Confirmed"));
                }
                ConditionState::Resolved(_) => {
                    fhir::simple_code(o, "clinicalStatus", CONDITION_CLINICAL, "resolved", Some("Resolved"));
                    fhir::simple_code(o, "verificationStatus", CONDITION_VERIFICATION, "confirmed", Some("Confirmed"));
                }
                // FHIR con-5: no clinicalStatus when the verification status is entered-in-error.
                ConditionState::EnteredInError => {
                    fhir::simple_code(
                        o,
                        "verificationStatus",
                        CONDITION_VERIFICATION,
                        "entered-in-error",
                        Some("Entered in Error"),
                    );
                }
            }
            o.arr("category", |a| {
                a.obj(|cc| {
                    cc.arr("coding", |codings| {
                        codings.obj(|c| {
                            let (code, display) = if encounter.is_some() {
                                ("encounter-diagnosis", "Encounter Diagnosis")
                            } else {
                                ("problem-list-item", "Problem List Item")
                            };
                            c.str("system", CONDITION_CATEGORY).str("code", code).str("display", display);
                        });
                    });
                });
            });
            fhir::codeable(o, "code", &[concept], None);
            fhir::reference(o, "subject", style, Kind::Patient, patient);
            if let Some((contact, _)) = encounter {
                fhir::reference(o, "encounter", style, Kind::Encounter, contact);
            }
            o.str_with("onsetDateTime", |s| push_date(s, onset));
            if let ConditionState::Resolved(day) = state {
                o.str_with("abatementDateTime", |s| push_date(s, day));
            }
            o.str_with("recordedDate", |s| push_date(s, recorded));
        });
    }

    // ----- Results ------------------------------------------------------------------------------

    fn physiology(&mut self) -> Physiology {
        let rng = &mut self.rng;
        let clinical = &self.clinical;
        let age = f64::from(self.person.age);
        let female = self.person.gender == Gender::Female;
        let hypertension = clinical.has(Register::Hypertension);
        let (systolic, diastolic) = if hypertension {
            (normal(rng, 137.0, 10.0), normal(rng, 80.0, 7.0))
        } else {
            (normal(rng, 116.0 + 0.3 * (age - 30.0).max(0.0), 9.0).min(138.0), normal(rng, 74.0, 6.0).min(88.0))
        };
        let hba1c_level = match (clinical.diabetes, clinical.poorly_controlled_diabetes) {
            (_, true) => normal(rng, 77.0, 8.0),
            (DiabetesType::Type1, false) => normal(rng, 63.0, 9.0),
            _ => normal(rng, 54.0, 8.0),
        };
        let egfr_now = if clinical.has(Register::Ckd) {
            match clinical.ckd_stage {
                3 => normal(rng, 47.0, 7.0).clamp(31.0, 59.0),
                4 => normal(rng, 23.0, 4.0).clamp(15.5, 29.5),
                _ => normal(rng, 11.0, 2.0).clamp(6.0, 14.5),
            }
        } else {
            normal(rng, 95.0 - 0.8 * (age - 40.0).max(0.0), 10.0).clamp(61.0, 125.0)
        };
        let acr_median: f64 = if clinical.has(Register::Ckd) {
            5.0
        } else if clinical.has(Register::Diabetes) {
            1.2
        } else {
            0.9
        };
        let predicted_fev1 = if female { 3.1 - 0.023 * (age - 25.0) } else { 4.1 - 0.029 * (age - 25.0) }.max(1.4);
        let fev1_ratio = [0.85, 0.65, 0.42, 0.26][clinical.copd_severity.min(3)];
        Physiology {
            systolic,
            diastolic,
            hba1c_level,
            hba1c_drift: normal(rng, 0.6, 1.0),
            cholesterol: normal(rng, 4.9, 0.9),
            egfr_now,
            egfr_decline: if clinical.has(Register::Ckd) { normal(rng, 1.5, 1.0).max(0.0) } else { 0.8 },
            potassium: normal(rng, 4.4, 0.3)
                + if clinical.has(Register::Ckd) && clinical.ckd_stage >= 4 { 0.25 } else { 0.0 },
            acr: (acr_median.ln() + normal(rng, 0.0, 0.9)).exp(),
            bmi: if clinical.has(Register::Diabetes) { normal(rng, 31.5, 6.0) } else { normal(rng, 28.0, 5.0) }
                .clamp(16.0, 55.0),
            bmi_drift: normal(rng, 0.0, 0.3),
            fev1_now: (predicted_fev1 * normal(rng, fev1_ratio, 0.05)).max(0.4),
        }
    }

    fn flags(&mut self) -> Flags {
        let clinical = &self.clinical;
        let rng = &mut self.rng;
        let kidney_or_heart = clinical.has(Register::Ckd) || clinical.has(Register::HeartFailure);
        Flags {
            potassium: chance(
                rng,
                if kidney_or_heart {
                    0.04
                } else if clinical.has(Register::Hypertension) {
                    0.003
                } else {
                    0.0
                },
            ),
            blood_pressure: clinical.has(Register::Hypertension) && chance(rng, 0.015),
            acr: (clinical.has(Register::Diabetes) || clinical.has(Register::Ckd)) && chance(rng, 0.03),
            hba1c: clinical.has(Register::Diabetes) && chance(rng, 0.05),
            egfr: clinical.has(Register::Ckd) && clinical.ckd_stage == 3 && chance(rng, 0.02),
        }
    }

    fn write_results(&mut self) {
        let physiology = self.physiology();
        let flags = self.flags();
        let reviews = std::mem::take(&mut self.reviews);
        let last_full = reviews.iter().rposition(|review| !review.mid_year);
        for (position, review) in reviews.iter().enumerate() {
            let latest = Some(position) == last_full;
            self.review_results(review, &physiology, if latest { Some(&flags) } else { None });
        }
        self.reviews = reviews;
        self.historic_hba1c();
        self.opportunistic_results(&physiology);
    }

    /// The annual diabetic foot check (NDA care process 6) at about three in four full reviews,
    /// with an "at risk" finding for about one in five of those examined. Drawn from a stream of
    /// its own, written last, so it changes nothing else about the person.
    fn write_foot_checks(&mut self, context: &Context, index: u64) {
        if !self.clinical.has(Register::Diabetes) {
            return;
        }
        let mut rng = ChaCha8Rng::from_seed(context.seed_bytes);
        rng.set_stream(index ^ 0x666f_6f74_0000_0000);
        let style = self.style();
        let patient = self.patient_id;
        let reviews: Vec<(Day, u32, Option<Id>)> = self
            .reviews
            .iter()
            .filter(|review| !review.mid_year)
            .map(|review| (review.day, review.minute, review.contact))
            .collect();
        for (day, minute, encounter) in reviews {
            if !chance(&mut rng, 0.75) {
                continue;
            }
            let findings: &[Concept] = if chance(&mut rng, 0.2) {
                &[cat::FOOT_EXAMINATION, cat::FOOT_AT_RISK]
            } else {
                &[cat::FOOT_EXAMINATION]
            };
            for finding in findings {
                let id = self.ids.next_id();
                self.sink.resource(Kind::Observation, id, |o| {
                    observation_head(
                        o,
                        "final",
                        Category::Exam,
                        &[*finding],
                        style,
                        patient,
                        encounter,
                        day,
                        minute,
                        None,
                    );
                });
            }
        }
    }

    fn review_results(&mut self, review: &Review, physiology: &Physiology, flags: Option<&Flags>) {
        let day = review.day;
        let minute = review.minute;
        let encounter = review.contact;
        let diabetes = self.clinical.has(Register::Diabetes);
        let hypertension = self.clinical.has(Register::Hypertension);
        let ckd = self.clinical.has(Register::Ckd);
        let heart_failure = self.clinical.has(Register::HeartFailure);
        let cardiovascular = self.clinical.has(Register::Chd) || self.clinical.has(Register::StrokeTia);
        let af = self.clinical.has(Register::AtrialFibrillation);
        let copd = self.clinical.has(Register::Copd);
        let flags = flags.copied().unwrap_or_default();

        if review.mid_year {
            if diabetes {
                self.hba1c(day, minute, encounter, physiology, false);
            }
            if heart_failure || (ckd && self.clinical.ckd_stage >= 4) {
                self.kidney_function(day, minute, encounter, physiology, false, false);
            }
            return;
        }
        let taken = |builder: &mut Self, probability: f64| chance(&mut builder.rng, probability);
        if diabetes && taken(self, 0.95) {
            self.hba1c(day, minute, encounter, physiology, flags.hba1c);
        } else if (self.clinical.has(Register::NonDiabeticHyperglycaemia) || self.clinical.diabetes_resolved)
            && taken(self, 0.85)
        {
            self.hba1c(day, minute, encounter, physiology, false);
        }
        if (hypertension || diabetes || ckd || cardiovascular || af || heart_failure) && taken(self, 0.93) {
            self.blood_pressure(day, minute, encounter, physiology, flags.blood_pressure);
        }
        if (diabetes || hypertension || ckd || heart_failure || af) && taken(self, 0.9) {
            self.kidney_function(day, minute, encounter, physiology, flags.potassium, flags.egfr);
        }
        if (diabetes || cardiovascular || ckd || (hypertension && taken(self, 0.5))) && taken(self, 0.88) {
            self.cholesterol(day, minute, encounter, physiology);
        }
        if (diabetes || ckd || (hypertension && taken(self, 0.35))) && taken(self, 0.8) {
            self.acr(day, minute, encounter, physiology, flags.acr);
        }
        let bmi_probability = if diabetes || copd || hypertension { 0.85 } else { 0.4 };
        if self.person.age >= 18 && taken(self, bmi_probability) {
            self.bmi(day, minute, encounter, physiology);
        }
        if self.person.age >= 15 && taken(self, 0.9) {
            self.smoking(day, minute, encounter);
        }
        if copd {
            self.copd_measures(day, minute, encounter, physiology);
        }
        if self.clinical.has(Register::Depression) && taken(self, 0.7) {
            self.phq9(day, minute, encounter);
        } else if (diabetes || self.clinical.has(Register::Chd)) && self.person.age >= 18 && taken(self, 0.5) {
            self.phq2(day, minute, encounter);
        }
    }

    /// Results outside reviews: blood pressure, smoking and BMI recorded at ordinary contacts
    /// (QOF BP002 asks for a blood pressure in the last five years from age 45), for people whose
    /// reviews do not already record them.
    fn opportunistic_results(&mut self, physiology: &Physiology) {
        let blood_pressure_reviewed = [
            Register::Hypertension,
            Register::Diabetes,
            Register::Ckd,
            Register::Chd,
            Register::StrokeTia,
            Register::AtrialFibrillation,
            Register::HeartFailure,
        ]
        .iter()
        .any(|register| self.clinical.has(*register));
        let reviewed = !self.reviews.is_empty();
        if self.person.age < 16 || (reviewed && blood_pressure_reviewed) {
            return;
        }
        let contacts: Vec<(Id, Day, u32)> = self
            .contacts
            .iter()
            .filter(|contact| {
                contact.status == "finished" && matches!(contact.class, Class::Ambulatory) && !contact.hospital
            })
            .map(|contact| (contact.id, contact.day, contact.minute))
            .collect();
        let start = (self.today() - 5 * 365).max(self.person.birth + 16 * 365);
        if start >= self.end {
            return;
        }
        let occasion = |builder: &mut Self| -> (Day, u32, Option<Id>) {
            if !contacts.is_empty() && chance(&mut builder.rng, 0.8) {
                let (id, day, minute) = *pick(&mut builder.rng, &contacts);
                (day, minute, Some(id))
            } else {
                let day = between(&mut builder.rng, start, builder.end);
                let minute = builder.appointment_minute();
                (day, minute, None)
            }
        };
        let bp_probability = if self.person.age >= 45 { 0.88 } else { 0.4 };
        if !blood_pressure_reviewed && chance(&mut self.rng, bp_probability) {
            for _ in 0..between(&mut self.rng, 1, 2) {
                let (day, minute, encounter) = occasion(self);
                self.blood_pressure(day, minute, encounter, physiology, false);
            }
        }
        if reviewed {
            return;
        }
        if chance(&mut self.rng, 0.6) {
            let (day, minute, encounter) = occasion(self);
            self.smoking(day, minute, encounter);
        }
        if self.person.age >= 18 && chance(&mut self.rng, 0.4) {
            let (day, minute, encounter) = occasion(self);
            self.bmi(day, minute, encounter, physiology);
        }
    }

    /// The diagnostic HbA1c of people diagnosed before UK laboratories reported IFCC units
    /// (June 2011): written in % (DCCT-aligned), as old results appear in records.
    fn historic_hba1c(&mut self) {
        let Some(onset) = self.clinical.onset(Register::Diabetes) else { return };
        if onset >= day_from_civil(2011, 6, 1) || !chance(&mut self.rng, 0.7) {
            return;
        }
        let percent = normal(&mut self.rng, 8.4, 0.9).clamp(6.6, 13.0);
        let minute = self.appointment_minute();
        let status = self.draw_status();
        self.quantity(
            &Quantity {
                codes: &[cat::HBA1C_DCCT],
                category: Category::Laboratory,
                value: percent,
                decimals: 1,
                unit: &PERCENT_DCCT,
                comparator: None,
                red_flag: None,
            },
            onset,
            minute,
            None,
            status,
            false,
        );
    }

    fn hba1c(&mut self, day: Day, minute: u32, encounter: Option<Id>, physiology: &Physiology, flag: bool) {
        let onset = self.clinical.onset(Register::Diabetes);
        let mut value = match onset {
            Some(onset) if day >= onset => {
                // Drifting towards today's level over the last three years; high at diagnosis.
                let years_to_today = (f64::from(day - self.today()) / 365.0).max(-3.0);
                let newly_diagnosed = 10.0 * (-f64::from(day - onset) / 120.0).exp();
                (physiology.hba1c_level
                    + physiology.hba1c_drift * years_to_today
                    + newly_diagnosed
                    + normal(&mut self.rng, 0.0, 3.5))
                .max(39.0)
            }
            Some(onset) => {
                let closeness = (1.0 - f64::from(onset - day) / (3.0 * 365.0)).clamp(0.0, 1.0);
                (42.0 + 5.0 * closeness + normal(&mut self.rng, 0.0, 1.5)).clamp(36.0, 47.0)
            }
            None if self.clinical.diabetes_resolved => normal(&mut self.rng, 43.0, 3.0).clamp(34.0, 47.0),
            None => normal(&mut self.rng, 44.5, 1.5).clamp(42.0, 47.0),
        };
        value = value.clamp(28.0, 140.0);
        if value > 86.0 && !flag {
            value = normal(&mut self.rng, 80.0, 3.0).clamp(70.0, 86.0);
        }
        if flag {
            value = normal(&mut self.rng, 95.0, 6.0).clamp(87.0, 130.0);
        }
        let status = self.draw_status();
        self.quantity(
            &Quantity {
                codes: &[cat::HBA1C],
                category: Category::Laboratory,
                value,
                decimals: 0,
                unit: &MMOL_PER_MOL,
                comparator: None,
                red_flag: Some(RedFlag::Hba1c),
            },
            day,
            minute,
            encounter,
            status,
            true,
        );
    }

    fn blood_pressure(&mut self, day: Day, minute: u32, encounter: Option<Id>, physiology: &Physiology, flag: bool) {
        let untreated = self.clinical.onset(Register::Hypertension).is_some_and(|onset| day < onset);
        let rise = if untreated { (16.0, 8.0) } else { (0.0, 0.0) };
        let mut systolic = (physiology.systolic + rise.0 + normal(&mut self.rng, 0.0, 7.0)).clamp(85.0, 178.0);
        let mut diastolic =
            (physiology.diastolic + rise.1 + normal(&mut self.rng, 0.0, 5.0)).clamp(45.0, 112.0).min(systolic - 20.0);
        if flag {
            systolic = normal(&mut self.rng, 190.0, 6.0).clamp(181.0, 220.0);
            diastolic = normal(&mut self.rng, 118.0, 5.0).clamp(100.0, 130.0);
        }
        let status = self.draw_status();
        let usable = status != "entered-in-error";
        if usable && (systolic >= 180.0 || diastolic >= 120.0) {
            self.stats.red_flags[RedFlag::BloodPressure as usize] += 1;
        }
        let id = self.ids.next_id();
        let style = self.style();
        let patient = self.patient_id;
        let variant = chance(&mut self.rng, 0.03);
        let unit_spelling = if variant { *pick(&mut self.rng, MM_HG.variants) } else { MM_HG.display };
        let keep_code = !variant || chance(&mut self.rng, 0.6);
        // Some systems export the two readings as separate observations.
        if chance(&mut self.rng, 0.1) {
            for (concept, value) in [(cat::SYSTOLIC_SNOMED, systolic), (cat::DIASTOLIC_SNOMED, diastolic)] {
                let id = self.ids.next_id();
                self.sink.resource(Kind::Observation, id, |o| {
                    observation_head(
                        o,
                        status,
                        Category::VitalSigns,
                        &[concept],
                        style,
                        patient,
                        encounter,
                        day,
                        minute,
                        None,
                    );
                    o.obj("valueQuantity", |q| {
                        quantity_members(q, &decimal(value, 0), unit_spelling, keep_code.then_some(MM_HG.ucum), None);
                    });
                });
            }
            return;
        }
        self.sink.resource(Kind::Observation, id, |o| {
            observation_head(
                o,
                status,
                Category::VitalSigns,
                &[cat::BP_PANEL_LOINC, cat::BP_SNOMED],
                style,
                patient,
                encounter,
                day,
                minute,
                None,
            );
            o.arr("component", |a| {
                for (concepts, value) in [
                    ([cat::SYSTOLIC_LOINC, cat::SYSTOLIC_SNOMED], systolic),
                    ([cat::DIASTOLIC_LOINC, cat::DIASTOLIC_SNOMED], diastolic),
                ] {
                    a.obj(|component| {
                        fhir::codeable(component, "code", &concepts, None);
                        component.obj("valueQuantity", |q| {
                            quantity_members(
                                q,
                                &decimal(value, 0),
                                unit_spelling,
                                keep_code.then_some(MM_HG.ucum),
                                None,
                            );
                        });
                    });
                }
            });
        });
    }

    fn egfr_at(&self, day: Day, physiology: &Physiology) -> f64 {
        let years_before_today = f64::from(self.today() - day) / 365.0;
        let trend = physiology.egfr_now + physiology.egfr_decline * years_before_today;
        match (self.clinical.onset(Register::Ckd), self.clinical.ckd_stage3_onset) {
            (Some(onset), _) if day >= onset => match self.clinical.ckd_stage {
                3 => trend.clamp(30.5, 59.0),
                4 => trend.clamp(15.5, 29.5),
                _ => trend.clamp(5.0, 14.5),
            },
            (Some(_), Some(stage3)) if day >= stage3 => trend.clamp(30.5, 59.0),
            (Some(_), _) => trend.clamp(60.5, 80.0),
            (None, _) => trend.max(60.5),
        }
    }

    /// Creatinine, eGFR and potassium from one blood sample.
    fn kidney_function(
        &mut self,
        day: Day,
        minute: u32,
        encounter: Option<Id>,
        physiology: &Physiology,
        potassium_flag: bool,
        egfr_flag: bool,
    ) {
        let mut egfr = (self.egfr_at(day, physiology) + normal(&mut self.rng, 0.0, 2.5)).max(4.0);
        if egfr_flag {
            egfr = normal(&mut self.rng, 26.0, 2.0).clamp(20.0, 29.0);
        } else if self.clinical.ckd_stage == 3 || !self.clinical.has(Register::Ckd) {
            egfr = egfr.max(30.0);
        }
        let sex_factor = if self.person.gender == Gender::Female { 0.85 } else { 1.0 };
        let creatinine = (6000.0 / egfr.powf(0.96) * sex_factor + normal(&mut self.rng, 0.0, 3.0)).max(25.0);
        let on_ace_inhibitor = self.clinical.has(Register::Hypertension) || self.clinical.has(Register::HeartFailure);
        let mut potassium =
            physiology.potassium + if on_ace_inhibitor { 0.15 } else { 0.0 } + normal(&mut self.rng, 0.0, 0.25);
        potassium = potassium.clamp(3.0, 6.3);
        if potassium_flag {
            potassium = normal(&mut self.rng, 6.7, 0.15).clamp(6.5, 7.4);
        }
        let status = self.draw_status();
        self.quantity(
            &Quantity {
                codes: &[cat::CREATININE],
                category: Category::Laboratory,
                value: creatinine,
                decimals: 0,
                unit: &UMOL_PER_L,
                comparator: None,
                red_flag: None,
            },
            day,
            minute,
            encounter,
            status,
            true,
        );
        // UK laboratories report eGFR above 90 as ">90".
        let (egfr_value, comparator) = if egfr > 90.0 { (90.0, Some(">")) } else { (egfr, None) };
        self.quantity(
            &Quantity {
                codes: &[cat::EGFR],
                category: Category::Laboratory,
                value: egfr_value,
                decimals: 0,
                unit: &EGFR_UNIT,
                comparator,
                red_flag: Some(RedFlag::Egfr),
            },
            day,
            minute,
            encounter,
            status,
            false,
        );
        let potassium_status = if potassium_flag { "final" } else { self.draw_status() };
        self.quantity(
            &Quantity {
                codes: &[cat::POTASSIUM],
                category: Category::Laboratory,
                value: potassium,
                decimals: 1,
                unit: &MMOL_PER_L,
                comparator: None,
                red_flag: Some(RedFlag::Potassium),
            },
            day,
            minute,
            encounter,
            potassium_status,
            true,
        );
    }

    fn cholesterol(&mut self, day: Day, minute: u32, encounter: Option<Id>, physiology: &Physiology) {
        let on_statin = self.statin_indicated();
        let value = (physiology.cholesterol - if on_statin { 1.0 } else { 0.0 } + normal(&mut self.rng, 0.0, 0.35))
            .clamp(2.2, 9.5);
        let status = self.draw_status();
        self.quantity(
            &Quantity {
                codes: &[cat::CHOLESTEROL],
                category: Category::Laboratory,
                value,
                decimals: 1,
                unit: &MMOL_PER_L,
                comparator: None,
                red_flag: None,
            },
            day,
            minute,
            encounter,
            status,
            true,
        );
    }

    fn acr(&mut self, day: Day, minute: u32, encounter: Option<Id>, physiology: &Physiology, flag: bool) {
        let mut value = (physiology.acr * normal(&mut self.rng, 0.0, 0.25).exp()).clamp(0.2, 65.0);
        if flag {
            value = normal(&mut self.rng, 95.0, 15.0).clamp(70.0, 180.0);
        }
        let status = if flag { "final" } else { self.draw_status() };
        self.quantity(
            &Quantity {
                codes: &[cat::URINE_ACR],
                category: Category::Laboratory,
                value,
                decimals: 1,
                unit: &MG_PER_MMOL,
                comparator: None,
                red_flag: Some(RedFlag::Acr),
            },
            day,
            minute,
            encounter,
            status,
            false,
        );
    }

    fn bmi(&mut self, day: Day, minute: u32, encounter: Option<Id>, physiology: &Physiology) {
        let years_to_today = f64::from(day - self.today()) / 365.0;
        let value = (physiology.bmi + physiology.bmi_drift * years_to_today + normal(&mut self.rng, 0.0, 0.4))
            .clamp(15.0, 60.0);
        let status = self.draw_status();
        self.quantity(
            &Quantity {
                codes: &[cat::BMI_SNOMED, cat::BMI_LOINC],
                category: Category::VitalSigns,
                value,
                decimals: 1,
                unit: &KG_PER_M2,
                comparator: None,
                red_flag: None,
            },
            day,
            minute,
            encounter,
            status,
            false,
        );
    }

    /// Smoking status as a coded finding (the observation code is the finding, no value), as GP
    /// systems record it; one in ten uses the LOINC status observation with a coded value instead.
    fn smoking(&mut self, day: Day, minute: u32, encounter: Option<Id>) {
        let finding = match self.person.smoking_on(day) {
            Smoking::Current => cat::SMOKER,
            Smoking::Ex => cat::EX_SMOKER,
            Smoking::Never => cat::NEVER_SMOKED,
        };
        let id = self.ids.next_id();
        let style = self.style();
        let patient = self.patient_id;
        let as_value = chance(&mut self.rng, 0.1);
        self.sink.resource(Kind::Observation, id, |o| {
            if as_value {
                observation_head(
                    o,
                    "final",
                    Category::SocialHistory,
                    &[cat::SMOKING_STATUS_LOINC],
                    style,
                    patient,
                    encounter,
                    day,
                    minute,
                    None,
                );
                fhir::codeable(o, "valueCodeableConcept", &[finding], None);
            } else {
                observation_head(
                    o,
                    "final",
                    Category::SocialHistory,
                    &[finding],
                    style,
                    patient,
                    encounter,
                    day,
                    minute,
                    None,
                );
            }
        });
    }

    /// The COPD review: FEV1, MRC dyspnoea grade (coded finding, no value), exacerbations in the
    /// past year (valueInteger) and, for more severe disease, oxygen saturation.
    fn copd_measures(&mut self, day: Day, minute: u32, encounter: Option<Id>, physiology: &Physiology) {
        let severity = self.clinical.copd_severity.min(3);
        let years_before_today = f64::from(self.today() - day) / 365.0;
        if chance(&mut self.rng, 0.7) {
            let value =
                (physiology.fev1_now + 0.045 * years_before_today + normal(&mut self.rng, 0.0, 0.08)).clamp(0.3, 6.0);
            let status = self.draw_status();
            self.quantity(
                &Quantity {
                    codes: &[cat::FEV1],
                    category: Category::Exam,
                    value,
                    decimals: 2,
                    unit: &LITRE,
                    comparator: None,
                    red_flag: None,
                },
                day,
                minute,
                encounter,
                status,
                false,
            );
        }
        let style = self.style();
        let patient = self.patient_id;
        if chance(&mut self.rng, 0.9) {
            let grade = (severity as i32 + between(&mut self.rng, 0, 1)).clamp(0, 4) as usize;
            let id = self.ids.next_id();
            self.sink.resource(Kind::Observation, id, |o| {
                observation_head(
                    o,
                    "final",
                    Category::Survey,
                    &[cat::MRC_GRADES[grade]],
                    style,
                    patient,
                    encounter,
                    day,
                    minute,
                    None,
                );
            });
        }
        if chance(&mut self.rng, 0.9) {
            let count = poisson(&mut self.rng, [0.3, 0.8, 1.6, 2.6][severity]).min(12);
            let id = self.ids.next_id();
            self.sink.resource(Kind::Observation, id, |o| {
                observation_head(
                    o,
                    "final",
                    Category::Survey,
                    &[cat::COPD_EXACERBATIONS],
                    style,
                    patient,
                    encounter,
                    day,
                    minute,
                    None,
                );
                o.int("valueInteger", i64::from(count));
            });
        }
        if chance(&mut self.rng, if severity >= 2 { 0.85 } else { 0.3 }) {
            let value =
                ([96.5, 95.5, 93.3, 90.5][severity] + normal(&mut self.rng, 0.0, 1.0)).round().clamp(84.0, 99.0);
            let status = self.draw_status();
            self.quantity(
                &Quantity {
                    codes: &[cat::SPO2_LOINC, cat::SPO2_SNOMED],
                    category: Category::VitalSigns,
                    value,
                    decimals: 0,
                    unit: &PERCENT,
                    comparator: None,
                    red_flag: Some(RedFlag::Spo2),
                },
                day,
                minute,
                encounter,
                status,
                false,
            );
        }
    }

    fn phq9(&mut self, day: Day, minute: u32, encounter: Option<Id>) {
        let years_since =
            self.clinical.onset(Register::Depression).map_or(0.0, |onset| f64::from((day - onset).max(0)) / 365.0);
        let value = normal(&mut self.rng, 12.0 - 2.0 * years_since.min(3.0), 5.0).round().clamp(0.0, 27.0);
        self.score(cat::PHQ9, day, minute, encounter, value);
    }

    fn phq2(&mut self, day: Day, minute: u32, encounter: Option<Id>) {
        let value =
            f64::from(crate::util::pick_weighted(&mut self.rng, &[0.6, 0.2, 0.12, 0.05, 0.02, 0.007, 0.003]) as u32);
        self.score(cat::PHQ2, day, minute, encounter, value);
    }

    fn score(&mut self, concept: Concept, day: Day, minute: u32, encounter: Option<Id>, value: f64) {
        self.quantity(
            &Quantity {
                codes: &[concept],
                category: Category::Survey,
                value,
                decimals: 0,
                unit: &SCORE,
                comparator: None,
                red_flag: None,
            },
            day,
            minute,
            encounter,
            "final",
            false,
        );
    }

    /// Most results are final; a few are amended, and a few are entered in error (then re-issued).
    fn draw_status(&mut self) -> &'static str {
        match uniform(&mut self.rng) {
            roll if roll < 0.003 => "entered-in-error",
            roll if roll < 0.008 => "amended",
            _ => "final",
        }
    }

    /// Writes a numeric result. `laboratory_issued` adds the issue time a day or two later.
    /// A result entered in error carries a wrong value, and the correct one is written after it.
    #[allow(clippy::too_many_arguments)]
    fn quantity(
        &mut self,
        quantity: &Quantity<'_>,
        day: Day,
        minute: u32,
        encounter: Option<Id>,
        status: &'static str,
        laboratory_issued: bool,
    ) {
        if status == "entered-in-error" {
            // A plausible but wrong value: a transcription slip for percentages, else a wrong sample.
            let value = if quantity.unit.ucum == "%" { quantity.value - 10.0 } else { quantity.value * 1.6 };
            let wrong = Quantity { value, comparator: None, ..*quantity };
            self.write_quantity(&wrong, day, minute, encounter, status, laboratory_issued);
            self.write_quantity(quantity, day, minute, encounter, "final", laboratory_issued);
        } else {
            self.write_quantity(quantity, day, minute, encounter, status, laboratory_issued);
        }
    }

    fn write_quantity(
        &mut self,
        quantity: &Quantity<'_>,
        day: Day,
        minute: u32,
        encounter: Option<Id>,
        status: &'static str,
        laboratory_issued: bool,
    ) {
        let text = decimal(quantity.value, quantity.decimals);
        if status != "entered-in-error"
            && let Some(flag) = quantity.red_flag
        {
            let value: f64 = text.parse().unwrap_or(quantity.value);
            let raised = match flag {
                RedFlag::Potassium => value >= 6.5,
                RedFlag::Egfr => value < 30.0 && quantity.comparator.is_none(),
                RedFlag::BloodPressure => false,
                RedFlag::Acr => value >= 70.0,
                RedFlag::Spo2 => value <= 92.0 && self.clinical.has(Register::Copd),
                RedFlag::Hba1c => value > 86.0,
            };
            if raised {
                self.stats.red_flags[flag as usize] += 1;
            }
        }
        let variant = chance(&mut self.rng, 0.03);
        let unit_spelling = if variant { *pick(&mut self.rng, quantity.unit.variants) } else { quantity.unit.display };
        let keep_code = !variant || chance(&mut self.rng, 0.6);
        let issued = laboratory_issued
            .then(|| (day + between(&mut self.rng, 0, 2), between(&mut self.rng, 10 * 60, 18 * 60) as u32));
        let id = self.ids.next_id();
        let style = self.style();
        let patient = self.patient_id;
        self.sink.resource(Kind::Observation, id, |o| {
            observation_head(
                o,
                status,
                quantity.category,
                quantity.codes,
                style,
                patient,
                encounter,
                day,
                minute,
                issued,
            );
            o.obj("valueQuantity", |q| {
                quantity_members(q, &text, unit_spelling, keep_code.then_some(quantity.unit.ucum), quantity.comparator);
            });
        });
    }

    // ----- Medicines ----------------------------------------------------------------------------

    fn statin_indicated(&self) -> bool {
        self.clinical.has(Register::Chd)
            || self.clinical.has(Register::StrokeTia)
            || self.clinical.has(Register::Ckd)
            || (self.clinical.has(Register::Diabetes) && self.person.age >= 40)
    }

    /// The medication list as at the extract date (`dateAsserted` = today).
    fn write_medicines(&mut self) {
        let mut list: Vec<(Concept, &'static str, Day)> = Vec::new();
        let statin_indicated = self.statin_indicated();
        let clinical = &self.clinical;
        let rng = &mut self.rng;
        let after = |rng: &mut ChaCha8Rng, onset: Option<Day>| onset.map(|day| day + between(rng, 14, 120));
        if let Some(start) = after(rng, clinical.onset(Register::Hypertension)) {
            if chance(rng, 0.8) {
                list.push((cat::RAMIPRIL, "One capsule daily", start));
            }
            if chance(rng, if self.person.age >= 55 { 0.5 } else { 0.3 }) {
                list.push((cat::AMLODIPINE, "One tablet daily", start + between(rng, 0, 700)));
            }
        }
        if let Some(start) = after(rng, clinical.onset(Register::HeartFailure))
            && !list.iter().any(|(concept, _, _)| *concept == cat::RAMIPRIL)
            && chance(rng, 0.8)
        {
            list.push((cat::RAMIPRIL, "One capsule daily", start));
        }
        if let Some(start) = after(rng, clinical.onset(Register::Diabetes)) {
            if clinical.diabetes == DiabetesType::Type1 {
                list.push((cat::INSULIN_GLARGINE, "Inject as directed", start));
            } else {
                if chance(rng, 0.85) {
                    list.push((cat::METFORMIN, "One tablet twice a day with food", start));
                }
                if chance(rng, 0.25) {
                    list.push((cat::GLICLAZIDE, "One tablet twice a day", start + between(rng, 180, 1500)));
                }
            }
        }
        if statin_indicated && chance(rng, 0.8) {
            let first = Register::ALL.iter().filter_map(|register| clinical.onset(*register)).min().unwrap_or(self.end);
            list.push((cat::ATORVASTATIN, "One tablet at night", first + between(rng, 30, 365)));
        }
        if let Some(start) = after(rng, clinical.onset(Register::AtrialFibrillation))
            && chance(rng, 0.85)
        {
            list.push((cat::APIXABAN, "One tablet twice a day", start));
        }
        let airways = clinical.onset(Register::Asthma).into_iter().chain(clinical.onset(Register::Copd)).min();
        if let Some(start) = after(rng, airways)
            && chance(rng, 0.95)
        {
            list.push((cat::SALBUTAMOL, "Two puffs when required", start));
        }
        if let Some(start) = after(rng, clinical.onset(Register::Depression))
            && chance(rng, 0.6)
        {
            list.push((cat::SERTRALINE, "One tablet daily", start));
        }
        let end = self.end;
        let died = self.person.death.is_some();
        let style = self.style();
        let patient = self.patient_id;
        let today = self.today();
        for (concept, dosage, start) in list {
            let start = start.min(end);
            // A few medicines were stopped (intolerance, switched); all stop at death.
            let stopped = if died {
                Some(end)
            } else if chance(&mut self.rng, 0.07) && end - start > 60 {
                Some(between(&mut self.rng, start + 30, end))
            } else {
                None
            };
            let id = self.ids.next_id();
            self.sink.resource(Kind::MedicationStatement, id, |o| {
                o.str("status", if stopped.is_some() { "stopped" } else { "active" });
                o.obj("medicationCodeableConcept", |cc| fhir::codeable_members(cc, &[concept], Some(concept.display)));
                fhir::reference(o, "subject", style, Kind::Patient, patient);
                o.obj("effectivePeriod", |period| {
                    period.str_with("start", |s| push_date(s, start));
                    if let Some(stop) = stopped {
                        period.str_with("end", |s| push_date(s, stop));
                    }
                });
                o.str_with("dateAsserted", |s| push_date(s, today));
                o.arr("dosage", |a| {
                    a.obj(|d| {
                        d.str("text", dosage);
                    });
                });
            });
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum ConditionState {
    Active,
    Resolved(Day),
    EnteredInError,
}

/// status, category, code, subject, encounter, effective and issued.
#[allow(clippy::too_many_arguments)]
fn observation_head(
    o: &mut Obj<'_>,
    status: &str,
    category: Category,
    codes: &[Concept],
    style: Style,
    patient: Id,
    encounter: Option<Id>,
    day: Day,
    minute: u32,
    issued: Option<(Day, u32)>,
) {
    o.str("status", status);
    let (code, display) = category.code();
    o.arr("category", |a| {
        a.obj(|cc| {
            cc.arr("coding", |codings| {
                codings.obj(|c| {
                    c.str("system", OBSERVATION_CATEGORY).str("code", code).str("display", display);
                });
            });
        });
    });
    fhir::codeable(o, "code", codes, None);
    fhir::reference(o, "subject", style, Kind::Patient, patient);
    if let Some(encounter) = encounter {
        fhir::reference(o, "encounter", style, Kind::Encounter, encounter);
    }
    o.str_with("effectiveDateTime", |s| push_date_time(s, day, minute));
    if let Some((issued_day, issued_minute)) = issued {
        let (issued_day, issued_minute) = if issued_day == day && issued_minute <= minute {
            (day, (minute + 90).min(24 * 60 - 1))
        } else {
            (issued_day, issued_minute)
        };
        o.str_with("issued", |s| push_date_time(s, issued_day, issued_minute));
    }
}

fn quantity_members(q: &mut Obj<'_>, value: &str, unit: &str, ucum: Option<&str>, comparator: Option<&str>) {
    q.number("value", value);
    if let Some(comparator) = comparator {
        q.str("comparator", comparator);
    }
    q.str("unit", unit);
    if let Some(ucum) = ucum {
        q.str("system", cat::UCUM).str("code", ucum);
    }
}

/// A clinician's name from a small stable set per practice and role (a display only: no
/// Practitioner resources are written).
fn clinician_name(practice: u64, role: Role, contact: Id) -> String {
    let slot = contact.fold() % 4;
    let hash = mix64(practice.wrapping_mul(0x100) ^ (role as u64).wrapping_mul(0x10) ^ slot) as usize;
    let family = cat::FAMILY_NAMES[(hash / 7) % cat::FAMILY_NAMES.len()];
    let initial = char::from(b'A' + (hash % 26) as u8);
    match role {
        Role::Gp => format!("Dr {initial} {family}"),
        Role::Nurse => format!("{initial} {family} (Practice Nurse)"),
        Role::HealthcareAssistant => format!("{initial} {family} (HCA)"),
        Role::Unstated => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prevalence_is_calibrated_to_each_target_over_the_pyramid() {
        let prevalence = Prevalence::calibrated();
        for register in Register::ALL {
            let target = register.target();
            let mut numerator = 0.0;
            let mut denominator = 0.0;
            for age in i32::from(target.denominator_minimum_age)..=OLDEST_AGE {
                let band = (age / 5).min(19) as usize;
                let weight = cat::AGE_BANDS[band] / if band == 19 { 6.0 } else { 5.0 } * retained_share(age);
                numerator += weight * prevalence.at(register, age);
                denominator += weight;
            }
            let achieved = 100.0 * numerator / denominator;
            assert!((achieved - target.percent).abs() < 0.01, "{}: {achieved}", target.register);
        }
        assert!(prevalence.at(Register::Hypertension, 80) > prevalence.at(Register::Hypertension, 40));
        assert_eq!(prevalence.at(Register::Asthma, 3), 0.0);
    }

    #[test]
    fn patients_beyond_the_test_range_have_no_nhs_number() {
        let context = Context {
            seed: 1,
            seed_bytes: [7; 32],
            today: crate::util::day_from_civil(2026, 3, 1),
            organisations: Organisations::build(1, 2),
            pool: NhsNumberPool::new(1),
            prevalence: Prevalence::calibrated(),
        };
        let beyond = crate::TEST_RANGE_NHS_NUMBERS;
        for index in [beyond, beyond + 1, beyond + 500_000] {
            let mut sink = Sink::new(Style::Ndjson);
            let mut stats = Stats::default();
            generate_patient(&context, index, &mut sink, &mut stats);
            let patient = &sink.lines[Kind::Patient.index()];
            assert!(!patient.contains("\"value\":\"999"), "{patient}");
            assert!(patient.contains("urn:concord:local-patient-id"));
            assert_eq!(stats.without_nhs_number, 1);
        }
        let mut sink = Sink::new(Style::Ndjson);
        let mut stats = Stats::default();
        generate_patient(&context, beyond - 1, &mut sink, &mut stats);
        assert_eq!(sink.lines[Kind::Patient.index()].contains("\"value\":\"999"), stats.without_nhs_number == 0);
    }

    #[test]
    fn every_unit_spelling_is_understood_by_the_domain() {
        use concord_domain::units::normalise_unit;
        for unit in [
            &MMOL_PER_MOL,
            &PERCENT_DCCT,
            &MMOL_PER_L,
            &UMOL_PER_L,
            &EGFR_UNIT,
            &MG_PER_MMOL,
            &KG_PER_M2,
            &PERCENT,
            &LITRE,
            &SCORE,
            &MM_HG,
        ] {
            for spelling in
                std::iter::once(&unit.display).chain(unit.variants.iter()).chain(std::iter::once(&unit.ucum))
            {
                let normalised = normalise_unit(spelling).unwrap_or_else(|| panic!("{spelling} is not understood"));
                assert_eq!(normalised.as_str(), unit.ucum, "{spelling}");
            }
        }
    }
}
