//! Finding a patient and opening their summary. Searches are POSTed (terms never in a URL) and
//! results link through per-session opaque references; the application audits both.

use std::collections::{BTreeSet, HashMap};

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use concord_app::AppError;
use concord_app::record::{PatientSummary, SearchRequest};
use concord_domain::access::Permission;
use concord_domain::nhs_number::{NhsNumber, NhsNumberError};
use concord_domain::record::ConditionStatus;
use concord_store::PatientListing;
use serde::Deserialize;
use time::{Date, Month};

use crate::error::PageError;
use crate::handlers::today;
use crate::security::RequestContext;
use crate::session::{SessionForm, SignedIn};
use crate::state::AppState;
use crate::templates::{
    ConditionView, EncounterView, FieldError, Layout, ListingRow, MedicationView, PatientView, RecordTemplate,
    ResultView, ResultsView, SearchFormView, SearchTemplate, UnreadableView, page,
};
use crate::views;

/// The application returns at most this many matches.
const SEARCH_LIMIT: usize = 50;
/// Longest name searched for.
const MAX_NAME: usize = 100;
/// Encounters listed on the summary; the rest are counted.
const ENCOUNTERS_SHOWN: usize = 10;
/// Earlier values listed beside the latest result.
const EARLIER_SHOWN: usize = 3;

/// The search form. `query` is the home page's single box (a name or an NHS number).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchForm {
    #[serde(default)]
    query: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    nhs_number: String,
    #[serde(default, rename = "dob[day]")]
    day: String,
    #[serde(default, rename = "dob[month]")]
    month: String,
    #[serde(default, rename = "dob[year]")]
    year: String,
}

pub(crate) async fn search_page(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ViewPatientRecord)?;
    let layout =
        Layout::new(&context, state.synthetic().await, Some(&signed_in), "Find a patient").current("/patients");
    page(&SearchTemplate {
        layout,
        csrf_token: signed_in.csrf_token.clone(),
        form: SearchFormView::default(),
        errors: Vec::new(),
        results: None,
    })
}

pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    SessionForm(signed_in, form): SessionForm<SearchForm>,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ViewPatientRecord)?;
    let (mut view, request) = validate(form, today());
    let mut errors = view.errors();
    let mut results = None;
    if let Some(request) = request {
        match state.concord.search_patients(&signed_in.staff, &request, Some(context.request_id.clone())).await {
            Ok(found) => results = Some(results_view(&state, &signed_in, &found)),
            // The application's own validation, should it ever refuse what passed here.
            Err(AppError::Invalid(message)) => {
                view.name_error = message;
                errors = view.errors();
            }
            Err(error) => return Err(error.into()),
        }
    }
    let title = if errors.is_empty() { "Search results" } else { "Find a patient" };
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), title)
        .current("/patients")
        .with_errors(!errors.is_empty());
    page(&SearchTemplate { layout, csrf_token: signed_in.csrf_token.clone(), form: view, errors, results })
}

fn results_view(state: &AppState, signed_in: &SignedIn, found: &[PatientListing]) -> ResultsView {
    let rows = found
        .iter()
        .map(|listing| ListingRow {
            href: format!("/patients/record/{}", state.refs.reference(&signed_in.session_key, &listing.id)),
            name: views::clinical_name(&listing.family_name, &listing.given_name),
            nhs_number: listing.nhs_number.as_deref().map_or_else(|| "Not recorded".into(), views::nhs_number),
            birth_date: views::stored_date(&listing.birth_date),
            sex: views::sex(&listing.sex),
            postcode: listing.postcode.clone().unwrap_or_default(),
            deceased: listing.death_date.is_some(),
        })
        .collect();
    ResultsView { rows, truncated: found.len() >= SEARCH_LIMIT }
}

impl SearchFormView {
    /// The error summary, in the order of the fields.
    fn errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !self.name_error.is_empty() {
            errors.push(FieldError { href: "#name".into(), text: self.name_error.clone() });
        }
        if !self.nhs_number_error.is_empty() {
            errors.push(FieldError { href: "#nhs-number".into(), text: self.nhs_number_error.clone() });
        }
        if !self.date_error.is_empty() {
            let field = if self.day_error {
                "day"
            } else if self.month_error {
                "month"
            } else {
                "year"
            };
            errors.push(FieldError { href: format!("#dob-{field}"), text: self.date_error.clone() });
        }
        errors
    }
}

