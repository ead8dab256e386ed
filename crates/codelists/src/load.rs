//! Parsing and validating the catalogue files. Every failure names the file and line.
//!
//! File shape: leading `# key: value` metadata lines, then a CSV header and rows. Blank lines
//! and further `#` lines are ignored by the CSV reader, but line numbers still count them.

use std::collections::{HashMap, HashSet};

use concord_domain::codelist::{Codelist, ObservableDefinition, RegisterDefinition};
use concord_domain::units::{LinearConversion, Ucum, normalise_unit};
use concord_domain::{Code, CodeSystem};
use csv::StringRecord;
use time::Date;
use time::macros::format_description;

use crate::check_digit::{is_valid_loinc, is_valid_sctid};
use crate::{Catalogue, CatalogueError};

/// The text of every catalogue file, as embedded at build time or given by a test.
pub(crate) struct Sources<'a> {
    /// `(file name, text)` of each `data/codelists/*.csv`.
    pub codelists: &'a [(&'a str, &'a str)],
    pub registers: &'a str,
    pub observables: &'a str,
    pub unit_conversions: &'a str,
}

pub(crate) const CODELIST_DIR: &str = "data/codelists";
const REGISTERS_FILE: &str = "data/registers.csv";
const OBSERVABLES_FILE: &str = "data/observables.csv";
const CONVERSIONS_FILE: &str = "data/unit-conversions.csv";

/// Builds the catalogue from its files, refusing anything malformed or inconsistent.
pub(crate) fn catalogue(sources: &Sources<'_>) -> Result<Catalogue, CatalogueError> {
    let mut codelists = HashMap::new();
    let mut implied_values = HashMap::new();
    for (file_name, text) in sources.codelists {
        let parsed = codelist(file_name, text)?;
        for (code, value) in parsed.implied_values {
            implied_values.insert(code, value);
        }
        codelists.insert(parsed.codelist.id.clone(), parsed.codelist);
    }
    let (registers, register_notes) = registers(sources.registers, &codelists)?;
    let mut observables = observables(sources.observables, &codelists)?;
    unit_conversions(sources.unit_conversions, &mut observables)?;
    let mut catalogue = Catalogue::from_parts(codelists, registers, observables)?;
    catalogue.implied_values = implied_values;
    catalogue.register_notes = register_notes;
    Ok(catalogue)
}

struct ParsedCodelist {
    codelist: Codelist,
    implied_values: Vec<(Code, f64)>,
}

pub(crate) fn invalid(file: &str, line: u64, reason: impl Into<String>) -> CatalogueError {
    CatalogueError::Invalid { file: file.to_owned(), line, reason: reason.into() }
}

/// The `# key: value` lines at the top of a file, with the line each came from.
pub(crate) fn metadata(file: &str, text: &str) -> Result<HashMap<String, (String, u64)>, CatalogueError> {
    let mut entries = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index as u64 + 1;
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.split_once(':') else {
            return Err(invalid(file, line_number, "a metadata line must read `# key: value`"));
        };
        let key = key.trim().to_owned();
        // Repeated keys (several `# note:` lines) keep the first; only id, version and source are read.
        entries.entry(key).or_insert_with(|| (value.trim().to_owned(), line_number));
    }
    Ok(entries)
}

/// A file's CSV part: its header columns and each record with the line it starts on.
pub(crate) struct Table {
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<(u64, StringRecord)>,
}

/// Reads the CSV part of a file, skipping `#` lines, and checks the header: the `required`
/// columns in order, then only columns from `optional`.
pub(crate) fn records(file: &str, text: &str, required: &[&str], optional: &[&str]) -> Result<Table, CatalogueError> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).flexible(false).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|error| csv_error(file, &error))?.clone();
    let columns: Vec<String> = header.iter().map(|column| column.trim().to_owned()).collect();
    let expected_prefix = required.iter().map(|column| column.to_string()).collect::<Vec<_>>();
    let extra_allowed = columns.len() >= required.len()
        && columns[..required.len()] == expected_prefix[..]
        && columns[required.len()..].iter().all(|column| optional.contains(&column.as_str()));
    if !extra_allowed {
        let line = header.position().map_or(1, |position| position.line());
        return Err(invalid(
            file,
            line,
            format!("header is `{}`, expected `{}`", columns.join(","), required.join(",")),
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(file, &error))?;
        let line = record.position().map_or(0, |position| position.line());
        rows.push((line, record));
    }
    Ok(Table { columns, rows })
}

