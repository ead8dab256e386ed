//! The care and support plan on real databases: versions are kept whole and never overwritten,
//! a second clinician saving over an older version gets a conflict and nothing of theirs is
//! written, agreement moves the cycle, treatments agreed become prescriber tasks, the PDF reads
//! back with the results, targets, goals, actions, contingency plan and review date, and the plans
//! report lists each person's current version.

use std::collections::BTreeMap;
use std::process::Command;

use concord_app::AppError;
use concord_app::cycle::Caller;
use concord_app::record::StaffMember;
use concord_app::review::ReviewInput;
use concord_domain::access::StaffRole;
use concord_domain::cycle::Stage;
use concord_domain::plan::{Action, CarePlan, Contingency, Goal, Journey, PlanName, Sharing};
use concord_store::StoreError;
use time::{Duration, OffsetDateTime};

mod common;

fn population() -> std::path::PathBuf {
    let directory = common::scratch("concord-app-plan");
    let write = |name: &str, text: &str| std::fs::write(directory.join(name), text).unwrap();
    write(
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\n",
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
    for (index, (days_ago, value)) in [(400, 64.0), (20, 58.0)].iter().enumerate() {
        let day = today - Duration::days(*days_ago);
        observations.push_str(&format!(
            "H{index},9434765919,,snomed,999791000000106,HbA1c level - IFCC standardised,{day}T09:00,{value},mmol/mol,final\n"
        ));
    }
    write("observations.csv", &observations);
    directory
}

fn staff(role: StaffRole, name: &str) -> StaffMember {
    common::staff(role, name, "F83004")
}

fn plan(today: time::Date) -> CarePlan {
    CarePlan {
        name: PlanName::HealthPlan,
        journey: Journey::Established,
        goals: vec![Goal {
            words: "Walk to the allotment without stopping".into(),
            importance: 8,
            actions: vec![Action {
                what: "Walk for 15 minutes".into(),
                when: "After breakfast".into(),
                how_often: "Five days a week".into(),
                who_supports: "My neighbour Joan".into(),
                barriers: "Rain".into(),
                confidence: 7,
            }],
        }],
        treatments: vec!["Increase metformin to 1 g twice a day".into()],
        contingencies: vec![Contingency {
            name: "Low blood sugar (hypo)".into(),
            triggers: "Missing a meal after taking my tablets".into(),
            early_warning_signs: "Shaky, sweaty, confused".into(),
            what_to_do: "Take 5 jelly babies, then a snack".into(),
            who_to_contact: "The practice; 111 out of hours".into(),
        }],
        review_date: Some(today + Duration::days(180)),
        review_by: "Practice nurse".into(),
        agreed_by: "Grace Okafor".into(),
        sharing: Sharing::default(),
        ..Default::default()
    }
}

fn conflict(result: Result<Result<i64, Vec<(String, String)>>, AppError>) -> bool {
    matches!(result, Err(AppError::Store(StoreError::Conflict(_))))
}

#[tokio::test]
async fn plans_are_versioned_conflicts_lose_nothing_and_the_pdf_carries_the_plan() {
    for concord in common::engines("app_plan").await {
        common::import(&concord, vec![population()], OffsetDateTime::now_utc().date()).await;
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let nurse = staff(StaffRole::Nurse, "Nurse Patel");
        let gp = staff(StaffRole::Gp, "Dr Shah");
        let grace = common::patient_id(&concord, "9434765919").await;
        let hca = staff(StaffRole::HealthcareAssistant, "Priya");
        let visit: BTreeMap<String, String> =
            [("systolic_bp", "132"), ("diastolic_bp", "78")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        concord.record_visit(&hca, &grace, &visit, now).await.unwrap().unwrap();
        let review = ReviewInput {
            comment: "Steady.".into(),
            assign_to: "nurse".into(),
            targets: [("hba1c".to_owned(), "53".to_owned())].into(),
            without_awaited: true,
        };
        concord.review_results(&nurse, &grace, &review, now).await.unwrap().unwrap();
        let request = concord_app::booking::ClinicRequest {
            practice: "F83004".into(),
            purpose: "conversation".into(),
            clinician_role: "nurse".into(),
            clinician_name: "Nurse Patel".into(),
            date: today + Duration::days(3),
            first_start: time::Time::from_hms(10, 0, 0).unwrap(),
            last_start: time::Time::from_hms(10, 0, 0).unwrap(),
            minutes: None,
        };
        let slot = concord.create_clinic(Caller::Console, &request, now).await.unwrap().remove(0);
        concord.book(Caller::Console, &grace, &slot.row.id, now).await.unwrap();

        let view = concord.conversation_view(&nurse, &grace, now).await.unwrap();
        assert_eq!(view.minutes, 20, "a double appointment");
        assert!(view.current.is_none());
        assert!(
            view.results.iter().any(|line| line.contains("58 mmol/mol") && line.contains("their target")),
            "{:?}",
            view.results
        );
        assert!(
            view.services.iter().take(1).any(|service| service.for_registers.contains(&"diabetes".to_owned())),
            "suited services first"
        );

        // An agreed plan without a review date or an action is refused, field by field, nothing saved.
        let mut incomplete = plan(today);
        incomplete.review_date = None;
        let problems = concord.record_plan(&nurse, &grace, 0, incomplete, true, now).await.unwrap().unwrap_err();
        assert!(problems.iter().any(|(field, _)| field == "review_date"), "{problems:?}");
        assert!(concord.store.plan_versions(&grace).await.unwrap().is_empty());

        // A draft, then the agreed version: the cycle moves to "plan agreed".
        let draft = CarePlan { goals: vec![], ..plan(today) };
        assert_eq!(concord.record_plan(&nurse, &grace, 0, draft, false, now).await.unwrap().unwrap(), 1);
        assert_eq!(concord.record_plan(&nurse, &grace, 1, plan(today), true, now).await.unwrap().unwrap(), 2);
        let cycle = concord.store.cycle(&grace, i64::from(today.year())).await.unwrap().unwrap();
        assert_eq!(Stage::parse(&cycle.stage), Some(Stage::PlanAgreed));
        // Cycle events carry their SNOMED CT concept where its id is confirmed, and only then.
        concord
            .record_cycle_event(
                Caller::Console,
                &grace,
                concord_domain::cycle::CycleEvent::ReviewFallsDue,
                today,
                None,
                now,
            )
            .await
            .unwrap();
        let events = concord.store.cycle_events(&cycle.id).await.unwrap();
        let coded: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|event| (event.0.as_str(), event.6.as_deref()))
            .filter(|(event, _)| ["agree_plan", "review_falls_due"].contains(event))
            .collect();
        assert_eq!(coded, [("agree_plan", None), ("review_falls_due", Some("425268008"))]);

        // Two clinicians both started from version 2: the first to save wins; the second is told,
        // and nothing of theirs is written.
        let mut nurse_edit = plan(today);
        nurse_edit.goals[0].actions[0].confidence = 9;
        let mut gp_edit = plan(today);
        gp_edit.medication_plan = "Take metformin with food".into();
        assert_eq!(concord.record_plan(&nurse, &grace, 2, nurse_edit, true, now).await.unwrap().unwrap(), 3);
        assert!(conflict(concord.record_plan(&gp, &grace, 2, gp_edit.clone(), true, now).await));
        let versions = concord.store.plan_versions(&grace).await.unwrap();
        assert_eq!(versions.iter().map(|version| version.version).collect::<Vec<_>>(), [3, 2, 1]);
        assert!(
            conflict(concord.record_plan(&gp, &grace, 0, gp_edit.clone(), true, now).await),
            "a second first version is refused too"
        );
        // The GP starts again from the newest version, with their change: both are kept.
        let mut rebased = concord.plan_view(Caller::Staff(&gp), &grace, None).await.unwrap().plan;
        rebased.medication_plan = gp_edit.medication_plan.clone();
        assert_eq!(concord.record_plan(&gp, &grace, 3, rebased, true, now).await.unwrap().unwrap(), 4);

        // Every version can be viewed; each says what changed.
        let third = concord.plan_view(Caller::Staff(&nurse), &grace, Some(3)).await.unwrap();
        assert_eq!(third.changes, ["Action \"Walk for 15 minutes\": confidence 7 → 9 out of 10"]);
        assert_eq!(third.plan.goals[0].actions[0].confidence, 9);
        let second = concord.plan_view(Caller::Staff(&nurse), &grace, Some(2)).await.unwrap();
        assert_eq!(second.plan.goals[0].actions[0].confidence, 7, "earlier versions are never overwritten");
        assert!(second.changes.iter().any(|line| line.starts_with("New goal")));
        let newest = concord.plan_view(Caller::Staff(&nurse), &grace, None).await.unwrap();
        assert_eq!((newest.version, newest.status.as_str()), (4, "agreed"));
        assert_eq!(newest.plan.medication_plan, "Take metformin with food");

        // The treatment agreed is one task for a prescriber, done once.
        let tasks = concord.prescriber_tasks(Caller::Staff(&nurse)).await.unwrap();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0].task.description, "Increase metformin to 1 g twice a day");
        assert!(matches!(
            concord.complete_prescriber_task(&hca, &tasks[0].task.id, now).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(concord.complete_prescriber_task(&gp, &tasks[0].task.id, now).await.unwrap());
        assert!(concord.prescriber_tasks(Caller::Staff(&nurse)).await.unwrap().is_empty());

        // The PDF, read back.
        let pdf = concord.plan_pdf(Caller::Staff(&nurse), &grace, None, false, now).await.unwrap();
        let path = common::scratch("concord-app-plan-pdf").join("plan.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let output = Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext (poppler-utils)");
        let text = String::from_utf8(output.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
        let review_date = concord_domain::document::long_date(today + Duration::days(180));
        for expected in [
            "My health plan",
            "Walk to the allotment without stopping",
            "How important this is to me: 8 out of 10",
            "Walk for 15 minutes",
            "How confident I feel 9 out of 10",
            "Low blood sugar (hypo)",
            "What can set it off: Missing a meal after taking my tablets",
            "Take 5 jelly babies, then a snack",
            "Increase metformin to 1 g twice a day",
            "58 mmol/mol",
            "my target is 53 mmol/mol",
            review_date.as_str(),
            "With Grace Okafor",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let large = concord.plan_pdf(Caller::Staff(&nurse), &grace, Some(2), true, now).await.unwrap();
        assert!(large.len() > 1000);
        // The agreed copy is the one made at agreement: a later result does not change it.
        let directory = common::scratch("concord-app-plan-later");
        std::fs::write(
            directory.join("observations.csv"),
            format!(
                "record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status
                 H9,9434765919,,snomed,999791000000106,HbA1c level - IFCC standardised,{today}T09:00,49,mmol/mol,final
"
            ),
        )
        .unwrap();
        common::import(&concord, vec![directory], today).await;
        let again = concord.plan_pdf(Caller::Staff(&nurse), &grace, None, false, now).await.unwrap();
        assert_eq!(again, pdf, "the agreed copy is kept as it was given");
        let draft_now = concord.plan_pdf(Caller::Staff(&nurse), &grace, Some(1), false, now).await.unwrap();
        assert!(draft_now.starts_with(b"%PDF-"), "drafts are made on request");

        let report = concord.plans_report(Caller::Console).await.unwrap();
        assert_eq!(report.len(), 1);
        assert_eq!(
            (report[0].nhs_number.as_deref(), report[0].version, report[0].status.as_str()),
            (Some("9434765919"), 4, "agreed")
        );
        assert_eq!(report[0].review_date.as_deref(), Some((today + Duration::days(180)).to_string().as_str()));

        let events = concord
            .store
            .audit_events(&concord_store::AuditFilter { limit: Some(300), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(events.iter().filter(|event| event.entity == "CarePlan" && event.action != "read").count(), 4);
        assert!(events.iter().any(|event| event.entity == "CarePlan" && event.action == "read"));
    }
}
