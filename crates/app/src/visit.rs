//! The information-gathering visit: one form for every test of every condition, generated from
//! the person's merged checklist, recorded by the healthcare assistant in one go.
//!
//! Invariants:
//! - Every value is checked against its observable's plausible range and unit before anything is
//!   written; a bad value names its field and nothing is saved.
//! - What is saved is written like an import (one transaction, audited, the person marked stale)
//!   and the person's status and red flags are refreshed before the answer returns, so an urgent
//!   result entered at the visit is on the triage queue before the person leaves.
//! - A PHQ-9 item 9 answered other than "not at all" stops the visit: the answer is saved (and
//!   raises its urgent flag) and the healthcare assistant is told to get a same-day clinician
//!   assessment before the person leaves, with crisis signposting.

use std::collections::BTreeMap;

use concord_domain::access::Permission;
use concord_domain::care_process::{ItemStatus, PerformedBy, merged_checklist};
use concord_domain::cycle::{CycleEvent, Stage};
use concord_domain::record::{Observation, ObservationStatus, ObservationValue, Quantity, ResultSource};
use concord_domain::units::Ucum;
use concord_domain::{Code, CodedConcept};
use concord_store::{ClinicalRecord, PatientRef};
use time::OffsetDateTime;

use crate::cycle::Caller;
use crate::record::StaffMember;
use crate::status::StatusRules;
use crate::{AppError, Concord};

/// How a field is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// A number in the observable's canonical unit.
    Number,
    /// One of several coded answers: (value sent by the form, label, code recorded).
    Choice(Vec<(String, String, Code)>),
    /// A tick: the check was done (the observable's code is recorded as a finding).
    Done,
    /// A tick: a sample for this checklist item went to the laboratory; its result arrives by
    /// import and is matched to the visit (`concord_domain::visit`).
    SampleSent,
}

/// One field of the visit form.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitField {
    /// Form field name (also the observable id, or `phq9_q1`… for questionnaire items).
    pub name: String,
    pub observable: String,
    pub label: String,
    pub hint: String,
    /// The unit shown after a number input.
    pub unit: String,
    pub kind: FieldKind,
}

/// A section of the form: one merged-checklist item.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitSection {
    pub item: String,
    pub name: String,
    pub status: ItemStatus,
    pub last_done: Option<String>,
    pub because_of: Vec<String>,
    pub fields: Vec<VisitField>,
    /// Shown instead of fields when the item is not done at this visit (eye screening, clinician).
    pub note: Option<String>,
}

/// The form for one person.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitForm {
    pub patient_id: String,
    pub sections: Vec<VisitSection>,
}

/// Why a submitted form was refused: (field name, message), in form order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VisitErrors(pub Vec<(String, String)>);

/// What saving the visit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitOutcome {
    pub results_saved: usize,
    /// A PHQ-9 item 9 answer other than "not at all": stop, same-day clinician assessment.
    pub risk_of_harm: bool,
    /// Open urgent red flags for the person after the visit (including ones just raised).
    pub urgent_flags: Vec<String>,
    pub stage: Option<String>,
    /// Checklist items whose samples went to the laboratory (names), awaited by import.
    pub samples_sent: Vec<String>,
}

const PHQ_OPTIONS: [(&str, &str); 4] =
    [("0", "Not at all"), ("1", "Several days"), ("2", "More than half the days"), ("3", "Nearly every day")];

const PHQ9_QUESTIONS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
];

/// LOINC answer codes for PHQ items (LA6568-5 not at all … LA6571-9 nearly every day), the codes
/// the red-flag rule `phq9_item9_positive` reads.
const PHQ_ANSWER_CODES: [&str; 4] = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];

fn number(observable: &str, label: &str, hint: &str, unit: &str) -> VisitField {
    VisitField {
        name: observable.into(),
        observable: observable.into(),
        label: label.into(),
        hint: hint.into(),
        unit: unit.into(),
        kind: FieldKind::Number,
    }
}

