//! The person's preparation for the care and support planning conversation (Year of Care step 4):
//! one letter for all their conditions, each result in plain words with its trend, chart and their
//! own target, the clinician's comment, prompts to set their own agenda, and what happens next.
//!
//! Invariants:
//! - A letter is never made while an urgent or soon red flag has no recorded action
//!   ([`may_prepare`]), so nobody first learns of a serious result by post.
//! - Only results the clinician released reach this module; a withheld result is absent, and the
//!   letter does not announce that something was withheld (the serious-harm exception).
//! - Only a personal target is called "your target" (see [`crate::result_story`]).
//! - The easy-read letter says the same things as the full letter, shorter: the same results,
//!   the same appointment, the same safety information.

use time::Date;

use crate::document::{Block, Chart, Document, long_date};
use crate::red_flag::Severity;
use crate::result_story::{AgainstTarget, Better, Progress, ResultMeaning, ResultStory, Trend};

/// Which letter to write. Large print is the full letter set larger (a rendering choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Full,
    EasyRead,
}

/// One released result for the letter.
#[derive(Debug, Clone, PartialEq)]
pub struct LetterResult {
    pub meaning: ResultMeaning,
    /// The unit as people write it ("mmol/mol", "mmHg").
    pub unit: String,
    pub decimals: u8,
    pub story: ResultStory,
}

/// The booked conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    /// "Tuesday 8 December 2026 at 10:20am".
    pub when: String,
    /// "the practice nurse".
    pub with: String,
    pub minutes: i64,
}

/// Everything the letter says.
#[derive(Debug, Clone, PartialEq)]
pub struct LetterInput {
    pub given_name: String,
    pub practice_name: String,
    pub written_on: Date,
    /// The person's long-term conditions in plain words ("type 2 diabetes").
    pub conditions: Vec<String>,
    pub results: Vec<LetterResult>,
    /// Checks without a number: ("Foot check", "done on 3 November 2026").
    pub other_checks: Vec<(String, String)>,
    /// The clinician's plain-language comment and their name.
    pub comment: Option<(String, String)>,
    pub appointment: Option<Appointment>,
    /// How the person (or their carer) reads this and writes their answers online.
    pub online: Option<OnlineAccess>,
}

/// The online preparation: where, with which code, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineAccess {
    /// The sign-in page's address.
    pub address: String,
    /// The access code as printed ("ABCD-EFGH-JKMN").
    pub code: String,
    pub until: Date,
}

/// Why a letter cannot be made yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotYet {
    #[error(
        "{count} red flag(s) needing action {severity} have no recorded action: record what was done before the preparation letter is made, so that nobody first learns of a serious result by post"
    )]
    UnactionedFlag { count: usize, severity: &'static str },
}

/// A letter may be made only when no urgent or soon flag is without a recorded action.
/// `open` holds the severity of every flag that has no action yet.
pub fn may_prepare(open: impl IntoIterator<Item = Severity>) -> Result<(), NotYet> {
    let (mut urgent, mut soon) = (0, 0);
    for severity in open {
        match severity {
            Severity::Urgent => urgent += 1,
            Severity::Soon => soon += 1,
            Severity::Routine => {}
        }
    }
    if urgent > 0 {
        return Err(NotYet::UnactionedFlag { count: urgent, severity: "today" });
    }
    if soon > 0 {
        return Err(NotYet::UnactionedFlag { count: soon, severity: "soon" });
    }
    Ok(())
}

/// The agenda-setting prompts (Year of Care preparation; seed documents 000 and 004), in
/// Concord's own words. Each is also a question the person can answer online.
pub const AGENDA_PROMPTS: [(&str, &str); 5] = [
    ("what_matters", "What matters most to you at the moment?"),
    ("getting_on", "How are you getting on with your health and your conditions?"),
    ("talk_about", "What would you like to talk about at your appointment?"),
    ("questions", "Do you have any questions about your results?"),
    ("own_ideas", "What ideas do you have about looking after your health?"),
];

