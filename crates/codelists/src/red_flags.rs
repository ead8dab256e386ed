//! Red-flag rules (`data/red-flags.csv`) and the medicine classes they read
//! (`data/medicine-classes.csv`), compiled in with `include_str!` and validated against the
//! catalogue: every observable, register, codelist and medicine class a rule names must exist,
//! every threshold must parse, every severity must be known, and an urgent or soon rule may only
//! trigger on a red-flag-capable observable (so an unreadable result stays visible instead). Every
//! refusal names the file and line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use concord_domain::criterion::{Condition, Term};
use concord_domain::red_flag::{
    AkiAlgorithm, Band, Bound, Categories, Measure, MedicineClass, RedFlagRule, RuleKind, Scope, Severity, StageMatch,
    classify_medicine,
};
use concord_domain::{Code, CodeSystem, CodedConcept};

use crate::check_digit::{is_valid_loinc, is_valid_sctid};
use crate::load::{field, invalid, metadata, number, records, required_text};
use crate::{Catalogue, CatalogueError};

pub const RED_FLAGS_FILE: &str = "data/red-flags.csv";
pub const MEDICINE_CLASSES_FILE: &str = "data/medicine-classes.csv";

/// The medicine classes of `data/medicine-classes.csv`, with their codelists.
#[derive(Debug, Clone)]
pub struct MedicineClasses {
    pub version: String,
    pub source: String,
    classes: Vec<MedicineClass>,
}

impl MedicineClasses {
    /// The classes compiled into this build, loaded once per process.
    pub fn shared() -> Result<&'static MedicineClasses, &'static CatalogueError> {
        static SHARED: OnceLock<Result<MedicineClasses, CatalogueError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let catalogue = Catalogue::shared().map_err(Clone::clone)?;
                Self::load(catalogue, Self::embedded_text())
            })
            .as_ref()
    }

    pub fn embedded_text() -> &'static str {
        include_str!("../../../data/medicine-classes.csv")
    }

    /// Parses and validates a medicine-classes file against a catalogue (codelists must exist).
    pub fn load(catalogue: &Catalogue, text: &str) -> Result<Self, CatalogueError> {
        medicine_classes_from(catalogue, text)
    }

    pub fn classes(&self) -> &[MedicineClass] {
        &self.classes
    }

    pub fn class(&self, id: &str) -> Option<&MedicineClass> {
        self.classes.iter().find(|class| class.id == id)
    }

    /// The classes a medicine belongs to (sorted ids): by code, by whole word in its display text,
    /// or by a class's `includes` (see [`classify_medicine`]).
    pub fn classify(&self, medicine: &CodedConcept) -> Vec<&str> {
        classify_medicine(&self.classes, medicine)
    }

    /// The classes of a medicine list, as `PersonSnapshot::medicine_classes` wants them.
    pub fn classify_all<'a>(&self, medicines: impl IntoIterator<Item = &'a CodedConcept>) -> BTreeSet<String> {
        medicines.into_iter().flat_map(|medicine| self.classify(medicine)).map(str::to_owned).collect()
    }
}

/// The medicine classes compiled into this build (see [`MedicineClasses::shared`]).
pub fn medicine_classes() -> Result<&'static MedicineClasses, &'static CatalogueError> {
    MedicineClasses::shared()
}

/// The rule-to-severity table of `data/red-flags.csv`.
#[derive(Debug, Clone)]
pub struct RedFlagTable {
    pub version: String,
    pub source: String,
    pub rules: Vec<RedFlagRule>,
}

impl RedFlagTable {
    /// The table compiled into this build, loaded once per process.
    pub fn shared() -> Result<&'static RedFlagTable, &'static CatalogueError> {
        static SHARED: OnceLock<Result<RedFlagTable, CatalogueError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let catalogue = Catalogue::shared().map_err(Clone::clone)?;
                let classes = MedicineClasses::shared().map_err(Clone::clone)?;
                Self::load(catalogue, classes, Self::embedded_text())
            })
            .as_ref()
    }

    pub fn embedded_text() -> &'static str {
        include_str!("../../../data/red-flags.csv")
    }

    /// Parses and validates a red-flag table against a catalogue and the medicine classes.
    pub fn load(catalogue: &Catalogue, classes: &MedicineClasses, text: &str) -> Result<Self, CatalogueError> {
        red_flags_from(catalogue, classes, text)
    }

    pub fn rule(&self, id: &str) -> Option<&RedFlagRule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}