fn phq_question(name: &str, label: &str) -> VisitField {
    VisitField {
        name: name.into(),
        observable: String::new(),
        label: label.into(),
        hint: String::new(),
        unit: String::new(),
        kind: FieldKind::Choice(
            PHQ_OPTIONS
                .iter()
                .zip(PHQ_ANSWER_CODES)
                .map(|((value, text), code)| ((*value).into(), (*text).into(), Code::loinc(code)))
                .collect(),
        ),
    }
}

/// Checklist items whose sample usually goes to the laboratory from the visit.
pub const LABORATORY_ITEMS: [&str; 5] = ["hba1c", "cholesterol", "kidney_function", "urine_acr", "potassium"];

/// The fields that record a checklist item at the visit. A laboratory test has a point-of-care
/// value or, more often, a tick that its sample went to the laboratory.
fn fields_for(item: &str) -> Vec<VisitField> {
    let mut fields = measured_fields(item);
    if LABORATORY_ITEMS.contains(&item) {
        fields.push(VisitField {
            name: format!("sample_{item}"),
            observable: String::new(),
            label: "Sample sent to the laboratory".into(),
            hint: "The result joins this visit when it arrives by import".into(),
            unit: String::new(),
            kind: FieldKind::SampleSent,
        });
    }
    fields
}

fn measured_fields(item: &str) -> Vec<VisitField> {
    let lab = "Only for a point-of-care test done now";
    match item {
        "blood_pressure" => vec![
            number("systolic_bp", "Systolic blood pressure", "", "mmHg"),
            number("diastolic_bp", "Diastolic blood pressure", "", "mmHg"),
        ],
        "bmi" => vec![number("weight", "Weight", "", "kg"), number("height", "Height", "Measured or stated", "cm")],
        "hba1c" => vec![number("hba1c", "HbA1c (point of care)", lab, "mmol/mol")],
        "cholesterol" => vec![number("total_cholesterol", "Total cholesterol (point of care)", lab, "mmol/L")],
        "kidney_function" => vec![number("creatinine", "Serum creatinine", lab, "µmol/L")],
        "urine_acr" => vec![number("urine_acr", "Urine albumin:creatinine ratio", lab, "mg/mmol")],
        "potassium" => vec![number("potassium", "Potassium", lab, "mmol/L")],
        "spo2" => vec![number("spo2", "Oxygen saturation at rest, on air", "", "%")],
        "fev1" => vec![
            number("fev1", "FEV1 (after bronchodilator)", "", "L"),
            number("fev1_percent_predicted", "FEV1 % predicted", "", "%"),
        ],
        "copd_exacerbations" => vec![number(
            "copd_exacerbations",
            "COPD flare-ups in the past 12 months",
            "Courses of steroids or antibiotics, or hospital admissions",
            "",
        )],
        "cat_score" => vec![number("cat_score", "COPD assessment test (CAT) total", "0 to 40", "")],
        "asthma_control" => vec![number("asthma_control", "Asthma Control Test total", "5 to 25", "")],
        "asthma_exacerbations" => vec![number("asthma_exacerbations", "Asthma attacks in the past 12 months", "", "")],
        "mrc_dyspnoea" => vec![VisitField {
            name: "mrc_dyspnoea".into(),
            observable: "mrc_dyspnoea".into(),
            label: "MRC breathlessness grade".into(),
            hint: String::new(),
            unit: String::new(),
            kind: FieldKind::Choice(vec![
                ("1".into(), "1: breathless only on strenuous exercise".into(), Code::snomed("391120009")),
                (
                    "2".into(),
                    "2: short of breath hurrying or walking up a slight hill".into(),
                    Code::snomed("391123006"),
                ),
                (
                    "3".into(),
                    "3: walks slower than others, or stops after about 15 minutes on the flat".into(),
                    Code::snomed("391124000"),
                ),
                (
                    "4".into(),
                    "4: stops after about 100 yards or a few minutes on the flat".into(),
                    Code::snomed("391125004"),
                ),
                (
                    "5".into(),
                    "5: too breathless to leave the house, or breathless dressing".into(),
                    Code::snomed("391126003"),
                ),
            ]),
        }],
        "smoking" => vec![VisitField {
            name: "smoking_status".into(),
            observable: "smoking_status".into(),
            label: "Smoking status".into(),
            hint: String::new(),
            unit: String::new(),
            kind: FieldKind::Choice(vec![
                ("never".into(), "Never smoked".into(), Code::snomed("266919005")),
                ("ex".into(), "Ex-smoker".into(), Code::snomed("8517006")),
                ("current".into(), "Smokes now".into(), Code::snomed("77176002")),
            ]),
        }],
        "foot_check" => vec![VisitField {
            name: "foot_check".into(),
            observable: "foot_examination".into(),
            label: "Foot check: risk classification".into(),
            hint: "After examining both feet (pulses, monofilament sensation, skin)".into(),
            unit: String::new(),
            kind: FieldKind::Choice(vec![
                ("low".into(), "Low risk".into(), Code::snomed("401191002")),
                ("increased".into(), "Increased risk".into(), Code::snomed("401191002")),
                ("high".into(), "High risk".into(), Code::snomed("401191002")),
                ("ulcerated".into(), "Active ulcer".into(), Code::snomed("371087003")),
            ]),
        }],
        "inhaler_technique" => vec![VisitField {
            name: "inhaler_technique".into(),
            observable: "inhaler_technique".into(),
            label: "Inhaler technique checked".into(),
            hint: "Watch the person use each of their inhalers".into(),
            unit: String::new(),
            kind: FieldKind::Done,
        }],
        "phq2" => vec![phq_question("phq_q1", PHQ9_QUESTIONS[0]), phq_question("phq_q2", PHQ9_QUESTIONS[1])],
        "phq9" => (3..=9).map(|n| phq_question(&format!("phq_q{n}"), PHQ9_QUESTIONS[n - 1])).collect(),
        _ => vec![],
    }
}

