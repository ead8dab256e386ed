//! The outcomes dashboard (`/outcomes`): the commissioner's measures per practice, network or
//! region, suppressed as published, with the monthly trend of plans agreed and a CSV download.
//! Aggregates only: no name, NHS number or record link ever appears here.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use concord_app::cycle::Caller;
use concord_domain::document::{Block, Chart, Document, long_date};
use concord_domain::outcomes::{REGRESSION_NOTE, SMALL_NUMBER, SUPPRESSION_RULE};
use time::OffsetDateTime;

use crate::document::document_view;
use crate::error::PageError;
use crate::security::RequestContext;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::templates::{Layout, OutcomeRowView, OutcomesTemplate, page};

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LevelQuery {
    #[serde(default)]
    level: String,
}

const LEVELS: [(&str, &str); 3] = [("region", "Region"), ("pcn", "Primary care networks"), ("practice", "Practices")];

fn level_of(query: &LevelQuery) -> &'static str {
    LEVELS.iter().find(|(value, _)| *value == query.level).map_or("region", |(value, _)| value)
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

pub(crate) async fn outcomes(
    State(state): State<AppState>,
    Extension(context): Extension<RequestContext>,
    signed_in: SignedIn,
    Query(query): Query<LevelQuery>,
) -> Result<Response, PageError> {
    let level = level_of(&query);
    let now = OffsetDateTime::now_utc();
    let caller = Caller::Staff(&signed_in.staff);
    let units = state.concord.outcomes(caller, level, now.date(), now).await?;
    let rows = concord_app::outcomes::publish(&units);
    let months = state.concord.plans_agreed_by_month(caller, now.date(), 12).await?;
    // Small monthly counts are hidden like any other.
    let shown: Vec<_> = months.iter().filter(|(_, count)| *count == 0 || *count >= SMALL_NUMBER).copied().collect();
    let words: Vec<String> = months
        .iter()
        .map(|(month, count)| {
            let label =
                long_date(*month).split_once(' ').map_or_else(|| long_date(*month), |(_, rest)| rest.to_owned());
            if *count > 0 && *count < SMALL_NUMBER {
                format!("{label}: fewer than 5")
            } else {
                format!("{label}: {count}")
            }
        })
        .collect();
    let trend = Document {
        title: "Care plans agreed each month".into(),
        language: "en-GB",
        blocks: vec![Block::Chart(Chart {
            alt: format!("Care plans first agreed each month, the last 12 months. {}.", words.join("; ")),
            unit: "plans".into(),
            points: shown.iter().map(|(month, count)| (*month, *count as f64)).collect(),
            target: None,
            target_label: String::new(),
        })],
    };
    let layout = Layout::new(&context, state.synthetic().await, Some(&signed_in), "Outcomes").current("/outcomes");
    page(&OutcomesTemplate {
        layout,
        level: level.to_owned(),
        levels: LEVELS.iter().map(|(value, label)| (*value, *label, *value == level)).collect(),
        caption: format!(
            "Outcomes by {}, as at {}",
            LEVELS.iter().find(|(value, _)| *value == level).map_or("", |(_, label)| label).to_lowercase(),
            long_date(now.date())
        ),
        rows: rows
            .iter()
            .map(|row| {
                let unscheduled = &row["unscheduled_visits_per_patient_year"];
                OutcomeRowView {
                    name: row["name"].as_str().unwrap_or_default().to_owned(),
                    ods_code: row["ods_code"].as_str().unwrap_or_default().to_owned(),
                    eligible: row["eligible"].as_i64().map_or_else(|| HIDDEN.to_owned(), |count| count.to_string()),
                    shared: cell(&row["care_plans_shared_with_patient"], "count", ""),
                    completeness: cell(&row["care_process_completeness"], "done", "people"),
                    unscheduled: if unscheduled["suppressed"] == true {
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
                    supported: cell(&row["feel_supported"], "yes", "answered"),
                }
            })
            .collect(),
        suppression_rule: SUPPRESSION_RULE,
        regression_note: REGRESSION_NOTE,
        trend: document_view(&trend, 2),
    })
}

/// The same figures as CSV (suppressed cells say so).
pub(crate) async fn outcomes_csv(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<LevelQuery>,
) -> Result<Response, PageError> {
    let level = level_of(&query);
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
