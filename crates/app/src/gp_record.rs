//! Back to the GP record: everything Concord recorded that the GP record must hold, for one
//! person, as a FHIR transaction Bundle the GP system can apply; and the GP system's confirmation
//! (its transaction-response), which marks those items filed. Until filed, an item is carried by
//! every export, so nothing lives only in Concord.
//!
//! What is sent: results and scores recorded at the information-gathering appointment
//! (Observations, with their SNOMED CT codes); the cycle's milestones and personalised care
//! adjustments (coded where the concept id is confirmed, `data/cycle-codes.csv`, and otherwise as
//! text the practice files by hand); each agreed medication change as a Task for a prescriber; each
//! agreed plan as a DocumentReference carrying its PDF.
//!
//! Invariants: every resource carries `urn:concord:record|{key}` and is a conditional create on
//! it, so applying an export twice files nothing twice, and the importer recognises these records
//! when a GP extract brings them back; the person is named by NHS number (the GP system's key),
//! never by Concord's id; an export of nobody-with-an-NHS-number is refused.

use base64::Engine as _;
use concord_domain::audit::Actor;
use concord_fhir::uri;
use concord_fhir::{
    Attachment, Bundle, BundleEntry, BundleEntryRequest, CodeableConcept, Coding, DocumentReference,
    DocumentReferenceContent, FhirDateTime, FhirInstant, Identifier, Observation, Reference, Resource, Task,
};
use time::OffsetDateTime;

use crate::api::ApiCaller;
use crate::cycle::Caller;
use crate::fhir_record::fhir_observation;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// Cycle events that belong in the GP record.
pub const FILED_EVENTS: [&str; 5] =
    ["record_tests_done", "send_preparation", "agree_plan", "review_falls_due", "personalised_care_adjustment"];

/// One export: its id (the Bundle's id, which the confirmation names) and the Bundle.
#[derive(Debug, Clone)]
pub struct GpRecordExport {
    pub export_id: String,
    pub bundle: Bundle<Resource>,
}

fn record_identifier(key: &str) -> Identifier {
    Identifier { system: Some(uri::CONCORD_RECORD.into()), value: Some(key.to_owned()), ..Default::default() }
}

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

/// The term of a cycle event (and its confirmed code, if any).
fn event_concept(event: &str, note: Option<&str>) -> (Option<String>, String) {
    let known = concord_codelists::cycle_codes::cycle_codes()
        .ok()
        .and_then(|codes| codes.iter().find(|code| code.event == event).cloned());
    match known {
        Some(code) => (code.snomed, code.term),
        None if event == "personalised_care_adjustment" => {
            (None, format!("Personalised care adjustment: {}", note.unwrap_or("reason not recorded")))
        }
        None => (None, event.replace('_', " ")),
    }
}

