//! The care and support planning conversation and the person's plan: the conversation screen
//! (their agenda, results, flags, medicines as at the GP extract, and their previous plan in
//! view), recording each version, agreement (the cycle's "plan agreed"), versions and what
//! changed, the plan as a document and PDF, prescriber tasks for treatments agreed, and the plans
//! report.
//!
//! Invariants: a version is validated before it is kept and never overwrites another; a clinician
//! who saves over a version they did not start from gets a conflict and loses nothing; every read
//! and change is audited; the person sees only their own plan.

use base64::Engine as _;
use concord_codelists::services::{ServiceDefinition, services};
use concord_domain::access::Permission;
use concord_domain::audit::AuditAction;
use concord_domain::cycle::{CycleEvent, Stage};
use concord_domain::document::Document;
use concord_domain::plan::{CarePlan, PlanContext, PlanName, Problem, StoredEntry, changes, document};
use concord_pdf::{Made, Print};
use concord_store::{FlagRow, MedicationRow, NewPlanVersion, PlanSummaryRow, PlanVersionRow, PrescriberTaskRow};
use time::OffsetDateTime;

use crate::cycle::Caller;
use crate::online::{AgendaLine, Visitor, agenda_lines};
use crate::record::StaffMember;
use crate::status::timestamp;
use crate::{AppError, Concord};

/// The conversation's length when nothing is booked (a double appointment).
pub const CONVERSATION_MINUTES: i64 = 20;

/// The directory of services as (id, name).
pub fn service_directory() -> Result<Vec<(String, String)>, AppError> {
    Ok(services()
        .map_err(|error| AppError::Invalid(format!("services: {error}")))?
        .iter()
        .map(|service| (service.id.clone(), service.name.clone()))
        .collect())
}

/// What the conversation screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView {
    pub patient_id: String,
    pub stage: Option<Stage>,
    pub minutes: i64,
    pub agenda: Vec<AgendaLine>,
    /// One line per result: "HbA1c (average blood sugar): 58 mmol/mol on 2 November 2026; lower than last time".
    pub results: Vec<String>,
    pub open_flags: Vec<FlagRow>,
    pub medicines: Vec<MedicationRow>,
    /// The current version (number, plan, status), if any.
    pub current: Option<(i64, CarePlan, String)>,
    /// Services suited to the person's conditions, then the rest.
    pub services: Vec<ServiceDefinition>,
    /// Organisations the person may agree to share with: (ODS code, name).
    pub organisations: Vec<(String, String)>,
}

/// A plan version as viewed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    pub patient_id: String,
    pub plan: CarePlan,
    pub version: i64,
    pub status: String,
    pub recorded_by: String,
    pub recorded_at: String,
    /// What changed from the version before.
    pub changes: Vec<String>,
    pub versions: Vec<PlanVersionRow>,
}

/// One open prescriber task with the person's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEntry {
    pub task: PrescriberTaskRow,
    pub nhs_number: Option<String>,
    pub name: String,
}

fn status_of(plan: &CarePlan, agree: bool) -> &'static str {
    if plan.name == PlanName::Declined {
        "declined"
    } else if agree {
        "agreed"
    } else {
        "draft"
    }
}

impl Concord {
    /// A version's plan, read back from its entries.
    async fn plan_at(&self, version: &PlanVersionRow) -> Result<CarePlan, AppError> {
        let entries: Vec<StoredEntry> = self
            .store
            .plan_entries(&version.version_id)
            .await?
            .into_iter()
            .map(|(section, item, field, value)| StoredEntry { section, item: item as u32, field, value })
            .collect();
        CarePlan::from_entries(&entries).map_err(|error| {
            AppError::Invalid(format!("stored plan version {} is unreadable: {error}", version.version))
        })
    }

