//! A narrow FHIR R4 wire model for the resources Concord exchanges, following UK Core where it
//! applies: serde structs for Patient, Organization, Condition, Observation, Medication,
//! MedicationStatement, MedicationRequest, Encounter, Appointment, CarePlan, Goal, Bundle and the
//! record-keeping resources in [`records`] (QuestionnaireResponse, DocumentReference, Consent,
//! AuditEvent, Provenance), the data types
//! they use, and the URIs of the identifier systems and extensions Concord reads and writes.
//!
//! Design:
//! - Reading is tolerant of elements not modelled (they are ignored, as FHIR requires) and strict
//!   about those that are: a malformed date or a string where a number belongs is an error that
//!   names the element (see [`json::from_json`]).
//! - Decimals keep the text they were written with ([`Decimal`]); partial dates stay partial
//!   ([`FhirDate`], [`FhirDateTime`]).
//! - No mapping to Concord's domain lives here: this crate is the wire format only, so that the
//!   importer and the FHIR API share one model.

pub mod datatypes;
pub mod json;
pub mod primitives;
pub mod records;
pub mod reference;
pub mod resources;
pub mod uri;

use serde::Serialize;

pub use datatypes::{
    Address, CodeableConcept, Coding, ContactPoint, Dosage, Extension, HumanName, Identifier, Meta, Period, Quantity,
    Reference, find_extension, find_extensions,
};
pub use json::{JsonError, JsonErrorKind, ResourceHeader, from_json, peek_header};
pub use primitives::{DateTimeError, Decimal, FhirDate, FhirDateTime, FhirInstant};
pub use records::{
    Attachment, AuditEvent, AuditEventAgent, AuditEventEntity, AuditEventSource, Consent, ConsentActor,
    ConsentProvision, DocumentReference, DocumentReferenceContent, DocumentReferenceContext, Provenance,
    ProvenanceAgent, QuestionnaireResponse, QuestionnaireResponseAnswer, QuestionnaireResponseItem, Task,
};
pub use reference::ReferenceTarget;
pub use resources::{
    Annotation, Appointment, AppointmentParticipant, Bundle, BundleEntry, BundleEntryRequest, BundleEntrySearch,
    CarePlan, CarePlanActivity, CarePlanActivityDetail, Condition, Encounter, EncounterParticipant, FhirResource, Goal,
    Medication, MedicationRequest, MedicationStatement, Observation, ObservationComponent, ObservationValue,
    Organization, Patient, PatientCommunication,
};

/// Any resource this crate models, tagged by `resourceType` when serialised. Read one with
/// [`Resource::from_json`] (not serde's tagged-enum path, which buffers and loses decimal text).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "resourceType")]
pub enum Resource {
    Patient(Patient),
    Organization(Organization),
    Condition(Condition),
    Observation(Observation),
    Medication(Medication),
    MedicationStatement(MedicationStatement),
    MedicationRequest(MedicationRequest),
    Encounter(Encounter),
    Appointment(Appointment),
    CarePlan(CarePlan),
    Goal(Goal),
    QuestionnaireResponse(QuestionnaireResponse),
    DocumentReference(DocumentReference),
    Consent(Consent),
    AuditEvent(AuditEvent),
    Provenance(Provenance),
    Task(Task),
}

/// A resource as JSON with its `resourceType` (for resources written on their own, such as a
/// Bundle, whose struct does not carry the type).
pub fn resource_json<T: FhirResource + Serialize>(resource: &T) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(resource)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("resourceType".into(), serde_json::Value::String(T::RESOURCE_TYPE.into()));
    }
    Ok(value)
}

/// What [`Resource::from_json`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Resource(Box<Resource>),
    /// A well-formed resource of a type this crate does not model (e.g. `Claim`).
    Unmodelled {
        resource_type: String,
    },
}

impl Resource {
    /// Parses one resource, choosing the struct by `resourceType` without buffering the JSON.
    /// Resources of other types are validated as JSON and reported as [`Parsed::Unmodelled`].
    pub fn from_json(text: &str) -> Result<Parsed, JsonError> {
        let header = peek_header(text)?;
        let Some(resource_type) = header.resource_type else {
            return Err(JsonError {
                kind: JsonErrorKind::Data,
                path: None,
                message: "missing field `resourceType`".into(),
                line: 0,
                column: 0,
            });
        };
        let resource = match resource_type.as_str() {
            Patient::RESOURCE_TYPE => Self::Patient(from_json(text)?),
            Organization::RESOURCE_TYPE => Self::Organization(from_json(text)?),
            Condition::RESOURCE_TYPE => Self::Condition(from_json(text)?),
            Observation::RESOURCE_TYPE => Self::Observation(from_json(text)?),
            Medication::RESOURCE_TYPE => Self::Medication(from_json(text)?),
            MedicationStatement::RESOURCE_TYPE => Self::MedicationStatement(from_json(text)?),
            MedicationRequest::RESOURCE_TYPE => Self::MedicationRequest(from_json(text)?),
            Encounter::RESOURCE_TYPE => Self::Encounter(from_json(text)?),
            Appointment::RESOURCE_TYPE => Self::Appointment(from_json(text)?),
            CarePlan::RESOURCE_TYPE => Self::CarePlan(from_json(text)?),
            Goal::RESOURCE_TYPE => Self::Goal(from_json(text)?),
            QuestionnaireResponse::RESOURCE_TYPE => Self::QuestionnaireResponse(from_json(text)?),
            DocumentReference::RESOURCE_TYPE => Self::DocumentReference(from_json(text)?),
            Consent::RESOURCE_TYPE => Self::Consent(from_json(text)?),
            AuditEvent::RESOURCE_TYPE => Self::AuditEvent(from_json(text)?),
            Provenance::RESOURCE_TYPE => Self::Provenance(from_json(text)?),
            Task::RESOURCE_TYPE => Self::Task(from_json(text)?),
            _ => {
                json::validate(text)?;
                return Ok(Parsed::Unmodelled { resource_type });
            }
        };
        Ok(Parsed::Resource(Box::new(resource)))
    }

