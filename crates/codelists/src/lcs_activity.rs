//! The activity a local commissioned service pays practices on, each evidenced by a Year of Care
//! cycle event (`data/lcs-activity.csv`). Refusals name the file and line.

use std::sync::OnceLock;

use crate::CatalogueError;
use crate::load::{invalid, metadata, records, required_text};

pub const LCS_ACTIVITY_FILE: &str = "data/lcs-activity.csv";

/// The cycle events an activity may be evidenced by (`CycleEvent::as_str`).
const CYCLE_EVENTS: [&str; 14] = [
    "invite",
    "book_information_gathering",
    "record_tests_done",
    "review_results",
    "send_preparation",
    "book_conversation",
    "agree_plan",
    "review_falls_due",
    "decline",
    "did_not_attend",
    "personalised_care_adjustment",
    "move_away",
    "die",
    "reinstate",
];

/// One paid activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcsActivity {
    pub activity: String,
    pub event: String,
    pub term: String,
    pub source: String,
}

/// The activities compiled into this build.
pub fn lcs_activities() -> Result<&'static [LcsActivity], &'static CatalogueError> {
    static SHARED: OnceLock<Result<Vec<LcsActivity>, CatalogueError>> = OnceLock::new();
    SHARED
        .get_or_init(|| load_lcs_activities(include_str!("../../../data/lcs-activity.csv")))
        .as_ref()
        .map(Vec::as_slice)
}

pub fn load_lcs_activities(text: &str) -> Result<Vec<LcsActivity>, CatalogueError> {
    let file = LCS_ACTIVITY_FILE;
    let meta = metadata(file, text)?;
    for key in ["version", "source"] {
        if meta.get(key).is_none_or(|(value, _)| value.is_empty()) {
            return Err(invalid(file, 1, format!("missing `# {key}:` line")));
        }
    }
    let table = records(file, text, &["activity", "event", "term", "source"], &[])?;
    let mut activities: Vec<LcsActivity> = Vec::new();
    for (line, record) in &table.rows {
        let line = *line;
        let activity = required_text(file, line, record, 0, "activity")?;
        if activities.iter().any(|known| known.activity == activity) {
            return Err(invalid(file, line, format!("activity `{activity}` is listed twice")));
        }
        let event = required_text(file, line, record, 1, "event")?;
        if !CYCLE_EVENTS.contains(&event) {
            return Err(invalid(file, line, format!("`{event}` is not a cycle event ({})", CYCLE_EVENTS.join(", "))));
        }
        activities.push(LcsActivity {
            activity: activity.to_owned(),
            event: event.to_owned(),
            term: required_text(file, line, record, 2, "term")?.to_owned(),
            source: required_text(file, line, record, 3, "source")?.to_owned(),
        });
    }
    Ok(activities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_activities_load_and_unknown_events_are_refused_by_line() {
        let shipped = lcs_activities().unwrap();
        assert!(shipped.iter().any(|activity| activity.event == "agree_plan"));
        let head = "# version: 1\n# source: t\nactivity,event,term,source\n";
        let bad = load_lcs_activities(&format!("{head}paid,agreed_plan,T,S\n")).unwrap_err().to_string();
        assert!(bad.contains(LCS_ACTIVITY_FILE) && bad.contains("agreed_plan"), "{bad}");
        let twice = load_lcs_activities(&format!("{head}paid,agree_plan,T,S\npaid,decline,T,S\n")).unwrap_err();
        assert!(twice.to_string().contains("listed twice"));
    }
}
