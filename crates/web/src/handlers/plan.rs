//! The care and support planning conversation (the form that records the plan, with the person's
//! agenda, results, flags and previous plan in view), the plan with its versions, and the plan as
//! PDF and print view; the prescriber tasks list.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use concord_app::AppError;
use concord_app::cycle::Caller;
use concord_app::plan::ConversationView;
use concord_domain::access::Permission;
use concord_domain::plan::{
    AboutMe, Action, CONVERSATION_PROMPTS, CarePlan, Contingency, Goal, Journey, PlanName, RULERS, SELF_REFLECTION,
    Service, Sharing, journey_prompts,
};
use concord_store::StoreError;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::document::document_view;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{
    ChoiceView, ConversationTemplate, FieldError, FieldView, GroupView, Layout, LinkedPlanView, PlanTemplate,
    PlanVersionView, TaskView, TasksTemplate, page,
};
use crate::views;

const GOALS: usize = 3;
const ACTIONS: usize = 2;
const CONTINGENCIES: usize = 2;
const LIST_SLOTS: usize = 3;

pub(crate) async fn conversation_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let view = state.concord.conversation_view(&signed_in.staff, &patient_id, OffsetDateTime::now_utc()).await?;
    let (based_on, plan) = match &view.current {
        Some((version, plan, _)) => (*version, plan.clone()),
        None => (0, CarePlan::default()),
    };
    render(&state, &context, &signed_in, &reference, &view, &plan, based_on, &[], None, None).await
}

