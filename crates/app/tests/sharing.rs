//! Sharing with clinicians outside the practice, on real databases: a partner sees a person only
//! while their consent covers it (a change takes effect at once), break-glass needs a reason, is
//! time-limited, recorded with its reason and waits for the privacy officer; every resource type
//! is served only with its scope; every access is audited with why; paging tokens are the
//! searching client's alone.

use concord_app::AppError;
use concord_app::api::{ApiCaller, COMPARTMENT};
use concord_app::record::StaffMember;
use concord_domain::access::StaffRole;
use concord_domain::plan::{Action, CarePlan, Contingency, Goal, PlanName, Sharing};
use concord_fhir::Resource;
use time::{Duration, OffsetDateTime};

mod common;

const GRACE: &str = "9434765919";

fn population() -> std::path::PathBuf {
    let directory = common::scratch("concord-app-sharing");
    let write = |name: &str, text: &str| std::fs::write(directory.join(name), text).unwrap();
    write(
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\nNZZ01,Riverside Community Services,partner,\n\
         RZZ01,Riverside Hospital,partner,\n",
    );
    write(
        "patients.csv",
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from\n\
         P1,9434765919,Grace,Okafor,1948-02-11,female,F83004,2000-01-01\n",
    );
    write(
        "conditions.csv",
        "record_id,nhs_number,code,term,onset_date,status\nC1,9434765919,44054006,Type 2 diabetes mellitus,2012-04-01,active\n",
    );
    let today = OffsetDateTime::now_utc().date();
    let mut observations =
        String::from("record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status\n");
    for (index, days_ago) in [400, 300, 200, 100, 20].iter().enumerate() {
        let day = today - Duration::days(*days_ago);
        observations.push_str(&format!(
            "H{index},9434765919,,snomed,999791000000106,HbA1c level - IFCC standardised,{day}T09:00,{},mmol/mol,final\n",
            60 - index
        ));
    }
    write("observations.csv", &observations);
    directory
}

fn plan(today: time::Date, sharing: Sharing) -> CarePlan {
    CarePlan {
        name: PlanName::HealthPlan,
        goals: vec![Goal {
            words: "Walk to the allotment without stopping".into(),
            importance: 8,
            actions: vec![Action { what: "Walk for 15 minutes".into(), confidence: 7, ..Default::default() }],
        }],
        contingencies: vec![Contingency {
            name: "Low blood sugar (hypo)".into(),
            triggers: "Missing a meal after taking my tablets".into(),
            what_to_do: "Take 5 jelly babies, then a snack".into(),
            ..Default::default()
        }],
        review_date: Some(today + Duration::days(180)),
        review_by: "Practice nurse".into(),
        agreed_by: "Grace Okafor".into(),
        sharing,
        ..Default::default()
    }
}

async fn caller(concord: &concord_app::Concord, organisation: &str, scope: &str) -> ApiCaller {
    let now = OffsetDateTime::now_utc();
    let client = concord.create_api_client(organisation, "test system", scope, now).await.unwrap();
    let token = concord.issue_api_token(&client.client_id, &client.client_secret, now).await.unwrap();
    concord.api_caller(&token.access_token).await.unwrap().unwrap()
}

async fn sees(concord: &concord_app::Concord, client: &ApiCaller) -> bool {
    !concord.api_search_patients(client, GRACE).await.unwrap().is_empty()
}

async fn audited_by(concord: &concord_app::Concord, client: &ApiCaller) -> Vec<concord_store::AuditEntry> {
    let actor = format!("client:{}", client.client_id);
    concord
        .store
        .audit_events(&concord_store::AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.actor == actor)
        .collect()
}

