//! An in-memory, per-client fixed-window rate limit, used on sign-in on top of the application's
//! account lockout (which protects one account; this protects against one client trying many).
//!
//! Every attempt takes a unit of the window's budget before the password is checked, so parallel
//! attempts cannot overrun it; a successful sign-in gives its unit back, so a busy shared
//! workstation is not locked out by colleagues signing in correctly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked clients, expired windows are swept on the next attempt.
const SWEEP_ABOVE: usize = 10_000;

pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, clients: Mutex::new(HashMap::new()) }
    }

    /// Takes one attempt for `client` (None: address unknown, all such clients share one budget).
    /// Refused with the time until the window ends.
    pub(crate) fn take(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut clients = self.clients.lock().expect("rate limit lock");
        if clients.len() > SWEEP_ABOVE {
            clients.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, used) = clients.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *used = 0;
        }
        if *used >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(*start)));
        }
        *used += 1;
        Ok(())
    }

    /// Gives back an attempt that succeeded.
    pub(crate) fn give_back(&self, client: Option<IpAddr>) {
        if let Some((_, used)) = self.clients.lock().expect("rate limit lock").get_mut(&client) {
            *used = used.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_per_client_and_gives_back_successes() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..3 {
            limiter.take(a).unwrap();
        }
        let wait = limiter.take(a).unwrap_err();
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50), "{wait:?}");
        limiter.take(b).expect("another client has its own budget");
        limiter.give_back(a);
        limiter.take(a).expect("a success was given back");
        assert!(limiter.take(a).is_err());
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let limiter = RateLimiter::new(1, Duration::from_millis(20));
        limiter.take(None).unwrap();
        assert!(limiter.take(None).is_err());
        std::thread::sleep(Duration::from_millis(30));
        limiter.take(None).unwrap();
    }
}
