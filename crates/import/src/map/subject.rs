//! Source keys and references: naming a record stably, and finding the record another names.
//!
//! Resolution is within the extract only: a reference to a Patient not in it still gives a key
//! (`Patient/X`), which the writer resolves against what is already stored. What this module
//! does refuse is a reference to a Patient that was itself rejected in this run.

use concord_domain::NhsNumber;
use concord_fhir::reference::{ReferenceTarget, full_url_id};
use concord_fhir::{Reference, uri};

use super::Context;
use crate::{SourceKey, SubjectRef};

/// The stable key of a resource: `Type/id`, taking the id from the resource, else from its
/// Bundle `fullUrl` (`urn:uuid:X` or `.../Type/X`).
pub fn source_key(resource_type: &str, id: Option<&str>, full_url: Option<&str>) -> Option<SourceKey> {
    let id = id.map(str::trim).filter(|id| !id.is_empty()).or_else(|| {
        let (url_type, url_id) = full_url_id(full_url?)?;
        url_type.is_none_or(|url_type| url_type == resource_type).then_some(url_id)
    })?;
    Some(SourceKey(format!("{resource_type}/{id}")))
}

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A resource by key, e.g. `Patient/123`.
    Key(SourceKey),
    /// A logical reference: an identifier (system and value), e.g. an NHS number or ODS code.
    Identifier { system: String, value: String },
    /// A resource in the referring resource's `contained`.
    Contained(String),
}

impl Target {
    /// The resource type of a keyed target.
    pub fn resource_type(&self) -> Option<&str> {
        match self {
            Self::Key(key) => key.0.split('/').next(),
            Self::Identifier { .. } | Self::Contained(_) => None,
        }
    }
}

/// Resolves a reference expected to point at a resource of `expected_type` (used to type a
/// `urn:uuid:` that is not in the Bundle, e.g. in NDJSON).
pub fn resolve(reference: &Reference, expected_type: &str, context: &Context<'_>) -> Result<Target, String> {
    let declared_type = reference.r#type.as_deref();
    if let Some(text) = reference.reference.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        if let Some(key) = context.full_urls.get(text) {
            return Ok(Target::Key(key.clone()));
        }
        return match ReferenceTarget::parse(text) {
            Some(ReferenceTarget::Resource { resource_type, id }) => {
                Ok(Target::Key(SourceKey(format!("{resource_type}/{id}"))))
            }
            Some(ReferenceTarget::Urn(urn)) => match urn.strip_prefix("urn:uuid:").filter(|id| !id.is_empty()) {
                Some(id) => Ok(Target::Key(SourceKey(format!("{}/{id}", declared_type.unwrap_or(expected_type))))),
                None => Err(format!("reference {text:?} is not in this Bundle")),
            },
            Some(ReferenceTarget::Contained(id)) => Ok(Target::Contained(id.to_owned())),
            Some(target @ ReferenceTarget::Conditional { .. }) => match target.identifier_query() {
                Some((system, value)) => Ok(Target::Identifier { system: system.to_owned(), value: value.to_owned() }),
                None => Err(format!("conditional reference {text:?} has no identifier to resolve it by")),
            },
            None => Err(format!("reference {text:?} is not a FHIR reference")),
        };
    }
    match &reference.identifier {
        Some(identifier) => match (identifier.system.as_deref(), identifier.value.as_deref()) {
            (Some(system), Some(value)) => {
                Ok(Target::Identifier { system: system.trim().to_owned(), value: value.trim().to_owned() })
            }
            _ => Err("reference identifier needs both a system and a value".into()),
        },
        None => Err("reference has neither a reference nor an identifier".into()),
    }
}

/// The patient a clinical record is about, refused when absent, not a Patient, or a Patient
/// rejected earlier in this run.
pub fn patient_subject(reference: Option<&Reference>, context: &Context<'_>) -> Result<SubjectRef, String> {
    let reference = reference.ok_or("no subject: the record does not say which patient it is about")?;
    let subject = match resolve(reference, "Patient", context).map_err(|reason| format!("subject: {reason}"))? {
        Target::Key(key) => {
            if !key.0.starts_with("Patient/") {
                return Err(format!("subject {} is not a Patient", key.0));
            }
            SubjectRef::Source(key)
        }
        Target::Identifier { system, value } if system == uri::NHS_NUMBER => SubjectRef::NhsNumber(
            NhsNumber::parse(&value).map_err(|error| format!("subject NHS number {value:?}: {error}"))?,
        ),
        Target::Identifier { system, .. } => {
            return Err(format!("subject is identified in {system:?}, not by NHS number"));
        }
        Target::Contained(_) => return Err("subject is a contained resource, not a registered patient".into()),
    };
    check_not_rejected(subject, context)
}

