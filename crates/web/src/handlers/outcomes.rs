//! The outcomes dashboard (`/outcomes`): the commissioner's measures per practice, network or
//! region (outcomes, red flags' time to action, goal attainment), and the facilitator's view of
//! progress through the cycle and the local commissioned service's paid activity; suppressed as
//! published, with monthly trends as charts and a CSV download.
//! Aggregates only: no name, NHS number or record link ever appears here.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use concord_app::cycle::Caller;
use concord_app::outcomes::{CYCLE_STEPS, TRENDS};
use concord_domain::access::StaffRole;
use concord_domain::document::{Block, Chart, Document, long_date};
use concord_domain::outcomes::{REGRESSION_NOTE, SUPPRESSION_RULE};
use time::OffsetDateTime;

use crate::document::document_view;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::templates::{Layout, OutcomesTemplate, TableRowView, TableView, page};

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LevelQuery {
    #[serde(default)]
    level: String,
    #[serde(default)]
    view: String,
}

const LEVELS: [(&str, &str); 3] = [("region", "Region"), ("pcn", "Primary care networks"), ("practice", "Practices")];
/// The dashboard's two views: the commissioner's outcomes, and the facilitator's view of each
/// unit's progress through the cycle and the paid activity.
const VIEWS: [(&str, &str); 2] = [("outcomes", "Outcomes"), ("cycle", "Progress through the cycle")];

fn level_of(query: &LevelQuery, role: StaffRole) -> &'static str {
    // A facilitator works practice by practice; everyone else starts with the region.
    let default = if role == StaffRole::Facilitator { "practice" } else { "region" };
    LEVELS.iter().find(|(value, _)| *value == query.level).map_or(default, |(value, _)| value)
}

fn view_of(query: &LevelQuery, role: StaffRole) -> &'static str {
    let default = if role == StaffRole::Facilitator { "cycle" } else { "outcomes" };
    VIEWS.iter().find(|(value, _)| *value == query.view).map_or(default, |(value, _)| value)
}

const HIDDEN: &str = "hidden (fewer than 5)";

fn percent(value: &serde_json::Value) -> Option<String> {
    value.as_f64().map(|rate| format!("{:.0}%", rate * 100.0))
}

fn cell(figure: &serde_json::Value, count: &str, of: &str) -> String {
    if figure["suppressed"] == true {
        return HIDDEN.into();
    }
    match (figure[count].as_i64(), percent(&figure["rate"]), of) {
        (Some(count), Some(rate), "") => format!("{count} ({rate})"),
        (Some(count), Some(rate), of) => match figure[of].as_i64() {
            Some(total) => format!("{count} of {total} ({rate})"),
            None => format!("{count} ({rate})"),
        },
        (Some(count), None, _) => count.to_string(),
        _ => "no data".into(),
    }
}

/// A count shown alone: the number, or that it is hidden.
fn count(value: &serde_json::Value) -> String {
    value.as_i64().map_or_else(|| HIDDEN.to_owned(), |count| count.to_string())
}

/// The label of a `YYYY-MM` month ("March 2026"), and its first day.
fn month_of(key: &str) -> Option<(String, time::Date)> {
    let (year, month) = key.split_once('-')?;
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    let first = time::Date::from_calendar_date(year.parse().ok()?, month, 1).ok()?;
    Some((format!("{month} {year}"), first))
}

/// A monthly trend as a chart with its text alternative; hidden months are left out of the line
/// and said to be hidden in the words.
fn trend_chart(title: &str, months: &serde_json::Value) -> Document {
    let mut points = Vec::new();
    let mut words = Vec::new();
    for (key, value) in months.as_object().into_iter().flatten() {
        let Some((label, first)) = month_of(key) else { continue };
        match value.as_i64() {
            Some(count) => {
                points.push((first, count as f64));
                words.push(format!("{label}: {count}"));
            }
            None => words.push(format!("{label}: hidden (fewer than 5, or would reveal one)")),
        }
    }
    Document {
        title: title.to_owned(),
        language: "en-GB",
        blocks: vec![Block::Chart(Chart {
            alt: format!("{title}, each month for the last 12 months. {}.", words.join("; ")),
            unit: "people".into(),
            points,
            target: None,
            target_label: String::new(),
        })],
    }
}

fn unit_heading(row: &serde_json::Value) -> (String, String) {
    (row["name"].as_str().unwrap_or_default().to_owned(), row["ods_code"].as_str().unwrap_or_default().to_owned())
}

