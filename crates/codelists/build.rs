//! Generates the list of embedded codelist files: every `data/codelists/*.csv`, sorted by name,
//! each compiled in with `include_str!`, so adding a file to `data/codelists` needs no code change.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let data_dir = manifest_dir.join("../../data");
    let codelist_dir = data_dir.join("codelists");
    // A directory here makes cargo rerun this script when any file beneath it changes or appears.
    println!("cargo:rerun-if-changed={}", data_dir.display());

    let mut files: Vec<PathBuf> = fs::read_dir(&codelist_dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", codelist_dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "csv"))
        .collect();
    files.sort();

    let mut generated =
        String::from("/// Every `data/codelists/*.csv` file: (file name, text), sorted by file name.\n");
    generated.push_str("pub(crate) const CODELIST_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = file_name(path);
        let absolute = path.canonicalize().expect("codelist path resolves");
        generated.push_str(&format!("    ({name:?}, include_str!({:?})),\n", absolute.display().to_string()));
    }
    generated.push_str("];\n");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("codelist_files.rs"), generated).expect("OUT_DIR is writable");
}

fn file_name(path: &Path) -> String {
    path.file_name().expect("a file name").to_string_lossy().into_owned()
}
