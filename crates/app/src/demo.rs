//! The demo practice: a synthetic population and a demo account for every staff role.
//!
//! Safety rule: demo accounts (with a published password) are never created in a database that
//! holds real records. A database counts as real once anything not marked synthetic was imported.

use std::path::Path;

use concord_domain::access::StaffRole;
use concord_domain::audit::Actor;
use concord_domain::cycle::Stage;
use time::Date;

use crate::import::{ImportOptions, ImportProgress, ImportReport};
use crate::{AppError, Concord};

/// The demo accounts' shared password, printed by `concord demo`. Demo databases hold only
/// synthetic people, so a published password exposes nothing.
pub const DEMO_PASSWORD: &str = "concord-demo-password";

/// Demo practice ODS code written by the generator for its first practice.
pub fn demo_username(role: StaffRole) -> String {
    format!("demo.{}", role.as_str().replace('_', "-"))
}

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub role: StaffRole,
}

impl Concord {
    /// Whether this database has ever taken in records not marked synthetic.
    pub async fn holds_real_records(&self) -> Result<bool, AppError> {
        Ok(self.store.fact("holds_real_records").await?.as_deref() == Some("yes"))
    }

    /// Seeds a synthetic population into an empty database: generates it into `work_dir` and imports
    /// it as synthetic. Refuses if the database already has patients.
    pub async fn seed_synthetic_population(
        &self,
        patients: u64,
        practices: u32,
        seed: u64,
        today: Date,
        work_dir: &Path,
        on_progress: impl FnMut(ImportProgress),
    ) -> Result<ImportReport, AppError> {
        if self.store.patient_count().await? > 0 {
            return Err(AppError::Refused(
                "the database already has patients; the demo population is only seeded into an empty one".into(),
            ));
        }
        let options = concord_synth::GenerateOptions {
            patients,
            practices,
            seed,
            format: concord_synth::OutputFormat::Ndjson,
            today,
        };
        let generate_dir = work_dir.to_owned();
        tokio::task::spawn_blocking(move || concord_synth::generate(&options, &generate_dir))
            .await
            .map_err(|error| AppError::Invalid(error.to_string()))?
            .map_err(|error| AppError::Invalid(format!("generating the synthetic population: {error}")))?;
        self.store.set_fact("synthetic", "yes").await?;
        self.import(
            ImportOptions {
                paths: vec![work_dir.to_owned()],
                extract_date: today,
                source_system: "concord-synthetic".into(),
                synthetic: true,
                default_practice: None,
                actor: Actor::System("concord demo".into()),
            },
            on_progress,
        )
        .await
    }

    /// Creates a demo account for every staff role that lacks one. Refused in a database that holds
    /// real records.
    pub async fn ensure_demo_accounts(&self, practice: Option<&str>) -> Result<Vec<DemoAccount>, AppError> {
        if self.holds_real_records().await? {
            return Err(AppError::Refused(
                "this database holds real records: demo accounts are never created in it".into(),
            ));
        }
        let mut accounts = Vec::new();
        // The partner clinician works for the first partner organisation (the community service).
        let partner = self
            .store
            .organisations()
            .await?
            .into_iter()
            .find(|(_, _, kind, _)| kind == "partner")
            .map(|(code, ..)| code);
        for role in StaffRole::ALL {
            let username = demo_username(role);
            if self.store.staff_user_by_username(&username).await?.is_none() {
                let organisation = match role {
                    StaffRole::Commissioner | StaffRole::Facilitator | StaffRole::SystemAdmin => None,
                    StaffRole::PartnerClinician => partner.as_deref(),
                    _ => practice,
                };
                self.create_staff_user(
                    &username,
                    &format!("Demo {}", role.title()),
                    role,
                    organisation,
                    DEMO_PASSWORD,
                    true,
                )
                .await?;
            }
            accounts.push(DemoAccount { username, role });
        }
        Ok(accounts)
    }
}

/// Working days of demo clinics laid out from tomorrow.
const DEMO_CLINIC_DAYS: i64 = 10;

