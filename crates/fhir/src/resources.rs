//! FHIR R4 resources Concord reads (and, later, serves), narrowed to the elements it uses.
//!
//! Choice elements (`value[x]`, `onset[x]`, `effective[x]`, ...) are one optional field per type
//! Concord understands, with an accessor giving the one that is present. Flattening them into an
//! enum would force serde to buffer every resource, which is slow on large extracts.
//!
//! `resourceType` is not a field: it is read first (see [`crate::json::peek_header`]) to choose
//! the struct, and written by [`crate::Resource`] when serialising.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::datatypes::{
    Address, CodeableConcept, Coding, ContactPoint, Dosage, Extension, HumanName, Identifier, Meta, Period, Quantity,
    Reference,
};
use crate::primitives::{FhirDate, FhirDateTime, FhirInstant};

/// A resource type name and the struct that models it.
pub trait FhirResource {
    const RESOURCE_TYPE: &'static str;
    fn id(&self) -> Option<&str>;
}

macro_rules! resource {
    ($type:ident) => {
        impl FhirResource for $type {
            const RESOURCE_TYPE: &'static str = stringify!($type);
            fn id(&self) -> Option<&str> {
                self.id.as_deref()
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    /// `male | female | other | unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<FhirDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_boolean: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_date_time: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communication: Vec<PatientCommunication>,
    /// The registered GP practice (an Organization) and/or the usual GP (a Practitioner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub general_practitioner: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managing_organization: Option<Reference>,
}
resource!(Patient);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientCommunication {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default)]
    pub language: CodeableConcept,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#type: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<Reference>,
}
resource!(Organization);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_status: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encounter: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset_date_time: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset_period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abatement_date_time: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abatement_period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abatement_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_date: Option<FhirDateTime>,
}
resource!(Condition);

impl Condition {
    /// When the condition began: `onsetDateTime`, else the start of `onsetPeriod`.
    pub fn onset(&self) -> Option<FhirDateTime> {
        self.onset_date_time.or_else(|| self.onset_period.as_ref().and_then(|period| period.start))
    }

    /// When it abated: `abatementDateTime`, else the end (or, open-ended, the start) of `abatementPeriod`.
    pub fn abatement(&self) -> Option<FhirDateTime> {
        self.abatement_date_time
            .or_else(|| self.abatement_period.as_ref().and_then(|period| period.end.or(period.start)))
    }

    /// Whether any abatement is stated, dated or not.
    pub fn has_abated(&self) -> bool {
        self.abatement().is_some() || self.abatement_string.is_some()
    }
}

/// The `value[x]` of an Observation or one of its components, whichever type is present.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ObservationValue<'a> {
    Quantity(&'a Quantity),
    CodeableConcept(&'a CodeableConcept),
    String(&'a str),
    Boolean(bool),
    Integer(i64),
}

macro_rules! observation_value_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($field)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub value_quantity: Option<Quantity>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub value_codeable_concept: Option<CodeableConcept>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub value_string: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub value_boolean: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub value_integer: Option<i64>,
            /// Why the value is missing (e.g. "error", "not-performed").
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub data_absent_reason: Option<CodeableConcept>,
        }

        impl $name {
            /// The value, whichever of the supported `value[x]` types is present.
            pub fn value(&self) -> Option<ObservationValue<'_>> {
                if let Some(quantity) = &self.value_quantity {
                    Some(ObservationValue::Quantity(quantity))
                } else if let Some(concept) = &self.value_codeable_concept {
                    Some(ObservationValue::CodeableConcept(concept))
                } else if let Some(text) = &self.value_string {
                    Some(ObservationValue::String(text))
                } else if let Some(flag) = self.value_boolean {
                    Some(ObservationValue::Boolean(flag))
                } else {
                    self.value_integer.map(ObservationValue::Integer)
                }
            }
        }
    };
}

observation_value_fields! {
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Observation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub meta: Option<Meta>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub extension: Vec<Extension>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub identifier: Vec<Identifier>,
        /// `registered | preliminary | final | amended | corrected | cancelled | entered-in-error | unknown`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub category: Vec<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub encounter: Option<Reference>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub effective_date_time: Option<FhirDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub effective_period: Option<Period>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub effective_instant: Option<FhirInstant>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub issued: Option<FhirInstant>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub component: Vec<ObservationComponent>,
    }
}
resource!(Observation);