    pub fn resource_type(&self) -> &'static str {
        match self {
            Self::Patient(_) => Patient::RESOURCE_TYPE,
            Self::Organization(_) => Organization::RESOURCE_TYPE,
            Self::Condition(_) => Condition::RESOURCE_TYPE,
            Self::Observation(_) => Observation::RESOURCE_TYPE,
            Self::Medication(_) => Medication::RESOURCE_TYPE,
            Self::MedicationStatement(_) => MedicationStatement::RESOURCE_TYPE,
            Self::MedicationRequest(_) => MedicationRequest::RESOURCE_TYPE,
            Self::Encounter(_) => Encounter::RESOURCE_TYPE,
            Self::Appointment(_) => Appointment::RESOURCE_TYPE,
            Self::CarePlan(_) => CarePlan::RESOURCE_TYPE,
            Self::Goal(_) => Goal::RESOURCE_TYPE,
            Self::QuestionnaireResponse(_) => QuestionnaireResponse::RESOURCE_TYPE,
            Self::DocumentReference(_) => DocumentReference::RESOURCE_TYPE,
            Self::Consent(_) => Consent::RESOURCE_TYPE,
            Self::AuditEvent(_) => AuditEvent::RESOURCE_TYPE,
            Self::Provenance(_) => Provenance::RESOURCE_TYPE,
            Self::Task(_) => Task::RESOURCE_TYPE,
        }
    }

    /// The resource's logical id.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Patient(item) => item.id(),
            Self::Organization(item) => item.id(),
            Self::Condition(item) => item.id(),
            Self::Observation(item) => item.id(),
            Self::Medication(item) => item.id(),
            Self::MedicationStatement(item) => item.id(),
            Self::MedicationRequest(item) => item.id(),
            Self::Encounter(item) => item.id(),
            Self::Appointment(item) => item.id(),
            Self::CarePlan(item) => item.id(),
            Self::Goal(item) => item.id(),
            Self::QuestionnaireResponse(item) => item.id(),
            Self::DocumentReference(item) => item.id(),
            Self::Consent(item) => item.id(),
            Self::AuditEvent(item) => item.id(),
            Self::Provenance(item) => item.id(),
            Self::Task(item) => item.id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uk_core_patient_round_trips() {
        let text = r#"{"resourceType":"Patient","id":"p1","identifier":[{"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":"01"}]}}],"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"use":"official","family":"Smith","given":["Ann"]}],"gender":"female","birthDate":"1950-06-15"}"#;
        let Parsed::Resource(resource) = Resource::from_json(text).unwrap() else { panic!("not modelled") };
        let Resource::Patient(patient) = resource.as_ref() else { panic!("not a patient") };
        assert_eq!(patient.identifier[0].system.as_deref(), Some(uri::NHS_NUMBER));
        assert_eq!(patient.birth_date, Some(FhirDate::parse("1950-06-15").unwrap()));
        assert_eq!(serde_json::to_string(resource.as_ref()).unwrap(), text);
    }

    #[test]
    fn values_keep_precision_when_written_back() {
        let text = r#"{"resourceType":"Observation","id":"o1","status":"final","valueQuantity":{"value":5.0,"unit":"mmol/L"}}"#;
        let Parsed::Resource(resource) = Resource::from_json(text).unwrap() else { panic!("not modelled") };
        assert_eq!(serde_json::to_string(resource.as_ref()).unwrap(), text);
    }

    #[test]
    fn other_types_are_recognised_but_not_modelled() {
        assert_eq!(
            Resource::from_json(r#"{"resourceType":"Claim","id":"c"}"#).unwrap(),
            Parsed::Unmodelled { resource_type: "Claim".into() }
        );
        assert!(Resource::from_json(r#"{"resourceType":"Claim","id":"c","x":"#).is_err());
        assert!(Resource::from_json(r#"{"id":"c"}"#).unwrap_err().message.contains("resourceType"));
    }
}
