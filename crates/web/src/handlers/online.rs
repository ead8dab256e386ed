//! The person's own pages (`/prepare`): sign in with the access code and a date of birth, read the
//! preparation, download the letter, write the agenda and the needs check, sign out. A separate
//! cookie and session from staff; every form carries the session's synchronizer token.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use concord_app::AppError;
use concord_app::online::Visitor;
use concord_domain::preparation::{AGENDA_PROMPTS, NEEDS_ANSWERS, NEEDS_AREAS, NOT_WATCHED};
use time::{Date, OffsetDateTime};

use crate::csrf::{self, constant_time_eq};
use crate::document::document_view;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::{
    ClientAddress, clear_cookie, cookie_name, read_cookie, read_sign_in_cookie, set_cookie, sign_in_cookie,
};
use crate::state::AppState;
use crate::templates::{
    AgendaFieldView, FieldError, Layout, NeedsAreaView, PersonNav, PrepareAccessTemplate, PrepareAgendaTemplate,
    PrepareLetterTemplate, PreparePlanTemplate, PrepareProxiesTemplate, PrepareSharingTemplate, PrepareSignInTemplate,
    PrepareVerifyTemplate, page, render,
};

const PERSON_COOKIE: &str = "concord_person";

/// A signed-in person or proxy.
pub(crate) struct Online {
    pub token: String,
    pub visitor: Visitor,
}

impl FromRequestParts<AppState> for Online {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let token = read_cookie(&parts.headers, &cookie_name(state, PERSON_COOKIE))
            .filter(|token| !token.is_empty() && token.len() <= 128);
        let Some(token) = token else { return Err(PageError::PersonSignInRequired) };
        match state.concord.person_visitor(&token).await? {
            Some(visitor) => Ok(Self { token, visitor }),
            None => Err(PageError::PersonSignInRequired),
        }
    }
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
}

fn token_ok(online: &Online, pairs: &[(String, String)]) -> bool {
    constant_time_eq(&field(pairs, "csrf_token"), &online.visitor.csrf_token)
}

pub(crate) async fn sign_in_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    headers: axum::http::HeaderMap,
) -> Result<Response, PageError> {
    let token = read_sign_in_cookie(&state, &headers)
        .filter(|token| csrf::pre_session_is_valid(&state.signing_key, token))
        .unwrap_or_else(|| csrf::issue_pre_session(&state.signing_key));
    sign_in_form(&state, &context, token, Default::default(), vec![]).await
}

#[derive(Default)]
struct SignInValues {
    code: String,
    day: String,
    month: String,
    year: String,
    code_error: String,
    date_error: String,
}

