//! The Year of Care cycle's rules as data: care processes (`data/care-processes.csv`), default
//! targets (`data/targets.csv`), eligibility (`data/eligibility.csv`) and risk factors
//! (`data/risk-factors.csv`), validated against the catalogue's registers and observables.

use std::collections::HashMap;
use std::sync::OnceLock;

use concord_domain::care_process::{ANY_REGISTER, CareProcess, PerformedBy};
use concord_domain::criterion::{Comparison, Condition};
use concord_domain::risk::{EligibilityRule, Entry, RecallRule, RiskFactor, RiskWhen, Scope};
use concord_domain::target::DefaultTarget;

use crate::load::{field, invalid, number, records, required_text};
use crate::{Catalogue, CatalogueError};

const CARE_PROCESSES_FILE: &str = "data/care-processes.csv";
const TARGETS_FILE: &str = "data/targets.csv";
const ELIGIBILITY_FILE: &str = "data/eligibility.csv";
const RISK_FACTORS_FILE: &str = "data/risk-factors.csv";
const RECALL_FILE: &str = "data/recall.csv";
const MEASURES_FILE: &str = "data/measures.csv";

/// A population measure kept per practice (`data/measures.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub id: String,
    pub register: String,
    pub items: Vec<String>,
    pub name: String,
    pub source: String,
}

/// How far ahead a care process counts as due (the recall window): the information-gathering
/// appointment should catch everything that falls due before the conversation's review date.
pub const DUE_WINDOW_DAYS: i64 = 60;

/// The cycle's rules, loaded from `data/` and checked against the catalogue.
#[derive(Debug, Clone)]
pub struct CycleRules {
    pub care_processes: Vec<CareProcess>,
    pub targets: Vec<DefaultTarget>,
    pub eligibility: Vec<EligibilityRule>,
    pub risk_factors: Vec<RiskFactor>,
    /// When in the year people are recalled, by scope (`data/recall.csv`).
    pub recall: Vec<(Scope, RecallRule)>,
    /// Population measures kept per practice (`data/measures.csv`).
    pub measures: Vec<Measure>,
    /// A fingerprint of the rule files' text: when it changes, kept statuses are recomputed.
    pub fingerprint: String,
}

/// The text of each rule file.
pub struct CycleRuleSources<'a> {
    pub care_processes: &'a str,
    pub targets: &'a str,
    pub eligibility: &'a str,
    pub risk_factors: &'a str,
    pub recall: &'a str,
    pub measures: &'a str,
}

impl CycleRules {
    /// The rules compiled into this build, loaded once per process.
    pub fn shared() -> Result<&'static CycleRules, &'static CatalogueError> {
        static SHARED: OnceLock<Result<CycleRules, CatalogueError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let catalogue = Catalogue::shared().map_err(Clone::clone)?;
                Self::load(catalogue, &Self::embedded_sources())
            })
            .as_ref()
    }

    pub fn embedded_sources() -> CycleRuleSources<'static> {
        CycleRuleSources {
            care_processes: include_str!("../../../data/care-processes.csv"),
            targets: include_str!("../../../data/targets.csv"),
            eligibility: include_str!("../../../data/eligibility.csv"),
            risk_factors: include_str!("../../../data/risk-factors.csv"),
            recall: include_str!("../../../data/recall.csv"),
            measures: include_str!("../../../data/measures.csv"),
        }
    }

    /// Parses and validates rule files against a catalogue.
    pub fn load(catalogue: &Catalogue, sources: &CycleRuleSources<'_>) -> Result<Self, CatalogueError> {
        let care_processes = care_processes(catalogue, sources.care_processes)?;
        let targets = targets(catalogue, sources.targets)?;
        let eligibility = eligibility(catalogue, sources.eligibility)?;
        let risk_factors = risk_factors(catalogue, sources.risk_factors)?;
        let recall = recall(sources.recall)?;
        let measures = measures(catalogue, &care_processes, sources.measures)?;
        let fingerprint = fingerprint(&[
            sources.care_processes,
            sources.targets,
            sources.eligibility,
            sources.risk_factors,
            sources.recall,
            sources.measures,
        ]);
        Ok(Self { care_processes, targets, eligibility, risk_factors, recall, measures, fingerprint })
    }

    /// The display name of a checklist item (from the first care process that defines it).
    pub fn item_name(&self, item: &str) -> Option<&str> {
        self.care_processes.iter().find(|process| process.item == item).map(|process| process.name.as_str())
    }
}

