//! Check-ins between consultations on real databases: scheduled when a plan is agreed, sent four
//! weeks on (a text with a code for Grace, the call list for Tom who has no mobile or email),
//! answered online or by phone, progress kept against each goal, and a follow-up with an owner
//! and a date for whoever is struggling or asks for help.

use concord_app::AppError;
use concord_app::check_ins::CheckInAnswers;
use concord_domain::access::StaffRole;
use concord_domain::plan::{Action, CarePlan, Contingency, Goal, PlanName};
use time::macros::date;
use time::{Duration, OffsetDateTime};

mod common;

fn population() -> std::path::PathBuf {
    let directory = common::scratch("concord-app-check-ins");
    let write = |name: &str, text: &str| std::fs::write(directory.join(name), text).unwrap();
    write(
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\n",
    );
    write(
        "patients.csv",
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,preferred_channel,mobile,phone\n\
         P1,9434765919,Grace,Okafor,1948-02-11,female,F83004,2000-01-01,sms,07700 900123,\n\
         P2,9434765870,Tom,Reid,1950-05-01,male,F83004,2000-01-01,phone,,0113 496 0000\n",
    );
    directory
}

fn plan(today: time::Date) -> CarePlan {
    let goal = |words: &str| Goal {
        words: words.into(),
        importance: 8,
        actions: vec![Action { what: "Walk for 15 minutes".into(), confidence: 7, ..Default::default() }],
    };
    CarePlan {
        name: PlanName::HealthPlan,
        goals: vec![goal("Walk to the allotment"), goal("Sleep better")],
        contingencies: vec![Contingency {
            name: "Low blood sugar (hypo)".into(),
            triggers: "Missing a meal".into(),
            what_to_do: "Take 5 jelly babies".into(),
            ..Default::default()
        }],
        review_date: Some(today + Duration::days(180)),
        review_by: "Practice nurse".into(),
        agreed_by: "the person".into(),
        ..Default::default()
    }
}

/// The check-in messages queued for a person.
async fn check_in_messages(concord: &concord_app::Concord, person: &str) -> Vec<concord_store::OutboxRow> {
    let messages = concord.store.messages_for(person).await.unwrap();
    messages.into_iter().filter(|message| message.purpose == "check_in").collect()
}

