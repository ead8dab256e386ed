//! Check-ins between consultations (seed 001: support between consultations by text message or
//! phone): some weeks after a plan is agreed the person is asked how each goal is going and
//! whether they would like help; those who ask for help or are finding a goal hard go on a
//! follow-up list with an owner and a time to respond.
//!
//! Invariants: a check-in asks about the goals of the plan it was made for; a reply is never
//! treated as urgent care (every page and message says it is not watched for emergencies); a
//! request for help, and every note the person writes, always makes a follow-up.

use time::{Date, Duration, Weekday};

/// Days after a plan is agreed that its check-in falls due ("four weeks after agreement").
pub const CHECK_IN_DAYS: i64 = 28;

/// Working days within which someone responds to a follow-up. Concord's service standard, stated
/// to the person when they ask for help; practices may set their own later.
pub const FOLLOW_UP_WORKING_DAYS: u32 = 2;

/// Days after an email or text check-in is sent with no answer that it joins the practice's call
/// list, so someone phones the person instead (a person who does not answer is not left
/// unasked). Concord's standard, two weeks.
pub const UNANSWERED_CALL_DAYS: i64 = 14;

/// Whether a follow-up due by `due_by` is overdue on `today` (its response date has passed).
pub fn follow_up_overdue(due_by: Date, today: Date) -> bool {
    today > due_by
}

/// Who owns follow-ups by default: the care coordinator (seed 000: the coordinating role).
pub const FOLLOW_UP_OWNER: &str = "care_coordinator";

/// The date a follow-up must be responded to by: `working_days` after `from`, skipping weekends.
pub fn respond_by(from: Date, working_days: u32) -> Date {
    let mut day = from;
    let mut left = working_days;
    while left > 0 {
        day += Duration::days(1);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    day
}

/// How the check-in reaches the person: email or text when they prefer it and have the address
/// or number, else the other of the two if they have it, else a phone call from the practice.
pub fn channel(preferred: Option<&str>, email: bool, mobile: bool) -> &'static str {
    match (preferred, email, mobile) {
        (Some("email"), true, _) => "email",
        (Some("sms"), _, true) => "sms",
        (_, _, true) => "sms",
        (_, true, _) => "email",
        _ => "phone",
    }
}

/// Why a reply needs a follow-up, if it does: they asked for help, a goal is going badly, or
/// the person wrote a note (a note the person writes is always read by someone: "please ring
/// me" in words is a request for help even without the box ticked). A note staff write while
/// recording a call is theirs, not a request, so `person_wrote` is false for calls.
pub fn follow_up_reason(statuses: &[&str], help_requested: bool, person_wrote: bool) -> Option<&'static str> {
    if help_requested {
        Some("Asked for help")
    } else if statuses.contains(&"struggling") {
        Some("Finding a goal hard")
    } else if person_wrote {
        Some("Wrote a note to read")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn follow_ups_are_due_in_working_days() {
        assert_eq!(respond_by(date!(2026 - 12 - 03), 2), date!(2026 - 12 - 07), "Thursday → Monday");
        assert_eq!(respond_by(date!(2026 - 12 - 05), 2), date!(2026 - 12 - 08), "Saturday → Tuesday");
        assert_eq!(respond_by(date!(2026 - 12 - 01), 2), date!(2026 - 12 - 03));
    }

    #[test]
    fn the_channel_follows_the_persons_preference_and_what_they_have() {
        assert_eq!(channel(Some("email"), true, true), "email");
        assert_eq!(channel(Some("letter"), true, true), "sms");
        assert_eq!(channel(Some("sms"), true, false), "email");
        assert_eq!(channel(Some("phone"), false, false), "phone");
    }

    #[test]
    fn help_or_struggling_needs_a_follow_up() {
        assert_eq!(follow_up_reason(&["going_well"], true, false), Some("Asked for help"));
        assert_eq!(follow_up_reason(&["going_well", "struggling"], false, true), Some("Finding a goal hard"));
        assert_eq!(follow_up_reason(&["going_well", "achieved"], false, false), None);
        assert_eq!(follow_up_reason(&["going_well"], false, true), Some("Wrote a note to read"));
    }
}
