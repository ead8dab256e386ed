//! The cycle on real databases (SQLite, and PostgreSQL when `CONCORD_TEST_POSTGRES_URL` is set):
//! statuses kept current as results arrive equal a full recompute (also after a rule change); an
//! urgent result reaches the triage queue in the same import; the cycle's stages are enforced and
//! audited; invitations go into the outbox by the person's channel.

use std::path::PathBuf;

use concord_app::Concord;
use concord_app::cycle::Caller;
use concord_app::import::ImportReport;
use concord_domain::cycle::CycleEvent;
use concord_store::{PatientSearch, WorklistFilter};
use time::macros::date;

mod common;

fn scratch() -> PathBuf {
    common::scratch("concord-app-cycle")
}

async fn engines() -> Vec<Concord> {
    common::engines("app_cycle").await
}

async fn import(concord: &Concord, paths: Vec<PathBuf>) -> ImportReport {
    common::import(concord, paths, date!(2026 - 11 - 20)).await
}

fn generated_practice(patients: u64) -> PathBuf {
    let out = scratch();
    concord_synth::generate(
        &concord_synth::GenerateOptions {
            patients,
            practices: 1,
            seed: 7,
            format: concord_synth::OutputFormat::Ndjson,
            today: time::OffsetDateTime::now_utc().date(),
        },
        &out,
    )
    .unwrap();
    out
}

/// A CSV extract with one new potassium result for a person already imported.
fn potassium_extract(nhs_number: &str, value: f64, id: &str) -> PathBuf {
    let directory = scratch();
    let today = time::OffsetDateTime::now_utc().date();
    std::fs::write(
        directory.join("observations.csv"),
        format!(
            "record_id,nhs_number,code_system,code,term,value,unit,effective_at,status\n\
             {id},{nhs_number},loinc,2823-3,Potassium,{value},mmol/L,{today}T09:00Z,final\n"
        ),
    )
    .unwrap();
    directory
}

