//! Choosing the coding that decides what a record means.

use concord_codelists::Catalogue;
use concord_domain::codelist::ObservableDefinition;
use concord_domain::{Code, CodeSystem, CodedConcept};
use concord_fhir::{CodeableConcept, Coding};

/// The code of a coding that names both its system and its code.
pub fn code_of(coding: &Coding) -> Option<Code> {
    let system = coding.system.as_deref()?.trim();
    let code = coding.code.as_deref()?.trim();
    (!system.is_empty() && !code.is_empty()).then(|| Code::new(CodeSystem::from_uri(system), code))
}

/// The coding as a concept, with its display (else the concept's text) as the term.
pub fn concept_of(coding: &Coding, concept: &CodeableConcept) -> Option<CodedConcept> {
    let code = code_of(coding)?;
    let term = coding.display.clone().or_else(|| concept.text.clone()).unwrap_or_default();
    Some(CodedConcept { code, term })
}

/// The first coding in one of the `preferred` systems (in order of preference), else the first
/// coding that has a system and a code.
pub fn preferred_concept(concept: &CodeableConcept, preferred: &[CodeSystem]) -> Option<CodedConcept> {
    preferred
        .iter()
        .find_map(|system| {
            concept
                .coding
                .iter()
                .filter(|coding| code_of(coding).is_some_and(|code| &code.system == system))
                .find_map(|coding| concept_of(coding, concept))
        })
        .or_else(|| concept.coding.iter().find_map(|coding| concept_of(coding, concept)))
}

/// The observable recorded by the first coding the catalogue knows, with that coding.
pub fn first_observable<'c>(
    catalogue: &'c Catalogue,
    concept: &CodeableConcept,
) -> Option<(&'c ObservableDefinition, CodedConcept)> {
    concept.coding.iter().find_map(|coding| {
        let code = code_of(coding)?;
        let observable = catalogue.observable_for(&code)?;
        Some((observable, concept_of(coding, concept)?))
    })
}

/// Whether any coding, display or text of `concept` contains `needle` (lower case).
pub fn mentions(concept: &CodeableConcept, needle: &str) -> bool {
    let contains = |text: &Option<String>| text.as_deref().is_some_and(|text| text.to_lowercase().contains(needle));
    contains(&concept.text) || concept.coding.iter().any(|coding| contains(&coding.display))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coding(system: &str, code: &str, display: &str) -> Coding {
        Coding { system: Some(system.into()), code: Some(code.into()), display: Some(display.into()), version: None }
    }

    #[test]
    fn snomed_is_preferred_whatever_its_position() {
        let concept = CodeableConcept {
            coding: vec![
                coding("http://hl7.org/fhir/sid/icd-10", "E11", "T2DM"),
                coding("http://snomed.info/sct", "44054006", "Type 2 diabetes mellitus"),
            ],
            text: None,
        };
        let chosen = preferred_concept(&concept, &[CodeSystem::Snomed]).unwrap();
        assert_eq!(chosen.code, Code::snomed("44054006"));
        assert_eq!(chosen.term, "Type 2 diabetes mellitus");
        let first = preferred_concept(&concept, &[CodeSystem::Dmd]).unwrap();
        assert_eq!(first.code.code, "E11");
    }

    #[test]
    fn codings_without_a_system_are_not_codes() {
        let concept = CodeableConcept {
            coding: vec![Coding { code: Some("123".into()), ..Coding::default() }],
            text: Some("free text".into()),
        };
        assert_eq!(preferred_concept(&concept, &[CodeSystem::Snomed]), None);
    }
}
