//! How a person (or a carer with proxy access) opens their preparation online: an access code
//! sent by their preferred channel plus a date-of-birth check. The identity step is this module's
//! one rule, so NHS login can replace it without touching what follows.
//!
//! Invariants: a code works only until it expires and while it is not locked or revoked; five wrong
//! dates of birth lock it for half an hour, and fifteen in all revoke it (a new code must be
//! sent); the code itself is never stored, only its digest (by the caller); codes avoid characters
//! people confuse (0/O, 1/I/L).

use time::{Date, Duration, OffsetDateTime};

/// How long a code works from when it is sent.
pub const CODE_DAYS: i64 = 28;
/// Wrong dates of birth in a row before a code is locked for [`LOCK_MINUTES`].
pub const FAILURES_BEFORE_LOCK: i64 = 5;
pub const LOCK_MINUTES: i64 = 30;
/// Wrong dates of birth in all before a code is revoked.
pub const FAILURES_BEFORE_REVOKE: i64 = 15;
/// A person's online session ends this long after it starts.
pub const SESSION_MINUTES: i64 = 30;

/// Characters of a code: capitals and digits without 0, O, 1, I or L (31 characters; 12 of them
/// give about 59 bits).
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const CODE_LENGTH: usize = 12;

/// The state of one code, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: OffsetDateTime,
    pub failed_attempts: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub revoked: bool,
}

/// Why a code does not open the preparation. The words are safe to show: they never say whether
/// the date of birth or the code was wrong for a code that exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The code or date of birth is not right. Check them and try again.")]
    NoMatch,
    #[error("This code has expired. Ask the practice for a new one.")]
    Expired,
    #[error("Too many tries. Try again after {until}, or ask the practice for a new code.")]
    Locked { until: String },
    #[error("This code can no longer be used. Ask the practice for a new one.")]
    Revoked,
}

/// Whether the code may be tried now.
pub fn may_try(state: &CodeState, now: OffsetDateTime) -> Result<(), Refusal> {
    if state.revoked {
        return Err(Refusal::Revoked);
    }
    if now >= state.expires_at {
        return Err(Refusal::Expired);
    }
    if let Some(until) = state.locked_until.filter(|until| now < *until) {
        return Err(Refusal::Locked { until: clock(until) });
    }
    Ok(())
}

/// The state after a wrong date of birth.
pub fn after_failure(state: &CodeState, now: OffsetDateTime) -> CodeState {
    let failed = state.failed_attempts + 1;
    CodeState {
        failed_attempts: failed,
        locked_until: if failed % FAILURES_BEFORE_LOCK == 0 {
            Some(now + Duration::minutes(LOCK_MINUTES))
        } else {
            state.locked_until
        },
        revoked: state.revoked || failed >= FAILURES_BEFORE_REVOKE,
        ..state.clone()
    }
}

/// The refusal to show after a wrong date of birth: locked or revoked once that happens.
pub fn refusal_after_failure(state: &CodeState, now: OffsetDateTime) -> Refusal {
    may_try(state, now).err().unwrap_or(Refusal::NoMatch)
}

/// Whether a date of birth matches.
pub fn birth_date_matches(recorded: Date, given: Date) -> bool {
    recorded == given
}

/// A code from random bytes (the caller's CSPRNG), rejection-sampled so every character is
/// equally likely.
pub fn code_from(mut random: impl FnMut() -> u8) -> String {
    let limit = 256 - 256 % CODE_ALPHABET.len();
    let mut code = String::with_capacity(CODE_LENGTH);
    while code.len() < CODE_LENGTH {
        let byte = usize::from(random());
        if byte < limit {
            code.push(char::from(CODE_ALPHABET[byte % CODE_ALPHABET.len()]));
        }
    }
    code
}

/// "ABCD-EFGH-JKMN", as printed.
pub fn display_code(code: &str) -> String {
    code.as_bytes().chunks(4).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect::<Vec<_>>().join("-")
}

/// A typed code in the stored form: capitals, no spaces or dashes; `None` when it cannot be a code.
pub fn normalise_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|ch| !ch.is_whitespace() && *ch != '-').map(|ch| ch.to_ascii_uppercase()).collect();
    (code.len() == CODE_LENGTH && code.bytes().all(|byte| CODE_ALPHABET.contains(&byte))).then_some(code)
}

