//! `RATE_LIMIT_PER_SECOND`: Outseta's limit on requests per second per API key.
//!
//! Each credential has its own budget, counted in **fixed one-second windows**: the
//! wall-clock second (epoch seconds) a request arrives in. The first N requests of a
//! second pass and the rest get 429 until the next second starts, so a client can
//! send up to 2N requests across a second boundary, which a rolling window would
//! refuse; a fixed window is what a client's `Retry-After: 1` wait always clears.
//!
//! The counters are this instance's memory, like its cases: under
//! `cargo lambda watch --concurrency N` or a scaled-out Function URL each instance
//! counts on its own, so the limit holds per instance.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};

/// Request counts per credential.
pub(crate) struct RateLimiter {
    per_second: NonZeroU32,
    windows: Mutex<HashMap<&'static str, Window>>,
}

/// How many requests a credential made in one epoch second.
#[derive(Debug, Clone, Copy)]
struct Window {
    second: u64,
    count: u32,
}

impl RateLimiter {
    pub(crate) fn new(per_second: NonZeroU32) -> Self {
        RateLimiter {
            per_second,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn per_second(&self) -> u32 {
        self.per_second.get()
    }

    /// Counts a request made with `credential` in epoch second `now_secs`; `false`
    /// when it is one too many for that second. `credential` names a credential the
    /// request authenticated with, never an unchecked one, so the map holds at most
    /// one entry per configured credential.
    pub(crate) fn admit(&self, credential: &'static str, now_secs: u64) -> bool {
        // A panic elsewhere while holding the lock leaves the counts usable.
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(credential).or_insert(Window {
            second: now_secs,
            count: 0,
        });
        if window.second != now_secs {
            *window = Window {
                second: now_secs,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        window.count <= self.per_second.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn limiter(per_second: u32) -> RateLimiter {
        RateLimiter::new(NonZeroU32::new(per_second).expect("non-zero"))
    }

    #[test]
    fn n_per_second_then_refused_until_the_next_second() {
        let limiter = limiter(3);
        let admitted: Vec<bool> = (0..5).map(|_| limiter.admit("outseta", NOW)).collect();
        assert_eq!(admitted, [true, true, true, false, false]);
        assert!(limiter.admit("outseta", NOW + 1), "a new window");
        assert!(limiter.admit("outseta", NOW + 1));
        assert!(limiter.admit("outseta", NOW + 1));
        assert!(!limiter.admit("outseta", NOW + 1));
        // A clock that steps back starts a window too, rather than refusing forever.
        assert!(limiter.admit("outseta", NOW));
    }

    #[test]
    fn each_credential_has_its_own_budget() {
        let limiter = limiter(1);
        assert!(limiter.admit("outseta", NOW));
        assert!(!limiter.admit("outseta", NOW));
        assert!(limiter.admit("basic", NOW));
        assert!(limiter.admit("bearer", NOW));
        assert!(!limiter.admit("bearer", NOW));
    }

    #[test]
    fn counting_never_overflows() {
        let limiter = limiter(2);
        if let Ok(mut windows) = limiter.windows.lock() {
            windows.insert(
                "outseta",
                Window {
                    second: NOW,
                    count: u32::MAX,
                },
            );
        }
        assert!(!limiter.admit("outseta", NOW), "saturated, still refused");
        assert!(limiter.admit("outseta", NOW + 1));
    }
}