fn performer_note(performed_by: PerformedBy) -> Option<String> {
    match performed_by {
        PerformedBy::EyeScreening => {
            Some("Done by the diabetic eye screening service; the result arrives by import.".into())
        }
        PerformedBy::Clinician => Some("Done by the nurse or GP at the conversation.".into()),
        _ => None,
    }
}

/// Parses a number as typed (spaces and a leading plus allowed).
fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim().trim_start_matches('+');
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

impl Concord {
    /// The visit form for a person: their merged checklist with a field for each test the
    /// healthcare assistant does. Reading it is a read of the record, so it is audited.
    pub async fn visit_form(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<VisitForm, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let rules = self.status_rules().await?;
        let (_, person) = self.person_snapshot(patient_id, &rules, now.date()).await?;
        let mut checklist =
            merged_checklist(&rules.cycle.care_processes, &person, concord_codelists::cycle_rules::DUE_WINDOW_DAYS);
        // The mood questions go together: PHQ-2 first (questions 1 and 2), then the rest of the
        // PHQ-9 when they score 3 or more. Either being due brings both onto the form.
        let has = |list: &[concord_domain::care_process::ChecklistItem], item: &str| {
            list.iter().any(|entry| entry.item == item)
        };
        for (needed, partner) in [("phq9", "phq2"), ("phq2", "phq9")] {
            if has(&checklist, partner)
                && !has(&checklist, needed)
                && let Some(process) = rules.cycle.care_processes.iter().find(|process| process.item == needed)
            {
                let entry = concord_domain::care_process::ChecklistItem {
                    item: process.item.clone(),
                    name: process.name.clone(),
                    status: ItemStatus::Due,
                    last_done: None,
                    next_due: None,
                    interval_months: process.interval_months,
                    performed_by: process.performed_by,
                    because_of: vec![process.id.clone()],
                    evidence: process.evidence.clone(),
                };
                let at = checklist.iter().position(|entry| entry.item == partner).unwrap_or(checklist.len());
                // PHQ-2 goes before the PHQ-9, the PHQ-9 after the PHQ-2.
                let at = if needed == "phq2" { at } else { at + 1 };
                checklist.insert(at.min(checklist.len()), entry);
            }
        }
        self.record_visit_read(staff, patient_id).await?;
        let sections = checklist
            .into_iter()
            .map(|item| VisitSection {
                fields: if performer_note(item.performed_by).is_some() { vec![] } else { fields_for(&item.item) },
                note: performer_note(item.performed_by),
                item: item.item,
                name: item.name,
                status: item.status,
                last_done: item.last_done.map(crate::status::date_text),
                because_of: item.because_of,
            })
            .collect();
        Ok(VisitForm { patient_id: patient_id.to_owned(), sections })
    }

