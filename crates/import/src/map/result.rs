//! Interpreting a result (a value with a code) against Concord's observables, whatever format it
//! came in. Shared by FHIR Observations and CSV rows so that both follow one rule:
//!
//! - A code on no observable: not used (Concord keeps only results it uses).
//! - A numeric observable takes a quantity: its unit is normalised to UCUM and converted to the
//!   observable's canonical unit; the written decimal is kept when no conversion was needed, and a
//!   converted value is written with the observable's decimals. A comparator (`<`, `>`) is kept in
//!   front of the value text.
//! - A coded observable takes a coded value, text, or none (the code itself is the finding). A
//!   numeric observable recorded by a code that implies its value (an MRC grade) takes that value.
//! - A value that cannot be read (unknown unit, implausible, wrong kind, missing) makes the result
//!   unreadable: kept visibly for a clinician when the observable can raise a red flag, refused
//!   otherwise. A result entered in error or cancelled is kept without its value, since its only
//!   use is to withdraw an earlier one.

use concord_codelists::Catalogue;
use concord_domain::CodedConcept;
use concord_domain::codelist::ObservableDefinition;
use concord_domain::record::{Observation, ObservationStatus, ObservationValue, Quantity, ResultSource};
use concord_domain::units::normalise_unit;
use time::OffsetDateTime;

/// A value as the extract gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadingValue {
    /// A decimal as written, with its comparator and unit (UCUM code preferred, else unit text).
    Quantity {
        value: String,
        comparator: Option<String>,
        units: Vec<String>,
    },
    Coded(CodedConcept),
    Text(String),
    Boolean(bool),
    Integer(i64),
    /// No value, with the reason the extract gives, if any.
    Absent(Option<String>),
}

/// A result as read, before Concord interprets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub value: ReadingValue,
    pub effective: Option<OffsetDateTime>,
    pub status: ObservationStatus,
}

/// What a result becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Interpretation {
    Observation(Observation),
    /// Could raise a red flag but cannot be read: kept for a clinician.
    Unreadable {
        concept: CodedConcept,
        effective: Option<OffsetDateTime>,
        reason: String,
    },
    /// Cannot be read and cannot raise a red flag: refused.
    Refused(String),
}

/// Interprets a reading of `observable`, recorded with `concept`.
pub fn interpret(
    observable: &ObservableDefinition,
    concept: CodedConcept,
    reading: Reading,
    source_system: &str,
) -> Interpretation {
    let Reading { value, effective, status } = reading;
    // Entered in error, cancelled or not yet resulted: the value does not matter.
    let withdrawn = !status.is_usable();
    let observation = |value, effective| {
        Interpretation::Observation(Observation {
            concept: concept.clone(),
            observable: Some(observable.id.clone()),
            value,
            effective,
            status,
            source: ResultSource::Imported(source_system.to_owned()),
        })
    };
    let problem = match (read_value(observable, value), effective) {
        (Ok(value), Some(effective)) => return observation(value, effective),
        (Err(_), Some(effective)) if withdrawn => return observation(ObservationValue::None, effective),
        (Ok(_), None) => "no effective date or time".to_owned(),
        (Err(problem), _) => problem,
    };
    if observable.red_flag_capable && !withdrawn {
        Interpretation::Unreadable { concept, effective, reason: problem }
    } else {
        Interpretation::Refused(problem)
    }
}

/// A result that carries no value but whose code means one (e.g. "MRC Breathlessness Scale:
/// grade 3" means 3), as the catalogue says: read as that value in the canonical unit.
pub fn with_implied_value(
    value: ReadingValue,
    catalogue: &Catalogue,
    observable: &ObservableDefinition,
    concept: &CodedConcept,
) -> ReadingValue {
    match (&value, &observable.canonical_unit, catalogue.implied_value(&concept.code)) {
        (ReadingValue::Absent(_), Some(unit), Some(number)) if number.is_finite() => {
            let text = if number.fract() == 0.0 && number.abs() < 1e15 {
                format!("{}", number as i64)
            } else {
                number.to_string()
            };
            ReadingValue::Quantity { value: text, comparator: None, units: vec![unit.as_str().to_owned()] }
        }
        _ => value,
    }
}

