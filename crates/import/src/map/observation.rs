//! FHIR Observation to Concord results.
//!
//! The first coding the catalogue knows decides the observable. A panel's components that record
//! observables become results of their own, keyed `Observation/<id>#<part>`: a blood pressure
//! panel gives `#systolic` and `#diastolic`. A resource gives complete results or a refusal,
//! never part of a panel: if any part is refused the whole resource is, and the refusal carries
//! a red-flag concept when any part could raise one.

use concord_domain::codelist::ObservableDefinition;
use concord_domain::record::{Condition, ConditionStatus, ObservationStatus};
use concord_domain::{CodeSystem, CodedConcept};
use concord_fhir::{CodeableConcept, ObservationValue};

use super::codes::{first_observable, preferred_concept};
use super::result::{Interpretation, Reading, ReadingValue, interpret, with_implied_value};
use super::subject::patient_subject;
use super::{Context, Refusal};
use crate::{Item, SourceKey};

/// What an Observation becomes when it is not refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationOutcome {
    /// None of its codes records an observable Concord uses.
    NotUsed,
    Items(Vec<Item>),
}

struct Part<'c> {
    key: SourceKey,
    observable: &'c ObservableDefinition,
    concept: CodedConcept,
    value: ReadingValue,
}

pub fn map_observation(
    observation: &concord_fhir::Observation,
    key: &SourceKey,
    context: &Context<'_>,
) -> Result<ObservationOutcome, Refusal> {
    let catalogue = context.catalogue;
    let mut parts = Vec::new();
    for component in &observation.component {
        let Some((observable, concept)) = component.code.as_ref().and_then(|code| first_observable(catalogue, code))
        else {
            continue;
        };
        parts.push(Part {
            key: SourceKey(format!("{}#{}", key.0, part_name(&observable.id))),
            observable,
            concept,
            value: reading_value(component.value(), component.data_absent_reason.as_ref()),
        });
    }
    let own = observation.code.as_ref().and_then(|code| first_observable(catalogue, code));
    if let Some((observable, concept)) = own
        && (observation.value().is_some() || parts.is_empty())
    {
        parts.insert(
            0,
            Part {
                key: key.clone(),
                observable,
                concept,
                value: reading_value(observation.value(), observation.data_absent_reason.as_ref()),
            },
        );
    }
    if parts.is_empty() {
        return register_entry(observation, key, context);
    }
    for part in &mut parts {
        let value = std::mem::replace(&mut part.value, ReadingValue::Absent(None));
        part.value = with_implied_value(value, catalogue, part.observable, &part.concept);
    }
    let red_flag_concept = parts.iter().find(|part| part.observable.red_flag_capable).map(|part| part.concept.clone());
    let refuse = |reason: String| Refusal { reason, red_flag_concept: red_flag_concept.clone() };

    let status = match observation.status.as_deref() {
        None => ObservationStatus::Unknown,
        Some(text) => ObservationStatus::parse(text)
            .ok_or_else(|| refuse(format!("status {text:?} is not an Observation status")))?,
    };
    let subject = patient_subject(observation.subject.as_ref(), context).map_err(refuse)?;
    let effective = observation.effective().map(|effective| effective.earliest_moment());

    let named = parts.len() > 1;
    let mut items = Vec::with_capacity(parts.len());
    let mut refused = Vec::new();
    for part in parts {
        let reading = Reading { value: part.value, effective, status };
        match interpret(part.observable, part.concept, reading, context.source_system) {
            Interpretation::Observation(observation) => {
                items.push(Item::Observation { key: part.key, subject: subject.clone(), observation });
            }
            Interpretation::Unreadable { concept, effective, reason } => items.push(Item::UnreadableResult {
                key: part.key,
                subject: subject.clone(),
                concept,
                effective,
                reason,
            }),
            Interpretation::Refused(reason) if named => refused.push(format!("{}: {reason}", part.observable.name)),
            Interpretation::Refused(reason) => refused.push(reason),
        }
    }
    if refused.is_empty() { Ok(ObservationOutcome::Items(items)) } else { Err(refuse(refused.join("; "))) }
}

