//! The import use case end to end on real databases (SQLite, and PostgreSQL when
//! `CONCORD_TEST_POSTGRES_URL` is set): bad input is rejected with file, place and reason while the
//! rest is imported; red-flag results are never dropped; a repeated import changes nothing.

use std::path::{Path, PathBuf};

use concord_app::Concord;
use concord_app::import::{ImportOptions, ImportReport};
use concord_domain::audit::Actor;
use concord_store::PatientSearch;
use time::macros::date;

mod common;

fn scratch() -> PathBuf {
    common::scratch("concord-app-import")
}

async fn engines() -> Vec<Concord> {
    common::engines("app_import").await
}

const EXTRACT: &str = r#"{"resourceType":"Bundle","type":"collection","entry":[
 {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111","resource":{"resourceType":"Patient","id":"11111111-1111-1111-1111-111111111111",
   "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],
   "name":[{"family":"Okafor","given":["Grace"]}],"gender":"female","birthDate":"1948-02-11"}},
 {"resource":{"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
   "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
   "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Type 2 diabetes mellitus"}]},"onsetDateTime":"2012-04-01"}},
 {"resource":{"resourceType":"Condition","id":"c2","subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
   "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
   "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Type 2 diabetes mellitus"}]},"onsetDateTime":"2012-04-01"}},
 {"resource":{"resourceType":"Observation","id":"hba1c-1","status":"final","subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
   "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"effectiveDateTime":"2026-03-01T09:00:00Z",
   "valueQuantity":{"value":7.0,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}},
 {"resource":{"resourceType":"Observation","id":"k-1","status":"final","subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
   "code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},"effectiveDateTime":"2026-03-01T09:00:00Z",
   "valueQuantity":{"value":6.9,"unit":"mmol/fortnight"}}},
 {"resource":{"resourceType":"Observation","id":"bmi-1","status":"final","subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
   "code":{"coding":[{"system":"http://loinc.org","code":"39156-5"}]},"effectiveDateTime":"2026-03-01T09:00:00Z",
   "valueQuantity":{"value":31,"unit":"stone per square foot"}}},
 {"resource":{"resourceType":"Observation","id":"k-orphan","status":"final","subject":{"reference":"Patient/nobody"},
   "code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},"effectiveDateTime":"2026-03-01T09:00:00Z",
   "valueQuantity":{"value":6.8,"unit":"mmol/L"}}},
 {"resource":{"resourceType":"Claim","id":"claim-1"}}
]}"#;

async fn import(concord: &Concord, paths: Vec<PathBuf>) -> ImportReport {
    concord
        .import(
            ImportOptions {
                paths,
                extract_date: date!(2026 - 11 - 20),
                source_system: "test".into(),
                synthetic: true,
                default_practice: Some(concord_domain::OdsCode::parse("F00001").unwrap()),
                actor: Actor::System("test".into()),
            },
            |_| {},
        )
        .await
        .unwrap()
}

fn write(directory: &Path, name: &str, text: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn bad_records_are_rejected_with_place_and_reason_and_red_flags_are_never_dropped() {
    for concord in engines().await {
        let directory = scratch();
        write(&directory, "extract.json", EXTRACT);
        write(&directory, "truncated.json", &EXTRACT[..EXTRACT.len() / 2]);
        write(&directory, "notes.ndjson", "this is not JSON\n");
        let report = import(&concord, vec![directory.clone()]).await;

        // The good records arrived, with HbA1c converted from % to mmol/mol and duplicates collapsed.
        assert_eq!(report.changed.patients, 1);
        assert_eq!(report.changed.conditions, 1, "{report:?}");
        let found = concord
            .store
            .search_patients(&PatientSearch { name: Some("okafor".into()), ..Default::default() }, 5)
            .await
            .unwrap();
        let id = &found[0].id;
        let results = concord.store.observations(id).await.unwrap();
        let hba1c = results.iter().find(|result| result.observable.as_deref() == Some("hba1c")).unwrap();
        assert_eq!((hba1c.value_number, hba1c.unit.as_deref()), (Some(53.0), Some("mmol/mol")));

        // The potassium with an unknown unit is kept, visibly unreadable, on her record.
        let unreadable: Vec<_> = results.iter().filter(|result| result.value_kind == "unreadable").collect();
        assert_eq!(unreadable.len(), 1, "{results:?}");
        assert!(unreadable[0].unreadable_reason.as_deref().unwrap().contains("mmol/fortnight"));

        // The BMI with an unknown unit, the truncated file and the non-JSON line are rejected, named.
        let reasons: Vec<String> =
            report.rejected.iter().map(|rejected| format!("{} {}", rejected.location, rejected.reason)).collect();
        assert!(
            reasons.iter().any(|reason| reason.contains("extract.json") && reason.contains("stone per square foot")),
            "{reasons:#?}"
        );
        assert!(reasons.iter().any(|reason| reason.contains("truncated.json")), "{reasons:#?}");
        assert!(reasons.iter().any(|reason| reason.contains("notes.ndjson:1")), "{reasons:#?}");

        // The potassium for an unknown patient could raise a red flag: it stays on the clinicians' list.
        let orphan = report
            .rejected
            .iter()
            .find(|rejected| rejected.source_key.as_deref() == Some("Observation/k-orphan"))
            .unwrap();
        assert!(orphan.red_flag.is_some(), "{orphan:?}");
        let waiting = concord.store.unreviewed_red_flag_rejections().await.unwrap();
        assert!(waiting.iter().any(|row| row.source_key.as_deref() == Some("Observation/k-orphan")), "{waiting:?}");
        assert_eq!(report.skipped.get("Claim"), Some(&1));

        // Importing the same files again changes nothing.
        let counts = concord.store.table_counts().await.unwrap();
        let again = import(&concord, vec![directory.clone()]).await;
        assert_eq!(again.changed.total(), 0, "{again:?}");
        assert_eq!(concord.store.table_counts().await.unwrap(), counts);

        let registers = concord.register_counts(date!(2026 - 11 - 23), None).await.unwrap();
        assert_eq!(registers.counts["diabetes"], 1);
        assert_eq!(registers.counts["copd"], 0);
    }
}

#[tokio::test]
async fn a_missing_path_is_an_error_that_names_it() {
    let concord = Concord::open(&format!("sqlite://{}", scratch().join("t.db").display())).await.unwrap();
    let error = concord
        .import(
            ImportOptions {
                paths: vec![PathBuf::from("/no/such/extract.json")],
                extract_date: date!(2026 - 11 - 20),
                source_system: "test".into(),
                synthetic: true,
                default_practice: None,
                actor: Actor::System("test".into()),
            },
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("/no/such/extract.json"), "{error}");
}
