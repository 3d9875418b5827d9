//! The DynamoDB incident adapter against moto: the conditional writes that
//! make a storm one case (50 concurrent occurrences, one creator), one
//! taker per reply, the kept list and its count, lapses and expiry, the
//! indexes; then 50 concurrent failures through 50 separate notifiers
//! sharing the table: one case, and after a flush every execution on it.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::*;
use ticket_bridge::incident::{
    self, Fingerprint, Guard, IncidentStore, Occurrence, PENDING_KEPT, Recorded, Status, Take,
    Timing,
};
use ticket_bridge_aws::incidents::DynamoDb;

fn table() -> String {
    seed(&["table"])["tableName"].as_str().unwrap().to_owned()
}

async fn store(table: &str) -> DynamoDb {
    DynamoDb::new(aws_sdk_dynamodb::Client::new(&moto_sdk().await), table)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn fp(name: &str) -> Fingerprint {
    Fingerprint {
        key: format!("incident#{name}"),
        machine: "arn:aws:states:eu-west-1:1:stateMachine:m".to_owned(),
    }
}

fn timing(now: u64) -> Timing {
    Timing {
        now_ms: now,
        window_start_ms: now - 600_000,
        creating_until_ms: now + 30_000,
        expires_s: now / 1000 + 3600,
    }
}

fn occ(name: &str) -> Occurrence {
    Occurrence::new(
        &format!("arn:aws:states:eu-west-1:1:execution:m:{name}"),
        now_ms(),
        Some("boom"),
    )
}

/// Records the first occurrence and completes its case `uid`.
async fn open(store: &DynamoDb, fp: &Fingerprint, uid: &str) -> u64 {
    let Recorded::Create { token, .. } =
        incident::record(store, fp, &occ("first"), "S", timing(now_ms()))
            .await
            .unwrap()
    else {
        panic!("not the creator")
    };
    let at = now_ms();
    let done = incident::completed(uid, "S", Some("boom".into()), at);
    let opened = store.update(&fp.key, &Guard::owned_by(token), &done).await;
    assert!(opened.unwrap().is_some());
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_occurrences_of_one_fingerprint_make_one_creator() {
    let store = Arc::new(store(&table()).await);
    let fp = fp("storm");
    let now = now_ms();
    let runs: Vec<_> = (0..50)
        .map(|i| {
            let (store, fp) = (store.clone(), fp.clone());
            tokio::spawn(async move {
                incident::record(
                    store.as_ref(),
                    &fp,
                    &occ(&format!("e{i}")),
                    "S",
                    timing(now),
                )
                .await
            })
        })
        .collect();
    let (mut creators, mut numbers) = (0, Vec::new());
    for r in runs {
        match r.await.unwrap().expect("recorded") {
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
    let stored = store.read(&fp.key).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Creating);
    assert_eq!((stored.pending_count, stored.pending.len()), (49, 49));
}

#[tokio::test]
async fn one_taker_per_reply_and_a_failed_reply_puts_its_batch_back() {
    let store = store(&table()).await;
    let fp = fp("take");
    let completed_at = open(&store, &fp, "C1").await;
    for name in ["e2", "e3", "e4"] {
        let r = incident::record(&store, &fp, &occ(name), "S", timing(now_ms()))
            .await
            .unwrap();
        assert!(matches!(r, Recorded::Open { .. }), "{r:?}");
    }
    let later = now_ms() + 1;
    let take = Take {
        case_uid: "C1",
        seen_last_reply: Some(completed_at),
        now_ms: later,
    };
    let a = store.take(&fp.key, take).await.unwrap();
    let b = store.take(&fp.key, take).await.unwrap();
    let batch = a.expect("the first taker wins");
    assert!(b.is_none(), "the second taker saw a stale last_reply");
    let numbers: Vec<u64> = batch.occurrences.iter().map(|o| o.number).collect();
    assert_eq!((numbers, batch.count), (vec![2, 3, 4], 3));
    let other_case = Take {
        case_uid: "C2",
        seen_last_reply: Some(later),
        ..take
    };
    assert!(store.take(&fp.key, other_case).await.unwrap().is_none());

    incident::record(&store, &fp, &occ("e5"), "S", timing(now_ms()))
        .await
        .unwrap();
    store.restore(&fp.key, &batch.without(4)).await.unwrap();
    let back = store.read(&fp.key).await.unwrap().unwrap();
    let numbers: Vec<u64> = back.pending.iter().map(|o| o.number).collect();
    assert_eq!(
        numbers,
        vec![2, 3, 5],
        "the batch goes back before what came since"
    );
    assert_eq!(back.pending_count, 3);
    assert_eq!(back.last_reply_ms, Some(completed_at));
}

#[tokio::test]
async fn past_the_kept_list_occurrences_are_counted() {
    let store = store(&table()).await;
    let fp = fp("kept");
    open(&store, &fp, "C1").await;
    for i in 0..PENDING_KEPT + 3 {
        incident::record(&store, &fp, &occ(&format!("e{i}")), "S", timing(now_ms()))
            .await
            .unwrap();
    }
    let i = store.read(&fp.key).await.unwrap().unwrap();
    assert_eq!(i.pending.len(), PENDING_KEPT);
    assert_eq!(i.pending_count, PENDING_KEPT as u64 + 3);
    assert_eq!(i.seq, PENDING_KEPT as u64 + 4);
}

#[tokio::test]
async fn lapsed_creators_are_taken_over_and_expired_incidents_replaced() {
    let store = store(&table()).await;
    let fp = fp("lapse");
    let now = now_ms();
    let mut dying = timing(now);
    dying.creating_until_ms = now - 1;
    incident::record(&store, &fp, &occ("e1"), "S", dying)
        .await
        .unwrap();
    let taken = incident::record(&store, &fp, &occ("e2"), "S", timing(now))
        .await
        .unwrap();
    let Recorded::Create {
        token, number: 2, ..
    } = taken
    else {
        panic!("{taken:?}")
    };
    // A completion by the lapsed creator's token fails; the new one's holds.
    let done = incident::completed("C1", "S", None, now);
    let stale = Guard::owned_by("someone-else");
    assert!(
        store
            .update(&fp.key, &stale, &done)
            .await
            .unwrap()
            .is_none()
    );
    let owned = store.update(&fp.key, &Guard::owned_by(token), &done).await;
    assert!(owned.unwrap().is_some());
    // Silent past the window: a new incident, linking the old case.
    let mut later = timing(now + 700_000);
    later.window_start_ms = now + 100_000;
    let fresh = incident::record(&store, &fp, &occ("e3"), "S", later)
        .await
        .unwrap();
    let Recorded::Create {
        number: 1,
        previous_case,
        ..
    } = fresh
    else {
        panic!("{fresh:?}")
    };
    assert_eq!(previous_case.as_deref(), Some("C1"));
    let stored = store.read(&fp.key).await.unwrap().unwrap();
    assert_eq!(
        stored.previous_case, previous_case,
        "the item keeps the link for the new case"
    );
}

#[tokio::test]
async fn the_indexes_list_incidents_for_the_flush_and_for_recovery() {
    let store = store(&table()).await;
    let (a, b) = (fp("index-a"), fp("index-b"));
    store.index(&a.key, &a.machine).await.unwrap();
    store.index(&b.key, &b.machine).await.unwrap();
    store.index(&a.key, &a.machine).await.unwrap();
    let mut listed = store.indexed(10).await.unwrap();
    listed.sort();
    assert_eq!(listed, vec![a.key.clone(), b.key.clone()]);
    assert_eq!(store.indexed(1).await.unwrap().len(), 1);
    store.unindex(&a.key, Some(&a.machine)).await.unwrap();
    assert_eq!(store.indexed(10).await.unwrap(), vec![b.key.clone()]);
    assert_eq!(
        store.of_machine(&b.machine).await.unwrap(),
        vec![b.key.clone()]
    );
    assert!(store.of_machine("arn:other").await.unwrap().is_empty());
    // Claims and index items are not incidents.
    assert!(store.read("incident-index").await.unwrap().is_none());
}

/// Fifty executions of one state fail at once, each in its own notifier
/// ("container"), sharing only the table: exactly one case; the others are
/// replies or coalesced, and after a flush every execution is on the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_failures_in_fifty_notifiers_file_one_case() {
    let api = shared::Outseta::start().await;
    let url = api.url();
    let (secret, table) = (apikey_secret("Outseta K1:S1"), table());
    let mut notifiers = Vec::new();
    for _ in 0..50 {
        let env = [
            ("IDEMPOTENCY_TABLE", table.as_str()),
            ("INCIDENT_REPLY_INTERVAL_SECONDS", "1"),
        ];
        notifiers.push(Arc::new(notifier(&secret, &url, &env).await));
    }
    let runs: Vec<_> = notifiers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let n = n.clone();
            let mut ev = event("catch-lambda.json");
            ev["execution"] = json!(format!(
                "arn:aws:states:eu-west-1:123456789012:execution:order-pipeline:storm-{i:02}"
            ));
            tokio::spawn(async move { invoke(&n, ev, 20_000).await })
        })
        .collect();
    let mut kinds = Vec::new();
    for r in runs {
        let out: Value = r.await.unwrap().expect("every failure is recorded");
        assert_eq!(out["caseUid"], "C1", "{out}");
        kinds.push(out["incident"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "new_case").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(api.cases().len(), 1, "exactly one case");

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let flushed = invoke(&notifiers[0], json!({"ticketBridge": "flush"}), 20_000)
        .await
        .unwrap();
    assert_eq!(flushed["flush"]["failed"], 0, "{flushed}");
    let case = api.case("C1");
    let all = format!("{}\n{}", case.body, api.comments().join("\n"));
    for i in 0..50 {
        assert!(
            all.contains(&format!("storm-{i:02}")),
            "storm-{i:02} is not on the case"
        );
    }
    assert!(case.replies.len() <= 5, "{} replies", case.replies.len());
    assert_eq!(api.cases().len(), 1);
}