/// A coded entry whose code is on a register's codelist (a diagnosis, a "resolved" code, a frailty
/// category) is kept as a condition dated by the entry, so register rules see it; anything else
/// unused is skipped.
fn register_entry(
    observation: &concord_fhir::Observation,
    key: &SourceKey,
    context: &Context<'_>,
) -> Result<ObservationOutcome, Refusal> {
    let Some(concept) = observation
        .code
        .as_ref()
        .and_then(|code| preferred_concept(code, &[CodeSystem::Snomed]))
        .filter(|concept| context.catalogue.is_register_code(&concept.code))
    else {
        return Ok(ObservationOutcome::NotUsed);
    };
    let refuse = |reason: String| Refusal { reason, red_flag_concept: None };
    let status = match observation.status.as_deref() {
        Some("entered-in-error" | "cancelled") => ConditionStatus::EnteredInError,
        _ => ConditionStatus::Active,
    };
    let subject = patient_subject(observation.subject.as_ref(), context).map_err(refuse)?;
    let Some(effective) = observation.effective().map(|effective| effective.earliest_moment()) else {
        return Err(refuse(format!("coded entry {} has no date, so its place in the record is unknown", concept.code)));
    };
    let condition =
        Condition { concept, onset: Some(effective.date()), resolved: None, status, recorded: Some(effective.date()) };
    Ok(ObservationOutcome::Items(vec![Item::Condition { key: key.clone(), subject, condition }]))
}

/// The key suffix of a panel part: `systolic`/`diastolic` for blood pressure, else the observable id.
fn part_name(observable_id: &str) -> &str {
    if observable_id.contains("systolic") {
        "systolic"
    } else if observable_id.contains("diastolic") {
        "diastolic"
    } else {
        observable_id
    }
}

