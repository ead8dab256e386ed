//! The person's care and support plan, as agreed in the care and support planning conversation,
//! in the sections of the PRSB Personalised Care and Support Plan standard (v2.0): about me, needs
//! and concerns, goals with importance, action plans with confidence, information and services,
//! treatments agreed, contingency plans, the lead coordinator, the review, agreement and consent to
//! share. `docs/plan-fhir-mapping.md` maps each part to FHIR R4.
//!
//! Invariants: a plan is validated before it is kept ([`CarePlan::problems`] names each field at
//! fault); every version is kept whole as entries ([`CarePlan::to_entries`] and
//! [`CarePlan::from_entries`] round-trip exactly); "what changed" compares two versions in words
//! ([`changes`]). No IO.

use time::Date;

/// The name the person prefers for their plan, or that they declined a written plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanName {
    #[default]
    CarePlan,
    HealthPlan,
    SelfManagementPlan,
    /// The person did not want a written plan (recorded; nothing is sent).
    Declined,
}

impl PlanName {
    pub const ALL: [PlanName; 4] =
        [PlanName::CarePlan, PlanName::HealthPlan, PlanName::SelfManagementPlan, PlanName::Declined];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanName::CarePlan => "care_plan",
            PlanName::HealthPlan => "health_plan",
            PlanName::SelfManagementPlan => "self_management_plan",
            PlanName::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|name| name.as_str() == text)
    }

    /// "care plan", as the person calls it.
    pub fn words(self) -> &'static str {
        match self {
            PlanName::CarePlan | PlanName::Declined => "care plan",
            PlanName::HealthPlan => "health plan",
            PlanName::SelfManagementPlan => "self-management plan",
        }
    }
}

/// Where the person is on their journey with their conditions (the conversation adapts to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Journey {
    NewlyDiagnosed,
    #[default]
    Established,
    ApproachingEndOfLife,
}

impl Journey {
    pub const ALL: [Journey; 3] = [Journey::NewlyDiagnosed, Journey::Established, Journey::ApproachingEndOfLife];

    pub fn as_str(self) -> &'static str {
        match self {
            Journey::NewlyDiagnosed => "newly_diagnosed",
            Journey::Established => "established",
            Journey::ApproachingEndOfLife => "approaching_end_of_life",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|journey| journey.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Journey::NewlyDiagnosed => "Newly diagnosed",
            Journey::Established => "Living with established conditions",
            Journey::ApproachingEndOfLife => "Approaching the end of life",
        }
    }
}

/// PRSB "About me" (all free text, in the person's words).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AboutMe {
    pub what_matters: String,
    pub important_people: String,
    pub communication: String,
    pub please_do_and_dont: String,
    pub how_to_support_me: String,
    pub also_worth_knowing: String,
}

/// A goal in the person's own words, with how important it is to them (1–10), and the actions
/// that will get them there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Goal {
    pub words: String,
    pub importance: u8,
    pub actions: Vec<Action>,
}

/// A SMART action plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Action {
    pub what: String,
    pub when: String,
    pub how_often: String,
    pub who_supports: String,
    pub barriers: String,
    /// How confident the person is to carry it out (1–10).
    pub confidence: u8,
}

/// A service or referral ("more than medicine").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// Id in the directory (`data/services.csv`), or empty for one written in.
    pub service: String,
    pub name: String,
    pub note: String,
}

/// What to do if things get worse (PRSB contingency/safety plan).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contingency {
    /// e.g. "COPD flare-up", "Low blood sugar (hypo)", "Being ill (sick day rules)".
    pub name: String,
    /// What sets it off (at least one).
    pub triggers: String,
    pub early_warning_signs: String,
    pub what_to_do: String,
    pub who_to_contact: String,
}

/// Consent to share the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sharing {
    /// ODS codes of organisations the person agrees may see the plan.
    pub organisations: Vec<String>,
    /// The person explicitly refused sharing (overrides care-team membership).
    pub refused: bool,
}

/// One version of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CarePlan {
    pub name: PlanName,
    pub journey: Journey,
    pub about_me: AboutMe,
    pub needs: Vec<String>,
    pub goals: Vec<Goal>,
    /// Information given ("information prescriptions").
    pub information: Vec<String>,
    /// Treatments and medication changes agreed (each becomes a task for a prescriber).
    pub treatments: Vec<String>,
    pub services: Vec<Service>,
    pub contingencies: Vec<Contingency>,
    pub lead_coordinator: String,
    /// The person's medication plan, in plain words.
    pub medication_plan: String,
    pub review_date: Option<Date>,
    pub review_by: String,
    /// Agreed with the person (or their legitimate representative): their name and role.
    pub agreed: bool,
    pub agreed_by: String,
    pub sharing: Sharing,
}