    async fn record_visit_read(&self, staff: &StaffMember, patient_id: &str) -> Result<(), AppError> {
        let detail = "information-gathering form opened".to_owned();
        self.audit_person(staff, patient_id, concord_domain::audit::AuditAction::Read, "VisitForm", detail).await
    }

    /// Saves the visit: validates every answer, writes the results (audited), moves the cycle to
    /// "tests done" where it allows, and refreshes the person's status and flags.
    pub async fn record_visit(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        answers: &BTreeMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<Result<VisitOutcome, VisitErrors>, AppError> {
        staff.require(Permission::ManageCycle)?;
        let form = self.visit_form(staff, patient_id, now).await?;
        let rules = StatusRules::standard(self.catalogue)?;
        let mut errors = Vec::new();
        let mut records: Vec<(String, Observation)> = Vec::new();
        let answer = |name: &str| answers.get(name).map(|text| text.trim()).filter(|text| !text.is_empty());
        let visit_key = format!("concord/visit/{}/{}", patient_id, now.unix_timestamp());
        let observation = |observable: &str, code: Code, value: ObservationValue| Observation {
            concept: CodedConcept {
                term: rules.catalogue.observable(observable).map_or_else(String::new, |o| o.name.clone()),
                code,
            },
            observable: Some(observable.to_owned()),
            value,
            effective: now,
            status: ObservationStatus::Final,
            source: ResultSource::Concord,
        };
        let mut phq = [None::<u8>; 9];
        // (checklist item, its name) for each sample sent.
        let mut samples: Vec<(String, String)> = Vec::new();
        for section in &form.sections {
            let sent = section.fields.iter().any(|field| {
                field.kind == FieldKind::SampleSent && answer(&field.name).is_some_and(|text| text != "no")
            });
            if !sent {
                continue;
            }
            let measured =
                section.fields.iter().find(|field| field.kind == FieldKind::Number && answer(&field.name).is_some());
            if let Some(field) = measured {
                errors.push((
                    field.name.clone(),
                    format!(
                        "{}: record a point-of-care result or that the sample went to the laboratory, not both",
                        section.name
                    ),
                ));
            }
            samples.push((section.item.clone(), section.name.clone()));
        }
        for field in form.sections.iter().flat_map(|section| &section.fields) {
            if field.kind == FieldKind::SampleSent {
                continue;
            }
            let Some(text) = answer(&field.name) else { continue };
            if let Some(question) = field.name.strip_prefix("phq_q").and_then(|n| n.parse::<usize>().ok()) {
                match text.parse::<u8>() {
                    Ok(score) if score <= 3 => phq[question - 1] = Some(score),
                    _ => errors.push((field.name.clone(), format!("Choose an answer for \"{}\"", field.label))),
                }
                continue;
            }
            let Some(definition) = rules.catalogue.observable(&field.observable) else { continue };
            match &field.kind {
                FieldKind::Number => {
                    let Some(value) = parse_number(text) else {
                        errors.push((field.name.clone(), format!("{} must be a number, like 7.2", field.label)));
                        continue;
                    };
                    let Some(unit) = definition.canonical_unit.clone() else { continue };
                    match definition.to_canonical(value, &unit) {
                        Ok((canonical, unit, _)) => records.push((
                            field.observable.clone(),
                            observation(
                                &field.observable,
                                preferred_code(&rules, &field.observable),
                                ObservationValue::Quantity(Quantity {
                                    value_text: text.to_owned(),
                                    value: canonical,
                                    unit,
                                }),
                            ),
                        )),
                        Err(_) => {
                            let (low, high) = definition.plausible_range.unwrap_or((0.0, 0.0));
                            errors.push((
                                field.name.clone(),
                                format!("{} must be between {low} and {high}{}", field.label, unit_suffix(&field.unit)),
                            ));
                        }
                    }
                }
                FieldKind::Choice(options) => match options.iter().find(|(value, _, _)| value == text) {
                    Some((value, label, code)) => {
                        let observable = if field.name == "foot_check" && value == "ulcerated" {
                            "foot_ulcer"
                        } else {
                            field.observable.as_str()
                        };
                        let recorded = if field.name == "foot_check" {
                            ObservationValue::Text(label.clone())
                        } else {
                            ObservationValue::None
                        };
                        records.push((observable.to_owned(), observation(observable, code.clone(), recorded)));
                        if field.name == "foot_check" && value == "ulcerated" {
                            records.push((
                                "foot_examination".into(),
                                observation(
                                    "foot_examination",
                                    Code::snomed("401191002"),
                                    ObservationValue::Text(label.clone()),
                                ),
                            ));
                        }
                    }
                    None => errors.push((field.name.clone(), format!("Choose one option for {}", field.label))),
                },
                FieldKind::SampleSent => {}
                FieldKind::Done => {
                    records.push((
                        field.observable.clone(),
                        observation(
                            &field.observable,
                            preferred_code(&rules, &field.observable),
                            ObservationValue::None,
                        ),
                    ));
                }
            }
        }
        // Weight and height make a BMI.
        let weight = records.iter().find_map(|(id, o)| (id == "weight").then(|| quantity(o)).flatten());
        let height = records.iter().find_map(|(id, o)| (id == "height").then(|| quantity(o)).flatten());
        if let (Some(weight), Some(height)) = (weight, height)
            && height > 0.0
        {
            let bmi = (weight / (height / 100.0).powi(2) * 10.0).round() / 10.0;
            if let Some(definition) = rules.catalogue.observable("bmi")
                && let Some(unit) = definition.canonical_unit.clone()
                && definition.to_canonical(bmi, &unit).is_ok()
            {
                records.push((
                    "bmi".into(),
                    observation(
                        "bmi",
                        preferred_code(&rules, "bmi"),
                        ObservationValue::Quantity(Quantity { value_text: format!("{bmi:.1}"), value: bmi, unit }),
                    ),
                ));
            } else {
                errors.push((
                    "height".into(),
                    format!("Weight and height give a BMI of {bmi:.1}, which cannot be right: check both"),
                ));
            }
        }
        // The PHQ: PHQ-2 from questions 1 and 2; the PHQ-9 when PHQ-2 is 3 or more.
        let phq2 = match (phq[0], phq[1]) {
            (Some(a), Some(b)) => Some(a + b),
            (None, None) => None,
            _ => {
                errors.push(("phq_q1".into(), "Answer both mood questions".into()));
                None
            }
        };
        let mut risk_of_harm = false;
        if let Some(total) = phq2 {
            records.push(("phq2".into(), observation("phq2", Code::snomed("836541000000100"), quantity_score(total))));
            let rest_answered = phq[2..].iter().filter(|answer| answer.is_some()).count();
            if total >= 3 && rest_answered < 7 {
                errors.push((
                    "phq_q3".into(),
                    format!("The mood questions score {total} (3 or more): ask the remaining PHQ-9 questions, 3 to 9"),
                ));
            } else if rest_answered == 7 {
                let total9: u8 = phq.iter().flatten().sum();
                records.push(("phq9".into(), observation("phq9", Code::snomed("720433000"), quantity_score(total9))));
                let item9 = phq[8].unwrap_or(0);
                risk_of_harm = item9 > 0;
                records.push((
                    "phq9_item9".into(),
                    observation(
                        "phq9_item9",
                        Code::loinc("44260-8"),
                        ObservationValue::Coded(CodedConcept {
                            code: Code::loinc(PHQ_ANSWER_CODES[usize::from(item9)]),
                            term: PHQ_OPTIONS[usize::from(item9)].1.into(),
                        }),
                    ),
                ));
            } else if rest_answered > 0 {
                errors.push(("phq_q3".into(), "Answer all of the PHQ-9 questions 3 to 9, or none".into()));
            }
        } else if phq[2..].iter().any(Option::is_some) {
            errors.push(("phq_q1".into(), "Answer the first two mood questions before the others".into()));
        }
        if records.is_empty() && samples.is_empty() && errors.is_empty() {
            errors.push((
                form.sections.iter().flat_map(|s| &s.fields).next().map_or_else(String::new, |f| f.name.clone()),
                "Record at least one measurement, answer or sample sent".into(),
            ));
        }
        if !errors.is_empty() {
            return Ok(Err(VisitErrors(errors)));
        }

        let mut rows: Vec<(PatientRef, String, ClinicalRecord)> = records
            .iter()
            .map(|(observable, observation)| {
                (
                    PatientRef::Id(patient_id.to_owned()),
                    format!("{visit_key}/{observable}"),
                    ClinicalRecord::Observation(observation.clone()),
                )
            })
            .collect();
        rows.extend(samples.iter().map(|(item, _)| {
            (
                PatientRef::Id(patient_id.to_owned()),
                format!("{visit_key}/sample/{item}"),
                ClinicalRecord::LaboratorySample(concord_store::LaboratorySample {
                    visit_key: visit_key.clone(),
                    item: item.clone(),
                    sent_at: now,
                }),
            )
        }));
        // The visit itself, as a Year of Care contact: never counted as an unscheduled GP contact
        // (docs/unscheduled-contacts.md), and the point later laboratory results are counted from.
        rows.push((
            PatientRef::Id(patient_id.to_owned()),
            format!("{visit_key}/encounter"),
            ClinicalRecord::Encounter(concord_domain::record::Encounter {
                start: now,
                setting: concord_domain::record::EncounterSetting::Surgery,
                clinician: if staff.role == concord_domain::access::StaffRole::Nurse {
                    concord_domain::record::Clinician::Nurse
                } else {
                    concord_domain::record::Clinician::HealthcareAssistant
                },
                status: concord_domain::record::EncounterStatus::Attended,
                kind: None,
                planned: Some(true),
                booked_at: None,
                year_of_care_contact: true,
            }),
        ));
        let outcome = self.store.import_writer(staff.actor()).write(&[], &[], &rows).await?;
        if !outcome.refused_records.is_empty() {
            return Err(AppError::Refused("The person is no longer in the record; nothing was saved".into()));
        }
        // The cycle moves on where it allows; results are kept whatever the stage.
        let stage = match self
            .record_cycle_event(Caller::Staff(staff), patient_id, CycleEvent::RecordTestsDone, now.date(), None, now)
            .await
        {
            Ok(row) => Some(row.stage),
            Err(AppError::Refused(_)) => {
                self.store.cycle(patient_id, i64::from(now.year())).await?.map(|row| row.stage)
            }
            Err(error) => return Err(error),
        };
        self.refresh_statuses(now.date(), now).await?;
        let urgent_flags = self
            .store
            .red_flags(Some(patient_id), true)
            .await?
            .into_iter()
            .filter(|flag| flag.severity == "urgent")
            .map(|flag| format!("{}: {}", self.red_flag_rule_name(&flag.rule_id), flag.value_text))
            .collect();
        Ok(Ok(VisitOutcome {
            results_saved: records.len(),
            risk_of_harm,
            urgent_flags,
            stage: stage.and_then(|text| Stage::parse(&text)).map(|stage| stage.label().to_owned()),
            samples_sent: samples.into_iter().map(|(_, name)| name).collect(),
        }))
    }
}

fn quantity(observation: &Observation) -> Option<f64> {
    match &observation.value {
        ObservationValue::Quantity(quantity) => Some(quantity.value),
        _ => None,
    }
}

fn quantity_score(total: u8) -> ObservationValue {
    ObservationValue::Quantity(Quantity {
        value_text: total.to_string(),
        value: f64::from(total),
        unit: Ucum::new("{score}"),
    })
}

fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() { String::new() } else { format!(" {unit}") }
}

/// The code Concord records an observable with: its SNOMED CT codes first, then LOINC, lowest
/// code first, so the choice is stable.
fn preferred_code(rules: &StatusRules<'_>, observable: &str) -> Code {
    let Some(definition) = rules.catalogue.observable(observable) else { return Code::snomed("") };
    let mut codes: Vec<&Code> = definition.codes.codes().map(|(code, _)| code).collect();
    codes.sort_by_key(|code| (code.system != concord_domain::CodeSystem::Snomed, code.code.len(), code.code.clone()));
    codes.first().map_or_else(|| Code::snomed(""), |code| (*code).clone())
}
