//! The information-gathering visit on real databases: a bad value saves nothing and names its
//! field; a valid visit is saved, audited and moves the cycle; a positive PHQ-9 item 9 raises an
//! urgent flag at once.

use std::collections::BTreeMap;

use concord_app::Concord;
use concord_app::cycle::Caller;
use concord_app::record::StaffMember;
use concord_domain::access::StaffRole;
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
    let report = common::import(concord, vec![directory], date!(2026 - 11 - 20)).await;
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

/// Imports one observation row (Concord CSV) for the person with NHS number 943 476 5919.
async fn import_result(concord: &Concord, row: &str) {
    let directory = common::scratch("concord-app-visit-lab");
    std::fs::write(
        directory.join("observations.csv"),
        format!("record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status\n{row}\n"),
    )
    .unwrap();
    let report = common::import(concord, vec![directory], time::OffsetDateTime::now_utc().date()).await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

#[tokio::test]
async fn laboratory_results_arriving_later_join_the_visit_and_hold_the_review_until_confirmed() {
    for concord in common::engines("app_visit_lab").await {
        let patient = person_with_diabetes(&concord).await;
        let now = time::OffsetDateTime::now_utc();
        let nurse = StaffMember { role: StaffRole::Nurse, username: "demo.nurse".into(), ..hca() };

        // A point-of-care value and "sent to the laboratory" for the same test: refused, nothing saved.
        let before = concord.store.observations(&patient).await.unwrap().len();
        let refused = concord
            .record_visit(&hca(), &patient, &answers(&[("hba1c", "60"), ("sample_hba1c", "yes")]), now)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(refused.0.iter().map(|(field, _)| field.as_str()).collect::<Vec<_>>(), ["hba1c"], "{refused:?}");
        assert_eq!(concord.store.observations(&patient).await.unwrap().len(), before);
        assert!(concord.store.laboratory_samples(&patient).await.unwrap().is_empty(), "no sample recorded");

        let saved = concord
            .record_visit(
                &hca(),
                &patient,
                &answers(&[
                    ("systolic_bp", "128"),
                    ("diastolic_bp", "76"),
                    ("sample_hba1c", "yes"),
                    ("sample_urine_acr", "yes"),
                ]),
                now,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(saved.samples_sent.len(), 2, "{:?}", saved.samples_sent);
        let review = concord.review_view(&nurse, &patient, now).await.unwrap();
        let awaited: Vec<&str> =
            review.samples.iter().filter(|s| s.result.is_none()).map(|s| s.item.as_str()).collect();
        assert_eq!(awaited, ["hba1c", "urine_acr"], "{:?}", review.samples);
        let queue = concord.results_to_review(Caller::Staff(&nurse), now.date()).await.unwrap();
        let waiting = queue.iter().find(|entry| entry.patient_id == patient).expect("on the review queue");
        assert_eq!(waiting.awaited.len(), 2, "{waiting:?}");

        let input = concord_app::review::ReviewInput {
            comment: "Your blood pressure is where we hoped.".into(),
            assign_to: "nurse".into(),
            targets: BTreeMap::new(),
            without_awaited: false,
        };
        let held = concord.review_results(&nurse, &patient, &input, now).await.unwrap().unwrap_err();
        let (field, message) = &held[0];
        assert_eq!(field, "without_awaited");
        assert!(message.contains("HbA1c") && message.contains(" and "), "names both awaited results: {message}");

        // The laboratory's HbA1c arrives by import, dated the day of the visit: it joins the visit.
        let day = now.date();
        import_result(
            &concord,
            &format!(
                "LAB1,9434765919,,snomed,999791000000106,HbA1c level - IFCC standardised,{day}T09:00,58,mmol/mol,final"
            ),
        )
        .await;
        let review = concord.review_view(&nurse, &patient, now).await.unwrap();
        let hba1c = review.samples.iter().find(|sample| sample.item == "hba1c").unwrap();
        let (value, date) = hba1c.result.as_ref().expect("the HbA1c has arrived");
        assert!(value.contains("58"), "{value}");
        assert_eq!(date, &day.to_string());
        assert_eq!(review.awaited().len(), 1, "urine ACR still awaited: {:?}", review.samples);
        let queue = concord.results_to_review(Caller::Staff(&nurse), now.date()).await.unwrap();
        assert_eq!(queue.iter().find(|entry| entry.patient_id == patient).unwrap().awaited.len(), 1);

        // The clinician may review without the urine ACR, and that is recorded.
        let confirmed = concord_app::review::ReviewInput { without_awaited: true, ..input };
        concord.review_results(&nurse, &patient, &confirmed, now).await.unwrap().unwrap();
        let queue = concord.results_to_review(Caller::Staff(&nurse), now.date()).await.unwrap();
        assert!(queue.iter().all(|entry| entry.patient_id != patient), "reviewed people leave the queue");
        let events = concord
            .store
            .audit_events(&concord_store::AuditFilter { limit: Some(50), ..Default::default() })
            .await
            .unwrap();
        assert!(
            events.iter().any(|event| event.entity == "ResultsReview" && event.detail.contains("without the awaited")),
            "the review without the awaited result is audited"
        );
    }
}
