//! Opaque references to patient records, so no identifier ever appears in a URL (OWASP ASVS 8.3.1):
//! search results link to `/patients/record/{reference}` where the reference is random, belongs to
//! one session, and is resolved here, in memory, to the record's internal id.
//!
//! Invariants: a reference resolves only for the session that was given it (another session gets
//! "not found", exactly as for a made-up reference); references die with sign-out and with the
//! process (people search again); memory is bounded per session and idle sessions are swept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// References kept per session; the oldest are forgotten first.
const PER_SESSION: usize = 500;
/// Sessions unused for longer than a working day are swept (sessions last 8 hours at most).
const IDLE: Duration = Duration::from_secs(9 * 60 * 60);

#[derive(Default)]
pub(crate) struct PatientRefs {
    sessions: Mutex<HashMap<String, SessionRefs>>,
}

struct SessionRefs {
    to_patient: HashMap<String, String>,
    to_reference: HashMap<String, String>,
    issued: VecDeque<String>,
    used: Instant,
}

impl PatientRefs {
    /// The session's reference for a patient, issuing one if the session has none yet.
    /// `session` is the session token's digest, never the token.
    pub(crate) fn reference(&self, session: &str, patient_id: &str) -> String {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("refs lock");
        sessions.retain(|_, refs| now.duration_since(refs.used) < IDLE);
        let refs = sessions.entry(session.to_owned()).or_insert_with(|| SessionRefs {
            to_patient: HashMap::new(),
            to_reference: HashMap::new(),
            issued: VecDeque::new(),
            used: now,
        });
        refs.used = now;
        if let Some(reference) = refs.to_reference.get(patient_id) {
            return reference.clone();
        }
        if refs.issued.len() >= PER_SESSION
            && let Some(oldest) = refs.issued.pop_front()
            && let Some(patient) = refs.to_patient.remove(&oldest)
        {
            refs.to_reference.remove(&patient);
        }
        let reference = random_reference();
        refs.to_patient.insert(reference.clone(), patient_id.to_owned());
        refs.to_reference.insert(patient_id.to_owned(), reference.clone());
        refs.issued.push_back(reference.clone());
        reference
    }

    /// The patient behind a reference, only if this session was given it.
    pub(crate) fn resolve(&self, session: &str, reference: &str) -> Option<String> {
        let mut sessions = self.sessions.lock().expect("refs lock");
        let refs = sessions.get_mut(session)?;
        refs.used = Instant::now();
        refs.to_patient.get(reference).cloned()
    }

    /// Forgets a session's references (at sign-out).
    pub(crate) fn forget(&self, session: &str) {
        self.sessions.lock().expect("refs lock").remove(session);
    }
}

/// 128 random bits, URL-safe.
fn random_reference() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_stable_per_session_and_private_to_it() {
        let refs = PatientRefs::default();
        let first = refs.reference("session-a", "patient-1");
        assert_eq!(refs.reference("session-a", "patient-1"), first, "the same patient keeps its reference");
        assert_eq!(first.len(), 22);
        assert!(!first.contains("patient"));
        assert_eq!(refs.resolve("session-a", &first).as_deref(), Some("patient-1"));
        assert_eq!(refs.resolve("session-b", &first), None, "another session cannot use it");
        let other = refs.reference("session-b", "patient-1");
        assert_ne!(other, first, "each session gets its own reference");
        refs.forget("session-a");
        assert_eq!(refs.resolve("session-a", &first), None);
        assert_eq!(refs.resolve("session-b", &other).as_deref(), Some("patient-1"));
    }

    #[test]
    fn memory_per_session_is_bounded() {
        let refs = PatientRefs::default();
        let oldest = refs.reference("s", "p0");
        for index in 1..=PER_SESSION {
            refs.reference("s", &format!("p{index}"));
        }
        assert_eq!(refs.resolve("s", &oldest), None, "the oldest reference was forgotten");
        let sessions = refs.sessions.lock().unwrap();
        assert_eq!(sessions["s"].to_patient.len(), PER_SESSION);
        assert_eq!(sessions["s"].to_reference.len(), PER_SESSION);
    }
}
