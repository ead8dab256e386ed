//! The person's preparation online, on real databases: the code in their letter and their date of
//! birth open it; wrong dates of birth lock the code; a new code ends the old one; what they
//! write reaches the clinician; a carer with proxy access signs in with their own code and date of
//! birth and writes for them; ending proxy access ends their session; people who prefer email get
//! an email with the code instead of a letter.

use std::collections::BTreeMap;
use std::path::Path;

use concord_app::cycle::Caller;
use concord_app::online::ProxyInput;
use concord_app::record::StaffMember;
use concord_app::review::ReviewInput;
use concord_app::{AppError, Concord};
use concord_domain::access::StaffRole;
use time::macros::date;
use time::{Duration, OffsetDateTime};

mod common;

fn write(directory: &Path, name: &str, text: &str) {
    std::fs::write(directory.join(name), text).unwrap();
}

fn population() -> std::path::PathBuf {
    let directory = common::scratch("concord-app-online");
    write(
        &directory,
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\n",
    );
    write(
        &directory,
        "patients.csv",
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,preferred_channel,email,mobile\n\
         P1,9434765919,Grace,Okafor,1948-02-11,female,F83004,2000-01-01,letter,,07700 900123\n\
         P2,9434765870,Tom,Reid,1950-05-01,male,F83004,2000-01-01,email,tom@example.test,\n",
    );
    write(
        &directory,
        "conditions.csv",
        "record_id,nhs_number,code,term,onset_date,status\n\
         C1,9434765919,44054006,Type 2 diabetes mellitus,2012-04-01,active\n\
         C2,9434765870,44054006,Type 2 diabetes mellitus,2014-04-01,active\n",
    );
    let day = OffsetDateTime::now_utc().date() - Duration::days(10);
    write(
        &directory,
        "observations.csv",
        &format!(
            "record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status\n\
             H1,9434765919,,snomed,999791000000106,HbA1c level - IFCC standardised,{day}T09:00,58,mmol/mol,final\n\
             H2,9434765870,,snomed,999791000000106,HbA1c level - IFCC standardised,{day}T09:00,61,mmol/mol,final\n"
        ),
    );
    directory
}

fn staff(role: StaffRole) -> StaffMember {
    common::staff(role, "Nurse Patel", "F83004")
}

