//! The `ClaimStore` suite: what the notifier relies on from any claim
//! store, whichever adapter holds the claims. Copies of one failure are
//! played by leases of their own (`A`, `B`, `C`): each a random owner.
//!
//! Claims read the system clock, so lapses and expiry are made with
//! deadlines already past (or, where the passing itself matters, a short
//! real wait); expiry keeps a margin of seconds, as DynamoDB stores
//! `expiration` in whole seconds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Case, cases};
use crate::dedupe::{Claim, ClaimStore, Filed, Lease, Owner, Settled};

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
    only_the_holder_completes_or_releases,
    a_settled_claim_is_no_longer_held,
    a_lapsed_holder_nobody_took_over_still_completes,
    a_lapsed_holders_late_release_leaves_the_new_holder_its_claim,
    a_lapsed_holders_late_complete_leaves_the_new_holder_its_claim,
    a_holder_of_an_expired_claim_no_longer_holds_it,
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

async fn claim(store: &dyn ClaimStore, key: &str, lease: &Lease) -> Claim {
    store.claim(key, lease).await.expect("claim")
}

async fn complete(store: &dyn ClaimStore, key: &str, owner: &Owner, f: Filed<'_>) -> Settled {
    store.complete(key, owner, f).await.expect("complete")
}

async fn release(store: &dyn ClaimStore, key: &str, owner: &Owner) -> Settled {
    store.release(key, owner).await.expect("release")
}

async fn existing(store: &dyn ClaimStore, key: &str) -> Claim {
    store.existing(key).await.expect("existing")
}

async fn a_free_key_is_claimed_once(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(existing(s, K).await, Claim::New, "nobody claimed it yet");
    assert_eq!(claim(s, K, &held()).await, Claim::New);
    assert_eq!(claim(s, K, &held()).await, Claim::InProgress);
    assert_eq!(existing(s, K).await, Claim::InProgress);
}

async fn a_claim_is_in_progress_until_its_holders_deadline(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let deadline = after(Duration::from_millis(1_500));
    let a = Lease::new(deadline, after(Duration::from_secs(600)));
    assert_eq!(claim(s, K, &a).await, Claim::New);
    assert_eq!(existing(s, K).await, Claim::InProgress);
    assert_eq!(claim(s, K, &held()).await, Claim::InProgress);
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
    assert_eq!(claim(s, K, &held()).await, Claim::New, "taken over");
    assert_eq!(existing(s, K).await, Claim::InProgress);
}

async fn a_lapsed_claim_reads_as_free_and_is_taken_over(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    assert_eq!(claim(s, K, &lapsed()).await, Claim::New);
    assert_eq!(existing(s, K).await, Claim::New);
    assert_eq!(claim(s, K, &held()).await, Claim::New, "taken over");
    assert_eq!(existing(s, K).await, Claim::InProgress);
    assert_eq!(claim(s, K, &held()).await, Claim::InProgress);
}

async fn a_completed_claim_answers_every_later_copy(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = held();
    assert_eq!(claim(s, K, &a).await, Claim::New);
    let subject = "[Step Functions] nightly: Ünïcode — ✓";
    let f = filed("U1", subject);
    assert_eq!(complete(s, K, &a.owner, f).await, Settled::Applied);
    assert_eq!(claim(s, K, &held()).await, done("U1", subject));
    assert_eq!(existing(s, K).await, done("U1", subject));
    assert_eq!(claim(s, K, &lapsed()).await, done("U1", subject));
}

async fn a_released_claim_is_free_again(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = held();
    assert_eq!(claim(s, K, &a).await, Claim::New);
    assert_eq!(release(s, K, &a.owner).await, Settled::Applied);
    assert_eq!(existing(s, K).await, Claim::New);
    assert_eq!(claim(s, K, &held()).await, Claim::New);
    assert_eq!(existing(s, K).await, Claim::InProgress);
}

