//! Where "now" comes from.
//!
//! Token checks are all about time, so the handlers take the clock from their state:
//! Lambda uses the system clock, tests pin it to a second of their choosing.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The host's wall clock.
    System,
    /// A fixed epoch second, for tests.
    Fixed(u64),
}

impl Clock {
    /// Epoch seconds. A host clock set before 1970 reads as 0 rather than failing:
    /// tokens then look expired, which is the safe way to be wrong.
    pub fn now_secs(self) -> u64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Clock::Fixed(secs) => secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_reads_its_second() {
        assert_eq!(Clock::Fixed(42).now_secs(), 42);
    }

    #[test]
    fn system_clock_is_after_2023() {
        assert!(Clock::System.now_secs() > 1_700_000_000);
    }
}