pub(crate) async fn record_plan(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let directory: Vec<(String, String)> = concord_app::plan::service_directory()?;
    let plan = plan_from_form(&pairs, &directory);
    let field =
        |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let based_on: i64 = field("based_on").parse().unwrap_or(0);
    let agree = field("decision") == "agree";
    let now = OffsetDateTime::now_utc();
    let outcome = state.concord.record_plan(&signed_in.staff, &patient_id, based_on, plan.clone(), agree, now).await;
    let view = state.concord.conversation_view(&signed_in.staff, &patient_id, now).await?;
    match outcome {
        Ok(Ok(version)) => {
            let saved = view.current.as_ref().map(|(_, plan, _)| plan.clone()).unwrap_or(plan);
            let message = if agree {
                format!("Plan agreed and kept as version {version}. The person can read it online and have it printed.")
            } else {
                format!("Draft kept as version {version}. It is not agreed yet.")
            };
            render(&state, &context, &signed_in, &reference, &view, &saved, version, &[], Some(message), None).await
        }
        Ok(Err(problems)) => {
            render(&state, &context, &signed_in, &reference, &view, &plan, based_on, &problems, None, None).await
        }
        Err(AppError::Store(StoreError::Conflict(message))) => {
            // Nothing was saved: the clinician keeps what they typed, now based on the newest version.
            let newest = view.current.as_ref().map_or(0, |(version, _, _)| *version);
            render(&state, &context, &signed_in, &reference, &view, &plan, newest, &[], None, Some(message)).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The plan as posted: empty slots are left out.
fn plan_from_form(pairs: &[(String, String)], directory: &[(String, String)]) -> CarePlan {
    let get = |name: &str| {
        pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned()).unwrap_or_default()
    };
    let all = |name: &str| -> Vec<String> {
        pairs.iter().filter(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned()).collect()
    };
    let number = |name: &str| get(name).parse::<u8>().unwrap_or(0);
    let list = |prefix: &str| -> Vec<String> {
        (0..LIST_SLOTS).map(|index| get(&format!("{prefix}.{index}"))).filter(|value| !value.is_empty()).collect()
    };
    let mut goals = Vec::new();
    for index in 0..GOALS {
        let actions: Vec<Action> = (0..ACTIONS)
            .map(|number_in| {
                let key = |field: &str| format!("action.{index}.{number_in}.{field}");
                Action {
                    what: get(&key("what")),
                    when: get(&key("when")),
                    how_often: get(&key("how_often")),
                    who_supports: get(&key("who_supports")),
                    barriers: get(&key("barriers")),
                    confidence: number(&key("confidence")),
                }
            })
            .filter(|action| *action != Action::default())
            .collect();
        let goal = Goal {
            words: get(&format!("goal.{index}.words")),
            importance: number(&format!("goal.{index}.importance")),
            actions,
        };
        if !goal.words.is_empty() || goal.importance != 0 || !goal.actions.is_empty() {
            goals.push(goal);
        }
    }
    let contingencies = (0..CONTINGENCIES)
        .map(|index| {
            let key = |field: &str| format!("contingency.{index}.{field}");
            Contingency {
                name: get(&key("name")),
                triggers: get(&key("triggers")),
                early_warning_signs: get(&key("early_warning_signs")),
                what_to_do: get(&key("what_to_do")),
                who_to_contact: get(&key("who_to_contact")),
            }
        })
        .filter(|contingency| contingency != &Contingency::default())
        .collect();
    let mut services: Vec<Service> = all("service")
        .into_iter()
        .filter_map(|id| {
            directory.iter().find(|(known, _)| *known == id).map(|(known, name)| Service {
                service: known.clone(),
                name: name.clone(),
                note: String::new(),
            })
        })
        .collect();
    let other = get("service_other");
    if !other.is_empty() {
        services.push(Service { service: String::new(), name: other, note: String::new() });
    }
    CarePlan {
        name: PlanName::parse(&get("plan_name")).unwrap_or_default(),
        journey: Journey::parse(&get("journey")).unwrap_or_default(),
        about_me: AboutMe {
            what_matters: get("about.0.what_matters"),
            important_people: get("about.0.important_people"),
            communication: get("about.0.communication"),
            please_do_and_dont: get("about.0.please_do_and_dont"),
            how_to_support_me: get("about.0.how_to_support_me"),
            also_worth_knowing: get("about.0.also_worth_knowing"),
        },
        needs: list("need"),
        goals,
        information: list("information"),
        treatments: list("treatment"),
        services,
        contingencies,
        lead_coordinator: get("lead_coordinator"),
        medication_plan: get("medication_plan"),
        review_date: time::Date::parse(&get("review_date"), time::macros::format_description!("[year]-[month]-[day]"))
            .ok(),
        review_by: get("review_by"),
        agreed: false,
        agreed_by: get("agreed_by"),
        sharing: Sharing { organisations: all("share"), refused: get("share_refused") == "yes" },
    }
}

/// Up to [`LIST_SLOTS`] one-line entries (`{name}.0`, `{name}.1`, …), filled from `items`.
fn list_group(legend: &str, name: &str, label: &str, items: &[String], errors: &[(String, String)]) -> GroupView {
    GroupView {
        legend: legend.to_owned(),
        fields: (0..LIST_SLOTS)
            .map(|index| {
                let value = items.get(index).map_or("", String::as_str);
                text(&format!("{name}.{index}"), &format!("{label} {}", index + 1), value, errors)
            })
            .collect(),
    }
}

fn text(name: &str, label: &str, value: &str, errors: &[(String, String)]) -> FieldView {
    FieldView {
        id: name.replace(['.', '_'], "-"),
        name: name.to_owned(),
        label: label.to_owned(),
        hint: String::new(),
        value: value.to_owned(),
        error: errors.iter().find(|(field, _)| field == name).map(|(_, message)| message.clone()).unwrap_or_default(),
        multiline: false,
        width: String::new(),
    }
}

fn area(name: &str, label: &str, value: &str, errors: &[(String, String)]) -> FieldView {
    FieldView { multiline: true, ..text(name, label, value, errors) }
}

fn score(name: &str, label: &str, value: u8, errors: &[(String, String)]) -> FieldView {
    FieldView {
        width: "2".into(),
        hint: "From 1 (not at all) to 10 (very)".into(),
        ..text(name, label, &if value == 0 { String::new() } else { value.to_string() }, errors)
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    view: &ConversationView,
    plan: &CarePlan,
    based_on: i64,
    problems: &[(String, String)],
    done: Option<String>,
    conflict: Option<String>,
) -> Result<Response, PageError> {
    let row =
        state.concord.store.patient(&view.patient_id).await.map_err(AppError::from)?.ok_or(PageError::NotFound)?;
    let about = &plan.about_me;
    let mut groups = vec![GroupView {
        legend: "About me, in their words".into(),
        fields: vec![
            area("about.0.what_matters", "What matters to me", &about.what_matters, problems),
            area("about.0.important_people", "People who are important to me", &about.important_people, problems),
            area("about.0.communication", "How to communicate with me", &about.communication, problems),
            area("about.0.please_do_and_dont", "Please do and please don't", &about.please_do_and_dont, problems),
            area("about.0.how_to_support_me", "How and when to support me", &about.how_to_support_me, problems),
            area("about.0.also_worth_knowing", "Also worth knowing about me", &about.also_worth_knowing, problems),
        ],
    }];
    groups.push(list_group("Needs and concerns", "need", "Need or concern", &plan.needs, problems));
    for index in 0..GOALS {
        let goal = plan.goals.get(index).cloned().unwrap_or_default();
        groups.push(GroupView {
            legend: format!("Goal {}", index + 1),
            fields: vec![
                area(&format!("goal.{index}.words"), "The goal, in the person's own words", &goal.words, problems),
                score(&format!("goal.{index}.importance"), "How important it is to them", goal.importance, problems),
            ],
        });
        for number in 0..ACTIONS {
            let action = goal.actions.get(number).cloned().unwrap_or_default();
            let key = |field: &str| format!("action.{index}.{number}.{field}");
            groups.push(GroupView {
                legend: format!("Goal {}, action {}", index + 1, number + 1),
                fields: vec![
                    text(&key("what"), "What they will do", &action.what, problems),
                    text(&key("when"), "When", &action.when, problems),
                    text(&key("how_often"), "How often", &action.how_often, problems),
                    text(&key("who_supports"), "Who will support them", &action.who_supports, problems),
                    text(&key("barriers"), "What might get in the way", &action.barriers, problems),
                    score(&key("confidence"), "How confident they feel to do it", action.confidence, problems),
                ],
            });
        }
    }
    groups.push(list_group(
        "Information given (information prescriptions)",
        "information",
        "Information",
        &plan.information,
        problems,
    ));
    groups.push(list_group(
        "Treatments and medication changes agreed (each becomes a task for a prescriber)",
        "treatment",
        "Treatment or change",
        &plan.treatments,
        problems,
    ));
    for index in 0..CONTINGENCIES {
        let contingency = plan.contingencies.get(index).cloned().unwrap_or_default();
        let key = |field: &str| format!("contingency.{index}.{field}");
        groups.push(GroupView {
            legend: format!("If things get worse: plan {}", index + 1),
            fields: vec![
                FieldView {
                    hint: "For example, COPD flare-up, low blood sugar (hypo), being ill (sick day rules)".into(),
                    ..text(&key("name"), "What this plan is for", &contingency.name, problems)
                },
                area(&key("triggers"), "What can set it off", &contingency.triggers, problems),
                area(&key("early_warning_signs"), "Early warning signs", &contingency.early_warning_signs, problems),
                area(
                    &key("what_to_do"),
                    "What to do (for example, start the rescue pack)",
                    &contingency.what_to_do,
                    problems,
                ),
                text(&key("who_to_contact"), "Who to contact", &contingency.who_to_contact, problems),
            ],
        });
    }
    groups.push(GroupView {
        legend: "Coordination, medicines and review".into(),
        fields: vec![
            FieldView {
                hint: "For people with complex needs: who coordinates their care".into(),
                ..text("lead_coordinator", "Lead coordinator", &plan.lead_coordinator, problems)
            },
            area("medication_plan", "Medication plan, in plain words", &plan.medication_plan, problems),
            FieldView {
                hint: "As YYYY-MM-DD".into(),
                width: "10".into(),
                ..text(
                    "review_date",
                    "Review date",
                    &plan.review_date.map(|date| date.to_string()).unwrap_or_default(),
                    problems,
                )
            },
            text("review_by", "Who is responsible for the review", &plan.review_by, problems),
            FieldView {
                hint: "The person, or their legitimate representative with their role".into(),
                ..text("agreed_by", "Agreed with", &plan.agreed_by, problems)
            },
        ],
    });
    let errors: Vec<FieldError> = problems
        .iter()
        .map(|(field, message)| FieldError {
            href: format!("#{}", field.replace(['.', '_'], "-")),
            text: message.clone(),
        })
        .chain(conflict.iter().map(|message| FieldError { href: "#plan-form".into(), text: message.clone() }))
        .collect();
    let layout =
        Layout::new(context, state.synthetic().await, Some(signed_in), "Care and support planning conversation")
            .with_errors(!errors.is_empty());
    page(&ConversationTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        action: format!("/patients/record/{reference}/conversation"),
        record_href: format!("/patients/record/{reference}"),
        plan_href: view.current.as_ref().map(|_| format!("/patients/record/{reference}/plan")),
        name: views::clinical_name(&row.patient.name.family, &row.patient.name.given),
        stage: view.stage.map(|stage| stage.label().to_owned()).unwrap_or_else(|| "Due".into()),
        minutes: view.minutes,
        agenda: view
            .agenda
            .iter()
            .map(|line| (line.question.clone(), line.answer.clone(), line.written.clone()))
            .collect(),
        results: view.results.clone(),
        flags: view
            .open_flags
            .iter()
            .map(|flag| {
                format!("{} ({}): {}", state.concord.red_flag_rule_name(&flag.rule_id), flag.severity, flag.value_text)
            })
            .collect(),
        medicines: view
            .medicines
            .iter()
            .map(|medicine| {
                format!(
                    "{}{}",
                    medicine.term,
                    medicine.dosage.as_ref().map_or_else(String::new, |dose| format!(": {dose}"))
                )
            })
            .collect(),
        medicines_as_at: view.medicines.first().map(|medicine| views::stored_date(&medicine.as_at)).unwrap_or_default(),
        previous: view.current.as_ref().map(|(version, _, status)| format!("Version {version} ({status})")),
        prompts: CONVERSATION_PROMPTS.iter().map(|prompt| (*prompt).to_owned()).collect(),
        rulers: RULERS.iter().map(|prompt| (*prompt).to_owned()).collect(),
        reflection: SELF_REFLECTION.iter().map(|prompt| (*prompt).to_owned()).collect(),
        journey_prompts: journey_prompts(plan.journey).iter().map(|prompt| (*prompt).to_owned()).collect(),
        names: PlanName::ALL
            .iter()
            .map(|name| ChoiceView {
                value: name.as_str().into(),
                label: match name {
                    PlanName::Declined => "The person does not want a written plan".into(),
                    other => format!("\"{}\"", other.words()),
                },
                checked: *name == plan.name,
                hint: String::new(),
            })
            .collect(),
        journeys: Journey::ALL
            .iter()
            .map(|journey| ChoiceView {
                value: journey.as_str().into(),
                label: journey.label().into(),
                checked: *journey == plan.journey,
                hint: String::new(),
            })
            .collect(),
        groups,
        services: view
            .services
            .iter()
            .map(|service| ChoiceView {
                value: service.id.clone(),
                label: service.name.clone(),
                checked: plan.services.iter().any(|chosen| chosen.service == service.id),
                hint: format!("{} {}", service.description, service.how_to_refer),
            })
            .collect(),
        service_other: plan
            .services
            .iter()
            .find(|service| service.service.is_empty())
            .map(|service| service.name.clone())
            .unwrap_or_default(),
        organisations: view
            .organisations
            .iter()
            .map(|(code, name)| ChoiceView {
                value: code.clone(),
                label: name.clone(),
                checked: plan.sharing.organisations.contains(code),
                hint: String::new(),
            })
            .collect(),
        share_refused: plan.sharing.refused,
        sharing_error: problems
            .iter()
            .find(|(field, _)| field == "sharing")
            .map(|(_, message)| message.clone())
            .unwrap_or_default(),
        based_on,
        errors,
        done,
        can_record: signed_in.staff.require(Permission::ManageCycle).is_ok(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PlanQuery {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    format: String,
}

pub(crate) async fn plan_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<PlanQuery>,
) -> Result<Response, PageError> {
    render_plan(&state, &context, &signed_in, &reference, query.version, None).await
}

fn link_form(
    signed_in: &SignedIn,
    reference: &str,
    values: &[(String, String)],
    errors: Vec<FieldError>,
    saved: bool,
) -> Option<crate::templates::LinkFormView> {
    if signed_in.staff.require(Permission::ManageCycle).is_err() {
        return None;
    }
    let value =
        |name: &str| values.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default();
    let kind = value("kind");
    Some(crate::templates::LinkFormView {
        action: format!("/patients/record/{reference}/plan/linked#linked"),
        csrf_token: signed_in.csrf_token.clone(),
        kinds: concord_domain::linked_plan::KINDS.iter().map(|(code, label)| (*code, *label, *code == kind)).collect(),
        service: value("service"),
        title: value("title"),
        summary: value("summary"),
        period_start: value("period_start"),
        errors,
        saved,
    })
}

/// Records a plan from another service, linked into the person's overarching plan.
pub(crate) async fn link_plan(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    Path(reference): Path<String>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let value = |name: &str| {
        pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned()).unwrap_or_default()
    };
    let plan = concord_domain::linked_plan::LinkedPlan {
        service: value("service"),
        kind: value("kind"),
        title: value("title"),
        summary: value("summary"),
        period_start: Some(value("period_start")).filter(|text| !text.is_empty()),
        ..Default::default()
    };
    match state.concord.link_plan(&signed_in.staff, &patient_id, plan, OffsetDateTime::now_utc()).await? {
        Ok(_) => {
            let form = link_form(&signed_in, &reference, &[], vec![], true);
            render_plan(&state, &context, &signed_in, &reference, None, Some(form)).await
        }
        Err(problems) => {
            let errors = problems
                .into_iter()
                .map(|(field, text)| FieldError { href: format!("#linked-{field}"), text })
                .collect();
            let form = link_form(&signed_in, &reference, &pairs, errors, false);
            render_plan(&state, &context, &signed_in, &reference, None, Some(form)).await
        }
    }
}

async fn render_plan(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    reference: &str,
    version: Option<i64>,
    form: Option<Option<crate::templates::LinkFormView>>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(state, signed_in, reference)?;
    let now = OffsetDateTime::now_utc();
    let caller = Caller::Staff(&signed_in.staff);
    let view = state.concord.plan_view(caller, &patient_id, version).await?;
    let document = state.concord.plan_document(caller, &patient_id, Some(view.version), now).await?;
    let row = state.concord.store.patient(&patient_id).await.map_err(AppError::from)?.ok_or(PageError::NotFound)?;
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Care and support plan");
    page(&PlanTemplate {
        layout,
        record_href: format!("/patients/record/{reference}"),
        conversation_href: format!("/patients/record/{reference}/conversation"),
        pdf_href: format!("/patients/record/{reference}/plan.pdf?version={}", view.version),
        print_href: format!("/patients/record/{reference}/plan/print?version={}", view.version),
        name: views::clinical_name(&row.patient.name.family, &row.patient.name.given),
        version: view.version,
        status: view.status.clone(),
        recorded: format!("{} by {}", views::stored_time(&view.recorded_at), view.recorded_by),
        versions: view
            .versions
            .iter()
            .map(|version| PlanVersionView {
                label: format!(
                    "Version {} ({}), {} by {}",
                    version.version,
                    version.status,
                    views::stored_time(&version.recorded_at),
                    version.recorded_by
                ),
                href: format!("/patients/record/{reference}/plan?version={}", version.version),
                current: version.version == view.version,
                changes: version.changes.clone(),
            })
            .collect(),
        document: document_view(&document, 1),
        linked: state.concord.linked_plans_for(&patient_id).await?.iter().map(LinkedPlanView::of).collect(),
        link_form: form.unwrap_or_else(|| link_form(signed_in, reference, &[], vec![], false)),
    })
}

pub(crate) async fn plan_pdf(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<PlanQuery>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let pdf = state
        .concord
        .plan_pdf(
            Caller::Staff(&signed_in.staff),
            &patient_id,
            query.version,
            query.format == "large_print",
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(super::pdf_response(pdf, "care-and-support-plan.pdf", true))
}

pub(crate) async fn plan_print(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
    Query(query): Query<PlanQuery>,
) -> Result<Response, PageError> {
    let patient_id = super::record_patient(&state, &signed_in, &reference)?;
    let document = state
        .concord
        .plan_document(Caller::Staff(&signed_in.staff), &patient_id, query.version, OffsetDateTime::now_utc())
        .await?;
    let html = crate::print_page(&document, query.format == "large_print", "/assets", "/static/print.css")?;
    Ok(axum::response::Html(html).into_response())
}

/// Treatments agreed in plans, waiting for a prescriber.
pub(crate) async fn tasks_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    render_tasks(&state, &context, &signed_in, None).await
}

async fn render_tasks(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    done: Option<String>,
) -> Result<Response, PageError> {
    let tasks = state.concord.prescriber_tasks(Caller::Staff(&signed_in.staff)).await?;
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Treatments to make in the GP system");
    page(&TasksTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        can_complete: signed_in.staff.require(Permission::TriageResults).is_ok(),
        tasks: tasks
            .into_iter()
            .map(|entry| TaskView {
                id: entry.task.id,
                name: entry.name,
                nhs_number: entry.nhs_number.as_deref().map(views::nhs_number).unwrap_or_default(),
                description: entry.task.description,
                created: views::stored_time(&entry.task.created_at),
            })
            .collect(),
        done,
    })
}

pub(crate) async fn complete_task(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let id = pairs.iter().find(|(key, _)| key == "task").map(|(_, value)| value.clone()).unwrap_or_default();
    let done = state.concord.complete_prescriber_task(&signed_in.staff, &id, OffsetDateTime::now_utc()).await?;
    let message = if done { "Marked as made in the GP system." } else { "That task was already done." };
    render_tasks(&state, &context, &signed_in, Some(message.into())).await
}
