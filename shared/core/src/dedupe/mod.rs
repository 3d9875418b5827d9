//! One ticket per failure. Step Functions retries, Lambda's async retries and
//! EventBridge redelivery can all run the notifier twice for one failure;
//! this module decides whether an invocation is the first.
//!
//! Powertools-style records: an invocation *claims* the failure's key with a
//! conditional write (in progress, until its own deadline), then *completes*
//! it with the case `Uid`, or *releases* it when delivery failed so a retry
//! can try again. A crashed invocation's claim lapses at its deadline, so the
//! failure is not lost. With a DynamoDB table the guard spans every
//! container; without one, a per-container memory still stops repeats that
//! land on the same warm instance.
//!
//! A claim whose holder's deadline has passed (the holder crashed or was cut
//! off mid-delivery) is taken over at once by the next copy that looks, with
//! the same conditional write, inside that copy's own budget.
//!
//! A claim carries its holder's random token ([`Owner`]): completing and
//! releasing are conditioned on it, and a takeover writes the new holder's.
//! A lapsed holder that finishes late therefore cannot release or overwrite
//! the claim of the copy that took it over; if it could, a third copy would
//! find the key free and file the failure a second time. It is told so
//! ([`Settled::NotOwner`]) and logs it; its delivery did not fail.
//!
//! The store is a port ([`ClaimStore`]) with a DynamoDB and an in-memory
//! adapter, so the notifier is tested without AWS.
//!
//! A broken store never blocks a ticket: a possible duplicate is better than
//! a lost failure, so store errors are logged and delivery goes ahead.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::BoxFuture;
use crate::intake::Failure;

mod memory;

pub use memory::Memory;

/// What identifies "the same failure".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One ticket per execution, whatever failed in it.
    Execution,
    /// One per failed state of an execution.
    State,
    /// One per error name of an execution (the default).
    Error,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "execution" => Some(Scope::Execution),
            "state" => Some(Scope::State),
            "error" => Some(Scope::Error),
            _ => None,
        }
    }
}

