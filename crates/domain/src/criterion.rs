//! Small conditions written in the rule files of `data/` (e.g. `hba1c>=58`, `registers>=3`,
//! `frailty`, `fev1_percent_predicted<30|mrc_dyspnoea>=4`), parsed once at load and evaluated
//! against a [`PersonSnapshot`]. A condition on a result looks at the person's latest result for
//! that observable; a person with no such result does not meet it.

use std::fmt;

use crate::snapshot::PersonSnapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

impl Comparison {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
            Comparison::Greater => left > right,
            Comparison::GreaterOrEqual => left >= right,
            Comparison::Equal => (left - right).abs() < 1e-9,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Equal => "=",
        }
    }
}

/// One term of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// The latest numeric result of an observable compared with a number.
    Latest { observable: String, comparison: Comparison, value: f64 },
    /// The number of registers the person is on.
    Registers { comparison: Comparison, value: f64 },
    /// The person's age in whole years.
    Age { comparison: Comparison, value: f64 },
    /// Moderate or severe frailty.
    Frailty,
    /// On a given register (`register:copd`).
    OnRegister(String),
    /// Takes a medicine of a class (`takes:insulin`).
    Takes(String),
    /// Negation of another term (`!frailty`).
    Not(Box<Term>),
}

/// Terms joined by `|` (any) — an empty condition always holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    pub any_of: Vec<Vec<Term>>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition `{text}`: {reason}")]
pub struct ConditionError {
    pub text: String,
    pub reason: String,
}

impl Condition {
    /// Parses `a&b|c` (and binds tighter than or). Observable names are checked by the caller.
    pub fn parse(text: &str) -> Result<Self, ConditionError> {
        let text = text.trim();
        let error = |reason: String| ConditionError { text: text.to_owned(), reason };
        let mut any_of = Vec::new();
        if text.is_empty() {
            return Ok(Self { any_of, text: String::new() });
        }
        for alternative in text.split('|') {
            let mut all_of = Vec::new();
            for term in alternative.split('&') {
                all_of.push(parse_term(term.trim()).map_err(error)?);
            }
            any_of.push(all_of);
        }
        Ok(Self { any_of, text: text.to_owned() })
    }

    pub fn always() -> Self {
        Self::default()
    }

    pub fn is_always(&self) -> bool {
        self.any_of.is_empty()
    }

