//! FHIR Organization to Concord's organisation hierarchy (region, PCN, practice, partner).
//!
//! Only organisations with an ODS code and a stated kind become Concord organisations. Others
//! are still indexed (by [`ods_code`]) so that patients registered with them resolve.

use concord_domain::{OdsCode, Organisation, OrganisationKind};
use concord_fhir::{Organization, uri};

use super::subject::{Target, resolve};
use super::{Context, OrganisationEntry};

/// Why an organisation was read but not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    /// It has no ODS code (e.g. a Synthea hospital).
    NoOdsCode,
    /// Its kind (region, PCN, practice, partner) is not stated.
    KindNotStated,
}

impl NotKept {
    /// The label under which it is counted as skipped.
    pub fn label(self) -> &'static str {
        match self {
            Self::NoOdsCode => "Organization (no ODS code)",
            Self::KindNotStated => "Organization (kind not stated)",
        }
    }
}

/// The organisation's ODS code, `None` when it has none, an error when it is malformed.
pub fn ods_code(organization: &Organization) -> Result<Option<OdsCode>, String> {
    organization
        .identifier
        .iter()
        .find(|identifier| identifier.system.as_deref() == Some(uri::ODS_ORGANISATION_CODE))
        .map(|identifier| OdsCode::parse(identifier.value.as_deref().unwrap_or_default()).map_err(|e| e.to_string()))
        .transpose()
}

/// The kind, from Concord's organisation-kind coding, the ODS role code for a GP practice
/// (`RO76`), or the type's words ("GP practice", "primary care network").
pub fn kind(organization: &Organization) -> Option<OrganisationKind> {
    let concepts = &organization.r#type;
    if let Some(kind) = concepts
        .iter()
        .find_map(|concept| concept.code_in(uri::CONCORD_ORGANISATION_KIND))
        .and_then(OrganisationKind::parse)
    {
        return Some(kind);
    }
    let words = |needle: &str| concepts.iter().any(|concept| super::codes::mentions(concept, needle));
    if concepts.iter().any(|concept| concept.codes().any(|code| code == "RO76")) || words("gp practice") {
        Some(OrganisationKind::Practice)
    } else if words("primary care network") {
        Some(OrganisationKind::Pcn)
    } else {
        None
    }
}

/// Maps an Organization: `Ok(Err(_))` when it is read but not kept, `Err` when it is refused.
pub fn map_organisation(
    organization: &Organization,
    context: &Context<'_>,
) -> Result<Result<Organisation, NotKept>, String> {
    let Some(ods_code) = ods_code(organization)? else {
        return Ok(Err(NotKept::NoOdsCode));
    };
    let Some(kind) = kind(organization) else {
        return Ok(Err(NotKept::KindNotStated));
    };
    let parent = match &organization.part_of {
        None => None,
        Some(reference) => Some(parent_code(reference, context)?),
    };
    let name = organization
        .name
        .clone()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| ods_code.as_str().to_owned());
    Ok(Ok(Organisation { ods_code, name, kind, parent }))
}

/// The ODS code of a logical reference (`identifier` in the ODS system), which needs no lookup.
pub fn ods_identifier(reference: &concord_fhir::Reference) -> Option<&str> {
    let identifier = reference.identifier.as_ref()?;
    (identifier.system.as_deref() == Some(uri::ODS_ORGANISATION_CODE)).then_some(identifier.value.as_deref()?)
}

fn parent_code(reference: &concord_fhir::Reference, context: &Context<'_>) -> Result<OdsCode, String> {
    if let Some(code) = ods_identifier(reference) {
        return OdsCode::parse(code).map_err(|error| format!("partOf: {error}"));
    }
    match resolve(reference, "Organization", context).map_err(|reason| format!("partOf: {reason}"))? {
        Target::Identifier { system, value } if system == uri::ODS_ORGANISATION_CODE => {
            OdsCode::parse(&value).map_err(|error| format!("partOf: {error}"))
        }
        Target::Key(key) => match context.index.organisations.get(&key) {
            Some(OrganisationEntry::Read(Some(code))) => Ok(code.clone()),
            Some(OrganisationEntry::Read(None)) => Err(format!("partOf {} has no ODS code", key.0)),
            Some(OrganisationEntry::Rejected(reason)) => Err(format!("partOf {} was rejected: {reason}", key.0)),
            None => Err(format!("partOf {} is not in the extract", key.0)),
        },
        Target::Identifier { system, .. } => Err(format!("partOf is identified in {system:?}, not by ODS code")),
        Target::Contained(_) => Err("partOf is a contained resource".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use concord_fhir::from_json;
    use time::macros::date;

    use super::*;
    use crate::SourceKey;
    use crate::map::Index;
    use crate::map::subject::tests::empty_catalogue;

    #[test]
    fn a_practice_names_its_pcn() {
        let catalogue = empty_catalogue();
        let mut index = Index::default();
        index.organisations.insert(
            SourceKey("Organization/pcn".into()),
            OrganisationEntry::Read(Some(OdsCode::parse("U12345").unwrap())),
        );
        let full_urls = HashMap::new();
        let context = Context {
            catalogue: &catalogue,
            source_system: "t",
            as_at: date!(2026 - 01 - 01),
            index: &index,
            full_urls: &full_urls,
        };
        let organization: Organization = from_json(
            r#"{"identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"F83004"}],
                "type":[{"coding":[{"system":"urn:concord:organisation-kind","code":"practice"}]}],
                "name":"Riverside Surgery","partOf":{"reference":"Organization/pcn"}}"#,
        )
        .unwrap();
        assert_eq!(
            map_organisation(&organization, &context),
            Ok(Ok(Organisation {
                ods_code: OdsCode::parse("F83004").unwrap(),
                name: "Riverside Surgery".into(),
                kind: OrganisationKind::Practice,
                parent: Some(OdsCode::parse("U12345").unwrap()),
            }))
        );
        let hospital: Organization = from_json(r#"{"name":"General Hospital"}"#).unwrap();
        assert_eq!(map_organisation(&hospital, &context), Ok(Err(NotKept::NoOdsCode)));
        let ods_practice: Organization = from_json(
            r#"{"identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"C81010"}],
                "type":[{"coding":[{"code":"RO76","display":"GP PRACTICE"}]}]}"#,
        )
        .unwrap();
        assert_eq!(kind(&ods_practice), Some(OrganisationKind::Practice));
        let bad: Organization =
            from_json(r#"{"identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"F8"}]}"#)
                .unwrap();
        assert!(map_organisation(&bad, &context).unwrap_err().contains("ODS code"));
    }
}
