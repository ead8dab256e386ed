//! FHIR Condition to a coded condition on the patient's record.
//!
//! Status: a verification status of `entered-in-error` or `refuted` makes the condition count
//! for nothing; otherwise the clinical status decides, and an abatement makes it resolved (FHIR
//! invariant con-4 says the same). Without a clinical status a condition is active.

use concord_domain::CodeSystem;
use concord_domain::record::{Condition, ConditionStatus};

use super::codes::preferred_concept;
use super::subject::patient_subject;
use super::{Context, Refusal};
use crate::SubjectRef;

pub fn map_condition(
    condition: &concord_fhir::Condition,
    context: &Context<'_>,
) -> Result<(SubjectRef, Condition), Refusal> {
    let concept = condition
        .code
        .as_ref()
        .and_then(|code| preferred_concept(code, &[CodeSystem::Snomed]))
        .ok_or("code has no coding with a system and a code (SNOMED CT preferred)")?;
    let subject = patient_subject(condition.subject.as_ref(), context)?;
    let refuted = condition
        .verification_status
        .as_ref()
        .is_some_and(|status| status.codes().any(|code| code == "entered-in-error" || code == "refuted"));
    let mut status = if refuted {
        ConditionStatus::EnteredInError
    } else {
        match condition.clinical_status.as_ref().and_then(|status| status.codes().next()) {
            None => ConditionStatus::Active,
            Some(code) => ConditionStatus::parse(code)
                .ok_or_else(|| format!("clinicalStatus {code:?} is not a FHIR condition clinical status"))?,
        }
    };
    let resolved = condition.abatement().map(|abatement| abatement.earliest_date());
    if status == ConditionStatus::Active && condition.has_abated() {
        status = ConditionStatus::Resolved;
    }
    Ok((
        subject,
        Condition {
            concept,
            onset: condition.onset().map(|onset| onset.earliest_date()),
            resolved,
            status,
            recorded: condition.recorded_date.map(|recorded| recorded.earliest_date()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use concord_domain::{Code, CodedConcept};
    use concord_fhir::from_json;
    use time::macros::date;

    use super::*;
    use crate::SourceKey;
    use crate::map::Index;
    use crate::map::subject::tests::empty_catalogue;

    fn read(json: &str) -> Result<(SubjectRef, Condition), Refusal> {
        let catalogue = empty_catalogue();
        let index = Index::default();
        let full_urls = HashMap::new();
        let context = Context {
            catalogue: &catalogue,
            source_system: "t",
            as_at: date!(2026 - 01 - 01),
            index: &index,
            full_urls: &full_urls,
        };
        map_condition(&from_json(json).unwrap(), &context)
    }

    #[test]
    fn a_resolved_snomed_condition() {
        let (subject, condition) = read(
            r#"{"subject":{"reference":"Patient/1"},
                "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"E11"},{"system":"http://snomed.info/sct","code":"44054006","display":"Type 2 diabetes mellitus"}]},
                "clinicalStatus":{"coding":[{"code":"active"}]},
                "onsetDateTime":"2015-03-02T09:00:00+00:00","abatementDateTime":"2020","recordedDate":"2015-03-03"}"#,
        )
        .unwrap();
        assert_eq!(subject, SubjectRef::Source(SourceKey("Patient/1".into())));
        assert_eq!(
            condition,
            Condition {
                concept: CodedConcept { code: Code::snomed("44054006"), term: "Type 2 diabetes mellitus".into() },
                onset: Some(date!(2015 - 03 - 02)),
                resolved: Some(date!(2020 - 01 - 01)),
                status: ConditionStatus::Resolved,
                recorded: Some(date!(2015 - 03 - 03)),
            }
        );
    }

    #[test]
    fn refuted_conditions_count_for_nothing_and_a_subject_is_required() {
        let (_, condition) = read(
            r#"{"subject":{"reference":"Patient/1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"13645005"}]},
                "verificationStatus":{"coding":[{"code":"refuted"}]},"clinicalStatus":{"coding":[{"code":"active"}]}}"#,
        )
        .unwrap();
        assert_eq!(condition.status, ConditionStatus::EnteredInError);
        let refusal =
            read(r#"{"code":{"coding":[{"system":"http://snomed.info/sct","code":"13645005"}]}}"#).unwrap_err();
        assert!(refusal.reason.starts_with("no subject"));
        assert!(read(r#"{"subject":{"reference":"Patient/1"},"code":{"text":"asthma"}}"#).is_err());
    }
}