fn csv_error(file: &str, error: &csv::Error) -> CatalogueError {
    let line = error.position().map_or(0, |position| position.line());
    invalid(file, line, format!("malformed CSV: {error}"))
}

pub(crate) fn field(record: &StringRecord, index: usize) -> &str {
    record.get(index).unwrap_or("").trim()
}

fn codelist(file_name: &str, text: &str) -> Result<ParsedCodelist, CatalogueError> {
    let file = format!("{CODELIST_DIR}/{file_name}");
    let meta = metadata(&file, text)?;
    let stem = file_name.strip_suffix(".csv").unwrap_or(file_name);
    let required_meta = |key: &str| -> Result<String, CatalogueError> {
        match meta.get(key) {
            Some((value, _)) if !value.is_empty() => Ok(value.clone()),
            _ => Err(invalid(&file, 1, format!("missing `# {key}:` line"))),
        }
    };
    let id = required_meta("id")?;
    if id != stem {
        let line = meta.get("id").map_or(1, |(_, line)| *line);
        return Err(invalid(&file, line, format!("id `{id}` does not match the file name `{stem}`")));
    }
    let mut codelist = Codelist::new(id, required_meta("version")?, required_meta("source")?);

    let Table { columns, rows } = records(&file, text, &["system", "code", "term"], &["value"])?;
    let has_value = columns.len() == 4;
    let mut implied_values = Vec::new();
    for (line, record) in rows {
        let code = code(&file, line, field(&record, 0), field(&record, 1))?;
        let term = field(&record, 2);
        if term.is_empty() {
            return Err(invalid(&file, line, format!("{code} has no term")));
        }
        if has_value {
            let value = field(&record, 3);
            if !value.is_empty() {
                let value = number(&file, line, "value", value)?;
                implied_values.push((code.clone(), value));
            }
        }
        if !codelist.insert(code.clone(), term) {
            return Err(invalid(&file, line, format!("{code} is listed twice")));
        }
    }
    if codelist.is_empty() {
        return Err(invalid(&file, 0, "lists no codes"));
    }
    Ok(ParsedCodelist { codelist, implied_values })
}

/// A code as listed in a codelist file, checked for its system's format and check digit.
fn code(file: &str, line: u64, system: &str, code: &str) -> Result<Code, CatalogueError> {
    if code.is_empty() {
        return Err(invalid(file, line, "empty code"));
    }
    let (system, well_formed, rule) = match system {
        "snomed" => (CodeSystem::Snomed, is_valid_sctid(code), "6 to 18 digits with a valid Verhoeff check digit"),
        // dm+d identifiers use the SNOMED CT identifier format, check digit included.
        "dmd" => (CodeSystem::Dmd, is_valid_sctid(code), "6 to 18 digits with a valid Verhoeff check digit"),
        "loinc" => (CodeSystem::Loinc, is_valid_loinc(code), "digits-digit with a valid LOINC check digit"),
        "rxnorm" => (CodeSystem::RxNorm, code.bytes().all(|byte| byte.is_ascii_digit()), "digits"),
        other => {
            return Err(invalid(file, line, format!("unknown code system `{other}` (snomed, loinc, dmd or rxnorm)")));
        }
    };
    if !well_formed {
        return Err(invalid(file, line, format!("{system:?} code `{code}` is not {rule}")));
    }
    Ok(Code::new(system, code))
}

