//! The preparation letter on real databases: made only once results are reviewed and never while
//! an urgent flag has no action; a withheld result never reaches it; a clinic list's letters go
//! through the outbox once each, stored as made and readable as PDF.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use concord_app::AppError;
use concord_app::Concord;
use concord_app::booking::ClinicRequest;
use concord_app::cycle::Caller;
use concord_app::preparation::LetterFormat;
use concord_app::record::StaffMember;
use concord_app::review::ReviewInput;
use concord_domain::access::StaffRole;
use concord_domain::cycle::Stage;
use time::{Duration, OffsetDateTime, Time};

mod common;

const PRACTICE: &str = "F83004";

fn write(directory: &Path, name: &str, text: &str) {
    std::fs::write(directory.join(name), text).unwrap();
}

/// Two people with type 2 diabetes and a history of HbA1c results; the second needs large print.
fn population() -> std::path::PathBuf {
    let directory = common::scratch("concord-app-preparation");
    write(
        &directory,
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\n",
    );
    write(
        &directory,
        "patients.csv",
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,preferred_channel,communication_needs\n\
         P1,9434765919,Grace,Okafor,1948-02-11,female,F83004,2000-01-01,letter,\n\
         P2,9434765870,Tom,Reid,1950-05-01,male,F83004,2000-01-01,letter,large print\n",
    );
    write(
        &directory,
        "conditions.csv",
        "record_id,nhs_number,code,term,onset_date,status\n\
         C1,9434765919,44054006,Type 2 diabetes mellitus,2012-04-01,active\n\
         C2,9434765870,44054006,Type 2 diabetes mellitus,2014-04-01,active\n",
    );
    let today = OffsetDateTime::now_utc().date();
    let mut observations =
        String::from("record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status\n");
    for (index, (days_ago, value)) in [(730, 66.0), (365, 63.0), (20, 58.0)].iter().enumerate() {
        let day = today - Duration::days(*days_ago);
        for (person, number) in ["9434765919", "9434765870"].iter().enumerate() {
            observations.push_str(&format!(
                "H{person}{index},{number},,snomed,999791000000106,HbA1c level - IFCC standardised,{day}T09:00,{value},mmol/mol,final\n"
            ));
        }
    }
    write(&directory, "observations.csv", &observations);
    directory
}

fn staff(role: StaffRole) -> StaffMember {
    let name = if role == StaffRole::Nurse { "Nurse Patel" } else { "Sam Admin" };
    common::staff(role, name, PRACTICE)
}

