//! System and extension URIs Concord reads and writes, in one place so that the importer, the
//! synthetic generator and the FHIR API agree on them.

/// UK Core: the NHS number identifier system.
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// UK Core: NHS number verification status, an extension on the NHS number `Identifier`.
pub const NHS_NUMBER_VERIFICATION_STATUS: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// UK Core: the code system of NHS number verification statuses (`01`..`08`).
pub const NHS_NUMBER_VERIFICATION_STATUS_CODES: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
/// ODS organisation codes (practices, PCNs, trusts, regions).
pub const ODS_ORGANISATION_CODE: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// UK Core: communication needs of a patient, with an `interpreterRequired` sub-extension.
pub const UK_CORE_NHS_COMMUNICATION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSCommunication";
/// UK Core: contact preference, with a `PreferredContactMethod` sub-extension.
pub const UK_CORE_CONTACT_PREFERENCE: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ContactPreference";
/// FHIR core extension: the patient needs an interpreter (`valueBoolean`).
pub const PATIENT_INTERPRETER_REQUIRED: &str = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired";

/// UCUM, the system of `Quantity.code` units.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// HL7 v3 ActCode, the system of `Encounter.class` (AMB, VR, HH, EMER, IMP, ...).
pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// HL7 v3 ActPriority, the system of `Encounter.priority` (EL elective, EM emergency, R routine, ...).
pub const V3_ACT_PRIORITY: &str = "http://terminology.hl7.org/CodeSystem/v3-ActPriority";
/// HL7 v2 table 0276, appointment reason codes (ROUTINE, WALKIN, CHECKUP, FOLLOWUP, EMERGENCY).
pub const V2_APPOINTMENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v2-0276";
/// BCP 47 language tags (`Patient.communication.language`).
pub const BCP_47: &str = "urn:ietf:bcp:47";

/// Concord: the period of a patient's registration with their practice (`valuePeriod` on Patient).
pub const CONCORD_REGISTRATION_PERIOD: &str = "urn:concord:registration-period";
/// Concord: when an appointment or encounter was booked (`valueDateTime`).
pub const CONCORD_BOOKED_AT: &str = "urn:concord:booked-at";
/// Concord: whether a contact was planned (booked as a review or recall) (`valueBoolean`).
pub const CONCORD_PLANNED: &str = "urn:concord:planned";
/// Concord: the contact is one of Concord's Year of Care contacts (`valueBoolean`).
pub const CONCORD_YEAR_OF_CARE_CONTACT: &str = "urn:concord:year-of-care-contact";
/// Concord: where a contact took place, as a Concord setting code (`valueCode`: surgery, telephone,
/// video, home-visit, out-of-hours, emergency, inpatient, other).
pub const CONCORD_CONTACT_SETTING: &str = "urn:concord:contact-setting";
/// Concord: the kind of clinician seen (`valueCode`: gp, nurse, hca, pharmacist, other, unknown).
pub const CONCORD_CLINICIAN: &str = "urn:concord:clinician";
/// Concord: preferred contact channel (`valueCode`: letter, email, sms, phone).
pub const CONCORD_PREFERRED_CHANNEL: &str = "urn:concord:preferred-contact-channel";
/// Concord: a communication or accessibility need, e.g. "large print" (`valueString`, repeating).
pub const CONCORD_COMMUNICATION_NEED: &str = "urn:concord:communication-need";
/// Concord: code system of organisation kinds (`region | pcn | practice | partner`) in `Organization.type`.
pub const CONCORD_ORGANISATION_KIND: &str = "urn:concord:organisation-kind";
/// Concord: identifier system of a patient's id in the practice's clinical system.
pub const CONCORD_LOCAL_PATIENT_ID: &str = "urn:concord:local-patient-id";
/// Concord: how important a goal is to the person, 1 to 10 (PRSB "Goal importance score"), on a Goal.
pub const CONCORD_GOAL_IMPORTANCE: &str = "urn:concord:goal-importance";
/// Concord: how confident the person feels to carry out an action, 1 to 10 (PRSB), on an activity detail.
pub const CONCORD_ACTION_CONFIDENCE: &str = "urn:concord:action-confidence";
/// Concord: what might get in the way of an action, on an activity detail.
pub const CONCORD_ACTION_BARRIERS: &str = "urn:concord:action-barriers";
/// SNOMED CT.
pub const SNOMED_CT: &str = "http://snomed.info/sct";
/// FHIR goal priorities (`high-priority`, `medium-priority`, `low-priority`).
pub const GOAL_PRIORITY: &str = "http://terminology.hl7.org/CodeSystem/goal-priority";
/// Concord: the identifier of something Concord recorded, on every resource it sends to the GP
/// record, so the GP system can refuse a duplicate (conditional create) and Concord recognises its
/// own records when they come back in a GP extract (the value is the record's source key).
pub const CONCORD_RECORD: &str = "urn:concord:record";
