//! FHIR Patient (UK Core, or US Core as Synthea writes it) to Concord's patient.
//!
//! Identity is never guessed: a malformed NHS number refuses the whole record (it would
//! otherwise be imported under a broken identity), and so does a missing or partial date of
//! birth (ages decide register and review eligibility).

use concord_domain::patient::{
    Address, CommunicationNeeds, ContactChannel, ContactDetails, LocalIdentifier, Patient, PersonName, Registration,
    Sex,
};
use concord_domain::{NhsNumber, NhsNumberVerification, OdsCode};
use concord_fhir::{Extension, HumanName, Reference, find_extension, find_extensions, uri};
use time::Date;

use super::subject::{Target, resolve};
use super::{Context, OrganisationEntry};
use crate::SourceKey;

/// Maps a Patient. `key` is its source key, also kept as a local identifier in the source system.
pub fn map_patient(patient: &concord_fhir::Patient, key: &SourceKey, context: &Context<'_>) -> Result<Patient, String> {
    let (nhs_number, nhs_number_verification) = nhs_number(patient)?;
    let birth_date = match patient.birth_date {
        None => return Err("birthDate is missing: a patient's date of birth is required".into()),
        Some(date) => date.full().ok_or_else(|| format!("birthDate {date} is not a full date (YYYY-MM-DD)"))?,
    };
    let sex = match patient.gender.as_deref() {
        None => Sex::Unknown,
        Some(gender) => {
            Sex::parse(gender).ok_or_else(|| format!("gender {gender:?} is not male, female, other or unknown"))?
        }
    };
    let death_date = match (patient.deceased_date_time, patient.deceased_boolean) {
        (Some(moment), _) => Some(moment.earliest_date()),
        // Dead on an unrecorded date: dead by the extract date, so no invitation goes out.
        (None, Some(true)) => Some(context.as_at),
        (None, _) => None,
    };
    Ok(Patient {
        nhs_number,
        nhs_number_verification,
        local_identifiers: local_identifiers(patient, key, context.source_system),
        name: name(&patient.name),
        birth_date,
        sex,
        address: address(&patient.address),
        death_date,
        registration: registration(patient, context)?,
        contact: contact(patient),
        communication: communication(patient),
    })
}

fn nhs_number(patient: &concord_fhir::Patient) -> Result<(Option<NhsNumber>, Option<NhsNumberVerification>), String> {
    let Some(identifier) =
        patient.identifier.iter().find(|identifier| identifier.system.as_deref() == Some(uri::NHS_NUMBER))
    else {
        return Ok((None, None));
    };
    let verification = find_extension(&identifier.extension, uri::NHS_NUMBER_VERIFICATION_STATUS)
        .and_then(|extension| extension.value_codeable_concept.as_ref())
        .and_then(|concept| concept.codes().find_map(NhsNumberVerification::from_code));
    // An identifier with no value says only why there is no number (e.g. 07, trace not required).
    let Some(value) = identifier.value.as_deref().filter(|value| !value.trim().is_empty()) else {
        return Ok((None, verification));
    };
    let number = NhsNumber::parse(value).map_err(|error| format!("NHS number {value:?}: {error}"))?;
    Ok((Some(number), verification))
}

/// Every identifier other than the NHS number, then the record's key in the source system, so
/// that a patient with no NHS number (e.g. from Synthea) is still identifiable.
fn local_identifiers(patient: &concord_fhir::Patient, key: &SourceKey, source_system: &str) -> Vec<LocalIdentifier> {
    let mut identifiers: Vec<LocalIdentifier> = patient
        .identifier
        .iter()
        .filter(|identifier| identifier.system.as_deref() != Some(uri::NHS_NUMBER))
        .filter_map(|identifier| {
            let system = identifier.system.as_deref()?.trim();
            let value = identifier.value.as_deref()?.trim();
            (!system.is_empty() && !value.is_empty())
                .then(|| LocalIdentifier { system: system.to_owned(), value: value.to_owned() })
        })
        .collect();
    identifiers.push(LocalIdentifier { system: source_system.to_owned(), value: key.0.clone() });
    let mut seen = std::collections::HashSet::new();
    identifiers.retain(|identifier| seen.insert(identifier.clone()));
    identifiers
}