/// One stored field of a plan: section, item number within it, field, value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub section: &'static str,
    pub item: u32,
    pub field: &'static str,
    pub value: String,
}

/// An entry as read back (owned names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub section: String,
    pub item: u32,
    pub field: String,
    pub value: String,
}

/// Why a plan cannot be kept: the field (`section.item.field`) and what is wrong.
pub type Problem = (String, String);

const LONGEST: usize = 2000;

impl CarePlan {
    /// Everything wrong with the plan, field by field. A declined plan needs nothing else; an
    /// agreed plan needs at least one goal with an action, a review date after `today`, who
    /// reviews it and who agreed it.
    pub fn problems(&self, today: Date) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut problem = |field: String, text: &str| problems.push((field, text.to_owned()));
        for (field, value) in self.texts() {
            if value.chars().count() > LONGEST {
                problem(field, "Write 2,000 characters or fewer");
            }
        }
        for (index, goal) in self.goals.iter().enumerate() {
            if goal.words.trim().is_empty() {
                problem(format!("goal.{index}.words"), "Write the goal in the person's own words");
            }
            if !(1..=10).contains(&goal.importance) {
                problem(
                    format!("goal.{index}.importance"),
                    "Give how important the goal is to the person, from 1 to 10",
                );
            }
            for (number, action) in goal.actions.iter().enumerate() {
                if action.what.trim().is_empty() {
                    problem(format!("action.{index}.{number}.what"), "Say what the person will do");
                }
                if !(1..=10).contains(&action.confidence) {
                    problem(
                        format!("action.{index}.{number}.confidence"),
                        "Give how confident the person feels to do it, from 1 to 10",
                    );
                }
            }
        }
        for (index, contingency) in self.contingencies.iter().enumerate() {
            if contingency.triggers.trim().is_empty() {
                problem(format!("contingency.{index}.triggers"), "Say what would set this off: at least one trigger");
            }
            if contingency.what_to_do.trim().is_empty() {
                problem(format!("contingency.{index}.what_to_do"), "Say what the person should do");
            }
        }
        if self.sharing.refused && !self.sharing.organisations.is_empty() {
            problem("sharing".into(), "The person refused sharing: do not also choose organisations to share with");
        }
        if self.name != PlanName::Declined && self.agreed {
            if !self.goals.iter().any(|goal| !goal.actions.is_empty()) {
                problem("goal.0.words".into(), "An agreed plan needs at least one goal with an action");
            }
            match self.review_date {
                Some(date) if date > today => {}
                Some(_) => problem("review_date".into(), "The review date must be in the future"),
                None => problem("review_date".into(), "Give the review date"),
            }
            if self.review_by.trim().is_empty() {
                problem("review_by".into(), "Say who is responsible for the review");
            }
            if self.agreed_by.trim().is_empty() {
                problem(
                    "agreed_by".into(),
                    "Give the name of the person who agreed the plan (or their representative and role)",
                );
            }
        }
        problems
    }

    /// Every free-text field with its name, for length checks.
    fn texts(&self) -> Vec<(String, &str)> {
        let mut texts = vec![
            ("about.0.what_matters".to_owned(), self.about_me.what_matters.as_str()),
            ("about.0.important_people".to_owned(), self.about_me.important_people.as_str()),
            ("about.0.communication".to_owned(), self.about_me.communication.as_str()),
            ("about.0.please_do_and_dont".to_owned(), self.about_me.please_do_and_dont.as_str()),
            ("about.0.how_to_support_me".to_owned(), self.about_me.how_to_support_me.as_str()),
            ("about.0.also_worth_knowing".to_owned(), self.about_me.also_worth_knowing.as_str()),
            ("lead_coordinator".to_owned(), self.lead_coordinator.as_str()),
            ("medication_plan".to_owned(), self.medication_plan.as_str()),
        ];
        for (index, need) in self.needs.iter().enumerate() {
            texts.push((format!("need.{index}"), need.as_str()));
        }
        for (index, goal) in self.goals.iter().enumerate() {
            texts.push((format!("goal.{index}.words"), goal.words.as_str()));
            for (number, action) in goal.actions.iter().enumerate() {
                for (field, value) in [
                    ("what", &action.what),
                    ("when", &action.when),
                    ("how_often", &action.how_often),
                    ("who_supports", &action.who_supports),
                    ("barriers", &action.barriers),
                ] {
                    texts.push((format!("action.{index}.{number}.{field}"), value.as_str()));
                }
            }
        }
        for (index, contingency) in self.contingencies.iter().enumerate() {
            for (field, value) in [
                ("triggers", &contingency.triggers),
                ("early_warning_signs", &contingency.early_warning_signs),
                ("what_to_do", &contingency.what_to_do),
                ("who_to_contact", &contingency.who_to_contact),
            ] {
                texts.push((format!("contingency.{index}.{field}"), value.as_str()));
            }
        }
        texts
    }

    /// The plan as stored entries (empty values are left out).
    pub fn to_entries(&self) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut put = |section: &'static str, item: usize, field: &'static str, value: String| {
            if !value.is_empty() {
                entries.push(Entry { section, item: item as u32, field, value });
            }
        };
        put("plan", 0, "name", self.name.as_str().into());
        put("plan", 0, "journey", self.journey.as_str().into());
        put("plan", 0, "lead_coordinator", self.lead_coordinator.clone());
        put("plan", 0, "medication_plan", self.medication_plan.clone());
        put("plan", 0, "review_date", self.review_date.map(|date| date.to_string()).unwrap_or_default());
        put("plan", 0, "review_by", self.review_by.clone());
        put("plan", 0, "agreed", if self.agreed { "yes".into() } else { String::new() });
        put("plan", 0, "agreed_by", self.agreed_by.clone());
        put("plan", 0, "sharing_refused", if self.sharing.refused { "yes".into() } else { String::new() });
        let about = &self.about_me;
        put("about", 0, "what_matters", about.what_matters.clone());
        put("about", 0, "important_people", about.important_people.clone());
        put("about", 0, "communication", about.communication.clone());
        put("about", 0, "please_do_and_dont", about.please_do_and_dont.clone());
        put("about", 0, "how_to_support_me", about.how_to_support_me.clone());
        put("about", 0, "also_worth_knowing", about.also_worth_knowing.clone());
        for (index, need) in self.needs.iter().enumerate() {
            put("need", index, "text", need.clone());
        }
        for (index, goal) in self.goals.iter().enumerate() {
            put("goal", index, "words", goal.words.clone());
            put("goal", index, "importance", goal.importance.to_string());
            for (number, action) in goal.actions.iter().enumerate() {
                // Actions are numbered goal × 100 + action, so each keeps its goal.
                let item = index * 100 + number;
                put("action", item, "what", action.what.clone());
                put("action", item, "when", action.when.clone());
                put("action", item, "how_often", action.how_often.clone());
                put("action", item, "who_supports", action.who_supports.clone());
                put("action", item, "barriers", action.barriers.clone());
                put("action", item, "confidence", action.confidence.to_string());
            }
        }
        for (index, information) in self.information.iter().enumerate() {
            put("information", index, "text", information.clone());
        }
        for (index, treatment) in self.treatments.iter().enumerate() {
            put("treatment", index, "text", treatment.clone());
        }
        for (index, service) in self.services.iter().enumerate() {
            put("service", index, "service", service.service.clone());
            put("service", index, "name", service.name.clone());
            put("service", index, "note", service.note.clone());
        }
        for (index, contingency) in self.contingencies.iter().enumerate() {
            put("contingency", index, "name", contingency.name.clone());
            put("contingency", index, "triggers", contingency.triggers.clone());
            put("contingency", index, "early_warning_signs", contingency.early_warning_signs.clone());
            put("contingency", index, "what_to_do", contingency.what_to_do.clone());
            put("contingency", index, "who_to_contact", contingency.who_to_contact.clone());
        }
        for (index, organisation) in self.sharing.organisations.iter().enumerate() {
            put("share", index, "organisation", organisation.clone());
        }
        entries
    }

    /// Reads a plan back from its entries; an entry Concord does not know is refused by name.
    pub fn from_entries(entries: &[StoredEntry]) -> Result<CarePlan, String> {
        let mut plan = CarePlan::default();
        let number = |entry: &StoredEntry| -> Result<u8, String> {
            entry.value.parse().map_err(|_| format!("{}.{}.{} is not a number", entry.section, entry.item, entry.field))
        };
        let mut sorted: Vec<&StoredEntry> = entries.iter().collect();
        sorted.sort_by(|a, b| {
            (a.section.as_str(), a.item, a.field.as_str()).cmp(&(b.section.as_str(), b.item, b.field.as_str()))
        });
        fn at<T: Default>(list: &mut Vec<T>, index: usize) -> &mut T {
            while list.len() <= index {
                list.push(T::default());
            }
            &mut list[index]
        }
        for entry in sorted {
            let item = entry.item as usize;
            let value = entry.value.clone();
            match (entry.section.as_str(), entry.field.as_str()) {
                ("plan", "name") => plan.name = PlanName::parse(&value).ok_or(format!("unknown plan name {value}"))?,
                ("plan", "journey") => {
                    plan.journey = Journey::parse(&value).ok_or(format!("unknown journey {value}"))?
                }
                ("plan", "lead_coordinator") => plan.lead_coordinator = value,
                ("plan", "medication_plan") => plan.medication_plan = value,
                ("plan", "review_date") => {
                    plan.review_date = Some(
                        Date::parse(&value, time::macros::format_description!("[year]-[month]-[day]"))
                            .map_err(|_| format!("review date {value} is not a date"))?,
                    )
                }
                ("plan", "review_by") => plan.review_by = value,
                ("plan", "agreed") => plan.agreed = value == "yes",
                ("plan", "agreed_by") => plan.agreed_by = value,
                ("plan", "sharing_refused") => plan.sharing.refused = value == "yes",
                ("about", "what_matters") => plan.about_me.what_matters = value,
                ("about", "important_people") => plan.about_me.important_people = value,
                ("about", "communication") => plan.about_me.communication = value,
                ("about", "please_do_and_dont") => plan.about_me.please_do_and_dont = value,
                ("about", "how_to_support_me") => plan.about_me.how_to_support_me = value,
                ("about", "also_worth_knowing") => plan.about_me.also_worth_knowing = value,
                ("need", "text") => *at(&mut plan.needs, item) = value,
                ("goal", "words") => at(&mut plan.goals, item).words = value,
                ("goal", "importance") => at(&mut plan.goals, item).importance = number(entry)?,
                ("action", field) => {
                    let action = at(&mut at(&mut plan.goals, item / 100).actions, item % 100);
                    match field {
                        "what" => action.what = value,
                        "when" => action.when = value,
                        "how_often" => action.how_often = value,
                        "who_supports" => action.who_supports = value,
                        "barriers" => action.barriers = value,
                        "confidence" => action.confidence = number(entry)?,
                        other => return Err(format!("unknown action field {other}")),
                    }
                }
                ("information", "text") => *at(&mut plan.information, item) = value,
                ("treatment", "text") => *at(&mut plan.treatments, item) = value,
                ("service", "service") => at(&mut plan.services, item).service = value,
                ("service", "name") => at(&mut plan.services, item).name = value,
                ("service", "note") => at(&mut plan.services, item).note = value,
                ("contingency", "name") => at(&mut plan.contingencies, item).name = value,
                ("contingency", "triggers") => at(&mut plan.contingencies, item).triggers = value,
                ("contingency", "early_warning_signs") => at(&mut plan.contingencies, item).early_warning_signs = value,
                ("contingency", "what_to_do") => at(&mut plan.contingencies, item).what_to_do = value,
                ("contingency", "who_to_contact") => at(&mut plan.contingencies, item).who_to_contact = value,
                ("share", "organisation") => *at(&mut plan.sharing.organisations, item) = value,
                (section, field) => return Err(format!("unknown plan entry {section}.{field}")),
            }
        }
        Ok(plan)
    }
}