/// The value as read: a quantity's UCUM code is preferred to its display unit.
pub fn reading_value(value: Option<ObservationValue<'_>>, absent: Option<&CodeableConcept>) -> ReadingValue {
    match value {
        Some(ObservationValue::Quantity(quantity)) => match &quantity.value {
            Some(decimal) => {
                let ucum_code = quantity
                    .code
                    .clone()
                    .filter(|_| quantity.system.as_deref().is_none_or(|system| system == concord_fhir::uri::UCUM));
                ReadingValue::Quantity {
                    value: decimal.as_str().to_owned(),
                    comparator: quantity.comparator.clone(),
                    units: ucum_code.into_iter().chain(quantity.unit.clone()).collect(),
                }
            }
            None => ReadingValue::Absent(Some("the quantity has no value".into())),
        },
        Some(ObservationValue::CodeableConcept(concept)) => match preferred_concept(concept, &[CodeSystem::Snomed]) {
            Some(coded) => ReadingValue::Coded(coded),
            None => concept.text.clone().map_or(ReadingValue::Absent(None), ReadingValue::Text),
        },
        Some(ObservationValue::String(text)) => ReadingValue::Text(text.to_owned()),
        Some(ObservationValue::Boolean(flag)) => ReadingValue::Boolean(flag),
        Some(ObservationValue::Integer(number)) => ReadingValue::Integer(number),
        None => ReadingValue::Absent(absent.and_then(|reason| {
            reason
                .coding
                .iter()
                .find_map(|coding| coding.display.clone().or_else(|| coding.code.clone()))
                .or_else(|| reason.text.clone())
        })),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use concord_codelists::Catalogue;
    use concord_domain::Code;
    use concord_domain::record::ObservationValue;
    use concord_fhir::from_json;
    use time::macros::date;

    use super::*;
    use crate::SubjectRef;
    use crate::map::Index;
    use crate::map::result::tests::observable;

    fn catalogue() -> Catalogue {
        let mut systolic = observable("systolic_bp", Some("mm[Hg]"), 0, Some((50.0, 300.0)), true);
        systolic.codes.insert(Code::loinc("8480-6"), "Systolic");
        let mut diastolic = observable("diastolic_bp", Some("mm[Hg]"), 0, Some((20.0, 200.0)), true);
        diastolic.codes.insert(Code::loinc("8462-4"), "Diastolic");
        let mut bmi = observable("bmi", Some("kg/m2"), 1, Some((8.0, 120.0)), false);
        bmi.codes.insert(Code::loinc("39156-5"), "BMI");
        Catalogue::from_parts(HashMap::new(), vec![], vec![systolic, diastolic, bmi]).unwrap()
    }

    fn map(json: &str) -> Result<ObservationOutcome, Refusal> {
        let catalogue = catalogue();
        let index = Index::default();
        let urls = HashMap::new();
        let context = Context {
            catalogue: &catalogue,
            source_system: "t",
            as_at: date!(2026 - 01 - 01),
            index: &index,
            full_urls: &urls,
        };
        map_observation(&from_json(json).unwrap(), &SourceKey("Observation/bp".into()), &context)
    }

    const PANEL: &str = r#"{"status":"final","subject":{"reference":"Patient/1"},"effectiveDateTime":"2026-01-01T09:00:00Z",
        "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
        "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":140,"code":"mm[Hg]"}},
                     {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":DIASTOLIC,"code":"mm[Hg]"}}]}"#;

    #[test]
    fn a_blood_pressure_panel_gives_two_results() {
        let Ok(ObservationOutcome::Items(items)) = map(&PANEL.replace("DIASTOLIC", "85")) else { panic!("not read") };
        let keys: Vec<_> = items
            .iter()
            .map(|item| match item {
                Item::Observation { key, subject, observation } => {
                    assert_eq!(subject, &SubjectRef::Source(SourceKey("Patient/1".into())));
                    assert!(matches!(observation.value, ObservationValue::Quantity(_)));
                    key.0.as_str()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(keys, ["Observation/bp#systolic", "Observation/bp#diastolic"]);
    }

    #[test]
    fn an_unreadable_part_stays_visible_as_its_own_result() {
        let Ok(ObservationOutcome::Items(items)) = map(&PANEL.replace("DIASTOLIC", "850")) else { panic!("not read") };
        assert!(
            matches!(&items[..], [Item::Observation { .. }, Item::UnreadableResult { key, .. }] if key.0 == "Observation/bp#diastolic")
        );
    }

    #[test]
    fn a_refused_part_refuses_the_whole_panel_keeping_its_red_flag() {
        let json = PANEL.replace("DIASTOLIC", "85").replace(
            r#"{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":85,"code":"mm[Hg]"}}"#,
            r#"{"code":{"coding":[{"system":"http://loinc.org","code":"39156-5"}]},"valueQuantity":{"value":31,"unit":"stone"}}"#,
        );
        let refusal = map(&json).unwrap_err();
        assert_eq!(refusal.reason, "bmi: unit \"stone\" is not recognised for bmi");
        assert_eq!(refusal.red_flag_concept.unwrap().code, Code::loinc("8480-6"));
    }

    #[test]
    fn codes_on_no_observable_are_not_used() {
        let json = r#"{"status":"final","subject":{"reference":"Patient/1"},"code":{"coding":[{"system":"http://loinc.org","code":"72514-3"}]},"valueInteger":2}"#;
        assert_eq!(map(json), Ok(ObservationOutcome::NotUsed));
    }
}

#[cfg(test)]
mod register_entry_tests {
    use std::collections::HashMap;

    use concord_codelists::Catalogue;
    use concord_domain::Code;
    use concord_domain::codelist::{Codelist, RegisterDefinition};
    use concord_fhir::from_json;
    use time::macros::date;

    use super::*;
    use crate::map::Index;

    fn map(json: &str) -> Result<ObservationOutcome, Refusal> {
        let mut diagnosis = Codelist::new("diabetes", "t", "t");
        diagnosis.insert(Code::snomed("44054006"), "Type 2 diabetes mellitus");
        let mut resolved = Codelist::new("diabetes-resolved", "t", "t");
        resolved.insert(Code::snomed("315051004"), "Diabetes resolved");
        let register = RegisterDefinition {
            id: "diabetes".into(),
            name: "Diabetes".into(),
            diagnosis,
            resolved: Some(resolved),
            minimum_age: Some(17),
            diagnosed_on_or_after: None,
            source: "t".into(),
            plain_name: None,
        };
        let catalogue = Catalogue::from_parts(HashMap::new(), vec![register], vec![]).unwrap();
        let index = Index::default();
        let urls = HashMap::new();
        let context = Context {
            catalogue: &catalogue,
            source_system: "t",
            as_at: date!(2026 - 01 - 01),
            index: &index,
            full_urls: &urls,
        };
        map_observation(&from_json(json).unwrap(), &SourceKey("Observation/r".into()), &context)
    }

    #[test]
    fn a_resolved_code_recorded_as_a_coded_entry_becomes_a_dated_condition() {
        let outcome =
            map(r#"{"status":"final","subject":{"reference":"Patient/1"},"effectiveDateTime":"2024-05-02T10:00:00Z",
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"315051004","display":"Diabetes resolved"}]}}"#)
            .unwrap();
        let ObservationOutcome::Items(items) = outcome else { panic!("expected items") };
        let [Item::Condition { condition, .. }] = items.as_slice() else { panic!("expected one condition: {items:?}") };
        assert_eq!(condition.concept.code, Code::snomed("315051004"));
        assert_eq!(condition.onset, Some(date!(2024 - 05 - 02)));
        assert_eq!(condition.status, ConditionStatus::Active);
    }

    #[test]
    fn other_unused_codes_are_still_skipped_and_undated_register_entries_refused() {
        let skipped =
            map(r#"{"status":"final","subject":{"reference":"Patient/1"},"effectiveDateTime":"2024-05-02T10:00:00Z",
            "code":{"coding":[{"system":"http://loinc.org","code":"9279-1"}]}}"#);
        assert_eq!(skipped, Ok(ObservationOutcome::NotUsed));
        let undated = map(r#"{"status":"final","subject":{"reference":"Patient/1"},
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}"#);
        assert!(undated.unwrap_err().reason.contains("no date"));
    }
}