/// The red-flag rules compiled into this build, for `concord_domain::red_flag::evaluate`.
pub fn red_flag_rules() -> Result<&'static [RedFlagRule], &'static CatalogueError> {
    RedFlagTable::shared().map(|table| table.rules.as_slice())
}

fn required_metadata(file: &str, text: &str) -> Result<(String, String), CatalogueError> {
    let meta = metadata(file, text)?;
    let get = |key: &str| match meta.get(key) {
        Some((value, _)) if !value.is_empty() => Ok(value.clone()),
        _ => Err(invalid(file, 1, format!("missing `# {key}:` line"))),
    };
    Ok((get("version")?, get("source")?))
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn list(text: &str, separator: char) -> Vec<String> {
    text.split(separator).map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

fn medicine_classes_from(catalogue: &Catalogue, text: &str) -> Result<MedicineClasses, CatalogueError> {
    let file = MEDICINE_CLASSES_FILE;
    let (version, source) = required_metadata(file, text)?;
    let table = records(file, text, &["id", "name", "codelist", "words", "includes", "source"], &[])?;
    let mut classes: Vec<MedicineClass> = Vec::new();
    let mut lines = HashMap::new();
    for (line, record) in &table.rows {
        let line = *line;
        let id = required_text(file, line, record, 0, "id")?;
        if !is_identifier(id) {
            return Err(invalid(file, line, format!("id `{id}` must be lower-case letters, digits and _")));
        }
        if classes.iter().any(|class| class.id == id) {
            return Err(invalid(file, line, format!("medicine class `{id}` is defined twice")));
        }
        let codelist_id = required_text(file, line, record, 2, "codelist")?;
        let codes = catalogue
            .codelist(codelist_id)
            .ok_or_else(|| invalid(file, line, format!("codelist `{codelist_id}` does not exist in data/codelists")))?
            .clone();
        let words: Vec<String> = list(field(record, 3), ';');
        for word in &words {
            let allowed = word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == ' ');
            if !allowed || !word.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err(invalid(
                    file,
                    line,
                    format!("word `{word}` must be lower case (letters, digits, - and spaces)"),
                ));
            }
        }
        if words.iter().collect::<BTreeSet<_>>().len() != words.len() {
            return Err(invalid(file, line, format!("class `{id}` lists a word twice")));
        }
        let includes = list(field(record, 4), ';');
        if includes.iter().any(|included| included == id) {
            return Err(invalid(file, line, format!("class `{id}` includes itself")));
        }
        lines.insert(id.to_owned(), line);
        classes.push(MedicineClass {
            id: id.to_owned(),
            name: required_text(file, line, record, 1, "name")?.to_owned(),
            codes,
            words,
            includes,
            source: required_text(file, line, record, 5, "source")?.to_owned(),
        });
    }
    if classes.is_empty() {
        return Err(invalid(file, 0, "defines no medicine classes"));
    }
    for class in &classes {
        let line = lines[&class.id];
        for included in &class.includes {
            if !classes.iter().any(|other| &other.id == included) {
                return Err(invalid(file, line, format!("class `{}` includes unknown class `{included}`", class.id)));
            }
        }
        if includes_itself(&classes, &class.id) {
            return Err(invalid(file, line, format!("class `{}` includes itself through another class", class.id)));
        }
    }
    Ok(MedicineClasses { version, source, classes })
}

fn includes_itself(classes: &[MedicineClass], start: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut frontier: Vec<&str> = vec![start];
    while let Some(id) = frontier.pop() {
        let Some(class) = classes.iter().find(|class| class.id == id) else { continue };
        for included in &class.includes {
            if included == start {
                return true;
            }
            if seen.insert(included.as_str()) {
                frontier.push(included);
            }
        }
    }
    false
}

const RED_FLAG_COLUMNS: [&str; 10] =
    ["id", "name", "severity", "kind", "observables", "parameters", "applies_when", "window_days", "action", "source"];