/// What changed from one version to the next, in plain words, for the person and the clinician.
pub fn changes(before: &CarePlan, after: &CarePlan) -> Vec<String> {
    let mut said = Vec::new();
    let mut text = |label: &str, old: &str, new: &str| {
        if old.trim() != new.trim() {
            said.push(match (old.trim().is_empty(), new.trim().is_empty()) {
                (true, _) => format!("{label}: added \"{}\"", new.trim()),
                (_, true) => format!("{label}: removed"),
                _ => format!("{label}: changed to \"{}\"", new.trim()),
            });
        }
    };
    text("What matters to me", &before.about_me.what_matters, &after.about_me.what_matters);
    text("Lead coordinator", &before.lead_coordinator, &after.lead_coordinator);
    text("Medication plan", &before.medication_plan, &after.medication_plan);
    for goal in &after.goals {
        match before.goals.iter().find(|old| old.words.trim() == goal.words.trim()) {
            None => {
                said.push(format!("New goal: \"{}\" (importance {} out of 10)", goal.words.trim(), goal.importance))
            }
            Some(old) => {
                if old.importance != goal.importance {
                    said.push(format!(
                        "Goal \"{}\": importance {} → {} out of 10",
                        goal.words.trim(),
                        old.importance,
                        goal.importance
                    ));
                }
                for action in &goal.actions {
                    match old.actions.iter().find(|previous| previous.what.trim() == action.what.trim()) {
                        None => said.push(format!("New action for \"{}\": {}", goal.words.trim(), action.what.trim())),
                        Some(previous) if previous.confidence != action.confidence => said.push(format!(
                            "Action \"{}\": confidence {} → {} out of 10",
                            action.what.trim(),
                            previous.confidence,
                            action.confidence
                        )),
                        Some(_) => {}
                    }
                }
                for action in &old.actions {
                    if !goal.actions.iter().any(|now| now.what.trim() == action.what.trim()) {
                        said.push(format!("Action stopped: {}", action.what.trim()));
                    }
                }
            }
        }
    }
    for goal in &before.goals {
        if !after.goals.iter().any(|now| now.words.trim() == goal.words.trim()) {
            said.push(format!("Goal no longer in the plan: \"{}\"", goal.words.trim()));
        }
    }
    for contingency in &after.contingencies {
        match before.contingencies.iter().find(|old| old.name == contingency.name) {
            None => said.push(format!("New plan for if things get worse: {}", contingency.name)),
            Some(old) if old != contingency => {
                said.push(format!("Changed: what to do if things get worse ({})", contingency.name))
            }
            Some(_) => {}
        }
    }
    for treatment in &after.treatments {
        if !before.treatments.contains(treatment) {
            said.push(format!("Treatment agreed: {treatment}"));
        }
    }
    for service in &after.services {
        if !before.services.iter().any(|old| old.name == service.name) {
            said.push(format!("New support: {}", service.name));
        }
    }
    if before.review_date != after.review_date
        && let Some(date) = after.review_date
    {
        said.push(format!("Review date: {}", crate::document::long_date(date)));
    }
    if before.sharing != after.sharing {
        said.push(if after.sharing.refused {
            "Sharing: the person does not want the plan shared".into()
        } else {
            format!("Sharing: now shared with {} organisation(s)", after.sharing.organisations.len())
        });
    }
    if !before.agreed && after.agreed {
        said.push(format!("Agreed with {}", after.agreed_by.trim()));
    }
    said
}

