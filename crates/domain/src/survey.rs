//! The person's feedback: Concord's own short survey, after the care and support planning
//! conversation and at review. Its first question is the GP Patient Survey's question on support
//! to manage long-term conditions (2018 to 2023 wording; clinical.md §6), so the commissioner's
//! "feel supported" measure can be read beside the national survey.
//!
//! Invariants: the "feel supported" share counts "Yes, definitely" and "Yes, to some extent" among
//! those who answered yes or no, leaving out "I haven't needed support" and "Don't know / can't
//! say" (the convention the Nuffield Trust's QualityWatch uses for GPPS; clinical.md §6).

/// When the survey is asked.
pub const OCCASIONS: [(&str, &str); 2] =
    [("after_conversation", "After your care and support planning appointment"), ("at_review", "At your review")];

/// One question: id, wording, answer choices (code, words), and where the wording comes from.
pub struct Question {
    pub id: &'static str,
    pub text: &'static str,
    pub choices: &'static [(&'static str, &'static str)],
    pub source: &'static str,
}

pub const QUESTIONS: [Question; 3] = [
    Question {
        id: "support",
        text: "In the last 12 months, have you had enough support from local services or organisations to help you to manage your condition (or conditions)?",
        choices: &[
            ("yes_definitely", "Yes, definitely"),
            ("yes_some_extent", "Yes, to some extent"),
            ("no", "No"),
            ("not_needed", "I haven't needed support"),
            ("dont_know", "Don't know / can't say"),
        ],
        source: "GP Patient Survey 2018 to 2023 (2022 Q40), wording and answers; clinical.md §6",
    },
    Question {
        id: "confidence",
        text: "How confident are you that you can manage any issues arising from your condition (or conditions)?",
        choices: &[
            ("very", "Very confident"),
            ("fairly", "Fairly confident"),
            ("not_very", "Not very confident"),
            ("not_at_all", "Not at all confident"),
            ("dont_know", "Don't know"),
        ],
        source: "GP Patient Survey 2022 Q39 wording; the answers are Concord's own (the survey's are unconfirmed)",
    },
    Question {
        id: "goals",
        text: "How much of what you planned to do have you done?",
        choices: &[
            ("all", "All of it"),
            ("most", "Most of it"),
            ("some", "Some of it"),
            ("none", "None of it yet"),
            ("no_plan", "I did not plan anything"),
        ],
        source: "Concord's own question on goal attainment",
    },
];

/// Checks answers (question id → choice code): every answer must be one of its question's
/// choices; at least one question answered. Returns the problems by question id.
pub fn problems(answers: &[(String, String)]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (question, answer) in answers {
        match QUESTIONS.iter().find(|known| known.id == question) {
            None => problems.push((question.clone(), "This is not one of the questions".to_owned())),
            Some(known) if !answer.is_empty() && !known.choices.iter().any(|(code, _)| code == answer) => {
                problems.push((question.clone(), "Choose one of the answers".to_owned()))
            }
            Some(_) => {}
        }
    }
    if answers.iter().all(|(_, answer)| answer.is_empty()) {
        problems.push(("support".to_owned(), "Answer at least one question".to_owned()));
    }
    problems
}

/// "Feel supported": (yes, of those who answered yes or no); (0, 0) when nobody did.
pub fn feel_supported<'a>(answers: impl IntoIterator<Item = &'a str>) -> (u64, u64) {
    let mut yes = 0;
    let mut counted = 0;
    for answer in answers {
        match answer {
            "yes_definitely" | "yes_some_extent" => {
                yes += 1;
                counted += 1;
            }
            "no" => counted += 1,
            _ => {}
        }
    }
    (yes, counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feel_supported_leaves_out_those_who_did_not_need_support_or_do_not_know() {
        let answers = ["yes_definitely", "yes_some_extent", "no", "not_needed", "dont_know", "no"];
        assert_eq!(feel_supported(answers), (2, 4));
        assert_eq!(feel_supported(["not_needed"]), (0, 0));
    }

    #[test]
    fn answers_must_be_the_questions_choices() {
        let ok = vec![("support".to_owned(), "no".to_owned()), ("goals".to_owned(), String::new())];
        assert!(problems(&ok).is_empty());
        let bad = vec![("support".to_owned(), "maybe".to_owned()), ("colour".to_owned(), "blue".to_owned())];
        let fields: Vec<String> = problems(&bad).into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["support", "colour"]);
        assert_eq!(problems(&[("support".to_owned(), String::new())])[0].1, "Answer at least one question");
    }
}