/// One row being read: its parameters, each consumed once; any left over is a typo and refused.
struct Row<'a> {
    file: &'a str,
    line: u64,
    parameters: BTreeMap<String, String>,
}

impl Row<'_> {
    fn error(&self, reason: impl Into<String>) -> CatalogueError {
        invalid(self.file, self.line, reason)
    }

    fn take(&mut self, key: &str) -> Option<String> {
        self.parameters.remove(key)
    }

    fn text(&mut self, key: &str) -> Result<String, CatalogueError> {
        self.take(key).ok_or_else(|| self.error(format!("parameter `{key}` is missing")))
    }

    fn number(&mut self, key: &str) -> Result<f64, CatalogueError> {
        let text = self.text(key)?;
        number(self.file, self.line, key, &text)
    }

    fn optional_number(&mut self, key: &str) -> Result<Option<f64>, CatalogueError> {
        match self.take(key) {
            None => Ok(None),
            Some(text) => number(self.file, self.line, key, &text).map(Some),
        }
    }

    fn days(&mut self, key: &str) -> Result<i64, CatalogueError> {
        let text = self.text(key)?;
        text.parse::<i64>()
            .ok()
            .filter(|days| (1..=3650).contains(days))
            .ok_or_else(|| self.error(format!("{key} `{text}` must be a whole number of days from 1 to 3650")))
    }

    fn band(&mut self) -> Result<Band, CatalogueError> {
        let at_least = self.optional_number("at_least")?.map(Bound::Inclusive);
        let above = self.optional_number("above")?.map(Bound::Exclusive);
        let below = self.optional_number("below")?.map(Bound::Exclusive);
        let at_most = self.optional_number("at_most")?.map(Bound::Inclusive);
        if at_least.is_some() && above.is_some() {
            return Err(self.error("give at_least or above, not both"));
        }
        if below.is_some() && at_most.is_some() {
            return Err(self.error("give below or at_most, not both"));
        }
        let band = Band { lower: at_least.or(above), upper: below.or(at_most) };
        if band.is_unusable() {
            return Err(self.error(format!("the band `{}` cannot be met or has no limit", band.describe())));
        }
        Ok(band)
    }

    fn finish(&self) -> Result<(), CatalogueError> {
        match self.parameters.keys().next() {
            Some(key) => Err(self.error(format!("parameter `{key}` is not used by this kind of rule"))),
            None => Ok(()),
        }
    }
}

fn parameters(file: &str, line: u64, text: &str) -> Result<BTreeMap<String, String>, CatalogueError> {
    let mut parameters = BTreeMap::new();
    for pair in text.split(';').map(str::trim).filter(|pair| !pair.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(invalid(file, line, format!("parameter `{pair}` must read key=value")));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            return Err(invalid(file, line, format!("parameter `{pair}` must read key=value")));
        }
        if parameters.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(invalid(file, line, format!("parameter `{key}` is given twice")));
        }
    }
    Ok(parameters)
}