impl Observation {
    /// When the observation applies: `effectiveDateTime`, the start of `effectivePeriod`, or
    /// `effectiveInstant`; failing those, when it was `issued`.
    pub fn effective(&self) -> Option<FhirDateTime> {
        self.effective_date_time
            .or_else(|| self.effective_period.as_ref().and_then(|period| period.start))
            .or_else(|| self.effective_instant.map(|instant| FhirDateTime::Moment(instant.0)))
            .or_else(|| self.issued.map(|instant| FhirDateTime::Moment(instant.0)))
    }
}

observation_value_fields! {
    /// One part of a panel, e.g. the systolic reading of a blood pressure.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ObservationComponent {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<CodeableConcept>,
    }
}

/// A medicine's identity, when a MedicationStatement or MedicationRequest refers to it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Medication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
}
resource!(Medication);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationStatement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Resources defined inline (`#id` references), kept as JSON and read on demand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contained: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `active | completed | entered-in-error | intended | stopped | on-hold | unknown | not-taken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medication_codeable_concept: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medication_reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date_time: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_period: Option<Period>,
    /// When the statement was made: the date the list is "as at".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_asserted: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dosage: Vec<Dosage>,
}
resource!(MedicationStatement);

impl MedicationStatement {
    /// When taking began: `effectiveDateTime`, else the start of `effectivePeriod`.
    pub fn effective(&self) -> Option<FhirDateTime> {
        self.effective_date_time.or_else(|| self.effective_period.as_ref().and_then(|period| period.start))
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contained: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `active | on-hold | cancelled | completed | entered-in-error | stopped | draft | unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medication_codeable_concept: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medication_reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authored_on: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dosage_instruction: Vec<Dosage>,
}
resource!(MedicationRequest);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encounter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `planned | arrived | triaged | in-progress | onleave | finished | cancelled | entered-in-error | unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// v3 ActCode: AMB, VR, HH, EMER, IMP, ACUTE, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Coding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#type: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<CodeableConcept>,
    /// v3 ActPriority: EL (elective, i.e. planned), EM (emergency), R (routine), ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participant: Vec<EncounterParticipant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appointment: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider: Option<Reference>,
}
resource!(Encounter);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncounterParticipant {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#type: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Reference>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `proposed | pending | booked | arrived | fulfilled | cancelled | noshow | entered-in-error | checked-in | waitlist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_category: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_type: Vec<CodeableConcept>,
    /// v2-0276: ROUTINE, WALKIN, CHECKUP, FOLLOWUP, EMERGENCY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_type: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<FhirInstant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<FhirInstant>,
    /// When the appointment was booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participant: Vec<AppointmentParticipant>,
}
resource!(Appointment);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentParticipant {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#type: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A note with its author and time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<FhirDateTime>,
    pub text: String,
}

/// A care plan (UKCore-CarePlan: status, intent, category and subject are must-support).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarePlan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// `draft | active | on-hold | revoked | completed | entered-in-error | unknown`.
    pub status: String,
    /// `proposal | plan | order | option`.
    pub intent: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub subject: Reference,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_of: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<FhirDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributor: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goal: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<CarePlanActivity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}
resource!(CarePlan);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarePlanActivity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<CarePlanActivityDetail>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarePlanActivityDetail {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `Appointment | CommunicationRequest | DeviceRequest | MedicationRequest | NutritionOrder | Task | ServiceRequest | VisionPrescription`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goal: Vec<Reference>,
    /// `not-started | scheduled | in-progress | on-hold | completed | cancelled | stopped | unknown | entered-in-error`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_period: Option<Period>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A goal (base R4: no UK Core profile exists).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Goal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    /// `proposed | planned | accepted | active | on-hold | completed | cancelled | entered-in-error | rejected`.
    pub lifecycle_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_status: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<CodeableConcept>,
    pub description: CodeableConcept,
    pub subject: Reference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressed_by: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}
resource!(Goal);

/// A Bundle whose entries hold resources of type `R`: raw JSON (`&RawValue`) when reading, so
/// each entry is parsed only if its type is wanted, or typed [`crate::Resource`]s when writing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle<R> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `document | message | transaction | transaction-response | batch | batch-response | history | searchset | collection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<FhirInstant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry<R>>,
}

impl<R> FhirResource for Bundle<R> {
    const RESOURCE_TYPE: &'static str = "Bundle";
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry<R> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub resource: Option<R>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<BundleEntrySearch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<BundleEntryRequest>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntrySearch {
    /// `match | include | outcome`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntryRequest {
    /// `GET | HEAD | POST | PUT | DELETE | PATCH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Conditional create: the search that, when it finds a match, makes the create do nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_none_exist: Option<String>,
}