async fn release_leaves_a_completed_claim_and_a_free_key_alone(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = held();
    assert_eq!(claim(s, K, &a).await, Claim::New);
    let f = filed("U1", "S");
    assert_eq!(complete(s, K, &a.owner, f).await, Settled::Applied);
    assert_eq!(release(s, K, &a.owner).await, Settled::NotOwner);
    assert_eq!(
        existing(s, K).await,
        done("U1", "S"),
        "a release never drops a result: a later copy would file it again"
    );
    let nobody = Owner::new();
    assert_eq!(
        release(s, "never-claimed", &nobody).await,
        Settled::NotOwner
    );
    assert_eq!(existing(s, "never-claimed").await, Claim::New);
}

async fn an_expired_record_is_free(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let gone = before(Duration::from_secs(5));
    // A result past its expiry (the table's TTL has not deleted it yet).
    let a = held();
    assert_eq!(claim(s, "done", &a).await, Claim::New);
    let stale = Filed {
        expires: gone,
        ..filed("U1", "S")
    };
    assert_eq!(complete(s, "done", &a.owner, stale).await, Settled::Applied);
    assert_eq!(existing(s, "done").await, Claim::New, "expired: free");
    assert_eq!(claim(s, "done", &held()).await, Claim::New);
    // An in-progress claim past its expiry, its holder's deadline not.
    let lease = Lease::new(after(Duration::from_secs(600)), gone);
    assert_eq!(claim(s, "held", &lease).await, Claim::New);
    assert_eq!(existing(s, "held").await, Claim::New, "expired: free");
    assert_eq!(claim(s, "held", &held()).await, Claim::New);
    assert_eq!(existing(s, "held").await, Claim::InProgress);
}

async fn keys_are_independent(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let (a, b) = (held(), held());
    assert_eq!(claim(s, "a", &a).await, Claim::New);
    let f = filed("UA", "SA");
    assert_eq!(complete(s, "a", &a.owner, f).await, Settled::Applied);
    assert_eq!(existing(s, "b").await, Claim::New);
    assert_eq!(claim(s, "b", &b).await, Claim::New);
    assert_eq!(release(s, "b", &b.owner).await, Settled::Applied);
    assert_eq!(existing(s, "a").await, done("UA", "SA"));
    assert_eq!(existing(s, "b").await, Claim::New);
    // One holder's token holds nothing under another key.
    assert_eq!(claim(s, "c", &held()).await, Claim::New);
    assert_eq!(release(s, "c", &b.owner).await, Settled::NotOwner);
    assert_eq!(existing(s, "c").await, Claim::InProgress);
}

async fn one_of_many_concurrent_claims_wins(store: Arc<dyn ClaimStore>) {
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { claim(store.as_ref(), K, &held()).await })
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

async fn only_the_holder_completes_or_releases(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = held();
    assert_eq!(claim(s, K, &a).await, Claim::New);
    let stranger = Owner::new();
    assert_eq!(release(s, K, &stranger).await, Settled::NotOwner);
    assert_eq!(existing(s, K).await, Claim::InProgress, "still A's");
    let f = filed("U-stranger", "S");
    assert_eq!(complete(s, K, &stranger, f).await, Settled::NotOwner);
    assert_eq!(existing(s, K).await, Claim::InProgress, "still A's");
    let f = filed("U-A", "S");
    assert_eq!(complete(s, K, &a.owner, f).await, Settled::Applied);
    assert_eq!(existing(s, K).await, done("U-A", "S"));
}

async fn a_settled_claim_is_no_longer_held(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = held();
    assert_eq!(claim(s, "completed", &a).await, Claim::New);
    let f = filed("U1", "S");
    assert_eq!(
        complete(s, "completed", &a.owner, f).await,
        Settled::Applied
    );
    let again = filed("U2", "S2");
    assert_eq!(
        complete(s, "completed", &a.owner, again).await,
        Settled::NotOwner,
        "a result is written once"
    );
    assert_eq!(existing(s, "completed").await, done("U1", "S"));
    let b = held();
    assert_eq!(claim(s, "released", &b).await, Claim::New);
    assert_eq!(release(s, "released", &b.owner).await, Settled::Applied);
    assert_eq!(release(s, "released", &b.owner).await, Settled::NotOwner);
    let f = filed("U3", "S3");
    assert_eq!(
        complete(s, "released", &b.owner, f).await,
        Settled::NotOwner,
        "given back: no longer B's to complete"
    );
    assert_eq!(existing(s, "released").await, Claim::New);
}