fn red_flags_from(
    catalogue: &Catalogue,
    classes: &MedicineClasses,
    text: &str,
) -> Result<RedFlagTable, CatalogueError> {
    let file = RED_FLAGS_FILE;
    let (version, source) = required_metadata(file, text)?;
    let table = records(file, text, &RED_FLAG_COLUMNS, &[])?;
    let mut rules: Vec<RedFlagRule> = Vec::new();
    let mut aki: Option<(AkiAlgorithm, String)> = None;
    for (line, record) in &table.rows {
        let line = *line;
        let id = required_text(file, line, record, 0, "id")?;
        if !is_identifier(id) {
            return Err(invalid(file, line, format!("id `{id}` must be lower-case letters, digits and _")));
        }
        if rules.iter().any(|rule| rule.id == id) {
            return Err(invalid(file, line, format!("rule `{id}` is defined twice")));
        }
        let severity_text = required_text(file, line, record, 2, "severity")?;
        let severity = Severity::parse(severity_text).ok_or_else(|| {
            invalid(file, line, format!("severity `{severity_text}` must be urgent, soon or routine"))
        })?;
        let kind_name = required_text(file, line, record, 3, "kind")?;
        let observables = list(required_text(file, line, record, 4, "observables")?, ';');
        for observable in &observables {
            if catalogue.observable(observable).is_none() {
                return Err(invalid(file, line, format!("observable `{observable}` is not in data/observables.csv")));
            }
        }
        let mut row = Row { file, line, parameters: parameters(file, line, field(record, 5))? };
        if let Some(allowed) = allowed_parameters(kind_name)
            && let Some(unknown) = row.parameters.keys().find(|key| !allowed.contains(&key.as_str()))
        {
            return Err(row.error(format!("parameter `{unknown}` is not used by a {kind_name} rule")));
        }
        let kind = rule_kind(catalogue, &mut row, kind_name, &observables)?;
        row.finish()?;
        if let RuleKind::Aki { algorithm, .. } = &kind {
            match &aki {
                Some((first, first_id)) if first != algorithm => {
                    return Err(invalid(
                        file,
                        line,
                        format!(
                            "AKI algorithm parameters differ from rule `{first_id}`: every AKI rule must stage alike"
                        ),
                    ));
                }
                Some(_) => {}
                None => aki = Some((algorithm.clone(), id.to_owned())),
            }
        }
        if severity != Severity::Routine {
            let triggering = &observables[0];
            let capable = catalogue.observable(triggering).is_some_and(|observable| observable.red_flag_capable);
            if !capable {
                return Err(invalid(
                    file,
                    line,
                    format!(
                        "a {severity} rule triggers on `{triggering}`, which is not red_flag_capable in data/observables.csv (an unreadable result would be dropped, not kept visible)"
                    ),
                ));
            }
        }
        let applies_when = applies_when(catalogue, classes, file, line, field(record, 6))?;
        let window_text = required_text(file, line, record, 7, "window_days")?;
        let window_days =
            window_text.parse::<i64>().ok().filter(|days| (1..=3650).contains(days)).ok_or_else(|| {
                invalid(
                    file,
                    line,
                    format!("window_days `{window_text}` must be a whole number of days from 1 to 3650"),
                )
            })?;
        rules.push(RedFlagRule {
            id: id.to_owned(),
            name: required_text(file, line, record, 1, "name")?.to_owned(),
            severity,
            kind,
            applies_when,
            window_days,
            action: required_text(file, line, record, 8, "action")?.to_owned(),
            source: required_text(file, line, record, 9, "source")?.to_owned(),
        });
    }
    if rules.is_empty() {
        return Err(invalid(file, 0, "defines no rules"));
    }
    Ok(RedFlagTable { version, source, rules })
}

fn applies_when(
    catalogue: &Catalogue,
    classes: &MedicineClasses,
    file: &str,
    line: u64,
    text: &str,
) -> Result<Condition, CatalogueError> {
    let condition = Condition::parse(text).map_err(|error| invalid(file, line, format!("applies_when: {error}")))?;
    for observable in condition.observables() {
        if catalogue.observable(observable).is_none() {
            return Err(invalid(
                file,
                line,
                format!("applies_when: observable `{observable}` is not in data/observables.csv"),
            ));
        }
    }
    fn walk<'a>(term: &'a Term, registers: &mut Vec<&'a str>, medicines: &mut Vec<&'a str>) {
        match term {
            Term::OnRegister(register) => registers.push(register),
            Term::Takes(class) => medicines.push(class),
            Term::Not(inner) => walk(inner, registers, medicines),
            _ => {}
        }
    }
    let (mut registers, mut medicines) = (Vec::new(), Vec::new());
    for term in condition.any_of.iter().flatten() {
        walk(term, &mut registers, &mut medicines);
    }
    for register in registers {
        if catalogue.register(register).is_none() {
            return Err(invalid(
                file,
                line,
                format!("applies_when: register `{register}` is not in data/registers.csv"),
            ));
        }
    }
    for class in medicines {
        if classes.class(class).is_none() {
            return Err(invalid(
                file,
                line,
                format!("applies_when: medicine class `{class}` is not in {MEDICINE_CLASSES_FILE}"),
            ));
        }
    }
    Ok(condition)
}

