//! FHIR MedicationStatement and MedicationRequest to the medication list, "as at" a date.
//!
//! The medicine is the dm+d coding when there is one (else SNOMED CT, else the first coding),
//! from `medicationCodeableConcept` or the Medication resource `medicationReference` names
//! (contained, in the Bundle, or read earlier in the run). The list is "as at" the statement's
//! `dateAsserted`, else the date in [`Context::as_at`].

use concord_domain::record::{Medication, MedicationStatus};
use concord_domain::{CodeSystem, CodedConcept};
use concord_fhir::{CodeableConcept, Dosage, FhirDateTime, Reference, from_json};
use serde_json::Value;

use super::codes::preferred_concept;
use super::subject::{Target, patient_subject, resolve};
use super::{Context, Refusal};
use crate::SubjectRef;

/// The parts of a statement or request that make a medication entry.
struct Prescribing<'r> {
    concept: Option<&'r CodeableConcept>,
    reference: Option<&'r Reference>,
    contained: &'r [Value],
    status: Option<&'r str>,
    subject: Option<&'r Reference>,
    dosage: &'r [Dosage],
    authored: Option<FhirDateTime>,
    asserted: Option<FhirDateTime>,
}

pub fn map_medication_statement(
    statement: &concord_fhir::MedicationStatement,
    context: &Context<'_>,
) -> Result<(SubjectRef, Medication), Refusal> {
    map(
        Prescribing {
            concept: statement.medication_codeable_concept.as_ref(),
            reference: statement.medication_reference.as_ref(),
            contained: &statement.contained,
            status: statement.status.as_deref(),
            subject: statement.subject.as_ref(),
            dosage: &statement.dosage,
            authored: statement.effective(),
            asserted: statement.date_asserted,
        },
        context,
    )
}

pub fn map_medication_request(
    request: &concord_fhir::MedicationRequest,
    context: &Context<'_>,
) -> Result<(SubjectRef, Medication), Refusal> {
    map(
        Prescribing {
            concept: request.medication_codeable_concept.as_ref(),
            reference: request.medication_reference.as_ref(),
            contained: &request.contained,
            status: request.status.as_deref(),
            subject: request.subject.as_ref(),
            dosage: &request.dosage_instruction,
            authored: request.authored_on,
            asserted: None,
        },
        context,
    )
}

const MEDICINE_SYSTEMS: [CodeSystem; 2] = [CodeSystem::Dmd, CodeSystem::Snomed];

fn map(prescribing: Prescribing<'_>, context: &Context<'_>) -> Result<(SubjectRef, Medication), Refusal> {
    let concept = medicine(&prescribing, context)?;
    let subject = patient_subject(prescribing.subject, context)?;
    let status = match prescribing.status {
        None => MedicationStatus::Unknown,
        Some(text) => {
            MedicationStatus::parse(text).ok_or_else(|| format!("status {text:?} is not a medication status"))?
        }
    };
    let dosage: Vec<&str> = prescribing
        .dosage
        .iter()
        .filter_map(|dosage| dosage.text.as_deref().or(dosage.patient_instruction.as_deref()))
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .collect();
    Ok((
        subject,
        Medication {
            concept,
            dosage: (!dosage.is_empty()).then(|| dosage.join("; ")),
            status,
            authored: prescribing.authored.map(|authored| authored.earliest_date()),
            as_at: prescribing.asserted.map_or(context.as_at, |asserted| asserted.earliest_date()),
        },
    ))
}

