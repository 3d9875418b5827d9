//! The clock an occurrence is recorded with and the coalescing decision:
//! pure functions of the times they are given, so they are table tests;
//! only [`now_ms`] reads the clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// The clock and limits one occurrence is recorded with.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub now_ms: u64,
    /// Occurrences seen before this belong to an expired incident.
    pub window_start_ms: u64,
    /// The creator's deadline, if this occurrence files the case.
    pub creating_until_ms: u64,
    /// Epoch seconds for the table's TTL.
    pub expires_s: u64,
}

/// The TTL of an incident outlives its window by this much, so the flush
/// can still see (and prune) one that just expired.
const TTL_MARGIN_S: u64 = 86_400;

impl Timing {
    /// The timing of an occurrence seen at `now_ms` with incidents live for
    /// `window`, by an invocation that must be done by `end_wall`: a creator
    /// owns the incident until its own deadline, not a fixed lease, so it
    /// lapses exactly when it can no longer file the case.
    pub fn at(now_ms: u64, window: Duration, end_wall: SystemTime) -> Self {
        let window = millis(window);
        Timing {
            now_ms,
            window_start_ms: now_ms.saturating_sub(window),
            creating_until_ms: epoch_ms(end_wall),
            expires_s: now_ms.saturating_add(window) / 1000 + TTL_MARGIN_S,
        }
    }
}

/// What to do with the pending occurrences of an open incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing is pending.
    Nothing,
    /// The interval since the last reply has passed: post now.
    PostNow,
    /// Wait: the next reply may go out at `due_ms` (the next occurrence
    /// after that, or the flush, posts it).
    Coalesce { due_ms: u64 },
}

/// The coalescing decision, pure so it is tested as a table. A case counts
/// as a post: the first reply comes at least one interval after the case.
pub fn decide(
    now_ms: u64,
    last_reply_ms: Option<u64>,
    interval: Duration,
    pending: u64,
) -> Decision {
    if pending == 0 {
        return Decision::Nothing;
    }
    let Some(last) = last_reply_ms else {
        return Decision::PostNow;
    };
    let due_ms = last.saturating_add(u64::try_from(interval.as_millis()).unwrap_or(u64::MAX));
    if now_ms >= due_ms {
        Decision::PostNow
    } else {
        Decision::Coalesce { due_ms }
    }
}

/// Now in epoch milliseconds, the unit every stored time uses (the stores
/// compare times written by different containers, so never an `Instant`).
pub fn now_ms() -> u64 {
    epoch_ms(SystemTime::now())
}

/// Epoch milliseconds; a time before the epoch (a broken clock) is 0
/// rather than an error, which only makes an incident look older.
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An event's time (a stop date) in the stores' unit.
pub fn odt_ms(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_decisions() {
        let s = Duration::from_secs;
        // (now, last reply, interval, pending) -> decision
        let rows: &[(u64, Option<u64>, Duration, u64, Decision)] = &[
            (1_000, None, s(60), 0, Decision::Nothing),
            (1_000, Some(0), s(60), 0, Decision::Nothing),
            (1_000, None, s(60), 1, Decision::PostNow),
            (61_000, Some(1_000), s(60), 1, Decision::PostNow),
            (
                60_999,
                Some(1_000),
                s(60),
                3,
                Decision::Coalesce { due_ms: 61_000 },
            ),
            (1_000, Some(1_000), s(0), 1, Decision::PostNow),
            (
                5_000,
                Some(1_000),
                s(60),
                50,
                Decision::Coalesce { due_ms: 61_000 },
            ),
            (
                u64::MAX - 1,
                Some(u64::MAX - 10),
                s(60),
                1,
                Decision::Coalesce { due_ms: u64::MAX },
            ),
        ];
        for &(now, last, interval, pending, want) in rows {
            assert_eq!(
                decide(now, last, interval, pending),
                want,
                "{now} {last:?} {interval:?} {pending}"
            );
        }
    }

    #[test]
    fn timing_follows_the_window_and_the_deadline() {
        let s = Duration::from_secs;
        let wall = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        // (window start, creating until, TTL in epoch seconds)
        type Want = (u64, u64, u64);
        // (now, window, deadline) -> want
        let rows: &[(u64, Duration, u64, Want)] = &[
            (
                10_000_000,
                s(600),
                10_005_000,
                (9_400_000, 10_005_000, 10_600 + 86_400),
            ),
            // A window longer than the clock: it starts at the epoch.
            (5_000, s(600), 6_000, (0, 6_000, 605 + 86_400)),
            (
                7_000,
                Duration::MAX,
                8_000,
                (0, 8_000, u64::MAX / 1000 + 86_400),
            ),
        ];
        for &(now, window, deadline, want) in rows {
            let t = Timing::at(now, window, wall(deadline));
            assert_eq!(t.now_ms, now);
            assert_eq!(
                (t.window_start_ms, t.creating_until_ms, t.expires_s),
                want,
                "{now} {window:?} {deadline}"
            );
        }
        assert_eq!(epoch_ms(UNIX_EPOCH - s(1)), 0);
        assert_eq!(odt_ms(OffsetDateTime::UNIX_EPOCH + s(2)), 2_000);
    }
}
