//! What each result means to the person (`data/result-meanings.csv`), for the preparation letter:
//! plain words, which way is better, and the change that counts as "about the same". Validated
//! against the catalogue: every observable must exist and have a canonical unit; refusals name
//! the file and line.

use std::sync::OnceLock;

use concord_domain::result_story::{Better, ResultMeaning};

use crate::load::{field, invalid, metadata, number, records, required_text};
use crate::{Catalogue, CatalogueError};

pub const RESULT_MEANINGS_FILE: &str = "data/result-meanings.csv";

/// The meanings compiled into this build, loaded once per process.
pub fn result_meanings() -> Result<&'static [ResultMeaning], &'static CatalogueError> {
    static SHARED: OnceLock<Result<Vec<ResultMeaning>, CatalogueError>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let catalogue = Catalogue::shared().map_err(Clone::clone)?;
            load_result_meanings(catalogue, include_str!("../../../data/result-meanings.csv"))
        })
        .as_ref()
        .map(Vec::as_slice)
}

/// Parses and validates a result-meanings file against a catalogue.
pub fn load_result_meanings(catalogue: &Catalogue, text: &str) -> Result<Vec<ResultMeaning>, CatalogueError> {
    let file = RESULT_MEANINGS_FILE;
    let meta = metadata(file, text)?;
    for key in ["version", "source"] {
        if meta.get(key).is_none_or(|(value, _)| value.is_empty()) {
            return Err(invalid(file, 1, format!("missing `# {key}:` line")));
        }
    }
    let table = records(
        file,
        text,
        &["observable", "plain_name", "meaning", "unit_words", "better", "steady_within", "source"],
        &[],
    )?;
    let mut meanings: Vec<ResultMeaning> = Vec::new();
    for (line, record) in &table.rows {
        let line = *line;
        let observable = required_text(file, line, record, 0, "observable")?;
        let definition = catalogue
            .observable(observable)
            .ok_or_else(|| invalid(file, line, format!("observable `{observable}` is not in data/observables.csv")))?;
        if definition.canonical_unit.is_none() {
            return Err(invalid(
                file,
                line,
                format!("`{observable}` has no canonical unit, so it has no value to tell"),
            ));
        }
        if meanings.iter().any(|meaning| meaning.observable == observable) {
            return Err(invalid(file, line, format!("`{observable}` is described twice")));
        }
        let better_text = required_text(file, line, record, 4, "better")?;
        let better = Better::parse(better_text).ok_or_else(|| {
            invalid(file, line, format!("better must be lower, higher or range, not `{better_text}`"))
        })?;
        let steady_within = number(file, line, "steady_within", field(record, 5))?;
        if !(steady_within >= 0.0 && steady_within.is_finite()) {
            return Err(invalid(file, line, "steady_within must be zero or more"));
        }
        meanings.push(ResultMeaning {
            observable: observable.to_owned(),
            plain_name: required_text(file, line, record, 1, "plain_name")?.to_owned(),
            meaning: required_text(file, line, record, 2, "meaning")?.to_owned(),
            unit_words: required_text(file, line, record, 3, "unit_words")?.to_owned(),
            better,
            steady_within,
            source: required_text(file, line, record, 6, "source")?.to_owned(),
        });
    }
    Ok(meanings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_meanings_load_and_cover_the_targeted_results() {
        let meanings = result_meanings().unwrap();
        for observable in ["hba1c", "systolic_bp", "diastolic_bp", "ldl_cholesterol", "egfr", "urine_acr"] {
            assert!(meanings.iter().any(|meaning| meaning.observable == observable), "{observable}");
        }
        assert!(meanings.iter().all(|meaning| meaning.meaning.ends_with('.') && !meaning.source.is_empty()));
    }

    #[test]
    fn bad_rows_are_refused_with_file_and_line() {
        let catalogue = Catalogue::shared().unwrap();
        let head =
            "# version: 1\n# source: test\nobservable,plain_name,meaning,unit_words,better,steady_within,source\n";
        for (row, expected) in [
            ("nonsense,Name,Words.,Unit,lower,1,src", "not in data/observables.csv"),
            ("hba1c,Name,Words.,Unit,sideways,1,src", "lower, higher or range"),
            ("hba1c,Name,Words.,Unit,lower,-1,src", "zero or more"),
            ("smoking_status,Name,Words.,Unit,lower,1,src", "no canonical unit"),
        ] {
            let error = load_result_meanings(catalogue, &format!("{head}{row}\n")).unwrap_err().to_string();
            assert!(error.contains(RESULT_MEANINGS_FILE) && error.contains(expected), "{row}: {error}");
        }
        let twice = format!("{head}hba1c,N,Words.,U,lower,1,src\nhba1c,N,Words.,U,lower,1,src\n");
        assert!(load_result_meanings(catalogue, &twice).unwrap_err().to_string().contains("described twice"));
    }
}
