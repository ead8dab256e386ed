//! The rest of a person's record as FHIR R4 resources for the sharing API: conditions and results
//! as imported or recorded (UK Core Condition and Observation elements), the person's own answers
//! (QuestionnaireResponse), the documents made for them (DocumentReference, content served as
//! Binary), their consent to share (Consent), who touched their record (AuditEvent) and who wrote
//! each plan version (Provenance). Pure mappings from stored rows.
//!
//! Invariants: ids are Concord's own opaque ids, never NHS numbers; results recorded in error or
//! cancelled are never served; an unreadable result is served with `dataAbsentReason`, never a
//! made-up value.

use concord_domain::plan::Sharing;
use concord_domain::preparation::{AGENDA_PROMPTS, NEEDS_ANSWERS, NEEDS_AREAS};
use concord_domain::record::ConditionStatus;
use concord_fhir::uri;
use concord_fhir::{
    Attachment, AuditEvent, AuditEventAgent, AuditEventEntity, AuditEventSource, CodeableConcept, Coding, Condition,
    Consent, ConsentActor, ConsentProvision, Decimal, DocumentReference, DocumentReferenceContent,
    DocumentReferenceContext, FhirDateTime, FhirInstant, Identifier, Meta, Observation, Provenance, ProvenanceAgent,
    Quantity, QuestionnaireResponse, QuestionnaireResponseAnswer, QuestionnaireResponseItem, Reference,
};
use concord_store::{AgendaAnswerRow, AuditEntry, ConditionRow, ObservationRow, PlanVersionRow, PreparationLetterRow};