/// The observables a kind needs, by position, each checked to be numeric (or coded) as required.
fn observable_at<'c>(
    catalogue: &'c Catalogue,
    row: &Row<'_>,
    observables: &[String],
    index: usize,
    numeric: bool,
) -> Result<&'c concord_domain::codelist::ObservableDefinition, CatalogueError> {
    let id = observables
        .get(index)
        .ok_or_else(|| row.error(format!("observables must list {} observable(s) for this kind", index + 1)))?;
    let observable = catalogue.observable(id).ok_or_else(|| row.error(format!("observable `{id}` is unknown")))?;
    if numeric && observable.canonical_unit.is_none() {
        return Err(row.error(format!("observable `{id}` is a coded finding; this kind needs a numeric observable")));
    }
    Ok(observable)
}

fn measure(row: &mut Row<'_>, observable: &concord_domain::codelist::ObservableDefinition, label_key: &str) -> Measure {
    Measure {
        observable: observable.id.clone(),
        label: row.take(label_key).unwrap_or_else(|| observable.name.clone()),
        unit: observable.canonical_unit.as_ref().map(|unit| unit.display()).unwrap_or_default(),
        decimals: observable.decimals,
    }
}

fn expect_count(row: &Row<'_>, observables: &[String], count: usize) -> Result<(), CatalogueError> {
    if observables.len() == count {
        Ok(())
    } else {
        Err(row.error(format!("this kind reads {count} observable(s), {} listed", observables.len())))
    }
}

fn rule_kind(
    catalogue: &Catalogue,
    row: &mut Row<'_>,
    kind: &str,
    observables: &[String],
) -> Result<RuleKind, CatalogueError> {
    Ok(match kind {
        "threshold" => {
            expect_count(row, observables, 1)?;
            let observable = observable_at(catalogue, row, observables, 0, true)?;
            let band = row.band()?;
            let scope = match row.take("scope") {
                None => Scope::Each,
                Some(text) => {
                    Scope::parse(&text).ok_or_else(|| row.error(format!("scope `{text}` must be each or latest")))?
                }
            };
            RuleKind::Threshold { measure: measure(row, observable, "label"), band, scope }
        }
        "blood_pressure" => {
            expect_count(row, observables, 2)?;
            let systolic = observable_at(catalogue, row, observables, 0, true)?;
            let diastolic = observable_at(catalogue, row, observables, 1, true)?;
            RuleKind::BloodPressure {
                systolic: measure(row, systolic, "systolic_label"),
                diastolic: measure(row, diastolic, "diastolic_label"),
                systolic_at_least: row.number("systolic_at_least")?,
                diastolic_at_least: row.number("diastolic_at_least")?,
            }
        }
        "aki" => {
            expect_count(row, observables, 1)?;
            let creatinine = observable_at(catalogue, row, observables, 0, true)?;
            let stage = match (row.take("stage"), row.take("stage_at_least")) {
                (Some(stage), None) => StageMatch::Exactly(aki_stage(row, &stage)?),
                (None, Some(stage)) => StageMatch::AtLeast(aki_stage(row, &stage)?),
                _ => return Err(row.error("give exactly one of stage and stage_at_least")),
            };
            RuleKind::Aki { creatinine: measure(row, creatinine, "label"), stage, algorithm: aki_algorithm(row)? }
        }
        "creatinine_without_baseline" => {
            expect_count(row, observables, 1)?;
            let creatinine = observable_at(catalogue, row, observables, 0, true)?;
            RuleKind::CreatinineWithoutBaseline {
                creatinine: measure(row, creatinine, "label"),
                above: row.number("above")?,
                lookback_days: row.days("lookback_days")?,
            }
        }
        "newly_below" => {
            expect_count(row, observables, 1)?;
            let observable = observable_at(catalogue, row, observables, 0, true)?;
            RuleKind::NewlyBelow { measure: measure(row, observable, "label"), below: row.number("below")? }
        }
        "sustained_fall" => {
            expect_count(row, observables, 1)?;
            let observable = observable_at(catalogue, row, observables, 0, true)?;
            let fall_percent = row.number("fall_percent")?;
            if !(fall_percent > 0.0 && fall_percent < 100.0) {
                return Err(row.error(format!("fall_percent {fall_percent} must be between 0 and 100")));
            }
            let lookback_days = row.days("lookback_days")?;
            let text = row.text("categories")?;
            let categories = categories(row, &text)?;
            RuleKind::SustainedFall {
                measure: measure(row, observable, "label"),
                fall_percent,
                lookback_days,
                categories,
            }
        }
        "coded_finding" => {
            expect_count(row, observables, 1)?;
            let observable = observable_at(catalogue, row, observables, 0, false)?;
            let mut terms: Vec<(Code, String)> =
                observable.codes.codes().map(|(code, term)| (code.clone(), term.to_owned())).collect();
            terms.sort();
            RuleKind::CodedFinding {
                observable: observable.id.clone(),
                label: row.take("label").unwrap_or_else(|| observable.name.clone()),
                terms,
            }
        }
        "answer_other_than" => {
            expect_count(row, observables, 1)?;
            // Coded (an answer code) or numeric (a score): both are read.
            let observable = observable_at(catalogue, row, observables, 0, false)?;
            let safe_value_at_most = row.number("safe_value_at_most")?;
            let answers = row.text("safe_answers")?;
            let safe_answers =
                answers.split('|').map(|answer| answer_code(row, answer.trim())).collect::<Result<_, _>>()?;
            RuleKind::AnswerOtherThan { measure: measure(row, observable, "label"), safe_value_at_most, safe_answers }
        }
        "threshold_without_record" => {
            expect_count(row, observables, 2)?;
            let observable = observable_at(catalogue, row, observables, 0, true)?;
            let record = observable_at(catalogue, row, observables, 1, false)?;
            let band = row.band()?;
            RuleKind::ThresholdWithoutRecord {
                measure: measure(row, observable, "label"),
                band,
                record_observable: record.id.clone(),
                record_label: row.take("record_label").unwrap_or_else(|| record.name.clone()),
                record_lookback_days: row.days("record_lookback_days")?,
            }
        }
        other => {
            return Err(row.error(format!(
                "kind `{other}` is not known (threshold, blood_pressure, aki, creatinine_without_baseline, newly_below, sustained_fall, coded_finding, answer_other_than, threshold_without_record)"
            )));
        }
    })
}

