//! The generator's reference data: register prevalence targets with their sources, the codes it
//! writes, the age pyramid, and the small lists of names and places it draws from.
//!
//! Codes follow UK primary-care usage (SNOMED CT UK edition, dm+d); see
//! `/work/shared/reference/clinical.md` sections 7 and 9 for the codes and units.

/// FHIR code system URIs written by the generator.
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
pub(crate) const LOINC: &str = "http://loinc.org";
pub(crate) const DMD: &str = "https://dmd.nhs.uk";
pub(crate) const UCUM: &str = "http://unitsofmeasure.org";

/// A code with its system and display term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concept {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

const fn sct(code: &'static str, display: &'static str) -> Concept {
    Concept { system: SNOMED, code, display }
}

const fn loinc(code: &'static str, display: &'static str) -> Concept {
    Concept { system: LOINC, code, display }
}

const fn dmd(code: &'static str, display: &'static str) -> Concept {
    Concept { system: DMD, code, display }
}

/// The registers the generator populates. The order is the order of [`PREVALENCE_TARGETS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Register {
    Hypertension,
    Diabetes,
    Asthma,
    Ckd,
    Chd,
    Copd,
    AtrialFibrillation,
    HeartFailure,
    StrokeTia,
    Depression,
    NonDiabeticHyperglycaemia,
    Frailty,
}

impl Register {
    pub(crate) const ALL: [Register; 12] = [
        Register::Hypertension,
        Register::Diabetes,
        Register::Asthma,
        Register::Ckd,
        Register::Chd,
        Register::Copd,
        Register::AtrialFibrillation,
        Register::HeartFailure,
        Register::StrokeTia,
        Register::Depression,
        Register::NonDiabeticHyperglycaemia,
        Register::Frailty,
    ];
    pub(crate) const COUNT: usize = Self::ALL.len();

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn target(self) -> &'static PrevalenceTarget {
        &PREVALENCE_TARGETS[self.index()]
    }
}

/// A register's target: the recorded prevalence the generator aims for among people alive and
/// registered on the generation date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrevalenceTarget {
    /// Stable register id, as used in `Summary::register_counts`.
    pub register: &'static str,
    pub name: &'static str,
    /// Youngest age counted on the register (the QOF register age rule).
    pub minimum_age: u8,
    /// Youngest age in the published prevalence's denominator (QOF reports asthma, registered at
    /// 6+, against the whole list; age-specific registers against their own age band).
    pub denominator_minimum_age: u8,
    /// Recorded prevalence, percent of the denominator.
    pub percent: f64,
    pub source: &'static str,
}

const QOF_2023_24: &str = "NHS England, Quality and Outcomes Framework 2023-24, national recorded prevalence \
     (published 2024), rounded; figures as given in the Concord brief, not re-checked against the \
     publication's spreadsheets from this environment";