async fn a_lapsed_holder_nobody_took_over_still_completes(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = lapsed();
    assert_eq!(claim(s, K, &a).await, Claim::New);
    let f = filed("U-A", "S");
    assert_eq!(complete(s, K, &a.owner, f).await, Settled::Applied);
    assert_eq!(existing(s, K).await, done("U-A", "S"));
    assert_eq!(claim(s, K, &held()).await, done("U-A", "S"));
}

/// A's deadline passed mid-delivery and B took the claim over: A's
/// delivery failing late must not give B's claim away, or a third copy
/// would find the key free and file the failure a second time.
async fn a_lapsed_holders_late_release_leaves_the_new_holder_its_claim(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let (a, b, c) = (lapsed(), held(), held());
    assert_eq!(claim(s, K, &a).await, Claim::New);
    assert_eq!(claim(s, K, &b).await, Claim::New, "B takes over");
    let late = release(s, K, &a.owner).await;
    assert_eq!(
        claim(s, K, &c).await,
        Claim::InProgress,
        "a third copy waits for B, never files its own"
    );
    assert_eq!(existing(s, K).await, Claim::InProgress, "still B's");
    assert_eq!(late, Settled::NotOwner, "A is told, to log it");
    let f = filed("U-B", "S");
    assert_eq!(complete(s, K, &b.owner, f).await, Settled::Applied);
    assert_eq!(claim(s, K, &c).await, done("U-B", "S"));
    assert_eq!(release(s, K, &a.owner).await, Settled::NotOwner);
    assert_eq!(existing(s, K).await, done("U-B", "S"));
}

/// The same with A's delivery succeeding late: its result must not
/// overwrite B's claim (B may still be filing), nor be taken for B's.
async fn a_lapsed_holders_late_complete_leaves_the_new_holder_its_claim(
    store: Arc<dyn ClaimStore>,
) {
    let s = store.as_ref();
    let (a, b, c) = (lapsed(), held(), held());
    assert_eq!(claim(s, K, &a).await, Claim::New);
    assert_eq!(claim(s, K, &b).await, Claim::New, "B takes over");
    let late = complete(s, K, &a.owner, filed("U-A", "S")).await;
    assert_eq!(existing(s, K).await, Claim::InProgress, "still B's");
    assert_eq!(claim(s, K, &c).await, Claim::InProgress, "never new");
    assert_eq!(late, Settled::NotOwner, "A is told, to log it");
    // B gives up (its delivery failed): C files; A still cannot settle it.
    assert_eq!(release(s, K, &b.owner).await, Settled::Applied);
    assert_eq!(claim(s, K, &c).await, Claim::New, "C takes it");
    let late = filed("U-A", "S");
    assert_eq!(complete(s, K, &a.owner, late).await, Settled::NotOwner);
    assert_eq!(release(s, K, &b.owner).await, Settled::NotOwner);
    let f = filed("U-C", "S");
    assert_eq!(complete(s, K, &c.owner, f).await, Settled::Applied);
    assert_eq!(existing(s, K).await, done("U-C", "S"));
}

async fn a_holder_of_an_expired_claim_no_longer_holds_it(store: Arc<dyn ClaimStore>) {
    let s = store.as_ref();
    let a = Lease::new(
        after(Duration::from_secs(600)),
        before(Duration::from_secs(5)),
    );
    assert_eq!(claim(s, K, &a).await, Claim::New);
    let f = filed("U-A", "S");
    assert_eq!(complete(s, K, &a.owner, f).await, Settled::NotOwner);
    assert_eq!(release(s, K, &a.owner).await, Settled::NotOwner);
    assert_eq!(existing(s, K).await, Claim::New, "expired: free");
}