fn clock(at: OffsetDateTime) -> String {
    let local = crate::uk_time::utc_to_uk_time(at);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// The stronger identity check before the person changes who may see their record (consent to
/// share, what their proxies may do): a 6-digit code sent to the email address or mobile number
/// on their GP record, so signing in with the letter's code and a date of birth is not enough.
/// Designed to be replaced by NHS login at a higher identity level.
pub const STEP_UP_DIGITS: usize = 6;
/// How long a step-up code may be used.
pub const STEP_UP_CODE_MINUTES: i64 = 10;
/// Wrong step-up codes before the code stops working (the person asks for a new one).
pub const STEP_UP_ATTEMPTS: i64 = 3;
/// How long the check holds once passed (within the session).
pub const STEP_UP_VALID_MINUTES: i64 = 15;

/// A step-up code from a source of random digits 0..=9.
pub fn step_up_code(mut digit: impl FnMut() -> u8) -> String {
    (0..STEP_UP_DIGITS).map(|_| char::from(b'0' + digit() % 10)).collect()
}

/// What a proxy (a carer or family member) may do for the person, as the person chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProxyScope {
    /// Read the preparation letter and its results.
    Letter,
    /// Write the agenda and the needs check.
    Agenda,
    /// Read the care and support plan and record progress on its goals.
    Plan,
    /// See who has looked at the person's record.
    RecordAccess,
}

impl ProxyScope {
    pub const ALL: [Self; 4] = [Self::Letter, Self::Agenda, Self::Plan, Self::RecordAccess];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Letter => "letter",
            Self::Agenda => "agenda",
            Self::Plan => "plan",
            Self::RecordAccess => "record_access",
        }
    }

    /// How the person is asked about it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Letter => "Read my results and the letter before my appointment",
            Self::Agenda => "Write what I want to talk about at my appointment",
            Self::Plan => "Read my care and support plan and record how my goals are going",
            Self::RecordAccess => "See who has looked at my record",
        }
    }

    /// Parses a stored scope list. The first scope the practice set up, `preparation`, is the
    /// letter and the agenda.
    pub fn parse_list(text: &str) -> Vec<Self> {
        let mut scopes: Vec<Self> = text
            .split([' ', ','])
            .flat_map(|word| match word {
                "preparation" => vec![Self::Letter, Self::Agenda],
                other => Self::ALL.into_iter().filter(|scope| scope.as_str() == other).collect(),
            })
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    pub fn format_list(scopes: &[Self]) -> String {
        let mut sorted = scopes.to_vec();
        sorted.sort();
        sorted.dedup();
        sorted.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// How the person says their goal is going (recorded against the goal; FHIR Goal achievementStatus).
pub const GOAL_PROGRESS: [(&str, &str, &str); 5] = [
    ("not_started", "I have not started yet", "in-progress"),
    ("going_well", "It is going well", "improving"),
    ("no_change", "Nothing has changed yet", "no-change"),
    ("struggling", "I am finding it hard", "worsening"),
    ("achieved", "I have done it", "achieved"),
];

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn fresh() -> CodeState {
        CodeState {
            expires_at: datetime!(2026-12-29 00:00 UTC),
            failed_attempts: 0,
            locked_until: None,
            revoked: false,
        }
    }

    #[test]
    fn five_wrong_tries_lock_and_fifteen_revoke() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let mut state = fresh();
        for _ in 0..4 {
            state = after_failure(&state, now);
            assert_eq!(may_try(&state, now), Ok(()));
        }
        state = after_failure(&state, now);
        assert!(matches!(refusal_after_failure(&state, now), Refusal::Locked { .. }));
        assert_eq!(may_try(&state, now + Duration::minutes(31)), Ok(()), "the lock lifts after half an hour");
        let mut later = now + Duration::minutes(31);
        for _ in 0..10 {
            state = after_failure(&state, later);
            later += Duration::minutes(31);
        }
        assert_eq!(state.failed_attempts, 15);
        assert_eq!(may_try(&state, later), Err(Refusal::Revoked));
    }

    #[test]
    fn codes_expire() {
        assert_eq!(may_try(&fresh(), datetime!(2026-12-29 00:00 UTC)), Err(Refusal::Expired));
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet_and_read_back_however_typed() {
        let mut counter = 0u8;
        let code = code_from(|| {
            counter = counter.wrapping_add(37);
            counter
        });
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|byte| CODE_ALPHABET.contains(&byte)));
        let shown = display_code(&code);
        assert_eq!(shown.len(), 14);
        assert_eq!(normalise_code(&shown.to_lowercase().replace('-', " ")), Some(code));
        assert_eq!(normalise_code("ABCD-EFGH-JKM0"), None, "0 is never in a code");
        assert_eq!(normalise_code("ABCD"), None);
    }

    #[test]
    fn refusals_never_say_which_part_was_wrong() {
        let text = Refusal::NoMatch.to_string();
        assert!(text.contains("code or date of birth"));
    }

    #[test]
    fn proxy_scopes_read_the_first_scope_and_round_trip() {
        assert_eq!(ProxyScope::parse_list("preparation"), [ProxyScope::Letter, ProxyScope::Agenda]);
        let scopes = ProxyScope::parse_list("plan letter unknown plan");
        assert_eq!(scopes, [ProxyScope::Letter, ProxyScope::Plan]);
        assert_eq!(ProxyScope::parse_list(&ProxyScope::format_list(&scopes)), scopes);
    }

    #[test]
    fn step_up_codes_are_six_digits() {
        let mut next = 0u8;
        let code = step_up_code(|| {
            next += 7;
            next
        });
        assert_eq!(code.len(), STEP_UP_DIGITS);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
    }
}