/// Register prevalence targets (England). Register ids are those of `data/registers.csv`, plus
/// `ndh` (non-diabetic hyperglycaemia), which the catalogue does not define as a register.
///
/// Source: NHS England, "Quality and Outcomes Framework, 2023-24" (official statistics, recorded
/// disease prevalence by register, national level), rounded to 0.1 percentage points. The QOF
/// registers and their age rules (diabetes 17+, CKD/depression/NDH 18+, asthma registered at 6+
/// but reported against the whole list) are from the same publication's indicator list.
/// Non-diabetic hyperglycaemia is approximate (the national figure could not be confirmed here).
/// Frailty is not a QOF register: moderate plus severe frailty by the electronic Frailty Index is
/// about 15% of people aged 65+ (Clegg A, et al. Age Ageing 2016;45:353-60: 12% moderate, 3% severe).
pub const PREVALENCE_TARGETS: [PrevalenceTarget; Register::COUNT] = [
    target("hypertension", "Hypertension", 0, 0, 14.8, QOF_2023_24),
    target("diabetes", "Diabetes mellitus", 17, 17, 7.7, QOF_2023_24),
    target("asthma", "Asthma", 6, 0, 6.5, QOF_2023_24),
    target("ckd", "Chronic kidney disease (stages 3 to 5)", 18, 18, 4.1, QOF_2023_24),
    target("chd", "Coronary heart disease", 0, 0, 3.0, QOF_2023_24),
    target("copd", "Chronic obstructive pulmonary disease", 0, 0, 1.9, QOF_2023_24),
    target("atrial_fibrillation", "Atrial fibrillation", 0, 0, 2.2, QOF_2023_24),
    target("heart_failure", "Heart failure", 0, 0, 1.1, QOF_2023_24),
    target("stroke_tia", "Stroke and transient ischaemic attack", 0, 0, 1.9, QOF_2023_24),
    target("depression", "Depression", 18, 18, 13.2, QOF_2023_24),
    target(
        "ndh",
        "Non-diabetic hyperglycaemia",
        18,
        18,
        6.5,
        "approximate QOF NDH register size (18+); not confirmed against the 2023-24 publication",
    ),
    target(
        "frailty",
        "Moderate or severe frailty (eFI)",
        65,
        65,
        15.0,
        "Clegg A, et al. Development and validation of an electronic frailty index. Age Ageing 2016;45:353-60",
    ),
];

const fn target(
    register: &'static str,
    name: &'static str,
    minimum_age: u8,
    denominator_minimum_age: u8,
    percent: f64,
    source: &'static str,
) -> PrevalenceTarget {
    PrevalenceTarget { register, name, minimum_age, denominator_minimum_age, percent, source }
}

/// Relative prevalence by age, as (age, relative value) knots joined linearly; zero before the
/// first knot. Only the shape matters: each curve is scaled to its register's target over the age
/// pyramid. Shapes are approximate, from the age gradients seen in QOF and Health Survey for
/// England reporting (steep for cardiovascular disease and CKD, flat for asthma, mid-life peak for
/// depression).
pub(crate) fn age_curve(register: Register) -> &'static [(f64, f64)] {
    match register {
        Register::Hypertension => &[
            (15.0, 0.0),
            (20.0, 1.0),
            (30.0, 2.0),
            (40.0, 6.0),
            (50.0, 14.0),
            (60.0, 28.0),
            (70.0, 45.0),
            (80.0, 58.0),
            (90.0, 62.0),
        ],
        Register::Diabetes => &[
            (5.0, 0.0),
            (17.0, 0.5),
            (30.0, 1.5),
            (40.0, 4.0),
            (50.0, 8.0),
            (60.0, 14.0),
            (70.0, 19.0),
            (80.0, 20.0),
            (95.0, 14.0),
        ],
        Register::Asthma => &[(6.0, 8.0), (15.0, 9.0), (30.0, 7.0), (50.0, 6.5), (70.0, 7.0), (90.0, 5.0)],
        Register::Ckd => {
            &[(18.0, 0.1), (40.0, 0.5), (50.0, 1.5), (60.0, 4.0), (70.0, 10.0), (80.0, 22.0), (90.0, 35.0)]
        }
        Register::Chd => {
            &[(30.0, 0.1), (40.0, 0.5), (50.0, 2.0), (60.0, 5.0), (70.0, 10.0), (80.0, 15.0), (90.0, 17.0)]
        }
        Register::Copd => &[(35.0, 0.1), (45.0, 0.6), (55.0, 2.0), (65.0, 4.5), (75.0, 7.0), (85.0, 7.5), (95.0, 6.0)],
        Register::AtrialFibrillation => {
            &[(40.0, 0.2), (50.0, 0.6), (60.0, 2.0), (70.0, 5.5), (80.0, 11.0), (90.0, 15.0)]
        }
        Register::HeartFailure => &[(40.0, 0.1), (50.0, 0.3), (60.0, 0.8), (70.0, 2.0), (80.0, 5.0), (90.0, 9.0)],
        Register::StrokeTia => {
            &[(30.0, 0.1), (45.0, 0.5), (55.0, 1.2), (65.0, 3.0), (75.0, 6.0), (85.0, 9.0), (95.0, 10.0)]
        }
        Register::Depression => &[
            (18.0, 10.0),
            (25.0, 15.0),
            (35.0, 15.0),
            (45.0, 15.0),
            (55.0, 14.0),
            (65.0, 11.0),
            (75.0, 9.0),
            (90.0, 9.0),
        ],
        Register::NonDiabeticHyperglycaemia => &[
            (18.0, 0.5),
            (30.0, 2.0),
            (40.0, 4.0),
            (50.0, 7.0),
            (60.0, 10.0),
            (70.0, 13.0),
            (80.0, 12.0),
            (90.0, 10.0),
        ],
        Register::Frailty => &[(50.0, 0.0), (65.0, 6.0), (75.0, 13.0), (85.0, 28.0), (95.0, 45.0)],
    }
}