#[tokio::test]
async fn kept_status_equals_a_full_recompute_and_urgent_results_reach_triage() {
    let practice = generated_practice(400);
    for concord in engines().await {
        let report = import(&concord, vec![practice.clone()]).await;
        assert!(report.status.people >= 400, "every imported person gets a status: {:?}", report.status);
        let kept = concord.store.kept_statuses(None).await.unwrap();
        assert!(kept.iter().any(|status| status.enters_cycle), "someone enters the cycle");
        assert!(kept.iter().any(|status| !status.items.is_empty()), "checklists are kept");

        // A new urgent result for one person arrives in a later import.
        let someone = concord
            .store
            .search_patients(&PatientSearch { name: None, nhs_number: None, birth_date: None, practice: None }, 1000)
            .await
            .unwrap()
            .into_iter()
            .find(|listing| listing.nhs_number.is_some() && listing.death_date.is_none())
            .unwrap();
        let nhs_number = someone.nhs_number.clone().unwrap();
        let report = import(&concord, vec![potassium_extract(&nhs_number, 6.9, "K-NEW-1")]).await;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.status.people, 1, "only the person whose record changed is recomputed");
        assert!(report.status.flags_raised >= 1);
        let now = time::OffsetDateTime::now_utc();
        let queue = concord.triage_queue(Caller::Console, now.date(), now).await.unwrap();
        let entry = queue.iter().find(|entry| entry.nhs_number.as_deref() == Some(nhs_number.as_str())).unwrap();
        let flag = entry.flags.iter().find(|flag| flag.rule_id.starts_with("potassium")).expect("a potassium flag");
        assert_eq!(flag.severity, "urgent");
        assert_eq!(queue[0].flags[0].severity, "urgent", "urgent flags lead the queue");
        assert!(flag.observation_codes.iter().any(|code| code.code == "2823-3"));

        // The kept statuses equal a recompute from scratch.
        let kept = concord.store.kept_statuses(None).await.unwrap();
        concord.recompute_all_statuses(now.date(), now).await.unwrap();
        let recomputed = concord.store.kept_statuses(None).await.unwrap();
        assert_eq!(kept.len(), recomputed.len());
        for (kept, recomputed) in kept.iter().zip(&recomputed) {
            assert_eq!(kept, recomputed, "kept status of {} differs from a recompute", kept.patient_id);
        }
        // The kept population measure equals the same question asked of every person's row.
        let items =
            ["hba1c", "blood_pressure", "cholesterol", "kidney_function", "urine_acr", "foot_check", "bmi", "smoking"];
        let kept = concord.measure(Caller::Console, Some("F00001"), "nda_eight", now.date(), now).await.unwrap();
        let asked = concord.store.care_process_completeness(Some("F00001"), "diabetes", &items).await.unwrap();
        assert_eq!(kept, asked);
        assert!(kept.people > 0);
        let region = concord.measure(Caller::Console, None, "nda_eight", now.date(), now).await.unwrap();
        assert_eq!(region, concord.store.care_process_completeness(None, "diabetes", &items).await.unwrap());
        assert!(concord.measure(Caller::Console, None, "no_such_measure", now.date(), now).await.is_err());

        // Recomputing raises no flag twice.
        let flags = concord.store.red_flags(None, false).await.unwrap();
        let mut identities: Vec<_> =
            flags.iter().map(|flag| (&flag.patient_id, &flag.rule_id, &flag.observation_keys)).collect();
        identities.sort();
        let before = identities.len();
        identities.dedup();
        assert_eq!(before, identities.len());

        // A rule change (a different fingerprint) makes every status stale until refreshed.
        let stale = concord
            .store
            .mark_outdated_statuses("another-rule-set", &now.date().to_string(), "2026-12-01T00:00:00Z")
            .await
            .unwrap();
        assert_eq!(stale as usize, recomputed.len());
        let refreshed = concord.refresh_statuses(now.date(), now).await.unwrap();
        assert_eq!(refreshed.people as usize, recomputed.len());
        assert_eq!(concord.store.kept_statuses(None).await.unwrap(), recomputed);

        // An action recorded on the flag takes it off the open queue, audited.
        let staff = concord_app::record::StaffMember {
            user_id: "u1".into(),
            username: "dr.duty".into(),
            display_name: "Dr Duty".into(),
            role: concord_domain::access::StaffRole::Gp,
            organisation: None,
        };
        let error = concord.record_flag_action(&staff, &entry.patient_id, &flag.id, " ", now).await.unwrap_err();
        assert!(error.to_string().contains("Describe the action"), "{error}");
        concord
            .record_flag_action(&staff, &entry.patient_id, &flag.id, "Phoned; same-day bloods and ECG", now)
            .await
            .unwrap();
        let again = concord.record_flag_action(&staff, &entry.patient_id, &flag.id, "again", now).await.unwrap_err();
        assert!(again.to_string().contains("already actioned"), "{again}");
        let open = concord.store.red_flags(Some(&entry.patient_id), true).await.unwrap();
        assert!(open.iter().all(|open| open.id != flag.id));
        let hca =
            concord_app::record::StaffMember { role: concord_domain::access::StaffRole::HealthcareAssistant, ..staff };
        let other = concord.store.red_flags(None, true).await.unwrap();
        if let Some(other) = other.first() {
            assert!(concord.record_flag_action(&hca, &other.patient_id, &other.id, "looked", now).await.is_err());
        }
    }
}