pub(crate) fn number(file: &str, line: u64, column: &str, text: &str) -> Result<f64, CatalogueError> {
    let parsed = match text.split_once('/') {
        Some((numerator, denominator)) => match (numerator.trim().parse::<f64>(), denominator.trim().parse::<f64>()) {
            (Ok(numerator), Ok(denominator)) if denominator != 0.0 => Some(numerator / denominator),
            _ => None,
        },
        None => text.parse::<f64>().ok(),
    };
    match parsed {
        Some(value) if value.is_finite() => Ok(value),
        _ => Err(invalid(file, line, format!("{column} `{text}` is not a number"))),
    }
}

pub(crate) fn listed<'c>(
    file: &str,
    line: u64,
    codelists: &'c HashMap<String, Codelist>,
    id: &str,
) -> Result<&'c Codelist, CatalogueError> {
    codelists.get(id).ok_or_else(|| invalid(file, line, format!("codelist `{id}` does not exist in {CODELIST_DIR}")))
}

pub(crate) fn required_text<'r>(
    file: &str,
    line: u64,
    record: &'r StringRecord,
    index: usize,
    column: &str,
) -> Result<&'r str, CatalogueError> {
    let text = field(record, index);
    if text.is_empty() {
        return Err(invalid(file, line, format!("{column} is empty")));
    }
    Ok(text)
}

type RegisterNotes = HashMap<String, String>;

fn registers(
    text: &str,
    codelists: &HashMap<String, Codelist>,
) -> Result<(Vec<RegisterDefinition>, RegisterNotes), CatalogueError> {
    let file = REGISTERS_FILE;
    let columns = [
        "id",
        "name",
        "diagnosis_codelist",
        "resolved_codelist",
        "minimum_age",
        "diagnosed_on_or_after",
        "source",
        "note",
    ];
    let Table { rows, .. } = records(file, text, &columns, &["plain_name"])?;
    let mut registers: Vec<RegisterDefinition> = Vec::new();
    let mut notes = HashMap::new();
    for (line, record) in rows {
        let id = required_text(file, line, &record, 0, "id")?;
        if registers.iter().any(|register| register.id == id) {
            return Err(invalid(file, line, format!("register `{id}` is defined twice")));
        }
        let diagnosis = listed(file, line, codelists, required_text(file, line, &record, 2, "diagnosis_codelist")?)?;
        let resolved = match field(&record, 3) {
            "" => None,
            resolved => Some(listed(file, line, codelists, resolved)?.clone()),
        };
        let minimum_age = match field(&record, 4) {
            "" => None,
            age => Some(
                age.parse::<i32>()
                    .ok()
                    .filter(|age| (0..=120).contains(age))
                    .ok_or_else(|| invalid(file, line, format!("minimum_age `{age}` is not an age in years")))?,
            ),
        };
        let diagnosed_on_or_after = match field(&record, 5) {
            "" => None,
            date => Some(Date::parse(date, format_description!("[year]-[month]-[day]")).map_err(|_| {
                invalid(file, line, format!("diagnosed_on_or_after `{date}` is not a YYYY-MM-DD date"))
            })?),
        };
        let note = field(&record, 7);
        if !note.is_empty() {
            notes.insert(id.to_owned(), note.to_owned());
        }
        registers.push(RegisterDefinition {
            id: id.to_owned(),
            name: required_text(file, line, &record, 1, "name")?.to_owned(),
            diagnosis: diagnosis.clone(),
            resolved,
            minimum_age,
            diagnosed_on_or_after,
            source: required_text(file, line, &record, 6, "source")?.to_owned(),
            plain_name: Some(field(&record, 8)).filter(|name| !name.is_empty()).map(str::to_owned),
        });
    }
    Ok((registers, notes))
}

/// A unit as written in a data file: it must already be the UCUM form `normalise_unit` produces,
/// so the catalogue and imported values meet on one spelling.
fn ucum(file: &str, line: u64, written: &str) -> Result<Ucum, CatalogueError> {
    match normalise_unit(written) {
        Some(unit) if unit.as_str() == written => Ok(unit),
        Some(unit) => Err(invalid(file, line, format!("unit `{written}` should be written `{}`", unit.as_str()))),
        None => Err(invalid(file, line, format!("unit `{written}` is not recognised by normalise_unit"))),
    }
}