/// Age pyramid in five-year bands from 0-4 to 95-100 (percent of the list). Approximately the
/// shape of the ONS mid-2021 population estimates for England and Wales, rounded; GP registered
/// lists have much the same shape.
pub(crate) const AGE_BANDS: [f64; 20] =
    [5.4, 6.0, 6.1, 5.7, 6.0, 6.6, 7.0, 6.8, 6.4, 6.2, 6.8, 6.7, 5.9, 5.0, 5.0, 3.6, 2.4, 1.4, 0.6, 0.2];
pub(crate) const OLDEST_AGE: i32 = 100;

/// Smoking status shares by age (current, ex), approximately ONS Annual Population Survey and
/// Health Survey for England figures; everyone else has never smoked.
pub(crate) fn smoking_shares(age: i32) -> (f64, f64) {
    match age {
        ..=15 => (0.0, 0.0),
        16..=24 => (0.10, 0.05),
        25..=34 => (0.17, 0.12),
        35..=49 => (0.15, 0.20),
        50..=64 => (0.14, 0.30),
        _ => (0.08, 0.42),
    }
}

// ----- Diagnosis codes -----------------------------------------------------------------------

pub(crate) const HYPERTENSION: Concept = sct("38341003", "Hypertensive disorder, systemic arterial");
pub(crate) const TYPE_2_DIABETES: Concept = sct("44054006", "Type 2 diabetes mellitus");
pub(crate) const TYPE_1_DIABETES: Concept = sct("46635009", "Type 1 diabetes mellitus");
pub(crate) const DIABETES_UNSPECIFIED: Concept = sct("73211009", "Diabetes mellitus");
/// QOF DMRES_COD: a later "diabetes resolved" code takes the person off the diabetes register.
pub(crate) const DIABETES_RESOLVED: Concept = sct("315051004", "Diabetes resolved");
pub(crate) const ASTHMA: Concept = sct("195967001", "Asthma");
pub(crate) const CKD_STAGE_3: Concept = sct("433144002", "Chronic kidney disease stage 3");
pub(crate) const CKD_STAGE_4: Concept = sct("431857002", "Chronic kidney disease stage 4");
pub(crate) const CKD_STAGE_5: Concept = sct("433146000", "Chronic kidney disease stage 5");
pub(crate) const CHD: Concept = sct("53741008", "Coronary heart disease");
pub(crate) const MYOCARDIAL_INFARCTION: Concept = sct("22298006", "Myocardial infarction");
pub(crate) const COPD: Concept = sct("13645005", "Chronic obstructive pulmonary disease");
pub(crate) const CHRONIC_OBSTRUCTIVE_BRONCHITIS: Concept = sct("185086009", "Chronic obstructive bronchitis");
pub(crate) const EMPHYSEMA: Concept = sct("87433001", "Pulmonary emphysema");
pub(crate) const ATRIAL_FIBRILLATION: Concept = sct("49436004", "Atrial fibrillation");
pub(crate) const HEART_FAILURE: Concept = sct("84114007", "Heart failure");
pub(crate) const STROKE: Concept = sct("230690007", "Cerebrovascular accident");
pub(crate) const TIA: Concept = sct("266257000", "Transient ischaemic attack");
pub(crate) const DEPRESSION: Concept = sct("35489007", "Depressive disorder");
pub(crate) const PREDIABETES: Concept = sct("714628002", "Prediabetes");
pub(crate) const MODERATE_FRAILTY: Concept = sct("925831000000107", "Moderate frailty");
pub(crate) const SEVERE_FRAILTY: Concept = sct("925861000000102", "Severe frailty");

