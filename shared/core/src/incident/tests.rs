//! The incident model and [`record`] over the in-memory store: one creator,
//! appends, one taker, lapses, expiry and the kept list.

use super::*;
use crate::intake::{Failure, failure_of as failure};
use serde_json::json;
use std::sync::Arc;

fn catch(machine: &str, execution: &str, state: &str, error: &str) -> Failure {
    failure(json!({
        "error": {"Error": error, "Cause": "c"},
        "execution": format!("arn:aws:states:eu-west-1:1:execution:{machine}:{execution}"),
        "stateMachine": machine, "failedState": state,
    }))
}

fn timing(now_ms: u64) -> Timing {
    Timing {
        now_ms,
        window_start_ms: now_ms.saturating_sub(600_000),
        creating_until_ms: now_ms + 10_000,
        expires_s: now_ms / 1000 + 3600,
    }
}

fn occ(name: &str) -> Occurrence {
    Occurrence::new(name, 1, Some("boom"))
}

fn fp() -> Fingerprint {
    fingerprint(&catch("m", "e1", "S1", "E"), Grouping::State).unwrap()
}

#[tokio::test]
async fn one_creator_then_appends_then_one_taker() {
    let store = Memory::new();
    let fp = fp();
    let now = 1_000_000;
    let first = record(&store, &fp, &occ("e1"), "subj", timing(now))
        .await
        .unwrap();
    let Recorded::Create {
        token,
        number: 1,
        previous_case: None,
        ..
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(
        record(&store, &fp, &occ("e2"), "subj", timing(now))
            .await
            .unwrap(),
        Recorded::Creating { number: 2 }
    );
    // Only the owner completes.
    let done = completed("C1", "subj", Some("boom".into()), now);
    let wrong = Guard::owned_by("not-me");
    assert_eq!(store.update(&fp.key, &wrong, &done).await.unwrap(), None);
    let owner = Guard::owned_by(token);
    let open = store.update(&fp.key, &owner, &done).await.unwrap().unwrap();
    assert_eq!(
        (open.status, open.case_uid.as_deref()),
        (Status::Open, Some("C1"))
    );
    let third = record(&store, &fp, &occ("e3"), "subj", timing(now + 1))
        .await
        .unwrap();
    let Recorded::Open {
        incident,
        number: 3,
    } = third
    else {
        panic!("{third:?}")
    };
    assert_eq!(incident.pending_count, 2);
    // Two takers with the same view: one wins, the other gets nothing.
    let take = Take {
        case_uid: "C1",
        seen_last_reply: incident.last_reply_ms,
        now_ms: now + 2,
    };
    let a = store.take(&fp.key, take).await.unwrap();
    let b = store.take(&fp.key, take).await.unwrap();
    let batch = a.expect("the first taker wins");
    assert!(b.is_none());
    let numbers: Vec<u64> = batch.occurrences.iter().map(|o| o.number).collect();
    assert_eq!((numbers, batch.count), (vec![2, 3], 2));
    // A failed reply puts its batch back, minus the failed invocation's own.
    store.restore(&fp.key, &batch.without(3)).await.unwrap();
    let back = store.read(&fp.key).await.unwrap().unwrap();
    assert_eq!(
        (back.pending_count, back.pending.len(), back.last_reply_ms),
        (1, 1, Some(now))
    );
}

#[tokio::test]
async fn a_lapsed_creator_is_taken_over_and_an_old_incident_replaced() {
    let store = Memory::new();
    let fp = fp();
    let now = 1_000_000;
    let mut t = timing(now);
    t.creating_until_ms = now - 1;
    record(&store, &fp, &occ("e1"), "s", t).await.unwrap();
    let again = record(&store, &fp, &occ("e2"), "s", timing(now))
        .await
        .unwrap();
    assert!(
        matches!(again, Recorded::Create { number: 2, .. }),
        "{again:?}"
    );
    // Completed, then silent past the window: a new incident linking it.
    let Recorded::Create { token, .. } = again else {
        unreachable!()
    };
    store
        .update(
            &fp.key,
            &Guard::owned_by(token),
            &completed("C1", "s", None, now),
        )
        .await
        .unwrap();
    let later = now + 700_000;
    let fresh = record(&store, &fp, &occ("e3"), "s", timing(later))
        .await
        .unwrap();
    assert!(
        matches!(&fresh, Recorded::Create { number: 1, previous_case: Some(c), .. } if c == "C1"),
        "{fresh:?}"
    );
}

#[tokio::test]
async fn the_pending_list_keeps_two_hundred_and_counts_the_rest() {
    let store = Memory::new();
    let fp = fp();
    let Recorded::Create { token, .. } = record(&store, &fp, &occ("e0"), "s", timing(1))
        .await
        .unwrap()
    else {
        panic!()
    };
    store
        .update(
            &fp.key,
            &Guard::owned_by(token),
            &completed("C", "s", None, 1),
        )
        .await
        .unwrap();
    for i in 0..PENDING_KEPT + 5 {
        record(&store, &fp, &occ(&format!("e{i}")), "s", timing(2))
            .await
            .unwrap();
    }
    let i = store.read(&fp.key).await.unwrap().unwrap();
    assert_eq!(
        (i.pending.len(), i.pending_count),
        (PENDING_KEPT, PENDING_KEPT as u64 + 5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_occurrences_make_one_creator() {
    let store = Arc::new(Memory::new());
    let fp = fp();
    let runs: Vec<_> = (0..50)
        .map(|i| {
            let (store, fp) = (store.clone(), fp.clone());
            tokio::spawn(async move {
                record(
                    store.as_ref(),
                    &fp,
                    &occ(&format!("e{i}")),
                    "s",
                    timing(5_000),
                )
                .await
            })
        })
        .collect();
    let mut creators = 0;
    let mut numbers = Vec::new();
    for r in runs {
        match r.await.unwrap().unwrap() {
            Recorded::Create { number, .. } => {
                creators += 1;
                numbers.push(number);
            }
            Recorded::Creating { number } | Recorded::Open { number, .. } => numbers.push(number),
        }
    }
    numbers.sort_unstable();
    assert_eq!(creators, 1);
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>());
    assert_eq!(
        store.read(&fp.key).await.unwrap().unwrap().pending_count,
        49
    );
}

#[test]
fn occurrences_are_cut_to_the_sizes_kept() {
    let o = Occurrence::new(&"é".repeat(400), 5, Some(&"r".repeat(500)));
    assert!(o.execution.len() <= EXECUTION_MAX);
    assert_eq!(
        o.reason.as_ref().map(|r| r.chars().count()),
        Some(REASON_MAX)
    );
    assert_eq!(Occurrence::new("", 5, None).execution, "unknown");
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<Occurrence>(&json).unwrap(), o);
}
