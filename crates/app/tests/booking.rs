//! Booking the two Year of Care contacts on real databases (SQLite, and PostgreSQL when
//! `CONCORD_TEST_POSTGRES_URL` is set): clinic lists without duplicates; a booking moves the slot
//! and the stage together or neither; two people racing for one slot, exactly one gets it; an
//! appointment imported from the GP system's book takes the overlapping slot and shows in the
//! schedule; cancelling frees the slot; every change audited.

use std::path::{Path, PathBuf};

use concord_app::Concord;
use concord_app::booking::{ClinicRequest, Slot, SlotState};
use concord_app::cycle::Caller;
use concord_domain::cycle::CycleEvent;
use concord_domain::nhs_number::NhsNumber;
use concord_store::{AuditEntry, AuditFilter, PatientSearch};
use time::macros::time;
use time::{Date, Duration, OffsetDateTime, Time};

mod common;

const PRACTICE: &str = "F83004";
const OTHER_PRACTICE: &str = "F83005";

/// Valid NHS numbers in the 999 test range.
fn nhs_numbers(count: usize) -> Vec<String> {
    (990_000_100..).filter_map(NhsNumber::from_prefix).take(count).map(|number| number.as_str().to_owned()).collect()
}

fn write(directory: &Path, name: &str, text: &str) {
    std::fs::write(directory.join(name), text).unwrap();
}

/// Organisations (two practices) and `count` people at [`PRACTICE`], then one at [`OTHER_PRACTICE`].
fn population(count: usize) -> (PathBuf, Vec<String>) {
    let directory = common::scratch("concord-app-booking");
    write(
        &directory,
        "organisations.csv",
        "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU12345,Riverside PCN,pcn,Y99\n\
         F83004,Mill Lane Surgery,practice,U12345\nF83005,Bridge Street Surgery,practice,U12345\n",
    );
    let numbers = nhs_numbers(count + 1);
    let mut patients = String::from(
        "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,preferred_channel\n",
    );
    for (index, number) in numbers.iter().enumerate() {
        let practice = if index < count { PRACTICE } else { OTHER_PRACTICE };
        patients.push_str(&format!(
            "P{index},{number},Person{index},Tester,1950-01-01,female,{practice},2000-01-01,letter\n"
        ));
    }
    write(&directory, "patients.csv", &patients);
    (directory, numbers)
}

/// An encounters file: (record id, NHS number, UK local start, setting, clinician, status).
fn encounters(rows: &[(&str, &str, String, &str, &str, &str)]) -> PathBuf {
    let directory = common::scratch("concord-app-booking-encounters");
    let mut text = String::from("record_id,nhs_number,start_at,setting,clinician,status\n");
    for (id, number, start, setting, clinician, status) in rows {
        text.push_str(&format!("{id},{number},{start},{setting},{clinician},{status}\n"));
    }
    write(&directory, "encounters.csv", &text);
    directory
}

