//! Staff sign-in: argon2id password hashes, lockout after repeated failures, server-side sessions
//! whose tokens are stored only as SHA-256 digests, and a per-session CSRF token.
//!
//! The sign-in is designed to be one of several: the person and their carers (one-time codes, later
//! NHS login) and clinicians outside the practice (later NHS smartcard/CIS2) will establish a
//! different kind of principal through their own routes, not through staff accounts.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use concord_domain::access::StaffRole;
use concord_domain::audit::{Actor, AuditAction};
use concord_store::{NewAuditEvent, StaffUserRow};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::record::StaffMember;
use crate::{AppError, Concord};

/// Failed attempts before an account is locked, and for how long.
pub const MAX_FAILED_SIGN_INS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);
/// Sessions last a working day at most.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
/// Shortest password accepted for a new account (NCSC/OWASP ASVS 2.1.1 ask for at least 12).
pub const MINIMUM_PASSWORD_LENGTH: usize = 12;

/// A new session: the token goes in the session cookie, the CSRF token in every form.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub staff: StaffMember,
}

/// A live session found from its cookie.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub staff: StaffMember,
    pub csrf_token: String,
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two digests without stopping at the first difference.
pub fn constant_time_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Sessions are looked up by the digest of their token, never by the token itself.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Hashes a password with Argon2id (the argon2 crate's defaults: m=19 MiB, t=2, p=1, the OWASP
/// minimum) into a PHC string, so parameters can be raised later and old hashes still verify.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    // A 16-byte random salt is drawn from the operating system by the argon2 crate.
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Invalid(format!("could not hash password: {error}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

fn staff_from_row(row: &StaffUserRow) -> Result<StaffMember, AppError> {
    let role = StaffRole::parse(&row.role)
        .ok_or_else(|| AppError::Invalid(format!("staff user {} has an unknown role {:?}", row.username, row.role)))?;
    Ok(StaffMember {
        user_id: row.id.clone(),
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role,
        organisation: row.organisation.clone(),
    })
}

impl Concord {
    /// Creates a staff account. Passwords shorter than [`MINIMUM_PASSWORD_LENGTH`] are refused.
    pub async fn create_staff_user(
        &self,
        username: &str,
        display_name: &str,
        role: StaffRole,
        organisation: Option<&str>,
        password: &str,
        is_demo: bool,
    ) -> Result<String, AppError> {
        if username.trim().is_empty() || username.chars().any(char::is_whitespace) {
            return Err(AppError::Invalid("a username is one word with no spaces".into()));
        }
        if password.chars().count() < MINIMUM_PASSWORD_LENGTH {
            return Err(AppError::Invalid(format!("a password needs at least {MINIMUM_PASSWORD_LENGTH} characters")));
        }
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|error| AppError::Invalid(error.to_string()))??;
        Ok(self
            .store
            .create_staff_user(
                &concord_store::NewStaffUser {
                    username,
                    display_name,
                    role: role.as_str(),
                    organisation,
                    password_hash: &hash,
                    is_demo,
                },
                &timestamp(OffsetDateTime::now_utc()),
            )
            .await?)
    }

    /// Signs a staff member in. Every outcome is audited. The error never says whether the username
    /// exists; an account locked by repeated failures says so, with no hint of the password.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        request_id: Option<String>,
    ) -> Result<NewSession, AppError> {
        let now = OffsetDateTime::now_utc();
        let user = self.store.staff_user_by_username(username).await?;
        let audit = |action: AuditAction, detail: &str| NewAuditEvent {
            actor: Actor::User {
                username: username.chars().take(64).collect(),
                role: user.as_ref().map_or_else(|| "unknown".to_owned(), |user| user.role.clone()),
            },
            organisation: user.as_ref().and_then(|user| user.organisation.clone()),
            patient_id: None,
            action,
            entity: "StaffSession".into(),
            detail: detail.to_owned(),
            request_id: request_id.clone(),
            purpose: None,
        };
        let locked =
            user.as_ref().and_then(|user| user.locked_until.clone()).is_some_and(|until| until > timestamp(now));
        // Verify even for unknown users so the response time does not reveal which usernames exist.
        let stored_hash = user.as_ref().map(|user| user.password_hash.clone()).unwrap_or_else(dummy_hash);
        let attempt = password.to_owned();
        let password_ok = tokio::task::spawn_blocking(move || verify_password(&attempt, &stored_hash))
            .await
            .map_err(|error| AppError::Invalid(error.to_string()))?;
        let Some(user) = user.as_ref().filter(|_| password_ok && !locked) else {
            if let Some(user) = &user {
                let lock = (user.failed_sign_ins + 1 >= MAX_FAILED_SIGN_INS).then(|| timestamp(now + LOCKOUT));
                if !locked {
                    self.store.record_failed_sign_in(&user.id, lock.as_deref()).await?;
                }
            }
            self.store
                .record_audit(&[audit(
                    AuditAction::SignInFailed,
                    if locked { "account locked" } else { "wrong username or password" },
                )])
                .await?;
            return Err(if locked {
                AppError::Refused(
                    "This account is locked after too many attempts. Try again in 15 minutes or ask an administrator."
                        .into(),
                )
            } else {
                AppError::Refused("The username or password is not correct".into())
            });
        };
        let staff = staff_from_row(user)?;
        self.store.record_successful_sign_in(&user.id).await?;
        let token = random_token();
        let csrf_token = random_token();
        self.store
            .create_session(
                &token_digest(&token),
                &user.id,
                &csrf_token,
                &timestamp(now),
                &timestamp(now + SESSION_LIFETIME),
            )
            .await?;
        self.store.record_audit(&[audit(AuditAction::SignIn, "signed in")]).await?;
        Ok(NewSession { token, csrf_token, staff })
    }

    /// The session for a cookie token, if it is live.
    pub async fn session(&self, token: &str) -> Result<Option<LiveSession>, AppError> {
        let Some(row) = self.store.session(&token_digest(token), &timestamp(OffsetDateTime::now_utc())).await? else {
            return Ok(None);
        };
        Ok(Some(LiveSession { staff: staff_from_row(&row.user)?, csrf_token: row.csrf_token }))
    }

    pub async fn sign_out(&self, token: &str, staff: &StaffMember, request_id: Option<String>) -> Result<(), AppError> {
        self.store.delete_session(&token_digest(token)).await?;
        self.store
            .record_audit(&[NewAuditEvent {
                actor: staff.actor(),
                organisation: staff.organisation.clone(),
                patient_id: None,
                action: AuditAction::SignOut,
                entity: "StaffSession".into(),
                detail: "signed out".into(),
                request_id,
                purpose: None,
            }])
            .await?;
        Ok(())
    }
}

/// A fixed, valid Argon2id hash of a random secret, verified against when the username is unknown.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify_only_the_right_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn token_digests_are_stable_and_hide_the_token() {
        assert_eq!(token_digest("abc"), token_digest("abc"));
        assert_eq!(token_digest("abc").len(), 64);
        assert!(!token_digest("abc").contains("abc"));
    }
}
