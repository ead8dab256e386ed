//! The person's care and support plan as FHIR R4 resources, as `docs/plan-fhir-mapping.md`
//! defines once: the Patient (UK Core NHS number identifier), the plan version as a CarePlan
//! (UKCore-CarePlan must-support elements filled), each goal as a Goal, each contingency plan as a
//! CarePlan that is part of it. The sharing API (issue 5) serves these; today `concord export
//! plan` writes them as a collection Bundle.
//!
//! Invariants: every resource carries its required elements (CarePlan status, intent, subject;
//! Goal lifecycleStatus, description, subject; activity detail status); ids are Concord's own
//! opaque ids, never NHS numbers.

use concord_domain::plan::{CarePlan as Plan, Goal as PlanGoal, PlanName};
use concord_fhir::uri;
use concord_fhir::{
    Annotation, Bundle, BundleEntry, CarePlan, CarePlanActivity, CarePlanActivityDetail, CodeableConcept, Coding,
    Extension, FhirDate, FhirDateTime, Goal, HumanName, Identifier, Meta, Patient, Period, Reference, Resource,
};
use time::OffsetDateTime;

use crate::cycle::Caller;
use crate::plan::PlanView;
use crate::{AppError, Concord};

fn snomed(code: &str, display: &str) -> CodeableConcept {
    CodeableConcept {
        coding: vec![Coding {
            system: Some(uri::SNOMED_CT.into()),
            code: Some(code.into()),
            display: Some(display.into()),
            ..Default::default()
        }],
        text: None,
    }
}

fn display(text: &str) -> Reference {
    Reference { display: Some(text.to_owned()), ..Default::default() }
}

fn note(label: &str, text: &str) -> Option<Annotation> {
    (!text.trim().is_empty()).then(|| Annotation { text: format!("{label}: {}", text.trim()), ..Default::default() })
}

fn integer(url: &str, value: u8) -> Extension {
    Extension { value_integer: Some(i64::from(value)), ..Extension::new(url) }
}

/// The FHIR CarePlan status of a Concord plan version.
pub fn care_plan_status(status: &str, newest: bool) -> &'static str {
    match (status, newest) {
        (_, false) => "completed",
        ("agreed", true) => "active",
        ("declined", true) => "revoked",
        _ => "draft",
    }
}

/// Goal priority from the person's importance score (PRSB 1–10).
fn priority(importance: u8) -> &'static str {
    match importance {
        8..=10 => "high-priority",
        4..=7 => "medium-priority",
        _ => "low-priority",
    }
}