/// The short holistic needs check: areas of life beyond health (seed document 004 lists them,
/// after a well-being tool for long-term conditions), in Concord's own words: (id, area, question).
pub const NEEDS_AREAS: [(&str, &str, &str); 8] = [
    ("lifestyle", "Lifestyle", "Eating, drinking, smoking and being active"),
    (
        "looking_after_yourself",
        "Looking after yourself",
        "Washing, dressing, cooking and keeping on top of things at home",
    ),
    (
        "managing_symptoms",
        "Managing symptoms",
        "Pain, breathlessness, tiredness and how your conditions affect you day to day",
    ),
    ("work_and_activities", "Work and other activities", "Work, volunteering, hobbies and things you like to do"),
    ("money", "Money", "Having enough to live on, bills and benefits"),
    ("where_you_live", "Where you live", "Your home, getting about and feeling safe"),
    ("family_and_friends", "Family and friends", "The people around you, caring for others, feeling lonely"),
    ("feeling_positive", "Feeling positive", "Your mood, worries and how you feel about the future"),
];

/// Answers to each needs area, in the person's words: (value, label).
pub const NEEDS_ANSWERS: [(&str, &str); 3] = [
    ("going_well", "This is going well"),
    ("some_help", "I would like some help with this"),
    ("big_worry", "This is a big worry for me"),
];

/// What a free-text answer box says, wherever the person writes to the practice.
pub const NOT_WATCHED: [&str; 3] = [
    "What you write here is read before your appointment. It is not watched for urgent problems.",
    "If you need help now, call 111 or go to 111.nhs.uk. In an emergency, call 999.",
    "If you are in a mental health crisis, call 111 and choose the mental health option, or text SHOUT to 85258.",
];

/// Writes the letter.
pub fn letter(input: &LetterInput, variant: Variant) -> Document {
    match variant {
        Variant::Full => full(input),
        Variant::EasyRead => easy_read(input),
    }
}

fn full(input: &LetterInput) -> Document {
    let mut blocks = vec![
        Block::Heading { level: 1, text: "Getting ready for your care and support planning appointment".into() },
        Block::Paragraph(format!("{}, {}", input.practice_name, long_date(input.written_on))),
        Block::Paragraph(format!("Dear {},", input.given_name)),
        Block::Paragraph(format!(
            "Thank you for coming in for your tests. This letter has your results{} and what they mean. \
             Please read it before your appointment, and write down what you would like to talk about. \
             The appointment is a conversation about what matters to you, and what you want to do about your health.",
            conditions_phrase(&input.conditions)
        )),
    ];
    if let Some(appointment) = &input.appointment {
        blocks.push(Block::Strong(appointment_sentence(appointment)));
    }
    if let Some((comment, clinician)) = &input.comment {
        blocks.push(Block::Heading { level: 2, text: format!("A note from {clinician}") });
        blocks.push(Block::Paragraph(comment.clone()));
    }
    blocks.push(Block::Heading { level: 2, text: "Your results".into() });
    if input.results.is_empty() {
        blocks.push(Block::Paragraph(
            "There are no results to show you in this letter. You can talk about your tests at your appointment."
                .into(),
        ));
    }
    for result in &input.results {
        blocks.push(Block::Heading { level: 3, text: result.meaning.plain_name.clone() });
        blocks.push(Block::Paragraph(result.meaning.meaning.clone()));
        let mut facts = vec![(
            "Your latest result".to_owned(),
            format!("{} on {}", value_text(result, result.story.latest.1), long_date(result.story.latest.0)),
        )];
        if !result.story.previous.is_empty() {
            let earlier: Vec<String> = result
                .story
                .previous
                .iter()
                .take(3)
                .map(|(date, value)| format!("{} on {}", value_text(result, *value), long_date(*date)))
                .collect();
            facts.push(("Earlier results".to_owned(), earlier.join("; ")));
        }
        facts.push(("What has changed".to_owned(), trend_sentence(result)));
        if let Some(against) = &result.story.against_target {
            facts.push(("Your target".to_owned(), target_sentence(result, against)));
        }
        facts.push(("About the unit".to_owned(), result.meaning.unit_words.clone()));
        blocks.push(Block::Facts(facts));
        if result.story.previous.len() + 1 >= 2 {
            blocks.push(Block::Chart(chart(result)));
        }
    }
    if !input.other_checks.is_empty() {
        blocks.push(Block::Heading { level: 2, text: "Other checks".into() });
        blocks.push(Block::Facts(input.other_checks.clone()));
    }
    blocks.push(Block::Heading { level: 2, text: "Getting ready for your appointment".into() });
    blocks.push(Block::Paragraph(
        "These questions can help you think about what you want from your appointment. \
         Write your answers here and bring this letter with you."
            .into(),
    ));
    for (_, prompt) in AGENDA_PROMPTS {
        blocks.push(Block::WriteIn { prompt: prompt.into(), lines: 3 });
    }
    blocks
        .push(Block::Callout { heading: "If you need help now".into(), lines: NOT_WATCHED.map(String::from).to_vec() });
    blocks.push(Block::Heading { level: 2, text: "What happens next".into() });
    let mut next = Vec::new();
    match &input.appointment {
        Some(appointment) => next.push(appointment_sentence(appointment)),
        None => next.push("The practice will contact you to book your care and support planning appointment.".into()),
    }
    if let Some(online) = &input.online {
        next.push(online_sentence(online));
    }
    next.push(
        "At the appointment you and your nurse or doctor will agree what you want to work on, and write it down in your own care and support plan."
            .into(),
    );
    next.push("If you cannot come, please tell the practice so someone else can have the appointment.".into());
    blocks.push(Block::Bullets(next));
    Document { title: "Getting ready for your care and support planning appointment".into(), language: "en-GB", blocks }
}

