//! CSRF tokens. Signed-in forms carry the session's synchronizer token (kept server-side by the
//! application). The sign-in form, which has no session yet, uses a signed double-submit token:
//! the same value goes in a cookie and in the form, and it carries an HMAC under a key only this
//! process knows, so a value planted by someone who can set cookies is still refused.
//!
//! Token format: `{issued unix seconds}.{random}.{hmac}` (base64url parts).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use time::OffsetDateTime;

/// A sign-in form older than this is refused (and the page offers a fresh one).
const PRE_SESSION_LIFETIME_SECONDS: i64 = 2 * 60 * 60;

fn mac(key: &[u8; 32], message: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"concord pre-session csrf\0");
    mac.update(message.as_bytes());
    mac
}

/// A new pre-session token.
pub(crate) fn issue_pre_session(key: &[u8; 32]) -> String {
    issue_at(key, OffsetDateTime::now_utc().unix_timestamp())
}

fn issue_at(key: &[u8; 32], issued: i64) -> String {
    let mut random = [0u8; 24];
    rand::rng().fill_bytes(&mut random);
    let message = format!("{issued}.{}", URL_SAFE_NO_PAD.encode(random));
    let tag = URL_SAFE_NO_PAD.encode(mac(key, &message).finalize().into_bytes());
    format!("{message}.{tag}")
}

/// Whether a pre-session token was made by this process and is still fresh.
pub(crate) fn pre_session_is_valid(key: &[u8; 32], token: &str) -> bool {
    let Some((message, tag)) = token.rsplit_once('.') else { return false };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else { return false };
    if mac(key, message).verify_slice(&tag).is_err() {
        return false;
    }
    let Some(issued) = message.split_once('.').and_then(|(issued, _)| issued.parse::<i64>().ok()) else {
        return false;
    };
    let age = OffsetDateTime::now_utc().unix_timestamp() - issued;
    (0..PRE_SESSION_LIFETIME_SECONDS).contains(&age)
}

/// The sign-in form's token passes when the form and cookie carry the same valid token.
pub(crate) fn pre_session_matches(key: &[u8; 32], cookie: Option<&str>, form: Option<&str>) -> bool {
    match (cookie, form) {
        (Some(cookie), Some(form)) => constant_time_eq(cookie, form) && pre_session_is_valid(key, cookie),
        _ => false,
    }
}

/// Compares secrets without an early exit that would leak how much of a guess was right.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_token_is_valid_only_under_its_key_and_unaltered() {
        let token = issue_pre_session(&KEY);
        assert!(pre_session_is_valid(&KEY, &token));
        assert!(!pre_session_is_valid(&[8; 32], &token), "another process's key");
        let mut altered = token.clone();
        altered.replace_range(0..1, if token.starts_with('1') { "2" } else { "1" });
        assert!(!pre_session_is_valid(&KEY, &altered));
        assert!(!pre_session_is_valid(&KEY, "anything"));
        assert!(!pre_session_is_valid(&KEY, ""));
    }

    #[test]
    fn stale_tokens_are_refused() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert!(!pre_session_is_valid(&KEY, &issue_at(&KEY, now - PRE_SESSION_LIFETIME_SECONDS - 1)));
        assert!(!pre_session_is_valid(&KEY, &issue_at(&KEY, now + 600)), "issued in the future");
        assert!(pre_session_is_valid(&KEY, &issue_at(&KEY, now - 60)));
    }

    #[test]
    fn the_form_and_cookie_must_agree() {
        let token = issue_pre_session(&KEY);
        let other = issue_pre_session(&KEY);
        assert!(pre_session_matches(&KEY, Some(&token), Some(&token)));
        assert!(!pre_session_matches(&KEY, Some(&token), Some(&other)));
        assert!(!pre_session_matches(&KEY, None, Some(&token)));
        assert!(!pre_session_matches(&KEY, Some(&token), None));
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
