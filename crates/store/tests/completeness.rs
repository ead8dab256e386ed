//! Care-process completeness over kept statuses, on SQLite and (when `CONCORD_TEST_POSTGRES_URL` is
//! set) PostgreSQL, against counts worked out by hand for a few people.

use std::collections::HashMap;

use concord_domain::audit::Actor;
use concord_domain::organisation::{OdsCode, Organisation, OrganisationKind};
use concord_domain::patient::{Patient, PersonName, Registration, Sex};
use concord_store::{Completeness, ItemStatusRow, StatusRow, Store};
use time::macros::date;

/// A fresh, empty database on each engine available.
async fn engines() -> Vec<Store> {
    let mut stores = Vec::new();
    let directory = std::env::temp_dir().join(format!("concord-completeness-test-{}", uuid::Uuid::new_v4()));
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

const EIGHT: [&str; 8] =
    ["hba1c", "blood_pressure", "cholesterol", "kidney_function", "urine_acr", "foot_check", "bmi", "smoking"];

fn practice(ods: &str) -> Organisation {
    Organisation {
        ods_code: OdsCode::parse(ods).unwrap(),
        name: format!("Practice {ods}"),
        kind: OrganisationKind::Practice,
        parent: None,
    }
}

fn patient(family: &str, ods: &str) -> Patient {
    Patient {
        nhs_number: None,
        nhs_number_verification: None,
        local_identifiers: vec![],
        name: PersonName { prefix: None, given: "Test".into(), family: family.into() },
        birth_date: date!(1950 - 03 - 15),
        sex: Sex::Female,
        address: Default::default(),
        death_date: None,
        registration: Some(Registration { practice: OdsCode::parse(ods).unwrap(), start: None, end: None }),
        contact: Default::default(),
        communication: Default::default(),
    }
}

fn item(item: &str, status: &str) -> ItemStatusRow {
    ItemStatusRow {
        item: item.into(),
        status: status.into(),
        last_done: (status == "done").then(|| "2026-06-01".into()),
        next_due: Some("2027-06-01".into()),
        interval_months: 12,
        performed_by: "hca".into(),
    }
}

/// Everyone's kept status, by family name: (practice, registers, enters the cycle, checklist).
fn statuses() -> Vec<(&'static str, &'static str, &'static str, bool, Vec<ItemStatusRow>)> {
    let all_eight_done = || EIGHT.iter().map(|name| item(name, "done")).collect::<Vec<_>>();
    vec![
        // All eight done, and eye screening too.
        ("Ann", "F00001", "diabetes", true, {
            let mut items = all_eight_done();
            items.push(item("retinal_screening", "done"));
            items
        }),
        // Seven of the eight (foot check overdue); eye screening done must not make up the eighth.
        ("Bob", "F00001", "diabetes hypertension", true, {
            let mut items: Vec<_> =
                EIGHT.iter().map(|name| item(name, if *name == "foot_check" { "overdue" } else { "done" })).collect();
            items.push(item("retinal_screening", "done"));
            items
        }),
        // On the register with everything done, but not entering this year's cycle.
        ("Cat", "F00001", "diabetes", false, all_eight_done()),
        // Hypertension only.
        ("Dan", "F00001", "hypertension", true, vec![item("blood_pressure", "done"), item("smoking", "due")]),
        // Another practice: HbA1c done, BMI due, nothing else on the checklist yet.
        ("Eve", "F00002", "copd diabetes", true, vec![item("hba1c", "done"), item("bmi", "due")]),
        // A register whose name contains "diabetes" is not the diabetes register.
        ("Fay", "F00001", "diabetes_in_remission", true, all_eight_done()),
    ]
}

async fn populated(store: &Store) {
    let mut writer = store.import_writer(Actor::System("test-import".into()));
    let people = statuses();
    let patients: Vec<(String, Patient)> =
        people.iter().map(|(family, ods, ..)| (format!("Patient/{family}"), patient(family, ods))).collect();
    let outcome = writer.write(&[practice("F00001"), practice("F00002")], &patients, &[]).await.unwrap();
    assert!(outcome.refused_patients.is_empty(), "{:?}", outcome.refused_patients);
    // Every written person is stale; read their ids and generations to keep a status for each.
    let stale = store.stale_people("", 100).await.unwrap();
    let by_family: HashMap<String, (String, i64)> = stale
        .iter()
        .map(|record| (record.person.patient.name.family.clone(), (record.person.id.clone(), record.generation)))
        .collect();
    assert_eq!(by_family.len(), people.len());
    let rows: Vec<StatusRow> = people
        .into_iter()
        .map(|(family, ods, registers, enters_cycle, items)| {
            let (patient_id, generation) = by_family[family].clone();
            StatusRow {
                patient_id,
                generation,
                practice_ods_code: Some(ods.into()),
                registers: registers.split(' ').map(str::to_owned).collect(),
                risk_score: 0,
                risk_factors: vec![],
                enters_cycle,
                care_planning: if enters_cycle { registers.split(' ').map(str::to_owned).collect() } else { vec![] },
                recall_month: 3,
                family_name: family.into(),
                given_name: String::new(),
                items,
                flags: vec![],
            }
        })
        .collect();
    store
        .save_statuses(&rows, "test-rules", "2026-11-23", "2026-11-23T09:00:00Z", &Actor::System("test".into()))
        .await
        .unwrap();
    assert_eq!(store.stale_status_count().await.unwrap(), 0);
}

fn expected(people: i64, items: &[(&str, i64)], all_done: i64) -> Completeness {
    Completeness { people, items: items.iter().map(|(item, count)| ((*item).to_owned(), *count)).collect(), all_done }
}

#[tokio::test]
async fn the_eight_care_processes_are_counted_per_item_and_all_together() {
    for store in engines().await {
        populated(&store).await;
        let engine = store.backend();
        // F00001 on diabetes, in the cycle: Ann and Bob (Cat is not in the cycle, Fay not on it).
        assert_eq!(
            store.care_process_completeness(Some("F00001"), "diabetes", &EIGHT).await.unwrap(),
            expected(
                2,
                &[
                    ("hba1c", 2),
                    ("blood_pressure", 2),
                    ("cholesterol", 2),
                    ("kidney_function", 2),
                    ("urine_acr", 2),
                    ("foot_check", 1),
                    ("bmi", 2),
                    ("smoking", 2)
                ],
                1
            ),
            "{engine:?}"
        );
        // Every practice: Eve too, with HbA1c done and no other of the eight.
        assert_eq!(
            store.care_process_completeness(None, "diabetes", &EIGHT).await.unwrap(),
            expected(
                3,
                &[
                    ("hba1c", 3),
                    ("blood_pressure", 2),
                    ("cholesterol", 2),
                    ("kidney_function", 2),
                    ("urine_acr", 2),
                    ("foot_check", 1),
                    ("bmi", 2),
                    ("smoking", 2)
                ],
                1
            ),
            "{engine:?}"
        );
    }
}

#[tokio::test]
async fn other_registers_repeated_items_and_no_items() {
    for store in engines().await {
        populated(&store).await;
        let engine = store.backend();
        // Hypertension at F00001: Bob and Dan, both with blood pressure done; Dan's smoking is due.
        assert_eq!(
            store
                .care_process_completeness(Some("F00001"), "hypertension", &["blood_pressure", "smoking"])
                .await
                .unwrap(),
            expected(2, &[("blood_pressure", 2), ("smoking", 1)], 1),
            "{engine:?}"
        );
        // An item asked twice counts once, and "all" means all the distinct items.
        assert_eq!(
            store.care_process_completeness(None, "diabetes", &["hba1c", "foot_check", "hba1c"]).await.unwrap(),
            expected(3, &[("hba1c", 3), ("foot_check", 1)], 1),
            "{engine:?}"
        );
        // No items: everyone has all of none done.
        assert_eq!(
            store.care_process_completeness(None, "diabetes", &[]).await.unwrap(),
            expected(3, &[], 3),
            "{engine:?}"
        );
        // An item nobody is checked for, and a register nobody is on.
        assert_eq!(
            store.care_process_completeness(None, "diabetes", &["hba1c", "spo2"]).await.unwrap(),
            expected(3, &[("hba1c", 3), ("spo2", 0)], 0),
            "{engine:?}"
        );
        assert_eq!(
            store.care_process_completeness(Some("F00001"), "asthma", &EIGHT).await.unwrap(),
            expected(0, &EIGHT.map(|item| (item, 0)), 0),
            "{engine:?}"
        );
    }
}