    /// The conversation screen for one person. Audited as a read of the record.
    pub async fn conversation_view(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        now: OffsetDateTime,
    ) -> Result<ConversationView, AppError> {
        staff.require(Permission::ViewPatientRecord)?;
        let year = i64::from(now.year());
        let cycle = self.store.cycle(patient_id, year).await?;
        let composed = self.compose_preparation(patient_id, now).await?;
        let results = composed
            .input
            .results
            .iter()
            .map(|result| {
                let value =
                    concord_domain::preparation::value_with_unit(result.story.latest.1, result.decimals, &result.unit);
                let trend = match result.story.trend {
                    concord_domain::result_story::Trend::FirstResult => "first result",
                    concord_domain::result_story::Trend::AboutTheSame => "about the same",
                    concord_domain::result_story::Trend::Up => "higher than last time",
                    concord_domain::result_story::Trend::Down => "lower than last time",
                };
                let target = result.story.against_target.as_ref().map_or_else(String::new, |against| {
                    format!(
                        "; their target {} {}",
                        concord_domain::preparation::value_with_unit(
                            against.target.value,
                            result.decimals,
                            &result.unit
                        ),
                        if against.met { "(met)" } else { "(not met)" }
                    )
                });
                format!(
                    "{}: {value} on {}; {trend}{target}",
                    result.meaning.plain_name,
                    concord_domain::document::long_date(result.story.latest.0)
                )
            })
            .collect();
        let agenda = match &cycle {
            Some(cycle) => agenda_lines(&self.store.agenda(&cycle.id).await?),
            None => vec![],
        };
        let versions = self.store.plan_versions(patient_id).await?;
        let current = match versions.first() {
            Some(version) => Some((version.version, self.plan_at(version).await?, version.status.clone())),
            None => None,
        };
        let rules = self.status_rules().await?;
        let (_, person) = self.person_snapshot(patient_id, &rules, now.date()).await?;
        let mut directory: Vec<ServiceDefinition> =
            services().map_err(|error| AppError::Invalid(format!("services: {error}")))?.to_vec();
        directory.sort_by_key(|service| !service.suits(&person.registers) || service.for_registers.is_empty());
        let practice = self
            .store
            .patient(patient_id)
            .await?
            .and_then(|row| row.patient.registration.map(|r| r.practice.as_str().to_owned()));
        let organisations = self
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|(code, _, kind, _)| Some(code) != practice.as_ref() && kind != "region")
            .map(|(code, name, _, _)| (code, name))
            .collect();
        let minutes = self
            .store
            .booked_slots(patient_id, &timestamp(now - time::Duration::hours(12)))
            .await?
            .into_iter()
            .find(|slot| slot.purpose == "conversation")
            .map_or(CONVERSATION_MINUTES, |slot| slot.minutes);
        self.audit_person(staff, patient_id, AuditAction::Read, "Conversation", "conversation screen opened".into())
            .await?;
        Ok(ConversationView {
            patient_id: patient_id.to_owned(),
            stage: cycle.as_ref().and_then(|row| Stage::parse(&row.stage)),
            minutes,
            agenda,
            results,
            open_flags: self.store.red_flags(Some(patient_id), true).await?,
            medicines: self
                .store
                .medications(patient_id)
                .await?
                .into_iter()
                .filter(|row| row.status == "active")
                .collect(),
            current,
            services: directory,
            organisations,
        })
    }

    /// Records a version of the plan, started from `based_on` (0: the first). `agree`: agreed with
    /// the person now; while the cycle is at "conversation booked" this moves it to "plan agreed".
    /// Returns the field problems instead when the plan is incomplete (nothing saved), and a
    /// conflict when someone else saved a version since `based_on`.
    pub async fn record_plan(
        &self,
        staff: &StaffMember,
        patient_id: &str,
        based_on: i64,
        mut plan: CarePlan,
        agree: bool,
        now: OffsetDateTime,
    ) -> Result<Result<i64, Vec<Problem>>, AppError> {
        staff.require(Permission::ManageCycle)?;
        staff.require(Permission::ViewPatientRecord)?;
        plan.agreed = agree || plan.name == PlanName::Declined;
        let problems = plan.problems(now.date());
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        let versions = self.store.plan_versions(patient_id).await?;
        let before = match versions.iter().find(|version| version.version == based_on) {
            Some(version) => self.plan_at(version).await?,
            None => CarePlan::default(),
        };
        let said = changes(&before, &plan);
        let tasks: Vec<String> =
            plan.treatments.iter().filter(|treatment| !before.treatments.contains(treatment)).cloned().collect();
        let year = i64::from(now.year());
        let cycle = self.store.cycle(patient_id, year).await?;
        let change = match cycle.as_ref().and_then(|row| Stage::parse(&row.stage)) {
            Some(Stage::ConversationBooked) if plan.agreed => Some(
                self.prepare_cycle_change(
                    Caller::Staff(staff),
                    patient_id,
                    CycleEvent::AgreePlan,
                    now.date(),
                    Some(format!("plan version {}", based_on + 1)),
                )
                .await?,
            ),
            _ => None,
        };
        let new = NewPlanVersion {
            patient_id: patient_id.to_owned(),
            based_on,
            status: status_of(&plan, plan.agreed).into(),
            cycle_id: cycle.map(|row| row.id),
            recorded_by: staff.display_name.clone(),
            changes: said,
            entries: plan
                .to_entries()
                .into_iter()
                .map(|entry| (entry.section.to_owned(), i64::from(entry.item), entry.field.to_owned(), entry.value))
                .collect(),
            tasks,
            pdf_base64: None,
        };
        // An agreed version's PDF is generated now, as the person is given it, and kept with it.
        let mut new = new;
        if plan.agreed && plan.name != PlanName::Declined {
            let view = PlanView {
                patient_id: patient_id.to_owned(),
                plan: plan.clone(),
                version: based_on + 1,
                status: new.status.clone(),
                recorded_by: staff.display_name.clone(),
                recorded_at: timestamp(now),
                changes: new.changes.clone(),
                versions: vec![],
            };
            let (document, author) = self.plan_as_document(&view, now).await?;
            let pdf = concord_pdf::render(&document, Print::Standard, &author, Made::from(now))
                .map_err(|error| AppError::Invalid(error.to_string()))?;
            new.pdf_base64 = Some(base64::engine::general_purpose::STANDARD.encode(pdf));
        }
        let version = self.store.add_plan_version(&new, change.as_ref(), &staff.actor(), &timestamp(now)).await?;
        if plan.agreed && plan.name != PlanName::Declined {
            // Four weeks on, the person is asked how their goals are going (`check_ins`).
            self.schedule_check_in(patient_id, now).await?;
        }
        Ok(Ok(version))
    }

    /// A version of the person's plan (the newest unless asked), with every version listed and
    /// what changed. Audited.
    pub async fn plan_view(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        version: Option<i64>,
    ) -> Result<PlanView, AppError> {
        caller.require(Permission::ViewPatientRecord)?;
        let view = self
            .load_plan(patient_id, version)
            .await?
            .ok_or_else(|| AppError::NotFound("No such plan version".into()))?;
        self.audit_plan_read(caller, patient_id, view.version).await?;
        Ok(view)
    }

    /// A version of the person's plan (the newest unless asked), not audited: the caller audits
    /// the read it serves.
    pub(crate) async fn load_plan(&self, patient_id: &str, version: Option<i64>) -> Result<Option<PlanView>, AppError> {
        let versions = self.store.plan_versions(patient_id).await?;
        let Some(chosen) = (match version {
            Some(number) => versions.iter().find(|row| row.version == number),
            None => versions.first(),
        }) else {
            return Ok(None);
        };
        let plan = self.plan_at(chosen).await?;
        Ok(Some(PlanView {
            patient_id: patient_id.to_owned(),
            plan,
            version: chosen.version,
            status: chosen.status.clone(),
            recorded_by: chosen.recorded_by.clone(),
            recorded_at: chosen.recorded_at.clone(),
            changes: chosen.changes.clone(),
            versions: versions.clone(),
        }))
    }

    async fn audit_plan_read(&self, caller: Caller<'_>, patient_id: &str, version: i64) -> Result<(), AppError> {
        self.audit_caller(caller, patient_id, "CarePlan", format!("plan version {version} read")).await
    }

    /// The plan as the person's document.
    pub(crate) async fn plan_as_document(
        &self,
        view: &PlanView,
        now: OffsetDateTime,
    ) -> Result<(Document, String), AppError> {
        let Some(person) = self.store.patient(&view.patient_id).await? else {
            return Err(AppError::NotFound("No such person".into()));
        };
        let composed = self.compose_preparation(&view.patient_id, now).await?;
        let organisations = self.store.organisations().await?;
        let shared_with = view
            .plan
            .sharing
            .organisations
            .iter()
            .map(|code| {
                organisations
                    .iter()
                    .find(|(ods, ..)| ods == code)
                    .map_or_else(|| code.clone(), |(_, name, ..)| name.clone())
            })
            .collect();
        let recorded_on = OffsetDateTime::parse(&view.recorded_at, &time::format_description::well_known::Rfc3339)
            .map(|at| at.date())
            .unwrap_or(now.date());
        let context = PlanContext {
            full_name: format!("{} {}", person.patient.name.given, person.patient.name.family),
            practice_name: composed.input.practice_name.clone(),
            version: view.version,
            recorded_on,
            recorded_by: view.recorded_by.clone(),
            changes: view.changes.clone(),
            results: composed
                .input
                .results
                .into_iter()
                .filter(|result| result.story.against_target.is_some())
                .collect(),
            shared_with,
        };
        Ok((document(&view.plan, &context), context.practice_name))
    }

    /// A version of the plan as the person's document (web view, print).
    pub async fn plan_document(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        version: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Document, AppError> {
        let view = self.plan_view(caller, patient_id, version).await?;
        Ok(self.plan_as_document(&view, now).await?.0)
    }

    /// A version of the plan as a tagged PDF: an agreed version's copy as generated at agreement;
    /// large print (and drafts) made now.
    pub async fn plan_pdf(
        &self,
        caller: Caller<'_>,
        patient_id: &str,
        version: Option<i64>,
        large_print: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, AppError> {
        let view = self.plan_view(caller, patient_id, version).await?;
        if !large_print
            && let Some(row) = view.versions.iter().find(|row| row.version == view.version)
            && let Some(stored) = self.store.plan_version_pdf(&row.version_id).await?
        {
            return base64::engine::general_purpose::STANDARD
                .decode(stored.as_bytes())
                .map_err(|_| AppError::Invalid(format!("stored plan version {} is unreadable", view.version)));
        }
        let (document, author) = self.plan_as_document(&view, now).await?;
        concord_pdf::render(
            &document,
            if large_print { Print::LargePrint } else { Print::Standard },
            &author,
            Made::from(now),
        )
        .map_err(|error| AppError::Invalid(error.to_string()))
    }

    /// The person's own plan online (newest version), as a document and its version; `None`
    /// before any version. Audited as their read.
    pub async fn online_plan(
        &self,
        visitor: &Visitor,
        version: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Option<(Document, PlanView)>, AppError> {
        visitor.require(concord_domain::online_access::ProxyScope::Plan)?;
        let versions = self.store.plan_versions(&visitor.patient_id).await?;
        let chosen = match version {
            Some(wanted) => versions.iter().find(|row| row.version == wanted),
            None => versions.first(),
        };
        let Some(newest) = chosen else { return Ok(None) };
        let plan = self.plan_at(newest).await?;
        let view = PlanView {
            patient_id: visitor.patient_id.clone(),
            plan,
            version: newest.version,
            status: newest.status.clone(),
            recorded_by: newest.recorded_by.clone(),
            recorded_at: newest.recorded_at.clone(),
            changes: newest.changes.clone(),
            versions: versions.clone(),
        };
        let (document, _) = self.plan_as_document(&view, now).await?;
        self.audit_visitor(
            visitor,
            AuditAction::Read,
            "CarePlan",
            format!("plan version {} read online", view.version),
        )
        .await?;
        Ok(Some((document, view)))
    }

    /// The person's plan as PDF, online: the copy made at agreement, or large print made now.
    pub async fn online_plan_pdf(
        &self,
        visitor: &Visitor,
        large_print: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, AppError> {
        let Some((document, view)) = self.online_plan(visitor, None, now).await? else {
            return Err(AppError::NotFound("There is no plan yet".into()));
        };
        if !large_print
            && let Some(row) = view.versions.iter().find(|row| row.version == view.version)
            && let Some(stored) = self.store.plan_version_pdf(&row.version_id).await?
        {
            return base64::engine::general_purpose::STANDARD
                .decode(stored.as_bytes())
                .map_err(|_| AppError::Invalid("the stored plan is unreadable".into()));
        }
        let practice = self.compose_preparation(&view.patient_id, now).await?.input.practice_name;
        concord_pdf::render(
            &document,
            if large_print { Print::LargePrint } else { Print::Standard },
            &practice,
            Made::from(now),
        )
        .map_err(|error| AppError::Invalid(error.to_string()))
    }

    /// Every person's current plan (a practice's for its staff), for `concord report plans`.
    /// Reading it is audited.
    pub async fn plans_report(&self, caller: Caller<'_>) -> Result<Vec<PlanSummaryRow>, AppError> {
        caller.require(Permission::ViewPracticeLists)?;
        let practice = caller.organisation();
        let rows = self.store.current_plans(practice.as_deref()).await?;
        self.audit_list(caller, "CarePlan", format!("{} plan(s) listed", rows.len())).await?;
        Ok(rows)
    }

    /// Treatments agreed in plans, waiting for a prescriber to make them in the GP system.
    pub async fn prescriber_tasks(&self, caller: Caller<'_>) -> Result<Vec<TaskEntry>, AppError> {
        caller.require(Permission::ViewPatientRecord)?;
        let practice = caller.organisation();
        let tasks = self.store.open_prescriber_tasks(practice.as_deref()).await?;
        let ids: Vec<String> = tasks.iter().map(|task| task.patient_id.clone()).collect();
        let names = self.store.patient_names(&ids).await?;
        self.audit_list(caller, "PrescriberTask", format!("{} task(s) listed", tasks.len())).await?;
        Ok(tasks
            .into_iter()
            .map(|task| {
                let (nhs_number, name) = names
                    .get(&task.patient_id)
                    .map(|(number, family, given)| (number.clone(), format!("{}, {given}", family.to_uppercase())))
                    .unwrap_or((None, "Unknown".into()));
                TaskEntry { task, nhs_number, name }
            })
            .collect())
    }

    /// A prescriber records that a task is done in the GP system.
    pub async fn complete_prescriber_task(
        &self,
        staff: &StaffMember,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        staff.require(Permission::TriageResults)?;
        Ok(self.store.complete_prescriber_task(id, &staff.display_name, &staff.actor(), &timestamp(now)).await?)
    }
}