/// The short easy-read letter: short sentences, one idea each, the same facts.
fn easy_read(input: &LetterInput) -> Document {
    let mut blocks = vec![
        Block::Heading { level: 1, text: "Your test results and your next appointment".into() },
        Block::Paragraph(format!("Dear {},", input.given_name)),
        Block::Paragraph("You had some tests at the practice.".into()),
        Block::Paragraph("This letter tells you your results.".into()),
    ];
    if let Some(appointment) = &input.appointment {
        blocks.push(Block::Strong(format!(
            "Your next appointment is on {}. It is with {}.",
            appointment.when, appointment.with
        )));
    }
    blocks.push(Block::Heading { level: 2, text: "Your results".into() });
    for result in &input.results {
        let mut lines = vec![format!("{}: {}.", result.meaning.plain_name, value_text(result, result.story.latest.1))];
        lines.push(easy_trend(result));
        if let Some(against) = &result.story.against_target {
            lines.push(if against.met {
                "This meets your target.".to_owned()
            } else {
                format!("Your target is {}.", target_value(result, against))
            });
        }
        blocks.push(Block::Bullets(lines));
    }
    if let Some((comment, clinician)) = &input.comment {
        blocks.push(Block::Heading { level: 2, text: format!("A note from {clinician}") });
        blocks.push(Block::Paragraph(comment.clone()));
    }
    blocks.push(Block::Heading { level: 2, text: "Before your appointment".into() });
    blocks.push(Block::Paragraph("Think about what matters to you.".into()));
    blocks.push(Block::WriteIn { prompt: "What do you want to talk about?".into(), lines: 4 });
    if let Some(online) = &input.online {
        blocks.push(Block::Paragraph(format!("You can also answer online at {}.", online.address)));
        blocks.push(Block::Paragraph(format!("Your code is {}. You will need your date of birth too.", online.code)));
    }
    blocks
        .push(Block::Callout { heading: "If you need help now".into(), lines: NOT_WATCHED.map(String::from).to_vec() });
    Document { title: "Your test results and your next appointment".into(), language: "en-GB", blocks }
}

/// How to open the preparation online.
pub fn online_sentence(online: &OnlineAccess) -> String {
    format!(
        "You can also read this and write your answers online. Go to {} and enter the code {} with your date of birth. \
         The code works until {}. Your answers will be read before your appointment.",
        online.address,
        online.code,
        long_date(online.until)
    )
}

fn conditions_phrase(conditions: &[String]) -> String {
    match conditions {
        [] => String::new(),
        [one] => format!(" for your {one}"),
        [rest @ .., last] => format!(" for your {} and {last}", rest.join(", ")),
    }
}

fn appointment_sentence(appointment: &Appointment) -> String {
    format!(
        "Your care and support planning appointment is on {} with {}. It lasts about {} minutes.",
        appointment.when, appointment.with, appointment.minutes
    )
}

/// A value with its unit, to the observable's usual decimals ("53 mmol/mol", "5.2 mmol/L").
pub fn value_with_unit(value: f64, decimals: u8, unit: &str) -> String {
    let number = format!("{value:.*}", usize::from(decimals));
    if unit.is_empty() || unit == "{score}" { number } else { format!("{number} {unit}") }
}

fn value_text(result: &LetterResult, value: f64) -> String {
    value_with_unit(value, result.decimals, &result.unit)
}

