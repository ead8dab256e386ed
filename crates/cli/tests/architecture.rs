//! Architecture invariants that live in code, not only in ARCHITECTURE.md: which crate may depend on
//! which. Reads `cargo metadata` and fails on a forbidden edge.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Every workspace crate and the crates (workspace or external) it must never depend on, directly.
fn forbidden() -> BTreeMap<&'static str, Vec<&'static str>> {
    let io_and_frameworks = ["sqlx", "axum", "askama", "tokio", "tower", "tower-http", "clap", "reqwest", "hyper"];
    let mut rules = BTreeMap::new();
    // The domain core: no IO, no clock, no SQL/HTTP/FHIR, no other Concord crate, no serde on aggregates.
    rules.insert("concord-domain", {
        let mut deny: Vec<&str> = io_and_frameworks.to_vec();
        deny.extend([
            "serde",
            "serde_json",
            "csv",
            "rand",
            "uuid",
            "concord-codelists",
            "concord-fhir",
            "concord-import",
            "concord-store",
            "concord-app",
            "concord-web",
            "concord-synth",
        ]);
        deny
    });
    rules.insert("concord-codelists", {
        let mut deny = io_and_frameworks.to_vec();
        deny.extend(["concord-fhir", "concord-import", "concord-store", "concord-app", "concord-web", "concord-synth"]);
        deny
    });
    rules.insert("concord-fhir", {
        let mut deny = io_and_frameworks.to_vec();
        deny.extend(["concord-import", "concord-store", "concord-app", "concord-web", "concord-synth"]);
        deny
    });
    rules.insert("concord-import", {
        let mut deny = io_and_frameworks.to_vec();
        deny.extend(["concord-store", "concord-app", "concord-web"]);
        deny
    });
    rules.insert("concord-synth", {
        let mut deny = io_and_frameworks.to_vec();
        deny.extend(["concord-store", "concord-app", "concord-web", "concord-import"]);
        deny
    });
    // Storage knows the domain only: not the web, not the use cases, not FHIR.
    rules.insert(
        "concord-store",
        vec!["axum", "askama", "tower-http", "clap", "concord-fhir", "concord-import", "concord-app", "concord-web"],
    );
    // Use cases: no HTTP, HTML or command line.
    rules.insert("concord-app", vec!["axum", "askama", "tower-http", "clap", "sqlx", "concord-web"]);
    // The web layer reaches data only through the use cases: no SQL.
    rules.insert("concord-web", vec!["sqlx", "clap", "concord-import", "concord-synth"]);
    // PDF rendering: pure (documents in, bytes out), knows only the domain's document model.
    rules.insert("concord-pdf", {
        let mut deny = io_and_frameworks.to_vec();
        deny.extend([
            "concord-codelists",
            "concord-fhir",
            "concord-import",
            "concord-store",
            "concord-app",
            "concord-web",
            "concord-synth",
            "concord-messaging",
        ]);
        deny
    });
    // Delivery transports (SMTP, SMS gateway): an IO adapter that knows no other Concord crate.
    rules.insert(
        "concord-messaging",
        vec![
            "sqlx",
            "askama",
            "clap",
            "concord-domain",
            "concord-codelists",
            "concord-fhir",
            "concord-import",
            "concord-store",
            "concord-app",
            "concord-web",
            "concord-synth",
        ],
    );
    rules
}

#[test]
fn no_crate_depends_on_one_it_must_not() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let rules = forbidden();
    let mut seen = BTreeSet::new();
    let mut violations = Vec::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name");
        seen.insert(name.to_owned());
        let Some(deny) = rules.get(name) else { continue };
        for dependency in package["dependencies"].as_array().expect("dependencies") {
            let kind = dependency["kind"].as_str();
            let dependency_name = dependency["name"].as_str().expect("dependency name");
            // Dev-dependencies may use anything to test with.
            if kind == Some("dev") {
                continue;
            }
            if deny.contains(&dependency_name) {
                violations.push(format!("{name} depends on {dependency_name}"));
            }
        }
    }
    for crate_name in rules.keys() {
        assert!(seen.contains(*crate_name), "rule for unknown crate {crate_name}");
    }
    assert!(violations.is_empty(), "architecture violations:\n{}", violations.join("\n"));
}
