//! Plans from other services linked into the person's overarching plan (seed 004: a
//! physiotherapy self-care plan, a weight-management plan, a mental health or end-of-life plan
//! feed into one plan). Concord keeps each as the other service wrote it, says whose it is, and
//! shows it after the person's own goals.
//!
//! Invariants: a linked plan names its service and has a title and something to read; its kind is
//! one of [`KINDS`]; text is bounded.

/// The kinds of plan from other services, with how they are named to people.
pub const KINDS: [(&str, &str); 6] = [
    ("physiotherapy", "Physiotherapy self-care plan"),
    ("weight_management", "Weight management plan"),
    ("mental_health", "Mental health plan"),
    ("end_of_life", "End of life care plan"),
    ("social_care", "Social care support plan"),
    ("other", "Plan from another service"),
];

/// The longest text kept in any field.
pub const LONGEST: usize = 4000;

/// A plan from another service, as Concord keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkedPlan {
    /// The service that wrote it ("Riverside Community Physiotherapy").
    pub service: String,
    /// Its ODS code, when it came from a registered organisation's system.
    pub organisation: Option<String>,
    /// One of [`KINDS`].
    pub kind: String,
    pub title: String,
    /// What the plan says: goals, what to do, who to contact.
    pub summary: String,
    /// `active`, `completed` or `revoked`.
    pub status: String,
    /// YYYY-MM-DD.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
}

impl LinkedPlan {
    /// Everything wrong with it, field by field.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, text: &str| problems.push((field.to_owned(), text.to_owned()));
        if self.service.trim().is_empty() {
            problem("service", "Say which service wrote the plan");
        }
        if self.title.trim().is_empty() {
            problem("title", "Give the plan a title");
        }
        if self.summary.trim().is_empty() {
            problem("summary", "Write what the plan says: the goals, what to do and who to contact");
        }
        if !KINDS.iter().any(|(kind, _)| *kind == self.kind) {
            problem("kind", "Choose what kind of plan it is");
        }
        if !matches!(self.status.as_str(), "active" | "completed" | "revoked") {
            problem("status", "The status must be active, completed or revoked");
        }
        for (field, value) in [("service", &self.service), ("title", &self.title), ("summary", &self.summary)] {
            if value.chars().count() > LONGEST {
                problem(field, "This is too long: keep it under 4,000 characters");
            }
        }
        for (field, value) in [("period_start", &self.period_start), ("period_end", &self.period_end)] {
            if let Some(date) = value
                && time::Date::parse(date, &time::format_description::well_known::Iso8601::DATE).is_err()
            {
                problem(field, "Give the date as YYYY-MM-DD");
            }
        }
        problems
    }

    /// How the kind is named to people.
    pub fn kind_words(&self) -> &'static str {
        KINDS.iter().find(|(kind, _)| *kind == self.kind).map_or("Plan from another service", |(_, words)| words)
    }
}

/// The kind of a plan from its category or title words (FHIR CarePlans from other systems carry
/// free-text categories more often than codes).
pub fn kind_from_words(words: &str) -> &'static str {
    let words = words.to_lowercase();
    if words.contains("physio") || words.contains("musculoskeletal") {
        "physiotherapy"
    } else if words.contains("weight") || words.contains("obesity") {
        "weight_management"
    } else if words.contains("mental") || words.contains("psych") || words.contains("crisis") {
        "mental_health"
    } else if words.contains("end of life") || words.contains("end-of-life") || words.contains("palliative") {
        "end_of_life"
    } else if words.contains("social care") || words.contains("support plan") {
        "social_care"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physio() -> LinkedPlan {
        LinkedPlan {
            service: "Riverside Community Physiotherapy".into(),
            organisation: Some("NZZ01".into()),
            kind: "physiotherapy".into(),
            title: "Knee exercises".into(),
            summary: "Goal: climb the stairs at home. Exercises twice a day.".into(),
            status: "active".into(),
            period_start: Some("2026-11-01".into()),
            period_end: None,
        }
    }

    #[test]
    fn a_linked_plan_needs_its_service_title_and_words() {
        assert!(physio().problems().is_empty());
        let empty = LinkedPlan { status: "active".into(), kind: "nonsense".into(), ..Default::default() };
        let fields: Vec<String> = empty.problems().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["service", "title", "summary", "kind"]);
        let bad_date = LinkedPlan { period_end: Some("next week".into()), ..physio() };
        assert_eq!(bad_date.problems()[0].0, "period_end");
    }

    #[test]
    fn kinds_are_read_from_words() {
        assert_eq!(kind_from_words("Community Physiotherapy self-management"), "physiotherapy");
        assert_eq!(kind_from_words("Tier 3 weight management"), "weight_management");
        assert_eq!(kind_from_words("Palliative care"), "end_of_life");
        assert_eq!(kind_from_words("Crisis plan"), "mental_health");
        assert_eq!(kind_from_words("Falls clinic"), "other");
        assert_eq!(physio().kind_words(), "Physiotherapy self-care plan");
    }
}
