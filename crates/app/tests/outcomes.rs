//! The commissioner's outcomes against values computed by hand on a small population, on real
//! databases: three practices in two networks; plans agreed 100 days ago; unscheduled GP contacts
//! (and contacts that must not count) around them; survey answers; and the suppression of small
//! numbers, including the secondary suppression that stops a hidden figure being worked out.

use concord_app::cycle::Caller;
use concord_domain::access::StaffRole;
use concord_domain::plan::{Action, CarePlan, Contingency, Goal, PlanName};
use time::{Duration, OffsetDateTime};

mod common;

fn nhs(index: u32) -> String {
    let mut n = 999_100_000 + index * 17;
    loop {
        let digits: Vec<u32> = n.to_string().chars().map(|c| c.to_digit(10).unwrap()).collect();
        let sum: u32 = digits.iter().enumerate().map(|(i, d)| d * (10 - i as u32)).sum();
        let check = 11 - sum % 11;
        if check != 10 {
            return format!("{n}{}", if check == 11 { 0 } else { check });
        }
        n += 1;
    }
}

fn plan(today: time::Date) -> CarePlan {
    CarePlan {
        name: PlanName::HealthPlan,
        goals: vec![Goal {
            words: "Walk more".into(),
            importance: 7,
            actions: vec![Action { what: "Walk daily".into(), confidence: 7, ..Default::default() }],
        }],
        contingencies: vec![Contingency {
            name: "Hypo".into(),
            triggers: "Missed meal".into(),
            what_to_do: "Sugar".into(),
            ..Default::default()
        }],
        review_date: Some(today + Duration::days(180)),
        review_by: "Nurse".into(),
        agreed_by: "the person".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn outcomes_match_hand_computed_values_and_small_numbers_are_hidden() {
    for concord in common::engines("app_outcomes").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let agreed_at = now - Duration::days(100);
        let t0 = agreed_at.date();
        let directory = common::scratch("concord-app-outcomes");
        let write = |name: &str, text: String| std::fs::write(directory.join(name), text).unwrap();
        write(
            "organisations.csv",
            "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU10001,First PCN,pcn,Y99\nU10002,Second PCN,pcn,Y99\n\
             F10001,Practice One,practice,U10001\nF10002,Practice Two,practice,U10001\nF10003,Practice Three,practice,U10002\n\
             F10004,Practice Four,practice,Y99\n"
                .into(),
        );
        // F1: six people (A0..A5), F2: two (B0, B1), F3: five (C0..C4); all with diabetes. F4,
        // in the region but in no network: six (D0..D5), one of whom (D5) dies after their plan is agreed.
        let people: Vec<(String, &str)> = (0..19)
            .map(|index| {
                (
                    nhs(index),
                    if index < 6 {
                        "F10001"
                    } else if index < 8 {
                        "F10002"
                    } else if index < 13 {
                        "F10003"
                    } else {
                        "F10004"
                    },
                )
            })
            .collect();
        let patients = |died: &str| {
            let mut patients = String::from(
                "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,death_date\n",
            );
            for (index, (number, practice)) in people.iter().enumerate() {
                let death = if index == 18 { died } else { "" };
                patients.push_str(&format!(
                    "P{index},{number},Person,Number{index},1955-03-0{},female,{practice},2000-01-01,{death}\n",
                    1 + index % 9
                ));
            }
            patients
        };
        let mut conditions = String::from("record_id,nhs_number,code,term,onset_date,status\n");
        for (index, (number, _)) in people.iter().enumerate() {
            conditions.push_str(&format!("C{index},{number},44054006,Type 2 diabetes mellitus,2010-01-01,active\n"));
        }
        write("patients.csv", patients(""));
        write("conditions.csv", conditions);
        // Unscheduled GP contacts, and contacts that must not count.
        let at = |days: i64| format!("{}T10:00:00Z", t0 + Duration::days(days));
        let a = |index: usize| people[index].0.clone();
        let mut encounters = String::from("record_id,nhs_number,start_at,setting,clinician,status,planned,booked_at\n");
        for (id, person, day, clinician, planned) in [
            ("E1", a(0), -200, "gp", "false"),   // counts before
            ("E2", a(0), -50, "gp", "false"),    // counts before
            ("E3", a(0), 10, "gp", "false"),     // counts after
            ("E4", a(1), -400, "gp", "false"),   // a year and more before: not counted
            ("E5", a(1), -10, "gp", "false"),    // counts before
            ("E6", a(2), -30, "nurse", "false"), // a nurse: not a GP contact
            ("E7", a(3), -30, "gp", "true"),     // planned: not unscheduled
        ] {
            encounters.push_str(&format!(
                "{id},{person},{},surgery,{clinician},attended,{planned},{}\n",
                at(day),
                at(day)
            ));
        }
        write("encounters.csv", encounters);
        common::import(&concord, vec![directory.clone()], today).await;

        // Plans agreed 100 days ago: F1 A0..A4 (five), F2 B0 (one), F3 everyone (five), F4
        // everyone (six).
        for practice in ["F10001", "F10002", "F10003", "F10004"] {
            let nurse = common::staff(StaffRole::Nurse, "Nurse", practice);
            let chosen: Vec<usize> = match practice {
                "F10001" => (0..5).collect(),
                "F10002" => vec![6],
                "F10003" => (8..13).collect(),
                _ => (13..19).collect(),
            };
            for index in chosen {
                let id = common::patient_id(&concord, &people[index].0).await;
                concord.record_plan(&nurse, &id, 0, plan(t0), true, agreed_at).await.unwrap().unwrap();
            }
        }
        // D5 dies: no longer in the cohort, so their plan is not counted as shared.
        write("patients.csv", patients(&(today - Duration::days(1)).to_string()));
        common::import(&concord, vec![directory], today).await;
        // Survey answers: F1 three yes of four who answered yes or no; F3 five yes of five.
        let survey = |index: usize, support: &str| {
            let concord = concord.clone();
            let number = people[index].0.clone();
            let support = support.to_owned();
            async move {
                let id = common::patient_id(&concord, &number).await;
                let row = concord_store::SurveyResponseRow {
                    patient_id: id,
                    occasion: "after_conversation".into(),
                    cycle_year: i64::from(t0.year()),
                    support,
                    confidence: String::new(),
                    goals: String::new(),
                    submitted_by: "the person".into(),
                    submitted_at: "2026-01-01T00:00:00Z".into(),
                };
                let actor = concord_domain::audit::Actor::System("test".into());
                assert!(concord.store.save_survey(&row, &actor, "2026-01-01T00:00:00Z").await.unwrap());
            }
        };
        for (index, answer) in
            [(0, "yes_definitely"), (1, "no"), (2, "not_needed"), (3, "yes_some_extent"), (4, "yes_definitely")]
        {
            survey(index, answer).await;
        }
        for index in 8..13 {
            survey(index, "yes_definitely").await;
        }

        // The counts, by hand.
        let practices = concord.outcomes(Caller::Console, "practice", today, now).await.unwrap();
        let f1 = &practices.iter().find(|unit| unit.ods_code == "F10001").unwrap().counts;
        assert_eq!((f1.eligible, f1.plans_shared, f1.planned_people), (6, 5, 5));
        assert_eq!((f1.unscheduled_before, f1.days_before), (3, 5 * 365), "E1, E2, E5");
        assert_eq!((f1.unscheduled_after, f1.days_after), (1, 5 * 100), "E3");
        assert_eq!((f1.supported_yes, f1.supported_answered), (3, 4));
        assert_eq!((f1.completeness_done, f1.completeness_people), (0, 6));
        let f3 = &practices.iter().find(|unit| unit.ods_code == "F10003").unwrap().counts;
        assert_eq!((f3.eligible, f3.plans_shared, f3.supported_yes, f3.supported_answered), (5, 5, 5, 5));
        let f4 = &practices.iter().find(|unit| unit.ods_code == "F10004").unwrap().counts;
        assert_eq!((f4.eligible, f4.plans_shared), (5, 5), "D5's plan is not shared with this year's cohort");
        assert_eq!((f4.planned_people, f4.days_after), (6, 5 * 100 + 99), "D5's after window ends the day they died");

        // Published: F2's small numbers are hidden, and so is F1's matching figure (the only
        // other practice in its network); F3 shows everything.
        let published = concord_app::outcomes::publish(&practices);
        let row = |code: &str| published.iter().find(|row| row["ods_code"] == code).unwrap().clone();
        let (f1, f2, f3) = (row("F10001"), row("F10002"), row("F10003"));
        for key in ["care_plans_shared_with_patient", "unscheduled_visits_per_patient_year"] {
            assert_eq!(f2[key]["suppressed"], true, "F2 {key}");
            assert_eq!(f1[key]["suppressed"], true, "F1 {key}: secondary");
            assert_eq!(f3[key]["suppressed"], false, "F3 {key}");
        }
        assert!(f2["eligible"].is_null() && f1["eligible"].is_null() && f3["eligible"] == 5);
        assert_eq!(f1["feel_supported"]["suppressed"], true, "three is a small number");
        assert_eq!(f3["feel_supported"]["rate"], 1.0);
        assert_eq!(f3["care_plans_shared_with_patient"]["rate"], 1.0);

        // Networks: U1 = F1 + F2, shown (no other network is hidden beside it).
        let networks =
            concord_app::outcomes::publish(&concord.outcomes(Caller::Console, "pcn", today, now).await.unwrap());
        let u1 = networks.iter().find(|row| row["ods_code"] == "U10001").unwrap();
        assert_eq!(u1["eligible"], 8);
        assert_eq!(u1["care_plans_shared_with_patient"]["count"], 6);
        assert_eq!(u1["care_plans_shared_with_patient"]["rate"], 0.75);
        // 3 contacts over 6 person-years before; 1 over 600 person-days after.
        assert_eq!(u1["unscheduled_visits_per_patient_year"]["before"], 0.5);
        assert_eq!(u1["unscheduled_visits_per_patient_year"]["after"], 0.61);
        assert_eq!(u1["feel_supported"]["suppressed"], true, "three yes is still a small number");
        let u2 = networks.iter().find(|row| row["ods_code"] == "U10002").unwrap();
        assert_eq!(u2["feel_supported"]["suppressed"], true, "secondary: the region's total would give U1 away");
        assert!(u1["unscheduled_visits_per_patient_year"]["note"].as_str().unwrap().contains("regression to the mean"));
        // F4, in no network, is a unit of its own at network level, and counted in the region.
        let outside = networks.iter().find(|row| row["ods_code"] == concord_app::outcomes::NO_NETWORK).unwrap();
        assert_eq!(
            (outside["eligible"].clone(), outside["care_plans_shared_with_patient"]["rate"].clone()),
            (5.into(), 1.0.into())
        );
        let region =
            concord_app::outcomes::publish(&concord.outcomes(Caller::Console, "region", today, now).await.unwrap());
        assert_eq!(region.len(), 1);
        assert_eq!(region[0]["eligible"], 18);
        assert_eq!(region[0]["care_plans_shared_with_patient"]["count"], 16, "5 + 1 + 5 + 5");
        // Every export carries its rule and what the visit figures mean.
        let csv = concord_app::outcomes::csv(&region);
        let (header, line) = csv.split_once('\n').unwrap();
        assert!(header.ends_with("unscheduled_visits_note,suppression_rule"), "{header}");
        assert!(line.contains("regression to the mean") && line.contains("Counts from 1 to 4"), "{line}");
        assert_eq!(region[0]["feel_supported"]["yes"], 8);
        assert_eq!(region[0]["feel_supported"]["answered"], 9);
        assert_eq!(region[0]["feel_supported"]["rate"], 0.889);

        // Aggregates only: staff who may see aggregates read them; a partner clinician may not.
        let hca = common::staff(StaffRole::HealthcareAssistant, "H", "F10001");
        assert!(concord.outcomes(Caller::Staff(&hca), "practice", today, now).await.is_ok(), "HCA sees aggregates");
        let partner = common::staff(StaffRole::PartnerClinician, "P", "NZZ01");
        assert!(concord.outcomes(Caller::Staff(&partner), "practice", today, now).await.is_err());
    }
}

/// Two goals, so attainment can be counted goal by goal.
fn two_goal_plan(today: time::Date) -> CarePlan {
    let mut plan = plan(today);
    plan.goals.push(Goal {
        words: "Eat well".into(),
        importance: 6,
        actions: vec![Action { what: "Cook at home".into(), confidence: 6, ..Default::default() }],
    });
    plan
}

#[tokio::test]
async fn the_dashboard_figures_match_hand_computed_values_and_stay_current() {
    use concord_domain::cycle::CycleEvent;
    for concord in common::engines("app_dashboard").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let directory = common::scratch("concord-app-dashboard");
        let write = |name: &str, text: String| std::fs::write(directory.join(name), text).unwrap();
        write(
            "organisations.csv",
            "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU20001,Third PCN,pcn,Y99\n\
             F20001,Practice Four,practice,U20001\n"
                .into(),
        );
        // Eight people with diabetes; seven have a potassium of 6.7 today (an urgent red flag).
        let numbers: Vec<String> = (0..8).map(|index| nhs(100 + index)).collect();
        let mut patients = String::from(
            "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from\n",
        );
        let mut conditions = String::from("record_id,nhs_number,code,term,onset_date,status\n");
        let mut observations =
            String::from("record_id,nhs_number,code_system,code,term,value,unit,effective_at,status\n");
        for (index, number) in numbers.iter().enumerate() {
            patients.push_str(&format!(
                "Q{index},{number},Person,Four{index},1950-02-0{},male,F20001,2000-01-01\n",
                1 + index
            ));
            conditions.push_str(&format!("D{index},{number},44054006,Type 2 diabetes mellitus,2010-01-01,active\n"));
            if index < 7 {
                observations
                    .push_str(&format!("K{index},{number},loinc,2823-3,Potassium,6.7,mmol/L,{today}T09:00Z,final\n"));
            }
        }
        write("patients.csv", patients);
        write("conditions.csv", conditions);
        write("observations.csv", observations);
        common::import(&concord, vec![directory], today).await;
        concord.refresh_statuses(today, now).await.unwrap();
        let ids: Vec<String> = {
            let mut ids = Vec::new();
            for number in &numbers {
                ids.push(common::patient_id(&concord, number).await);
            }
            ids
        };
        let nurse = common::staff(StaffRole::Nurse, "Nurse Four", "F20001");

        // Red flags: five actioned two hours after they were raised, one after 30 hours, one open.
        let flags = concord.store.red_flags(None, true).await.unwrap();
        assert_eq!(flags.len(), 7, "{flags:?}");
        assert!(flags.iter().all(|flag| flag.severity == "urgent"));
        for flag in &flags {
            let index = ids.iter().position(|id| *id == flag.patient_id).unwrap();
            let raised =
                OffsetDateTime::parse(&flag.raised_at, &time::format_description::well_known::Rfc3339).unwrap();
            let after = match index {
                0..=4 => Duration::hours(2),
                5 => Duration::hours(30),
                _ => continue,
            };
            concord
                .record_flag_action(&nurse, &flag.patient_id, &flag.id, "Phoned; bloods repeated", raised + after)
                .await
                .unwrap();
        }

        // The cycle: everyone invited; seven tested; six sent their letter and agreed a plan.
        for (index, id) in ids.iter().enumerate() {
            let mut events = vec![CycleEvent::Invite];
            if index < 7 {
                events.push(CycleEvent::RecordTestsDone);
            }
            if index < 6 {
                events.extend([CycleEvent::ReviewResults, CycleEvent::SendPreparation, CycleEvent::BookConversation]);
            }
            for event in events {
                concord.record_cycle_event(Caller::Console, id, event, today, None, now).await.unwrap();
            }
            if index < 6 {
                concord.record_plan(&nurse, id, 0, two_goal_plan(today), true, now).await.unwrap().unwrap();
            }
        }
        // Goal progress: "Walk more" achieved by five and going well for one; "Eat well" hard for two.
        let actor = concord_domain::audit::Actor::System("test".into());
        for (index, id) in ids.iter().enumerate().take(6) {
            let plan_id = concord.store.plan_versions(id).await.unwrap()[0].plan_id.clone();
            let mut progress = vec![("Walk more", if index < 5 { "achieved" } else { "going_well" })];
            if index < 2 {
                progress.push(("Eat well", "struggling"));
            }
            for (goal, status) in progress {
                let row = concord_store::GoalProgressRow {
                    goal: goal.into(),
                    status: status.into(),
                    note: String::new(),
                    written_by: "the person".into(),
                    written_at: concord_app::status::timestamp(now),
                };
                concord
                    .store
                    .record_goal_progress(id, &plan_id, &row, &actor, &concord_app::status::timestamp(now))
                    .await
                    .unwrap();
            }
        }

        let units = concord.outcomes(Caller::Console, "practice", today, now).await.unwrap();
        let counts = &units[0].counts;
        assert_eq!(counts.eligible, 8);
        assert_eq!(
            (
                counts.step("invite"),
                counts.step("record_tests_done"),
                counts.step("send_preparation"),
                counts.step("agree_plan")
            ),
            (8, 7, 6, 6)
        );
        assert_eq!((counts.goals, counts.goals_with_progress, counts.goals_attained), (12, 8, 5));
        assert_eq!((counts.urgent_actioned, counts.urgent_within_standard, counts.flags_open), (6, 5, 1));
        assert_eq!(counts.flag_bands, [0, 5, 0, 1, 0, 0, 0], "five within 4 hours, one within 3 days");
        let month = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
        assert_eq!(counts.monthly["record_tests_done"][&month], 7);
        assert_eq!(counts.monthly["agree_plan"][&month], 6);
        assert_eq!(counts.monthly["agree_plan"].len(), 12);
        assert_eq!(counts.lcs["information_gathering"], 7);
        assert_eq!(counts.lcs["results_shared"], 6);
        assert_eq!(counts.lcs["plan_agreed"], 6);
        assert_eq!(counts.lcs["declined"], 0);

        let published = concord_app::outcomes::publish(&units);
        let row = &published[0];
        assert_eq!(row["cycle"]["record_tests_done"]["rate"], 0.875);
        assert_eq!(row["goal_attainment"]["rate"], 0.625);
        assert_eq!(row["red_flag_time_to_action"]["median"], "within 4 hours");
        assert_eq!(row["red_flag_time_to_action"]["urgent_within_24_hours"]["rate"], 0.833);
        assert!(row["red_flag_time_to_action"]["open"].is_null(), "one open flag is a small number");
        assert_eq!(row["care_plans_shared_with_patient"]["rate"], 0.75);
        assert_eq!(row["lcs_activity"]["plan_agreed"]["count"], 6);
        // This month's figures are shown; the eleven months of none are shown as 0.
        assert_eq!(row["monthly"]["send_preparation"][&month], 6);
        let csv = concord_app::outcomes::csv(&published);
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let values: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        let column = |name: &str| values[header.iter().position(|column| *column == name).unwrap()];
        assert_eq!(column("red_flags_open"), "suppressed");
        assert_eq!(column("goal_attainment"), "0.625");
        assert_eq!(column("lcs_information_gathering"), "7");

        // The figures are kept: read again without a change, the kept row is what is shown (a
        // planted figure proves it); a change the figures count makes them recomputed.
        let kept = concord.store.kept_outcomes().await.unwrap();
        assert!(kept[0].current(&format!("{today}")), "{:?}", kept[0]);
        let mut planted: serde_json::Value = serde_json::from_str(&kept[0].figures).unwrap();
        planted["eligible"] = 999.into();
        concord
            .store
            .save_kept_outcome("F20001", kept[0].generation, &format!("{today}"), &planted.to_string(), "t")
            .await
            .unwrap();
        let again = concord.outcomes(Caller::Console, "practice", today, now).await.unwrap();
        assert_eq!(again[0].counts.eligible, 999, "read from the kept row");
        for id in ids.iter().take(5) {
            let response = concord_store::SurveyResponseRow {
                patient_id: id.clone(),
                occasion: "after_conversation".into(),
                cycle_year: i64::from(today.year()),
                support: "yes_some_extent".into(),
                confidence: String::new(),
                goals: String::new(),
                submitted_by: "the person".into(),
                submitted_at: concord_app::status::timestamp(now),
            };
            assert!(concord.store.save_survey(&response, &actor, "t").await.unwrap());
        }
        let after = concord.outcomes(Caller::Console, "practice", today, now).await.unwrap();
        assert_eq!(after[0].counts.eligible, 8, "recomputed after the change");
        assert_eq!((after[0].counts.supported_yes, after[0].counts.supported_answered), (5, 5));
        // Tomorrow the figures are computed afresh, and equal what was kept.
        let tomorrow = concord.outcomes(Caller::Console, "practice", today + Duration::days(1), now).await.unwrap();
        assert_eq!(tomorrow[0].counts.goals, after[0].counts.goals);
        assert_eq!(tomorrow[0].counts.flag_bands, after[0].counts.flag_bands);
        assert_eq!(concord.store.kept_outcomes().await.unwrap()[0].as_of, format!("{}", today + Duration::days(1)));
    }
}

