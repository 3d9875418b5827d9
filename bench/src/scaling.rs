//! How the notifier grows with its event: one cold invocation per size, 1 KB
//! to Lambda's 6 MB payload limit, for its peak RSS and the size of the
//! ticket it files. Criterion's `render-scaling` and `parse-scaling` groups
//! (shared/core/benches/render.rs) time the same events.

/// The sizes, in 10³ bytes, as criterion names them.
pub const SIZES: [(&str, usize); 4] = [
    ("1KB", 1_000),
    ("64KB", 64_000),
    ("1MB", 1_000_000),
    ("6MB", 6_000_000),
];

/// One size's measurements.
#[derive(Debug, Clone)]
pub struct Point {
    pub name: &'static str,
    pub event_bytes: usize,
    pub ticket_bytes: usize,
    pub peak_rss_kb: u64,
}

/// The event generator the criterion benches use, so the harness's RSS and
/// ticket sizes describe the very events criterion times.
#[path = "../../shared/core/benches/support/mod.rs"]
mod events;
pub use events::sized_event;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_within_a_tenth_of_their_size() {
        for (name, bytes) in SIZES.into_iter().take(3) {
            let n = sized_event(bytes).to_string().len();
            assert!(n <= bytes && n * 10 >= bytes * 9, "{name}: {n} bytes");
        }
    }
}