impl Concord {
    /// Lays out demo clinic lists for the next working days at the demo practice (a healthcare
    /// assistant's information-gathering clinic each morning, a nurse's conversation clinic each
    /// afternoon), unless the practice already has clinics then. Returns the slots created.
    pub async fn ensure_demo_clinics(&self, practice: &str, now: time::OffsetDateTime) -> Result<usize, AppError> {
        use crate::booking::ClinicRequest;
        use crate::cycle::Caller;
        use time::macros::time;
        let mut created = 0;
        let mut day = now.date();
        let mut laid = 0;
        while laid < DEMO_CLINIC_DAYS {
            day = day.next_day().ok_or_else(|| AppError::Invalid("date out of range".into()))?;
            if matches!(day.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
                continue;
            }
            laid += 1;
            let schedule = self.schedule(Caller::Console, practice, day, day, now).await?;
            if schedule.iter().any(|entry| entry.slot.source == "concord") {
                continue;
            }
            for (purpose, role, name, first, last) in [
                ("information_gathering", "hca", "Priya Natt (healthcare assistant)", time!(9:00), time!(11:40)),
                ("conversation", "nurse", "Sister Joan Okoro (practice nurse)", time!(14:00), time!(16:40)),
            ] {
                let request = ClinicRequest {
                    practice: practice.to_owned(),
                    purpose: purpose.into(),
                    clinician_role: role.into(),
                    clinician_name: name.into(),
                    date: day,
                    first_start: first,
                    last_start: last,
                    minutes: None,
                };
                created += self.create_clinic(Caller::Console, &request, now).await?.len();
            }
        }
        Ok(created)
    }
}

/// How many demo people the cycle walk leaves at each stage.
const DEMO_STAGES: [(Stage, usize); 11] = [
    (Stage::Invited, 6),
    (Stage::InformationGatheringBooked, 4),
    (Stage::TestsDone, 4),
    (Stage::ResultsReviewed, 4),
    (Stage::PreparationSent, 3),
    (Stage::ConversationBooked, 3),
    (Stage::PlanAgreed, 4),
    (Stage::ReviewDue, 1),
    (Stage::Declined, 1),
    (Stage::DidNotAttend, 1),
    (Stage::PersonalisedCareAdjustment, 1),
];

