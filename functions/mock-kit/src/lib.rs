//! The common kit of the mock OAuth token endpoint (mock-auth) and the mock ticket
//! API (mock-api): the self-validating tokens that let them prove a refresh without
//! any shared store, and everything else both mocks do alike (routing, JSON answers,
//! configuration, the Lambda entry point), so the two cannot drift apart. Each mock
//! keeps only its own endpoints and rules.

mod authorization;
mod clock;
mod env;
mod params;
mod response;
mod route;
mod serve;
#[cfg(feature = "testing")]
pub mod testing;
mod token;

pub use authorization::{decode_basic, split_scheme};
pub use clock::Clock;
pub use env::{InvalidVar, Vars};
pub use params::{Params, RepeatedParam};
pub use response::{json_response, method_not_allowed, set_header};
pub use route::normalise_path;
pub use serve::{MockFunction, run};
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