fn trend_sentence(result: &LetterResult) -> String {
    let story = &result.story;
    let Some((_, before)) = story.previous.first() else {
        return "This is your first result for this test, so there is nothing to compare it with yet.".into();
    };
    let before = value_text(result, *before);
    match (story.trend, story.progress) {
        (Trend::FirstResult, _) => "This is your first result for this test.".into(),
        (Trend::AboutTheSame, _) => format!("About the same as last time ({before})."),
        (Trend::Up, progress) | (Trend::Down, progress) => {
            let moved = if story.trend == Trend::Up { "Higher" } else { "Lower" };
            let verdict = match progress {
                Some(Progress::Better) => " This is a change in the right direction.",
                Some(Progress::Worse) => " This is a change in the wrong direction, which you may want to talk about.",
                None => match result.meaning.better {
                    Better::WithinRange => " Your nurse or doctor can tell you what this means for you.",
                    _ => "",
                },
            };
            format!("{moved} than last time ({before}).{verdict}")
        }
    }
}

fn easy_trend(result: &LetterResult) -> String {
    match (result.story.trend, result.story.progress) {
        (Trend::FirstResult, _) => "This is your first result.".into(),
        (Trend::AboutTheSame, _) => "It is about the same as last time.".into(),
        (_, Some(Progress::Better)) => "It has got better since last time.".into(),
        (_, Some(Progress::Worse)) => "It has got worse since last time.".into(),
        (Trend::Up, None) => "It is higher than last time.".into(),
        (Trend::Down, None) => "It is lower than last time.".into(),
    }
}

fn target_value(result: &LetterResult, against: &AgainstTarget) -> String {
    let words = match against.target.comparison {
        crate::criterion::Comparison::Less => "below",
        crate::criterion::Comparison::LessOrEqual => "or below",
        crate::criterion::Comparison::Greater => "above",
        crate::criterion::Comparison::GreaterOrEqual => "or above",
        crate::criterion::Comparison::Equal => "exactly",
    };
    let value = value_text(result, against.target.value);
    match against.target.comparison {
        crate::criterion::Comparison::LessOrEqual | crate::criterion::Comparison::GreaterOrEqual => {
            format!("{value} {words}")
        }
        _ => format!("{words} {value}"),
    }
}

fn target_sentence(result: &LetterResult, against: &AgainstTarget) -> String {
    let target = target_value(result, against);
    let set = format!("agreed with {} on {}", against.target.set_by, long_date(against.target.set_on));
    if against.met {
        format!("{target} ({set}). Your latest result meets it.")
    } else {
        format!("{target} ({set}). Your latest result is {} away from it.", value_text(result, against.short_by))
    }
}

fn chart(result: &LetterResult) -> Chart {
    let mut points: Vec<(Date, f64)> = result.story.previous.iter().take(5).rev().copied().collect();
    points.push(result.story.latest);
    let listed: Vec<String> =
        points.iter().map(|(date, value)| format!("{} in {}", value_text(result, *value), month_year(*date))).collect();
    let mut alt = format!("Chart of your {} results: {}.", result.meaning.plain_name, listed.join(", "));
    let target = result.story.against_target.as_ref().map(|against| against.target.value);
    if let Some(against) = &result.story.against_target {
        alt.push_str(&format!(" The dashed line is your target, {}.", target_value(result, against)));
    }
    Chart { alt, unit: result.unit.clone(), points, target, target_label: "Your target".into() }
}