const BAND: [&str; 4] = ["at_least", "above", "below", "at_most"];
const AKI_ALGORITHM: [&str; 6] =
    ["rv1_days", "rv2_days", "ratios", "stage3_creatinine_above", "rise_hours", "rise_above"];

/// The parameters each kind reads (a typo is refused before anything is parsed).
fn allowed_parameters(kind: &str) -> Option<Vec<&'static str>> {
    let mut allowed = vec!["label"];
    match kind {
        "threshold" => allowed.extend(BAND.iter().chain(&["scope"])),
        "blood_pressure" => {
            allowed.extend(["systolic_at_least", "diastolic_at_least", "systolic_label", "diastolic_label"])
        }
        "aki" => allowed.extend(AKI_ALGORITHM.iter().chain(&["stage", "stage_at_least"])),
        "creatinine_without_baseline" => allowed.extend(["above", "lookback_days"]),
        "newly_below" => allowed.push("below"),
        "sustained_fall" => allowed.extend(["fall_percent", "lookback_days", "categories"]),
        "coded_finding" => {}
        "answer_other_than" => allowed.extend(["safe_value_at_most", "safe_answers"]),
        "threshold_without_record" => allowed.extend(BAND.iter().chain(&["record_lookback_days", "record_label"])),
        _ => return None,
    }
    Some(allowed)
}

fn aki_stage(row: &Row<'_>, text: &str) -> Result<u8, CatalogueError> {
    text.parse::<u8>()
        .ok()
        .filter(|stage| (1..=3).contains(stage))
        .ok_or_else(|| row.error(format!("AKI stage `{text}` must be 1, 2 or 3")))
}

fn day_range(row: &Row<'_>, key: &str, text: &str) -> Result<(i64, i64), CatalogueError> {
    let parsed = text
        .split_once('-')
        .and_then(|(from, to)| Some((from.trim().parse::<i64>().ok()?, to.trim().parse::<i64>().ok()?)));
    match parsed {
        Some((from, to)) if from >= 0 && from <= to => Ok((from, to)),
        _ => Err(row.error(format!("{key} `{text}` must read from-to in days, e.g. 8-365"))),
    }
}

