//! The `ClaimStore` suite: what the notifier relies on from any claim
//! store, whichever adapter holds the claims.
//!
//! Claims read the system clock, so lapses and expiry are made with
//! deadlines already past (or, where the passing itself matters, a short
//! real wait); expiry keeps a margin of seconds, as DynamoDB stores
//! `expiration` in whole seconds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Case, cases};
use crate::dedupe::{Claim, ClaimStore, Filed, Lease};

/// Runs every case, each on a fresh store from `fresh`.
pub async fn run<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ClaimStore>>,
{
    super::run("ClaimStore", CASES, fresh).await;
}

const CASES: &[Case<dyn ClaimStore>] = cases![
    a_free_key_is_claimed_once,
    a_claim_is_in_progress_until_its_holders_deadline,
    a_lapsed_claim_reads_as_free_and_is_taken_over,
    a_completed_claim_answers_every_later_copy,
    a_released_claim_is_free_again,
    release_leaves_a_completed_claim_and_a_free_key_alone,
    an_expired_record_is_free,
    keys_are_independent,
    one_of_many_concurrent_claims_wins,
];

const K: &str = "conformance-claim";

fn after(d: Duration) -> SystemTime {
    SystemTime::now() + d
}

fn before(d: Duration) -> SystemTime {
    SystemTime::now() - d
}

/// Held until well after the case ends.
fn held() -> Lease {
    let later = after(Duration::from_secs(600));
    Lease::new(later, later)
}

/// Its holder's deadline already passed (it crashed or was cut off); the
/// record itself is kept.
fn lapsed() -> Lease {
    Lease::new(
        before(Duration::from_millis(5)),
        after(Duration::from_secs(600)),
    )
}

fn filed<'a>(case_uid: &'a str, subject: &'a str) -> Filed<'a> {
    Filed {
        case_uid,
        subject,
        expires: after(Duration::from_secs(600)),
    }
}

fn done(case_uid: &str, subject: &str) -> Claim {
    Claim::Done {
        case_uid: case_uid.to_owned(),
        subject: subject.to_owned(),
    }
}

async fn claim(store: &dyn ClaimStore, key: &str, lease: Lease) -> Claim {
    store.claim(key, lease).await.expect("claim")
}

async fn existing(store: &dyn ClaimStore, key: &str) -> Claim {
    store.existing(key).await.expect("existing")
}

async fn a_free_key_is_claimed_once(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(existing(s, K).await, Claim::New, "nobody claimed it yet");
    assert_eq!(claim(s, K, held()).await, Claim::New);
    assert_eq!(claim(s, K, held()).await, Claim::InProgress);
    assert_eq!(existing(s, K).await, Claim::InProgress);
}

async fn a_claim_is_in_progress_until_its_holders_deadline(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let deadline = after(Duration::from_millis(1_500));
    let lease = Lease::new(deadline, after(Duration::from_secs(600)));
    assert_eq!(claim(s, K, lease).await, Claim::New);
    assert_eq!(existing(s, K).await, Claim::InProgress);
    assert_eq!(claim(s, K, held()).await, Claim::InProgress);
    let past = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        + Duration::from_millis(200);
    tokio::time::sleep(past).await;
    assert_eq!(
        existing(s, K).await,
        Claim::New,
        "the holder's deadline passed without a result: free to take over"
    );
    assert_eq!(claim(s, K, held()).await, Claim::New, "taken over");
    assert_eq!(existing(s, K).await, Claim::InProgress);
}

async fn a_lapsed_claim_reads_as_free_and_is_taken_over(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(claim(s, K, lapsed()).await, Claim::New);
    assert_eq!(existing(s, K).await, Claim::New);
    assert_eq!(claim(s, K, held()).await, Claim::New, "taken over");
    assert_eq!(existing(s, K).await, Claim::InProgress);
    assert_eq!(claim(s, K, held()).await, Claim::InProgress);
}

async fn a_completed_claim_answers_every_later_copy(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    // Completed after its holder's deadline: a result never lapses.
    assert_eq!(claim(s, K, lapsed()).await, Claim::New);
    let subject = "[Step Functions] nightly: Ünïcode — ✓";
    s.complete(K, filed("U1", subject)).await.expect("complete");
    assert_eq!(claim(s, K, held()).await, done("U1", subject));
    assert_eq!(existing(s, K).await, done("U1", subject));
    assert_eq!(claim(s, K, lapsed()).await, done("U1", subject));
}

async fn a_released_claim_is_free_again(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(claim(s, K, held()).await, Claim::New);
    s.release(K).await.expect("release");
    assert_eq!(existing(s, K).await, Claim::New);
    assert_eq!(claim(s, K, held()).await, Claim::New);
    assert_eq!(existing(s, K).await, Claim::InProgress);
}

async fn release_leaves_a_completed_claim_and_a_free_key_alone(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(claim(s, K, held()).await, Claim::New);
    s.complete(K, filed("U1", "S")).await.expect("complete");
    s.release(K).await.expect("release of a completed claim");
    assert_eq!(
        existing(s, K).await,
        done("U1", "S"),
        "a release never drops a result: a later copy would file it again"
    );
    s.release("never-claimed")
        .await
        .expect("release of nothing");
    assert_eq!(existing(s, "never-claimed").await, Claim::New);
}

async fn an_expired_record_is_free(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let gone = before(Duration::from_secs(5));
    // A result past its expiry (the table's TTL has not deleted it yet).
    assert_eq!(claim(s, "done", held()).await, Claim::New);
    let stale = Filed {
        expires: gone,
        ..filed("U1", "S")
    };
    s.complete("done", stale).await.expect("complete");
    assert_eq!(existing(s, "done").await, Claim::New, "expired: free");
    assert_eq!(claim(s, "done", held()).await, Claim::New);
    // An in-progress claim past its expiry, its holder's deadline not.
    let lease = Lease::new(after(Duration::from_secs(600)), gone);
    assert_eq!(claim(s, "held", lease).await, Claim::New);
    assert_eq!(existing(s, "held").await, Claim::New, "expired: free");
    assert_eq!(claim(s, "held", held()).await, Claim::New);
    assert_eq!(existing(s, "held").await, Claim::InProgress);
}

async fn keys_are_independent(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(claim(s, "a", held()).await, Claim::New);
    s.complete("a", filed("UA", "SA")).await.expect("complete");
    assert_eq!(existing(s, "b").await, Claim::New);
    assert_eq!(claim(s, "b", held()).await, Claim::New);
    s.release("b").await.expect("release");
    assert_eq!(existing(s, "a").await, done("UA", "SA"));
    assert_eq!(existing(s, "b").await, Claim::New);
}

async fn one_of_many_concurrent_claims_wins(store: Arc<dyn ClaimStore>) {
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { claim(store.as_ref(), K, held()).await })
        })
        .collect();
    let mut got = Vec::new();
    for r in runs {
        got.push(r.await.expect("claimant"));
    }
    let firsts = got.iter().filter(|c| **c == Claim::New).count();
    assert_eq!(firsts, 1, "{got:?}");
    assert!(
        got.iter()
            .all(|c| *c == Claim::New || *c == Claim::InProgress),
        "{got:?}"
    );
}
