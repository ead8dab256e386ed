//! The storage story suite: every test runs on SQLite, and on PostgreSQL too when
//! `CONCORD_TEST_POSTGRES_URL` is set (`make test` starts a throwaway cluster and sets it).

use concord_domain::audit::Actor;
use concord_domain::code::{Code, CodedConcept};
use concord_domain::nhs_number::NhsNumber;
use concord_domain::organisation::{OdsCode, Organisation, OrganisationKind};
use concord_domain::patient::{Patient, PersonName, Registration, Sex};
use concord_domain::record::{
    Condition, ConditionStatus, Observation, ObservationStatus, ObservationValue, Quantity, ResultSource,
};
use concord_domain::units::Ucum;
use concord_store::{AuditFilter, Backend, ClinicalRecord, NewStaffUser, PatientRef, PatientSearch, Store};
use time::macros::{date, datetime};

/// A fresh, empty database on each engine available.
async fn engines() -> Vec<Store> {
    let mut stores = Vec::new();
    let directory = std::env::temp_dir().join(format!("concord-store-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&directory).unwrap();
    stores.push(Store::open(&format!("sqlite://{}", directory.join("test.db").display())).await.unwrap());
    if let Ok(url) = std::env::var("CONCORD_TEST_POSTGRES_URL") {
        let admin = Store::connect(&url).await.unwrap();
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin.execute_admin(&format!("CREATE DATABASE {name}")).await.unwrap();
        admin.close().await;
        let (base, _) = url.rsplit_once('/').unwrap();
        stores.push(Store::open(&format!("{base}/{name}")).await.unwrap());
    }
    stores
}

fn importer() -> Actor {
    Actor::System("test-import".into())
}

fn practice() -> Organisation {
    Organisation {
        ods_code: OdsCode::parse("F00001").unwrap(),
        name: "Test Practice".into(),
        kind: OrganisationKind::Practice,
        parent: None,
    }
}

fn patient(nhs: Option<&str>, family: &str, given: &str) -> Patient {
    Patient {
        nhs_number: nhs.map(|number| NhsNumber::parse(number).unwrap()),
        nhs_number_verification: None,
        local_identifiers: vec![],
        name: PersonName { prefix: None, given: given.into(), family: family.into() },
        birth_date: date!(1950 - 03 - 15),
        sex: Sex::Female,
        address: Default::default(),
        death_date: None,
        registration: Some(Registration { practice: OdsCode::parse("F00001").unwrap(), start: None, end: None }),
        contact: Default::default(),
        communication: Default::default(),
    }
}

fn hba1c(value: &str, status: ObservationStatus) -> ClinicalRecord {
    ClinicalRecord::Observation(Observation {
        concept: CodedConcept { code: Code::snomed("999791000000106"), term: "HbA1c".into() },
        observable: Some("hba1c".into()),
        value: ObservationValue::Quantity(Quantity {
            value_text: value.into(),
            value: value.parse().unwrap(),
            unit: Ucum::new("mmol/mol"),
        }),
        effective: datetime!(2026-01-10 09:30 UTC),
        status,
        source: ResultSource::Imported("test".into()),
    })
}

fn diabetes(onset: time::Date, status: ConditionStatus) -> ClinicalRecord {
    ClinicalRecord::Condition(Condition {
        concept: CodedConcept { code: Code::snomed("44054006"), term: "Type 2 diabetes mellitus".into() },
        onset: Some(onset),
        resolved: None,
        status,
        recorded: None,
    })
}

fn source(key: &str) -> PatientRef {
    PatientRef::SourceKey(key.into())
}

#[tokio::test]
async fn sqlite_is_durable_wal_with_foreign_keys() {
    let stores = engines().await;
    let settings = stores[0].durability_settings().await.unwrap();
    assert_eq!(stores[0].backend(), Backend::Sqlite);
    assert!(settings.contains(&("journal_mode".into(), "wal".into())), "{settings:?}");
    assert!(settings.contains(&("synchronous".into(), "2".into())), "FULL is 2: {settings:?}");
    assert!(settings.contains(&("foreign_keys".into(), "1".into())), "{settings:?}");
    for store in &stores[1..] {
        let settings = store.durability_settings().await.unwrap();
        assert!(settings.contains(&("fsync".into(), "on".into())), "{settings:?}");
        assert!(settings.contains(&("synchronous_commit".into(), "on".into())), "{settings:?}");
    }
}

#[tokio::test]
async fn both_engines_ship_the_same_migration_versions() {
    for store in engines().await {
        assert_eq!(
            store.migration_versions(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
            "{:?}",
            store.backend()
        );
    }
}

#[tokio::test]
async fn a_database_made_by_an_earlier_schema_upgrades_with_its_records_intact() {
    let directory = std::env::temp_dir().join(format!("concord-upgrade-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&directory).unwrap();
    let mut urls = vec![format!("sqlite://{}", directory.join("old.db").display())];
    if let Ok(url) = std::env::var("CONCORD_TEST_POSTGRES_URL") {
        let admin = Store::connect(&url).await.unwrap();
        let name = format!("upgrade_{}", uuid::Uuid::new_v4().simple());
        admin.execute_admin(&format!("CREATE DATABASE {name}")).await.unwrap();
        let (base, _) = url.rsplit_once('/').unwrap();
        urls.push(format!("{base}/{name}"));
    }
    for url in urls {
        let old = Store::connect(&url).await.unwrap();
        // The first schema, written as its own SQL would have written it (this build's writer
        // knows later tables): a practice, a patient and a result.
        old.migrate_to(1).await.unwrap();
        for statement in [
            "INSERT INTO organisation (ods_code, name, kind, parent_ods_code) VALUES ('F00001', 'Moorside', 'practice', NULL)",
            "INSERT INTO patient (id, nhs_number, given_name, family_name, search_name, birth_date, sex, practice_ods_code, \
             interpreter_needed, updated_at) VALUES ('p-1', '9434765919', 'Ann', 'Jones', 'jones ann', '1950-01-01', 'female', \
             'F00001', 0, '2026-01-01T00:00:00Z')",
            "INSERT INTO patient_identifier (patient_id, system, value) VALUES ('p-1', 'source', 'Patient/a')",
            "INSERT INTO observation (id, patient_id, source_key, code_system, code, term, observable, value_kind, value_text, \
             value_number, unit, effective, status, source, updated_at) VALUES ('o-1', 'p-1', 'Observation/1', \
             'http://snomed.info/sct', '999791000000106', 'HbA1c', 'hba1c', 'quantity', '53', 53.0, 'mmol/mol', \
             '2026-01-01T09:00:00Z', 'final', 'test', '2026-01-01T00:00:00Z')",
        ] {
            old.execute_admin(statement).await.unwrap();
        }
        old.close().await;

        let upgraded = Store::open(&url).await.unwrap();
        // People imported before the cycle existed get a status at the first refresh.
        assert_eq!(upgraded.mark_outdated_statuses("rules", "2026-12-01", "2026-12-01T00:00:00Z").await.unwrap(), 1);
        assert_eq!(upgraded.patient_count().await.unwrap(), 1);
        let found = upgraded
            .search_patients(&PatientSearch { name: Some("jones".into()), ..Default::default() }, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(upgraded.observations(&found[0].id).await.unwrap().len(), 1);
        assert!(upgraded.laboratory_samples(&found[0].id).await.unwrap().is_empty(), "migration 8's table is there");
        // The second migration's tables work.
        upgraded
            .create_staff_user(
                &NewStaffUser {
                    username: "nurse",
                    display_name: "A Nurse",
                    role: "nurse",
                    organisation: None,
                    password_hash: "$argon2id$x",
                    is_demo: false,
                },
                "2026-01-01T00:00:00Z",
            )
            .await
            .unwrap();
        assert_eq!(upgraded.staff_user_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn importing_the_same_batch_twice_changes_nothing_and_audits_nothing_more() {
    for store in engines().await {
        let patients = vec![("Patient/a".to_owned(), patient(Some("9434765919"), "Jones", "Ann"))];
        let records = vec![
            (source("Patient/a"), "Condition/1".to_owned(), diabetes(date!(2015 - 01 - 01), ConditionStatus::Active)),
            (source("Patient/a"), "Observation/1".to_owned(), hba1c("53", ObservationStatus::Final)),
        ];
        let first = store.import_writer(importer()).write(&[practice()], &patients, &records).await.unwrap();
        assert_eq!(first.changed.patients, 1);
        assert_eq!(first.changed.conditions, 1);
        assert_eq!(first.changed.observations, 1);
        let audits_after_first = store.audit_event_count().await.unwrap();
        assert_eq!(audits_after_first, 1, "one audit event for the one patient whose record changed");
        let counts = store.table_counts().await.unwrap();

        let second = store.import_writer(importer()).write(&[practice()], &patients, &records).await.unwrap();
        assert_eq!(second.changed.total(), 0, "{:?}", store.backend());
        assert_eq!(store.table_counts().await.unwrap(), counts);
        assert_eq!(store.audit_event_count().await.unwrap(), audits_after_first);
    }
}

#[tokio::test]
async fn repeated_conditions_collapse_and_corrections_replace_what_they_correct() {
    for store in engines().await {
        let mut writer = store.import_writer(importer());
        let patients = vec![("Patient/a".to_owned(), patient(Some("9434765919"), "Jones", "Ann"))];
        writer
            .write(
                &[practice()],
                &patients,
                &[
                    (
                        source("Patient/a"),
                        "Condition/1".into(),
                        diabetes(date!(2015 - 01 - 01), ConditionStatus::Active),
                    ),
                    (
                        source("Patient/a"),
                        "Condition/2".into(),
                        diabetes(date!(2015 - 01 - 01), ConditionStatus::Active),
                    ),
                    (source("Patient/a"), "Observation/1".into(), hba1c("53", ObservationStatus::Final)),
                ],
            )
            .await
            .unwrap();
        let id = store
            .search_patients(&PatientSearch { name: Some("jones".into()), ..Default::default() }, 5)
            .await
            .unwrap()[0]
            .id
            .clone();
        assert_eq!(store.conditions(&id).await.unwrap().len(), 1, "one condition per encounter collapses to one");

        // An amended result replaces its earlier value; a later "entered in error" hides it.
        let outcome = writer
            .write(&[], &[], &[(source("Patient/a"), "Observation/1".into(), hba1c("58", ObservationStatus::Amended))])
            .await
            .unwrap();
        assert_eq!(outcome.changed.observations, 1);
        let results = store.observations(&id).await.unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].value_text.as_deref(), Some("58"));
        assert_eq!(results[0].status, "amended");
        writer
            .write(
                &[],
                &[],
                &[(source("Patient/a"), "Observation/1".into(), hba1c("58", ObservationStatus::EnteredInError))],
            )
            .await
            .unwrap();
        assert!(store.observations(&id).await.unwrap().is_empty());

        // A resolved condition and a death are applied as updates and audited.
        let mut died = patient(Some("9434765919"), "Jones", "Ann");
        died.death_date = Some(date!(2026 - 05 - 01));
        let outcome = writer
            .write(
                &[],
                &[("Patient/a".into(), died)],
                &[(
                    source("Patient/a"),
                    "Condition/1".into(),
                    diabetes(date!(2015 - 01 - 01), ConditionStatus::Resolved),
                )],
            )
            .await
            .unwrap();
        assert_eq!(outcome.changed.patients, 1);
        assert_eq!(outcome.changed.conditions, 1);
        assert_eq!(store.patient(&id).await.unwrap().unwrap().patient.death_date, Some(date!(2026 - 05 - 01)));
        assert_eq!(store.conditions(&id).await.unwrap()[0].condition.status, ConditionStatus::Resolved);
        let audit =
            store.audit_events(&AuditFilter { patient_id: Some(id.clone()), ..Default::default() }).await.unwrap();
        let actions: Vec<&str> = audit.iter().rev().map(|event| event.action.as_str()).collect();
        assert_eq!(actions, ["create", "update", "update", "update"], "create, amend, error, death and resolution");
        assert!(audit.iter().all(|event| event.actor == "test-import"));
    }
}

#[tokio::test]
async fn records_for_unknown_patients_are_refused_without_losing_the_rest() {
    for store in engines().await {
        let outcome = store
            .import_writer(importer())
            .write(
                &[practice()],
                &[("Patient/a".into(), patient(None, "Jones", "Ann"))],
                &[
                    (source("Patient/missing"), "Observation/9".into(), hba1c("70", ObservationStatus::Final)),
                    (source("Patient/a"), "Observation/1".into(), hba1c("53", ObservationStatus::Final)),
                    (
                        PatientRef::NhsNumber("9999999999".into()),
                        "Observation/8".into(),
                        hba1c("54", ObservationStatus::Final),
                    ),
                ],
            )
            .await
            .unwrap();
        assert_eq!(outcome.changed.observations, 1);
        assert_eq!(outcome.refused_records.len(), 2);
        assert_eq!(outcome.refused_records[0].0, 0);
        assert!(outcome.refused_records[0].1.contains("Patient/missing"), "{:?}", outcome.refused_records);
    }
}

#[tokio::test]
async fn one_nhs_number_never_joins_two_source_records_silently() {
    for store in engines().await {
        let mut writer = store.import_writer(importer());
        writer
            .write(
                &[practice()],
                &[
                    ("Patient/a".into(), patient(Some("9434765919"), "Jones", "Ann")),
                    ("Patient/b".into(), patient(None, "Smith", "Bob")),
                ],
                &[],
            )
            .await
            .unwrap();
        // Patient/b now claims Ann's NHS number: refused, Ann untouched.
        let outcome =
            writer.write(&[], &[("Patient/b".into(), patient(Some("9434765919"), "Smith", "Bob"))], &[]).await.unwrap();
        assert_eq!(outcome.refused_patients.len(), 1);
        assert!(outcome.refused_patients[0].1.contains("already belongs"), "{:?}", outcome.refused_patients);
        // The same NHS number under a new source key is the same person: merged, not duplicated.
        let outcome =
            writer.write(&[], &[("Patient/c".into(), patient(Some("9434765919"), "Jones", "Ann"))], &[]).await.unwrap();
        assert!(outcome.refused_patients.is_empty());
        assert_eq!(store.patient_count().await.unwrap(), 2);
    }
}

#[tokio::test]
async fn search_finds_by_name_prefix_nhs_number_and_date_of_birth() {
    for store in engines().await {
        let mut other = patient(None, "Smithson", "Carl");
        other.birth_date = date!(1980 - 01 - 01);
        store
            .import_writer(importer())
            .write(
                &[practice()],
                &[
                    ("Patient/a".into(), patient(Some("9434765919"), "Smith", "Ann")),
                    ("Patient/b".into(), patient(None, "Smith", "Bob")),
                    ("Patient/c".into(), other),
                    ("Patient/d".into(), patient(None, "Jones", "Ann")),
                ],
                &[],
            )
            .await
            .unwrap();
        let by = |search: PatientSearch| {
            let store = store.clone();
            async move {
                store
                    .search_patients(&search, 50)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|found| found.given_name)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(by(PatientSearch { name: Some("smi".into()), ..Default::default() }).await, ["Ann", "Bob", "Carl"]);
        assert_eq!(by(PatientSearch { name: Some("Smith b".into()), ..Default::default() }).await, ["Bob"]);
        assert_eq!(
            by(PatientSearch { nhs_number: Some(NhsNumber::parse("9434765919").unwrap()), ..Default::default() }).await,
            ["Ann"]
        );
        assert_eq!(by(PatientSearch { birth_date: Some(date!(1980 - 01 - 01)), ..Default::default() }).await, ["Carl"]);
        assert!(by(PatientSearch { name: Some("zz".into()), ..Default::default() }).await.is_empty());
    }
}

#[tokio::test]
async fn register_walk_visits_every_patient_once_with_their_conditions() {
    for store in engines().await {
        let patients: Vec<(String, Patient)> =
            (0..12).map(|n| (format!("Patient/{n}"), patient(None, &format!("Family{n:02}"), "Given"))).collect();
        let records: Vec<_> = (0..12)
            .filter(|n| n % 3 == 0)
            .map(|n| {
                (
                    source(&format!("Patient/{n}")),
                    format!("Condition/{n}"),
                    diabetes(date!(2010 - 01 - 01), ConditionStatus::Active),
                )
            })
            .collect();
        store.import_writer(importer()).write(&[practice()], &patients, &records).await.unwrap();
        let mut seen = 0;
        let mut with_condition = 0;
        let visited = store
            .for_each_register_patient(Some("F00001"), |entry| {
                seen += 1;
                if !entry.conditions.is_empty() {
                    with_condition += 1;
                }
            })
            .await
            .unwrap();
        assert_eq!((visited, seen, with_condition), (12, 12, 4));
    }
}

#[tokio::test]
async fn sessions_expire_and_usernames_are_unique() {
    for store in engines().await {
        let id = store
            .create_staff_user(
                &NewStaffUser {
                    username: "gp1",
                    display_name: "Dr One",
                    role: "gp",
                    organisation: Some("F00001"),
                    password_hash: "$argon2id$hash",
                    is_demo: false,
                },
                "2026-01-01T00:00:00Z",
            )
            .await
            .unwrap();
        assert!(
            store
                .create_staff_user(
                    &NewStaffUser {
                        username: "gp1",
                        display_name: "Dr Two",
                        role: "gp",
                        organisation: None,
                        password_hash: "$argon2id$h",
                        is_demo: false
                    },
                    "2026-01-01T00:00:00Z"
                )
                .await
                .is_err()
        );
        store.create_session("digest", &id, "csrf", "2026-01-01T00:00:00Z", "2026-01-01T08:00:00Z").await.unwrap();
        let live = store.session("digest", "2026-01-01T07:59:59Z").await.unwrap().unwrap();
        assert_eq!(live.user.username, "gp1");
        assert_eq!(live.csrf_token, "csrf");
        assert!(store.session("digest", "2026-01-01T08:00:01Z").await.unwrap().is_none());
        assert!(store.session("other", "2026-01-01T07:00:00Z").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn missing_and_present_numeric_values_mix_across_batches() {
    // A coded result (no number) followed by numeric ones in later batches with the same statement shape.
    for store in engines().await {
        let mut writer = store.import_writer(importer());
        let smoking = ClinicalRecord::Observation(Observation {
            concept: CodedConcept { code: Code::snomed("8517006"), term: "Ex-smoker".into() },
            observable: Some("smoking_status".into()),
            value: ObservationValue::None,
            effective: datetime!(2026-01-10 09:30 UTC),
            status: ObservationStatus::Final,
            source: ResultSource::Imported("test".into()),
        });
        writer
            .write(
                &[practice()],
                &[("Patient/a".into(), patient(None, "Jones", "Ann"))],
                &[
                    (source("Patient/a"), "Observation/s".into(), smoking.clone()),
                    (source("Patient/a"), "Observation/1".into(), hba1c("53", ObservationStatus::Final)),
                ],
            )
            .await
            .unwrap();
        writer
            .write(
                &[],
                &[],
                &[
                    (source("Patient/a"), "Observation/2".into(), hba1c("54", ObservationStatus::Final)),
                    (source("Patient/a"), "Observation/s2".into(), smoking),
                ],
            )
            .await
            .unwrap();
        assert_eq!(store.table_counts().await.unwrap().iter().find(|(table, _)| table == "observation").unwrap().1, 4);
    }
}
