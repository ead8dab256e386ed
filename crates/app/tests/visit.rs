//! The information-gathering visit on real databases: a bad value saves nothing and names its
//! field; a valid visit is saved, audited and moves the cycle; a positive PHQ-9 item 9 raises an
//! urgent flag at once.

use std::collections::BTreeMap;

use concord_app::Concord;
use concord_app::import::ImportOptions;
use concord_app::record::StaffMember;
use concord_domain::access::StaffRole;
use concord_domain::audit::Actor;
use time::macros::date;

mod common;

async fn person_with_diabetes(concord: &Concord) -> String {
    let directory = common::scratch("concord-app-visit");
    std::fs::write(
        directory.join("patients.csv"),
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code\nP1,9434765919,Grace,Okafor,1948-02-11,female,F00001\n",
    )
    .unwrap();
    std::fs::write(
        directory.join("conditions.csv"),
        "record_id,nhs_number,code,term,onset_date,status\nC1,9434765919,44054006,Type 2 diabetes mellitus,2012-04-01,active\n",
    )
    .unwrap();
    let report = concord
        .import(
            ImportOptions {
                paths: vec![directory],
                extract_date: date!(2026 - 11 - 20),
                source_system: "test".into(),
                synthetic: true,
                default_practice: None,
                actor: Actor::System("test".into()),
            },
            |_| {},
        )
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    concord.store.kept_statuses(None).await.unwrap().remove(0).patient_id
}

fn hca() -> StaffMember {
    StaffMember {
        user_id: "u".into(),
        username: "demo.hca".into(),
        display_name: "H C A".into(),
        role: StaffRole::HealthcareAssistant,
        organisation: Some("F00001".into()),
    }
}

fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

#[tokio::test]
async fn a_visit_is_validated_saved_audited_and_flags_risk_at_once() {
    for concord in common::engines("app_visit").await {
        let patient = person_with_diabetes(&concord).await;
        let now = time::OffsetDateTime::now_utc();
        let form = concord.visit_form(&hca(), &patient, now).await.unwrap();
        let items: Vec<&str> = form.sections.iter().map(|section| section.item.as_str()).collect();
        assert!(items.contains(&"blood_pressure") && items.contains(&"hba1c") && items.contains(&"phq9"), "{items:?}");
        let before = concord.store.observations(&patient).await.unwrap().len();

        let refused = concord
            .record_visit(
                &hca(),
                &patient,
                &answers(&[("systolic_bp", "400"), ("diastolic_bp", "80"), ("weight", "heavy")]),
                now,
            )
            .await
            .unwrap()
            .unwrap_err();
        let fields: Vec<&str> = refused.0.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["systolic_bp", "weight"], "{refused:?}");
        assert_eq!(concord.store.observations(&patient).await.unwrap().len(), before, "nothing saved");

        let saved = concord
            .record_visit(
                &hca(),
                &patient,
                &answers(&[
                    ("systolic_bp", "132"),
                    ("diastolic_bp", "78"),
                    ("phq_q1", "2"),
                    ("phq_q2", "1"),
                    ("phq_q3", "1"),
                    ("phq_q4", "1"),
                    ("phq_q5", "0"),
                    ("phq_q6", "0"),
                    ("phq_q7", "0"),
                    ("phq_q8", "0"),
                    ("phq_q9", "1"),
                ]),
                now,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(saved.risk_of_harm);
        assert!(saved.urgent_flags.iter().any(|flag| flag.contains("PHQ-9")), "{:?}", saved.urgent_flags);
        assert_eq!(saved.stage.as_deref(), Some("Tests done"));
        // BP (2) + PHQ-2 + PHQ-9 + item 9 = 5 results.
        assert_eq!(saved.results_saved, 5);
        assert_eq!(concord.store.observations(&patient).await.unwrap().len(), before + 5);
        let encounters = concord.store.encounters(&patient).await.unwrap();
        assert!(
            encounters.iter().any(|encounter| encounter.year_of_care_contact && encounter.status == "attended"),
            "the visit is recorded as a Year of Care contact: {encounters:?}"
        );
        let nurse = StaffMember { role: StaffRole::Nurse, ..hca() };
        let review = concord.review_view(&nurse, &patient, now).await.unwrap();
        assert_eq!(review.visit_on.as_deref(), Some(now.date().to_string().as_str()), "the review shows the visit");
        assert_eq!(review.results_since_visit, 0);
        let events = concord
            .store
            .audit_events(&concord_store::AuditFilter { limit: Some(20), ..Default::default() })
            .await
            .unwrap();
        assert!(events.iter().any(|event| event.actor == "demo.hca" && event.entity == "PatientRecord"));
        assert!(events.iter().any(|event| event.entity == "RedFlag" && event.detail.contains("urgent")));

        // A commissioner may not record a visit.
        let commissioner = StaffMember { role: StaffRole::Commissioner, ..hca() };
        assert!(concord.record_visit(&commissioner, &patient, &answers(&[("systolic_bp", "120")]), now).await.is_err());
    }
}
