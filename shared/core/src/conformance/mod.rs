//! One conformance suite per store port, written once and run against every
//! adapter: [`claims::run`] for a `ClaimStore`, [`incidents::run`] for an
//! `IncidentStore`, [`budget::run`] for a `BudgetStore`. The memory and
//! DynamoDB adapters used to have tests of their own that mirrored each
//! other by hand, and drifted; now a behaviour one adapter has and another
//! lacks fails the suite of the one lacking it.
//!
//! Behind the `conformance` feature: test code, compiled only for the tests
//! of the adapters (this crate's, and adapter crates' beside it).
//!
//! Each case gets a fresh store from the caller's factory (a new table, for
//! DynamoDB), so cases that list what a store holds (the incident indexes)
//! can run side by side, and they do: concurrently, each a task. A run
//! fails naming every case that failed, not only the first.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::BoxFuture;

pub mod budget;
pub mod claims;
pub mod incidents;

/// One case: its name, and the check it runs on a fresh store.
type Case<S> = (&'static str, fn(Arc<S>) -> BoxFuture<'static, ()>);

/// The case list of a suite, from its case functions' names, so a case is
/// named once (by its function) and cannot be left out of the list under
/// another name.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        &[$((stringify!($case), |store| Box::pin($case(store))),)*]
    };
}
pub(crate) use cases;

/// A case that has not finished by then has hung (a store that never
/// answers); the run reports it rather than waiting forever.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs every case of `suite` on a store of its own, concurrently, and
/// panics listing the cases that failed with their messages.
async fn run<S, F, Fut>(suite: &str, cases: &[Case<S>], fresh: F)
where
    S: ?Sized + Send + Sync + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    let mut runs = Vec::new();
    for &(name, case) in cases {
        let store = fresh().await;
        let run = tokio::spawn(tokio::time::timeout(CASE_TIMEOUT, case(store)));
        runs.push((name, run));
    }
    let mut failed = Vec::new();
    for (name, run) in runs {
        match run.await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => failed.push(format!("{name}: no answer in {CASE_TIMEOUT:?}")),
            Err(e) => failed.push(format!("{name}: {}", panic_message(e))),
        }
    }
    assert!(
        failed.is_empty(),
        "{suite} conformance: {} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let payload = e.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

/// Now, in epoch milliseconds: the incident store takes its clock from the
/// caller, the claim store from the system clock, and the cases that test
/// lapses and windows work on the real one.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