impl Concord {
    /// Walks demo people through the Year of Care cycle as the practice's staff would, so the demo
    /// shows people at every stage: invited, booked, visited, reviewed (with a comment and a
    /// personal target), preparation sent, conversation booked, and the ways out. Runs once per
    /// practice and year (nothing is done when anyone there is past "due"). People with an urgent
    /// red flag are left for the triage queue. Returns how many people were moved.
    pub async fn ensure_demo_cycle(&self, practice: &str, now: time::OffsetDateTime) -> Result<usize, AppError> {
        use std::collections::BTreeMap;

        use crate::cycle::Caller;
        use crate::record::StaffMember;
        use concord_domain::cycle::{AdjustmentReason, CycleEvent};

        let today = now.date();
        let filter = concord_store::WorklistFilter { practice: Some(practice.to_owned()), ..Default::default() };
        let list = self.worklist(Caller::Console, &filter, today, now, 400, 0).await?;
        if list.iter().any(|entry| entry.row.stage != "due") {
            return Ok(0);
        }
        let staff = |role: StaffRole, name: &str| StaffMember {
            user_id: "demo".into(),
            username: demo_username(role),
            display_name: name.into(),
            role,
            organisation: Some(practice.to_owned()),
        };
        let hca = staff(StaffRole::HealthcareAssistant, "Priya Natt");
        let nurse = staff(StaffRole::Nurse, "Sister Joan Okoro");
        let visit: BTreeMap<String, String> = [("systolic_bp", "134"), ("diastolic_bp", "82"), ("weight", "84")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        let horizon = today + time::Duration::days(21);
        let mut people = list.into_iter().map(|entry| entry.row.patient_id);
        let mut moved = 0;
        for (stage, count) in DEMO_STAGES {
            let mut done = 0;
            while done < count {
                let Some(person) = people.next() else { return Ok(moved) };
                let console = Caller::Console;
                let step = async {
                    let event = |event| self.record_cycle_event(console, &person, event, today, None, now);
                    match stage {
                        Stage::Invited => {
                            event(CycleEvent::Invite).await?;
                        }
                        Stage::Declined => {
                            event(CycleEvent::Decline).await?;
                        }
                        Stage::PersonalisedCareAdjustment => {
                            event(CycleEvent::Adjust(AdjustmentReason::InformedDissent)).await?;
                        }
                        Stage::InformationGatheringBooked | Stage::DidNotAttend => {
                            let slots = self
                                .free_slots(console, practice, "information_gathering", today, horizon, now)
                                .await?;
                            let slot = slots.first().ok_or_else(|| AppError::Refused("no free slot".into()))?;
                            self.book(console, &person, &slot.row.id, now).await?;
                            if stage == Stage::DidNotAttend {
                                event(CycleEvent::DidNotAttend).await?;
                            }
                        }
                        _ => {
                            self.record_visit(&hca, &person, &visit, now)
                                .await?
                                .map_err(|_| AppError::Refused("visit not accepted".into()))?;
                            if stage == Stage::TestsDone {
                                return Ok(());
                            }
                            let review = crate::review::ReviewInput {
                                comment: "Thank you for coming in. Most of your results are steady. \
                                          Have a think about what matters most to you before we meet."
                                    .into(),
                                assign_to: "nurse".into(),
                                targets: [("hba1c".to_owned(), "53".to_owned())].into(),
                                without_awaited: true,
                            };
                            self.review_results(&nurse, &person, &review, now)
                                .await?
                                .map_err(|_| AppError::Refused("review not accepted".into()))?;
                            if matches!(stage, Stage::ConversationBooked | Stage::PlanAgreed | Stage::ReviewDue) {
                                let slots =
                                    self.free_slots(console, practice, "conversation", today, horizon, now).await?;
                                let slot = slots.first().ok_or_else(|| AppError::Refused("no free slot".into()))?;
                                self.book(console, &person, &slot.row.id, now).await?;
                            }
                            if matches!(
                                stage,
                                Stage::PreparationSent
                                    | Stage::ConversationBooked
                                    | Stage::PlanAgreed
                                    | Stage::ReviewDue
                            ) {
                                self.send_preparation(console, &person, now).await?;
                            }
                            if matches!(stage, Stage::PlanAgreed | Stage::ReviewDue) {
                                self.demo_plan_versions(&nurse, &person, done, now).await?;
                            }
                            if stage == Stage::ReviewDue {
                                event(CycleEvent::ReviewFallsDue).await?;
                            }
                        }
                    }
                    Ok::<(), AppError>(())
                };
                match step.await {
                    Ok(()) => {
                        done += 1;
                        moved += 1;
                    }
                    // Someone the walk cannot move (an urgent flag, no free slot): the next person.
                    Err(AppError::Refused(_)) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(moved)
    }
}

impl Concord {
    /// An agreed plan in several versions: agreed at the conversation, then changed twice (a
    /// check-in raised confidence; a goal was added), so the demo shows versions and what changed.
    async fn demo_plan_versions(
        &self,
        nurse: &crate::record::StaffMember,
        person: &str,
        index: usize,
        now: time::OffsetDateTime,
    ) -> Result<(), AppError> {
        use concord_domain::plan::{AboutMe, Action, CarePlan, Contingency, Goal, Journey, PlanName, Service};
        let rules = self.status_rules().await?;
        let (record, snapshot) = self.person_snapshot(person, &rules, now.date()).await?;
        let name = format!("{} {}", record.person.patient.name.given, record.person.patient.name.family);
        let copd = snapshot.on_register("copd");
        let mut plan = CarePlan {
            name: [PlanName::CarePlan, PlanName::HealthPlan, PlanName::SelfManagementPlan][index % 3],
            journey: Journey::Established,
            about_me: AboutMe {
                what_matters: [
                    "Looking after my grandchildren on Saturdays",
                    "Getting back to the allotment",
                    "Staying independent at home",
                    "Keeping up with my walking group",
                ][index % 4]
                    .into(),
                important_people: "My daughter, who lives nearby".into(),
                ..Default::default()
            },
            needs: vec![if copd { "Breathless on stairs".into() } else { "Blood sugar creeping up".into() }],
            goals: vec![Goal {
                words: if copd {
                    "Walk to the shops without stopping".into()
                } else {
                    "Get my sugar down by eating less sugar at night".into()
                },
                importance: 8,
                actions: vec![Action {
                    what: if copd {
                        "Walk for 10 minutes".into()
                    } else {
                        "Swap biscuits after dinner for fruit".into()
                    },
                    when: if copd { "After lunch".into() } else { "Evenings".into() },
                    how_often: "5 days a week".into(),
                    who_supports: "My daughter".into(),
                    barriers: if copd { "Cold weather".into() } else { "Snacking in front of the television".into() },
                    confidence: 6,
                }],
            }],
            information: vec![if copd {
                "COPD self-management leaflet".into()
            } else {
                "Eating well with type 2 diabetes".into()
            }],
            services: vec![if copd {
                Service {
                    service: "pulmonary_rehab".into(),
                    name: "Pulmonary rehabilitation".into(),
                    note: String::new(),
                }
            } else {
                Service {
                    service: "structured_education_diabetes".into(),
                    name: "Diabetes education course".into(),
                    note: String::new(),
                }
            }],
            contingencies: vec![if copd {
                Contingency {
                    name: "COPD flare-up".into(),
                    triggers: "Colds and chest infections".into(),
                    early_warning_signs: "More breathless than usual, more or darker phlegm".into(),
                    what_to_do: "Start the rescue pack and tell the practice the same day".into(),
                    who_to_contact: "The practice; NHS 111 out of hours".into(),
                }
            } else {
                Contingency {
                    name: "Being ill (sick day rules)".into(),
                    triggers: "Being sick, diarrhoea, a fever or not eating".into(),
                    early_warning_signs: "Very thirsty, passing a lot of urine".into(),
                    what_to_do: "Keep drinking; stop metformin until eating and drinking normally for 24 to 48 hours; ask the practice".into(),
                    who_to_contact: "The practice; NHS 111 out of hours".into(),
                }
            }],
            medication_plan: "Carry on with your medicines as prescribed.".into(),
            review_date: Some(now.date() + time::Duration::days(182)),
            review_by: "Sister Joan Okoro (practice nurse)".into(),
            agreed_by: name,
            ..Default::default()
        };
        // Most demo people agree to share with the partner organisations (a community service and
        // a hospital); one in four does not want the plan shared.
        let partners: Vec<String> = self
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|(_, _, kind, _)| kind == "partner")
            .map(|(code, ..)| code)
            .collect();
        plan.sharing = concord_domain::plan::Sharing {
            organisations: if index % 4 == 3 { vec![] } else { partners },
            refused: index % 4 == 3,
        };
        let refuse = |_| AppError::Refused("demo plan not accepted".into());
        let first = self.record_plan(nurse, person, 0, plan.clone(), true, now).await?.map_err(refuse)?;
        plan.goals[0].actions[0].confidence = 8;
        let second = self.record_plan(nurse, person, first, plan.clone(), true, now).await?.map_err(refuse)?;
        if index.is_multiple_of(2) {
            plan.goals.push(Goal {
                words: "Sleep better".into(),
                importance: 6,
                actions: vec![Action {
                    what: "No tea or coffee after 6pm".into(),
                    confidence: 7,
                    ..Default::default()
                }],
            });
            self.record_plan(nurse, person, second, plan, true, now).await?.map_err(refuse)?;
        }
        Ok(())
    }
}