fn month_year(date: Date) -> String {
    let long = long_date(date);
    long.split_once(' ').map_or(long.clone(), |(_, rest)| rest.to_owned())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::criterion::Comparison;
    use crate::result_story::tell;
    use crate::target::PersonalTarget;

    fn hba1c_meaning() -> ResultMeaning {
        ResultMeaning {
            observable: "hba1c".into(),
            plain_name: "HbA1c (average blood sugar)".into(),
            meaning: "Your average blood sugar level over the past 2 to 3 months.".into(),
            unit_words: "mmol/mol means millimoles per mole".into(),
            better: Better::Lower,
            steady_within: 2.0,
            source: "test".into(),
        }
    }

    fn input() -> LetterInput {
        let target = PersonalTarget {
            observable: "hba1c".into(),
            comparison: Comparison::LessOrEqual,
            value: 53.0,
            set_on: date!(2026 - 11 - 10),
            set_by: "Nurse Patel".into(),
        };
        let points = [(date!(2025 - 11 - 01), 64.0), (date!(2026 - 05 - 01), 61.0), (date!(2026 - 11 - 02), 58.0)];
        let story = tell(&hba1c_meaning(), &points, Some(&target)).unwrap();
        LetterInput {
            given_name: "Alex".into(),
            practice_name: "Riverside Surgery".into(),
            written_on: date!(2026 - 11 - 12),
            conditions: vec!["type 2 diabetes".into(), "COPD".into()],
            results: vec![LetterResult { meaning: hba1c_meaning(), unit: "mmol/mol".into(), decimals: 0, story }],
            other_checks: vec![("Foot check".into(), "done on 2 November 2026".into())],
            comment: Some(("Your sugar is coming down well.".into(), "Nurse Patel".into())),
            appointment: Some(Appointment {
                when: "Tuesday 8 December 2026 at 10:20am".into(),
                with: "the practice nurse".into(),
                minutes: 20,
            }),
            online: Some(OnlineAccess {
                address: "https://concord.example/prepare".into(),
                code: "ABCD-EFGH-JKMN".into(),
                until: date!(2026 - 12 - 10),
            }),
        }
    }

    #[test]
    fn the_full_letter_tells_each_result_with_trend_target_unit_and_prompts() {
        let document = letter(&input(), Variant::Full);
        assert!(document.outline_is_sound());
        let text = document.plain_text();
        for expected in [
            "Dear Alex,",
            "for your type 2 diabetes and COPD",
            "58 mmol/mol on 2 November 2026",
            "Earlier results: 61 mmol/mol on 1 May 2026; 64 mmol/mol on 1 November 2025",
            "Lower than last time (61 mmol/mol). This is a change in the right direction.",
            "53 mmol/mol or below (agreed with Nurse Patel on 10 November 2026). Your latest result is 5 mmol/mol away from it.",
            "mmol/mol means millimoles per mole",
            "A note from Nurse Patel",
            "Tuesday 8 December 2026 at 10:20am with the practice nurse",
            "What matters most to you at the moment?",
            "It is not watched for urgent problems",
            "call 999",
            "Foot check: done on 2 November 2026",
            "Go to https://concord.example/prepare and enter the code ABCD-EFGH-JKMN with your date of birth",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let chart = document.blocks.iter().find_map(|block| match block {
            Block::Chart(chart) => Some(chart),
            _ => None,
        });
        let chart = chart.expect("a result with history has a chart");
        assert_eq!(chart.points.len(), 3);
        assert_eq!(chart.target, Some(53.0));
        assert!(chart.alt.contains("58 mmol/mol in November 2026") && chart.alt.contains("dashed line is your target"));
    }

    #[test]
    fn a_first_result_has_no_chart_and_says_so() {
        let mut input = input();
        let story = tell(&hba1c_meaning(), &[(date!(2026 - 11 - 02), 58.0)], None).unwrap();
        input.results[0].story = story;
        let document = letter(&input, Variant::Full);
        assert!(!document.blocks.iter().any(|block| matches!(block, Block::Chart(_))));
        let text = document.plain_text();
        assert!(text.contains("first result for this test"));
        assert!(!text.contains("Your target"), "no personal target, so none is told");
    }

    #[test]
    fn the_easy_read_letter_keeps_the_same_facts_in_short_sentences() {
        let document = letter(&input(), Variant::EasyRead);
        assert!(document.outline_is_sound());
        let text = document.plain_text();
        for expected in [
            "HbA1c (average blood sugar): 58 mmol/mol.",
            "It has got better since last time.",
            "Your target is 53 mmol/mol or below.",
            "Tuesday 8 December 2026 at 10:20am",
            "call 999",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let longest = text.lines().map(|line| line.split_whitespace().count()).max().unwrap();
        assert!(longest <= 25, "easy read keeps sentences short; longest line has {longest} words");
    }

    #[test]
    fn unactioned_urgent_or_soon_flags_stop_the_letter_and_routine_ones_do_not() {
        assert!(may_prepare([Severity::Routine]).is_ok());
        assert!(may_prepare([]).is_ok());
        let error = may_prepare([Severity::Soon, Severity::Urgent]).unwrap_err();
        assert_eq!(error, NotYet::UnactionedFlag { count: 1, severity: "today" });
        assert!(error.to_string().contains("nobody first learns of a serious result by post"));
        assert_eq!(may_prepare([Severity::Soon]).unwrap_err(), NotYet::UnactionedFlag { count: 1, severity: "soon" });
    }
}