async fn import(concord: &Concord, path: PathBuf) {
    let report = common::import(concord, vec![path], OffsetDateTime::now_utc().date()).await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

async fn patient_id(concord: &Concord, number: &str) -> String {
    let search = PatientSearch {
        name: None,
        nhs_number: Some(NhsNumber::parse(number).unwrap()),
        birth_date: None,
        practice: None,
    };
    concord.store.search_patients(&search, 1).await.unwrap().remove(0).id
}

/// A database per engine with the population imported, and the people's ids.
async fn engines_with_people(name: &str, count: usize) -> Vec<(Concord, Vec<String>, Vec<String>)> {
    let (directory, numbers) = population(count);
    let mut engines = Vec::new();
    for concord in common::engines(name).await {
        import(&concord, directory.clone()).await;
        let mut ids = Vec::new();
        for number in &numbers {
            ids.push(patient_id(&concord, number).await);
        }
        engines.push((concord, ids, numbers.clone()));
    }
    engines
}

/// A clinic day a month ahead, so every slot is in the future whatever the time of the run.
fn clinic_day() -> Date {
    OffsetDateTime::now_utc().date() + Duration::days(30)
}

fn clinic(purpose: &str, role: &str, name: &str, first: Time, last: Time, minutes: Option<i64>) -> ClinicRequest {
    ClinicRequest {
        practice: PRACTICE.into(),
        purpose: purpose.into(),
        clinician_role: role.into(),
        clinician_name: name.into(),
        date: clinic_day(),
        first_start: first,
        last_start: last,
        minutes,
    }
}

fn clock(slot: &Slot) -> String {
    let time = slot.local_start.time();
    format!("{:02}:{:02}", time.hour(), time.minute())
}

async fn audit(concord: &Concord) -> Vec<AuditEntry> {
    concord.store.audit_events(&AuditFilter { limit: Some(10_000), ..Default::default() }).await.unwrap()
}

async fn invite(concord: &Concord, patient_id: &str, now: OffsetDateTime) {
    concord.record_cycle_event(Caller::Console, patient_id, CycleEvent::Invite, now.date(), None, now).await.unwrap();
}

#[tokio::test]
async fn clinic_lists_are_validated_and_a_clinician_never_has_two_slots_at_once() {
    for (concord, _, _) in engines_with_people("app_booking_lists", 1).await {
        let now = OffsetDateTime::now_utc();
        let day = clinic_day();
        let information = concord
            .create_clinic(
                Caller::Console,
                &clinic("information_gathering", "hca", "Amy Hart", time!(09:00), time!(10:00), Some(15)),
                now,
            )
            .await
            .unwrap();
        assert_eq!(information.iter().map(clock).collect::<Vec<_>>(), ["09:00", "09:15", "09:30", "09:45", "10:00"]);
        assert!(information.iter().all(|slot| slot.row.minutes == 15 && slot.row.source == "concord"));
        assert!(information.iter().all(|slot| slot.local_start.date() == day));

        // The conversation's default length is a double appointment.
        let conversation = concord
            .create_clinic(
                Caller::Console,
                &clinic("conversation", "nurse", "Sister Jones", time!(09:00), time!(10:00), None),
                now,
            )
            .await
            .unwrap();
        assert_eq!(conversation.iter().map(clock).collect::<Vec<_>>(), ["09:00", "09:20", "09:40", "10:00"]);
        assert!(conversation.iter().all(|slot| slot.row.minutes == concord_app::booking::CONVERSATION_MINUTES));

        // The same clinician at a time they already have: the whole list is refused, naming the time.
        let duplicate = concord
            .create_clinic(
                Caller::Console,
                &clinic("information_gathering", "hca", "Amy Hart", time!(09:30), time!(10:30), Some(15)),
                now,
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(duplicate.contains(&format!("Amy Hart already has a slot at 09:30 on {day}")), "{duplicate}");
        let free = concord.free_slots(Caller::Console, PRACTICE, "information_gathering", day, day, now).await.unwrap();
        assert_eq!(free.iter().map(clock).collect::<Vec<_>>(), ["09:00", "09:15", "09:30", "09:45", "10:00"]);
        // Another clinician may run a clinic at the same times.
        concord
            .create_clinic(
                Caller::Console,
                &clinic("information_gathering", "hca", "Ben Cole", time!(09:00), time!(09:15), Some(15)),
                now,
            )
            .await
            .unwrap();
        let free = concord.free_slots(Caller::Console, PRACTICE, "information_gathering", day, day, now).await.unwrap();
        assert_eq!(free.len(), 7);
        assert!(free.windows(2).all(|pair| pair[0].row.starts_at <= pair[1].row.starts_at), "ordered by time");

        // Each field is checked, and named when wrong.
        let refused = |request: ClinicRequest| {
            let concord = concord.clone();
            async move { concord.create_clinic(Caller::Console, &request, now).await.unwrap_err().to_string() }
        };
        let base = clinic("information_gathering", "hca", "Cara Dunn", time!(09:00), time!(10:00), Some(15));
        let error = refused(ClinicRequest { purpose: "review".into(), ..base.clone() }).await;
        assert!(error.starts_with("Purpose:"), "{error}");
        let error = refused(ClinicRequest { purpose: "conversation".into(), ..base.clone() }).await;
        assert!(error.starts_with("Clinician role:") && error.contains("nurse, gp, pharmacist"), "{error}");
        let error = refused(ClinicRequest { clinician_role: "porter".into(), ..base.clone() }).await;
        assert!(error.starts_with("Clinician role:"), "{error}");
        let error = refused(ClinicRequest { clinician_name: "  ".into(), ..base.clone() }).await;
        assert!(error.starts_with("Clinician name:"), "{error}");
        let error = refused(ClinicRequest { clinician_name: "GP system (nurse)".into(), ..base.clone() }).await;
        assert!(error.starts_with("Clinician name:"), "{error}");
        let error = refused(ClinicRequest { minutes: Some(3), ..base.clone() }).await;
        assert!(error.starts_with("Minutes:") && error.contains("5 to 90"), "{error}");
        let error = refused(ClinicRequest { minutes: Some(120), ..base.clone() }).await;
        assert!(error.starts_with("Minutes:"), "{error}");
        let error = refused(ClinicRequest { first_start: time!(11:00), ..base.clone() }).await;
        assert!(error.starts_with("Last start time:"), "{error}");
        let error = refused(ClinicRequest { date: now.date() - Duration::days(1), ..base.clone() }).await;
        assert!(error.starts_with("Date and first start time:") && error.contains("in the past"), "{error}");
        let error = refused(ClinicRequest { practice: "Z99999".into(), ..base.clone() }).await;
        assert!(error.starts_with("Practice:"), "{error}");
        let error = refused(ClinicRequest { practice: "not a code".into(), ..base.clone() }).await;
        assert!(error.starts_with("Practice:"), "{error}");

        // Only staff who manage the cycle create clinics.
        let commissioner = concord_app::record::StaffMember {
            user_id: "u1".into(),
            username: "c".into(),
            display_name: "C".into(),
            role: concord_domain::access::StaffRole::Commissioner,
            organisation: None,
        };
        assert!(matches!(
            concord.create_clinic(Caller::Staff(&commissioner), &base, now).await,
            Err(concord_app::AppError::Forbidden(_))
        ));

        let lists: Vec<_> = audit(&concord).await.into_iter().filter(|event| event.entity == "ClinicList").collect();
        assert_eq!(lists.len(), 3, "one event per list created, none for the refused ones");
        assert!(lists.iter().all(|event| event.organisation.as_deref() == Some(PRACTICE) && event.action == "create"));
    }
}

#[tokio::test]
async fn a_booking_moves_the_slot_and_the_stage_together_or_neither() {
    for (concord, people, _) in engines_with_people("app_booking_book", 4).await {
        let now = OffsetDateTime::now_utc();
        let day = clinic_day();
        let information = concord
            .create_clinic(
                Caller::Console,
                &clinic("information_gathering", "hca", "Amy Hart", time!(09:00), time!(10:00), Some(15)),
                now,
            )
            .await
            .unwrap();
        let conversation = concord
            .create_clinic(
                Caller::Console,
                &clinic("conversation", "nurse", "Sister Jones", time!(14:00), time!(15:00), None),
                now,
            )
            .await
            .unwrap();
        let (anne, bill, cath, other) = (&people[0], &people[1], &people[2], &people[4]);
        invite(&concord, anne, now).await;

        // Booked: the slot is the person's and the stage moved, in one change.
        let booking = concord.book(Caller::Console, anne, &information[0].row.id, now).await.unwrap();
        assert_eq!(booking.cycle.stage, "information_gathering_booked");
        assert_eq!(booking.slot.row.booked_patient_id.as_deref(), Some(anne.as_str()));
        assert_eq!(booking.slot.row.booked_cycle_id.as_deref(), Some(booking.cycle.id.as_str()));
        let cycle = concord.store.cycle(anne, i64::from(now.date().year())).await.unwrap().unwrap();
        assert_eq!((cycle.stage.as_str(), cycle.version), ("information_gathering_booked", booking.cycle.version));
        let events = concord.store.cycle_events(&cycle.id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!((last.0.as_str(), last.1.as_str()), ("book_information_gathering", "invited"));
        assert!(last.5.as_deref().unwrap().contains("Amy Hart at 09:00"), "{last:?}");
        let free = concord.free_slots(Caller::Console, PRACTICE, "information_gathering", day, day, now).await.unwrap();
        assert!(free.iter().all(|slot| slot.row.id != information[0].row.id), "a booked slot is not offered");

        // Someone with no cycle yet (due) books: the cycle is created in the booking's transaction.
        let bills = concord.book(Caller::Console, bill, &information[1].row.id, now).await.unwrap();
        assert_eq!((bills.cycle.stage.as_str(), bills.cycle.version), ("information_gathering_booked", 1));

        // A slot already taken is refused, and the loser's cycle is untouched.
        invite(&concord, cath, now).await;
        let taken = concord.book(Caller::Console, cath, &information[1].row.id, now).await.unwrap_err();
        assert_eq!(taken.to_string(), "this slot has just been taken; choose another");
        let caths = concord.store.cycle(cath, i64::from(now.date().year())).await.unwrap().unwrap();
        assert_eq!((caths.stage.as_str(), caths.version), ("invited", 1));

        // The conversation before results are reviewed: refused with the cycle's reason; slot stays free.
        let early = concord.book(Caller::Console, anne, &conversation[0].row.id, now).await.unwrap_err();
        assert!(
            early.to_string().contains("cannot book_conversation when the cycle is at 'information_gathering_booked'"),
            "{early}"
        );
        let slot = concord.store.clinic_slot(&conversation[0].row.id).await.unwrap().unwrap();
        assert!(slot.is_free());
        let unchanged = concord.store.cycle(anne, i64::from(now.date().year())).await.unwrap().unwrap();
        assert_eq!(unchanged, cycle);
        assert_eq!(concord.store.cycle_events(&cycle.id).await.unwrap().len(), events.len());

        // A slot of another practice than the person's.
        let elsewhere = concord.book(Caller::Console, other, &information[2].row.id, now).await.unwrap_err();
        assert!(elsewhere.to_string().contains("not at the person's practice (F83005)"), "{elsewhere}");
        assert!(concord.store.clinic_slot(&information[2].row.id).await.unwrap().unwrap().is_free());

        // The schedule shows who is booked, and reading it is audited.
        let schedule = concord.schedule(Caller::Console, PRACTICE, day, day, now).await.unwrap();
        let entry = schedule.iter().find(|entry| entry.slot.id == information[0].row.id).unwrap();
        assert_eq!(entry.state, SlotState::Booked);
        assert_eq!(entry.patient_name.as_deref(), Some("TESTER, Person0"));
        assert_eq!(schedule.iter().filter(|entry| entry.state == SlotState::Free).count(), 3 + 4);

        // Cancelled: the slot is offered again; the person stays booked-in-principle and is rebooked.
        let cancelled = concord.cancel(Caller::Console, &information[0].row.id, now).await.unwrap();
        assert_eq!(cancelled.row.booked_patient_id.as_deref(), Some(anne.as_str()), "returns what was cancelled");
        let free = concord.free_slots(Caller::Console, PRACTICE, "information_gathering", day, day, now).await.unwrap();
        assert!(free.iter().any(|slot| slot.row.id == information[0].row.id), "a cancelled slot is free again");
        let not_booked = concord.cancel(Caller::Console, &information[0].row.id, now).await.unwrap_err();
        assert!(not_booked.to_string().contains("not booked"), "{not_booked}");
        let rebooked = concord.book(Caller::Console, anne, &information[3].row.id, now).await.unwrap();
        assert_eq!(rebooked.cycle.stage, "information_gathering_booked");
        let events = concord.store.cycle_events(&cycle.id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(
            (last.0.as_str(), last.1.as_str(), last.2.as_str()),
            ("book_information_gathering", "information_gathering_booked", "information_gathering_booked")
        );
        let twice = concord.book(Caller::Console, anne, &information[4].row.id, now).await.unwrap_err();
        assert!(twice.to_string().contains("already booked for information gathering with Amy Hart"), "{twice}");

        // Through to the conversation.
        for event in [CycleEvent::RecordTestsDone, CycleEvent::ReviewResults] {
            concord.record_cycle_event(Caller::Console, anne, event, now.date(), None, now).await.unwrap();
        }
        let talk = concord.book(Caller::Console, anne, &conversation[0].row.id, now).await.unwrap();
        assert_eq!(talk.cycle.stage, "conversation_booked");
        assert_eq!(talk.slot.row.minutes, 20);

        // Every change audited, with the person.
        let trail = audit(&concord).await;
        let about = |patient: &str, entity: &str, starts: &str| {
            trail
                .iter()
                .filter(|event| {
                    event.patient_id.as_deref() == Some(patient)
                        && event.entity == entity
                        && event.detail.starts_with(starts)
                })
                .count()
        };
        assert_eq!(about(anne, "ClinicSlot", "booked information_gathering with Amy Hart (hca)"), 2);
        assert_eq!(about(anne, "ClinicSlot", "cancelled information_gathering"), 1);
        assert_eq!(about(anne, "ClinicSlot", "booked conversation with Sister Jones (nurse)"), 1);
        assert_eq!(about(anne, "CareCycle", "book_information_gathering: invited -> information_gathering_booked"), 1);
        assert_eq!(about(bill, "CareCycle", "book_information_gathering: due -> information_gathering_booked"), 1);
        assert_eq!(about(cath, "ClinicSlot", ""), 0, "a refused booking writes nothing");
        assert!(trail.iter().any(|event| event.entity == "ClinicSchedule" && event.action == "read"));

        // Only staff who manage the cycle book or cancel.
        let commissioner = concord_app::record::StaffMember {
            user_id: "u1".into(),
            username: "c".into(),
            display_name: "C".into(),
            role: concord_domain::access::StaffRole::Commissioner,
            organisation: None,
        };
        assert!(concord.book(Caller::Staff(&commissioner), cath, &information[0].row.id, now).await.is_err());
        assert!(concord.cancel(Caller::Staff(&commissioner), &information[3].row.id, now).await.is_err());
        assert!(concord.schedule(Caller::Staff(&commissioner), PRACTICE, day, day, now).await.is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_people_racing_for_one_slot_exactly_one_gets_it() {
    const ROUNDS: usize = 4;
    for (concord, people, _) in engines_with_people("app_booking_race", ROUNDS * 2).await {
        let now = OffsetDateTime::now_utc();
        let slots = concord
            .create_clinic(
                Caller::Console,
                &clinic("information_gathering", "hca", "Amy Hart", time!(09:00), time!(09:45), Some(15)),
                now,
            )
            .await
            .unwrap();
        assert_eq!(slots.len(), ROUNDS);
        for person in &people[..ROUNDS * 2] {
            invite(&concord, person, now).await;
        }
        for (round, slot) in slots.iter().enumerate() {
            let racers = [people[round * 2].clone(), people[round * 2 + 1].clone()];
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            let tasks: Vec<_> = racers
                .iter()
                .map(|person| {
                    let (concord, person, slot, barrier) =
                        (concord.clone(), person.clone(), slot.row.id.clone(), barrier.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        concord.book(Caller::Console, &person, &slot, OffsetDateTime::now_utc()).await
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            let winners: Vec<usize> = (0..2).filter(|&index| outcomes[index].is_ok()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
            let (winner, loser) = (&racers[winners[0]], &racers[1 - winners[0]]);
            let lost = outcomes[1 - winners[0]].as_ref().unwrap_err().to_string();
            assert_eq!(lost, "this slot has just been taken; choose another");

            let stored = concord.store.clinic_slot(&slot.row.id).await.unwrap().unwrap();
            assert_eq!(stored.booked_patient_id.as_ref(), Some(winner));
            let year = i64::from(now.date().year());
            let won = concord.store.cycle(winner, year).await.unwrap().unwrap();
            assert_eq!(won.stage, "information_gathering_booked");
            assert_eq!(stored.booked_cycle_id.as_ref(), Some(&won.id));
            // Nothing of the loser's booking was written: stage, version, history, audit, slots.
            let lost = concord.store.cycle(loser, year).await.unwrap().unwrap();
            assert_eq!((lost.stage.as_str(), lost.version), ("invited", 1));
            assert_eq!(concord.store.cycle_events(&lost.id).await.unwrap().len(), 1);
            assert!(concord.store.booked_slots(loser, "0").await.unwrap().is_empty());
            let trail = audit(&concord).await;
            assert!(
                !trail.iter().any(|event| event.patient_id.as_ref() == Some(loser)
                    && (event.entity == "ClinicSlot" || event.detail.starts_with("book_"))),
                "no audit event for the loser's booking"
            );
        }
    }
}

#[tokio::test]
async fn appointments_in_the_gp_systems_book_take_their_slots_and_show_in_the_schedule() {
    for (concord, people, numbers) in engines_with_people("app_booking_gp", 3).await {
        let now = OffsetDateTime::now_utc();
        let day = clinic_day();
        let (anne, bill, cath) = (&people[0], &people[1], &people[2]);
        let nurse = concord
            .create_clinic(
                Caller::Console,
                &clinic("conversation", "nurse", "Sister Jones", time!(09:00), time!(10:00), None),
                now,
            )
            .await
            .unwrap();
        let hca = concord
            .create_clinic(
                Caller::Console,
                &clinic("information_gathering", "hca", "Amy Hart", time!(09:00), time!(09:20), Some(20)),
                now,
            )
            .await
            .unwrap();
        invite(&concord, bill, now).await;
        invite(&concord, cath, now).await;
        // Bill is booked in Concord at 09:00 with the healthcare assistant.
        concord.book(Caller::Console, bill, &hca[0].row.id, now).await.unwrap();

        // The GP system's book, as imported (UK local times without an offset).
        let at = |time: &str| format!("{day}T{time}");
        let yesterday = format!("{}T09:00", now.date() - Duration::days(1));
        import(
            &concord,
            encounters(&[
                // Anne with a nurse at 09:05: takes the nurse's 09:00 slot (to 09:20), not 09:20.
                ("GP1", numbers[0].as_str(), at("09:05"), "surgery", "nurse", "booked"),
                // Anne with a GP at 09:45: no GP clinic, so only recorded.
                ("GP2", numbers[0].as_str(), at("09:45"), "telephone", "gp", "booked"),
                // Out of hours, and in the past: not the practice's book.
                ("GP3", numbers[0].as_str(), at("09:30"), "out-of-hours", "nurse", "booked"),
                ("GP4", numbers[0].as_str(), yesterday, "surgery", "nurse", "booked"),
                // Bill's Concord booking as the GP system shows it: the same appointment.
                ("GP5", numbers[1].as_str(), at("09:00"), "surgery", "hca", "booked"),
            ]),
        )
        .await;

        let free = concord.free_slots(Caller::Console, PRACTICE, "conversation", day, day, now).await.unwrap();
        assert_eq!(free.iter().map(clock).collect::<Vec<_>>(), ["09:20", "09:40", "10:00"]);
        let free = concord.free_slots(Caller::Console, PRACTICE, "information_gathering", day, day, now).await.unwrap();
        assert_eq!(
            free.iter().map(clock).collect::<Vec<_>>(),
            ["09:20"],
            "the healthcare assistant's list is untouched"
        );

        let schedule = concord.schedule(Caller::Console, PRACTICE, day, day, now).await.unwrap();
        let gp_rows: Vec<_> = schedule.iter().filter(|entry| entry.state == SlotState::GpSystem).collect();
        assert_eq!(gp_rows.len(), 2, "{schedule:#?}");
        let nurse_appointment = gp_rows.iter().find(|entry| entry.slot.clinician_role == "nurse").unwrap();
        assert_eq!(nurse_appointment.slot.clinician_name, "GP system (nurse), Encounter/GP1");
        assert_eq!(nurse_appointment.slot.source, "gp_system");
        assert_eq!(nurse_appointment.slot.booked_patient_id.as_ref(), Some(anne));
        assert_eq!(nurse_appointment.patient_name.as_deref(), Some("TESTER, Person0"));
        assert_eq!(nurse_appointment.local_start.time(), time!(09:05));
        assert!(gp_rows.iter().any(|entry| entry.slot.clinician_role == "gp"));
        let state_of = |id: &str| schedule.iter().find(|entry| entry.slot.id == id).unwrap().state;
        assert_eq!(state_of(&nurse[0].row.id), SlotState::TakenElsewhere);
        assert_eq!(state_of(&nurse[1].row.id), SlotState::Free);
        assert_eq!(state_of(&hca[0].row.id), SlotState::Booked, "its echo from the GP system is not another booking");
        assert!(schedule.windows(2).all(|pair| pair[0].slot.starts_at <= pair[1].slot.starts_at));

        // A slot taken in the GP system cannot be booked, and the refusal writes nothing.
        let taken = concord.book(Caller::Console, cath, &nurse[0].row.id, now).await.unwrap_err();
        assert!(taken.to_string().contains("this slot has just been taken") || taken.to_string().contains("cannot"));
        for event in [CycleEvent::BookInformationGathering, CycleEvent::RecordTestsDone, CycleEvent::ReviewResults] {
            concord.record_cycle_event(Caller::Console, cath, event, now.date(), None, now).await.unwrap();
        }
        let taken = concord.book(Caller::Console, cath, &nurse[0].row.id, now).await.unwrap_err();
        assert_eq!(taken.to_string(), "this slot has just been taken; choose another");
        let caths = concord.store.cycle(cath, i64::from(now.date().year())).await.unwrap().unwrap();
        assert_eq!(caths.stage, "results_reviewed");

        // A GP-system appointment cannot be booked or cancelled in Concord.
        assert!(concord.book(Caller::Console, cath, &nurse_appointment.slot.id, now).await.is_err());
        assert!(concord.cancel(Caller::Console, &nurse_appointment.slot.id, now).await.is_err());

        // A second pass over an unchanged book changes and audits nothing.
        let before = concord.store.audit_event_count().await.unwrap();
        let again = concord.sync_gp_appointments(Caller::Console, PRACTICE, now).await.unwrap();
        assert_eq!(again.changes(), 0, "{again:?}");
        assert_eq!(concord.store.audit_event_count().await.unwrap(), before);

        let trail = audit(&concord).await;
        assert!(trail.iter().any(|event| event.entity == "GpAppointment"
            && event.patient_id.as_ref() == Some(anne)
            && event.detail.starts_with("recorded from the GP system's appointment book: nurse")));
        assert!(trail.iter().any(|event| event.entity == "ClinicSlot"
            && event.detail.starts_with("taken in the GP system's appointment book: Sister Jones (nurse)")));

        // Cath books the nurse's 09:20 in Concord; then the GP system books Anne with a nurse at
        // 09:25 too: the schedule shows the double booking for staff to move one.
        let booking = concord.book(Caller::Console, cath, &nurse[1].row.id, now).await.unwrap();
        assert_eq!(booking.cycle.stage, "conversation_booked");
        import(
            &concord,
            encounters(&[
                // Anne's 09:05 is cancelled in the GP system; 09:25 is new.
                ("GP1", numbers[0].as_str(), at("09:05"), "surgery", "nurse", "cancelled"),
                ("GP6", numbers[0].as_str(), at("09:25"), "surgery", "nurse", "booked"),
            ]),
        )
        .await;
        let sync = concord.sync_gp_appointments(Caller::Console, PRACTICE, now).await.unwrap();
        assert_eq!((sync.recorded, sync.removed, sync.taken, sync.released), (1, 1, 1, 1), "{sync:?}");
        let schedule = concord.schedule(Caller::Console, PRACTICE, day, day, now).await.unwrap();
        let state_of = |id: &str| schedule.iter().find(|entry| entry.slot.id == id).unwrap().state;
        assert_eq!(state_of(&nurse[0].row.id), SlotState::Free, "released when the GP appointment went");
        assert_eq!(state_of(&nurse[1].row.id), SlotState::DoubleBooked);
        assert!(!schedule.iter().any(|entry| entry.slot.clinician_name.ends_with("Encounter/GP1")));
        let free = concord.free_slots(Caller::Console, PRACTICE, "conversation", day, day, now).await.unwrap();
        assert_eq!(free.iter().map(clock).collect::<Vec<_>>(), ["09:00", "09:40", "10:00"]);
        let trail = audit(&concord).await;
        assert!(trail.iter().any(|event| event.entity == "GpAppointment"
            && event.patient_id.as_ref() == Some(anne)
            && event.detail.starts_with("no longer booked in the GP system's appointment book: nurse")));
        assert!(trail.iter().any(|event| event.entity == "ClinicSlot"
            && event.patient_id.as_ref() == Some(cath)
            && event.detail.starts_with("taken in the GP system's appointment book")));
    }
}