fn read_value(observable: &ObservableDefinition, value: ReadingValue) -> Result<ObservationValue, String> {
    let numeric = observable.canonical_unit.is_some();
    let name = &observable.name;
    match value {
        ReadingValue::Quantity { value, comparator, units } if numeric => {
            quantity(observable, &value, comparator, &units)
        }
        ReadingValue::Integer(number) if numeric => quantity(observable, &number.to_string(), None, &[]),
        ReadingValue::Absent(reason) if numeric => Err(match reason {
            Some(reason) => format!("{name} has no value ({reason})"),
            None => format!("{name} has no value"),
        }),
        ReadingValue::Coded(concept) if numeric => {
            Err(format!("{name} needs a quantity but has a coded value ({})", concept.term))
        }
        ReadingValue::Text(text) if numeric => Err(format!("{name} needs a quantity but has text {text:?}")),
        ReadingValue::Boolean(flag) if numeric => Err(format!("{name} needs a quantity but has {flag}")),
        ReadingValue::Quantity { value, .. } => Err(format!("{name} is a coded finding but has a quantity ({value})")),
        ReadingValue::Integer(number) => Err(format!("{name} is a coded finding but has a number ({number})")),
        ReadingValue::Coded(concept) => Ok(ObservationValue::Coded(concept)),
        ReadingValue::Text(text) => Ok(ObservationValue::Text(text)),
        ReadingValue::Boolean(flag) => Ok(ObservationValue::Text(flag.to_string())),
        ReadingValue::Absent(_) => Ok(ObservationValue::None),
    }
}

fn quantity(
    observable: &ObservableDefinition,
    text: &str,
    comparator: Option<String>,
    units: &[String],
) -> Result<ObservationValue, String> {
    let text = text.trim();
    let number = text
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
        .ok_or_else(|| format!("value {text:?} is not a number"))?;
    let written = units.iter().map(|unit| unit.trim()).find(|unit| !unit.is_empty()).unwrap_or("");
    let unit = units
        .iter()
        .find_map(|unit| normalise_unit(unit))
        .or_else(|| units.is_empty().then(|| normalise_unit("")).flatten())
        .ok_or_else(|| format!("unit {written:?} is not recognised for {}", observable.name))?;
    let (converted, canonical, changed) = observable.to_canonical(number, &unit).map_err(|error| error.to_string())?;
    let mut value_text =
        if changed { format!("{converted:.*}", observable.decimals as usize) } else { text.to_owned() };
    if let Some(comparator) = comparator.map(|comparator| comparator.trim().to_owned()).filter(|c| !c.is_empty()) {
        value_text.insert_str(0, &comparator);
    }
    Ok(ObservationValue::Quantity(Quantity { value_text, value: converted, unit: canonical }))
}

#[cfg(test)]
pub(crate) mod tests {
    use concord_domain::Code;
    use concord_domain::codelist::Codelist;
    use concord_domain::units::{LinearConversion, Ucum};
    use time::macros::datetime;

    use super::*;

    pub(crate) fn observable(
        id: &str,
        unit: Option<&str>,
        decimals: u32,
        range: Option<(f64, f64)>,
        red_flag: bool,
    ) -> ObservableDefinition {
        ObservableDefinition {
            id: id.into(),
            name: id.into(),
            codes: Codelist::new(id, "t", "t"),
            canonical_unit: unit.map(Ucum::new),
            decimals,
            conversions: vec![],
            plausible_range: range,
            red_flag_capable: red_flag,
            source: "t".into(),
        }
    }

    fn concept() -> CodedConcept {
        CodedConcept { code: Code::loinc("x"), term: "x".into() }
    }

    fn reading(value: ReadingValue) -> Reading {
        Reading { value, effective: Some(datetime!(2026-01-01 09:00 UTC)), status: ObservationStatus::Final }
    }

