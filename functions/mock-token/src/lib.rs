//! Code shared by the mock OAuth token endpoint (mock-auth) and the mock ticket API
//! (mock-api): the self-validating tokens that let them prove a refresh without any
//! shared store, and the few helpers both need around them.

mod clock;
mod route;
mod token;

pub use clock::Clock;
pub use route::normalise_path;
pub use token::{CLOCK_SKEW_SECS, Claims, IssuedToken, TokenError, issue, short_id, verify};

use subtle::ConstantTimeEq;

/// Compares secrets without an early exit on the first differing byte, so response
/// timing does not reveal how much of a guessed secret was right. Only the length
/// can leak, which a fixed-format secret gives away anyway.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_contents_and_length() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