/// The diagnosis codes the generator writes for each register (the register's codelist, as far
/// as this generator is concerned), and the codes that end membership when recorded later.
pub fn register_codes(register: &str) -> Option<(&'static [Concept], &'static [Concept])> {
    let index = PREVALENCE_TARGETS.iter().position(|target| target.register == register)?;
    Some((diagnosis_codes(Register::ALL[index]), resolution_codes(Register::ALL[index])))
}

pub(crate) fn diagnosis_codes(register: Register) -> &'static [Concept] {
    match register {
        Register::Hypertension => &[HYPERTENSION],
        Register::Diabetes => &[TYPE_2_DIABETES, TYPE_1_DIABETES, DIABETES_UNSPECIFIED],
        Register::Asthma => &[ASTHMA],
        Register::Ckd => &[CKD_STAGE_3, CKD_STAGE_4, CKD_STAGE_5],
        Register::Chd => &[CHD, MYOCARDIAL_INFARCTION],
        Register::Copd => &[COPD, CHRONIC_OBSTRUCTIVE_BRONCHITIS, EMPHYSEMA],
        Register::AtrialFibrillation => &[ATRIAL_FIBRILLATION],
        Register::HeartFailure => &[HEART_FAILURE],
        Register::StrokeTia => &[STROKE, TIA],
        Register::Depression => &[DEPRESSION],
        Register::NonDiabeticHyperglycaemia => &[PREDIABETES],
        Register::Frailty => &[MODERATE_FRAILTY, SEVERE_FRAILTY],
    }
}

pub(crate) fn resolution_codes(register: Register) -> &'static [Concept] {
    match register {
        Register::Diabetes => &[DIABETES_RESOLVED],
        _ => &[],
    }
}

// ----- Observation codes ---------------------------------------------------------------------