#[tokio::test]
async fn consent_governs_partners_break_glass_is_recorded_and_every_read_is_audited_with_why() {
    for concord in common::engines("app_sharing").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        common::import(&concord, vec![population()], today).await;
        let grace = common::patient_id(&concord, GRACE).await;
        let nurse: StaffMember = common::staff(StaffRole::Nurse, "Nurse Patel", "F83004");
        let community = caller(&concord, "NZZ01", "system/*.read").await;
        let hospital = caller(&concord, "RZZ01", "system/Patient.read system/CarePlan.read").await;
        let practice = caller(&concord, "F83004", "system/*.read").await;

        // No plan, no consent: partners see no one; the practice's own system sees its patient.
        assert!(!sees(&concord, &community).await);
        assert!(sees(&concord, &practice).await);

        // Consent to the community service only.
        let shared = Sharing { organisations: vec!["NZZ01".into()], refused: false };
        concord.record_plan(&nurse, &grace, 0, plan(today, shared), true, now).await.unwrap().unwrap();
        assert!(sees(&concord, &community).await);
        assert!(!sees(&concord, &hospital).await, "consent names the organisation");
        assert!(matches!(concord.api_patient(&hospital, &grace).await, Err(AppError::NotFound(_))));

        // Every compartment type, searched and read by id, only with its scope.
        for resource_type in COMPARTMENT {
            let found = concord.api_search(&community, resource_type, &grace).await.unwrap();
            assert!(found.iter().all(|resource| resource.resource_type() == resource_type), "{resource_type}");
            if let Some(first) = found.first() {
                let id = first.id().unwrap();
                let read = concord.api_read(&community, resource_type, id).await.unwrap();
                assert_eq!(read.id(), Some(id));
            }
            let hidden = concord.api_search(&hospital, resource_type, &grace).await;
            match resource_type {
                "CarePlan" => assert!(hidden.unwrap().is_empty(), "not shared: nothing, not an error"),
                _ => assert!(matches!(hidden, Err(AppError::Forbidden(_))), "{resource_type} needs its scope"),
            }
        }
        let observations = concord.api_search(&community, "Observation", &grace).await.unwrap();
        assert_eq!(observations.len(), 5);
        let consent = concord.api_search(&community, "Consent", &grace).await.unwrap();
        let Some(Resource::Consent(consent)) = consent.first() else { panic!("a Consent") };
        assert_eq!(consent.provision.as_ref().unwrap().actor.len(), 1);
        let everything = concord.api_everything(&community, &grace).await.unwrap();
        assert_eq!(everything[0].resource_type(), "Patient");
        assert!(everything.iter().all(|resource| resource.resource_type() != "AuditEvent"));
        assert!(everything.iter().any(|resource| resource.resource_type() == "Provenance"));

        // Each read is audited with the client's organisation and why.
        let audited = audited_by(&concord, &community).await;
        let reads: Vec<_> = audited.iter().filter(|event| event.action == "read").collect();
        assert!(reads.len() >= COMPARTMENT.len() * 2, "{} reads audited", reads.len());
        assert!(reads.iter().all(|event| event.organisation.as_deref() == Some("NZZ01")));
        assert!(reads.iter().filter(|event| event.patient_id.is_some()).all(|event| {
            event.patient_id.as_deref() == Some(grace.as_str())
                && event.purpose.as_deref() == Some("shared care: consent")
        }));

        // The person withdraws consent: at once, the community service sees nothing.
        let refused = Sharing { organisations: vec![], refused: true };
        concord.record_plan(&nurse, &grace, 1, plan(today, refused), true, now).await.unwrap().unwrap();
        assert!(!sees(&concord, &community).await, "a consent change takes effect at once");
        assert!(concord.api_search(&community, "Observation", &grace).await.unwrap().is_empty());

        // Break-glass: refused without a real reason or for the practice; then granted, recorded
        // with its reason, time-limited, on the privacy officer's list until reviewed.
        assert!(matches!(concord.api_break_glass(&hospital, GRACE, "urgent", now).await, Err(AppError::Invalid(_))));
        assert!(matches!(
            concord.api_break_glass(&practice, GRACE, "Seen in clinic, urgent need", now).await,
            Err(AppError::Invalid(_))
        ));
        let reason = "Collapsed in the emergency department; need the contingency plan";
        let (id, until) = concord.api_break_glass(&hospital, GRACE, reason, now).await.unwrap();
        assert_eq!(id, grace);
        assert_eq!(until, now + Duration::minutes(concord_app::api::BREAK_GLASS_MINUTES));
        assert!(sees(&concord, &hospital).await, "break-glass overrides even a refusal, recorded");
        assert!(!concord.api_plan(&hospital, &grace).await.unwrap().is_empty());
        let purposes: Vec<_> =
            audited_by(&concord, &hospital).await.into_iter().filter_map(|event| event.purpose).collect();
        assert!(purposes.iter().any(|purpose| purpose == &format!("break-glass: {reason}")), "{purposes:?}");
        let waiting = concord.store.break_glass_list(true, 10).await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0].organisation.as_str(), waiting[0].reason.as_str()), ("RZZ01", reason));
        let officer = concord_domain::audit::Actor::User { username: "privacy".into(), role: "privacy_officer".into() };
        assert!(
            concord
                .store
                .review_break_glass(&waiting[0].id, "Privacy Officer", "Appropriate", &officer, "2030-01-01T00:00:00Z")
                .await
                .unwrap()
        );
        assert!(concord.store.break_glass_list(true, 10).await.unwrap().is_empty());
        assert!(
            !concord
                .store
                .review_break_glass(&waiting[0].id, "Privacy Officer", "again", &officer, "2030-01-01T00:00:00Z")
                .await
                .unwrap()
        );
        // Another partner is not covered by this partner's break-glass.
        assert!(!sees(&concord, &community).await);

        // A paging token is its client's alone.
        let row = concord_store::SearchPageRow {
            search: "Observation".into(),
            patient_id: grace.clone(),
            offset: 2,
            count: 2,
        };
        let token = concord.api_keep_page(&practice, &row, now).await.unwrap();
        assert_eq!(concord.api_page(&practice, &token, now).await.unwrap(), Some(row));
        assert_eq!(concord.api_page(&community, &token, now).await.unwrap(), None);
        assert_eq!(concord.api_page(&practice, &token, now + Duration::hours(1)).await.unwrap(), None, "lapsed");
    }
}