pub(crate) async fn outcomes(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Query(query): Query<LevelQuery>,
) -> Result<Response, PageError> {
    let role = signed_in.staff.role;
    let (level, view) = (level_of(&query, role), view_of(&query, role));
    let now = OffsetDateTime::now_utc();
    let caller = Caller::Staff(&signed_in.staff);
    let units = state.concord.outcomes(caller, level, now.date(), now).await?;
    let rows = concord_app::outcomes::publish(&units);
    let level_label = LEVELS.iter().find(|(value, _)| *value == level).map_or("", |(_, label)| label).to_lowercase();
    let as_at = long_date(now.date());
    let mut tables = Vec::new();
    let table = |caption: String, headers: &[&str], cells: &dyn Fn(&serde_json::Value) -> Vec<String>| TableView {
        caption,
        headers: headers.iter().map(|header| (*header).to_owned()).collect(),
        rows: rows
            .iter()
            .map(|row| {
                let (name, code) = unit_heading(row);
                TableRowView { name, code, cells: cells(row) }
            })
            .collect(),
    };
    if view == "outcomes" {
        tables.push(table(
            format!("Outcomes by {level_label}, as at {as_at}"),
            &[
                "Eligible",
                "Care plans shared with patients",
                "All eight diabetes care processes",
                "COPD review (MRC grade and exacerbations)",
                "Unscheduled GP visits per person-year, before and after care planning",
                "Feel supported",
            ],
            &|row| {
                let unscheduled = &row["unscheduled_visits_per_patient_year"];
                vec![
                    count(&row["eligible"]),
                    cell(&row["care_plans_shared_with_patient"], "count", ""),
                    cell(&row["care_process_completeness"], "done", "people"),
                    cell(&row["copd_review_completeness"], "done", "people"),
                    if unscheduled["suppressed"] == true {
                        HIDDEN.into()
                    } else {
                        let show = |value: &serde_json::Value| {
                            value.as_f64().map_or("no data".to_owned(), |rate| format!("{rate:.2}"))
                        };
                        format!(
                            "{} before, {} after ({} people)",
                            show(&unscheduled["before"]),
                            show(&unscheduled["after"]),
                            unscheduled["people"]
                        )
                    },
                    cell(&row["feel_supported"], "yes", "answered"),
                ]
            },
        ));
        tables.push(table(
            format!("Red flags raised in the last 12 months: time from the result to the action, by {level_label}"),
            &[
                "Actioned",
                "Median time to action",
                "Urgent, actioned within 24 hours",
                "Soon, actioned within 14 days",
                "Still open",
            ],
            &|row| {
                let flags = &row["red_flag_time_to_action"];
                vec![
                    count(&flags["actioned"]),
                    if flags["suppressed"] == true {
                        HIDDEN.into()
                    } else {
                        flags["median"].as_str().unwrap_or("none actioned").to_owned()
                    },
                    cell(&flags["urgent_within_24_hours"], "within", "actioned"),
                    cell(&flags["soon_within_14_days"], "within", "actioned"),
                    count(&flags["open"]),
                ]
            },
        ));
        tables.push(table(
            format!("Goals in agreed care and support plans, by {level_label}"),
            &["Goals", "With progress recorded", "Attained"],
            &|row| {
                let goals = &row["goal_attainment"];
                vec![count(&goals["goals"]), count(&goals["with_progress"]), cell(goals, "attained", "with_progress")]
            },
        ));
    } else {
        let steps: Vec<&str> = CYCLE_STEPS.iter().map(|(_, words)| *words).collect();
        let mut headers = vec!["Eligible"];
        headers.extend(steps.iter().copied());
        tables.push(table(
            format!("People through this year's cycle by {level_label}, as at {as_at} (share of those eligible)"),
            &headers,
            &|row| {
                let mut cells = vec![count(&row["eligible"])];
                cells.extend(CYCLE_STEPS.iter().map(|(event, _)| cell(&row["cycle"][*event], "people", "")));
                cells
            },
        ));
        let activities = concord_app::outcomes::lcs_activities();
        let year_start = long_date(concord_domain::outcomes::financial_year_start(now.date()));
        let terms: Vec<&str> = activities.iter().map(|(_, term)| term.as_str()).collect();
        tables.push(table(
            format!("Local commissioned service activity since {year_start}, by {level_label}"),
            &terms,
            &|row| activities.iter().map(|(activity, _)| count(&row["lcs_activity"][activity]["count"])).collect(),
        ));
    }
    // The trends for everything shown (the units added up), suppressed as their own unit.
    let mut total = concord_app::outcomes::OutcomeCounts::default();
    for unit in &units {
        total.add(&unit.counts);
    }
    let totals = concord_app::outcomes::publish(&[concord_app::outcomes::OutcomeUnit {
        level: "total".into(),
        ods_code: String::new(),
        name: "All".into(),
        group: None,
        counts: total,
    }]);
    let trends = TRENDS
        .iter()
        .map(|(series, title)| document_view(&trend_chart(title, &totals[0]["monthly"][*series]), 3))
        .collect();
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Outcomes").current("/outcomes");
    page(&OutcomesTemplate {
        layout,
        level: level.to_owned(),
        view: view.to_owned(),
        levels: LEVELS.iter().map(|(value, label)| (*value, *label, *value == level)).collect(),
        views: VIEWS.iter().map(|(value, label)| (*value, *label, *value == view)).collect(),
        tables,
        suppression_rule: SUPPRESSION_RULE,
        regression_note: REGRESSION_NOTE,
        trends,
    })
}

/// The same figures as CSV (suppressed cells say so).
pub(crate) async fn outcomes_csv(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<LevelQuery>,
) -> Result<Response, PageError> {
    let level = level_of(&query, signed_in.staff.role);
    let now = OffsetDateTime::now_utc();
    let units = state.concord.outcomes(Caller::Staff(&signed_in.staff), level, now.date(), now).await?;
    let csv = concord_app::outcomes::csv(&concord_app::outcomes::publish(&units));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"concord-outcomes-{level}.csv\"")),
        ],
        csv,
    )
        .into_response())
}