pub(crate) const HBA1C: Concept = sct("999791000000106", "Haemoglobin A1c level - IFCC standardised");
pub(crate) const HBA1C_DCCT: Concept = sct("1019431000000105", "HbA1c level (DCCT aligned)");
pub(crate) const BP_PANEL_LOINC: Concept = loinc("85354-9", "Blood pressure panel with all children optional");
pub(crate) const BP_SNOMED: Concept = sct("75367002", "Blood pressure");
pub(crate) const SYSTOLIC_LOINC: Concept = loinc("8480-6", "Systolic blood pressure");
pub(crate) const SYSTOLIC_SNOMED: Concept = sct("271649006", "Systolic blood pressure");
pub(crate) const DIASTOLIC_LOINC: Concept = loinc("8462-4", "Diastolic blood pressure");
pub(crate) const DIASTOLIC_SNOMED: Concept = sct("271650006", "Diastolic blood pressure");
pub(crate) const CHOLESTEROL: Concept = sct("1005671000000105", "Serum cholesterol level");
pub(crate) const EGFR: Concept = sct(
    "1011481000000105",
    "eGFR (estimated glomerular filtration rate) using creatinine Chronic Kidney Disease Epidemiology Collaboration equation per 1.73 square metres",
);
pub(crate) const CREATININE: Concept = sct("1000731000000107", "Serum creatinine level");
pub(crate) const URINE_ACR: Concept = sct("1023491000000104", "Urine albumin:creatinine ratio");
/// Serum potassium level: UK SNOMED 1000651000000109 (seen in NHS lab-result FHIR examples and in
/// national primary-care code usage tables for 2023-24).
pub(crate) const POTASSIUM: Concept = sct("1000651000000109", "Serum potassium level");
pub(crate) const BMI_SNOMED: Concept = sct("60621009", "Body mass index");
pub(crate) const BMI_LOINC: Concept = loinc("39156-5", "Body mass index (BMI) [Ratio]");
pub(crate) const SMOKER: Concept = sct("77176002", "Smoker");
/// QOF FOOTEXAM_COD / NDA care process 6 (data/codelists/obs-foot_examination.csv).
pub(crate) const FOOT_EXAMINATION: Concept = sct("401191002", "Diabetic foot examination");
/// A foot-risk finding (data/codelists/obs-foot_risk.csv; QOF FRC_COD).
pub(crate) const FOOT_AT_RISK: Concept = sct("308105005", "On examination - Right diabetic foot at risk");
pub(crate) const EX_SMOKER: Concept = sct("8517006", "Ex-smoker");
pub(crate) const NEVER_SMOKED: Concept = sct("266919005", "Never smoked tobacco");
pub(crate) const SMOKING_STATUS_LOINC: Concept = loinc("72166-2", "Tobacco smoking status");
pub(crate) const SPO2_LOINC: Concept = loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry");
pub(crate) const SPO2_SNOMED: Concept = sct("431314004", "Peripheral oxygen saturation");
pub(crate) const FEV1: Concept = sct("59328004", "Forced expired volume in 1 second");
pub(crate) const MRC_GRADES: [Concept; 5] = [
    sct("391120009", "MRC Breathlessness Scale: grade 1"),
    sct("391123006", "MRC Breathlessness Scale: grade 2"),
    sct("391124000", "MRC Breathlessness Scale: grade 3"),
    sct("391125004", "MRC Breathlessness Scale: grade 4"),
    sct("391126003", "MRC Breathlessness Scale: grade 5"),
];
pub(crate) const COPD_EXACERBATIONS: Concept =
    sct("723245007", "Number of chronic obstructive pulmonary disease exacerbations in past year");
pub(crate) const PHQ2: Concept = sct("836541000000100", "Patient Health Questionnaire 2 item score");
pub(crate) const PHQ9: Concept = sct("720433000", "Patient Health Questionnaire Nine Item score");

// ----- Encounters ----------------------------------------------------------------------------

pub(crate) const CHECK_UP: Concept = sct("185349003", "Encounter for check up");
pub(crate) const ENCOUNTER_FOR_SYMPTOM: Concept = sct("185345009", "Encounter for symptom");
pub(crate) const COPD_REVIEW: Concept = sct("394703002", "Chronic obstructive pulmonary disease annual review");
pub(crate) const EMERGENCY_ATTENDANCE: Concept = sct("50849002", "Emergency room admission");
pub(crate) const ROLE_GP: Concept = sct("62247001", "General practitioner");
pub(crate) const ROLE_NURSE: Concept = sct("106292003", "Professional nurse");

// ----- Medicines -----------------------------------------------------------------------------
// dm+d VMP/AMP codes (system https://dmd.nhs.uk) where the product is specific; SNOMED product
// concepts (the dm+d VTM level) for the moiety-only entries. Codes checked against public NHS
// drug codelists (Exeter diabetes codelists, Greater Manchester SDE code sets, dm+d VTM lookups).

pub(crate) const METFORMIN: Concept = sct("109081006", "Metformin");
pub(crate) const GLICLAZIDE: Concept = sct("776108001", "Gliclazide");
pub(crate) const INSULIN_GLARGINE: Concept =
    dmd("11933011000001106", "Lantus 100units/ml solution for injection 3ml pre-filled SoloStar pens (Sanofi)");