/// Checks the form the way a person would want it explained; returns the form as entered (with
/// any errors) and, when it is valid, the search to run.
fn validate(form: SearchForm, today: Date) -> (SearchFormView, Option<SearchRequest>) {
    let mut view = SearchFormView {
        name: form.name.trim().to_owned(),
        nhs_number: form.nhs_number.trim().to_owned(),
        day: form.day.trim().to_owned(),
        month: form.month.trim().to_owned(),
        year: form.year.trim().to_owned(),
        ..SearchFormView::default()
    };
    // The home page's single box: digits (with spaces or hyphens) are an NHS number, else a name.
    let query = form.query.trim();
    if !query.is_empty() {
        let looks_like_number = query.chars().any(|c| c.is_ascii_digit())
            && query.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
        if looks_like_number {
            view.nhs_number = query.to_owned();
        } else {
            view.name = query.to_owned();
        }
    }
    if view.name.chars().count() > MAX_NAME {
        view.name_error = format!("Name must be {MAX_NAME} characters or fewer");
    }
    if !view.nhs_number.is_empty()
        && let Err(error) = NhsNumber::parse(&view.nhs_number)
    {
        view.nhs_number_error = nhs_number_error(&error);
    }
    let birth_date = match birth_date(&view.day, &view.month, &view.year, today) {
        Ok(date) => date,
        Err(problem) => {
            view.date_error = problem.message;
            (view.day_error, view.month_error, view.year_error) = problem.fields;
            None
        }
    };
    let nothing_entered = view.name.is_empty()
        && view.nhs_number.is_empty()
        && view.day.is_empty()
        && view.month.is_empty()
        && view.year.is_empty();
    if nothing_entered {
        view.name_error = "Enter a name, NHS number or date of birth".into();
    }
    if !view.errors().is_empty() {
        return (view, None);
    }
    let request = SearchRequest { name: view.name.clone(), nhs_number: view.nhs_number.clone(), birth_date };
    (view, Some(request))
}

/// Why an NHS number was refused, in words a receptionist can act on.
fn nhs_number_error(error: &NhsNumberError) -> String {
    match error {
        NhsNumberError::WrongLength(digits) => format!("NHS number must be 10 digits (you entered {digits})"),
        NhsNumberError::NotDigits => "NHS number must only include numbers, with spaces or hyphens between groups".into(),
        NhsNumberError::CheckDigit => {
            "This is not a valid NHS number: the last digit (the check digit) does not match the others. Check each digit"
                .into()
        }
        NhsNumberError::NeverIssued => "This is not a valid NHS number: numbers like this are never issued".into(),
    }
}

struct DateProblem {
    message: String,
    /// Which of day, month and year to highlight.
    fields: (bool, bool, bool),
}

/// The three-field date of birth: all empty means "not given".
fn birth_date(day: &str, month: &str, year: &str, today: Date) -> Result<Option<Date>, DateProblem> {
    let missing = (day.is_empty(), month.is_empty(), year.is_empty());
    if missing == (true, true, true) {
        return Ok(None);
    }
    if missing.0 || missing.1 || missing.2 {
        let names: Vec<&str> = [(missing.0, "day"), (missing.1, "month"), (missing.2, "year")]
            .into_iter()
            .filter_map(|(is_missing, name)| is_missing.then_some(name))
            .collect();
        return Err(DateProblem {
            message: format!("Date of birth must include a {}", names.join(" and ")),
            fields: missing,
        });
    }
    if year.len() != 4 {
        return Err(DateProblem { message: "Year must include 4 numbers".into(), fields: (false, false, true) });
    }
    let real = || DateProblem { message: "Date of birth must be a real date".into(), fields: (true, true, true) };
    let (Ok(day), Ok(month), Ok(year)) = (day.parse::<u8>(), month.parse::<u8>(), year.parse::<i32>()) else {
        return Err(real());
    };
    let date = Month::try_from(month)
        .ok()
        .and_then(|month| Date::from_calendar_date(year, month, day).ok())
        .ok_or_else(real)?;
    if date > today {
        return Err(DateProblem {
            message: "Date of birth must be today or in the past".into(),
            fields: (true, true, true),
        });
    }
    Ok(Some(date))
}