    fn quantity_of(value: &str, unit: &str) -> ReadingValue {
        ReadingValue::Quantity { value: value.into(), comparator: None, units: vec![unit.into()] }
    }

    #[test]
    fn hba1c_in_percent_converts_and_ifcc_keeps_its_text() {
        let mut hba1c = observable("hba1c", Some("mmol/mol"), 0, Some((15.0, 200.0)), true);
        hba1c.conversions = vec![(Ucum::new("%"), LinearConversion { scale: 10.929, offset: -23.497 })];
        let Interpretation::Observation(converted) =
            interpret(&hba1c, concept(), reading(quantity_of("7.0", "%")), "s")
        else {
            panic!("not converted")
        };
        assert_eq!(
            converted.value,
            ObservationValue::Quantity(Quantity { value_text: "53".into(), value: 53.0, unit: Ucum::new("mmol/mol") })
        );
        let Interpretation::Observation(kept) =
            interpret(&hba1c, concept(), reading(quantity_of("53.0", "mmol/mol")), "s")
        else {
            panic!("not read")
        };
        assert_eq!(
            kept.value,
            ObservationValue::Quantity(Quantity {
                value_text: "53.0".into(),
                value: 53.0,
                unit: Ucum::new("mmol/mol")
            })
        );
    }

    #[test]
    fn unreadable_values_are_kept_only_when_they_could_raise_a_red_flag() {
        let potassium = observable("potassium", Some("mmol/L"), 1, Some((1.0, 10.0)), true);
        let bmi = observable("bmi", Some("kg/m2"), 1, Some((8.0, 120.0)), false);
        assert_eq!(
            interpret(&potassium, concept(), reading(quantity_of("5.1", "furlongs")), "s"),
            Interpretation::Unreadable {
                concept: concept(),
                effective: Some(datetime!(2026-01-01 09:00 UTC)),
                reason: "unit \"furlongs\" is not recognised for potassium".into(),
            }
        );
        assert_eq!(
            interpret(&bmi, concept(), reading(quantity_of("31", "stone")), "s"),
            Interpretation::Refused("unit \"stone\" is not recognised for bmi".into())
        );
        assert!(matches!(
            interpret(&potassium, concept(), reading(quantity_of("51", "mmol/L")), "s"),
            Interpretation::Unreadable { reason, .. } if reason.contains("outside the plausible range")
        ));
        let mut in_error = reading(quantity_of("51", "mmol/L"));
        in_error.status = ObservationStatus::EnteredInError;
        assert!(matches!(
            interpret(&potassium, concept(), in_error, "s"),
            Interpretation::Observation(Observation { value: ObservationValue::None, .. })
        ));
    }

    #[test]
    fn comparators_scores_and_coded_findings() {
        let egfr = observable("egfr", Some("mL/min/{1.73_m2}"), 0, Some((1.0, 200.0)), true);
        let value = ReadingValue::Quantity {
            value: "90".into(),
            comparator: Some(">".into()),
            units: vec!["mL/min/1.73m2".into()],
        };
        let Interpretation::Observation(observation) = interpret(&egfr, concept(), reading(value), "s") else {
            panic!()
        };
        assert!(
            matches!(observation.value, ObservationValue::Quantity(Quantity { ref value_text, .. }) if value_text == ">90")
        );

        let phq9 = observable("phq9", Some("{score}"), 0, Some((0.0, 27.0)), true);
        let Interpretation::Observation(score) = interpret(&phq9, concept(), reading(ReadingValue::Integer(12)), "s")
        else {
            panic!()
        };
        assert!(
            matches!(score.value, ObservationValue::Quantity(Quantity { ref value_text, .. }) if value_text == "12")
        );

        let smoking = observable("smoking_status", None, 0, None, false);
        let Interpretation::Observation(finding) =
            interpret(&smoking, concept(), reading(ReadingValue::Absent(None)), "s")
        else {
            panic!()
        };
        assert_eq!(finding.value, ObservationValue::None);
        assert!(matches!(
            interpret(&smoking, concept(), reading(quantity_of("1", "")), "s"),
            Interpretation::Refused(_)
        ));
    }
}
