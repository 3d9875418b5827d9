//! `incident::record` over the store: the storm control the primitives add
//! up to, as the notifier uses them.

use std::sync::Arc;

use super::{Case, WINDOW_MS, cases, fp, now_ms, numbers, occurrence, read};
use crate::incident::{
    Fingerprint, Guard, IncidentStore, Own, PENDING_KEPT, Recorded, Release, Status, StoreError,
    Take, Timing, completed, record,
};

pub(super) const CASES: &[Case<dyn IncidentStore>] = cases![
    record_makes_one_creator_then_appends_then_one_taker,
    record_of_fifty_concurrent_occurrences_makes_one_creator,
    record_takes_over_a_lapsed_creator_and_replaces_a_silent_incident,
    record_keeps_two_hundred_pending_and_counts_the_rest,
    one_taker_per_reply_and_a_failed_reply_keeps_its_batch_in_flight,
    record_carries_what_waited_onto_the_new_incident_when_the_window_passed,
];

fn timing(now: u64) -> Timing {
    Timing {
        now_ms: now,
        window_start_ms: now - WINDOW_MS,
        creating_until_ms: now + 30_000,
        expires_s: now / 1000 + 3600,
    }
}

async fn recorded(
    store: &dyn IncidentStore,
    fp: &Fingerprint,
    name: &str,
    t: Timing,
) -> Result<Recorded, StoreError> {
    record(store, fp, &occurrence(0, name), "S", t).await
}

/// Records the first occurrence and completes its case `uid`; when.
async fn opened(store: &dyn IncidentStore, fp: &Fingerprint, uid: &str) -> u64 {
    let first = recorded(store, fp, "first", timing(now_ms())).await;
    let Ok(Recorded::Create { token, .. }) = first else {
        panic!("not the creator: {first:?}")
    };
    let at = now_ms();
    let done = completed(uid, "S", Some("boom".to_owned()), at);
    let opened = store.update(&fp.key, &Guard::owned_by(token), &done).await;
    assert!(opened.expect("update").is_some(), "the creator completes");
    at
}

async fn record_makes_one_creator_then_appends_then_one_taker(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let fp = fp("one-creator");
    let now = now_ms();
    let first = recorded(s, &fp, "e1", timing(now)).await.expect("record");
    let Recorded::Create {
        token,
        number: 1,
        previous_case: None,
        first_seen_ms,
        carried: None,
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(first_seen_ms, now);
    let second = recorded(s, &fp, "e2", timing(now)).await.expect("record");
    assert_eq!(second, Recorded::Creating { number: 2 });
    // Only the creator completes.
    let done = completed("C1", "S", Some("boom".to_owned()), now);
    let wrong = s.update(&fp.key, &Guard::owned_by("not-me"), &done).await;
    assert_eq!(wrong.expect("update"), None);
    let open = s.update(&fp.key, &Guard::owned_by(token), &done).await;
    let open = open.expect("update").expect("the creator completes");
    assert_eq!(
        (open.status, open.case_uid.as_deref()),
        (Status::Open, Some("C1"))
    );
    let third = recorded(s, &fp, "e3", timing(now + 1)).await;
    let Ok(Recorded::Open {
        incident,
        number: 3,
    }) = third
    else {
        panic!("{third:?}")
    };
    assert_eq!(incident.pending_count, 2);
    // Two takers with the same view: one wins, the other gets nothing.
    let take = Take {
        case_uid: "C1",
        seen_last_reply: incident.last_reply_ms,
        now_ms: now + 2,
        owner: "taker",
        until_ms: now + 30_000,
    };
    let a = s.take(&fp.key, take).await.expect("take");
    let b = s.take(&fp.key, take).await.expect("take");
    let batch = a.expect("the first taker wins");
    assert_eq!(b, None);
    assert_eq!((numbers(&batch.occurrences), batch.count), (vec![2, 3], 2));
    // A failed reply gives its batch back, minus the failed invocation's own.
    let back = Release {
        owner: "taker",
        until_ms: now + 3,
        own: batch.position(3).map(Own::Kept),
    };
    assert!(s.release(&fp.key, back).await.expect("release"));
    let back = read(s, &fp.key).await.expect("incident");
    let flight = back.in_flight.expect("still in flight");
    assert_eq!(
        (numbers(&flight.batch.occurrences), flight.batch.count),
        (vec![2], 1)
    );
    assert_eq!((back.pending_count, back.last_reply_ms), (0, Some(now + 2)));
}

async fn record_of_fifty_concurrent_occurrences_makes_one_creator(store: Arc<dyn IncidentStore>) {
    let fp = fp("storm");
    let now = now_ms();
    let runs: Vec<_> = (0..50)
        .map(|i| {
            let (store, fp) = (store.clone(), fp.clone());
            tokio::spawn(async move {
                recorded(store.as_ref(), &fp, &format!("e{i}"), timing(now)).await
            })
        })
        .collect();
    let (mut creators, mut numbers) = (0, Vec::new());
    for r in runs {
        match r.await.expect("occurrence").expect("recorded") {
            Recorded::Create { number, .. } => {
                creators += 1;
                numbers.push(number);
            }
            Recorded::Creating { number } | Recorded::Open { number, .. } => numbers.push(number),
        }
    }
    numbers.sort_unstable();
    assert_eq!(creators, 1, "exactly one occurrence creates the case");
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>(), "every number once");
    let stored = read(store.as_ref(), &fp.key).await.expect("incident");
    assert_eq!(stored.status, Status::Creating);
    assert_eq!((stored.pending_count, stored.pending.len()), (49, 49));
}