/// A patient's summary, through a reference this session was given by a search. Another session's
/// reference, or a made-up one, is "page not found".
pub(crate) async fn record(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Response, PageError> {
    signed_in.staff.require(Permission::ViewPatientRecord)?;
    let patient_id = state.refs.resolve(&signed_in.session_key, &reference).ok_or(PageError::NotFound)?;
    let today = today();
    let summary =
        state.concord.patient_summary(&signed_in.staff, &patient_id, today, Some(context.request_id.clone())).await?;
    let organisations: HashMap<String, String> = state
        .concord
        .store
        .organisations()
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|(code, name, _, _)| (code, name))
        .collect();
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Patient summary");
    let mut template = record_view(layout, summary, &organisations, today);
    if signed_in.staff.require(Permission::ManageCycle).is_ok() {
        template.visit_href = Some(format!("/patients/record/{reference}/visit"));
        template.book_href = Some(format!("/patients/record/{reference}/book"));
    }
    template.review_href = Some(format!("/patients/record/{reference}/review"));
    template.preparation_href = Some(format!("/patients/record/{reference}/preparation"));
    template.conversation_href = Some(format!("/patients/record/{reference}/conversation"));
    if !state.concord.store.plan_versions(&patient_id).await.map_err(AppError::from)?.is_empty() {
        template.plan_href = Some(format!("/patients/record/{reference}/plan"));
    }
    page(&template)
}

