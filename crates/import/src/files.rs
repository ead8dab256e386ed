//! Finding the files of an extract and the order to read them in.
//!
//! Invariant: the order depends only on the paths, never on directory listing order, so two runs
//! over the same extract deliver the same sequence. Organisation files come first, then
//! medication and patient files, so that references to them resolve when the records that use
//! them are read.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::ImportError;

/// The formats the reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A FHIR Bundle or a single resource (a file of one JSON object per line is read as NDJSON).
    Json,
    /// FHIR Bulk Data: one resource per line.
    Ndjson,
    /// Concord's CSV format (`docs/import-csv.md`).
    Csv,
}

/// Decides the format from the file extension, or failing that from the first bytes.
pub fn detect_format(path: &Path, head: &[u8]) -> Option<Format> {
    let extension = path.extension().and_then(|extension| extension.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => return Some(Format::Json),
        Some("ndjson" | "jsonl") => return Some(Format::Ndjson),
        Some("csv") => return Some(Format::Csv),
        _ => {}
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match head.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{' | b'[') => Some(Format::Json),
        Some(_) => {
            let first_line = head.split(|byte| *byte == b'\n').next().unwrap_or_default();
            first_line.contains(&b',').then_some(Format::Csv)
        }
        None => None,
    }
}

/// Files named by `paths` (folders are searched recursively for `.json`, `.ndjson`, `.jsonl` and
/// `.csv` files, skipping hidden entries), de-duplicated and in reading order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ImportError> {
    let mut files = Vec::new();
    let mut folders_seen = HashSet::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|_| ImportError::NotFound(path.clone()))?;
        if metadata.is_dir() {
            collect_folder(path, &mut files, &mut folders_seen)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort_by(|left, right| (reading_rank(left), left).cmp(&(reading_rank(right), right)));
    files.dedup();
    Ok(files)
}

/// Adds the extract files under `folder`. Each folder is listed once, so a symbolic link back to
/// a parent cannot loop.
fn collect_folder(folder: &Path, files: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>) -> Result<(), ImportError> {
    let unreadable = |source| ImportError::UnreadableFolder { path: folder.to_owned(), source };
    if !seen.insert(fs::canonicalize(folder).map_err(unreadable)?) {
        return Ok(());
    }
    for entry in fs::read_dir(folder).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_folder(&path, files, seen)?;
        } else if has_extract_extension(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn has_extract_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| ["json", "ndjson", "jsonl", "csv"].contains(&extension.to_ascii_lowercase().as_str()))
}

/// 0: organisations (including Synthea's `hospitalInformation` and `practitionerInformation`
/// bundles); 1: medications and patients; 2: everything else.
fn reading_rank(path: &Path) -> u8 {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_ascii_lowercase();
    let starts_word = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphabetic()))
    };
    if ["organization", "organisation", "hospitalinformation", "practitionerinformation"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        0
    } else if starts_word("medication") || name.starts_with("patient") {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisations_then_patients_then_the_rest() {
        let mut paths: Vec<PathBuf> = [
            "b/Observation.ndjson",
            "a/Patient.ndjson",
            "z/Organization.ndjson",
            "a/MedicationRequest.ndjson",
            "a/Medication.ndjson",
            "c/patients.csv",
            "c/organisations.csv",
            "hospitalInformation123.json",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        paths.sort_by(|left, right| (reading_rank(left), left).cmp(&(reading_rank(right), right)));
        let names: Vec<_> = paths.iter().map(|path| path.to_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "c/organisations.csv",
                "hospitalInformation123.json",
                "z/Organization.ndjson",
                "a/Medication.ndjson",
                "a/Patient.ndjson",
                "c/patients.csv",
                "a/MedicationRequest.ndjson",
                "b/Observation.ndjson",
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_that_links_to_itself_is_listed_once() {
        let root = std::env::temp_dir().join(format!("concord-import-loop-{}", std::process::id()));
        fs::create_dir_all(root.join("inner")).unwrap();
        fs::write(root.join("inner/Patient.ndjson"), "").unwrap();
        let _ = std::os::unix::fs::symlink(&root, root.join("inner/back"));
        let found = discover(std::slice::from_ref(&root)).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, vec![root.join("inner/Patient.ndjson")]);
    }

    #[test]
    fn formats_come_from_the_extension_or_the_content() {
        assert_eq!(detect_format(Path::new("x.JSON"), b""), Some(Format::Json));
        assert_eq!(detect_format(Path::new("x.ndjson"), b""), Some(Format::Ndjson));
        assert_eq!(detect_format(Path::new("x.csv"), b""), Some(Format::Csv));
        assert_eq!(detect_format(Path::new("x"), b"\xEF\xBB\xBF {\"a\":1}"), Some(Format::Json));
        assert_eq!(detect_format(Path::new("x.txt"), b"record_id,birth_date\n1,2"), Some(Format::Csv));
        assert_eq!(detect_format(Path::new("x.txt"), b"hello world"), None);
        assert_eq!(detect_format(Path::new("x.txt"), b""), None);
    }
}