async fn reviewed(concord: &Concord, patient: &str, now: OffsetDateTime) {
    let hca = StaffMember { role: StaffRole::HealthcareAssistant, ..staff(StaffRole::Nurse) };
    let answers: BTreeMap<String, String> =
        [("systolic_bp", "132"), ("diastolic_bp", "78")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    concord.record_visit(&hca, patient, &answers, now).await.unwrap().unwrap();
    let input = ReviewInput {
        comment: "Your results are steady.".into(),
        assign_to: "nurse".into(),
        targets: BTreeMap::new(),
        without_awaited: true,
    };
    concord.review_results(&staff(StaffRole::Nurse), patient, &input, now).await.unwrap().unwrap();
}

/// The access code written in a text ("ABCD-EFGH-JKMN").
fn code_in(text: &str) -> String {
    let alphabet = concord_domain::online_access::CODE_ALPHABET;
    text.split(|ch: char| ch.is_whitespace() || ch == '.' || ch == ',')
        .find(|word| {
            word.len() == 14
                && word
                    .bytes()
                    .enumerate()
                    .all(|(index, byte)| if index == 4 || index == 9 { byte == b'-' } else { alphabet.contains(&byte) })
        })
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

fn refused(result: Result<concord_app::online::NewPersonSession, AppError>) -> String {
    match result {
        Err(AppError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_person_and_their_carer_prepare_online_with_codes_and_dates_of_birth() {
    for concord in common::engines("app_online").await {
        common::import(&concord, vec![population()], OffsetDateTime::now_utc().date()).await;
        let now = OffsetDateTime::now_utc();
        let nurse = staff(StaffRole::Nurse);
        let grace = common::patient_id(&concord, "9434765919").await;
        let tom = common::patient_id(&concord, "9434765870").await;
        reviewed(&concord, &grace, now).await;
        reviewed(&concord, &tom, now).await;

        // Grace's letter carries her code and where to use it.
        let letter = concord.send_preparation(Caller::Staff(&nurse), &grace, now).await.unwrap();
        assert!(letter.plain_text.contains("/prepare and enter the code"), "{}", letter.plain_text);
        let code = code_in(&letter.plain_text);

        // Wrong dates of birth: the same words each time, then a lock that a right one cannot open.
        let wrong = date!(1948 - 02 - 12);
        let first = refused(concord.person_sign_in(&code, wrong, now).await);
        assert!(first.contains("code or date of birth"), "{first}");
        let unknown = refused(concord.person_sign_in("ABCD-EFGH-JKMN", date!(1948 - 02 - 11), now).await);
        assert_eq!(unknown, first, "an unknown code is refused in the same words");
        for _ in 0..3 {
            refused(concord.person_sign_in(&code, wrong, now).await);
        }
        let locked = refused(concord.person_sign_in(&code, wrong, now).await);
        assert!(locked.contains("Too many tries"), "{locked}");
        let still = refused(concord.person_sign_in(&code, date!(1948 - 02 - 11), now).await);
        assert!(still.contains("Too many tries"), "the lock holds even for the right date: {still}");

        // A new code from the practice: the old one stops working, the new one opens it.
        let channel = concord.send_access_code(Caller::Staff(&nurse), &grace, None, now).await.unwrap();
        assert_eq!(channel, "letter");
        let messages = concord.store.messages_for(&grace).await.unwrap();
        let new_code = code_in(&messages.iter().find(|message| message.purpose == "access_code").unwrap().body);
        assert_ne!(new_code, code);
        let revoked = refused(concord.person_sign_in(&code, date!(1948 - 02 - 11), now).await);
        assert!(revoked.contains("can no longer be used"), "{revoked}");
        let session = concord.person_sign_in(&new_code.to_lowercase(), date!(1948 - 02 - 11), now).await.unwrap();
        let visitor = concord.person_visitor(&session.token).await.unwrap().expect("a live session");
        assert_eq!(visitor.patient_id, grace);
        assert_eq!(visitor.written_by, "Grace Okafor");

        let online = concord.online_preparation(&visitor, now).await.unwrap();
        let text = online.letter.as_ref().expect("results shown online").plain_text();
        assert!(text.contains("58 mmol/mol"), "{text}");
        assert!(concord.online_letter_pdf(&visitor).await.unwrap().starts_with(b"%PDF-"));

        // What she writes is checked, saved and read by the nurse.
        let mut answers: BTreeMap<String, String> = BTreeMap::new();
        answers.insert("what_matters".into(), "Walking to the allotment again".into());
        answers.insert("needs_money".into(), "very bad".into());
        let errors = concord.save_online_agenda(&visitor, &answers, now).await.unwrap().unwrap_err();
        assert_eq!(errors[0].0, "needs_money");
        assert!(concord.preparation_view(&nurse, &grace, now).await.unwrap().agenda.is_empty(), "nothing saved");
        answers.insert("needs_money".into(), "some_help".into());
        assert!(concord.save_online_agenda(&visitor, &answers, now).await.unwrap().unwrap() >= 2);
        assert_eq!(concord.save_online_agenda(&visitor, &answers, now).await.unwrap().unwrap(), 0, "unchanged");
        let agenda = concord.preparation_view(&nurse, &grace, now).await.unwrap().agenda;
        let matters = agenda.iter().find(|line| line.answer == "Walking to the allotment again").unwrap();
        assert!(matters.written.starts_with("Grace Okafor"), "{matters:?}");
        assert!(
            agenda.iter().any(|line| line.question == "Money" && line.answer == "I would like some help with this")
        );

        // A withheld result leaves the online view too.
        concord.withhold_result(&nurse, &grace, "hba1c", "Discuss in person first", now).await.unwrap();
        let text = concord.online_preparation(&visitor, now).await.unwrap().letter.unwrap().plain_text();
        assert!(!text.contains("58 mmol/mol"), "withheld results are never shown online");

        // Her daughter, with proxy access on the basis of consent, signs in with her own details.
        let incomplete = ProxyInput { name: "Ann Okafor".into(), ..Default::default() };
        let errors = concord.add_proxy(&nurse, &grace, &incomplete, now).await.unwrap().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["relationship", "birth_date", "basis", "basis_note"]);
        let input = ProxyInput {
            name: "Ann Okafor".into(),
            relationship: "daughter".into(),
            birth_date: "1975-06-30".into(),
            email: "ann@example.test".into(),
            mobile: String::new(),
            basis: "consent".into(),
            basis_note: "Grace signed the practice's proxy consent form; Ann's passport seen".into(),
        };
        let proxy = concord.add_proxy(&nurse, &grace, &input, now).await.unwrap().unwrap();
        assert_eq!(
            concord.send_access_code(Caller::Staff(&nurse), &grace, Some(&proxy.id), now).await.unwrap(),
            "email"
        );
        let messages = concord.store.messages_for(&grace).await.unwrap();
        let to_ann =
            messages.iter().rev().find(|message| message.recipient.as_deref() == Some("ann@example.test")).unwrap();
        let ann_code = code_in(&to_ann.body);
        refused(concord.person_sign_in(&ann_code, date!(1948 - 02 - 11), now).await);
        let ann = concord.person_sign_in(&ann_code, date!(1975 - 06 - 30), now).await.unwrap();
        let ann_visitor = concord.person_visitor(&ann.token).await.unwrap().unwrap();
        assert_eq!(ann_visitor.written_by, "Ann Okafor (daughter) for Grace Okafor");
        answers.insert("questions".into(), "Can Mum's tablets be taken with food?".into());
        concord.save_online_agenda(&ann_visitor, &answers, now).await.unwrap().unwrap();
        let agenda = concord.preparation_view(&nurse, &grace, now).await.unwrap().agenda;
        let question = agenda.iter().find(|line| line.answer.contains("tablets")).unwrap();
        assert!(question.written.starts_with("Ann Okafor (daughter) for Grace Okafor"), "{question:?}");
        // What Ann may do is Grace's choice: at first the preparation only.
        use concord_domain::online_access::ProxyScope;
        assert!(matches!(concord.online_plan(&ann_visitor, None, now).await, Err(AppError::Forbidden(_))));
        assert!(matches!(concord.record_access_log(&ann_visitor).await, Err(AppError::Forbidden(_))));
        assert!(matches!(
            concord.person_start_step_up(&ann_visitor, &ann.token, now).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(concord.person_sharing(&ann_visitor).await, Err(AppError::Forbidden(_))), "only Grace");
        let proxies = concord.person_proxies(&visitor).await.unwrap();
        assert_eq!(proxies[0].1, [ProxyScope::Letter, ProxyScope::Agenda]);
        // Changing it needs the stronger check: a code by text message to the mobile on her record.
        assert!(matches!(
            concord.person_set_proxy_scope(&visitor, &proxy.id, &[ProxyScope::Plan], now).await,
            Err(AppError::Refused(_))
        ));
        assert_eq!(concord.person_start_step_up(&visitor, &session.token, now).await.unwrap(), "text message");
        let messages = concord.store.messages_for(&grace).await.unwrap();
        let text = messages.iter().rev().find(|message| message.purpose == "identity_check").unwrap();
        assert_eq!((text.channel.as_str(), text.recipient.as_deref()), ("sms", Some("07700 900123")));
        let step_up: String = text.body.chars().filter(char::is_ascii_digit).take(6).collect();
        let wrong = if step_up == "000000" { "111111" } else { "000000" };
        use concord_store::StepUpCheck;
        assert_eq!(
            concord.person_check_step_up(&visitor, &session.token, wrong, now).await.unwrap(),
            StepUpCheck::Wrong(2)
        );
        assert_eq!(
            concord.person_check_step_up(&visitor, &session.token, &step_up, now).await.unwrap(),
            StepUpCheck::Verified
        );
        assert_eq!(
            concord.person_check_step_up(&visitor, &session.token, &step_up, now).await.unwrap(),
            StepUpCheck::NoCode,
            "a code works once"
        );
        let verified = concord.person_visitor(&session.token).await.unwrap().unwrap();
        assert!(verified.verified(now));
        assert!(!verified.verified(now + Duration::minutes(16)), "the check holds for a quarter of an hour");
        concord.person_set_proxy_scope(&verified, &proxy.id, &[ProxyScope::Plan], now).await.unwrap();
        let ann_now = concord.person_visitor(&ann.token).await.unwrap().unwrap();
        assert!(ann_now.may(ProxyScope::Plan) && !ann_now.may(ProxyScope::Agenda), "it applies at once");
        assert!(matches!(concord.save_online_agenda(&ann_now, &answers, now).await, Err(AppError::Forbidden(_))));
        // Three wrong codes use a code up.
        concord.person_start_step_up(&visitor, &session.token, now).await.unwrap();
        for left in [2, 1, 0] {
            assert_eq!(
                concord.person_check_step_up(&visitor, &session.token, "999999x", now).await.unwrap(),
                if step_up_is("999999", &concord, &grace).await {
                    StepUpCheck::Verified
                } else {
                    StepUpCheck::Wrong(left)
                }
            );
        }
        assert_eq!(
            concord.person_check_step_up(&visitor, &session.token, "123456", now).await.unwrap(),
            StepUpCheck::NoCode
        );
        assert!(concord.revoke_proxy(&nurse, &grace, &proxy.id, now).await.unwrap());
        assert!(concord.person_visitor(&ann.token).await.unwrap().is_none(), "ending proxy access ends the session");
        let ended = refused(concord.person_sign_in(&ann_code, date!(1975 - 06 - 30), now).await);
        assert!(ended.contains("can no longer be used"), "{ended}");

        // An urgent result after the letter holds the results back online.
        let directory = common::scratch("concord-app-online-k");
        let today = now.date();
        write(
            &directory,
            "observations.csv",
            &format!(
                "record_id,nhs_number,local_patient_id,code_system,code,term,effective_at,value,unit,status\n\
                 K1,9434765919,,snomed,1000651000000109,Serum potassium level,{today}T08:00,6.8,mmol/L,final\n"
            ),
        );
        common::import(&concord, vec![directory], today).await;
        let held = concord.online_preparation(&visitor, now).await.unwrap();
        assert!(held.letter.is_none() && held.held_back.is_some(), "results held back while the flag has no action");
        assert!(matches!(concord.online_letter_pdf(&visitor).await, Err(AppError::Refused(_))));

        // Tom prefers email: his preparation comes as an email with his code, not a printed letter.
        concord.send_preparation(Caller::Staff(&nurse), &tom, now).await.unwrap();
        let messages = concord.store.messages_for(&tom).await.unwrap();
        let preparation = messages.iter().find(|message| message.purpose == "preparation").unwrap();
        assert_eq!(
            (preparation.channel.as_str(), preparation.recipient.as_deref()),
            ("email", Some("tom@example.test"))
        );
        assert!(!preparation.body.contains("61"), "results never travel in an email: {}", preparation.body);
        let tom_code = code_in(&preparation.body);
        assert!(concord.person_sign_in(&tom_code, date!(1950 - 05 - 01), now).await.is_ok());

        // She can see who has looked at her record, in words.
        let log = concord.record_access_log(&visitor).await.unwrap();
        assert!(
            log.iter().any(|line| line.who == "Nurse at the practice" && line.what == "Looked at your results letter"),
            "{log:?}"
        );
        assert!(log.iter().any(|line| line.who == "Your carer (proxy access)"
            && line.what == "Changed what you wrote for your appointment"));
        assert!(log.iter().any(|line| line.who == "You" && line.what == "Signed in online"));

        concord.person_sign_out(&session.token, &visitor).await.unwrap();
        assert!(concord.person_visitor(&session.token).await.unwrap().is_none());
        let events = concord
            .store
            .audit_events(&concord_store::AuditFilter { limit: Some(500), ..Default::default() })
            .await
            .unwrap();
        for (entity, action) in [
            ("PersonSession", "sign-in-failed"),
            ("PersonSession", "sign-in"),
            ("Agenda", "update"),
            ("ProxyAccess", "create"),
            ("AccessCode", "create"),
            ("Preparation", "read"),
        ] {
            assert!(
                events.iter().any(|event| event.entity == entity && event.action == action),
                "{entity} {action} audited"
            );
        }
        assert!(
            events.iter().any(|event| event.actor_role == "proxy" && event.entity == "Agenda"),
            "the proxy's writing is audited as theirs"
        );
    }
}

/// Whether the newest identity check code sent for the person is `code` (so a test's deliberately
/// wrong code is never, by chance, the right one).
async fn step_up_is(code: &str, concord: &Concord, patient_id: &str) -> bool {
    let messages = concord.store.messages_for(patient_id).await.unwrap();
    let newest = messages.iter().rev().find(|message| message.purpose == "identity_check").unwrap();
    newest.body.chars().filter(char::is_ascii_digit).take(6).collect::<String>() == code
}