/// FNV-1a over the files, as hex: stable across builds and platforms.
pub fn fingerprint(texts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for text in texts {
        for byte in text.bytes().chain([0u8]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn condition(
    catalogue: &Catalogue,
    file: &str,
    line: u64,
    column: &str,
    text: &str,
) -> Result<Condition, CatalogueError> {
    let parsed = Condition::parse(text).map_err(|error| invalid(file, line, format!("{column}: {error}")))?;
    for observable in parsed.observables() {
        if catalogue.observable(observable).is_none() {
            return Err(invalid(
                file,
                line,
                format!("{column}: observable `{observable}` is not in data/observables.csv"),
            ));
        }
    }
    for register in registers_named(&parsed) {
        if !catalogue.registers.iter().any(|known| known.id == register) {
            return Err(invalid(file, line, format!("{column}: register `{register}` is not in data/registers.csv")));
        }
    }
    Ok(parsed)
}

fn registers_named(condition: &Condition) -> Vec<&str> {
    use concord_domain::criterion::Term;
    fn walk<'a>(term: &'a Term, out: &mut Vec<&'a str>) {
        match term {
            Term::OnRegister(register) => out.push(register),
            Term::Not(inner) => walk(inner, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for term in condition.any_of.iter().flatten() {
        walk(term, &mut out);
    }
    out
}

fn register(catalogue: &Catalogue, file: &str, line: u64, id: &str, allow_any: bool) -> Result<(), CatalogueError> {
    if (allow_any && id == ANY_REGISTER) || catalogue.registers.iter().any(|register| register.id == id) {
        Ok(())
    } else {
        Err(invalid(file, line, format!("register `{id}` is not in data/registers.csv")))
    }
}

fn months(file: &str, line: u64, column: &str, text: &str) -> Result<u32, CatalogueError> {
    text.parse::<u32>()
        .ok()
        .filter(|months| (1..=60).contains(months))
        .ok_or_else(|| invalid(file, line, format!("{column} `{text}` is not a whole number of months from 1 to 60")))
}

fn care_processes(catalogue: &Catalogue, text: &str) -> Result<Vec<CareProcess>, CatalogueError> {
    let file = CARE_PROCESSES_FILE;
    let columns = [
        "id",
        "register",
        "item",
        "name",
        "evidence",
        "interval_months",
        "shorter_when",
        "shorter_interval_months",
        "applies_when",
        "performed_by",
        "source",
    ];
    let table = records(file, text, &columns, &[])?;
    let mut processes: Vec<CareProcess> = Vec::new();
    let mut performer_of_item: HashMap<String, PerformedBy> = HashMap::new();
    for (line, record) in table.rows {
        let id = required_text(file, line, &record, 0, "id")?;
        if processes.iter().any(|process| process.id == id) {
            return Err(invalid(file, line, format!("care process `{id}` is defined twice")));
        }
        let register_id = required_text(file, line, &record, 1, "register")?;
        register(catalogue, file, line, register_id, true)?;
        let item = required_text(file, line, &record, 2, "item")?;
        let mut evidence = Vec::new();
        for observable in required_text(file, line, &record, 4, "evidence")?.split('|') {
            let observable = observable.trim();
            if catalogue.observable(observable).is_none() {
                return Err(invalid(
                    file,
                    line,
                    format!("evidence: observable `{observable}` is not in data/observables.csv"),
                ));
            }
            evidence.push(observable.to_owned());
        }
        let interval_months =
            months(file, line, "interval_months", required_text(file, line, &record, 5, "interval_months")?)?;
        let shorter = match (field(&record, 6), field(&record, 7)) {
            ("", "") => None,
            (when, months_text) if !when.is_empty() && !months_text.is_empty() => Some((
                condition(catalogue, file, line, "shorter_when", when)?,
                months(file, line, "shorter_interval_months", months_text)?,
            )),
            _ => {
                return Err(invalid(file, line, "shorter_when and shorter_interval_months go together"));
            }
        };
        let applies_when = condition(catalogue, file, line, "applies_when", field(&record, 8))?;
        let performed_text = required_text(file, line, &record, 9, "performed_by")?;
        let performed_by = PerformedBy::parse(performed_text).ok_or_else(|| {
            invalid(
                file,
                line,
                format!("performed_by `{performed_text}` is not one of hca, person, clinician, eye_screening"),
            )
        })?;
        if let Some(previous) = performer_of_item.insert(item.to_owned(), performed_by)
            && previous != performed_by
        {
            return Err(invalid(file, line, format!("item `{item}` is performed by {} elsewhere", previous.as_str())));
        }
        processes.push(CareProcess {
            id: id.to_owned(),
            register: register_id.to_owned(),
            item: item.to_owned(),
            name: required_text(file, line, &record, 3, "name")?.to_owned(),
            evidence,
            interval_months,
            shorter,
            applies_when,
            performed_by,
            source: required_text(file, line, &record, 10, "source")?.to_owned(),
        });
    }
    Ok(processes)
}

fn comparison(file: &str, line: u64, text: &str) -> Result<Comparison, CatalogueError> {
    Ok(match text {
        "<" => Comparison::Less,
        "<=" => Comparison::LessOrEqual,
        ">" => Comparison::Greater,
        ">=" => Comparison::GreaterOrEqual,
        _ => return Err(invalid(file, line, format!("comparison `{text}` is not one of <, <=, >, >="))),
    })
}

fn targets(catalogue: &Catalogue, text: &str) -> Result<Vec<DefaultTarget>, CatalogueError> {
    let file = TARGETS_FILE;
    let columns = ["id", "observable", "register", "applies_when", "comparison", "value", "source"];
    let table = records(file, text, &columns, &[])?;
    let mut targets: Vec<DefaultTarget> = Vec::new();
    for (line, record) in table.rows {
        let id = required_text(file, line, &record, 0, "id")?;
        if targets.iter().any(|target| target.id == id) {
            return Err(invalid(file, line, format!("target `{id}` is defined twice")));
        }
        let observable = required_text(file, line, &record, 1, "observable")?;
        let Some(definition) = catalogue.observable(observable) else {
            return Err(invalid(file, line, format!("observable `{observable}` is not in data/observables.csv")));
        };
        let register_id = match field(&record, 2) {
            "" => None,
            id => {
                register(catalogue, file, line, id, false)?;
                Some(id.to_owned())
            }
        };
        let value = number(file, line, "value", required_text(file, line, &record, 5, "value")?)?;
        if let Some((low, high)) = definition.plausible_range
            && !(low..=high).contains(&value)
        {
            return Err(invalid(
                file,
                line,
                format!("value {value} is outside {observable}'s plausible range {low} to {high}"),
            ));
        }
        targets.push(DefaultTarget {
            id: id.to_owned(),
            observable: observable.to_owned(),
            register: register_id,
            applies_when: condition(catalogue, file, line, "applies_when", field(&record, 3))?,
            comparison: comparison(file, line, required_text(file, line, &record, 4, "comparison")?)?,
            value,
            source: required_text(file, line, &record, 6, "source")?.to_owned(),
        });
    }
    Ok(targets)
}

fn eligibility(catalogue: &Catalogue, text: &str) -> Result<Vec<EligibilityRule>, CatalogueError> {
    let file = ELIGIBILITY_FILE;
    let columns = ["scope", "register", "entry", "high_risk_from", "care_planning", "source"];
    let table = records(file, text, &columns, &[])?;
    let mut rules: Vec<EligibilityRule> = Vec::new();
    for (line, record) in table.rows {
        let scope_text = required_text(file, line, &record, 0, "scope")?;
        let scope = Scope::parse(scope_text).ok_or_else(|| {
            invalid(file, line, format!("scope `{scope_text}` is not default, region:ODS, pcn:ODS or practice:ODS"))
        })?;
        let register_id = required_text(file, line, &record, 1, "register")?;
        register(catalogue, file, line, register_id, false)?;
        if rules.iter().any(|rule| rule.scope == scope && rule.register == register_id) {
            return Err(invalid(file, line, format!("`{scope_text}` has two rows for `{register_id}`")));
        }
        let threshold = field(&record, 3);
        let entry = match required_text(file, line, &record, 2, "entry")? {
            "all" | "none" if !threshold.is_empty() => {
                return Err(invalid(file, line, "high_risk_from applies only to entry high_risk"));
            }
            "all" => Entry::All,
            "none" => Entry::None,
            "high_risk" => Entry::HighRisk {
                from_score: threshold
                    .parse()
                    .map_err(|_| invalid(file, line, format!("high_risk_from `{threshold}` is not a whole number")))?,
            },
            other => return Err(invalid(file, line, format!("entry `{other}` is not all, high_risk or none"))),
        };
        let care_planning = match required_text(file, line, &record, 4, "care_planning")? {
            "yes" => true,
            "no" => false,
            other => return Err(invalid(file, line, format!("care_planning `{other}` is not yes or no"))),
        };
        rules.push(EligibilityRule {
            scope,
            register: register_id.to_owned(),
            entry,
            care_planning,
            source: required_text(file, line, &record, 5, "source")?.to_owned(),
        });
    }
    for known in &catalogue.registers {
        if !rules.iter().any(|rule| rule.scope == Scope::Default && rule.register == known.id) {
            return Err(invalid(file, 0, format!("register `{}` has no default row", known.id)));
        }
    }
    Ok(rules)
}

fn risk_factors(catalogue: &Catalogue, text: &str) -> Result<Vec<RiskFactor>, CatalogueError> {
    let file = RISK_FACTORS_FILE;
    let columns = ["id", "description", "points", "when", "source"];
    let table = records(file, text, &columns, &[])?;
    let mut factors: Vec<RiskFactor> = Vec::new();
    for (line, record) in table.rows {
        let id = required_text(file, line, &record, 0, "id")?;
        if factors.iter().any(|factor| factor.id == id) {
            return Err(invalid(file, line, format!("risk factor `{id}` is defined twice")));
        }
        let points_text = required_text(file, line, &record, 2, "points")?;
        let points =
            points_text.parse::<u32>().ok().filter(|points| (1..=10).contains(points)).ok_or_else(|| {
                invalid(file, line, format!("points `{points_text}` is not a whole number from 1 to 10"))
            })?;
        let when_text = required_text(file, line, &record, 3, "when")?;
        let when = if let Some(rest) = when_text.strip_prefix("emergency_12m") {
            let (comparison, value) = count_comparison(file, line, rest)?;
            RiskWhen::Emergency(comparison, value)
        } else if let Some(rest) = when_text.strip_prefix("unscheduled_gp_12m") {
            let (comparison, value) = count_comparison(file, line, rest)?;
            RiskWhen::UnscheduledGp(comparison, value)
        } else {
            RiskWhen::Person(condition(catalogue, file, line, "when", when_text)?)
        };
        factors.push(RiskFactor {
            id: id.to_owned(),
            description: required_text(file, line, &record, 1, "description")?.to_owned(),
            points,
            when,
            source: required_text(file, line, &record, 4, "source")?.to_owned(),
        });
    }
    Ok(factors)
}

fn recall(text: &str) -> Result<Vec<(Scope, RecallRule)>, CatalogueError> {
    let file = RECALL_FILE;
    let table = records(file, text, &["scope", "rule", "source"], &[])?;
    let mut rules: Vec<(Scope, RecallRule)> = Vec::new();
    for (line, record) in table.rows {
        let scope_text = required_text(file, line, &record, 0, "scope")?;
        let scope = Scope::parse(scope_text).ok_or_else(|| {
            invalid(file, line, format!("scope `{scope_text}` is not default, region:ODS, pcn:ODS or practice:ODS"))
        })?;
        let rule_text = required_text(file, line, &record, 1, "rule")?;
        let rule = RecallRule::parse(rule_text)
            .ok_or_else(|| invalid(file, line, format!("rule `{rule_text}` is not birth_month or month:N (1-12)")))?;
        required_text(file, line, &record, 2, "source")?;
        if rules.iter().any(|(known, _)| *known == scope) {
            return Err(invalid(file, line, format!("`{scope_text}` has two rows")));
        }
        rules.push((scope, rule));
    }
    Ok(rules)
}

fn measures(catalogue: &Catalogue, processes: &[CareProcess], text: &str) -> Result<Vec<Measure>, CatalogueError> {
    let file = MEASURES_FILE;
    let table = records(file, text, &["id", "register", "items", "name", "source"], &[])?;
    let mut measures: Vec<Measure> = Vec::new();
    for (line, record) in table.rows {
        let id = required_text(file, line, &record, 0, "id")?;
        if measures.iter().any(|measure| measure.id == id) {
            return Err(invalid(file, line, format!("measure `{id}` is defined twice")));
        }
        let register_id = required_text(file, line, &record, 1, "register")?;
        register(catalogue, file, line, register_id, false)?;
        let mut items = Vec::new();
        for item in required_text(file, line, &record, 2, "items")?.split_whitespace() {
            if !processes.iter().any(|process| process.item == item && process.register == register_id) {
                return Err(invalid(file, line, format!("item `{item}` is not a care process of `{register_id}`")));
            }
            items.push(item.to_owned());
        }
        measures.push(Measure {
            id: id.to_owned(),
            register: register_id.to_owned(),
            items,
            name: required_text(file, line, &record, 3, "name")?.to_owned(),
            source: required_text(file, line, &record, 4, "source")?.to_owned(),
        });
    }
    Ok(measures)
}

fn count_comparison(file: &str, line: u64, text: &str) -> Result<(Comparison, f64), CatalogueError> {
    let (symbol, number_text) = [">=", "<=", ">", "<"]
        .into_iter()
        .find_map(|symbol| text.strip_prefix(symbol).map(|rest| (symbol, rest)))
        .ok_or_else(|| invalid(file, line, format!("`{text}` needs a comparison such as >=1")))?;
    Ok((comparison(file, line, symbol)?, number(file, line, "when", number_text.trim())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(edit: impl Fn(&mut [String; 6])) -> Result<CycleRules, CatalogueError> {
        let standard = CycleRules::embedded_sources();
        let mut texts = [
            standard.care_processes.to_owned(),
            standard.targets.to_owned(),
            standard.eligibility.to_owned(),
            standard.risk_factors.to_owned(),
            standard.recall.to_owned(),
            standard.measures.to_owned(),
        ];
        edit(&mut texts);
        let sources = CycleRuleSources {
            care_processes: &texts[0],
            targets: &texts[1],
            eligibility: &texts[2],
            risk_factors: &texts[3],
            recall: &texts[4],
            measures: &texts[5],
        };
        CycleRules::load(Catalogue::shared().unwrap(), &sources)
    }

    #[test]
    fn shipped_rules_load() {
        let rules = CycleRules::shared().unwrap();
        let diabetes: Vec<&str> = rules
            .care_processes
            .iter()
            .filter(|process| process.register == "diabetes")
            .map(|process| process.item.as_str())
            .collect();
        assert_eq!(
            diabetes,
            [
                "hba1c",
                "blood_pressure",
                "cholesterol",
                "kidney_function",
                "urine_acr",
                "foot_check",
                "bmi",
                "smoking",
                "retinal_screening"
            ],
            "the eight NDA care processes plus retinal screening"
        );
        let retinal = rules.care_processes.iter().find(|p| p.id == "diabetes.retinal_screening").unwrap();
        assert_eq!(retinal.performed_by, PerformedBy::EyeScreening);
        for register in ["copd", "hypertension", "ckd", "asthma", "heart_failure"] {
            assert!(rules.care_processes.iter().any(|p| p.register == register), "{register} has care processes");
        }
        assert!(rules.care_processes.iter().any(|p| p.register == ANY_REGISTER && p.item == "phq2"));
        assert_eq!(rules.fingerprint.len(), 16);
    }

    #[test]
    fn an_unknown_observable_is_named_with_file_and_line() {
        let error = load_with(|texts| {
            texts[0] = texts[0].replace(
                "diabetes.urine_acr,diabetes,urine_acr,Urine albumin:creatinine ratio,urine_acr,",
                "diabetes.urine_acr,diabetes,urine_acr,Urine albumin:creatinine ratio,urine_albumin,",
            )
        })
        .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("data/care-processes.csv: line "), "{text}");
        assert!(text.contains("observable `urine_albumin`"), "{text}");
    }

    #[test]
    fn inconsistent_rows_are_refused() {
        let error = load_with(|texts| {
            texts[0] = texts[0].replace(",hca,NICE NG136; QOF HYP008", ",clinician,NICE NG136; QOF HYP008")
        })
        .unwrap_err();
        assert!(error.to_string().contains("item `blood_pressure` is performed by hca elsewhere"), "{error}");
        let error = load_with(|texts| texts[1] = texts[1].replace("<=,48,", "<=,480,")).unwrap_err();
        assert!(error.to_string().contains("outside hba1c's plausible range"), "{error}");
        let error = load_with(|texts| {
            texts[2] = texts[2].replace("default,frailty,none,,no,", "default,frailty,sometimes,,no,")
        })
        .unwrap_err();
        assert!(error.to_string().contains("entry `sometimes`"), "{error}");
        let error = load_with(|texts| texts[3] = texts[3].replace(",3,hba1c>86,", ",3,hba1c>>86,")).unwrap_err();
        assert!(error.to_string().contains("data/risk-factors.csv"), "{error}");
        let error =
            load_with(|texts| texts[4] = texts[4].replace("default,birth_month,", "default,month:13,")).unwrap_err();
        assert!(error.to_string().contains("data/recall.csv") && error.to_string().contains("month:13"), "{error}");
        let error =
            load_with(|texts| texts[5] = texts[5].replace("urine_acr foot_check", "urine_acr foot_exam")).unwrap_err();
        assert!(error.to_string().contains("item `foot_exam` is not a care process of `diabetes`"), "{error}");
    }

    #[test]
    fn a_rule_change_changes_the_fingerprint() {
        let changed = load_with(|texts| texts[1] = texts[1].replace("<=,48,", "<=,50,")).unwrap();
        assert_ne!(changed.fingerprint, CycleRules::shared().unwrap().fingerprint);
    }
}