fn observables(text: &str, codelists: &HashMap<String, Codelist>) -> Result<Vec<ObservableDefinition>, CatalogueError> {
    let file = OBSERVABLES_FILE;
    let columns = [
        "id",
        "name",
        "codelist",
        "canonical_unit",
        "decimals",
        "plausible_low",
        "plausible_high",
        "red_flag_capable",
        "source",
    ];
    let Table { rows, .. } = records(file, text, &columns, &[])?;
    let mut observables: Vec<ObservableDefinition> = Vec::new();
    for (line, record) in rows {
        let id = required_text(file, line, &record, 0, "id")?;
        if observables.iter().any(|observable| observable.id == id) {
            return Err(invalid(file, line, format!("observable `{id}` is defined twice")));
        }
        let codes = listed(file, line, codelists, required_text(file, line, &record, 2, "codelist")?)?.clone();
        let canonical_unit = match field(&record, 3) {
            "" => None,
            unit => Some(ucum(file, line, unit)?),
        };
        let decimals = field(&record, 4)
            .parse::<u32>()
            .ok()
            .filter(|decimals| *decimals <= 6)
            .ok_or_else(|| invalid(file, line, "decimals must be a whole number from 0 to 6"))?;
        let plausible_range = match (field(&record, 5), field(&record, 6)) {
            ("", "") => None,
            (low, high) if !low.is_empty() && !high.is_empty() => {
                let low = number(file, line, "plausible_low", low)?;
                let high = number(file, line, "plausible_high", high)?;
                if low >= high {
                    return Err(invalid(file, line, format!("plausible range {low} to {high} is empty")));
                }
                Some((low, high))
            }
            _ => return Err(invalid(file, line, "give both plausible_low and plausible_high, or neither")),
        };
        if canonical_unit.is_none() && plausible_range.is_some() {
            return Err(invalid(file, line, "a coded observable (no canonical_unit) cannot have a plausible range"));
        }
        let red_flag_capable = match field(&record, 7) {
            "true" => true,
            "false" => false,
            other => return Err(invalid(file, line, format!("red_flag_capable `{other}` must be true or false"))),
        };
        observables.push(ObservableDefinition {
            id: id.to_owned(),
            name: required_text(file, line, &record, 1, "name")?.to_owned(),
            codes,
            canonical_unit,
            decimals,
            conversions: Vec::new(),
            plausible_range,
            red_flag_capable,
            source: required_text(file, line, &record, 8, "source")?.to_owned(),
        });
    }
    Ok(observables)
}

fn unit_conversions(text: &str, observables: &mut [ObservableDefinition]) -> Result<(), CatalogueError> {
    let file = CONVERSIONS_FILE;
    let Table { rows, .. } = records(file, text, &["observable", "unit", "scale", "offset", "source"], &[])?;
    let mut seen = HashSet::new();
    for (line, record) in rows {
        let id = required_text(file, line, &record, 0, "observable")?;
        let observable = observables
            .iter_mut()
            .find(|observable| observable.id == id)
            .ok_or_else(|| invalid(file, line, format!("observable `{id}` is not in {OBSERVABLES_FILE}")))?;
        let Some(canonical) = &observable.canonical_unit else {
            return Err(invalid(file, line, format!("`{id}` is coded and has no unit to convert to")));
        };
        let unit = ucum(file, line, required_text(file, line, &record, 1, "unit")?)?;
        if &unit == canonical {
            return Err(invalid(file, line, format!("`{}` is already the canonical unit of `{id}`", unit.as_str())));
        }
        if !seen.insert((id.to_owned(), unit.clone())) {
            return Err(invalid(file, line, format!("`{id}` from `{}` is listed twice", unit.as_str())));
        }
        let scale = number(file, line, "scale", required_text(file, line, &record, 2, "scale")?)?;
        if scale == 0.0 {
            return Err(invalid(file, line, "scale must not be zero"));
        }
        let offset = number(file, line, "offset", required_text(file, line, &record, 3, "offset")?)?;
        required_text(file, line, &record, 4, "source")?;
        observable.conversions.push((unit, LinearConversion { scale, offset }));
    }
    Ok(())
}