async fn sign_in_form(
    state: &AppState,
    context: &RequestContext,
    token: String,
    values: SignInValues,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let layout = Layout::new(context, state.synthetic().await, None, "Get ready for your appointment")
        .with_errors(!errors.is_empty());
    let body = render(&PrepareSignInTemplate {
        layout,
        csrf_token: token.clone(),
        code: values.code,
        day: values.day,
        month: values.month,
        year: values.year,
        code_error: values.code_error,
        date_error: values.date_error,
        errors,
    })?;
    Ok(([(header::SET_COOKIE, sign_in_cookie(state, &token))], axum::response::Html(body)).into_response())
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    ClientAddress(client): ClientAddress,
    headers: axum::http::HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if let Err(wait) = state.sign_in_limiter.take(client) {
        tracing::warn!("online sign-in rate limit reached");
        return Err(PageError::TooManyRequests { retry_after_seconds: wait.as_secs().max(1) });
    }
    let cookie = read_sign_in_cookie(&state, &headers);
    let form_token = field(&pairs, "csrf_token");
    if !csrf::pre_session_matches(&state.signing_key, cookie.as_deref(), Some(&form_token)) {
        state.sign_in_limiter.give_back(client);
        return Err(PageError::Csrf);
    }
    let token = cookie.unwrap_or_default();
    let mut values = SignInValues {
        code: field(&pairs, "code").chars().take(40).collect(),
        day: field(&pairs, "birth[day]").chars().take(4).collect(),
        month: field(&pairs, "birth[month]").chars().take(4).collect(),
        year: field(&pairs, "birth[year]").chars().take(6).collect(),
        ..Default::default()
    };
    let mut errors = Vec::new();
    if values.code.trim().is_empty() {
        values.code_error = "Enter the code from your letter or message".into();
        errors.push(FieldError { href: "#code".into(), text: values.code_error.clone() });
    }
    let birth_date = birth_date(&values.day, &values.month, &values.year);
    if birth_date.is_none() {
        values.date_error = "Enter your date of birth, for example 27 3 1951".into();
        errors.push(FieldError { href: "#birth-day".into(), text: values.date_error.clone() });
    }
    let Some(birth_date) = birth_date.filter(|_| errors.is_empty()) else {
        state.sign_in_limiter.give_back(client);
        return sign_in_form(&state, &context, token, values, errors).await;
    };
    match state.concord.person_sign_in(&values.code, birth_date, OffsetDateTime::now_utc()).await {
        Ok(session) => {
            state.sign_in_limiter.give_back(client);
            let mut response = Redirect::to("/prepare/letter").into_response();
            let headers = response.headers_mut();
            for cookie in
                [set_cookie(&state, PERSON_COOKIE, &session.token), crate::session::clear_sign_in_cookie(&state)]
            {
                if let Ok(value) = cookie.parse() {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            Ok(response)
        }
        Err(AppError::Refused(message)) => {
            values.code_error = message.clone();
            sign_in_form(&state, &context, token, values, vec![FieldError { href: "#code".into(), text: message }])
                .await
        }
        Err(error) => Err(error.into()),
    }
}

fn birth_date(day: &str, month: &str, year: &str) -> Option<Date> {
    let month = time::Month::try_from(month.trim().parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.trim().parse().ok().filter(|year| *year > 1890)?, month, day.trim().parse().ok()?)
        .ok()
}

pub(crate) async fn letter_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    let nav = PersonNav::of(&online.visitor);
    let check_in = state.concord.check_in_waiting(&online.visitor).await?;
    let survey = state.concord.survey_due(&online.visitor, OffsetDateTime::now_utc()).await?.is_some();
    if !nav.letter {
        let layout = Layout::new(&context, state.synthetic().await, None, "Your results and your appointment");
        return page(&PrepareLetterTemplate {
            layout,
            csrf_token: online.visitor.csrf_token.clone(),
            signed_in_as: online.visitor.written_by.clone(),
            held_back: format!("{} has not asked for you to read their results.", online.visitor.given_name),
            document: None,
            has_pdf: false,
            answered: false,
            nav,
            check_in,
            survey,
        });
    }
    let preparation = state.concord.online_preparation(&online.visitor, OffsetDateTime::now_utc()).await?;
    let layout = Layout::new(&context, state.synthetic().await, None, "Your results and your appointment");
    page(&PrepareLetterTemplate {
        nav,
        check_in,
        survey,
        layout,
        csrf_token: online.visitor.csrf_token.clone(),
        signed_in_as: online.visitor.written_by.clone(),
        held_back: preparation.held_back.unwrap_or_default(),
        document: preparation.letter.as_ref().map(|document| document_view(document, 0)),
        has_pdf: preparation.letter.is_some() && preparation.letter_id.is_some(),
        answered: !preparation.answers.values().all(String::is_empty),
    })
}

/// Who has looked at the person's record.
pub(crate) async fn access_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    let lines = state.concord.record_access_log(&online.visitor).await?;
    let layout = Layout::new(&context, state.synthetic().await, None, "Who has looked at your record");
    page(&PrepareAccessTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        lines: lines
            .into_iter()
            .map(|line| {
                let who = if line.organisation.is_empty() {
                    line.who
                } else {
                    format!("{} ({})", line.who, line.organisation)
                };
                (crate::views::stored_time(&line.at), who, line.what)
            })
            .collect(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct VersionQuery {
    #[serde(default)]
    version: Option<i64>,
}

/// The person's own plan (the newest version unless asked), online, with how their goals are
/// going and their earlier versions.
pub(crate) async fn plan_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::extract::Query(query): axum::extract::Query<VersionQuery>,
) -> Result<Response, PageError> {
    plan_view(&state, &context, &online, query.version, false, String::new()).await
}

async fn plan_view(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    version: Option<i64>,
    saved: bool,
    error: String,
) -> Result<Response, PageError> {
    let plan = state.concord.online_plan(&online.visitor, version, OffsetDateTime::now_utc()).await?;
    let newest =
        plan.as_ref().is_some_and(|(_, view)| view.versions.first().is_some_and(|row| row.version == view.version));
    let goals = if newest { state.concord.person_goals(&online.visitor).await? } else { vec![] };
    let layout = Layout::new(context, state.synthetic().await, None, "Your care and support plan");
    page(&PreparePlanTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        csrf_token: online.visitor.csrf_token.clone(),
        document: plan.as_ref().map(|(document, _)| document_view(document, 0)),
        version: plan
            .as_ref()
            .map(|(_, view)| format!("Version {} ({})", view.version, view.status))
            .unwrap_or_default(),
        newest,
        versions: plan
            .as_ref()
            .map(|(_, view)| {
                view.versions
                    .iter()
                    .map(|row| {
                        let when = crate::views::stored_time(&row.recorded_at);
                        (
                            row.version,
                            format!("Version {}, {} {}", row.version, row.status, when),
                            row.version == view.version,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        goals: goals
            .into_iter()
            .enumerate()
            .map(|(index, goal)| match goal.progress {
                Some(progress) => (
                    index,
                    goal.words,
                    concord_app::person::progress_words(&progress.status).to_owned(),
                    progress.note,
                    format!("{}, {}", progress.written_by, crate::views::stored_time(&progress.written_at)),
                ),
                None => (index, goal.words, String::new(), String::new(), String::new()),
            })
            .collect(),
        progress_choices: concord_domain::online_access::GOAL_PROGRESS
            .iter()
            .map(|(code, label, _)| (*code, *label))
            .collect(),
        linked: if plan.is_some() {
            state
                .concord
                .linked_plans_for(&online.visitor.patient_id)
                .await?
                .iter()
                .map(crate::templates::LinkedPlanView::of)
                .collect()
        } else {
            vec![]
        },
        saved,
        errors: field_errors(&error, "#progress-0-not_started"),
    })
}

/// Records how a goal is going.
pub(crate) async fn save_progress(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let goal = field(&pairs, "goal").parse::<usize>().unwrap_or(usize::MAX);
    match state
        .concord
        .person_goal_progress(
            &online.visitor,
            goal,
            &field(&pairs, "status"),
            &field(&pairs, "note"),
            OffsetDateTime::now_utc(),
        )
        .await
    {
        Ok(()) => plan_view(&state, &context, &online, None, true, String::new()).await,
        Err(AppError::Invalid(message)) => {
            let message = message.split_once(": ").map_or(message.clone(), |(_, text)| text.to_owned());
            plan_view(&state, &context, &online, None, false, capitalise(&message)).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The error summary for one problem, linked to the field it is about.
fn field_errors(error: &str, href: &str) -> Vec<FieldError> {
    if error.is_empty() { vec![] } else { vec![FieldError { href: href.to_owned(), text: error.to_owned() }] }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// Who can see the person's plan, and (after the identity check) the choice.
pub(crate) async fn sharing_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    sharing_view(&state, &context, &online, false, String::new()).await
}

async fn sharing_view(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    saved: bool,
    error: String,
) -> Result<Response, PageError> {
    let choices = state.concord.person_sharing(&online.visitor).await?;
    let layout = Layout::new(context, state.synthetic().await, None, "Who can see your care and support plan");
    page(&PrepareSharingTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        csrf_token: online.visitor.csrf_token.clone(),
        has_plan: choices.has_plan,
        shared_with: choices
            .organisations
            .iter()
            .filter(|(_, _, chosen)| *chosen)
            .map(|(_, name, _)| name.clone())
            .collect(),
        organisations: choices.organisations,
        refused: choices.refused,
        verified: online.visitor.verified(OffsetDateTime::now_utc()),
        saved,
        errors: field_errors(&error, "#organisations-0"),
        error,
    })
}

pub(crate) async fn save_sharing(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let chosen: Vec<String> =
        pairs.iter().filter(|(key, _)| key == "organisation").map(|(_, value)| value.clone()).collect();
    let refused = field(&pairs, "refused") == "yes";
    match state.concord.person_change_sharing(&online.visitor, &chosen, refused, OffsetDateTime::now_utc()).await {
        Ok(_) => sharing_view(&state, &context, &online, true, String::new()).await,
        Err(AppError::Refused(_)) => Ok(Redirect::to("/prepare/verify?next=sharing").into_response()),
        Err(AppError::Invalid(message)) => {
            let message = message.split_once(": ").map_or(message.clone(), |(_, text)| text.to_owned());
            sharing_view(&state, &context, &online, false, capitalise(&message)).await
        }
        Err(error) => Err(error.into()),
    }
}

/// What the person's proxies may do, and (after the identity check) the choice.
pub(crate) async fn proxies_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    proxies_view(&state, &context, &online, false, String::new()).await
}

async fn proxies_view(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    saved: bool,
    error: String,
) -> Result<Response, PageError> {
    use concord_domain::online_access::ProxyScope;
    let proxies = state.concord.person_proxies(&online.visitor).await?;
    let layout = Layout::new(context, state.synthetic().await, None, "What people helping you can do");
    page(&PrepareProxiesTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        csrf_token: online.visitor.csrf_token.clone(),
        proxies: proxies
            .into_iter()
            .map(|(proxy, scopes)| {
                (
                    proxy.id.clone(),
                    format!("{} ({})", proxy.proxy_name, proxy.relationship),
                    ProxyScope::ALL
                        .into_iter()
                        .map(|scope| (scope.as_str(), scope.label(), scopes.contains(&scope)))
                        .collect(),
                )
            })
            .collect(),
        verified: online.visitor.verified(OffsetDateTime::now_utc()),
        saved,
        errors: field_errors(&error, "#scope-first"),
    })
}

pub(crate) async fn save_proxies(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    use concord_domain::online_access::ProxyScope;
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let scopes: Vec<ProxyScope> = pairs
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| ProxyScope::parse_list(value))
        .filter(|scope| ProxyScope::ALL.contains(scope))
        .collect();
    match state
        .concord
        .person_set_proxy_scope(&online.visitor, &field(&pairs, "proxy"), &scopes, OffsetDateTime::now_utc())
        .await
    {
        Ok(()) => proxies_view(&state, &context, &online, true, String::new()).await,
        Err(AppError::Refused(_)) => Ok(Redirect::to("/prepare/verify?next=proxies").into_response()),
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct VerifyQuery {
    #[serde(default)]
    next: String,
}

fn verify_next(next: &str) -> &'static str {
    if next == "proxies" { "proxies" } else { "sharing" }
}

/// The stronger identity check: send a code, then type it.
pub(crate) async fn verify_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::extract::Query(query): axum::extract::Query<VerifyQuery>,
) -> Result<Response, PageError> {
    verify_view(&state, &context, &online, verify_next(&query.next), false, String::new()).await
}

async fn verify_view(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    next: &str,
    sent: bool,
    error: String,
) -> Result<Response, PageError> {
    let choices = state.concord.person_sharing(&online.visitor).await?;
    let layout = Layout::new(context, state.synthetic().await, None, "Confirm it is you");
    page(&PrepareVerifyTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        csrf_token: online.visitor.csrf_token.clone(),
        next: next.to_owned(),
        channel: choices.step_up_channel.unwrap_or_default(),
        sent,
        errors: field_errors(&error, "#code"),
        error,
    })
}

pub(crate) async fn send_verify_code(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let next = verify_next(&field(&pairs, "next"));
    state.concord.person_start_step_up(&online.visitor, &online.token, OffsetDateTime::now_utc()).await?;
    verify_view(&state, &context, &online, next, true, String::new()).await
}

pub(crate) async fn check_verify_code(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let next = verify_next(&field(&pairs, "next"));
    match state
        .concord
        .person_check_step_up(&online.visitor, &online.token, &field(&pairs, "code"), OffsetDateTime::now_utc())
        .await?
    {
        concord_store::StepUpCheck::Verified => Ok(Redirect::to(&format!("/prepare/{next}")).into_response()),
        concord_store::StepUpCheck::Wrong(left) if left > 0 => {
            let error = format!(
                "The code is not right. Check it and try again ({left} {} left).",
                if left == 1 { "try" } else { "tries" }
            );
            verify_view(&state, &context, &online, next, true, error).await
        }
        _ => {
            let error = "That code no longer works. Send a new code.".to_owned();
            verify_view(&state, &context, &online, next, false, error).await
        }
    }
}

pub(crate) async fn plan_pdf(
    State(state): State<AppState>,
    online: Online,
    axum::extract::Query(query): axum::extract::Query<PrintQuery>,
) -> Result<Response, PageError> {
    let pdf = state
        .concord
        .online_plan_pdf(&online.visitor, query.format == "large_print", OffsetDateTime::now_utc())
        .await?;
    Ok(super::pdf_response(pdf, "my-care-and-support-plan.pdf", false))
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PrintQuery {
    #[serde(default)]
    format: String,
}

pub(crate) async fn letter_pdf(State(state): State<AppState>, online: Online) -> Result<Response, PageError> {
    let pdf = state.concord.online_letter_pdf(&online.visitor).await?;
    Ok(super::pdf_response(pdf, "your-preparation-letter.pdf", false))
}

pub(crate) async fn agenda_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    let answers = state.concord.online_answers(&online.visitor, OffsetDateTime::now_utc()).await?;
    agenda_form(&state, &context, &online, &answers, &[], None).await
}

pub(crate) async fn save_agenda(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let answers: BTreeMap<String, String> =
        pairs.iter().filter(|(key, _)| key != "csrf_token").map(|(key, value)| (key.clone(), value.clone())).collect();
    match state.concord.save_online_agenda(&online.visitor, &answers, OffsetDateTime::now_utc()).await? {
        Ok(_) => {
            agenda_form(
                &state,
                &context,
                &online,
                &answers,
                &[],
                Some("Thank you. Your answers are saved and will be read before your appointment.".into()),
            )
            .await
        }
        Err(errors) => agenda_form(&state, &context, &online, &answers, &errors, None).await,
    }
}

async fn agenda_form(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    answers: &BTreeMap<String, String>,
    errors: &[(String, String)],
    done: Option<String>,
) -> Result<Response, PageError> {
    let error_for =
        |name: &str| errors.iter().find(|(key, _)| key == name).map(|(_, message)| message.clone()).unwrap_or_default();
    let layout = Layout::new(context, state.synthetic().await, None, "What you would like to talk about")
        .with_errors(!errors.is_empty());
    page(&PrepareAgendaTemplate {
        layout,
        csrf_token: online.visitor.csrf_token.clone(),
        signed_in_as: online.visitor.written_by.clone(),
        for_someone: online.visitor.proxy.is_some(),
        given_name: online.visitor.given_name.clone(),
        prompts: AGENDA_PROMPTS
            .iter()
            .map(|(id, prompt)| AgendaFieldView {
                id: id.replace('_', "-"),
                name: (*id).to_owned(),
                label: (*prompt).to_owned(),
                value: answers.get(*id).cloned().unwrap_or_default(),
                error: error_for(id),
            })
            .collect(),
        areas: NEEDS_AREAS
            .iter()
            .map(|(id, name, question)| {
                let key = format!("needs_{id}");
                NeedsAreaView {
                    id: key.replace('_', "-"),
                    name: key.clone(),
                    legend: (*name).to_owned(),
                    hint: (*question).to_owned(),
                    choices: NEEDS_ANSWERS
                        .iter()
                        .enumerate()
                        .map(|(index, (value, label))| {
                            let element = if index == 0 {
                                key.replace('_', "-")
                            } else {
                                format!("{}-{}", key.replace('_', "-"), value.replace('_', "-"))
                            };
                            (
                                element,
                                (*value).to_owned(),
                                (*label).to_owned(),
                                answers.get(&key).is_some_and(|chosen| chosen == value),
                            )
                        })
                        .collect(),
                    error: error_for(&key),
                }
            })
            .collect(),
        note: answers.get("needs_note").cloned().unwrap_or_default(),
        note_error: error_for("needs_note"),
        not_watched: NOT_WATCHED.iter().map(|line| (*line).to_owned()).collect(),
        errors: errors
            .iter()
            .map(|(key, message)| FieldError { href: format!("#{}", key.replace('_', "-")), text: message.clone() })
            .collect(),
        done,
    })
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    state.concord.person_sign_out(&online.token, &online.visitor).await?;
    let mut response = Redirect::to("/prepare").into_response();
    if let Ok(value) = clear_cookie(&state, PERSON_COOKIE).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The person's check-in: how each goal is going, and whether they would like help.
pub(crate) async fn check_in_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    check_in_view(&state, &context, &online, None, vec![]).await
}

async fn check_in_view(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    thanks: Option<String>,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let goals = match (&thanks, state.concord.online_check_in(&online.visitor).await?) {
        (None, Some((_, goals))) => goals.into_iter().enumerate().collect(),
        _ => vec![],
    };
    let layout =
        Layout::new(context, state.synthetic().await, None, "How is your plan going?").with_errors(!errors.is_empty());
    page(&crate::templates::PrepareCheckInTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        csrf_token: online.visitor.csrf_token.clone(),
        not_watched: concord_app::check_ins::NOT_WATCHED,
        goals,
        choices: concord_domain::online_access::GOAL_PROGRESS.iter().map(|(code, label, _)| (*code, *label)).collect(),
        thanks,
        errors,
    })
}

pub(crate) async fn answer_check_in(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let Some((_, goals)) = state.concord.online_check_in(&online.visitor).await? else {
        return check_in_view(&state, &context, &online, None, vec![]).await;
    };
    let answers = concord_app::check_ins::CheckInAnswers {
        statuses: (0..goals.len()).map(|index| field(&pairs, &format!("goal-{index}"))).collect(),
        help: field(&pairs, "help") == "yes",
        note: field(&pairs, "note"),
    };
    match state.concord.answer_online_check_in(&online.visitor, &answers, OffsetDateTime::now_utc()).await {
        Ok(follow_up) => {
            let thanks = match follow_up {
                Some(by) => format!(
                    "Someone from the practice will contact you by {}. If you need help before then, call 111.",
                    crate::views::stored_time(&by)
                ),
                None => "Your answers are with the practice.".to_owned(),
            };
            check_in_view(&state, &context, &online, Some(thanks), vec![]).await
        }
        Err(AppError::Invalid(message)) => {
            let text = message.split_once(": ").map_or(message.clone(), |(_, text)| capitalise(text));
            check_in_view(&state, &context, &online, None, field_errors(&text, "#goal-0-going_well")).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The person's feedback survey.
pub(crate) async fn survey_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    survey_view(&state, &context, &online, false, vec![]).await
}

async fn survey_view(
    state: &AppState,
    context: &RequestContext,
    online: &Online,
    thanks: bool,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    use concord_domain::survey::{OCCASIONS, QUESTIONS};
    let due = state.concord.survey_due(&online.visitor, OffsetDateTime::now_utc()).await?;
    let occasion = due.and_then(|due| OCCASIONS.iter().find(|(code, _)| *code == due)).map_or("", |(_, words)| *words);
    let layout =
        Layout::new(context, state.synthetic().await, None, "Tell us how we are doing").with_errors(!errors.is_empty());
    page(&crate::templates::PrepareSurveyTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        csrf_token: online.visitor.csrf_token.clone(),
        occasion,
        questions: QUESTIONS.iter().map(|question| (question.id, question.text, question.choices.to_vec())).collect(),
        thanks,
        errors,
    })
}

pub(crate) async fn answer_survey(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if !token_ok(&online, &pairs) {
        return Err(PageError::Csrf);
    }
    let answers: Vec<(String, String)> = concord_domain::survey::QUESTIONS
        .iter()
        .map(|question| (question.id.to_owned(), field(&pairs, question.id)))
        .collect();
    match state.concord.answer_survey(&online.visitor, &answers, OffsetDateTime::now_utc()).await? {
        Ok(()) => survey_view(&state, &context, &online, true, vec![]).await,
        Err(problems) => {
            let errors = problems
                .into_iter()
                .map(|(question, text)| {
                    let first = concord_domain::survey::QUESTIONS
                        .iter()
                        .find(|known| known.id == question)
                        .and_then(|known| known.choices.first())
                        .map_or(String::new(), |(code, _)| (*code).to_owned());
                    FieldError { href: format!("#{question}-{first}"), text }
                })
                .collect();
            survey_view(&state, &context, &online, false, errors).await
        }
    }
}
