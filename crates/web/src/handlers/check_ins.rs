//! The practice's check-ins page: people who need a follow-up (they asked for help or are finding
//! a goal hard), soonest due first, and the calls to make to people without email or a mobile.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use concord_app::AppError;
use concord_domain::access::Permission;
use concord_domain::survey::QUESTIONS;
use time::OffsetDateTime;

use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{SessionPairs, SignedIn};
use crate::state::AppState;
use crate::templates::{CallView, CheckInsTemplate, FieldError, FollowUpView, Layout, page};
use crate::views;

pub(crate) async fn check_ins(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    render(&state, &context, &signed_in, None, vec![]).await
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    signed_in: &SignedIn,
    done: Option<String>,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let follow_ups = state.concord.follow_ups(&signed_in.staff).await?;
    let now = time::OffsetDateTime::now_utc();
    let mut calls = Vec::new();
    for (check_in, given, family, nhs, phone, goals) in state.concord.check_in_calls(&signed_in.staff, now).await? {
        let survey = state.concord.survey_due_on_call(&signed_in.staff, &check_in.patient_id, now).await?.is_some();
        calls.push((check_in, given, family, nhs, phone, goals, survey));
    }
    let layout = Layout::new(context, state.synthetic().await, Some(signed_in), "Check-ins")
        .current("/check-ins")
        .with_errors(!errors.is_empty());
    page(&CheckInsTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        can_act: signed_in.staff.require(Permission::ManageCycle).is_ok(),
        follow_ups: follow_ups
            .into_iter()
            .map(|row| FollowUpView {
                name: views::clinical_name(&row.family_name, &row.given_name),
                nhs_number: row.nhs_number.as_deref().map(views::nhs_number).unwrap_or_default(),
                reason: row.reason,
                overdue: time::Date::parse(&row.due_by, &time::format_description::well_known::Iso8601::DATE)
                    .is_ok_and(|due| concord_domain::check_in::follow_up_overdue(due, now.date())),
                due_by: views::stored_time(&row.due_by),
                owner: concord_domain::access::StaffRole::parse(&row.owner_role)
                    .map_or("the practice", |role| role.title()),
                note: row.note,
                id: row.id,
            })
            .collect(),
        calls: calls
            .into_iter()
            .map(|(check_in, given, family, nhs, phone, goals, survey)| CallView {
                name: views::clinical_name(&family, &given),
                nhs_number: nhs.as_deref().map(views::nhs_number).unwrap_or_default(),
                phone: phone.unwrap_or_else(|| "no number recorded".into()),
                unanswered: match check_in.channel.as_str() {
                    "phone" => None,
                    "sms" => Some("text message"),
                    _ => Some("email"),
                },
                due_on: views::stored_time(&check_in.due_on),
                goals: goals.into_iter().enumerate().collect(),
                survey,
                id: check_in.id,
            })
            .collect(),
        choices: concord_domain::online_access::GOAL_PROGRESS.iter().map(|(code, label, _)| (*code, *label)).collect(),
        questions: QUESTIONS.iter().map(|question| (question.id, question.text, question.choices.to_vec())).collect(),
        done,
        errors,
    })
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim().to_owned()).unwrap_or_default()
}

/// Closes a follow-up with what was done.
pub(crate) async fn complete_follow_up(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    let id = field(&pairs, "follow_up");
    match state
        .concord
        .complete_follow_up(&signed_in.staff, &id, &field(&pairs, "outcome"), OffsetDateTime::now_utc())
        .await
    {
        Ok(true) => render(&state, &context, &signed_in, Some("Follow-up done.".into()), vec![]).await,
        Ok(false) => {
            render(&state, &context, &signed_in, Some("That follow-up was already done.".into()), vec![]).await
        }
        Err(AppError::Invalid(_)) => {
            let errors = vec![FieldError { href: format!("#outcome-{id}"), text: "Say what was done".into() }];
            render(&state, &context, &signed_in, None, errors).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Records the answers given on a check-in call.
pub(crate) async fn record_call(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionPairs(signed_in, pairs): SessionPairs,
) -> Result<Response, PageError> {
    // The role before anything is looked up.
    signed_in.staff.require(Permission::ViewPatientRecord)?;
    signed_in.staff.require(Permission::ManageCycle)?;
    let id = field(&pairs, "check_in");
    let Some(check_in) = state.concord.store.check_in(&id).await.map_err(AppError::from)? else {
        return Err(PageError::NotFound);
    };
    let goals = state.concord.check_in_goals(&check_in).await?;
    // Their feedback, if they gave it: checked before anything is saved, so nothing is half-kept.
    let survey: Vec<(String, String)> = QUESTIONS
        .iter()
        .map(|question| (question.id.to_owned(), field(&pairs, &format!("survey-{}", question.id))))
        .collect();
    let surveyed = survey.iter().any(|(_, answer)| !answer.is_empty());
    if surveyed && let Some((question, text)) = concord_domain::survey::problems(&survey).into_iter().next() {
        let errors = vec![FieldError { href: format!("#call-{id}-survey-{question}"), text }];
        return render(&state, &context, &signed_in, None, errors).await;
    }
    let answers = concord_app::check_ins::CheckInAnswers {
        statuses: (0..goals.len()).map(|index| field(&pairs, &format!("goal-{index}"))).collect(),
        help: field(&pairs, "help") == "yes",
        note: field(&pairs, "note"),
    };
    let now = OffsetDateTime::now_utc();
    match state.concord.record_check_in_call(&signed_in.staff, &id, &answers, now).await {
        Ok(follow_up) => {
            let feedback = if surveyed {
                match state.concord.record_survey_on_call(&signed_in.staff, &check_in.patient_id, &survey, now).await? {
                    Ok(true) => " Their feedback is saved.",
                    _ => " Their feedback was not saved: they had already given it.",
                }
            } else {
                ""
            };
            let saved =
                if follow_up.is_some() { "Answers saved; a follow-up is on the list." } else { "Answers saved." };
            render(&state, &context, &signed_in, Some(format!("{saved}{feedback}")), vec![]).await
        }
        Err(AppError::Invalid(message)) => {
            let text = message.split_once(": ").map_or(message.as_str(), |(_, text)| text).to_owned();
            let errors = vec![FieldError { href: format!("#call-{id}-0-going_well"), text }];
            render(&state, &context, &signed_in, None, errors).await
        }
        Err(error) => Err(error.into()),
    }
}