/// The dedupe key: a SHA-256 of the identifying fields, so no event content
/// is stored in the table and the key length is fixed. Failures without an
/// execution ARN (bare errors) are identified by their error, cause and input.
/// A redriven execution keeps its ARN, so the redrive count is part of it:
/// a failure after a redrive is a new failure.
pub fn key(f: &Failure, scope: Scope) -> String {
    let mut h = Sha256::new();
    match &f.execution_arn {
        Some(arn) => {
            h.update(b"execution\0");
            h.update(arn.as_bytes());
            if f.redrive_count > 0 {
                h.update(b"\0redrive\0");
                h.update(f.redrive_count.to_string().as_bytes());
            }
            match scope {
                Scope::Execution => {}
                Scope::State => {
                    h.update(b"\0state\0");
                    h.update(f.failed_state.as_deref().unwrap_or("").as_bytes());
                }
                Scope::Error => {
                    h.update(b"\0error\0");
                    h.update(f.error_or_status().as_bytes());
                }
            }
        }
        None => {
            h.update(b"content\0");
            h.update(f.error.as_deref().unwrap_or("").as_bytes());
            h.update(b"\0");
            h.update(f.cause.as_deref().unwrap_or("").as_bytes());
            h.update(b"\0");
            h.update(format!("{:?}", f.input).as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: deliver, then complete or release.
    New,
    /// Delivered before; the first invocation's result.
    Done { case_uid: String, subject: String },
    /// Another invocation holds it and has not finished.
    InProgress,
}

#[derive(Debug, thiserror::Error)]
#[error("dedupe store: {0}")]
pub struct StoreError(pub String);

/// What every claim store call returns.
pub type Stored<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// Who holds a claim. Random per claimant, so a holder whose lease lapsed
/// and was taken over can no longer complete or release the claim of the
/// copy that took it: its token is not the one stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner(String);

impl Owner {
    /// A fresh token: 96 random bits, so two invocations never share one.
    pub fn new() -> Self {
        use rand::Rng;
        let bytes: [u8; 12] = rand::rng().random();
        Owner(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Owner {
    fn default() -> Self {
        Owner::new()
    }
}

/// A claim's terms: who holds it, in progress until its holder's deadline,
/// and the whole record (so a later copy still finds the result) until
/// `expires`.
#[derive(Debug, Clone)]
pub struct Lease {
    pub owner: Owner,
    pub in_progress_until: SystemTime,
    pub expires: SystemTime,
}

impl Lease {
    /// A lease for a new owner: every claimant is its own.
    pub fn new(in_progress_until: SystemTime, expires: SystemTime) -> Self {
        Lease {
            owner: Owner::new(),
            in_progress_until,
            expires,
        }
    }
}

/// How a holder's `complete` or `release` went. Not an error: a lapsed
/// holder finding its claim taken over is expected under load, and its
/// caller logs it rather than treating the delivery as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Settled {
    /// The claim was still this owner's, in progress: the write took effect.
    Applied,
    /// The claim is not (or no longer) this owner's in-progress claim: it
    /// lapsed and another copy took it over, or it was already completed,
    /// released or expired. Nothing was written.
    NotOwner,
}

/// A delivered failure's result, kept for the copies that come later.
#[derive(Debug, Clone, Copy)]
pub struct Filed<'a> {
    pub case_uid: &'a str,
    pub subject: &'a str,
    pub expires: SystemTime,
}

/// Records what this invocation filed in its claim, so a later copy is
/// answered with it. Never fails the invocation: the ticket is filed, and
/// a claim that could not be completed (lapsed and taken over, or a store
/// that is down) only means a later copy may file it again, which is
/// logged as `what` ("ticket", "occurrence").
pub async fn complete(
    store: &dyn ClaimStore,
    key: &str,
    owner: &Owner,
    filed: Filed<'_>,
    what: &str,
) {
    match store.complete(key, owner, filed).await {
        Ok(Settled::Applied) => {}
        Ok(Settled::NotOwner) => tracing::warn!(
            "{what} filed after this invocation's dedupe claim lapsed and was taken over; the copy holding it may file it again"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "{what} filed but not recorded for dedupe; a retry may file it again"
        ),
    }
}

/// Gives up this invocation's claim after a failed delivery, so the
/// caller's retry can file the ticket at once instead of waiting for the
/// claim to lapse. Logged, never an error of its own.
pub async fn release(store: &dyn ClaimStore, key: &str, owner: &Owner) {
    match store.release(key, owner).await {
        Ok(Settled::Applied) => {}
        Ok(Settled::NotOwner) => {
            tracing::warn!("dedupe claim not released: it lapsed and another copy took it over")
        }
        Err(e) => tracing::warn!(
            error = %e,
            "could not release the dedupe claim; a retry waits until it lapses"
        ),
    }
}

/// Where claims live: a port, so the notifier is tested without AWS.
pub trait ClaimStore: Send + Sync {
    /// For the log line: `dynamodb` or `memory`.
    fn describe(&self) -> &'static str;

    /// Claims `key` for the lease's owner. A lapsed in-progress claim is
    /// taken over: the lease's owner replaces the lapsed one's.
    fn claim<'a>(&'a self, key: &'a str, lease: &'a Lease) -> Stored<'a, Claim>;

    /// The state of a key someone else claimed (consistent read). A claim
    /// whose holder's deadline has passed reads as [`Claim::New`], so the
    /// caller claims it; so does a record whose `expires` has passed.
    fn existing<'a>(&'a self, key: &'a str) -> Stored<'a, Claim>;

    /// Records the result, if `owner` still holds the claim in progress
    /// (its deadline may have passed, as long as nobody took it over).
    fn complete<'a>(
        &'a self,
        key: &'a str,
        owner: &'a Owner,
        filed: Filed<'a>,
    ) -> Stored<'a, Settled>;

    /// Gives a claim back after a failed delivery, so a retry is not
    /// mistaken for a duplicate. A completed claim stays: its result is
    /// what later copies are answered with. Only `owner`'s claim: a lapsed
    /// holder must not give away the claim of the copy that took it over.
    fn release<'a>(&'a self, key: &'a str, owner: &'a Owner) -> Stored<'a, Settled>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::failure_of as failure;
    use serde_json::json;
    use std::time::Duration;

    const ARN: &str = "arn:aws:states:eu-west-1:1:execution:m:e1";

    #[test]
    fn scopes_decide_what_counts_as_the_same_failure() {
        let a = failure(json!({"error": {"Error": "A"}, "execution": ARN, "failedState": "S1"}));
        let b = failure(json!({"error": {"Error": "B"}, "execution": ARN, "failedState": "S1"}));
        let c = failure(json!({"error": {"Error": "A"}, "execution": ARN, "failedState": "S2"}));
        assert_eq!(key(&a, Scope::Execution), key(&b, Scope::Execution));
        assert_ne!(key(&a, Scope::Error), key(&b, Scope::Error));
        assert_eq!(key(&a, Scope::Error), key(&c, Scope::Error));
        assert_eq!(key(&a, Scope::State), key(&b, Scope::State));
        assert_ne!(key(&a, Scope::State), key(&c, Scope::State));
        assert_eq!(key(&a, Scope::Error).len(), 64);
        let bare1 = failure(json!({"Error": "X", "Cause": "1"}));
        let bare2 = failure(json!({"Error": "X", "Cause": "2"}));
        assert_ne!(key(&bare1, Scope::Error), key(&bare2, Scope::Error));
        assert_eq!(Scope::parse(" State "), Some(Scope::State));
        assert_eq!(Scope::parse("run"), None);
    }

    #[test]
    fn a_redrive_is_a_new_failure() {
        let at = |n: u32| {
            let mut f =
                failure(json!({"error": {"Error": "A"}, "execution": ARN, "failedState": "S1"}));
            f.redrive_count = n;
            f
        };
        for scope in [Scope::Execution, Scope::State, Scope::Error] {
            assert_ne!(key(&at(0), scope), key(&at(1), scope));
            assert_eq!(key(&at(1), scope), key(&at(1), scope));
            assert_ne!(key(&at(1), scope), key(&at(2), scope));
        }
    }

    #[tokio::test]
    async fn memory_guard_is_bounded() {
        let store = Memory::new();
        let now = SystemTime::now();
        for i in 0..(memory::MEMORY_MAX as u64 + 10) {
            let exp = now + Duration::from_secs(60 + i);
            store
                .claim(&format!("k{i}"), &Lease::new(exp, exp))
                .await
                .unwrap();
        }
        assert_eq!(store.len(), memory::MEMORY_MAX);
        assert!(!store.holds("k0") && store.holds(&format!("k{}", memory::MEMORY_MAX + 9)));
    }
}