/// Prompts for a person-centred conversation (motivational interviewing), in Concord's own words.
pub const CONVERSATION_PROMPTS: [&str; 5] = [
    "What would you like to get out of today?",
    "What matters most to you at the moment, in your health and your life?",
    "What is going well? What is harder than you would like?",
    "What have you tried before? What helped?",
    "What would you like to do next, and what would help you do it?",
];

/// The importance and confidence rulers.
pub const RULERS: [&str; 2] = [
    "On a scale of 1 to 10, how important is this to you? Why that number and not a lower one?",
    "On a scale of 1 to 10, how confident are you that you can do it? What would move it one point higher?",
];

/// Questions for the professional's self-reflection before and after the conversation (seed
/// document 004 lists such questions; these are Concord's own words).
pub const SELF_REFLECTION: [&str; 8] = [
    "Did I listen more than I talked?",
    "Did I treat the person as the expert in their own life?",
    "Did I look at the whole person, not only their conditions?",
    "Did I help them make informed choices, with the information they wanted?",
    "Did we talk about risks openly?",
    "Did I keep my own beliefs about health out of their decisions?",
    "Did I ask what support and services they would like in their plan?",
    "If their needs are complex, is their care coordinated, and does someone lead it?",
];

/// What to keep in mind at each point on the person's journey.
pub fn journey_prompts(journey: Journey) -> &'static [&'static str] {
    match journey {
        Journey::NewlyDiagnosed => &[
            "Ask what they already know and what worries them about the diagnosis.",
            "Offer structured education and written information; do not try to cover everything today.",
            "Agree one or two first steps and an early review.",
        ],
        Journey::Established => &[
            "Start from their agenda: what they wrote before the appointment.",
            "Review last year's goals: what worked, what did not, what to change.",
            "Look for what has changed in their life, not only in their results.",
        ],
        Journey::ApproachingEndOfLife => &[
            "Ask what matters most to them now, and who they want involved.",
            "Simplify treatment where it no longer helps; agree what to stop.",
            "Talk about advance care planning and preferred place of care, if they wish; agree a contingency plan and who to contact.",
        ],
    }
}