impl Concord {
    /// The person's unfiled items as a transaction Bundle, recorded as sent (audited).
    pub async fn gp_record_export(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<GpRecordExport, AppError> {
        caller.require(concord_domain::access::Permission::ManageData)?;
        self.build_gp_record(patient_id, &caller.actor(), caller.organisation().as_deref(), now).await
    }

    /// As [`Concord::gp_record_export`], for the practice's own system through the API: only the
    /// practice's clients, only for people registered there.
    pub async fn api_gp_record(
        &self,
        caller: &ApiCaller,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<GpRecordExport, AppError> {
        caller.require("system/Patient.read")?;
        if caller.kind != "practice"
            || self.organisation_access("practice", &caller.organisation, patient_id, None).await?.is_none()
        {
            return Err(AppError::NotFound(format!("Patient/{patient_id} is not known to this client")));
        }
        self.build_gp_record(patient_id, &caller.actor_for_audit(), Some(&caller.organisation), now).await
    }

    async fn build_gp_record(
        &self,
        patient_id: &str,
        actor: &Actor,
        organisation: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<GpRecordExport, AppError> {
        let person =
            self.store.patient(patient_id).await?.ok_or_else(|| AppError::NotFound("No such person".into()))?;
        let Some(number) = person.patient.nhs_number.clone() else {
            return Err(AppError::Invalid(
                "This person has no NHS number, so the GP system cannot match them: file their record by hand".into(),
            ));
        };
        let subject = Reference {
            r#type: Some("Patient".into()),
            identifier: Some(Identifier {
                system: Some(uri::NHS_NUMBER.into()),
                value: Some(number.as_str().to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let filing = self.store.gp_filing(patient_id).await?;
        let unfiled = |key: &str| filing.get(key).is_none_or(|row| row.filed_at.is_none());
        let mut items: Vec<(String, Resource)> = Vec::new();

        for row in self.store.observations(patient_id).await? {
            let key = format!("observation:{}", row.id);
            if row.source != "concord" || !unfiled(&key) {
                continue;
            }
            let mut observation = fhir_observation(&row, "");
            observation.id = None;
            observation.subject = Some(subject.clone());
            observation.identifier = vec![record_identifier(&row.source_key)];
            items.push((key, Resource::Observation(observation)));
        }
        for event in self.store.patient_cycle_events(patient_id).await? {
            let key = format!("cycle-event:{}", event.id);
            if !FILED_EVENTS.contains(&event.event.as_str()) || !unfiled(&key) {
                continue;
            }
            let (code, term) = event_concept(&event.event, event.note.as_deref());
            let concept = match event.snomed_code.clone().or(code) {
                Some(code) => snomed(&code, &term),
                None => CodeableConcept { coding: vec![], text: Some(term) },
            };
            items.push((
                key,
                Resource::Observation(Observation {
                    identifier: vec![record_identifier(&format!("concord/cycle-event/{}", event.id))],
                    status: Some("final".into()),
                    code: Some(concept),
                    subject: Some(subject.clone()),
                    effective_date_time: FhirDateTime::parse(&event.on_date).ok(),
                    value_string: (event.event == "personalised_care_adjustment").then(|| event.note.clone()).flatten(),
                    ..Default::default()
                }),
            ));
        }
        for task in self.store.patient_prescriber_tasks(patient_id).await? {
            let key = format!("prescriber-task:{}", task.id);
            if !unfiled(&key) {
                continue;
            }
            items.push((
                key,
                Resource::Task(Task {
                    identifier: vec![record_identifier(&format!("concord/prescriber-task/{}", task.id))],
                    status: if task.done_at.is_some() { "completed" } else { "requested" }.into(),
                    intent: "order".into(),
                    code: Some(CodeableConcept {
                        coding: vec![],
                        text: Some("Medication change agreed in the care and support plan".into()),
                    }),
                    description: Some(task.description.clone()),
                    r#for: Some(subject.clone()),
                    authored_on: FhirDateTime::parse(&task.created_at).ok(),
                    ..Default::default()
                }),
            ));
        }
        for version in self.store.plan_versions(patient_id).await? {
            let key = format!("plan:{}", version.version_id);
            if version.status != "agreed" || !unfiled(&key) {
                continue;
            }
            let Some(pdf) = self.store.plan_version_pdf(&version.version_id).await? else { continue };
            let size = base64::engine::general_purpose::STANDARD.decode(pdf.as_bytes()).map_or(0, |bytes| bytes.len());
            items.push((
                key,
                Resource::DocumentReference(DocumentReference {
                    identifier: vec![record_identifier(&format!("concord/plan/{}", version.version_id))],
                    status: "current".into(),
                    doc_status: Some("final".into()),
                    // 734163000 |Care plan|: clinical.md §7 (the Interweave care plan category).
                    r#type: Some(snomed("734163000", "Care plan")),
                    subject: Some(subject.clone()),
                    date: time::OffsetDateTime::parse(
                        &version.recorded_at,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                    .map(FhirInstant),
                    description: Some(format!("Personalised care and support plan, version {}", version.version)),
                    content: vec![DocumentReferenceContent {
                        attachment: Attachment {
                            content_type: Some("application/pdf".into()),
                            language: Some("en-GB".into()),
                            data: Some(pdf),
                            size: Some(size as u64),
                            title: Some(format!("Care and support plan, version {}", version.version)),
                            creation: FhirDateTime::parse(&version.recorded_at).ok(),
                            ..Default::default()
                        },
                    }],
                    ..Default::default()
                }),
            ));
        }

        let export_id = concord_store::new_id();
        let positions: Vec<(String, i64)> =
            items.iter().enumerate().map(|(position, (key, _))| (key.clone(), position as i64)).collect();
        self.store.record_gp_export(patient_id, &export_id, &positions, actor, organisation, &timestamp(now)).await?;
        let entry = items
            .into_iter()
            .map(|(_, resource)| {
                let identifier = match &resource {
                    Resource::Observation(item) => item.identifier.first(),
                    Resource::Task(item) => item.identifier.first(),
                    Resource::DocumentReference(item) => item.identifier.first(),
                    _ => None,
                }
                .and_then(|identifier| identifier.value.clone())
                .unwrap_or_default();
                BundleEntry {
                    full_url: Some(format!("urn:uuid:{}", concord_store::new_id())),
                    request: Some(BundleEntryRequest {
                        method: Some("POST".into()),
                        url: Some(resource.resource_type().into()),
                        if_none_exist: Some(format!("identifier={}|{identifier}", uri::CONCORD_RECORD)),
                    }),
                    resource: Some(resource),
                    search: None,
                }
            })
            .collect();
        Ok(GpRecordExport {
            bundle: Bundle {
                id: Some(export_id.clone()),
                meta: None,
                r#type: Some("transaction".into()),
                timestamp: Some(FhirInstant(now)),
                total: None,
                entry,
            },
            export_id,
        })
    }

    /// The GP system's transaction-response to export `export_id`: each entry answered 200 or 201
    /// marks the item at that position filed, with the `location` the GP system gave it. Any
    /// other answer leaves the item to be sent again. Returns how many were newly filed.
    pub async fn gp_record_filed(
        &self,
        actor: &Actor,
        organisation: Option<&str>,
        export_id: &str,
        response: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<usize, AppError> {
        if response["resourceType"] != "Bundle" || response["type"] != "transaction-response" {
            return Err(AppError::Invalid(
                "the confirmation must be the GP system's Bundle of type transaction-response".into(),
            ));
        }
        let entries = response["entry"].as_array().cloned().unwrap_or_default();
        let mut confirmed = Vec::new();
        for (position, entry) in entries.iter().enumerate() {
            let Some(status) = entry["response"]["status"].as_str() else {
                return Err(AppError::Invalid(format!("entry[{position}].response.status is missing")));
            };
            if status.starts_with("200") || status.starts_with("201") {
                let location = entry["response"]["location"].as_str().map(str::to_owned);
                confirmed.push((position as i64, location));
            }
        }
        let (patient, filed) =
            self.store.confirm_gp_filing(export_id, &confirmed, actor, organisation, &timestamp(now)).await?;
        if patient.is_none() {
            return Err(AppError::NotFound(format!("No export has the id {export_id:?}")));
        }
        Ok(filed)
    }
}