async fn record_takes_over_a_lapsed_creator_and_replaces_a_silent_incident(
    store: Arc<dyn IncidentStore>,
) {
    let s = store.as_ref();
    let fp = fp("lapse");
    let now = now_ms();
    let mut dying = timing(now);
    dying.creating_until_ms = now - 1;
    recorded(s, &fp, "e1", dying).await.expect("record");
    let taken = recorded(s, &fp, "e2", timing(now)).await;
    let Ok(Recorded::Create {
        token, number: 2, ..
    }) = taken
    else {
        panic!("{taken:?}")
    };
    // A completion by the lapsed creator's token fails; the new one's holds.
    let done = completed("C1", "S", None, now);
    let stale = s
        .update(&fp.key, &Guard::owned_by("someone-else"), &done)
        .await;
    assert_eq!(stale.expect("update"), None);
    let owned = s.update(&fp.key, &Guard::owned_by(token), &done).await;
    assert!(owned.expect("update").is_some());
    // Silent past the window: a new incident, linking the old case.
    let mut later = timing(now + WINDOW_MS + 100_000);
    later.window_start_ms = now + 100_000;
    let fresh = recorded(s, &fp, "e3", later).await;
    let Ok(Recorded::Create {
        number: 1,
        previous_case,
        ..
    }) = fresh
    else {
        panic!("{fresh:?}")
    };
    assert_eq!(previous_case.as_deref(), Some("C1"));
    let stored = read(s, &fp.key).await.expect("incident");
    assert_eq!(
        stored.previous_case, previous_case,
        "the incident keeps the link for the new case"
    );
    assert_eq!(
        (stored.status, stored.seq, stored.pending_count),
        (Status::Creating, 1, 0)
    );
}

async fn record_keeps_two_hundred_pending_and_counts_the_rest(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let fp = fp("kept");
    opened(s, &fp, "C1").await;
    for i in 0..PENDING_KEPT + 3 {
        recorded(s, &fp, &format!("e{i}"), timing(now_ms()))
            .await
            .expect("record");
    }
    let i = read(s, &fp.key).await.expect("incident");
    assert_eq!(i.pending.len(), PENDING_KEPT);
    assert_eq!(i.pending_count, PENDING_KEPT as u64 + 3);
    assert_eq!(i.seq, PENDING_KEPT as u64 + 4);
    let kept: Vec<u64> = (2..PENDING_KEPT as u64 + 2).collect();
    assert_eq!(numbers(&i.pending), kept, "the oldest are the ones kept");
}