fn record_view(
    layout: Layout,
    summary: PatientSummary,
    organisations: &HashMap<String, String>,
    today: Date,
) -> RecordTemplate {
    let person = &summary.patient.patient;
    let mut address = person.address.lines.clone();
    address.extend(person.address.city.clone());
    address.extend(person.address.postcode.clone());
    address.retain(|line| !line.trim().is_empty());
    let registration = person.registration.as_ref();
    let patient = PatientView {
        name: views::clinical_name(&person.name.family, &person.name.given),
        nhs_number: person.nhs_number.as_ref().map_or_else(|| "Not recorded".into(), ToString::to_string),
        nhs_number_status: person.nhs_number_verification.map(|status| status.display().to_owned()).unwrap_or_default(),
        birth_date: views::long_date(person.birth_date),
        age: views::age(person.birth_date, person.death_date.unwrap_or(today)),
        sex: views::sex(person.sex.as_str()),
        address,
        practice: registration.map_or_else(
            || "Not registered".into(),
            |registration| {
                let code = registration.practice.as_str();
                organisations.get(code).map_or_else(|| code.to_owned(), |name| format!("{name} ({code})"))
            },
        ),
        registered_from: registration
            .and_then(|registration| registration.start)
            .map(views::long_date)
            .unwrap_or_default(),
        registered_until: registration
            .and_then(|registration| registration.end)
            .map(views::long_date)
            .unwrap_or_default(),
        death_date: person.death_date.map(views::long_date).unwrap_or_default(),
        phone: person.contact.phone.clone().unwrap_or_default(),
        mobile: person.contact.mobile.clone().unwrap_or_default(),
        email: person.contact.email.clone().unwrap_or_default(),
        preferred_channel: person.contact.preferred_channel.map_or("Not recorded", views::contact_channel).to_owned(),
        language: person.communication.language.clone().unwrap_or_default(),
        interpreter_needed: person.communication.interpreter_needed,
        needs: person.communication.needs.iter().filter(|need| !need.trim().is_empty()).cloned().collect(),
    };
    let results = summary
        .results
        .iter()
        .filter_map(|series| {
            let latest = series.values.first()?;
            Some(ResultView {
                name: series.name.clone(),
                latest: views::result_value(latest),
                date: views::stored_date(&latest.effective),
                earlier: series
                    .values
                    .iter()
                    .skip(1)
                    .take(EARLIER_SHOWN)
                    .map(|row| format!("{} on {}", views::result_value(row), views::stored_date(&row.effective)))
                    .collect(),
                trend: views::trend(&series.values),
                sparkline: views::sparkline(&series.name, &series.values),
            })
        })
        .collect();
    let unreadable = summary
        .unreadable_results
        .iter()
        .map(|row| UnreadableView {
            term: row.term.clone(),
            date: views::stored_date(&row.effective),
            reason: row.unreadable_reason.clone().unwrap_or_else(|| "no reason was recorded".into()),
        })
        .collect();
    let condition = |row: &concord_store::ConditionRow| ConditionView {
        term: row.condition.concept.term.clone(),
        onset: row.condition.effective_date().map_or_else(|| "Not recorded".into(), views::long_date),
        resolved: row.condition.resolved.map_or_else(|| "Date not recorded".into(), views::long_date),
    };
    let active_conditions = summary
        .conditions
        .iter()
        .filter(|row| row.condition.status == ConditionStatus::Active)
        .map(condition)
        .collect();
    let resolved_conditions = summary
        .conditions
        .iter()
        .filter(|row| row.condition.status == ConditionStatus::Resolved)
        .map(condition)
        .collect();
    let as_at: BTreeSet<Date> =
        summary.medications.iter().filter_map(|row| views::parse_stored_date(&row.as_at)).collect();
    let medications_as_at = as_at.iter().rev().map(|date| views::long_date(*date)).collect::<Vec<_>>().join(" and ");
    let medications = summary
        .medications
        .iter()
        .map(|row| MedicationView {
            term: row.term.clone(),
            dosage: row.dosage.clone().unwrap_or_default(),
            status: views::medication_status(&row.status),
            authored: row.authored.as_deref().map(views::stored_date).unwrap_or_default(),
        })
        .collect();
    let encounters = summary
        .encounters
        .iter()
        .take(ENCOUNTERS_SHOWN)
        .map(|row| EncounterView {
            date: views::stored_date(&row.start_at),
            setting: views::encounter_setting(&row.setting),
            clinician: views::clinician(&row.clinician),
            status: views::encounter_status(&row.status),
            kind: row.kind.as_ref().map_or_else(|| "Not recorded".into(), |kind| kind.term.clone()),
        })
        .collect();
    RecordTemplate {
        layout,
        visit_href: None,
        review_href: None,
        preparation_href: None,
        conversation_href: None,
        plan_href: None,
        book_href: None,
        patient,
        registers: summary.registers.iter().map(|(_, name)| name.clone()).collect(),
        unreadable,
        results,
        active_conditions,
        resolved_conditions,
        medications,
        medications_as_at,
        encounters,
        more_encounters: summary.encounters.len().saturating_sub(ENCOUNTERS_SHOWN),
        sparkline_width: views::SPARKLINE_WIDTH,
        sparkline_height: views::SPARKLINE_HEIGHT,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 11 - 24);

    fn form(name: &str, nhs: &str, day: &str, month: &str, year: &str) -> SearchForm {
        SearchForm {
            query: String::new(),
            name: name.into(),
            nhs_number: nhs.into(),
            day: day.into(),
            month: month.into(),
            year: year.into(),
        }
    }

    #[test]
    fn nothing_entered_asks_for_something() {
        let (view, request) = validate(form("", " ", "", "", ""), TODAY);
        assert!(request.is_none());
        assert_eq!(
            view.errors(),
            [FieldError { href: "#name".into(), text: "Enter a name, NHS number or date of birth".into() }]
        );
    }

    #[test]
    fn malformed_nhs_numbers_say_why() {
        let (view, request) = validate(form("", "943 476 591", "", "", ""), TODAY);
        assert!(request.is_none());
        assert_eq!(view.nhs_number_error, "NHS number must be 10 digits (you entered 9)");
        let (view, _) = validate(form("", "943 476 5918", "", "", ""), TODAY);
        assert!(view.nhs_number_error.contains("check digit"), "{}", view.nhs_number_error);
        let (view, _) = validate(form("", "94347659A9", "", "", ""), TODAY);
        assert!(view.nhs_number_error.contains("only include numbers"));
        assert_eq!(view.errors()[0].href, "#nhs-number");
    }

    #[test]
    fn dates_of_birth_must_be_complete_real_and_past() {
        let (view, _) = validate(form("", "", "15", "", "1950"), TODAY);
        assert_eq!(view.date_error, "Date of birth must include a month");
        assert!(!view.day_error && view.month_error && !view.year_error);
        assert_eq!(view.errors()[0].href, "#dob-month");
        let (view, _) = validate(form("", "", "", "", "1950"), TODAY);
        assert_eq!(view.date_error, "Date of birth must include a day and month");
        let (view, _) = validate(form("", "", "31", "2", "1950"), TODAY);
        assert_eq!(view.date_error, "Date of birth must be a real date");
        let (view, _) = validate(form("", "", "1", "13", "1950"), TODAY);
        assert_eq!(view.date_error, "Date of birth must be a real date");
        let (view, _) = validate(form("", "", "1", "1", "50"), TODAY);
        assert_eq!(view.date_error, "Year must include 4 numbers");
        let (view, _) = validate(form("", "", "1", "1", "2030"), TODAY);
        assert_eq!(view.date_error, "Date of birth must be today or in the past");
        let (_, request) = validate(form("", "", "15", "03", "1950"), TODAY);
        assert_eq!(request.unwrap().birth_date, Some(date!(1950 - 03 - 15)));
    }

    #[test]
    fn the_quick_search_box_takes_a_number_or_a_name() {
        let quick = SearchForm { query: "943 476 5919".into(), ..SearchForm::default() };
        let (view, request) = validate(quick, TODAY);
        assert_eq!(view.nhs_number, "943 476 5919");
        assert_eq!(request.unwrap().nhs_number, "943 476 5919");
        let quick = SearchForm { query: "jones ann".into(), ..SearchForm::default() };
        let (_, request) = validate(quick, TODAY);
        assert_eq!(request.unwrap().name, "jones ann");
    }
}
