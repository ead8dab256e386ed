//! What a `Reference.reference` string points at.
//!
//! FHIR allows relative (`Patient/123`), absolute (`https://server/fhir/Patient/123`, possibly
//! with `/_history/2`), URN (`urn:uuid:...`, resolved through a Bundle's `fullUrl`s), contained
//! (`#med1`) and, in transactions, conditional (`Patient?identifier=system|value`) references.

/// A parsed `Reference.reference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceTarget<'a> {
    /// `Type/id`, optionally behind a base URL and followed by `/_history/version`.
    Resource { resource_type: &'a str, id: &'a str },
    /// `urn:uuid:...` or `urn:oid:...`: meaningful only within the Bundle that defines it.
    Urn(&'a str),
    /// `#id`: a resource in the referring resource's `contained`.
    Contained(&'a str),
    /// `Type?query`: a search that a server would resolve, e.g. `identifier=system|value`.
    Conditional { resource_type: &'a str, query: &'a str },
}

impl<'a> ReferenceTarget<'a> {
    /// Parses a reference string; `None` when it has none of the recognised forms.
    pub fn parse(reference: &'a str) -> Option<Self> {
        let reference = reference.trim();
        if let Some(id) = reference.strip_prefix('#') {
            return (!id.is_empty()).then_some(Self::Contained(id));
        }
        if reference.starts_with("urn:") {
            return Some(Self::Urn(reference));
        }
        if let Some((path, query)) = reference.split_once('?') {
            let resource_type = path.rsplit('/').next().filter(|name| is_resource_type(name))?;
            return Some(Self::Conditional { resource_type, query });
        }
        let mut segments: Vec<&str> = reference.split('/').collect();
        if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
            segments.truncate(segments.len() - 2);
        }
        match segments.as_slice() {
            [.., resource_type, id] if is_resource_type(resource_type) && is_id(id) => {
                Some(Self::Resource { resource_type, id })
            }
            _ => None,
        }
    }

    /// For `identifier=system|value` conditional references, the system and value.
    pub fn identifier_query(&self) -> Option<(&'a str, &'a str)> {
        let Self::Conditional { query, .. } = self else {
            return None;
        };
        let token = query.split('&').find_map(|parameter| parameter.strip_prefix("identifier="))?;
        token.split_once('|')
    }
}

/// The resource type and id named by a `Bundle.entry.fullUrl` (`.../Type/id` or `urn:uuid:id`);
/// for a URN the type is unknown.
pub fn full_url_id(full_url: &str) -> Option<(Option<&str>, &str)> {
    if let Some(uuid) = full_url.strip_prefix("urn:uuid:") {
        return (!uuid.is_empty()).then_some((None, uuid));
    }
    match ReferenceTarget::parse(full_url)? {
        ReferenceTarget::Resource { resource_type, id } => Some((Some(resource_type), id)),
        _ => None,
    }
}

fn is_resource_type(name: &str) -> bool {
    let mut characters = name.chars();
    characters.next().is_some_and(|first| first.is_ascii_uppercase()) && characters.all(|c| c.is_ascii_alphanumeric())
}

/// FHIR ids: 1 to 64 of `A-Z a-z 0-9 - .`.
fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_form_is_recognised() {
        assert_eq!(
            ReferenceTarget::parse("Patient/123"),
            Some(ReferenceTarget::Resource { resource_type: "Patient", id: "123" })
        );
        assert_eq!(
            ReferenceTarget::parse("https://example.org/fhir/Patient/abc-1/_history/3"),
            Some(ReferenceTarget::Resource { resource_type: "Patient", id: "abc-1" })
        );
        assert_eq!(ReferenceTarget::parse("urn:uuid:5f1c"), Some(ReferenceTarget::Urn("urn:uuid:5f1c")));
        assert_eq!(ReferenceTarget::parse("#med1"), Some(ReferenceTarget::Contained("med1")));
        let conditional =
            ReferenceTarget::parse("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919").unwrap();
        assert_eq!(conditional.identifier_query(), Some(("https://fhir.nhs.uk/Id/nhs-number", "9434765919")));
        assert_eq!(ReferenceTarget::parse("patient/1"), None);
        assert_eq!(ReferenceTarget::parse(""), None);
        assert_eq!(ReferenceTarget::parse("#"), None);
    }

    #[test]
    fn full_urls_give_type_and_id() {
        assert_eq!(full_url_id("urn:uuid:abc"), Some((None, "abc")));
        assert_eq!(full_url_id("http://x/fhir/Observation/7"), Some((Some("Observation"), "7")));
        assert_eq!(full_url_id("urn:oid:1.2.3"), None);
    }
}
