//! The outbox: a batch taken for a reply stays in the incident as its batch
//! in flight, under its holder's token and lease, until the holder clears
//! it (`settle`), gives it back after a failed attempt (`release`), or dies
//! and someone takes it over once the lease lapsed (`retake`). `take`
//! moving the list there in one write is in the `take` case beside.

use std::sync::Arc;

use super::{Case, KEY, cases, create, live, now_ms, numbers, occurrence, open, read};
use crate::incident::{
    Batch, Change, Guard, InFlight, IncidentStore, KEPT_BESIDE_FLIGHT, Own, Release, Retake,
    Status, Take,
};

pub(super) const CASES: &[Case<dyn IncidentStore>] = cases![
    a_lapsed_batch_is_taken_over_and_a_held_one_is_not,
    settle_clears_the_batch_only_for_its_holder,
    release_gives_the_batch_back_without_the_holders_own,
    beside_a_batch_in_flight_fifty_are_kept_and_the_rest_counted,
];

/// The open incident of case `C1` with occurrences 2.. pending, its list
/// taken by `holder` until `until_ms`; the batch.
async fn taken(s: &dyn IncidentStore, pending: u64, holder: &str, until_ms: u64) -> Batch {
    let now = now_ms();
    let list = (2..2 + pending)
        .map(|n| occurrence(n, &format!("e{n}")))
        .collect();
    assert!(create(s, KEY, &open(now, list), None).await);
    let take = Take {
        case_uid: "C1",
        seen_last_reply: Some(now),
        now_ms: now + 1,
        owner: holder,
        until_ms,
    };
    s.take(KEY, take).await.expect("take").expect("taken")
}

async fn flight(s: &dyn IncidentStore) -> Option<InFlight> {
    read(s, KEY).await.expect("incident").in_flight
}

async fn a_lapsed_batch_is_taken_over_and_a_held_one_is_not(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let until = now_ms() + 100;
    let batch = taken(s, 2, "dead", until).await;
    let retake = Retake {
        case_uid: "C1",
        seen_owner: "dead",
        now_ms: until + 1,
        owner: "next",
        until_ms: until + 30_000,
    };
    let refused = [
        Retake {
            now_ms: until,
            ..retake
        },
        Retake {
            case_uid: "C2",
            ..retake
        },
        Retake {
            seen_owner: "someone",
            ..retake
        },
    ];
    for r in refused {
        assert_eq!(s.retake(KEY, r).await.expect("retake"), None, "{r:?}");
    }
    let held = s.retake(KEY, retake).await.expect("retake");
    let want = InFlight {
        batch,
        owner: "next".to_owned(),
        until_ms: until + 30_000,
        tries: 2,
    };
    assert_eq!(held.as_ref(), Some(&want), "one attempt more");
    let after = read(s, KEY).await.expect("incident");
    assert_eq!(after.in_flight.as_ref(), Some(&want));
    assert_eq!(after.last_reply_ms, Some(until + 1), "a reply goes out now");
    // The dead holder, come back late, holds nothing any more.
    assert!(!s.settle(KEY, "dead").await.expect("settle"));
    let late = Release {
        owner: "dead",
        until_ms: 0,
        own: None,
    };
    assert!(!s.release(KEY, late).await.expect("release"));
    assert_eq!(s.retake(KEY, retake).await.expect("retake"), None, "taken");
    assert_eq!(flight(s).await, Some(want.clone()));

    // Lapsed again, but the case is being refiled: nothing to post it to.
    let reopening = Change {
        status: Some(Status::Creating),
        ..Change::default()
    };
    let reopened = s.update(KEY, &Guard::default(), &reopening).await;
    assert!(reopened.expect("update").is_some());
    let again = Retake {
        seen_owner: "next",
        now_ms: until + 30_001,
        owner: "third",
        ..retake
    };
    assert_eq!(s.retake(KEY, again).await.expect("retake"), None);
    assert_eq!(flight(s).await, Some(want));
}

async fn settle_clears_the_batch_only_for_its_holder(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let batch = taken(s, 3, "holder", now_ms() + 30_000).await;
    assert!(!s.settle(KEY, "other").await.expect("settle"));
    assert_eq!(flight(s).await.map(|f| f.batch), Some(batch));
    assert!(s.settle(KEY, "holder").await.expect("settle"));
    let after = read(s, KEY).await.expect("incident");
    assert_eq!(
        (after.in_flight, after.pending_count),
        (None, 0),
        "on the case"
    );
    assert!(!s.settle(KEY, "holder").await.expect("settle twice"));
    assert!(!s.settle("incident#none", "holder").await.expect("settle"));
    assert_eq!(read(s, "incident#none").await, None, "no item made");
}

async fn release_gives_the_batch_back_without_the_holders_own(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let batch = taken(s, 3, "holder", now + 30_000).await;
    assert_eq!(numbers(&batch.occurrences), vec![2, 3, 4]);
    let back = Release {
        owner: "holder",
        until_ms: now + 50,
        own: batch.position(3).map(Own::Kept),
    };
    let other = Release {
        owner: "other",
        ..back
    };
    assert!(!s.release(KEY, other).await.expect("release"));
    assert!(s.release(KEY, back).await.expect("release"));
    let f = flight(s).await.expect("still in flight");
    assert_eq!(
        (
            numbers(&f.batch.occurrences),
            f.batch.count,
            f.until_ms,
            f.tries
        ),
        (vec![2, 4], 2, now + 50, 1),
        "its own occurrence out, the lease to the next attempt's time"
    );
    // An own occurrence only counted leaves the count.
    let counted = Release {
        own: Some(Own::Counted),
        ..back
    };
    assert!(s.release(KEY, counted).await.expect("release"));
    let f = flight(s).await.expect("still in flight");
    assert_eq!((f.batch.occurrences.len(), f.batch.count), (2, 1));
    // Given back whole, to be taken over at once.
    let whole = Release {
        until_ms: 0,
        own: None,
        ..back
    };
    assert!(s.release(KEY, whole).await.expect("release"));
    let f = flight(s).await.expect("still in flight");
    assert_eq!((f.batch.count, f.until_ms), (1, 0));
    assert!(f.lapsed(now));
    let nowhere = s.release("incident#none", whole).await.expect("release");
    assert!(!nowhere);
    assert_eq!(read(s, "incident#none").await, None, "no item made");
}

async fn beside_a_batch_in_flight_fifty_are_kept_and_the_rest_counted(
    store: Arc<dyn IncidentStore>,
) {
    let s = store.as_ref();
    let now = now_ms();
    taken(s, 1, "holder", now + 30_000).await;
    let beside = KEPT_BESIDE_FLIGHT as u64;
    for n in 0..beside + 2 {
        let o = occurrence(100 + n, "beside");
        let appended = s.append(KEY, &o, live(now)).await.expect("append");
        assert!(appended.is_some());
    }
    let i = read(s, KEY).await.expect("incident");
    assert_eq!(
        (i.pending.len() as u64, i.pending_count),
        (beside, beside + 2),
        "the oldest kept, the rest counted"
    );
    assert_eq!(i.pending.last().map(|o| o.number), Some(100 + beside - 1));
    // On the case: the pending list has its full room again.
    assert!(s.settle(KEY, "holder").await.expect("settle"));
    let o = occurrence(200, "after");
    let after = s.append(KEY, &o, live(now)).await.expect("append");
    let after = after.expect("appended");
    assert_eq!(
        (after.pending.len() as u64, after.pending_count),
        (beside + 1, beside + 3)
    );
}