#[tokio::test]
async fn the_gp_record_export_is_filed_on_confirmation_and_round_trips_without_duplicates() {
    use concord_app::cycle::Caller;
    use std::collections::BTreeMap;
    for concord in common::engines("app_gp_record").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        common::import(&concord, vec![population()], today).await;
        let grace = common::patient_id(&concord, GRACE).await;
        let hca: StaffMember = common::staff(StaffRole::HealthcareAssistant, "Priya", "F83004");
        let nurse: StaffMember = common::staff(StaffRole::Nurse, "Nurse Patel", "F83004");
        let visit: BTreeMap<String, String> =
            [("systolic_bp", "132"), ("diastolic_bp", "78")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        concord.record_visit(&hca, &grace, &visit, now).await.unwrap().unwrap();
        let mut agreed = plan(today, Sharing::default());
        agreed.treatments = vec!["Increase metformin to 1 g twice a day".into()];
        concord.record_plan(&nurse, &grace, 0, agreed, true, now).await.unwrap().unwrap();

        // Nothing for the GP record without permission to manage data.
        assert!(matches!(
            concord.gp_record_export(Caller::Staff(&hca), &grace, now).await,
            Err(AppError::Forbidden(_))
        ));
        let export = concord.gp_record_export(Caller::Console, &grace, now).await.unwrap();
        let json = concord_fhir::resource_json(&export.bundle).unwrap();
        assert_eq!(json["type"], "transaction");
        let entries = json["entry"].as_array().unwrap();
        let kinds: Vec<&str> =
            entries.iter().map(|entry| entry["resource"]["resourceType"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|kind| **kind == "Task").count(), 1, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|kind| **kind == "DocumentReference").count(), 1, "the agreed plan's PDF");
        let results: Vec<_> = entries
            .iter()
            .filter(|entry| entry["resource"]["valueQuantity"].is_object())
            .map(|entry| entry["resource"]["valueQuantity"]["value"].to_string())
            .collect();
        assert_eq!(results.len(), 2, "the two blood pressure readings: {results:?}");
        for entry in entries {
            assert_eq!(entry["request"]["method"], "POST");
            assert!(entry["request"]["ifNoneExist"].as_str().unwrap().starts_with("identifier=urn:concord:record|"));
            let subject = if entry["resource"]["resourceType"] == "Task" { "for" } else { "subject" };
            assert_eq!(entry["resource"][subject]["identifier"]["value"], GRACE, "named by NHS number");
        }
        let pdf = entries.iter().find(|entry| entry["resource"]["resourceType"] == "DocumentReference").unwrap();
        assert!(pdf["resource"]["content"][0]["attachment"]["data"].as_str().unwrap().starts_with("JVBERi0"), "%PDF-");
        assert!(
            entries.iter().any(|entry| entry["resource"]["code"]["text"]
                .as_str()
                .is_some_and(|text| text == "Chronic disease initial assessment")),
            "an unconfirmed code goes as text"
        );

        // The GP system files all but the task (refused); only the task goes again.
        let task_position = kinds.iter().position(|kind| *kind == "Task").unwrap();
        let response = serde_json::json!({
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": kinds.iter().enumerate().map(|(index, kind)| if index == task_position {
                serde_json::json!({ "response": { "status": "400 Bad Request" } })
            } else {
                serde_json::json!({ "response": { "status": "201 Created", "location": format!("{kind}/gp-{index}/_history/1") } })
            }).collect::<Vec<_>>()
        });
        let actor = concord_domain::audit::Actor::System("gp-system".into());
        let filed = concord.gp_record_filed(&actor, None, &export.export_id, &response, now).await.unwrap();
        assert_eq!(filed, entries.len() - 1);
        assert_eq!(concord.gp_record_filed(&actor, None, &export.export_id, &response, now).await.unwrap(), 0, "once");
        assert!(matches!(
            concord
                .gp_record_filed(&actor, None, &export.export_id, &serde_json::json!({"resourceType": "Bundle"}), now)
                .await,
            Err(AppError::Invalid(_))
        ));
        assert!(matches!(
            concord.gp_record_filed(&actor, None, "no-such-export", &response, now).await,
            Err(AppError::NotFound(_))
        ));
        let again = concord.gp_record_export(Caller::Console, &grace, now).await.unwrap();
        let kinds_again: Vec<&str> =
            again.bundle.entry.iter().map(|entry| entry.resource.as_ref().unwrap().resource_type()).collect();
        assert_eq!(kinds_again, ["Task"], "only what was not filed goes again");
        let audited = concord
            .store
            .audit_events(&concord_store::AuditFilter { patient_id: Some(grace.clone()), ..Default::default() })
            .await
            .unwrap();
        assert!(audited.iter().any(|event| event.entity == "GpRecordFiling"));
        assert_eq!(audited.iter().filter(|event| event.entity == "GpRecordExport").count(), 2);

        // Round trip: the GP system's next extract brings the results back with its own ids; they
        // are recognised as the same records, not copied.
        let before = concord.store.observations(&grace).await.unwrap();
        let extract = serde_json::json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": entries.iter().enumerate()
                .filter(|(_, entry)| entry["resource"]["resourceType"] == "Observation")
                .map(|(index, entry)| {
                    let mut resource = entry["resource"].clone();
                    resource["id"] = serde_json::json!(format!("gp-{index}"));
                    serde_json::json!({ "fullUrl": format!("https://gp.example/Observation/gp-{index}"), "resource": resource })
                })
                .collect::<Vec<_>>()
        });
        let directory = common::scratch("concord-gp-extract");
        std::fs::write(directory.join("gp-extract.json"), extract.to_string()).unwrap();
        common::import(&concord, vec![directory], today).await;
        let after = concord.store.observations(&grace).await.unwrap();
        assert_eq!(after.len(), before.len(), "no duplicates");
        let values = |rows: &[concord_store::ObservationRow]| {
            let mut values: Vec<_> =
                rows.iter().map(|row| (row.code.code.clone(), row.value_text.clone(), row.effective.clone())).collect();
            values.sort();
            values
        };
        assert_eq!(values(&after), values(&before), "the same codes, values and times");
    }
}

