//! Shared by the app's integration tests: scratch directories and one database per engine
//! (SQLite always; PostgreSQL when `CONCORD_TEST_POSTGRES_URL` is set).

use std::path::PathBuf;

use concord_app::Concord;
use concord_app::import::{ImportOptions, ImportReport};
use concord_domain::audit::Actor;

/// A fresh directory under the system temp directory.
pub fn scratch(prefix: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("{prefix}-{}", unique()));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Unique per process and call, usable in file and database names.
pub fn unique() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

/// A new empty database on each engine under test.
pub async fn engines(name: &str) -> Vec<Concord> {
    let mut engines = vec![Concord::open(&format!("sqlite://{}", scratch(name).join("t.db").display())).await.unwrap()];
    if let Ok(url) = std::env::var("CONCORD_TEST_POSTGRES_URL") {
        let admin = concord_store::Store::connect(&url).await.unwrap();
        let database = format!("{name}_{}", unique());
        admin.execute_admin(&format!("CREATE DATABASE {database}")).await.unwrap();
        admin.close().await;
        let (base, _) = url.rsplit_once('/').unwrap();
        engines.push(Concord::open(&format!("{base}/{database}")).await.unwrap());
    }
    engines
}

/// Imports files or folders as a synthetic test extract made on `extract_date`.
#[allow(dead_code)] // not every test file imports
pub async fn import(concord: &Concord, paths: Vec<PathBuf>, extract_date: time::Date) -> ImportReport {
    concord
        .import(
            ImportOptions {
                paths,
                extract_date,
                source_system: "test".into(),
                synthetic: true,
                default_practice: None,
                actor: Actor::System("test".into()),
            },
            |_| {},
        )
        .await
        .unwrap()
}

/// The id of the person with this NHS number.
#[allow(dead_code)] // not every test file looks people up
pub async fn patient_id(concord: &Concord, nhs_number: &str) -> String {
    let search = concord_store::PatientSearch {
        nhs_number: Some(concord_domain::NhsNumber::parse(nhs_number).unwrap()),
        ..Default::default()
    };
    concord.store.search_patients(&search, 1).await.unwrap().remove(0).id
}

/// A member of staff of a practice.
#[allow(dead_code)]
pub fn staff(role: concord_domain::access::StaffRole, name: &str, practice: &str) -> concord_app::record::StaffMember {
    concord_app::record::StaffMember {
        user_id: "u".into(),
        username: format!("demo.{}", role.as_str()),
        display_name: name.into(),
        role,
        organisation: Some(practice.into()),
    }
}