fn code_in(text: &str) -> String {
    let start = text.find("code ").unwrap() + 5;
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn check_ins_are_sent_four_weeks_on_and_struggles_reach_a_follow_up_list() {
    for concord in common::engines("app_check_ins").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        common::import(&concord, vec![population()], today).await;
        let grace = common::patient_id(&concord, "9434765919").await;
        let tom = common::patient_id(&concord, "9434765870").await;
        let nurse = common::staff(StaffRole::Nurse, "Nurse Patel", "F83004");
        let coordinator = common::staff(StaffRole::CareCoordinator, "Cara", "F83004");
        for person in [&grace, &tom] {
            concord.record_plan(&nurse, person, 0, plan(today), true, now).await.unwrap().unwrap();
        }
        // Nothing is due yet; four weeks on, Grace gets a text and Tom goes on the call list.
        assert_eq!(concord.send_due_check_ins(now.date(), now, 100).await.unwrap(), Default::default());
        let later = now + Duration::days(29);
        let run = concord.send_due_check_ins(later.date(), later, 100).await.unwrap();
        assert_eq!((run.sent, run.calls), (1, 1));
        assert_eq!(
            concord.send_due_check_ins(later.date(), later, 100).await.unwrap(),
            Default::default(),
            "sent once"
        );
        let text = check_in_messages(&concord, &grace).await.remove(0);
        assert_eq!((text.channel.as_str(), text.recipient.as_deref()), ("sms", Some("07700 900123")));
        assert!(text.body.contains("not watched for emergencies"), "{}", text.body);

        // Unanswered for two weeks, her text check-in joins the call list too (and not before).
        let calls = concord.check_in_calls(&coordinator, later).await.unwrap();
        assert!(calls.iter().all(|call| call.0.patient_id != grace), "only Tom, by phone");
        let fortnight = later + Duration::days(15);
        let calls = concord.check_in_calls(&coordinator, fortnight).await.unwrap();
        assert!(calls.iter().any(|call| call.0.patient_id == grace && call.0.channel == "sms"), "unanswered: called");

        // Grace answers online with the code from the text.
        let session = concord.person_sign_in(&code_in(&text.body), date!(1948 - 02 - 11), later).await.unwrap();
        let visitor = concord.person_visitor(&session.token).await.unwrap().unwrap();
        let (_, goals) = concord.online_check_in(&visitor).await.unwrap().expect("a check-in waiting");
        assert_eq!(goals, ["Walk to the allotment", "Sleep better"]);
        let reads = concord
            .store
            .audit_events(&concord_store::AuditFilter { patient_id: Some(grace.clone()), ..Default::default() })
            .await
            .unwrap();
        assert!(reads.iter().any(|event| event.entity == "CheckIn" && event.action == "read"), "her read is audited");
        let blank = CheckInAnswers { statuses: vec![String::new(), String::new()], ..Default::default() };
        assert!(matches!(concord.answer_online_check_in(&visitor, &blank, later).await, Err(AppError::Invalid(_))));
        let answers = CheckInAnswers {
            statuses: vec!["going_well".into(), "struggling".into()],
            help: false,
            note: "Cannot get to sleep".into(),
        };
        let due = concord.answer_online_check_in(&visitor, &answers, later).await.unwrap();
        assert_eq!(
            due.as_deref(),
            Some(concord_domain::check_in::respond_by(later.date(), 2).to_string().as_str()),
            "struggling makes a follow-up"
        );
        assert!(matches!(concord.answer_online_check_in(&visitor, &answers, later).await, Err(AppError::Refused(_))));
        // Her feedback, once: the GPPS support question and Concord's two others.
        assert_eq!(concord.survey_due(&visitor, later).await.unwrap(), Some("after_conversation"));
        let wrong = vec![("support".to_owned(), "perhaps".to_owned())];
        assert_eq!(concord.answer_survey(&visitor, &wrong, later).await.unwrap().unwrap_err()[0].0, "support");
        let survey = vec![
            ("support".to_owned(), "yes_some_extent".to_owned()),
            ("confidence".to_owned(), "fairly".to_owned()),
            ("goals".to_owned(), "some".to_owned()),
        ];
        concord.answer_survey(&visitor, &survey, later).await.unwrap().unwrap();
        assert_eq!(concord.survey_due(&visitor, later).await.unwrap(), None);
        assert!(matches!(concord.answer_survey(&visitor, &survey, later).await, Err(AppError::Refused(_))));
        let responses = concord.store.survey_responses(Some("F83004")).await.unwrap();
        assert_eq!(concord_domain::survey::feel_supported(responses.iter().map(|row| row.support.as_str())), (1, 1));
        let plan_id = concord.store.plan_versions(&grace).await.unwrap()[0].plan_id.clone();
        let progress = concord.store.goal_progress(&plan_id).await.unwrap();
        assert_eq!(progress.len(), 2, "progress on each goal");

        // Tom is called; he asks for help.
        let calls = concord.check_in_calls(&coordinator, later).await.unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].4.as_deref(), Some("0113 496 0000"));
        let help =
            CheckInAnswers { statuses: vec!["no_change".into(), String::new()], help: true, note: String::new() };
        assert!(concord.record_check_in_call(&coordinator, &calls[0].0.id, &help, later).await.unwrap().is_some());
        assert!(concord.check_in_calls(&coordinator, later).await.unwrap().is_empty());
        // On the same call he gives his feedback, as Grace did online: kept once, by phone.
        assert_eq!(concord.survey_due_on_call(&coordinator, &tom, later).await.unwrap(), Some("after_conversation"));
        let on_call = |support: &str| {
            vec![
                ("support".to_owned(), support.to_owned()),
                ("confidence".to_owned(), "not_very".to_owned()),
                ("goals".to_owned(), String::new()),
            ]
        };
        assert_eq!(
            concord.record_survey_on_call(&coordinator, &tom, &on_call("maybe"), later).await.unwrap().unwrap_err()[0]
                .0,
            "support"
        );
        assert!(concord.record_survey_on_call(&coordinator, &tom, &on_call("no"), later).await.unwrap().unwrap());
        assert!(
            !concord.record_survey_on_call(&coordinator, &tom, &on_call("no"), later).await.unwrap().unwrap(),
            "once"
        );
        assert_eq!(concord.survey_due_on_call(&coordinator, &tom, later).await.unwrap(), None);
        let admin = common::staff(StaffRole::PracticeAdmin, "Pat", "F83004");
        assert!(matches!(
            concord.record_survey_on_call(&admin, &tom, &on_call("no"), later).await,
            Err(AppError::Forbidden(_))
        ));
        let responses = concord.store.survey_responses(Some("F83004")).await.unwrap();
        assert_eq!(concord_domain::survey::feel_supported(responses.iter().map(|row| row.support.as_str())), (1, 2));
        assert!(responses.iter().any(|row| row.submitted_by == "Cara (by phone)"));

        // The follow-up list: soonest first, each with its reason; closed with what was done.
        let follow_ups = concord.follow_ups(&coordinator).await.unwrap();
        let reasons: Vec<&str> = follow_ups.iter().map(|row| row.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2);
        assert!(reasons.contains(&"Asked for help") && reasons.contains(&"Finding a goal hard"));
        assert!(follow_ups.iter().all(|row| row.owner_role == "care_coordinator"));
        let commissioner = common::staff(StaffRole::Commissioner, "Chris", "F83004");
        assert!(matches!(concord.follow_ups(&commissioner).await, Err(AppError::Forbidden(_))));
        let first = &follow_ups[0].id;
        assert!(matches!(concord.complete_follow_up(&coordinator, first, " ", later).await, Err(AppError::Invalid(_))));
        assert!(concord.complete_follow_up(&coordinator, first, "Called; booked a sleep review", later).await.unwrap());
        assert!(!concord.complete_follow_up(&coordinator, first, "again", later).await.unwrap());
        assert_eq!(concord.follow_ups(&coordinator).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn nobody_is_messaged_or_called_after_they_die_or_move_and_every_note_is_read() {
    for concord in common::engines("app_check_ins_safety").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let directory = common::scratch("concord-app-check-ins-safety");
        let write = |name: &str, text: &str| std::fs::write(directory.join(name), text).unwrap();
        write(
            "organisations.csv",
            "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
             F83004,Mill Lane Surgery,practice,U12345\n",
        );
        // Grace by text, Tom by phone, Ada by text, Sam by email.
        let patients = |grace_died: &str, tom_died: &str, sam_left: &str| {
            format!(
                "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,\
                 registered_until,death_date,preferred_channel,mobile,phone,email\n\
                 P1,9434765919,Grace,Okafor,1948-02-11,female,F83004,2000-01-01,,{grace_died},sms,07700 900123,,\n\
                 P2,9434765870,Tom,Reid,1950-05-01,male,F83004,2000-01-01,,{tom_died},phone,,0113 496 0000,\n\
                 P3,9990000018,Ada,Byrne,1955-03-03,female,F83004,2000-01-01,,,sms,07700 900456,,\n\
                 P4,9990000026,Sam,Iqbal,1952-07-07,male,F83004,2000-01-01,{sam_left},,email,,,sam@example.org\n"
            )
        };
        write("patients.csv", &patients("", "", ""));
        common::import(&concord, vec![directory.clone()], today).await;
        let id = |nhs: &'static str| {
            let concord = &concord;
            async move { common::patient_id(concord, nhs).await }
        };
        let (grace, tom, ada, sam) =
            (id("9434765919").await, id("9434765870").await, id("9990000018").await, id("9990000026").await);
        let nurse = common::staff(StaffRole::Nurse, "Nurse Patel", "F83004");
        let coordinator = common::staff(StaffRole::CareCoordinator, "Cara", "F83004");
        for person in [&grace, &tom, &ada, &sam] {
            concord.record_plan(&nurse, person, 0, plan(today), true, now).await.unwrap().unwrap();
        }

        // Before the check-ins fall due, Tom dies and Sam moves away: neither is messaged or
        // called, and each withdrawal is audited with its reason.
        let yesterday = (today - Duration::days(1)).to_string();
        write("patients.csv", &patients("", &yesterday, &yesterday));
        common::import(&concord, vec![directory.clone()], today).await;
        let later = now + Duration::days(29);
        let due = concord.store.due_check_ins(&later.date().to_string(), 100).await.unwrap();
        assert_eq!(due.len(), 4);
        let run = concord.send_due_check_ins(later.date(), later, 100).await.unwrap();
        assert_eq!((run.sent, run.calls, run.withdrawn), (2, 0, 2), "{run:?}");
        assert!(concord.check_in_calls(&coordinator, later).await.unwrap().is_empty(), "Tom is not rung");
        for (person, reason) in [(&tom, "died"), (&sam, "registration ended")] {
            assert!(check_in_messages(&concord, person).await.is_empty(), "no check-in message");
            let events = concord
                .store
                .audit_events(&concord_store::AuditFilter { patient_id: Some(person.clone()), ..Default::default() })
                .await
                .unwrap();
            assert!(
                events.iter().any(|event| event.entity == "CheckIn" && event.detail.contains(reason)),
                "withdrawal audited with {reason:?}"
            );
        }
        // A second sender holding the same due row makes no second code or message.
        let grace_row = due.iter().find(|row| row.patient_id == grace).unwrap();
        assert!(!concord.store.send_check_in(grace_row, None, &later.to_string()).await.unwrap());
        assert_eq!(check_in_messages(&concord, &grace).await.len(), 1);

        // Grace dies a week after her text: unanswered a fortnight on, she is not on the call list.
        let week = (later + Duration::days(7)).date().to_string();
        write("patients.csv", &patients(&week, &yesterday, &yesterday));
        common::import(&concord, vec![directory], (later + Duration::days(8)).date()).await;
        let fortnight = later + Duration::days(15);
        let calls = concord.check_in_calls(&coordinator, fortnight).await.unwrap();
        assert_eq!(calls.iter().map(|call| call.0.patient_id.clone()).collect::<Vec<_>>(), vec![ada.clone()]);

        // Ada writes only a note, "please ring me": accepted, and someone will read it.
        let text = check_in_messages(&concord, &ada).await.remove(0);
        let session = concord.person_sign_in(&code_in(&text.body), date!(1955 - 03 - 03), later).await.unwrap();
        let visitor = concord.person_visitor(&session.token).await.unwrap().unwrap();
        let blank = CheckInAnswers { statuses: vec![String::new(), String::new()], ..Default::default() };
        assert!(matches!(concord.answer_online_check_in(&visitor, &blank, later).await, Err(AppError::Invalid(_))));
        let note = CheckInAnswers {
            statuses: vec![String::new(), String::new()],
            help: false,
            note: "Please ring me about my feet".into(),
        };
        assert!(concord.answer_online_check_in(&visitor, &note, later).await.unwrap().is_some(), "a follow-up");
        let follow_ups = concord.follow_ups(&coordinator).await.unwrap();
        assert_eq!(follow_ups.len(), 1);
        assert_eq!(
            (follow_ups[0].patient_id.as_str(), follow_ups[0].reason.as_str(), follow_ups[0].note.as_str()),
            (ada.as_str(), "Wrote a note to read", "Please ring me about my feet")
        );
    }
}