async fn one_taker_per_reply_and_a_failed_reply_keeps_its_batch_in_flight(
    store: Arc<dyn IncidentStore>,
) {
    let s = store.as_ref();
    let fp = fp("take");
    let completed_at = opened(s, &fp, "C1").await;
    for name in ["e2", "e3", "e4"] {
        let r = recorded(s, &fp, name, timing(now_ms())).await;
        assert!(matches!(r, Ok(Recorded::Open { .. })), "{r:?}");
    }
    let later = now_ms() + 1;
    let take = Take {
        case_uid: "C1",
        seen_last_reply: Some(completed_at),
        now_ms: later,
        owner: "taker",
        until_ms: later + 30_000,
    };
    let a = s.take(&fp.key, take).await.expect("take");
    let b = s.take(&fp.key, take).await.expect("take");
    let batch = a.expect("the first taker wins");
    assert_eq!(b, None, "the second taker saw a stale last_reply");
    assert_eq!(
        (numbers(&batch.occurrences), batch.count),
        (vec![2, 3, 4], 3)
    );
    let other_case = Take {
        case_uid: "C2",
        seen_last_reply: Some(later),
        ..take
    };
    assert_eq!(s.take(&fp.key, other_case).await.expect("take"), None);

    recorded(s, &fp, "e5", timing(now_ms()))
        .await
        .expect("record");
    let back = Release {
        owner: "taker",
        until_ms: 0,
        own: batch.position(4).map(Own::Kept),
    };
    assert!(s.release(&fp.key, back).await.expect("release"));
    let after = read(s, &fp.key).await.expect("incident");
    let flight = after.in_flight.expect("the batch stays in flight");
    assert_eq!(numbers(&flight.batch.occurrences), vec![2, 3]);
    assert_eq!(
        (numbers(&after.pending), after.pending_count),
        (vec![5], 1),
        "what came since waits apart, for the next take"
    );
    // While a batch is in flight, no other is taken.
    let next = Take {
        seen_last_reply: Some(later),
        now_ms: later + 5,
        owner: "next",
        ..take
    };
    assert_eq!(s.take(&fp.key, next).await.expect("take"), None);
    assert!(s.settle(&fp.key, "taker").await.expect("settle"));
    let taken = s.take(&fp.key, next).await.expect("take");
    assert_eq!(taken.map(|b| numbers(&b.occurrences)), Some(vec![5]));
}

async fn record_carries_what_waited_onto_the_new_incident_when_the_window_passed(
    store: Arc<dyn IncidentStore>,
) {
    let s = store.as_ref();
    let fp = fp("carry");
    let completed_at = opened(s, &fp, "C1").await;
    for i in 0..PENDING_KEPT + 2 {
        recorded(s, &fp, &format!("e{i}"), timing(now_ms()))
            .await
            .expect("record");
    }
    // The first 202 in flight (200 kept, 2 counted), held by a taker that
    // died; then 3 more pending.
    let take = Take {
        case_uid: "C1",
        seen_last_reply: Some(completed_at),
        now_ms: now_ms(),
        owner: "dead",
        until_ms: now_ms() + 30_000,
    };
    let flying = s.take(&fp.key, take).await.expect("take").expect("taken");
    assert_eq!(
        (flying.occurrences.len(), flying.count),
        (PENDING_KEPT, 202)
    );
    for name in ["late-1", "late-2", "late-3"] {
        recorded(s, &fp, name, timing(now_ms()))
            .await
            .expect("record");
    }
    let old = read(s, &fp.key).await.expect("incident");
    // Silent past the window: the next occurrence files a new case that
    // carries them, oldest kept, the rest counted.
    let mut later = timing(now_ms() + WINDOW_MS + 100_000);
    later.window_start_ms = old.last_seen_ms + 1;
    let fresh = recorded(s, &fp, "next", later).await;
    let Ok(Recorded::Create {
        token,
        number: 1,
        previous_case,
        carried: Some(carried),
        ..
    }) = fresh
    else {
        panic!("{fresh:?}")
    };
    assert_eq!(previous_case.as_deref(), Some("C1"));
    assert_eq!(carried.count, 205, "everything that waited, counted");
    assert_eq!(carried.occurrences, flying.occurrences, "the oldest kept");
    let new = read(s, &fp.key).await.expect("incident");
    let flight = new.in_flight.expect("carried in flight");
    assert_eq!(flight.batch, carried);
    assert_eq!(
        (flight.owner.as_str(), flight.until_ms),
        (token.as_str(), later.creating_until_ms),
        "held by the new case's creator for as long as it may take"
    );
    assert_eq!((new.status, new.pending_count), (Status::Creating, 0));
    // Filed: the creator clears them, they are on the new case.
    assert!(s.settle(&fp.key, &token).await.expect("settle"));
    assert_eq!(read(s, &fp.key).await.expect("incident").in_flight, None);
}