fn aki_algorithm(row: &mut Row<'_>) -> Result<AkiAlgorithm, CatalogueError> {
    let rv1 = row.text("rv1_days")?;
    let (rv1_from, rv1_max_days) = day_range(row, "rv1_days", &rv1)?;
    if rv1_from != 0 {
        return Err(
            row.error("rv1_days must start at 0 (the lowest result in the previous days, the same day included)")
        );
    }
    let rv2 = row.text("rv2_days")?;
    let (rv2_min_days, rv2_max_days) = day_range(row, "rv2_days", &rv2)?;
    if rv2_min_days <= rv1_max_days {
        return Err(row.error("rv2_days must start after rv1_days ends"));
    }
    let ratios_text = row.text("ratios")?;
    let ratios: Vec<f64> = ratios_text.split('/').filter_map(|ratio| ratio.trim().parse::<f64>().ok()).collect();
    let stage_ratios: [f64; 3] = match ratios.as_slice() {
        [one, two, three] if *one > 1.0 && one < two && two < three && three.is_finite() => [*one, *two, *three],
        _ => {
            return Err(
                row.error(format!("ratios `{ratios_text}` must be three increasing ratios above 1, e.g. 1.5/2/3"))
            );
        }
    };
    let stage3_creatinine_above = row.number("stage3_creatinine_above")?;
    let rise_hours_text = row.text("rise_hours")?;
    let rise_hours = rise_hours_text
        .parse::<i64>()
        .ok()
        .filter(|hours| (1..=24 * 30).contains(hours))
        .ok_or_else(|| row.error(format!("rise_hours `{rise_hours_text}` must be a whole number of hours")))?;
    let rise_above = row.number("rise_above")?;
    if stage3_creatinine_above <= 0.0 || rise_above <= 0.0 {
        return Err(row.error("stage3_creatinine_above and rise_above must be positive"));
    }
    Ok(AkiAlgorithm {
        rv1_max_days,
        rv2_min_days,
        rv2_max_days,
        stage_ratios,
        stage3_creatinine_above,
        rise_hours,
        rise_above,
    })
}

/// `G1>=90/G2>=60/G3a>=45/G3b>=30/G4>=15/G5`: categories best first, each but the last with its floor.
fn categories(row: &Row<'_>, text: &str) -> Result<Categories, CatalogueError> {
    let parts: Vec<&str> = text.split('/').map(str::trim).collect();
    let bad = || row.error(format!("categories `{text}` must read like G1>=90/G2>=60/G3a>=45/G3b>=30/G4>=15/G5"));
    let (last, with_floors) = parts.split_last().ok_or_else(bad)?;
    if with_floors.is_empty() || last.is_empty() || last.contains(">=") {
        return Err(bad());
    }
    let mut floors = Vec::new();
    for part in with_floors {
        let (name, floor) = part.split_once(">=").ok_or_else(bad)?;
        let floor: f64 = floor.trim().parse().map_err(|_| bad())?;
        if name.trim().is_empty() || floors.last().is_some_and(|(_, previous): &(String, f64)| floor >= *previous) {
            return Err(bad());
        }
        floors.push((name.trim().to_owned(), floor));
    }
    Ok(Categories { floors, last: (*last).to_owned() })
}

/// `loinc:LA6568-5` or `snomed:…`: an answer code, checked for its system's format.
fn answer_code(row: &Row<'_>, text: &str) -> Result<Code, CatalogueError> {
    let (system, code) =
        text.split_once(':').ok_or_else(|| row.error(format!("answer `{text}` must read system:code")))?;
    let (system, code) = (system.trim(), code.trim());
    let well_formed = match system {
        // LOINC answer codes (LA…) carry their own check digit scheme; their shape is checked here.
        "loinc" => match code.strip_prefix("LA") {
            Some(rest) => rest.split_once('-').is_some_and(|(body, check)| {
                !body.is_empty()
                    && body.bytes().all(|byte| byte.is_ascii_digit())
                    && check.len() == 1
                    && check.bytes().all(|byte| byte.is_ascii_digit())
            }),
            None => is_valid_loinc(code),
        },
        "snomed" => is_valid_sctid(code),
        _ => false,
    };
    if !well_formed {
        return Err(row.error(format!("answer `{text}` is not a well-formed LOINC or SNOMED CT code")));
    }
    Ok(Code::new(if system == "loinc" { CodeSystem::Loinc } else { CodeSystem::Snomed }, code))
}
