//! The `BudgetStore` suite: one count per second, shared by every
//! container, that never lets a second's spending pass its limit however
//! many containers spend at once.
//!
//! Seconds here are made up (the store takes the second from its caller),
//! so no case depends on where in a real second it runs.

use std::future::Future;
use std::sync::Arc;

use super::{Case, cases};
use crate::budget::BudgetStore;

/// Runs every case, each on a fresh store from `fresh`.
pub async fn run<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn BudgetStore>>,
{
    super::run("BudgetStore", CASES, fresh).await;
}

const CASES: &[Case<dyn BudgetStore>] = cases![
    a_second_takes_requests_up_to_its_limit,
    a_new_second_starts_from_nothing,
    a_forced_spend_always_counts,
    an_older_second_neither_spends_nor_resets_the_newer,
    concurrent_spends_never_pass_the_limit,
];

const S: u64 = 1_800_000_000;

async fn spend(store: &dyn BudgetStore, second: u64, cost: u32, limit: Option<u32>) -> bool {
    match store.spend(second, cost, limit).await {
        Ok(spent) => spent,
        Err(e) => panic!("spend({second}, {cost}, {limit:?}) failed: {e}"),
    }
}

async fn a_second_takes_requests_up_to_its_limit(store: Arc<dyn BudgetStore>) {
    let s = store.as_ref();
    assert!(spend(s, S, 2, Some(4)).await, "2 of 4");
    assert!(spend(s, S, 2, Some(4)).await, "4 of 4");
    assert!(!spend(s, S, 2, Some(4)).await, "6 of 4 was let through");
    assert!(!spend(s, S, 1, Some(4)).await, "5 of 4 was let through");
    // A refused spend counts nothing: room is still exactly the limit.
    assert!(spend(s, S, 1, Some(5)).await, "5 of 5 after refusals");
}

async fn a_new_second_starts_from_nothing(store: Arc<dyn BudgetStore>) {
    let s = store.as_ref();
    assert!(spend(s, S, 4, Some(4)).await);
    assert!(!spend(s, S, 1, Some(4)).await);
    assert!(spend(s, S + 1, 4, Some(4)).await, "the next second is full");
    assert!(!spend(s, S + 1, 1, Some(4)).await);
    assert!(spend(s, S + 5, 3, Some(4)).await, "a later second is full");
}

async fn a_forced_spend_always_counts(store: Arc<dyn BudgetStore>) {
    let s = store.as_ref();
    assert!(spend(s, S, 3, None).await, "a forced spend in a new second");
    assert!(
        spend(s, S, 3, None).await,
        "a forced spend beyond the limit"
    );
    assert!(
        !spend(s, S, 1, Some(6)).await,
        "the forced spends were not counted"
    );
    assert!(spend(s, S, 1, Some(7)).await);
}

async fn an_older_second_neither_spends_nor_resets_the_newer(store: Arc<dyn BudgetStore>) {
    let s = store.as_ref();
    assert!(spend(s, S + 1, 4, Some(4)).await);
    // A container whose clock is a second behind.
    assert!(
        !spend(s, S, 1, Some(4)).await,
        "spent in a second that is over"
    );
    assert!(
        !spend(s, S + 1, 1, Some(4)).await,
        "the older second reset the newer one's count"
    );
}

async fn concurrent_spends_never_pass_the_limit(store: Arc<dyn BudgetStore>) {
    let mut spends = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = store.clone();
        spends.spawn(async move { spend(store.as_ref(), S, 1, Some(6)).await });
    }
    let mut spent = 0;
    while let Some(done) = spends.join_next().await {
        if done.unwrap_or(false) {
            spent += 1;
        }
    }
    assert_eq!(spent, 6, "16 concurrent spends of 1 in a second of 6");
}
