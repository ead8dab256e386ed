//! The SNOMED CT concept recorded with each Year of Care cycle event, where the id is confirmed
//! (`data/cycle-codes.csv`). Refusals name the file and line; codes are checked by their Verhoeff
//! check digit.

use std::sync::OnceLock;

use crate::CatalogueError;
use crate::check_digit::verhoeff_is_valid;
use crate::load::{field, invalid, metadata, records, required_text};

pub const CYCLE_CODES_FILE: &str = "data/cycle-codes.csv";

/// One event's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleCode {
    pub event: String,
    /// `None` while the concept id is unconfirmed.
    pub snomed: Option<String>,
    pub term: String,
    pub source: String,
}

/// The codes compiled into this build.
pub fn cycle_codes() -> Result<&'static [CycleCode], &'static CatalogueError> {
    static SHARED: OnceLock<Result<Vec<CycleCode>, CatalogueError>> = OnceLock::new();
    SHARED.get_or_init(|| load_cycle_codes(include_str!("../../../data/cycle-codes.csv"))).as_ref().map(Vec::as_slice)
}

/// The confirmed code for an event, if there is one.
pub fn code_for(event: &str) -> Option<String> {
    cycle_codes().ok()?.iter().find(|code| code.event == event)?.snomed.clone()
}

pub fn load_cycle_codes(text: &str) -> Result<Vec<CycleCode>, CatalogueError> {
    let file = CYCLE_CODES_FILE;
    let meta = metadata(file, text)?;
    for key in ["version", "source"] {
        if meta.get(key).is_none_or(|(value, _)| value.is_empty()) {
            return Err(invalid(file, 1, format!("missing `# {key}:` line")));
        }
    }
    let table = records(file, text, &["event", "snomed", "term", "confidence", "source"], &[])?;
    let mut codes: Vec<CycleCode> = Vec::new();
    for (line, record) in &table.rows {
        let line = *line;
        let event = required_text(file, line, record, 0, "event")?;
        if codes.iter().any(|code| code.event == event) {
            return Err(invalid(file, line, format!("event `{event}` is listed twice")));
        }
        let snomed = field(record, 1);
        let confidence = required_text(file, line, record, 3, "confidence")?;
        match (snomed.is_empty(), confidence) {
            (true, "unconfirmed") | (false, "confirmed") => {}
            _ => {
                return Err(invalid(
                    file,
                    line,
                    "a confirmed event needs its code and an unconfirmed one must not have one",
                ));
            }
        }
        let well_formed = snomed.bytes().all(|byte| byte.is_ascii_digit()) && verhoeff_is_valid(snomed);
        if !snomed.is_empty() && !well_formed {
            return Err(invalid(file, line, format!("`{snomed}` fails the SNOMED CT check digit")));
        }
        codes.push(CycleCode {
            event: event.to_owned(),
            snomed: (!snomed.is_empty()).then(|| snomed.to_owned()),
            term: required_text(file, line, record, 2, "term")?.to_owned(),
            source: required_text(file, line, record, 4, "source")?.to_owned(),
        });
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confirmed_codes_are_recorded_and_check_digits_hold() {
        assert_eq!(code_for("review_falls_due").as_deref(), Some("425268008"));
        assert_eq!(code_for("agree_plan"), None, "the concept id is unconfirmed");
        let head = "# version: 1\n# source: t\nevent,snomed,term,confidence,source\n";
        let bad = load_cycle_codes(&format!("{head}agree_plan,425268007,T,confirmed,S\n")).unwrap_err().to_string();
        assert!(bad.contains("check digit") && bad.contains(CYCLE_CODES_FILE), "{bad}");
        let guessed =
            load_cycle_codes(&format!("{head}agree_plan,425268008,T,unconfirmed,S\n")).unwrap_err().to_string();
        assert!(guessed.contains("unconfirmed one must not have one"), "{guessed}");
    }
}