/// What the plan's document needs besides the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanContext {
    pub full_name: String,
    pub practice_name: String,
    pub version: i64,
    pub recorded_on: Date,
    pub recorded_by: String,
    /// What changed since the version before, in words.
    pub changes: Vec<String>,
    /// Results with the person's own targets, charted.
    pub results: Vec<crate::preparation::LetterResult>,
    /// Names of the organisations the person agreed may see the plan.
    pub shared_with: Vec<String>,
}

/// The plan as the person's own document: written to them, in their words, in the first person,
/// with what to do if things get worse before anything else after their goals.
/// The plan as a clinician outside the practice reads it: the same document with "If things get
/// worse" (the contingency plans) moved up to just after the heading, since that is what they
/// most often need first; the person's goals follow.
pub fn contingency_first(mut document: crate::document::Document) -> crate::document::Document {
    use crate::document::Block;
    let is_section = |block: &Block| matches!(block, Block::Heading { level: 1 | 2, .. });
    let Some(start) = document
        .blocks
        .iter()
        .position(|block| matches!(block, Block::Heading { level: 2, text } if text == "If things get worse"))
    else {
        return document;
    };
    let end = document.blocks[start + 1..].iter().position(is_section).map_or(document.blocks.len(), |n| start + 1 + n);
    let section: Vec<Block> = document.blocks.drain(start..end).collect();
    let first = document.blocks.iter().skip(1).position(is_section).map_or(document.blocks.len(), |n| n + 1);
    document.blocks.splice(first..first, section);
    document
}

