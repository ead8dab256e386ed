//! Risk ranking and eligibility for the cycle, both from data (`data/risk-factors.csv`,
//! `data/eligibility.csv`).
//!
//! The seeds start the two-contact approach with high-risk people with COPD or diabetes and then
//! extend it to every long-term condition; the full conversation and portable plan are for the
//! conditions that need an enhanced clinical review. Practices and regions choose, so eligibility
//! rules carry a scope and the most specific scope wins.

use crate::criterion::{Comparison, Condition};
use crate::snapshot::PersonSnapshot;

/// Contacts with services in the last 12 months, from imported encounters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utilisation {
    /// Emergency department attendances and emergency admissions.
    pub emergency_12m: u32,
    /// Unscheduled GP contacts by the documented rule (`docs/unscheduled-contacts.md`).
    pub unscheduled_gp_12m: u32,
}

/// When a risk factor applies.
#[derive(Debug, Clone, PartialEq)]
pub enum RiskWhen {
    Person(Condition),
    Emergency(Comparison, f64),
    UnscheduledGp(Comparison, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskFactor {
    pub id: String,
    pub description: String,
    pub points: u32,
    pub when: RiskWhen,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RiskScore {
    pub score: u32,
    /// Ids of the factors that applied, in data order.
    pub factors: Vec<String>,
}

pub fn risk_score(factors: &[RiskFactor], person: &PersonSnapshot, utilisation: Utilisation) -> RiskScore {
    let mut score = RiskScore::default();
    for factor in factors {
        let applies = match &factor.when {
            RiskWhen::Person(condition) => condition.holds(person),
            RiskWhen::Emergency(comparison, value) => comparison.holds(f64::from(utilisation.emergency_12m), *value),
            RiskWhen::UnscheduledGp(comparison, value) => {
                comparison.holds(f64::from(utilisation.unscheduled_gp_12m), *value)
            }
        };
        if applies {
            score.score += factor.points;
            score.factors.push(factor.id.clone());
        }
    }
    score
}

/// Where an eligibility rule applies: the most specific scope wins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Default,
    Region(String),
    Pcn(String),
    Practice(String),
}

impl Scope {
    pub fn parse(text: &str) -> Option<Self> {
        if text == "default" {
            return Some(Scope::Default);
        }
        let (kind, ods) = text.split_once(':')?;
        if ods.is_empty() {
            return None;
        }
        Some(match kind {
            "region" => Scope::Region(ods.to_owned()),
            "pcn" => Scope::Pcn(ods.to_owned()),
            "practice" => Scope::Practice(ods.to_owned()),
            _ => return None,
        })
    }

    pub fn covers(&self, place: &Place) -> bool {
        match self {
            Scope::Default => true,
            Scope::Region(ods) => place.region.as_deref() == Some(ods),
            Scope::Pcn(ods) => place.pcn.as_deref() == Some(ods),
            Scope::Practice(ods) => place.practice.as_deref() == Some(ods),
        }
    }
}

/// The ODS codes of a person's practice and the network and region it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub practice: Option<String>,
    pub pcn: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Everyone on the register enters the cycle.
    All,
    /// Only people whose risk score reaches the threshold.
    HighRisk { from_score: u32 },
    /// The register does not bring people into the cycle (its processes still join the checklist
    /// of people who enter through another condition).
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityRule {
    pub scope: Scope,
    pub register: String,
    pub entry: Entry,
    /// The condition needs the full conversation and a portable plan (enhanced clinical review).
    pub care_planning: bool,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Eligibility {
    /// Registers through which the person enters the cycle (empty: not in the cycle).
    pub entering_through: Vec<String>,
    /// Registers that call for the full conversation and portable plan.
    pub care_planning_for: Vec<String>,
}

impl Eligibility {
    pub fn enters_cycle(&self) -> bool {
        !self.entering_through.is_empty()
    }

    pub fn needs_care_planning(&self) -> bool {
        !self.care_planning_for.is_empty()
    }
}

/// Who enters the cycle, and which of their conditions need care planning.
pub fn eligibility(rules: &[EligibilityRule], place: &Place, person: &PersonSnapshot, risk: &RiskScore) -> Eligibility {
    let mut result = Eligibility::default();
    for register in &person.registers {
        let rule = rules
            .iter()
            .filter(|rule| rule.register == *register && rule.scope.covers(place))
            .max_by(|a, b| a.scope.cmp(&b.scope));
        let Some(rule) = rule else { continue };
        let enters = match rule.entry {
            Entry::All => true,
            Entry::HighRisk { from_score } => risk.score >= from_score,
            Entry::None => false,
        };
        if enters {
            result.entering_through.push(register.clone());
        }
        if rule.care_planning {
            result.care_planning_for.push(register.clone());
        }
    }
    if !result.enters_cycle() {
        result.care_planning_for.clear();
    }
    result
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::macros::date;

    use super::*;
    use crate::patient::Sex;

    fn person(registers: &[&str], frail: bool) -> PersonSnapshot {
        PersonSnapshot {
            today: date!(2026 - 06 - 01),
            age_years: Some(75),
            sex: Sex::Male,
            registers: registers.iter().map(|r| (*r).to_owned()).collect(),
            moderate_or_severe_frailty: frail,
            medicine_classes: BTreeSet::new(),
            results: vec![],
        }
    }

    fn factors() -> Vec<RiskFactor> {
        vec![
            RiskFactor {
                id: "frailty".into(),
                description: "frail".into(),
                points: 2,
                when: RiskWhen::Person(Condition::parse("frailty").unwrap()),
                source: "s".into(),
            },
            RiskFactor {
                id: "multimorbidity".into(),
                description: "3+".into(),
                points: 1,
                when: RiskWhen::Person(Condition::parse("registers>=3").unwrap()),
                source: "s".into(),
            },
            RiskFactor {
                id: "admission".into(),
                description: "emergency".into(),
                points: 3,
                when: RiskWhen::Emergency(Comparison::GreaterOrEqual, 1.0),
                source: "s".into(),
            },
        ]
    }

    fn rule(scope: &str, register: &str, entry: Entry, care_planning: bool) -> EligibilityRule {
        EligibilityRule {
            scope: Scope::parse(scope).unwrap(),
            register: register.into(),
            entry,
            care_planning,
            source: "s".into(),
        }
    }

    #[test]
    fn points_add_up_with_reasons() {
        let score = risk_score(
            &factors(),
            &person(&["a", "b", "c"], true),
            Utilisation { emergency_12m: 1, unscheduled_gp_12m: 0 },
        );
        assert_eq!(
            score,
            RiskScore { score: 6, factors: vec!["frailty".into(), "multimorbidity".into(), "admission".into()] }
        );
        assert_eq!(risk_score(&factors(), &person(&["a"], false), Utilisation::default()).score, 0);
    }

    #[test]
    fn the_most_specific_scope_wins() {
        let rules = [
            rule("default", "diabetes", Entry::HighRisk { from_score: 3 }, true),
            rule("default", "hypertension", Entry::None, false),
            rule("practice:F00001", "diabetes", Entry::All, true),
            rule("region:Y99", "hypertension", Entry::All, false),
        ];
        let place = Place { practice: Some("F00002".into()), pcn: None, region: Some("Y99".into()) };
        let low = RiskScore::default();
        let eligibility = eligibility(&rules, &place, &person(&["diabetes", "hypertension"], false), &low);
        assert_eq!(eligibility.entering_through, ["hypertension"]);
        assert_eq!(eligibility.care_planning_for, ["diabetes"]);

        let own_practice = Place { practice: Some("F00001".into()), ..place };
        let eligibility = super::eligibility(&rules, &own_practice, &person(&["diabetes"], false), &low);
        assert_eq!(eligibility.entering_through, ["diabetes"]);
    }

    #[test]
    fn high_risk_entry_needs_the_threshold() {
        let rules = [rule("default", "copd", Entry::HighRisk { from_score: 3 }, true)];
        let place = Place::default();
        let person = person(&["copd"], false);
        assert!(!eligibility(&rules, &place, &person, &RiskScore { score: 2, factors: vec![] }).enters_cycle());
        let eligible = eligibility(&rules, &place, &person, &RiskScore { score: 3, factors: vec![] });
        assert!(eligible.enters_cycle() && eligible.needs_care_planning());
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(Scope::parse("practice:F00001"), Some(Scope::Practice("F00001".into())));
        assert_eq!(Scope::parse("practice:"), None);
        assert_eq!(Scope::parse("ward:1"), None);
    }
}

/// When in the year a person is recalled for their review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecallRule {
    /// In the month they were born (spreads reviews evenly over the year).
    BirthMonth,
    /// Everyone in one month (1–12).
    Month(u8),
}

impl RecallRule {
    pub fn parse(text: &str) -> Option<Self> {
        if text == "birth_month" {
            return Some(RecallRule::BirthMonth);
        }
        let month: u8 = text.strip_prefix("month:")?.parse().ok()?;
        (1..=12).contains(&month).then_some(RecallRule::Month(month))
    }

    /// The recall month (1–12) for someone born in `birth_month`.
    pub fn month_for(self, birth_month: u8) -> u8 {
        match self {
            RecallRule::BirthMonth => birth_month,
            RecallRule::Month(month) => month,
        }
    }
}

/// The recall rule that applies at a place: the most specific scope wins; birth month otherwise.
pub fn recall_rule(rules: &[(Scope, RecallRule)], place: &Place) -> RecallRule {
    rules
        .iter()
        .filter(|(scope, _)| scope.covers(place))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map_or(RecallRule::BirthMonth, |(_, rule)| *rule)
}

#[cfg(test)]
mod recall_tests {
    use super::*;

    #[test]
    fn recall_rules_parse_and_the_most_specific_applies() {
        assert_eq!(RecallRule::parse("birth_month"), Some(RecallRule::BirthMonth));
        assert_eq!(RecallRule::parse("month:3"), Some(RecallRule::Month(3)));
        assert_eq!(RecallRule::parse("month:13"), None);
        assert_eq!(RecallRule::parse("quarterly"), None);
        let rules = [(Scope::Default, RecallRule::BirthMonth), (Scope::Practice("F1".into()), RecallRule::Month(9))];
        let f1 = Place { practice: Some("F1".into()), ..Place::default() };
        let f2 = Place { practice: Some("F2".into()), ..Place::default() };
        assert_eq!(recall_rule(&rules, &f1).month_for(4), 9);
        assert_eq!(recall_rule(&rules, &f2).month_for(4), 4);
        assert_eq!(recall_rule(&[], &f2), RecallRule::BirthMonth);
    }
}