#[tokio::test]
async fn a_person_who_moves_practice_leaves_the_old_practice_figures_at_once() {
    for concord in common::engines("app_moves").await {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let directory = common::scratch("concord-app-moves");
        let write = |name: &str, text: String| std::fs::write(directory.join(name), text).unwrap();
        write(
            "organisations.csv",
            "ods_code,name,kind,parent_ods_code\nY99,North Region,region,\nU30001,Fourth PCN,pcn,Y99\n\
             F30001,Practice Five,practice,U30001\nF30002,Practice Six,practice,U30001\n"
                .into(),
        );
        // Three people with diabetes at F30001, two at F30002.
        let numbers: Vec<String> = (0..5).map(|index| nhs(200 + index)).collect();
        let patients = |first_at: &str| {
            let mut text = String::from(
                "record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from\n",
            );
            for (index, number) in numbers.iter().enumerate() {
                let practice = match index {
                    0 => first_at,
                    1 | 2 => "F30001",
                    _ => "F30002",
                };
                text.push_str(&format!(
                    "M{index},{number},Person,Moves{index},1960-04-0{},female,{practice},2000-01-01\n",
                    1 + index
                ));
            }
            text
        };
        let mut conditions = String::from("record_id,nhs_number,code,term,onset_date,status\n");
        for (index, number) in numbers.iter().enumerate() {
            conditions.push_str(&format!("N{index},{number},44054006,Type 2 diabetes mellitus,2010-01-01,active\n"));
        }
        write("patients.csv", patients("F30001"));
        write("conditions.csv", conditions);
        common::import(&concord, vec![directory.clone()], today).await;
        let rules = concord_codelists::cycle_rules::CycleRules::shared().unwrap();
        let nda =
            rules.measures.iter().find(|measure| measure.id == concord_app::outcomes::COMPLETENESS_MEASURE).unwrap();
        let definition = concord_store::MeasureDefinition {
            id: nda.id.clone(),
            register: nda.register.clone(),
            items: nda.items.clone(),
        };
        let eligible = |units: &[concord_app::outcomes::OutcomeUnit]| -> Vec<(String, i64)> {
            units.iter().map(|unit| (unit.ods_code.clone(), unit.counts.eligible)).collect()
        };
        let before = concord.outcomes(Caller::Console, "practice", today, now).await.unwrap();
        assert_eq!(eligible(&before), vec![("F30001".into(), 3), ("F30002".into(), 2)]);

        // The first person re-registers at F30002: the next extract says so.
        write("patients.csv", patients("F30002"));
        common::import(&concord, vec![directory], today).await;
        let after = concord.outcomes(Caller::Console, "practice", today, now).await.unwrap();
        assert_eq!(eligible(&after), vec![("F30001".into(), 2), ("F30002".into(), 3)], "both practices recomputed");
        let people = |practice: &'static str| {
            let concord = &concord;
            let definition = &definition;
            async move { concord.store.kept_measure(Some(practice), definition).await.unwrap().unwrap().people }
        };
        assert_eq!((people("F30001").await, people("F30002").await), (2, 3), "completeness counts moved too");
    }
}