pub fn document(plan: &CarePlan, context: &PlanContext) -> crate::document::Document {
    use crate::document::{Block, Chart, long_date};
    let title = format!("My {}", plan.name.words());
    let mut blocks = vec![
        Block::Heading { level: 1, text: title.clone() },
        Block::Paragraph(format!(
            "{}. {}, version {} of {}.",
            context.full_name,
            context.practice_name,
            context.version,
            long_date(context.recorded_on)
        )),
    ];
    if plan.name == PlanName::Declined {
        blocks.push(Block::Paragraph(
            "You chose not to have a written plan this time. You can ask for one at any time.".into(),
        ));
    }
    if !context.changes.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "What has changed since last time".into() });
        blocks.push(Block::Bullets(context.changes.clone()));
    }
    let about = &plan.about_me;
    let about_facts: Vec<(String, String)> = [
        ("What matters to me", &about.what_matters),
        ("People who are important to me", &about.important_people),
        ("How to communicate with me", &about.communication),
        ("Please do and please don't", &about.please_do_and_dont),
        ("How and when to support me", &about.how_to_support_me),
        ("Also worth knowing about me", &about.also_worth_knowing),
    ]
    .into_iter()
    .filter(|(_, value)| !value.trim().is_empty())
    .map(|(label, value)| (label.to_owned(), value.trim().to_owned()))
    .collect();
    if !about_facts.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "About me".into() });
        blocks.push(Block::Facts(about_facts));
    }
    if !plan.needs.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "What I want help with".into() });
        blocks.push(Block::Bullets(plan.needs.clone()));
    }
    if !plan.goals.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "My goals".into() });
        for goal in &plan.goals {
            blocks.push(Block::Heading { level: 3, text: goal.words.trim().to_owned() });
            blocks.push(Block::Paragraph(format!("How important this is to me: {} out of 10.", goal.importance)));
            for action in &goal.actions {
                let mut facts = vec![("What I will do".to_owned(), action.what.trim().to_owned())];
                for (label, value) in [
                    ("When", &action.when),
                    ("How often", &action.how_often),
                    ("Who will help me", &action.who_supports),
                    ("What might get in the way", &action.barriers),
                ] {
                    if !value.trim().is_empty() {
                        facts.push((label.to_owned(), value.trim().to_owned()));
                    }
                }
                facts.push(("How confident I feel".to_owned(), format!("{} out of 10", action.confidence)));
                blocks.push(Block::Facts(facts));
            }
        }
    }
    if !plan.contingencies.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "If things get worse".into() });
        for contingency in &plan.contingencies {
            let mut lines = vec![format!("What can set it off: {}", contingency.triggers.trim())];
            if !contingency.early_warning_signs.trim().is_empty() {
                lines.push(format!("Early warning signs: {}", contingency.early_warning_signs.trim()));
            }
            lines.push(format!("What I should do: {}", contingency.what_to_do.trim()));
            if !contingency.who_to_contact.trim().is_empty() {
                lines.push(format!("Who to contact: {}", contingency.who_to_contact.trim()));
            }
            let heading = if contingency.name.trim().is_empty() {
                "If things get worse".to_owned()
            } else {
                contingency.name.trim().to_owned()
            };
            blocks.push(Block::Callout { heading, lines });
        }
        blocks.push(Block::Strong(
            "In an emergency, call 999. If you need help now and it is not an emergency, call 111.".into(),
        ));
    }
    if !plan.medication_plan.trim().is_empty() || !plan.treatments.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "My medicines and treatments".into() });
        if !plan.medication_plan.trim().is_empty() {
            blocks.push(Block::Paragraph(plan.medication_plan.trim().to_owned()));
        }
        if !plan.treatments.is_empty() {
            blocks.push(Block::Paragraph("Changes we agreed:".into()));
            blocks.push(Block::Bullets(plan.treatments.clone()));
        }
    }
    if !plan.services.is_empty() || !plan.information.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "Support and information".into() });
        let mut items: Vec<String> = plan
            .services
            .iter()
            .map(|service| {
                if service.note.trim().is_empty() {
                    service.name.clone()
                } else {
                    format!("{}: {}", service.name, service.note.trim())
                }
            })
            .collect();
        items.extend(plan.information.iter().map(|information| format!("Information: {information}")));
        blocks.push(Block::Bullets(items));
    }
    if !context.results.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "My results and targets".into() });
        for result in &context.results {
            let mut points: Vec<(Date, f64)> = result.story.previous.iter().take(5).rev().copied().collect();
            points.push(result.story.latest);
            let value = crate::preparation::value_with_unit(result.story.latest.1, result.decimals, &result.unit);
            let target = result.story.against_target.as_ref().map(|against| against.target.value);
            blocks.push(Block::Paragraph(format!(
                "{}: {} on {}{}.",
                result.meaning.plain_name,
                value,
                long_date(result.story.latest.0),
                target.map_or_else(String::new, |target| format!(
                    "; my target is {}",
                    crate::preparation::value_with_unit(target, result.decimals, &result.unit)
                ))
            )));
            if points.len() > 1 {
                let listed: Vec<String> = points
                    .iter()
                    .map(|(date, value)| {
                        format!(
                            "{} on {}",
                            crate::preparation::value_with_unit(*value, result.decimals, &result.unit),
                            long_date(*date)
                        )
                    })
                    .collect();
                blocks.push(Block::Chart(Chart {
                    alt: format!(
                        "Chart of my {} results: {}.{}",
                        result.meaning.plain_name,
                        listed.join(", "),
                        if target.is_some() { " The dashed line is my target." } else { "" }
                    ),
                    unit: result.unit.clone(),
                    points,
                    target,
                    target_label: "My target".into(),
                }));
            }
        }
    }
    blocks.push(Block::Heading { level: 2, text: "Who to contact and my review".into() });
    let mut contact = Vec::new();
    if !plan.lead_coordinator.trim().is_empty() {
        contact.push(("My lead coordinator".to_owned(), plan.lead_coordinator.trim().to_owned()));
    }
    contact.push(("My next review".to_owned(), plan.review_date.map_or_else(|| "Not set yet".to_owned(), long_date)));
    if !plan.review_by.trim().is_empty() {
        contact.push(("Who will review it with me".to_owned(), plan.review_by.trim().to_owned()));
    }
    contact.push(("My GP practice".to_owned(), context.practice_name.clone()));
    blocks.push(Block::Facts(contact));
    blocks.push(Block::Heading { level: 2, text: "About this plan".into() });
    let mut about_plan = vec![(
        "Agreed".to_owned(),
        if plan.agreed {
            format!("With {} on {}", plan.agreed_by.trim(), long_date(context.recorded_on))
        } else {
            "Not agreed yet: this is a draft".to_owned()
        },
    )];
    about_plan.push(("Written with".to_owned(), context.recorded_by.clone()));
    about_plan.push((
        "Who can see it".to_owned(),
        if plan.sharing.refused {
            "Only my GP practice: I chose not to share it".to_owned()
        } else if context.shared_with.is_empty() {
            "My GP practice".to_owned()
        } else {
            format!("My GP practice and {}", context.shared_with.join(", "))
        },
    ));
    blocks.push(Block::Facts(about_plan));
    blocks.push(Block::Paragraph(
        "This is your plan. You can ask to change it at any time. Bring it to your appointments.".into(),
    ));
    crate::document::Document { title, language: "en-GB", blocks }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    pub(crate) fn walking_plan() -> CarePlan {
        CarePlan {
            name: PlanName::HealthPlan,
            journey: Journey::Established,
            about_me: AboutMe { what_matters: "Keeping up with my grandchildren".into(), ..Default::default() },
            needs: vec!["Breathless on hills".into()],
            goals: vec![Goal {
                words: "Walk to the park with my grandson".into(),
                importance: 8,
                actions: vec![Action {
                    what: "Walk for 10 minutes".into(),
                    when: "After lunch".into(),
                    how_often: "5 days a week".into(),
                    who_supports: "My daughter".into(),
                    barriers: "Bad weather".into(),
                    confidence: 7,
                }],
            }],
            information: vec!["COPD self-management leaflet".into()],
            treatments: vec!["Start a tiotropium inhaler".into()],
            services: vec![Service {
                service: "pulmonary_rehab".into(),
                name: "Pulmonary rehabilitation".into(),
                note: String::new(),
            }],
            contingencies: vec![Contingency {
                name: "COPD flare-up".into(),
                triggers: "Colds and chest infections".into(),
                early_warning_signs: "More breathless, more or darker phlegm".into(),
                what_to_do: "Start the rescue pack and tell the practice the same day".into(),
                who_to_contact: "The practice; 111 out of hours".into(),
            }],
            lead_coordinator: String::new(),
            medication_plan: "Use the blue inhaler when breathless".into(),
            review_date: Some(date!(2027 - 06 - 01)),
            review_by: "Practice nurse".into(),
            agreed: true,
            agreed_by: "Grace Okafor".into(),
            sharing: Sharing { organisations: vec!["RX1".into()], refused: false },
        }
    }

    fn stored(plan: &CarePlan) -> Vec<StoredEntry> {
        plan.to_entries()
            .into_iter()
            .map(|entry| StoredEntry {
                section: entry.section.into(),
                item: entry.item,
                field: entry.field.into(),
                value: entry.value,
            })
            .collect()
    }

    #[test]
    fn a_plan_round_trips_through_its_entries() {
        let plan = walking_plan();
        assert_eq!(CarePlan::from_entries(&stored(&plan)).unwrap(), plan);
        let mut two_goals = plan.clone();
        two_goals.goals.push(Goal { words: "Sleep better".into(), importance: 5, actions: vec![] });
        assert_eq!(CarePlan::from_entries(&stored(&two_goals)).unwrap(), two_goals);
        let unknown =
            vec![StoredEntry { section: "plan".into(), item: 0, field: "colour".into(), value: "blue".into() }];
        assert!(CarePlan::from_entries(&unknown).unwrap_err().contains("plan.colour"));
    }

    #[test]
    fn an_agreed_plan_needs_a_goal_with_an_action_a_future_review_and_who_agreed() {
        let today = date!(2026 - 12 - 01);
        assert!(walking_plan().problems(today).is_empty());
        let mut bare = walking_plan();
        bare.goals[0].actions.clear();
        bare.review_date = Some(today);
        bare.agreed_by.clear();
        bare.goals[0].importance = 11;
        let fields: Vec<String> = bare.problems(today).into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["goal.0.importance", "goal.0.words", "review_date", "agreed_by"]);
        let declined = CarePlan { name: PlanName::Declined, agreed: true, ..Default::default() };
        assert!(declined.problems(today).is_empty(), "a declined written plan needs nothing more");
        let mut no_trigger = walking_plan();
        no_trigger.contingencies[0].triggers.clear();
        assert_eq!(no_trigger.problems(today)[0].0, "contingency.0.triggers");
    }

    #[test]
    fn the_plan_document_is_written_to_the_person_in_their_words() {
        let context = PlanContext {
            full_name: "Grace Okafor".into(),
            practice_name: "Mill Lane Surgery".into(),
            version: 2,
            recorded_on: date!(2026 - 12 - 01),
            recorded_by: "Nurse Patel".into(),
            changes: vec!["New goal: \"Sleep better\"".into()],
            results: vec![],
            shared_with: vec!["Riverside Community Health".into()],
        };
        let document = document(&walking_plan(), &context);
        assert!(document.outline_is_sound());
        assert_eq!(document.title, "My health plan");
        let text = document.plain_text();
        for expected in [
            "What matters to me: Keeping up with my grandchildren",
            "Walk to the park with my grandson",
            "How important this is to me: 8 out of 10.",
            "What I will do: Walk for 10 minutes",
            "How confident I feel: 7 out of 10",
            "What can set it off: Colds and chest infections",
            "What I should do: Start the rescue pack",
            "Start a tiotropium inhaler",
            "Pulmonary rehabilitation",
            "My next review: 1 June 2027",
            "With Grace Okafor on 1 December 2026",
            "My GP practice and Riverside Community Health",
            "What has changed since last time",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let goals = text.find("My goals").unwrap();
        let worse = text.find("If things get worse").unwrap();
        let medicines = text.find("My medicines and treatments").unwrap();
        assert!(goals < worse && worse < medicines, "what to do if things get worse comes straight after the goals");

        // For clinicians outside the practice, the contingency plans come first, then the goals.
        let partner = contingency_first(document.clone());
        assert!(partner.outline_is_sound());
        let text = partner.plain_text();
        let worse = text.find("If things get worse").unwrap();
        let changed = text.find("What has changed since last time").unwrap();
        let goals = text.find("My goals").unwrap();
        assert!(worse < changed && worse < goals, "contingency first:\n{text}");
        assert_eq!(partner.blocks.len(), document.blocks.len(), "nothing lost");
        assert!(text.contains("What I should do: Start the rescue pack"));
    }

    #[test]
    fn changes_are_told_in_words() {
        let before = walking_plan();
        let mut after = before.clone();
        after.goals[0].importance = 9;
        after.goals[0].actions[0].confidence = 9;
        after.goals.push(Goal {
            words: "Sleep better".into(),
            importance: 5,
            actions: vec![Action { what: "No tea after 6pm".into(), confidence: 6, ..Default::default() }],
        });
        after.review_date = Some(date!(2027 - 09 - 01));
        let said = changes(&before, &after);
        assert_eq!(
            said,
            [
                "Goal \"Walk to the park with my grandson\": importance 8 → 9 out of 10",
                "Action \"Walk for 10 minutes\": confidence 7 → 9 out of 10",
                "New goal: \"Sleep better\" (importance 5 out of 10)",
                "Review date: 1 September 2027",
            ]
        );
        assert!(changes(&before, &before).is_empty());
    }
}