#[tokio::test]
async fn the_cycle_is_enforced_audited_and_invites_through_the_outbox() {
    let practice = generated_practice(120);
    for concord in engines().await {
        import(&concord, vec![practice.clone()]).await;
        let now = time::OffsetDateTime::now_utc();
        let today = now.date();
        let list =
            concord.worklist(Caller::Console, &WorklistFilter::default(), now.date(), now, 1000, 0).await.unwrap();
        assert!(!list.is_empty());
        assert!(list.iter().all(|entry| entry.row.stage == "due"));
        // Pages, read from the index in two parts (this month onwards, then earlier months), join
        // up to the whole list in its documented order.
        let mut paged = Vec::new();
        for page in 0.. {
            let rows = concord
                .worklist(Caller::Console, &WorklistFilter::default(), now.date(), now, 7, page * 7)
                .await
                .unwrap();
            if rows.is_empty() {
                break;
            }
            paged.extend(rows.into_iter().map(|entry| entry.row.patient_id));
        }
        assert_eq!(paged, list.iter().map(|entry| entry.row.patient_id.clone()).collect::<Vec<_>>());
        let month = i64::from(now.month() as u8);
        let distance = |row: &concord_store::WorklistRow| (row.recall_month - month).rem_euclid(12);
        for pair in list.windows(2) {
            let (a, b) = (&pair[0].row, &pair[1].row);
            assert!(
                (distance(a), -a.risk_score, &a.family_name) <= (distance(b), -b.risk_score, &b.family_name),
                "{} before {}",
                a.patient_id,
                b.patient_id
            );
        }
        let person = &list[0].row;

        let invited = concord
            .record_cycle_event(Caller::Console, &person.patient_id, CycleEvent::Invite, today, None, now)
            .await
            .unwrap();
        assert_eq!((invited.stage.as_str(), invited.invitations), ("invited", 1));
        let too_soon = concord
            .record_cycle_event(
                Caller::Console,
                &person.patient_id,
                CycleEvent::Invite,
                today + time::Duration::days(9),
                None,
                now,
            )
            .await
            .unwrap_err();
        let earliest = today + time::Duration::days(14);
        assert!(too_soon.to_string().contains(&format!("the next may go from {earliest}")), "{too_soon}");
        let skip = concord
            .record_cycle_event(
                Caller::Console,
                &person.patient_id,
                CycleEvent::AgreePlan,
                today + time::Duration::days(9),
                None,
                now,
            )
            .await
            .unwrap_err();
        assert!(skip.to_string().contains("cannot agree_plan"), "{skip}");

        let messages = concord.store.messages_for(&person.patient_id).await.unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].purpose, "invitation_1");
        assert!(["email", "sms", "letter"].contains(&messages[0].channel.as_str()));
        if messages[0].channel != "sms" {
            assert_eq!(
                messages[0].attachment.as_deref(),
                Some("two-appointments-leaflet"),
                "the leaflet goes with the first invitation"
            );
        }

        let filtered = concord
            .worklist(
                Caller::Console,
                &WorklistFilter { stage: Some("invited".into()), ..Default::default() },
                now.date(),
                now,
                1000,
                0,
            )
            .await
            .unwrap();
        assert_eq!(filtered.len(), 1);
        assert_eq!(filtered[0].row.patient_id, person.patient_id);

        let events = concord
            .store
            .audit_events(&concord_store::AuditFilter { limit: Some(50), ..Default::default() })
            .await
            .unwrap();
        assert!(
            events.iter().any(|event| event.entity == "CareCycle" && event.detail.contains("invite: due -> invited")),
            "{:?}",
            events.iter().map(|event| (&event.entity, &event.detail)).collect::<Vec<_>>()
        );
        assert!(events.iter().any(|event| event.entity == "Worklist"));

        // A person without permission is refused.
        let commissioner = concord_app::record::StaffMember {
            user_id: "u2".into(),
            username: "c".into(),
            display_name: "C".into(),
            role: concord_domain::access::StaffRole::Commissioner,
            organisation: None,
        };
        assert!(
            concord
                .worklist(Caller::Staff(&commissioner), &WorklistFilter::default(), now.date(), now, 10, 0)
                .await
                .is_err()
        );
        assert!(
            concord
                .record_cycle_event(
                    Caller::Staff(&commissioner),
                    &person.patient_id,
                    CycleEvent::Decline,
                    today + time::Duration::days(1),
                    None,
                    now
                )
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn invitations_reach_a_real_smtp_server_and_nothing_goes_to_someone_who_declined() {
    use concord_app::outbox::Transports;
    use concord_messaging::SmtpEmailTransport;
    use concord_messaging::testing::SmtpSink;

    let directory = scratch();
    std::fs::write(
        directory.join("patients.csv"),
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,email,mobile,preferred_channel,communication_needs\n\
         P1,9434765919,Grace,Okafor,1948-02-11,female,F00001,grace@example.test,,email,\n\
         P2,9434765870,Tom,Reid,1950-05-02,male,F00001,tom@example.test,,email,\n\
         P3,9434765889,Ann,Shah,1951-06-03,female,F00001,ann@example.test,,email,large print\n",
    )
    .unwrap();
    std::fs::write(
        directory.join("conditions.csv"),
        "record_id,nhs_number,code,term,onset_date,status\n\
         C1,9434765919,44054006,Type 2 diabetes mellitus,2012-04-01,active\n\
         C2,9434765870,44054006,Type 2 diabetes mellitus,2013-04-01,active\n\
         C3,9434765889,44054006,Type 2 diabetes mellitus,2014-04-01,active\n",
    )
    .unwrap();
    let sink = SmtpSink::start().await;
    let transports = Transports {
        email: Some(std::sync::Arc::new(SmtpEmailTransport::new(sink.config("practice@example.test")).unwrap())),
        sms: None,
    };
    for concord in engines().await {
        let report = import(&concord, vec![directory.clone()]).await;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        let now = time::OffsetDateTime::now_utc();
        let people = concord.store.kept_statuses(None).await.unwrap();
        assert_eq!(people.len(), 3);
        for person in &people {
            concord
                .record_cycle_event(Caller::Console, &person.patient_id, CycleEvent::Invite, now.date(), None, now)
                .await
                .unwrap();
        }
        let tom = concord
            .store
            .search_patients(
                &PatientSearch { name: Some("Reid".into()), nhs_number: None, birth_date: None, practice: None },
                5,
            )
            .await
            .unwrap()
            .remove(0);
        concord
            .record_cycle_event(
                Caller::Console,
                &tom.id,
                CycleEvent::Decline,
                now.date(),
                Some("phoned to decline".into()),
                now,
            )
            .await
            .unwrap();

        let before = sink.received().len();
        let run = concord.deliver_outbox(&transports, now + time::Duration::minutes(1), 100).await.unwrap();
        assert_eq!((run.sent, run.suppressed), (1, 1), "{run:?}");
        let received = sink.received();
        assert_eq!(received.len(), before + 1);
        let email = received.last().unwrap().decoded();
        assert_eq!(email.to, ["grace@example.test"]);
        assert!(email.subject.unwrap().contains("review"));
        assert!(email.text_body.unwrap().contains("Dear Grace"));
        assert_eq!(email.attachments.len(), 1, "the leaflet goes with the first invitation");
        assert!(String::from_utf8_lossy(&email.attachments[0].bytes).contains("two appointments"));

        let toms = concord.store.messages_for(&tom.id).await.unwrap();
        assert_eq!(
            (toms[0].status.as_str(), toms[0].suppressed_reason.as_deref()),
            ("suppressed", Some("cycle stage is declined"))
        );
        let mut letters = 0;
        for person in &people {
            letters += concord
                .store
                .messages_for(&person.patient_id)
                .await
                .unwrap()
                .iter()
                .filter(|message| message.channel == "letter" && message.status == "to_print")
                .count();
        }
        assert_eq!(letters, 1, "large print needs a letter, not an email");

        // Nothing is sent twice: a second run finds nothing due.
        let again = concord.deliver_outbox(&transports, now + time::Duration::minutes(2), 100).await.unwrap();
        assert_eq!(again.sent, 0);
    }
}