/// The official name, else the usual one, else the first that is not old.
fn name(names: &[HumanName]) -> PersonName {
    let by_use = |wanted: &str| names.iter().find(|name| name.r#use.as_deref() == Some(wanted));
    let chosen = by_use("official")
        .or_else(|| by_use("usual"))
        .or_else(|| names.iter().find(|name| name.r#use.as_deref() != Some("old")))
        .or_else(|| names.first());
    let Some(chosen) = chosen else {
        return PersonName::default();
    };
    let mut given = chosen.given.join(" ");
    let mut family = chosen.family.clone().unwrap_or_default();
    if given.is_empty()
        && family.is_empty()
        && let Some(text) = chosen.text.as_deref()
    {
        match text.trim().rsplit_once(' ') {
            Some((first, last)) => (given, family) = (first.to_owned(), last.to_owned()),
            None => family = text.trim().to_owned(),
        }
    }
    PersonName { prefix: chosen.prefix.first().cloned(), given, family }
}

/// The home address, else the first that is not old.
fn address(addresses: &[concord_fhir::Address]) -> Address {
    let current = |address: &&concord_fhir::Address| address.r#use.as_deref() != Some("old");
    let chosen = addresses
        .iter()
        .filter(current)
        .find(|address| address.r#use.as_deref() == Some("home"))
        .or_else(|| addresses.iter().find(current));
    chosen.map_or_else(Address::default, |address| Address {
        lines: address.line.iter().map(|line| line.trim().to_owned()).filter(|line| !line.is_empty()).collect(),
        city: address.city.clone(),
        postcode: address.postal_code.clone(),
    })
}

fn contact(patient: &concord_fhir::Patient) -> ContactDetails {
    let mut details = ContactDetails::default();
    let mut telecom: Vec<_> = patient
        .telecom
        .iter()
        .filter(|point| {
            point.r#use.as_deref() != Some("old") && point.value.as_deref().is_some_and(|v| !v.trim().is_empty())
        })
        .collect();
    telecom.sort_by_key(|point| point.rank.unwrap_or(u32::MAX));
    for point in &telecom {
        let value = point.value.as_deref().unwrap_or_default().trim().to_owned();
        let slot = match (point.system.as_deref(), point.r#use.as_deref()) {
            (Some("phone"), Some("mobile")) | (Some("sms"), _) => &mut details.mobile,
            (Some("phone"), _) => &mut details.phone,
            (Some("email"), _) => &mut details.email,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    details.preferred_channel = preferred_channel(patient);
    details
}

fn preferred_channel(patient: &concord_fhir::Patient) -> Option<ContactChannel> {
    if let Some(code) = find_extension(&patient.extension, uri::CONCORD_PREFERRED_CHANNEL).and_then(extension_code) {
        return ContactChannel::parse(&code);
    }
    // UK Core ContactPreference: the PreferredContactMethod sub-extension, by its display.
    let preference = find_extension(&patient.extension, uri::UK_CORE_CONTACT_PREFERENCE)?;
    let method = preference.nested("PreferredContactMethod").next()?.value_codeable_concept.as_ref()?;
    method
        .coding
        .iter()
        .filter_map(|coding| coding.display.as_deref())
        .chain(method.text.as_deref())
        .find_map(ContactChannel::parse)
}

fn extension_code(extension: &Extension) -> Option<String> {
    extension
        .value_code
        .clone()
        .or_else(|| extension.value_string.clone())
        .or_else(|| extension.value_coding.as_ref().and_then(|coding| coding.code.clone()))
        .or_else(|| {
            extension.value_codeable_concept.as_ref().and_then(|concept| concept.codes().next().map(str::to_owned))
        })
}

fn communication(patient: &concord_fhir::Patient) -> CommunicationNeeds {
    let chosen = patient
        .communication
        .iter()
        .find(|communication| communication.preferred == Some(true))
        .or_else(|| patient.communication.first());
    let language = chosen.and_then(|communication| {
        let concept = &communication.language;
        let code = concept.code_in(uri::BCP_47).or_else(|| concept.codes().next()).unwrap_or_default();
        let display = concept.coding.iter().find_map(|coding| coding.display.clone()).or_else(|| concept.text.clone());
        let english = code.to_ascii_lowercase().starts_with("en")
            || display.as_deref().is_some_and(|display| display.to_ascii_lowercase().starts_with("english"));
        if english { None } else { display.or_else(|| (!code.is_empty()).then(|| code.to_owned())) }
    });
    let interpreter_flags =
        find_extensions(&patient.extension, uri::PATIENT_INTERPRETER_REQUIRED)
            .chain(
                find_extensions(&patient.extension, uri::UK_CORE_NHS_COMMUNICATION)
                    .flat_map(|communication| communication.nested("interpreterRequired")),
            )
            .chain(patient.communication.iter().flat_map(|communication| {
                find_extensions(&communication.extension, uri::PATIENT_INTERPRETER_REQUIRED)
            }));
    let interpreter_needed = interpreter_flags.filter_map(|extension| extension.value_boolean).any(|needed| needed);
    let needs = find_extensions(&patient.extension, uri::CONCORD_COMMUNICATION_NEED)
        .filter_map(|extension| extension.value_string.as_deref().map(str::trim))
        .filter(|need| !need.is_empty())
        .map(str::to_owned)
        .collect();
    CommunicationNeeds { language, interpreter_needed, needs }
}

/// The registered practice: the first `generalPractitioner` that is an Organization with an ODS
/// code, else the `managingOrganization`, with Concord's registration period extension.
fn registration(patient: &concord_fhir::Patient, context: &Context<'_>) -> Result<Option<Registration>, String> {
    let mut unresolved = None;
    let mut practice = None;
    for reference in patient.general_practitioner.iter().chain(&patient.managing_organization) {
        match practice_code(reference, context) {
            Ok(Some(code)) => {
                practice = Some(code);
                break;
            }
            Ok(None) => {}
            Err(reason) => {
                unresolved.get_or_insert(reason);
            }
        }
    }
    let Some(practice) = practice else {
        // An Organization we could not place would silently leave the patient unregistered,
        // and so off every register: refuse instead, naming it.
        return unresolved.map_or(Ok(None), Err);
    };
    let period =
        find_extension(&patient.extension, uri::CONCORD_REGISTRATION_PERIOD).and_then(|e| e.value_period.as_ref());
    let date = |value: Option<concord_fhir::FhirDateTime>| value.map(|value| value.earliest_date());
    let (start, end): (Option<Date>, Option<Date>) =
        period.map_or((None, None), |period| (date(period.start), date(period.end)));
    Ok(Some(Registration { practice, start, end }))
}

/// The ODS code a reference names, `None` when it is not an organisation with one (e.g. a
/// Practitioner, or a Synthea hospital), and an error when it names an organisation that was not
/// read or was rejected.
fn practice_code(reference: &Reference, context: &Context<'_>) -> Result<Option<OdsCode>, String> {
    if let Some(code) = super::organisation::ods_identifier(reference) {
        return OdsCode::parse(code).map(Some).map_err(|error| format!("generalPractitioner: {error}"));
    }
    let target = match resolve(reference, "Organization", context) {
        Ok(target) => target,
        Err(_) => return Ok(None),
    };
    match target {
        Target::Identifier { system, value } if system == uri::ODS_ORGANISATION_CODE => {
            OdsCode::parse(&value).map(Some).map_err(|error| format!("generalPractitioner: {error}"))
        }
        Target::Key(key) if key.0.starts_with("Organization/") => match context.index.organisations.get(&key) {
            Some(OrganisationEntry::Read(code)) => Ok(code.clone()),
            Some(OrganisationEntry::Rejected(reason)) => {
                Err(format!("registered practice {} was rejected: {reason}", key.0))
            }
            None => Err(format!(
                "registered practice {} is not in the extract: include its Organization (with its ODS code)",
                key.0
            )),
        },
        Target::Identifier { .. } | Target::Key(_) | Target::Contained(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use concord_fhir::from_json;
    use time::macros::date;

    use super::*;
    use crate::map::Index;
    use crate::map::subject::tests::empty_catalogue;

    fn read(json: &str, index: &Index) -> Result<Patient, String> {
        let catalogue = empty_catalogue();
        let full_urls = HashMap::new();
        let context = Context {
            catalogue: &catalogue,
            source_system: "EMIS Web",
            as_at: date!(2026 - 11 - 23),
            index,
            full_urls: &full_urls,
        };
        let patient: concord_fhir::Patient = from_json(json).unwrap();
        map_patient(&patient, &SourceKey("Patient/p1".into()), &context)
    }

    #[test]
    fn a_uk_core_patient_keeps_identity_contact_and_registration() {
        let mut index = Index::default();
        index.organisations.insert(
            SourceKey("Organization/org1".into()),
            OrganisationEntry::Read(Some(OdsCode::parse("F83004").unwrap())),
        );
        let patient = read(
            r#"{"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919",
                "extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                  "valueCodeableConcept":{"coding":[{"code":"01"}]}}]},
                {"system":"https://emis.example/patient-id","value":"E123"}],
              "name":[{"use":"old","family":"Jones","given":["Ann"]},{"use":"official","family":"Smith","given":["Ann","Marie"],"prefix":["Mrs"]}],
              "gender":"female","birthDate":"1950-06-15",
              "telecom":[{"system":"phone","value":"020 7946 0000","use":"home"},{"system":"phone","value":"07700 900000","use":"mobile"},{"system":"email","value":"ann@example.org"}],
              "address":[{"use":"home","line":["1 High Street"],"city":"Leeds","postalCode":"LS1 1AA"}],
              "communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"bn","display":"Bengali"}]},"preferred":true}],
              "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired","valueBoolean":true},
                {"url":"urn:concord:registration-period","valuePeriod":{"start":"2001-04-01"}},
                {"url":"urn:concord:preferred-contact-channel","valueCode":"sms"}],
              "generalPractitioner":[{"reference":"Practitioner/dr1"},{"reference":"Organization/org1"}]}"#,
            &index,
        )
        .unwrap();
        assert_eq!(patient.nhs_number.unwrap().as_str(), "9434765919");
        assert_eq!(patient.nhs_number_verification, Some(NhsNumberVerification::PresentAndVerified));
        assert_eq!(
            patient.local_identifiers,
            vec![
                LocalIdentifier { system: "https://emis.example/patient-id".into(), value: "E123".into() },
                LocalIdentifier { system: "EMIS Web".into(), value: "Patient/p1".into() },
            ]
        );
        assert_eq!(
            patient.name,
            PersonName { prefix: Some("Mrs".into()), given: "Ann Marie".into(), family: "Smith".into() }
        );
        assert_eq!(patient.birth_date, date!(1950 - 06 - 15));
        assert_eq!(patient.contact.phone.as_deref(), Some("020 7946 0000"));
        assert_eq!(patient.contact.mobile.as_deref(), Some("07700 900000"));
        assert_eq!(patient.contact.email.as_deref(), Some("ann@example.org"));
        assert_eq!(patient.contact.preferred_channel, Some(ContactChannel::Sms));
        assert_eq!(patient.address.postcode.as_deref(), Some("LS1 1AA"));
        assert_eq!(patient.communication.language.as_deref(), Some("Bengali"));
        assert!(patient.communication.interpreter_needed);
        let registration = patient.registration.unwrap();
        assert_eq!(registration.practice.as_str(), "F83004");
        assert_eq!(registration.start, Some(date!(2001 - 04 - 01)));
    }

    #[test]
    fn identity_problems_refuse_the_record() {
        let index = Index::default();
        let error = read(
            r#"{"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765918"}],"birthDate":"1950-01-01"}"#,
            &index,
        )
        .unwrap_err();
        assert_eq!(error, "NHS number \"9434765918\": the check digit does not match: this is not a valid NHS number");
        assert!(read(r#"{"gender":"male"}"#, &index).unwrap_err().starts_with("birthDate is missing"));
        assert!(read(r#"{"birthDate":"1950"}"#, &index).unwrap_err().contains("not a full date"));
        assert!(read(r#"{"birthDate":"1950-01-01","gender":"bloke"}"#, &index).unwrap_err().contains("gender"));
    }

    #[test]
    fn deceased_and_practice_by_ods_identifier() {
        let index = Index::default();
        let patient = read(
            r#"{"birthDate":"1930-01-01","deceasedBoolean":true,
               "generalPractitioner":[{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"f83004"}}]}"#,
            &index,
        )
        .unwrap();
        assert_eq!(patient.death_date, Some(date!(2026 - 11 - 23)));
        assert_eq!(patient.registration.unwrap().practice.as_str(), "F83004");
        assert_eq!(patient.local_identifiers.len(), 1);
    }

    #[test]
    fn an_unknown_practice_organisation_is_named() {
        let index = Index::default();
        let error =
            read(r#"{"birthDate":"1930-01-01","generalPractitioner":[{"reference":"Organization/x"}]}"#, &index)
                .unwrap_err();
        assert!(error.contains("Organization/x is not in the extract"), "{error}");
        // A Synthea-style conditional reference to a hospital is simply not a practice.
        let patient = read(
            r#"{"birthDate":"1930-01-01","generalPractitioner":[{"reference":"Organization?identifier=https://github.com/synthetichealth/synthea|abc"}]}"#,
            &index,
        )
        .unwrap();
        assert_eq!(patient.registration, None);
    }
}