/// Visit (blood pressure) and review with a personal HbA1c target of 53.
async fn reviewed(concord: &Concord, patient: &str, now: OffsetDateTime) {
    let hca = StaffMember { role: StaffRole::HealthcareAssistant, ..staff(StaffRole::Nurse) };
    let answers: BTreeMap<String, String> =
        [("systolic_bp", "132"), ("diastolic_bp", "78")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    concord.record_visit(&hca, patient, &answers, now).await.unwrap().unwrap();
    let input = ReviewInput {
        comment: "Your blood sugar is coming down. Well done.".into(),
        assign_to: "nurse".into(),
        targets: [("hba1c".to_owned(), "53".to_owned())].into_iter().collect(),
        without_awaited: false,
    };
    concord.review_results(&staff(StaffRole::Nurse), patient, &input, now).await.unwrap().unwrap();
}

fn pdf_text(pdf: &[u8]) -> String {
    let path = common::scratch("concord-app-preparation-pdf").join("letter.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output =
        Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext (poppler-utils) is installed");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_letter_waits_for_review_and_flag_actions_leaves_out_withheld_results_and_goes_once_per_clinic_list() {
    for concord in common::engines("app_preparation").await {
        common::import(&concord, vec![population()], OffsetDateTime::now_utc().date()).await;
        let now = OffsetDateTime::now_utc();
        let nurse = staff(StaffRole::Nurse);
        let admin = staff(StaffRole::PracticeAdmin);
        let grace = common::patient_id(&concord, "9434765919").await;
        let tom = common::patient_id(&concord, "9434765870").await;

        // Before the review: no letter.
        let view = concord.preparation_view(&nurse, &grace, now).await.unwrap();
        assert!(view.blocked.as_deref().unwrap_or_default().contains("reviewed"), "{:?}", view.blocked);
        assert!(view.letter.is_none());
        let early = concord.send_preparation(Caller::Staff(&admin), &grace, now).await.unwrap_err();
        assert!(matches!(early, AppError::Refused(_)), "{early:?}");

        reviewed(&concord, &grace, now).await;
        reviewed(&concord, &tom, now).await;
        let view = concord.preparation_view(&nurse, &grace, now).await.unwrap();
        assert_eq!(view.blocked, None);
        assert_eq!(view.format, LetterFormat::Standard);
        let text = view.letter.as_ref().unwrap().plain_text();
        for expected in [
            "Dear Grace,",
            "for your diabetes",
            "58 mmol/mol",
            "53 mmol/mol or below",
            "Nurse Patel",
            "Blood pressure, top number",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert_eq!(concord.preparation_view(&nurse, &tom, now).await.unwrap().format, LetterFormat::LargePrint);

        // An urgent potassium arrives after the review: no letter until its action is recorded.
        let directory = common::scratch("concord-app-preparation-k");
        let day = now.date();
        write(
            &directory,
            "observations.csv",
            &format!(
                "record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status\n\
                 K1,9434765919,,snomed,1000651000000109,Serum potassium level,{day}T08:00,6.7,mmol/L,final\n"
            ),
        );
        common::import(&concord, vec![directory], day).await;
        let blocked = concord.preparation_view(&nurse, &grace, now).await.unwrap().blocked.unwrap();
        assert!(blocked.contains("nobody first learns of a serious result by post"), "{blocked}");
        for refused in [
            concord.send_preparation(Caller::Staff(&admin), &grace, now).await.unwrap_err(),
            concord.preparation_pdf(Caller::Console, &grace, None, now).await.unwrap_err(),
        ] {
            assert!(matches!(&refused, AppError::Refused(reason) if reason.contains("red flag")), "{refused:?}");
        }
        let flag = concord.store.red_flags(Some(&grace), true).await.unwrap().remove(0);
        concord
            .record_flag_action(&nurse, &grace, &flag.id, "Phoned; same-day hospital assessment arranged", now)
            .await
            .unwrap();

        // The clinician withholds the potassium (a reason is required): it leaves the letter.
        let no_reason = concord.withhold_result(&nurse, &grace, "potassium", "  ", now).await.unwrap_err();
        assert!(matches!(no_reason, AppError::Invalid(_)));
        let told = concord.preparation_view(&nurse, &grace, now).await.unwrap().letter.unwrap().plain_text();
        assert!(told.contains("Potassium"), "told before withholding");
        concord
            .withhold_result(&nurse, &grace, "potassium", "Discuss in person first: hospital assessment pending", now)
            .await
            .unwrap();
        let refused_role = concord.withhold_result(&admin, &grace, "hba1c", "reason", now).await.unwrap_err();
        assert!(matches!(refused_role, AppError::Forbidden(_)), "administrators cannot withhold results");
        let view = concord.preparation_view(&nurse, &grace, now).await.unwrap();
        assert!(!view.letter.unwrap().plain_text().contains("Potassium"), "withheld results are not told");
        assert!(view.results.iter().any(|choice| choice.observable == "potassium" && choice.withheld.is_some()));

        // Both are booked for a conversation next week; the clinic list's letters go out once.
        let clinic_day = now.date() + Duration::days(7);
        let request = ClinicRequest {
            practice: PRACTICE.into(),
            purpose: "conversation".into(),
            clinician_role: "nurse".into(),
            clinician_name: "Nurse Patel".into(),
            date: clinic_day,
            first_start: Time::from_hms(10, 0, 0).unwrap(),
            last_start: Time::from_hms(10, 20, 0).unwrap(),
            minutes: None,
        };
        let slots = concord.create_clinic(Caller::Staff(&admin), &request, now).await.unwrap();
        concord.book(Caller::Staff(&admin), &grace, &slots[0].row.id, now).await.unwrap();
        concord.book(Caller::Staff(&admin), &tom, &slots[1].row.id, now).await.unwrap();
        let outcome =
            concord.send_preparations(Caller::Staff(&admin), PRACTICE, clinic_day, clinic_day, now).await.unwrap();
        assert_eq!(outcome.sent.len(), 2, "{outcome:?}");
        let again =
            concord.send_preparations(Caller::Staff(&admin), PRACTICE, clinic_day, clinic_day, now).await.unwrap();
        assert!(again.sent.is_empty() && again.skipped.len() == 2, "{again:?}");
        assert!(again.skipped.iter().all(|(_, reason)| reason.contains("already made")));

        let year = i64::from(now.year());
        let cycle = concord.store.cycle(&grace, year).await.unwrap().unwrap();
        assert_eq!(Stage::parse(&cycle.stage), Some(Stage::ConversationBooked), "sending keeps the booked stage");
        let letters = concord.store.preparation_letters(&grace).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].withheld, ["potassium"]);
        assert!(letters[0].results.contains(&"hba1c".to_owned()));
        let messages = concord.store.messages_for(&grace).await.unwrap();
        let queued = messages.iter().find(|message| message.purpose == "preparation").expect("in the outbox");
        assert_eq!((queued.channel.as_str(), queued.status.as_str()), ("letter", "to_print"));
        assert_eq!(queued.attachment.as_deref(), Some(format!("preparation_letter:{}", letters[0].id).as_str()));

        let (_, pdf) = concord.preparation_letter_pdf(Caller::Staff(&nurse), &letters[0].id).await.unwrap();
        let text = pdf_text(&pdf);
        for expected in [
            "Dear Grace,",
            "58 mmol/mol",
            "53 mmol/mol or below",
            "Mill Lane Surgery",
            "10:00am with the practice nurse",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("Potassium"), "withheld results never reach the PDF");
        let tom_letter = concord.store.preparation_letters(&tom).await.unwrap().remove(0);
        assert_eq!(tom_letter.format, "large_print");

        let events = concord
            .store
            .audit_events(&concord_store::AuditFilter { limit: Some(200), ..Default::default() })
            .await
            .unwrap();
        for entity in ["WithheldResult", "PreparationLetter", "Preparation"] {
            assert!(events.iter().any(|event| event.entity == entity), "{entity} audited");
        }
    }
}