/// The resources of one plan version: the main CarePlan, its Goals, its contingency CarePlans.
pub fn plan_resources(view: &PlanView, patient_reference: &str, newest: bool) -> Vec<Resource> {
    let plan: &Plan = &view.plan;
    let plan_id = view
        .versions
        .iter()
        .find(|row| row.version == view.version)
        .map_or_else(|| view.patient_id.clone(), |row| row.plan_id.clone());
    let subject = Reference { reference: Some(patient_reference.to_owned()), ..Default::default() };
    let status = care_plan_status(&view.status, newest);
    let meta = Some(Meta { version_id: Some(view.version.to_string()), ..Default::default() });
    let created = FhirDateTime::parse(&view.recorded_at).ok();
    let goal_id = |index: usize| format!("{plan_id}-goal-{}", index + 1);
    let goals: Vec<Goal> = plan
        .goals
        .iter()
        .enumerate()
        .map(|(index, goal): (usize, &PlanGoal)| Goal {
            id: Some(goal_id(index)),
            meta: meta.clone(),
            extension: vec![integer(uri::CONCORD_GOAL_IMPORTANCE, goal.importance)],
            lifecycle_status: if view.status == "agreed" { "active" } else { "proposed" }.into(),
            priority: Some(CodeableConcept {
                coding: vec![Coding {
                    system: Some(uri::GOAL_PRIORITY.into()),
                    code: Some(priority(goal.importance).into()),
                    ..Default::default()
                }],
                text: None,
            }),
            description: CodeableConcept { coding: vec![], text: Some(goal.words.trim().to_owned()) },
            subject: subject.clone(),
            expressed_by: Some(subject.clone()),
            ..Default::default()
        })
        .collect();
    let goal_reference =
        |index: usize| Reference { reference: Some(format!("Goal/{}", goal_id(index))), ..Default::default() };
    let mut activity = Vec::new();
    for (index, goal) in plan.goals.iter().enumerate() {
        for action in &goal.actions {
            let when: Vec<&str> =
                [action.when.trim(), action.how_often.trim()].into_iter().filter(|text| !text.is_empty()).collect();
            let mut extension = vec![integer(uri::CONCORD_ACTION_CONFIDENCE, action.confidence)];
            if !action.barriers.trim().is_empty() {
                extension.push(Extension {
                    value_string: Some(action.barriers.trim().to_owned()),
                    ..Extension::new(uri::CONCORD_ACTION_BARRIERS)
                });
            }
            activity.push(CarePlanActivity {
                detail: Some(CarePlanActivityDetail {
                    extension,
                    goal: vec![goal_reference(index)],
                    status: "not-started".into(),
                    scheduled_string: (!when.is_empty()).then(|| when.join(", ")),
                    performer: [display("The person")]
                        .into_iter()
                        .chain((!action.who_supports.trim().is_empty()).then(|| display(action.who_supports.trim())))
                        .collect(),
                    description: Some(action.what.trim().to_owned()),
                    ..Default::default()
                }),
            });
        }
    }
    let simple = |kind: &str, status: &str, description: &str| CarePlanActivity {
        detail: Some(CarePlanActivityDetail {
            kind: Some(kind.into()),
            status: status.into(),
            description: Some(description.to_owned()),
            ..Default::default()
        }),
    };
    activity.extend(plan.treatments.iter().map(|treatment| simple("MedicationRequest", "not-started", treatment)));
    activity
        .extend(plan.information.iter().map(|information| simple("CommunicationRequest", "completed", information)));
    activity.extend(plan.services.iter().map(|service| simple("ServiceRequest", "not-started", &service.name)));
    if let Some(review) = plan.review_date {
        activity.push(CarePlanActivity {
            detail: Some(CarePlanActivityDetail {
                code: Some(snomed("425268008", "Review of care plan")),
                status: "scheduled".into(),
                scheduled_period: Some(Period { start: FhirDateTime::parse(&review.to_string()).ok(), end: None }),
                performer: (!plan.review_by.trim().is_empty())
                    .then(|| display(plan.review_by.trim()))
                    .into_iter()
                    .collect(),
                description: Some("Review of the care and support plan".into()),
                ..Default::default()
            }),
        });
    }
    let about = &plan.about_me;
    let notes: Vec<Annotation> = [
        note("What is most important to me", &about.what_matters),
        note("People who are important to me", &about.important_people),
        note("How I communicate and how to communicate with me", &about.communication),
        note("Please do and please don't", &about.please_do_and_dont),
        note("How and when to support me", &about.how_to_support_me),
        note("Also worth knowing about me", &about.also_worth_knowing),
        note("Needs, concerns or problems", &plan.needs.join("; ")),
        note("Medication plan", &plan.medication_plan),
        note("Lead coordinator", &plan.lead_coordinator),
        note("Where the person is on their journey", plan.journey.label()),
        note("Agreed with", &plan.agreed_by),
        (plan.name == PlanName::Declined)
            .then(|| Annotation { text: "The person declined a written plan".into(), ..Default::default() }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let main = CarePlan {
        id: Some(plan_id.clone()),
        meta: meta.clone(),
        status: status.into(),
        intent: "plan".into(),
        category: vec![snomed("734163000", "Care plan")],
        title: Some(format!("My {}", plan.name.words())),
        subject: subject.clone(),
        period: plan.review_date.map(|date| Period { start: None, end: FhirDateTime::parse(&date.to_string()).ok() }),
        created,
        author: Some(display(&view.recorded_by)),
        contributor: vec![subject.clone()],
        goal: (0..goals.len()).map(goal_reference).collect(),
        activity,
        note: notes,
        ..Default::default()
    };
    let mut resources = vec![Resource::CarePlan(main)];
    resources.extend(goals.into_iter().map(Resource::Goal));
    for (index, contingency) in plan.contingencies.iter().enumerate() {
        resources.push(Resource::CarePlan(CarePlan {
            id: Some(format!("{plan_id}-contingency-{}", index + 1)),
            meta: meta.clone(),
            status: status.into(),
            intent: "plan".into(),
            category: vec![snomed("734163000", "Care plan")],
            title: Some(if contingency.name.trim().is_empty() {
                "If things get worse".into()
            } else {
                contingency.name.trim().to_owned()
            }),
            description: Some(format!("What can set it off: {}", contingency.triggers.trim())),
            subject: subject.clone(),
            part_of: vec![Reference { reference: Some(format!("CarePlan/{plan_id}")), ..Default::default() }],
            created,
            activity: vec![CarePlanActivity {
                detail: Some(CarePlanActivityDetail {
                    status: "not-started".into(),
                    performer: (!contingency.who_to_contact.trim().is_empty())
                        .then(|| display(contingency.who_to_contact.trim()))
                        .into_iter()
                        .collect(),
                    description: Some(contingency.what_to_do.trim().to_owned()),
                    ..Default::default()
                }),
            }],
            note: note("Early warning signs", &contingency.early_warning_signs).into_iter().collect(),
            ..Default::default()
        }));
    }
    resources
}

/// Sets each Goal's `achievementStatus` from the person's newest progress on it (matched by the
/// goal's words), as `http://terminology.hl7.org/CodeSystem/goal-achievement`.
pub fn with_goal_progress(resources: &mut [Resource], progress: &[concord_store::GoalProgressRow]) {
    for resource in resources {
        let Resource::Goal(goal) = resource else { continue };
        let words = goal.description.text.as_deref().unwrap_or_default();
        let Some(row) = progress.iter().find(|row| row.goal.trim() == words) else { continue };
        let Some((_, label, code)) =
            concord_domain::online_access::GOAL_PROGRESS.iter().find(|(status, ..)| *status == row.status)
        else {
            continue;
        };
        goal.achievement_status = Some(CodeableConcept {
            coding: vec![Coding {
                system: Some("http://terminology.hl7.org/CodeSystem/goal-achievement".into()),
                code: Some((*code).into()),
                ..Default::default()
            }],
            text: Some((*label).into()),
        });
    }
}

/// The person as a UK Core Patient: the NHS number identifier, name, gender, birth date and
/// registered practice (by ODS code).
pub fn fhir_patient(patient_id: &str, patient: &concord_domain::Patient) -> Patient {
    Patient {
        id: Some(patient_id.to_owned()),
        identifier: patient
            .nhs_number
            .iter()
            .map(|number| Identifier {
                system: Some(uri::NHS_NUMBER.into()),
                value: Some(number.as_str().to_owned()),
                ..Default::default()
            })
            .collect(),
        name: vec![HumanName {
            r#use: Some("official".into()),
            family: Some(patient.name.family.clone()),
            given: patient.name.given.split_whitespace().map(str::to_owned).collect(),
            ..Default::default()
        }],
        gender: Some(
            match patient.sex {
                concord_domain::patient::Sex::Male => "male",
                concord_domain::patient::Sex::Female => "female",
                concord_domain::patient::Sex::Other => "other",
                concord_domain::patient::Sex::Unknown => "unknown",
            }
            .into(),
        ),
        birth_date: FhirDate::parse(&patient.birth_date.to_string()).ok(),
        general_practitioner: patient
            .registration
            .iter()
            .map(|registration| Reference {
                identifier: Some(Identifier {
                    system: Some(uri::ODS_ORGANISATION_CODE.into()),
                    value: Some(registration.practice.as_str().to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

impl Concord {
    /// The person and their current plan as a FHIR collection Bundle. Audited as a read.
    pub async fn plan_bundle(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<Bundle<Resource>, AppError> {
        let view = self.plan_view(caller, patient_id, None).await?;
        let Some(person) = self.store.patient(patient_id).await? else {
            return Err(AppError::NotFound("No such person".into()));
        };
        let fhir_patient = fhir_patient(patient_id, &person.patient);
        let reference = format!("Patient/{patient_id}");
        let mut entries = vec![Resource::Patient(fhir_patient)];
        entries.extend(plan_resources(&view, &reference, true));
        Ok(Bundle {
            id: Some(concord_store::new_id()),
            r#type: Some("collection".into()),
            timestamp: Some(concord_fhir::FhirInstant(now)),
            entry: entries
                .into_iter()
                .map(|resource| {
                    // Where the FHIR API serves each resource (issue 5).
                    let base = format!("{}/fhir", self.public_url);
                    let full_url = match &resource {
                        Resource::Patient(item) => item.id.clone().map(|id| format!("{base}/Patient/{id}")),
                        Resource::CarePlan(item) => item.id.clone().map(|id| format!("{base}/CarePlan/{id}")),
                        Resource::Goal(item) => item.id.clone().map(|id| format!("{base}/Goal/{id}")),
                        _ => None,
                    };
                    BundleEntry { full_url, resource: Some(resource), search: None, request: None }
                })
                .collect(),
            meta: None,
            total: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_priorities_follow_the_mapping() {
        assert_eq!(care_plan_status("agreed", true), "active");
        assert_eq!(care_plan_status("draft", true), "draft");
        assert_eq!(care_plan_status("declined", true), "revoked");
        assert_eq!(care_plan_status("agreed", false), "completed", "an older version is completed");
        assert_eq!(
            [priority(10), priority(8), priority(7), priority(4), priority(3)],
            ["high-priority", "high-priority", "medium-priority", "medium-priority", "low-priority"]
        );
    }
}