fn medicine(prescribing: &Prescribing<'_>, context: &Context<'_>) -> Result<CodedConcept, String> {
    if let Some(concept) = prescribing.concept {
        return preferred_concept(concept, &MEDICINE_SYSTEMS)
            .ok_or_else(|| "medicationCodeableConcept has no coding with a system and a code".to_owned());
    }
    let reference =
        prescribing.reference.ok_or("no medication: neither medicationCodeableConcept nor medicationReference")?;
    let code =
        match resolve(reference, "Medication", context).map_err(|reason| format!("medicationReference: {reason}"))? {
            Target::Contained(id) => contained_medication(prescribing.contained, &id)
                .ok_or_else(|| format!("medicationReference #{id} is not among the contained resources"))?,
            Target::Key(key) => context
                .index
                .medications
                .get(&key)
                .cloned()
                .ok_or_else(|| format!("medicationReference {} is not in the extract", key.0))?,
            Target::Identifier { system, value } => {
                return Err(format!("medicationReference by identifier {system}|{value} cannot be resolved"));
            }
        };
    preferred_concept(&code, &MEDICINE_SYSTEMS).ok_or_else(|| "the Medication has no coded medicine".to_owned())
}

fn contained_medication(contained: &[Value], id: &str) -> Option<CodeableConcept> {
    let resource = contained.iter().find(|resource| {
        resource.get("resourceType").and_then(Value::as_str) == Some("Medication")
            && resource.get("id").and_then(Value::as_str) == Some(id)
    })?;
    let medication: concord_fhir::Medication = from_json(&resource.to_string()).ok()?;
    medication.code
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use concord_domain::Code;
    use time::macros::date;

    use super::*;
    use crate::SourceKey;
    use crate::map::Index;
    use crate::map::subject::tests::empty_catalogue;

    fn context_with<'a>(
        catalogue: &'a concord_codelists::Catalogue,
        index: &'a Index,
        urls: &'a HashMap<String, SourceKey>,
    ) -> Context<'a> {
        Context { catalogue, source_system: "t", as_at: date!(2026 - 11 - 01), index, full_urls: urls }
    }

    #[test]
    fn statements_are_as_at_their_assertion_and_requests_at_the_extract() {
        let catalogue = empty_catalogue();
        let index = Index::default();
        let urls = HashMap::new();
        let context = context_with(&catalogue, &index, &urls);
        let statement: concord_fhir::MedicationStatement = from_json(
            r#"{"status":"active","subject":{"reference":"Patient/1"},"dateAsserted":"2026-10-01",
                "medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"39113611000001102"},{"system":"https://dmd.nhs.uk","code":"39113611000001102","display":"Metformin 500mg tablets"}]},
                "dosage":[{"text":"One tablet twice a day"}],"effectivePeriod":{"start":"2019-05-01"}}"#,
        )
        .unwrap();
        let (_, medication) = map_medication_statement(&statement, &context).unwrap();
        assert_eq!(medication.concept.code.system, CodeSystem::Dmd);
        assert_eq!(medication.dosage.as_deref(), Some("One tablet twice a day"));
        assert_eq!(medication.authored, Some(date!(2019 - 05 - 01)));
        assert_eq!(medication.as_at, date!(2026 - 10 - 01));
        assert_eq!(medication.status, MedicationStatus::Active);

        let request: concord_fhir::MedicationRequest = from_json(
            r##"{"status":"stopped","subject":{"reference":"Patient/1"},"authoredOn":"2020-01-02T10:00:00Z",
                "contained":[{"resourceType":"Medication","id":"m","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975","display":"metformin"}]}}],
                "medicationReference":{"reference":"#m"}}"##,
        )
        .unwrap();
        let (_, medication) = map_medication_request(&request, &context).unwrap();
        assert_eq!(medication.concept.code, Code::new(CodeSystem::RxNorm, "860975"));
        assert_eq!(medication.as_at, date!(2026 - 11 - 01));
        assert_eq!(medication.status, MedicationStatus::Stopped);
    }

    #[test]
    fn a_medicine_that_cannot_be_named_is_refused() {
        let catalogue = empty_catalogue();
        let index = Index::default();
        let urls = HashMap::new();
        let context = context_with(&catalogue, &index, &urls);
        let request: concord_fhir::MedicationRequest =
            from_json(r#"{"subject":{"reference":"Patient/1"},"medicationReference":{"reference":"Medication/zz"}}"#)
                .unwrap();
        assert_eq!(
            map_medication_request(&request, &context).unwrap_err().reason,
            "medicationReference Medication/zz is not in the extract"
        );
    }
}