#[tokio::test]
async fn plans_from_other_services_join_the_overarching_plan_with_versioned_updates() {
    for concord in common::engines("app_linked").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        common::import(&concord, vec![population()], today).await;
        let grace = common::patient_id(&concord, GRACE).await;
        let nurse: StaffMember = common::staff(StaffRole::Nurse, "Nurse Patel", "F83004");
        let shared = Sharing { organisations: vec!["NZZ01".into()], refused: false };
        concord.record_plan(&nurse, &grace, 0, plan(today, shared), true, now).await.unwrap().unwrap();
        let community = caller(&concord, "NZZ01", "system/CarePlan.read system/CarePlan.write").await;
        let hospital = caller(&concord, "RZZ01", "system/CarePlan.read system/CarePlan.write").await;
        let reader = caller(&concord, "NZZ01", "system/CarePlan.read").await;
        let body = |title: &str| {
            serde_json::json!({
                "resourceType": "CarePlan",
                "status": "active",
                "intent": "plan",
                "title": title,
                "category": [{ "text": "Community physiotherapy" }],
                "description": "Goal: climb the stairs at home without stopping.",
                "subject": { "identifier": { "system": "https://fhir.nhs.uk/Id/nhs-number", "value": GRACE } },
                "author": { "display": "Riverside Community Physiotherapy" },
                "activity": [{ "detail": { "status": "in-progress", "description": "Knee exercises twice a day" } }]
            })
            .to_string()
        };
        assert!(matches!(
            concord.api_create_linked_plan(&reader, &body("Knees"), now).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(
            matches!(concord.api_create_linked_plan(&hospital, &body("Knees"), now).await, Err(AppError::NotFound(_))),
            "no consent, no writing"
        );
        let bad = serde_json::json!({ "resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": { "reference": format!("Patient/{grace}") } })
        .to_string();
        match concord.api_create_linked_plan(&community, &bad, now).await {
            Err(AppError::Invalid(message)) => assert!(message.starts_with("title:"), "{message}"),
            other => panic!("{other:?}"),
        }
        let created = concord.api_create_linked_plan(&community, &body("Knee exercises"), now).await.unwrap();
        let id = created.id.clone().unwrap();
        assert_eq!(created.meta.as_ref().unwrap().version_id.as_deref(), Some("1"));
        assert_eq!(created.category[0].text.as_deref(), Some("Physiotherapy self-care plan"));
        assert_eq!(created.part_of.len(), 1, "part of the person's own plan");

        // Updates name the version they replace.
        let missing = concord.api_update_linked_plan(&community, &id, None, &body("Knees v2"), now).await;
        assert!(matches!(missing, Err(AppError::Precondition { missing: true, .. })));
        let updated =
            concord.api_update_linked_plan(&community, &id, Some("W/\"1\""), &body("Knees v2"), now).await.unwrap();
        assert_eq!(updated.meta.as_ref().unwrap().version_id.as_deref(), Some("2"));
        let stale = concord.api_update_linked_plan(&community, &id, Some("W/\"1\""), &body("Knees v3"), now).await;
        assert!(matches!(stale, Err(AppError::Precondition { missing: false, .. })), "a stale version is refused");
        assert_eq!(concord.store.linked_plan(&id).await.unwrap().unwrap().plan.title, "Knees v2", "nothing of it kept");
        assert!(matches!(
            concord.api_update_linked_plan(&hospital, &id, Some("W/\"2\""), &body("Mine now"), now).await,
            Err(AppError::NotFound(_))
        ));

        // The practice records one it was sent; problems are named by field.
        let incomplete = concord_domain::linked_plan::LinkedPlan { kind: "mental_health".into(), ..Default::default() };
        let problems = concord.link_plan(&nurse, &grace, incomplete, now).await.unwrap().unwrap_err();
        assert_eq!(
            problems.iter().map(|(field, _)| field.as_str()).collect::<Vec<_>>(),
            ["service", "title", "summary"]
        );
        let crisis = concord_domain::linked_plan::LinkedPlan {
            service: "Riverside Mental Health Team".into(),
            kind: "mental_health".into(),
            title: "Crisis plan".into(),
            summary: "Call the crisis line on 0800 000 0000.".into(),
            ..Default::default()
        };
        concord.link_plan(&nurse, &grace, crisis, now).await.unwrap().unwrap();
        let file = concord
            .link_plan_file(concord_app::cycle::Caller::Console, &grace, &body("Uploaded copy"), now)
            .await
            .unwrap();
        assert!(!file.is_empty());

        // Served with the person's plan: their own first, then the other services'.
        let plans = concord.api_search(&community, "CarePlan", &grace).await.unwrap();
        let titles: Vec<String> = plans
            .iter()
            .filter_map(|resource| match resource {
                Resource::CarePlan(plan) => plan.title.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(titles.len(), 5, "{titles:?}");
        assert!(titles[0].contains("plan"), "the person's own plan first: {titles:?}");
        for expected in ["Knees v2", "Crisis plan", "Uploaded copy"] {
            assert!(titles.iter().any(|title| title == expected), "{expected} in {titles:?}");
        }
        let read = concord.api_read(&community, "CarePlan", &id).await.unwrap();
        assert_eq!(read.id(), Some(id.as_str()));
        let audited = concord
            .store
            .audit_events(&concord_store::AuditFilter { patient_id: Some(grace.clone()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(audited.iter().filter(|event| event.entity == "LinkedPlan").count(), 4, "3 linked, 1 updated");
    }
}