pub(crate) const RAMIPRIL: Concept = sct("108564000", "Ramipril");
pub(crate) const AMLODIPINE: Concept = dmd("108537001", "Amlodipine");
pub(crate) const ATORVASTATIN: Concept = dmd("39733011000001106", "Atorvastatin 20mg tablets");
pub(crate) const SALBUTAMOL: Concept = dmd("39113611000001102", "Salbutamol 100micrograms/dose inhaler CFC free");
pub(crate) const APIXABAN: Concept = dmd("42206511000001102", "Apixaban 5mg tablets");
pub(crate) const SERTRALINE: Concept = dmd("39704111000001102", "Sertraline 50mg tablets");

// ----- People and places ---------------------------------------------------------------------

pub(crate) const FEMALE_GIVEN: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Freya",
    "Lily",
    "Evie",
    "Sophie",
    "Emily",
    "Poppy",
    "Ella",
    "Chloe",
    "Jessica",
    "Hannah",
    "Laura",
    "Rebecca",
    "Sarah",
    "Emma",
    "Claire",
    "Nicola",
    "Joanne",
    "Rachel",
    "Helen",
    "Karen",
    "Julie",
    "Susan",
    "Linda",
    "Patricia",
    "Margaret",
    "Jean",
    "Dorothy",
    "Irene",
    "Brenda",
    "Pauline",
    "Christine",
    "Janet",
    "Elaine",
    "Gillian",
    "Aisha",
    "Fatima",
    "Zainab",
    "Amina",
    "Priya",
    "Anjali",
    "Sana",
    "Maryam",
    "Agnieszka",
    "Katarzyna",
    "Ioana",
    "Siobhan",
    "Niamh",
    "Bethan",
    "Rhiannon",
    "Abigail",
    "Megan",
    "Charlotte",
    "Victoria",
    "Kirsty",
];

pub(crate) const MALE_GIVEN: &[&str] = &[
    "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Arthur", "Oscar", "Charlie", "Jacob", "Thomas", "James",
    "William", "Daniel", "Matthew", "Joshua", "Ryan", "Liam", "Adam", "Luke", "David", "Paul", "Mark", "Andrew",
    "Richard", "Stephen", "Peter", "Michael", "John", "Robert", "Brian", "Kenneth", "Keith", "Derek", "Trevor",
    "Graham", "Colin", "Barry", "Malcolm", "Roy", "Mohammed", "Ibrahim", "Yusuf", "Imran", "Bilal", "Arjun", "Rahul",
    "Sanjay", "Tomasz", "Piotr", "Andrei", "Kwame", "Tunde", "Conor", "Callum", "Rhys", "Gareth", "Owen", "Dylan",
    "Samuel",
];

pub(crate) const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Hughes",
    "Edwards",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morris",
    "King",
    "Harrison",
    "Baker",
    "Lee",
    "Allen",
    "Mitchell",
    "Shaw",
    "Holmes",
    "Ellis",
    "Barker",
    "Atkinson",
    "Greenwood",
    "Sutcliffe",
    "Ackroyd",
    "Haigh",
    "Hirst",
    "Crowther",
    "Lockwood",
    "Stead",
    "Firth",
    "Barraclough",
    "Brook",
    "Hussain",
    "Khan",
    "Ahmed",
    "Ali",
    "Begum",
    "Akhtar",
    "Iqbal",
    "Mahmood",
    "Patel",
    "Shah",
    "Singh",
    "Kaur",
    "Sharma",
    "Nowak",
    "Kowalski",
    "Wisniewski",
    "Popescu",
    "Okafor",
    "Mensah",
    "Adeyemi",
    "Murphy",
    "O'Brien",
    "Kelly",
    "McDonald",
    "Campbell",
    "Stewart",
    "Fraser",
    "Price",
    "Lloyd",
    "Morgan",
    "Howell",
    "Pickles",
    "Lumb",
    "Dyson",
    "Fairbairn",
    "Appleyard",
    "Kershaw",
    "Mortimer",
    "Pearson",
    "Whiteley",
];

