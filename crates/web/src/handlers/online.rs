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
    AgendaFieldView, FieldError, Layout, NeedsAreaView, PrepareAccessTemplate, PrepareAgendaTemplate,
    PrepareLetterTemplate, PreparePlanTemplate, PrepareSignInTemplate, page, render,
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
    let preparation = state.concord.online_preparation(&online.visitor, OffsetDateTime::now_utc()).await?;
    let layout = Layout::new(&context, state.synthetic().await, None, "Your results and your appointment");
    page(&PrepareLetterTemplate {
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

/// The person's own plan (the newest version), online.
pub(crate) async fn plan_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    online: Online,
) -> Result<Response, PageError> {
    let plan = state.concord.online_plan(&online.visitor, OffsetDateTime::now_utc()).await?;
    let layout = Layout::new(&context, state.synthetic().await, None, "Your care and support plan");
    page(&PreparePlanTemplate {
        layout,
        signed_in_as: online.visitor.written_by.clone(),
        document: plan.as_ref().map(|(document, _)| document_view(document, 0)),
        version: plan
            .as_ref()
            .map(|(_, view)| format!("Version {} ({})", view.version, view.status))
            .unwrap_or_default(),
    })
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
    let preparation = state.concord.online_preparation(&online.visitor, OffsetDateTime::now_utc()).await?;
    agenda_form(&state, &context, &online, &preparation.answers, &[], None).await
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