#[tokio::test]
async fn the_survey_after_a_december_conversation_is_still_asked_in_january() {
    for concord in common::engines("app_survey_new_year").await {
        let today = OffsetDateTime::now_utc().date();
        common::import(&concord, vec![population()], today).await;
        let grace = common::patient_id(&concord, "9434765919").await;
        let nurse = common::staff(StaffRole::Nurse, "Nurse Patel", "F83004");
        // The next 20 December, and her check-in four weeks on, in the new year.
        let year = if today < time::Date::from_calendar_date(today.year(), time::Month::December, 20).unwrap() {
            today.year()
        } else {
            today.year() + 1
        };
        let agreed_at =
            time::Date::from_calendar_date(year, time::Month::December, 20).unwrap().midnight().assume_utc()
                + Duration::hours(10);
        concord.record_plan(&nurse, &grace, 0, plan(agreed_at.date()), true, agreed_at).await.unwrap().unwrap();
        let january = agreed_at + Duration::days(29);
        assert_eq!(concord.send_due_check_ins(january.date(), january, 100).await.unwrap().sent, 1);
        let text = check_in_messages(&concord, &grace).await.remove(0);
        let session = concord.person_sign_in(&code_in(&text.body), date!(1948 - 02 - 11), january).await.unwrap();
        let visitor = concord.person_visitor(&session.token).await.unwrap().unwrap();
        assert_eq!(concord.survey_due(&visitor, january).await.unwrap(), Some("after_conversation"));
        let long_after = agreed_at + Duration::days(concord_app::survey::AFTER_CONVERSATION_DAYS + 1);
        assert_eq!(concord.survey_due(&visitor, long_after).await.unwrap(), None, "no longer about that conversation");
        let survey = vec![
            ("support".to_owned(), "yes_definitely".to_owned()),
            ("confidence".to_owned(), "very".to_owned()),
            ("goals".to_owned(), "some".to_owned()),
        ];
        concord.answer_survey(&visitor, &survey, january).await.unwrap().unwrap();
        let responses = concord.store.survey_responses(Some("F83004")).await.unwrap();
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].cycle_year, i64::from(year), "counted with the December conversation's year");
        assert_eq!(concord.survey_due(&visitor, january).await.unwrap(), None, "answered once");
    }
}