pub(crate) const STREETS: &[&str] = &[
    "Church Lane",
    "Mill Lane",
    "Victoria Road",
    "Park Avenue",
    "Station Road",
    "Moor View",
    "Westfield Terrace",
    "Manor Road",
    "Chapel Street",
    "Albert Road",
    "Queen Street",
    "King Street",
    "Beech Grove",
    "Oak Avenue",
    "Hawthorn Close",
    "Meadow Way",
    "Springfield Road",
    "Hillside Crescent",
    "Woodland Drive",
    "Canal Side",
    "Ashfield Road",
    "Grange Avenue",
    "Highfield Lane",
    "Cliffe Road",
    "Bank Street",
    "Valley Road",
    "Low Lane",
    "Green End",
    "Carr Lane",
    "Town Street",
];

/// A town the synthetic region covers: its postcode area and districts, and the Ofcom drama
/// telephone range used for landlines there (Ofcom reserves 0113 496 0000-0999 for Leeds and
/// 01632 960000-960999 as a fictitious area, for use in fiction and test data).
pub(crate) struct Town {
    pub name: &'static str,
    pub postcode_area: &'static str,
    pub districts: u32,
    pub landline_prefix: &'static str,
    pub landline_digits: u32,
}

pub(crate) const TOWNS: &[Town] = &[
    Town { name: "Leeds", postcode_area: "LS", districts: 29, landline_prefix: "0113 496 0", landline_digits: 3 },
    Town { name: "Bradford", postcode_area: "BD", districts: 22, landline_prefix: "01632 960", landline_digits: 3 },
    Town { name: "Wakefield", postcode_area: "WF", districts: 17, landline_prefix: "01632 960", landline_digits: 3 },
    Town { name: "Huddersfield", postcode_area: "HD", districts: 9, landline_prefix: "01632 960", landline_digits: 3 },
    Town { name: "Halifax", postcode_area: "HX", districts: 7, landline_prefix: "01632 960", landline_digits: 3 },
];

/// Letters allowed in the inward part of a UK postcode (C, I, K, M, O and V are never used).
pub(crate) const POSTCODE_INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

pub(crate) const PRACTICE_NAME_PATTERNS: &[&str] =
    &["{} Medical Centre", "{} Surgery", "{} Health Centre", "The {} Practice", "{} Family Practice"];
pub(crate) const PRACTICE_PLACES: &[&str] = &[
    "Moorside",
    "Holme Valley",
    "Calder",
    "Aire View",
    "Kirkgate",
    "Bramley",
    "Headingley",
    "Shipley",
    "Ossett",
    "Lindley",
    "Elland",
    "Heckmondwike",
    "Batley",
    "Pudsey",
    "Horsforth",
    "Morley",
    "Rothwell",
    "Garforth",
    "Keighley",
    "Bingley",
    "Ilkley",
    "Otley",
    "Castleford",
    "Pontefract",
    "Dewsbury",
    "Mirfield",
    "Brighouse",
    "Sowerby Bridge",
    "Todmorden",
    "Hebden Bridge",
];

/// Languages recorded for people who prefer not to use English (BCP 47 tags; `bfi` is British
/// Sign Language), with the display term and a relative frequency.
pub(crate) const LANGUAGES: &[(&str, &str, f64)] = &[
    ("ur", "Urdu", 6.0),
    ("pa", "Punjabi", 4.0),
    ("pl", "Polish", 5.0),
    ("bn", "Bengali", 2.0),
    ("ro", "Romanian", 3.0),
    ("ar", "Arabic", 2.0),
    ("ku", "Kurdish", 1.0),
    ("sq", "Albanian", 1.0),
    ("bfi", "British Sign Language", 0.8),
];