/// FHIR terminology code systems used below.
pub mod system {
    pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    pub const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
    pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
    pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
    pub const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
    pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
    pub const LOINC: &str = "http://loinc.org";
    pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    pub const V3_PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
    pub const V3_ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
    pub const V3_DATA_OPERATION: &str = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
    pub const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
    pub const PROVENANCE_PARTICIPANT: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
    pub const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Coding {
    Coding {
        system: Some(system.to_owned()),
        code: Some(code.to_owned()),
        display: display.map(str::to_owned),
        ..Default::default()
    }
}

fn concept(system: &str, code: &str, display: Option<&str>) -> CodeableConcept {
    CodeableConcept { coding: vec![coding(system, code, display)], text: None }
}

fn text(words: &str) -> CodeableConcept {
    CodeableConcept { coding: vec![], text: Some(words.to_owned()) }
}

fn reference(target: &str) -> Reference {
    Reference { reference: Some(target.to_owned()), ..Default::default() }
}

fn named(display: &str) -> Reference {
    Reference { display: Some(display.to_owned()), ..Default::default() }
}

fn ods(code: &str) -> Reference {
    Reference {
        r#type: Some("Organization".into()),
        identifier: Some(Identifier {
            system: Some(uri::ODS_ORGANISATION_CODE.into()),
            value: Some(code.to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn instant(text: &str) -> Option<FhirInstant> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok().map(FhirInstant)
}

/// A condition on the person's record (UK Core Condition: clinicalStatus, verificationStatus,
/// category, code, subject).
pub fn fhir_condition(row: &ConditionRow, subject: &str) -> Condition {
    let condition = &row.condition;
    let clinical = match condition.status {
        ConditionStatus::Active => "active",
        ConditionStatus::Resolved | ConditionStatus::EnteredInError => "resolved",
    };
    let date = |date: time::Date| FhirDateTime::parse(&date.to_string()).ok();
    Condition {
        id: Some(row.id.clone()),
        clinical_status: Some(concept(system::CONDITION_CLINICAL, clinical, None)),
        verification_status: Some(concept(system::CONDITION_VERIFICATION, "confirmed", None)),
        category: vec![concept(system::CONDITION_CATEGORY, "problem-list-item", Some("Problem List Item"))],
        code: Some(CodeableConcept {
            coding: vec![coding(
                condition.concept.code.system.uri(),
                &condition.concept.code.code,
                Some(&condition.concept.term),
            )],
            text: None,
        }),
        subject: Some(reference(subject)),
        onset_date_time: condition.onset.and_then(date),
        abatement_date_time: condition.resolved.and_then(date),
        recorded_date: condition.recorded.and_then(date),
        ..Default::default()
    }
}

/// The FHIR observation category of one of Concord's observables.
pub fn observation_category(observable: &str) -> Option<&'static str> {
    Some(match observable {
        "systolic_bp" | "diastolic_bp" | "bmi" | "weight" | "height" | "heart_rate" | "spo2" => "vital-signs",
        "hba1c"
        | "total_cholesterol"
        | "hdl_cholesterol"
        | "ldl_cholesterol"
        | "non_hdl_cholesterol"
        | "triglycerides"
        | "egfr"
        | "creatinine"
        | "urine_acr"
        | "potassium"
        | "sodium"
        | "glucose" => "laboratory",
        "mrc_dyspnoea" | "cat_score" | "phq2" | "phq9" | "phq9_item9" | "asthma_control" => "survey",
        "smoking_status" => "social-history",
        "fev1"
        | "fev1_fvc_ratio"
        | "fev1_percent_predicted"
        | "foot_risk"
        | "foot_examination"
        | "foot_ulcer"
        | "inhaler_technique" => "exam",
        "retinal_screening" | "pulmonary_rehab" => "procedure",
        _ => return None,
    })
}

/// A result or measurement (UK Core Observation: status, category, code, subject, effective,
/// value or dataAbsentReason).
pub fn fhir_observation(row: &ObservationRow, subject: &str) -> Observation {
    let mut observation = Observation {
        id: Some(row.id.clone()),
        status: Some(row.status.clone()),
        category: row
            .observable
            .as_deref()
            .and_then(observation_category)
            .map(|category| concept(system::OBSERVATION_CATEGORY, category, None))
            .into_iter()
            .collect(),
        code: Some(CodeableConcept {
            coding: vec![coding(row.code.system.uri(), &row.code.code, Some(&row.term))],
            text: None,
        }),
        subject: Some(reference(subject)),
        effective_date_time: FhirDateTime::parse(&row.effective).ok(),
        ..Default::default()
    };
    match row.value_kind.as_str() {
        "quantity" => {
            let value = row
                .value_text
                .as_deref()
                .and_then(Decimal::parse)
                .or_else(|| row.value_number.and_then(|number| Decimal::parse(&number.to_string())));
            observation.value_quantity = value.map(|value| Quantity {
                value: Some(value),
                unit: row.unit.clone(),
                system: row.unit.as_ref().map(|_| uri::UCUM.to_owned()),
                code: row.unit.clone(),
                ..Default::default()
            });
            if observation.value_quantity.is_none() {
                observation.data_absent_reason = Some(concept(system::DATA_ABSENT_REASON, "error", Some("Error")));
            }
        }
        "coded" => {
            observation.value_codeable_concept = row.value_code.as_ref().map(|code| CodeableConcept {
                coding: vec![coding(code.system.uri(), &code.code, None)],
                text: row.value_text.clone(),
            });
        }
        "text" => observation.value_string = row.value_text.clone(),
        "unreadable" => {
            observation.data_absent_reason = Some(concept(system::DATA_ABSENT_REASON, "error", Some("Error")));
        }
        _ => {}
    }
    observation
}

/// The person's agenda and needs check for one cycle, in the questions' order.
pub fn fhir_agenda(cycle_id: &str, answers: &[AgendaAnswerRow], subject: &str) -> QuestionnaireResponse {
    let mut items = Vec::new();
    let mut push = |link_id: String, question: &str, answer: String| {
        items.push(QuestionnaireResponseItem {
            link_id,
            text: Some(question.to_owned()),
            answer: vec![QuestionnaireResponseAnswer { value_string: Some(answer), ..Default::default() }],
        });
    };
    let find = |key: &str| answers.iter().find(|row| row.question == key && !row.answer.is_empty());
    for (id, prompt) in AGENDA_PROMPTS {
        if let Some(row) = find(id) {
            push(id.to_owned(), prompt, row.answer.clone());
        }
    }
    for (area, name, _) in NEEDS_AREAS {
        let key = format!("needs_{area}");
        if let Some(row) = find(&key) {
            let answer =
                NEEDS_ANSWERS.iter().find(|(value, _)| *value == row.answer).map_or(row.answer.as_str(), |(_, a)| a);
            push(key, name, answer.to_owned());
        }
    }
    if let Some(row) = find("needs_note") {
        push("needs_note".into(), "Anything else about these", row.answer.clone());
    }
    let latest = answers.iter().max_by(|a, b| a.written_at.cmp(&b.written_at));
    QuestionnaireResponse {
        id: Some(cycle_id.to_owned()),
        meta: None,
        status: "completed".into(),
        subject: Some(reference(subject)),
        authored: latest.and_then(|row| FhirDateTime::parse(&row.written_at).ok()),
        author: latest.map(|row| named(&row.written_by)),
        item: items,
    }
}

/// A made document about the person: the agreed plan's PDF or a preparation letter.
pub struct MadeDocument<'a> {
    /// `plan-{version id}` or `letter-{letter id}`: also the id of its Binary.
    pub id: String,
    pub title: String,
    /// SNOMED CT concept of the document type, where one is confirmed.
    pub snomed_type: Option<(&'a str, &'a str)>,
    pub made_at: &'a str,
    pub made_by: &'a str,
    /// What the document is of (e.g. the CarePlan version), if served.
    pub related: Option<String>,
    /// Whether a newer document of the same kind replaces it.
    pub superseded: bool,
    pub size: Option<u64>,
}

impl<'a> MadeDocument<'a> {
    pub fn plan(row: &'a PlanVersionRow, superseded: bool) -> Self {
        Self {
            id: format!("plan-{}", row.version_id),
            title: format!("Care and support plan, version {}", row.version),
            // 734163000 |Care plan (record artifact)|: clinical.md §7, the Interweave care plan category.
            snomed_type: Some(("734163000", "Care plan")),
            made_at: &row.recorded_at,
            made_by: &row.recorded_by,
            related: Some(format!("CarePlan/{}/_history/{}", row.plan_id, row.version)),
            superseded,
            size: None,
        }
    }

    pub fn letter(row: &'a PreparationLetterRow, superseded: bool) -> Self {
        Self {
            id: format!("letter-{}", row.id),
            title: "Your results before your care and support planning appointment".into(),
            snomed_type: None,
            made_at: &row.made_at,
            made_by: &row.made_by,
            related: None,
            superseded,
            size: None,
        }
    }
}

/// A DocumentReference for a made document; its content is the PDF at `{base}/Binary/{id}`.
pub fn fhir_document(document: &MadeDocument<'_>, subject: &str, base: &str) -> DocumentReference {
    let kind = match document.snomed_type {
        Some((code, display)) => concept(uri::SNOMED_CT, code, Some(display)),
        None => text(&document.title),
    };
    DocumentReference {
        id: Some(document.id.clone()),
        meta: None,
        identifier: vec![],
        status: if document.superseded { "superseded" } else { "current" }.into(),
        doc_status: Some("final".into()),
        r#type: Some(kind),
        category: vec![],
        subject: Some(reference(subject)),
        date: instant(document.made_at),
        author: vec![named(document.made_by)],
        custodian: None,
        description: Some(document.title.clone()),
        content: vec![DocumentReferenceContent {
            attachment: Attachment {
                content_type: Some("application/pdf".into()),
                language: Some("en-GB".into()),
                url: Some(format!("{base}/Binary/{}", document.id)),
                size: document.size,
                title: Some(document.title.clone()),
                creation: FhirDateTime::parse(document.made_at).ok(),
                ..Default::default()
            },
        }],
        context: document
            .related
            .as_ref()
            .map(|related| DocumentReferenceContext { related: vec![reference(related)] }),
    }
}

/// The person's consent to share their plan, as recorded in their current plan: a permit naming
/// each organisation they agreed to (opt-in), or a deny when they refused (opt-out). `None` when
/// they have said neither.
pub fn fhir_consent(
    plan_id: &str,
    sharing: &Sharing,
    subject: &str,
    recorded_at: &str,
    practice: Option<&str>,
) -> Option<Consent> {
    if !sharing.refused && sharing.organisations.is_empty() {
        return None;
    }
    let recipient = concept(system::V3_PARTICIPATION_TYPE, "IRCP", Some("information recipient"));
    let (rule, kind, actors) = if sharing.refused {
        ("OPTOUT", "deny", vec![])
    } else {
        (
            "OPTIN",
            "permit",
            sharing
                .organisations
                .iter()
                .map(|code| ConsentActor { role: recipient.clone(), reference: ods(code) })
                .collect(),
        )
    };
    Some(Consent {
        id: Some(format!("{plan_id}-consent")),
        meta: None,
        status: "active".into(),
        scope: concept(system::CONSENT_SCOPE, "patient-privacy", Some("Privacy Consent")),
        category: vec![concept(system::LOINC, "59284-0", Some("Patient Consent"))],
        patient: Some(reference(subject)),
        date_time: FhirDateTime::parse(recorded_at).ok(),
        performer: vec![reference(subject)],
        organization: practice.map(ods).into_iter().collect(),
        policy_rule: Some(concept(system::V3_ACT_CODE, rule, None)),
        provision: Some(ConsentProvision { r#type: Some(kind.into()), actor: actors, ..Default::default() }),
    })
}

/// One access to or change of the person's record.
pub fn fhir_audit_event(entry: &AuditEntry, subject: &str, site: &str) -> Option<AuditEvent> {
    let (action, subtype) = match entry.action.as_str() {
        "create" => ("C", "create"),
        "update" => ("U", "update"),
        "read" => ("R", "read"),
        "search" => ("E", "search-type"),
        _ => ("E", "operation"),
    };
    let purpose = match entry.purpose.as_deref() {
        Some(reason) if reason.starts_with("break-glass") => {
            concept(system::V3_ACT_REASON, "ETREAT", Some("Emergency Treatment"))
        }
        _ if entry.actor_role == "patient" || entry.actor_role == "proxy" => {
            concept(system::V3_ACT_REASON, "PATRQT", Some("patient requested"))
        }
        _ => concept(system::V3_ACT_REASON, "TREAT", Some("treatment")),
    };
    let mut agent = vec![AuditEventAgent {
        r#type: Some(text(&entry.actor_role)),
        who: Some(named(&entry.actor)),
        requestor: true,
    }];
    if let Some(organisation) = &entry.organisation {
        agent.push(AuditEventAgent {
            r#type: Some(text("organisation")),
            who: Some(ods(organisation)),
            requestor: false,
        });
    }
    Some(AuditEvent {
        id: Some(entry.id.clone()),
        meta: None,
        r#type: coding(system::AUDIT_EVENT_TYPE, "rest", Some("RESTful Operation")),
        subtype: vec![coding("http://hl7.org/fhir/restful-interaction", subtype, None)],
        action: Some(action.into()),
        recorded: instant(&entry.at)?,
        outcome: Some("0".into()),
        outcome_desc: entry.purpose.clone(),
        purpose_of_event: vec![purpose],
        agent,
        source: AuditEventSource { site: Some(site.to_owned()), observer: named("Concord") },
        entity: vec![AuditEventEntity {
            what: Some(reference(subject)),
            name: Some(entry.entity.clone()),
            description: Some(entry.detail.clone()),
        }],
    })
}

/// Who recorded one version of the person's plan, and with whom it was agreed.
pub fn fhir_provenance(row: &PlanVersionRow, agreed_with: Option<&str>) -> Option<Provenance> {
    let mut agent = vec![ProvenanceAgent {
        r#type: Some(concept(system::PROVENANCE_PARTICIPANT, "author", Some("Author"))),
        role: vec![],
        who: named(&row.recorded_by),
        on_behalf_of: None,
    }];
    if let Some(person) = agreed_with.filter(|name| !name.trim().is_empty()) {
        agent.push(ProvenanceAgent {
            r#type: Some(concept(system::PROVENANCE_PARTICIPANT, "attester", Some("Attester"))),
            role: vec![],
            who: named(person.trim()),
            on_behalf_of: None,
        });
    }
    Some(Provenance {
        id: Some(format!("{}-provenance", row.version_id)),
        meta: Some(Meta { version_id: Some("1".into()), ..Default::default() }),
        target: vec![reference(&format!("CarePlan/{}/_history/{}", row.plan_id, row.version))],
        recorded: instant(&row.recorded_at)?,
        activity: Some(concept(
            system::V3_DATA_OPERATION,
            if row.version == 1 { "CREATE" } else { "UPDATE" },
            Some(if row.version == 1 { "create" } else { "revise" }),
        )),
        agent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_an_opt_in_naming_each_organisation_or_an_opt_out() {
        let shared = Sharing { organisations: vec!["NZZ01".into(), "RZZ01".into()], refused: false };
        let consent = fhir_consent("p1", &shared, "Patient/x", "2026-11-01T10:00:00Z", Some("A81001")).unwrap();
        let provision = consent.provision.unwrap();
        assert_eq!(provision.r#type.as_deref(), Some("permit"));
        assert_eq!(provision.actor.len(), 2);
        assert_eq!(provision.actor[1].reference.identifier.as_ref().unwrap().value.as_deref(), Some("RZZ01"));
        let refused = Sharing { organisations: vec![], refused: true };
        let consent = fhir_consent("p1", &refused, "Patient/x", "2026-11-01T10:00:00Z", None).unwrap();
        assert_eq!(consent.policy_rule.unwrap().coding[0].code.as_deref(), Some("OPTOUT"));
        assert_eq!(consent.provision.unwrap().r#type.as_deref(), Some("deny"));
        assert!(fhir_consent("p1", &Sharing::default(), "Patient/x", "2026-11-01T10:00:00Z", None).is_none());
    }

    #[test]
    fn every_observable_with_a_result_meaning_has_a_category() {
        for observable in ["hba1c", "systolic_bp", "cat_score", "smoking_status", "fev1", "retinal_screening"] {
            assert!(observation_category(observable).is_some(), "{observable}");
        }
        assert_eq!(observation_category("made_up"), None);
    }
}