    /// Observables the condition reads (for validation against the catalogue).
    pub fn observables(&self) -> Vec<&str> {
        fn walk<'a>(term: &'a Term, out: &mut Vec<&'a str>) {
            match term {
                Term::Latest { observable, .. } => out.push(observable),
                Term::Not(inner) => walk(inner, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for term in self.any_of.iter().flatten() {
            walk(term, &mut out);
        }
        out
    }

    pub fn holds(&self, person: &PersonSnapshot) -> bool {
        self.any_of.is_empty() || self.any_of.iter().any(|all_of| all_of.iter().all(|term| term.holds(person)))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Term {
    pub fn holds(&self, person: &PersonSnapshot) -> bool {
        match self {
            Term::Latest { observable, comparison, value } => {
                person.latest_value(observable).is_some_and(|(_, latest)| comparison.holds(latest, *value))
            }
            Term::Registers { comparison, value } => comparison.holds(person.registers.len() as f64, *value),
            Term::Age { comparison, value } => {
                person.age_years.is_some_and(|age| comparison.holds(f64::from(age), *value))
            }
            Term::Frailty => person.moderate_or_severe_frailty,
            Term::OnRegister(register) => person.on_register(register),
            Term::Takes(class) => person.takes(class),
            Term::Not(inner) => !inner.holds(person),
        }
    }
}

fn parse_term(text: &str) -> Result<Term, String> {
    if let Some(rest) = text.strip_prefix('!') {
        return Ok(Term::Not(Box::new(parse_term(rest.trim())?)));
    }
    if text == "frailty" {
        return Ok(Term::Frailty);
    }
    if let Some(register) = text.strip_prefix("register:") {
        return non_empty(register).map(|name| Term::OnRegister(name.to_owned()));
    }
    if let Some(class) = text.strip_prefix("takes:") {
        return non_empty(class).map(|name| Term::Takes(name.to_owned()));
    }
    let position = text
        .find(['<', '>', '='])
        .ok_or_else(|| format!("`{text}` is not a known term (expected e.g. hba1c>=58, registers>=3, age>=80, frailty, register:copd, takes:insulin)"))?;
    let (name, rest) = text.split_at(position);
    let (comparison, number) = if let Some(number) = rest.strip_prefix("<=") {
        (Comparison::LessOrEqual, number)
    } else if let Some(number) = rest.strip_prefix(">=") {
        (Comparison::GreaterOrEqual, number)
    } else if let Some(number) = rest.strip_prefix('<') {
        (Comparison::Less, number)
    } else if let Some(number) = rest.strip_prefix('>') {
        (Comparison::Greater, number)
    } else if let Some(number) = rest.strip_prefix('=') {
        (Comparison::Equal, number)
    } else {
        return Err(format!("`{text}` has no comparison"));
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("`{}` is not a number", number.trim()))?;
    if !value.is_finite() {
        return Err(format!("`{}` is not a finite number", number.trim()));
    }
    let name = non_empty(name.trim())?;
    Ok(match name {
        "registers" => Term::Registers { comparison, value },
        "age" => Term::Age { comparison, value },
        observable => {
            if !observable.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                return Err(format!("`{observable}` is not an observable id"));
            }
            Term::Latest { observable: observable.to_owned(), comparison, value }
        }
    })
}

fn non_empty(text: &str) -> Result<&str, String> {
    if text.is_empty() { Err("a name is missing".to_owned()) } else { Ok(text) }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::macros::{date, datetime};

    use super::*;
    use crate::code::Code;
    use crate::patient::Sex;
    use crate::snapshot::ResultPoint;

    fn person(results: &[(&str, f64)]) -> PersonSnapshot {
        PersonSnapshot {
            today: date!(2026 - 06 - 01),
            age_years: Some(81),
            sex: Sex::Female,
            registers: BTreeSet::from(["diabetes".to_owned(), "copd".to_owned()]),
            moderate_or_severe_frailty: false,
            medicine_classes: BTreeSet::from(["insulin".to_owned()]),
            results: results
                .iter()
                .enumerate()
                .map(|(index, (observable, value))| ResultPoint {
                    observable: (*observable).to_owned(),
                    value: Some(*value),
                    code: Code::snomed("1"),
                    value_code: None,
                    effective: datetime!(2026-01-01 0:00 UTC) + time::Duration::days(index as i64),
                    key: index.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn latest_result_decides() {
        let condition = Condition::parse("hba1c>=58").unwrap();
        assert!(!condition.holds(&person(&[("hba1c", 70.0), ("hba1c", 50.0)])));
        assert!(condition.holds(&person(&[("hba1c", 50.0), ("hba1c", 58.0)])));
        assert!(!condition.holds(&person(&[])), "no result means the condition is not met");
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let condition = Condition::parse("frailty & takes:insulin | age>=80 & register:copd").unwrap();
        assert!(condition.holds(&person(&[])));
        let condition = Condition::parse("frailty & takes:insulin | age<80").unwrap();
        assert!(!condition.holds(&person(&[])));
        let condition = Condition::parse("!frailty & registers>=2").unwrap();
        assert!(condition.holds(&person(&[])));
        assert_eq!(condition.to_string(), "!frailty & registers>=2");
    }

    #[test]
    fn empty_always_holds() {
        assert!(Condition::parse("  ").unwrap().holds(&person(&[])));
    }

    #[test]
    fn bad_conditions_are_named() {
        for text in ["hba1c", "hba1c>=x", "HbA1c>3", ">3", "register:", "hba1c>=inf"] {
            let error = Condition::parse(text).unwrap_err();
            assert_eq!(error.text, text.trim());
            assert!(!error.reason.is_empty());
        }
    }
}
