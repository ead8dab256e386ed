//! FHIR Encounter and Appointment to a contact with the practice.
//!
//! Setting comes from Concord's contact-setting extension, else the Encounter class (AMB is the
//! surgery; VR is a video call when the type says so, else the telephone; HH a home visit; EMER
//! emergency; IMP/ACUTE/NONAC/SS inpatient). The clinician comes from Concord's clinician
//! extension, else the participants' type codings and words (GP, nurse, pharmacist, healthcare
//! assistant), else it is unknown. Booking time and planned-ness come from Concord's extensions,
//! an Encounter's v3 priority (EL elective is planned; EM, UR, S, A are not), an Appointment's
//! `created` and its v2-0276 appointment type.

use concord_domain::CodeSystem;
use concord_domain::record::{Clinician, Encounter, EncounterSetting, EncounterStatus};
use concord_fhir::{CodeableConcept, Extension, find_extension, uri};

use super::codes::{mentions, preferred_concept};
use super::subject::{Target, patient_subject, resolve};
use super::{Context, Refusal};
use crate::SubjectRef;

pub fn map_encounter(
    encounter: &concord_fhir::Encounter,
    context: &Context<'_>,
) -> Result<(SubjectRef, Encounter), Refusal> {
    let subject = patient_subject(encounter.subject.as_ref(), context)?;
    let start = encounter
        .period
        .as_ref()
        .and_then(|period| period.start)
        .ok_or("period.start is missing: a contact needs its date and time")?
        .earliest_moment();
    let status = match encounter.status.as_deref() {
        Some("triaged" | "onleave") => EncounterStatus::Attended,
        Some(text) => EncounterStatus::parse(text)
            .ok_or_else(|| format!("status {text:?} cannot be placed as attended, booked, missed or cancelled"))?,
        None => return Err("status is missing".into()),
    };
    let types: Vec<&CodeableConcept> = encounter.r#type.iter().chain(&encounter.service_type).collect();
    let setting = setting_extension(&encounter.extension)?.unwrap_or_else(|| {
        setting_from_class(encounter.class.as_ref().and_then(|class| class.code.as_deref()), &types)
    });
    let participant_types = encounter.participant.iter().flat_map(|participant| &participant.r#type);
    let clinician = clinician_extension(&encounter.extension)?.unwrap_or_else(|| clinician_from(participant_types));
    let kind = encounter
        .r#type
        .iter()
        .chain(&encounter.reason_code)
        .find_map(|concept| preferred_concept(concept, &[CodeSystem::Snomed]));
    Ok((
        subject,
        Encounter {
            start,
            setting,
            clinician,
            status,
            kind,
            planned: flag(&encounter.extension, uri::CONCORD_PLANNED).or_else(|| {
                match encounter.priority.as_ref().and_then(|priority| priority.code_in(uri::V3_ACT_PRIORITY)) {
                    Some("EL") => Some(true),
                    Some("EM" | "UR" | "S" | "A") => Some(false),
                    _ => None,
                }
            }),
            booked_at: booked_at(&encounter.extension),
            year_of_care_contact: flag(&encounter.extension, uri::CONCORD_YEAR_OF_CARE_CONTACT).unwrap_or(false),
        },
    ))
}

pub fn map_appointment(
    appointment: &concord_fhir::Appointment,
    context: &Context<'_>,
) -> Result<(SubjectRef, Encounter), Refusal> {
    let subject = appointment_patient(appointment, context)?;
    let start = appointment.start.ok_or("start is missing: an appointment needs its date and time")?.0;
    let status = match appointment.status.as_deref() {
        Some("waitlist") => EncounterStatus::Booked,
        Some(text) => {
            EncounterStatus::parse(text).ok_or_else(|| format!("status {text:?} is not an appointment status"))?
        }
        None => return Err("status is missing".into()),
    };
    let types: Vec<&CodeableConcept> = appointment.service_type.iter().chain(&appointment.service_category).collect();
    let setting = match setting_extension(&appointment.extension)? {
        Some(setting) => setting,
        None => delivery_channel(&appointment.extension).unwrap_or(if types.iter().any(|t| mentions(t, "video")) {
            EncounterSetting::Video
        } else if types.iter().any(|t| mentions(t, "telephone")) {
            EncounterSetting::Telephone
        } else {
            EncounterSetting::Surgery
        }),
    };
    let participant_types = appointment.participant.iter().flat_map(|participant| &participant.r#type);
    let clinician = clinician_extension(&appointment.extension)?.unwrap_or_else(|| clinician_from(participant_types));
    let appointment_type =
        appointment.appointment_type.as_ref().and_then(|concept| concept.code_in(uri::V2_APPOINTMENT_REASON));
    let planned = flag(&appointment.extension, uri::CONCORD_PLANNED).or(match appointment_type {
        Some("ROUTINE" | "CHECKUP" | "FOLLOWUP") => Some(true),
        Some("WALKIN" | "EMERGENCY") => Some(false),
        _ => None,
    });
    let kind = appointment
        .service_type
        .iter()
        .chain(&appointment.reason_code)
        .find_map(|concept| preferred_concept(concept, &[CodeSystem::Snomed]));
    Ok((
        subject,
        Encounter {
            start,
            setting,
            clinician,
            status,
            kind,
            planned,
            booked_at: booked_at(&appointment.extension)
                .or(appointment.created.map(|created| created.earliest_moment())),
            year_of_care_contact: flag(&appointment.extension, uri::CONCORD_YEAR_OF_CARE_CONTACT).unwrap_or(false),
        },
    ))
}

/// The participant that is a Patient.
fn appointment_patient(appointment: &concord_fhir::Appointment, context: &Context<'_>) -> Result<SubjectRef, String> {
    for actor in appointment.participant.iter().filter_map(|participant| participant.actor.as_ref()) {
        let names_patient = actor.r#type.as_deref() == Some("Patient")
            || matches!(resolve(actor, "Practitioner", context), Ok(ref target @ Target::Key(_)) if target.resource_type() == Some("Patient"))
            || actor
                .identifier
                .as_ref()
                .is_some_and(|identifier| identifier.system.as_deref() == Some(uri::NHS_NUMBER));
        if names_patient {
            return patient_subject(Some(actor), context);
        }
    }
    Err("no subject: no participant of the appointment is a Patient".into())
}

fn flag(extensions: &[Extension], url: &str) -> Option<bool> {
    find_extension(extensions, url).and_then(|extension| extension.value_boolean)
}

fn booked_at(extensions: &[Extension]) -> Option<time::OffsetDateTime> {
    find_extension(extensions, uri::CONCORD_BOOKED_AT)
        .and_then(|extension| extension.value_date_time)
        .map(|booked| booked.earliest_moment())
}

fn code_of_extension(extension: &Extension) -> Option<&str> {
    extension
        .value_code
        .as_deref()
        .or(extension.value_string.as_deref())
        .or_else(|| extension.value_coding.as_ref().and_then(|coding| coding.code.as_deref()))
}

fn setting_extension(extensions: &[Extension]) -> Result<Option<EncounterSetting>, String> {
    let Some(code) = find_extension(extensions, uri::CONCORD_CONTACT_SETTING).and_then(code_of_extension) else {
        return Ok(None);
    };
    EncounterSetting::parse(code).map(Some).ok_or_else(|| format!("contact setting {code:?} is not a Concord setting"))
}

fn clinician_extension(extensions: &[Extension]) -> Result<Option<Clinician>, String> {
    let Some(code) = find_extension(extensions, uri::CONCORD_CLINICIAN).and_then(code_of_extension) else {
        return Ok(None);
    };
    Clinician::parse(code).map(Some).ok_or_else(|| format!("clinician {code:?} is not a Concord clinician kind"))
}

/// GP Connect's delivery channel extension (`In-person`, `Telephone`, `Video`), by URL suffix.
fn delivery_channel(extensions: &[Extension]) -> Option<EncounterSetting> {
    let extension = extensions.iter().find(|extension| extension.url.contains("DeliveryChannel"))?;
    match code_of_extension(extension)?.to_ascii_lowercase().as_str() {
        "in-person" => Some(EncounterSetting::Surgery),
        "telephone" => Some(EncounterSetting::Telephone),
        "video" => Some(EncounterSetting::Video),
        _ => None,
    }
}

/// v3 ActCode class to a setting; older Synthea spellings are accepted too.
pub fn setting_from_class(class: Option<&str>, types: &[&CodeableConcept]) -> EncounterSetting {
    match class.map(str::to_ascii_uppercase).as_deref() {
        Some("AMB" | "AMBULATORY" | "OUTPATIENT" | "WELLNESS") => EncounterSetting::Surgery,
        Some("VR" | "VIRTUAL") => {
            if types.iter().any(|concept| mentions(concept, "video")) {
                EncounterSetting::Video
            } else {
                EncounterSetting::Telephone
            }
        }
        Some("HH" | "HOME") => EncounterSetting::HomeVisit,
        Some("EMER" | "EMERGENCY") => EncounterSetting::Emergency,
        Some("IMP" | "ACUTE" | "NONAC" | "SS" | "INPATIENT") => EncounterSetting::Inpatient,
        _ => EncounterSetting::Other,
    }
}

/// SNOMED CT occupations that identify a GP, a nurse or a pharmacist.
const GP_CODES: [&str; 3] = ["62247001", "309343006", "158965000"];
const NURSE_CODES: [&str; 3] = ["106292003", "224535009", "224571005"];
const PHARMACIST_CODES: [&str; 1] = ["46255001"];

/// The kind of clinician from participant type codings and their words; unknown when none say.
pub fn clinician_from<'a>(types: impl IntoIterator<Item = &'a CodeableConcept>) -> Clinician {
    for concept in types {
        let has = |codes: &[&str]| concept.codes().any(|code| codes.contains(&code));
        let exact_gp = concept
            .coding
            .iter()
            .filter_map(|coding| coding.display.as_deref())
            .chain(concept.text.as_deref())
            .any(|text| text.trim().eq_ignore_ascii_case("gp"));
        if has(&GP_CODES) || exact_gp || mentions(concept, "general practitioner") || mentions(concept, "physician") {
            return Clinician::Gp;
        }
        if has(&NURSE_CODES) || mentions(concept, "nurse") {
            return Clinician::Nurse;
        }
        if has(&PHARMACIST_CODES) || mentions(concept, "pharmacist") {
            return Clinician::Pharmacist;
        }
        if mentions(concept, "healthcare assistant") || mentions(concept, "health care assistant") {
            return Clinician::HealthcareAssistant;
        }
    }
    Clinician::Unknown
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use concord_fhir::from_json;
    use time::macros::{date, datetime};

    use super::*;
    use crate::SourceKey;
    use crate::map::Index;
    use crate::map::subject::tests::empty_catalogue;

    fn with_context<T>(run: impl FnOnce(&Context<'_>) -> T) -> T {
        let catalogue = empty_catalogue();
        let index = Index::default();
        let urls = HashMap::new();
        run(&Context {
            catalogue: &catalogue,
            source_system: "t",
            as_at: date!(2026 - 01 - 01),
            index: &index,
            full_urls: &urls,
        })
    }

    #[test]
    fn a_synthea_style_encounter() {
        let encounter: concord_fhir::Encounter = from_json(
            r#"{"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
                "type":[{"coding":[{"system":"http://snomed.info/sct","code":"185347001","display":"Encounter for problem"}]}],
                "subject":{"reference":"urn:uuid:p1"},
                "participant":[{"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PPRF","display":"primary performer"}]}],
                  "individual":{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999998479"}}],
                "period":{"start":"1984-09-16T22:41:48-04:00","end":"1984-09-16T22:56:48-04:00"}}"#,
        )
        .unwrap();
        let (subject, contact) = with_context(|context| map_encounter(&encounter, context)).unwrap();
        assert_eq!(subject, SubjectRef::Source(SourceKey("Patient/p1".into())));
        assert_eq!(contact.start, datetime!(1984-09-17 02:41:48 UTC));
        assert_eq!(contact.setting, EncounterSetting::Surgery);
        assert_eq!(contact.clinician, Clinician::Unknown);
        assert_eq!(contact.status, EncounterStatus::Attended);
        assert_eq!(contact.kind.unwrap().code.code, "185347001");
    }

    #[test]
    fn concord_extensions_and_participant_roles() {
        let encounter: concord_fhir::Encounter = from_json(
            r#"{"status":"finished","class":{"code":"VR"},"subject":{"reference":"Patient/1"},
                "period":{"start":"2026-03-10T09:00:00Z"},
                "participant":[{"type":[{"coding":[{"system":"http://snomed.info/sct","code":"224535009","display":"Registered nurse"}]}]}],
                "extension":[{"url":"urn:concord:booked-at","valueDateTime":"2026-03-10T08:01:00Z"},
                  {"url":"urn:concord:planned","valueBoolean":false}]}"#,
        )
        .unwrap();
        let (_, contact) = with_context(|context| map_encounter(&encounter, context)).unwrap();
        assert_eq!(contact.setting, EncounterSetting::Telephone);
        assert_eq!(contact.clinician, Clinician::Nurse);
        assert_eq!(contact.booked_at, Some(datetime!(2026-03-10 08:01 UTC)));
        assert_eq!(contact.planned, Some(false));
    }

    #[test]
    fn an_appointment_books_a_contact() {
        let appointment: concord_fhir::Appointment = from_json(
            r#"{"status":"booked","start":"2026-04-01T10:00:00+01:00","created":"2026-03-01",
                "appointmentType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0276","code":"CHECKUP"}]},
                "participant":[{"actor":{"reference":"Practitioner/1"},"type":[{"text":"GP"}]},{"actor":{"reference":"Patient/9"}}]}"#,
        )
        .unwrap();
        let (subject, contact) = with_context(|context| map_appointment(&appointment, context)).unwrap();
        assert_eq!(subject, SubjectRef::Source(SourceKey("Patient/9".into())));
        assert_eq!(contact.status, EncounterStatus::Booked);
        assert_eq!(contact.clinician, Clinician::Gp);
        assert_eq!(contact.planned, Some(true));
        assert_eq!(contact.booked_at, Some(datetime!(2026-03-01 00:00 UTC)));
        assert_eq!(contact.setting, EncounterSetting::Surgery);
    }
}
