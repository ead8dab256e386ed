//! What every handler shares: the application, the signing key, per-session references, the
//! sign-in rate limit and two short-lived caches.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concord_app::registers::RegisterCounts;
use concord_app::{AppError, Concord};
use rand::RngCore;
use time::Date;

use crate::rate_limit::RateLimiter;
use crate::refs::PatientRefs;

/// Sign-in attempts allowed per client address per minute (successful ones are given back).
pub(crate) const SIGN_INS_PER_MINUTE: u32 = 10;
/// How long the "synthetic data" flag and register counts are reused before being read again.
const FLAG_TTL: Duration = Duration::from_secs(30);
const COUNTS_TTL: Duration = Duration::from_secs(60);

/// Register counts are cached per day and practice (`None`: every practice).
type CountsKey = (Date, Option<String>);

#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub concord: Concord,
    pub secure_cookies: bool,
    /// Signs the pre-session CSRF cookie; random per process, so a restart expires sign-in forms.
    pub signing_key: [u8; 32],
    pub refs: PatientRefs,
    pub sign_in_limiter: RateLimiter,
    synthetic: Mutex<Option<(Instant, bool)>>,
    counts: Mutex<HashMap<CountsKey, (Instant, RegisterCounts)>>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub(crate) fn new(concord: Concord, secure_cookies: bool) -> Self {
        let mut signing_key = [0u8; 32];
        rand::rng().fill_bytes(&mut signing_key);
        Self(Arc::new(Inner {
            concord,
            secure_cookies,
            signing_key,
            refs: PatientRefs::default(),
            sign_in_limiter: RateLimiter::new(SIGN_INS_PER_MINUTE, Duration::from_secs(60)),
            synthetic: Mutex::new(None),
            counts: Mutex::new(HashMap::new()),
        }))
    }

    /// Whether the database holds only synthetic (fictional) people. An unreadable flag counts as
    /// "no": the banner must never claim real data is fictional.
    pub(crate) async fn synthetic(&self) -> bool {
        if let Some((at, value)) = *self.synthetic.lock().expect("flag lock")
            && at.elapsed() < FLAG_TTL
        {
            return value;
        }
        let value = match self.concord.store.fact("synthetic").await {
            Ok(fact) => fact.as_deref() == Some("yes"),
            Err(error) => {
                tracing::warn!(error = %error, "could not read the synthetic-data flag");
                return false;
            }
        };
        *self.synthetic.lock().expect("flag lock") = Some((Instant::now(), value));
        value
    }

    /// Register counts, reused for a minute: counting walks every patient of the practice.
    pub(crate) async fn register_counts(&self, on: Date, practice: Option<&str>) -> Result<RegisterCounts, AppError> {
        let key = (on, practice.map(str::to_owned));
        if let Some((at, counts)) = self.counts.lock().expect("counts lock").get(&key)
            && at.elapsed() < COUNTS_TTL
        {
            return Ok(counts.clone());
        }
        let counts = self.concord.register_counts(on, practice).await?;
        let mut cache = self.counts.lock().expect("counts lock");
        cache.retain(|_, (at, _)| at.elapsed() < COUNTS_TTL);
        cache.insert(key, (Instant::now(), counts.clone()));
        Ok(counts)
    }
}