/// Refuses a subject whose Patient was rejected in this run, saying why it was.
pub fn check_not_rejected(subject: SubjectRef, context: &Context<'_>) -> Result<SubjectRef, String> {
    match &subject {
        SubjectRef::Source(key) => {
            if let Some(reason) = context.index.rejected_patients.get(key) {
                return Err(format!("subject {} was rejected: {reason}", key.0));
            }
        }
        SubjectRef::NhsNumber(number) => {
            if let Some(reason) = context.index.rejected_nhs_numbers.get(number) {
                return Err(format!("subject Patient with NHS number {number} was rejected: {reason}"));
            }
        }
    }
    Ok(subject)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use concord_codelists::Catalogue;
    use time::macros::date;

    use super::*;
    use crate::map::Index;

    pub(crate) fn empty_catalogue() -> Catalogue {
        Catalogue::from_parts(HashMap::new(), vec![], vec![]).unwrap()
    }

    fn reference(text: &str) -> Reference {
        Reference { reference: Some(text.into()), ..Reference::default() }
    }

    #[test]
    fn keys_come_from_the_id_or_the_full_url() {
        assert_eq!(source_key("Patient", Some("1"), Some("urn:uuid:9")), Some(SourceKey("Patient/1".into())));
        assert_eq!(source_key("Patient", None, Some("urn:uuid:9")), Some(SourceKey("Patient/9".into())));
        assert_eq!(source_key("Patient", None, Some("https://x/Patient/7")), Some(SourceKey("Patient/7".into())));
        assert_eq!(source_key("Patient", None, Some("https://x/Observation/7")), None);
        assert_eq!(source_key("Patient", Some(" "), None), None);
    }

    #[test]
    fn subjects_resolve_in_every_form() {
        let catalogue = empty_catalogue();
        let mut index = Index::default();
        index.rejected_patients.insert(SourceKey("Patient/bad".into()), "birthDate is missing".into());
        let full_urls = HashMap::from([("urn:uuid:abc".to_owned(), SourceKey("Patient/p1".into()))]);
        let context = Context {
            catalogue: &catalogue,
            source_system: "test",
            as_at: date!(2026 - 01 - 01),
            index: &index,
            full_urls: &full_urls,
        };
        let key = |text: &str| SubjectRef::Source(SourceKey(text.into()));
        assert_eq!(patient_subject(Some(&reference("urn:uuid:abc")), &context), Ok(key("Patient/p1")));
        assert_eq!(patient_subject(Some(&reference("urn:uuid:zzz")), &context), Ok(key("Patient/zzz")));
        assert_eq!(patient_subject(Some(&reference("Patient/1")), &context), Ok(key("Patient/1")));
        assert_eq!(patient_subject(Some(&reference("https://x/fhir/Patient/2")), &context), Ok(key("Patient/2")));
        let by_number = Reference {
            identifier: Some(concord_fhir::Identifier {
                system: Some(uri::NHS_NUMBER.into()),
                value: Some("943 476 5919".into()),
                ..Default::default()
            }),
            ..Reference::default()
        };
        assert_eq!(
            patient_subject(Some(&by_number), &context),
            Ok(SubjectRef::NhsNumber(NhsNumber::parse("9434765919").unwrap()))
        );
        assert_eq!(
            patient_subject(Some(&reference("Patient/bad")), &context),
            Err("subject Patient/bad was rejected: birthDate is missing".into())
        );
        assert!(patient_subject(None, &context).unwrap_err().starts_with("no subject"));
        assert_eq!(
            patient_subject(Some(&reference("Group/1")), &context),
            Err("subject Group/1 is not a Patient".into())
        );
    }
}
