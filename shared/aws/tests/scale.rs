//! The flush at scale, on DynamoDB (moto): 5,000 live incidents written
//! through the store adapter (not 5,000 notifier invocations), listed in
//! the one index item of an earlier version, as a table upgraded with 5,000
//! live incidents holds them (the first flush moves them into the 64 shards,
//! in 65 writes rather than the 10,000 of listing them one by one, which
//! the conformance suite covers); then successive flushes of the incident
//! service, each cut at its per-flush limit; between them they reach every
//! incident. Then every item of the
//! table (the index shards, and an incident as large as one grows: a full
//! batch in flight beside a full pending list, every field at its longest)
//! is read back and measured against DynamoDB's 400 KB item limit.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/tables.rs"]
mod tables;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use ticket_bridge::dedupe;
use ticket_bridge::desk::MemoryDesk;
use ticket_bridge::incident::{
    self, Batch, Creation, Grouping, InFlight, Incident, IncidentStore, KEPT_BESIDE_FLIGHT,
    PENDING_KEPT, Status,
};
use ticket_bridge::incidents::{Incidents, Parts};
use ticket_bridge::redact::{Gate, Redactor};
use ticket_bridge::ticket::RenderConfig;
use ticket_bridge_aws::incidents::DynamoDb;

use tables::{client, list_in_legacy_index, table};

const INCIDENTS: usize = 5_000;
/// DynamoDB's largest item.
const ITEM_MAX: usize = 400 * 1024;

/// The adapter, noting every incident the flush reads.
struct Reads {
    inner: DynamoDb,
    read: Mutex<BTreeSet<String>>,
}

impl IncidentStore for Reads {
    fn describe(&self) -> &'static str {
        self.inner.describe()
    }
    fn read<'a>(&'a self, key: &'a str) -> incident::Stored<'a> {
        if let Ok(mut r) = self.read.lock() {
            r.insert(key.to_owned());
        }
        self.inner.read(key)
    }
    fn create<'a>(&'a self, key: &'a str, new: Creation<'a>) -> incident::Stored<'a, bool> {
        self.inner.create(key, new)
    }
    fn next_number<'a>(
        &'a self,
        key: &'a str,
        live: incident::Live,
    ) -> incident::Stored<'a, Option<u64>> {
        self.inner.next_number(key, live)
    }
    fn append<'a>(
        &'a self,
        key: &'a str,
        o: &'a incident::Occurrence,
        live: incident::Live,
    ) -> incident::Stored<'a> {
        self.inner.append(key, o, live)
    }
    fn update<'a>(
        &'a self,
        key: &'a str,
        guard: &'a incident::Guard,
        change: &'a incident::Change,
    ) -> incident::Stored<'a> {
        self.inner.update(key, guard, change)
    }
    fn take<'a>(
        &'a self,
        key: &'a str,
        take: incident::Take<'a>,
    ) -> incident::Stored<'a, Option<incident::Batch>> {
        self.inner.take(key, take)
    }
    fn retake<'a>(
        &'a self,
        key: &'a str,
        r: incident::Retake<'a>,
    ) -> incident::Stored<'a, Option<incident::InFlight>> {
        self.inner.retake(key, r)
    }
    fn release<'a>(&'a self, key: &'a str, r: incident::Release<'a>) -> incident::Stored<'a, bool> {
        self.inner.release(key, r)
    }
    fn settle<'a>(&'a self, key: &'a str, owner: &'a str) -> incident::Stored<'a, bool> {
        self.inner.settle(key, owner)
    }
    fn index<'a>(&'a self, key: &'a str, machine: &'a str) -> incident::Stored<'a, ()> {
        self.inner.index(key, machine)
    }
    fn indexed<'a>(
        &'a self,
        from: &'a incident::Cursor,
        limit: usize,
    ) -> incident::Stored<'a, incident::Page> {
        self.inner.indexed(from, limit)
    }
    fn flush_cursor(&self) -> incident::Stored<'_, incident::Cursor> {
        self.inner.flush_cursor()
    }
    fn save_flush_cursor<'a>(&'a self, at: &'a incident::Cursor) -> incident::Stored<'a, ()> {
        self.inner.save_flush_cursor(at)
    }
    fn unindex<'a>(&'a self, key: &'a str, machine: Option<&'a str>) -> incident::Stored<'a, ()> {
        self.inner.unindex(key, machine)
    }
    fn of_machine<'a>(&'a self, machine: &'a str) -> incident::Stored<'a, Vec<String>> {
        self.inner.of_machine(machine)
    }
}

/// Incident `i`: open, seen just now, nothing waiting; fifty machines.
fn incident(i: usize, now: u64) -> (String, Incident) {
    let fp = incident::Fingerprint {
        key: format!("incident#{:064x}", i * 7919),
        machine: format!(
            "arn:aws:states:eu-west-1:123456789012:stateMachine:m{}",
            i % 50
        ),
    };
    let mut inc = Incident::creating(&fp, "t", 0, now, "S", None);
    inc.status = Status::Open;
    inc.owner = None;
    inc.case_uid = Some(format!("C{i}"));
    inc.last_reply_ms = Some(now);
    (fp.key.clone(), inc)
}

/// An item's size as DynamoDB counts it (names and values in bytes, a
/// number as its digits, a few bytes per list element), rounded up.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::Ss(ss) => ss.iter().map(String::len).sum(),
            AttributeValue::L(l) => 3 + l.iter().map(|e| 1 + value(e)).sum::<usize>(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, e)| 1 + k.len() + value(e)).sum::<usize>()
            }
            _ => 1,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn successive_flushes_reach_five_thousand_incidents_and_no_item_passes_400_kb() {
    let client = client().await;
    let name = table(&client).await;
    let store = Arc::new(Reads {
        inner: DynamoDb::new(client.clone(), name.clone()),
        read: Mutex::new(BTreeSet::new()),
    });
    let started = Instant::now();
    let now = incident::now_ms();
    let mut all = BTreeSet::new();
    let mut writes = Vec::new();
    for chunk in (0..INCIDENTS).collect::<Vec<_>>().chunks(INCIDENTS / 8) {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        writes.push(tokio::spawn(async move {
            for i in chunk {
                let (key, inc) = incident(i, now);
                let new = Creation {
                    incident: &inc,
                    replaces: None,
                    expires_s: now / 1000 + 86_400,
                };
                assert!(store.create(&key, new).await.expect("create"));
            }
        }));
    }
    for i in 0..INCIDENTS {
        all.insert(incident(i, now).0);
    }
    for w in writes {
        w.await.expect("writes");
    }
    list_in_legacy_index(&client, &name, all.iter().cloned().collect()).await;
    let written = started.elapsed();

    let desk = Arc::new(MemoryDesk::new());
    let svc = Incidents::new(Parts {
        store: store.clone(),
        desk,
        claims: Arc::new(dedupe::Memory::new()),
        gate: Gate::new(Redactor::default()),
        settings: incident::Settings {
            grouping: Grouping::State,
            reply_interval: Duration::from_secs(3600),
            ..incident::Settings::default()
        },
        render: RenderConfig {
            subject_prefix: "[Step Functions]".to_owned(),
            region: None,
            redactor: Redactor::default(),
            account_names: Default::default(),
            marker: Grouping::State,
        },
        claim_ttl: Duration::from_secs(3600),
        fallback: None,
        log_max_bytes: 64 * 1024,
    });
    let flushing = Instant::now();
    let mut flushes = 0;
    while flushes < 15 {
        flushes += 1;
        let left = Duration::from_secs(120);
        let out = svc
            .flush(
                Instant::now() + left,
                SystemTime::now() + left,
                Instant::now(),
            )
            .await;
        assert!(out.is_ok(), "flush {flushes}: {out:?}");
        if store.read.lock().unwrap().len() == INCIDENTS {
            break;
        }
    }
    let reached = store.read.lock().unwrap().clone();
    let missed = all.difference(&reached).count();
    println!(
        "{INCIDENTS} incidents written in {written:?}; {flushes} flushes in {:?} reached {}",
        flushing.elapsed(),
        reached.len()
    );
    assert_eq!(missed, 0, "{missed} of {INCIDENTS} incidents never flushed");

    // The largest an incident grows: a full batch in flight beside a full
    // pending list, every field at its longest.
    let long = |n: u64| {
        let mut o = incident::Occurrence::new(&"x".repeat(400), now, Some(&"é".repeat(200)));
        o.number = u64::MAX - n;
        o
    };
    let (key, mut full) = incident(INCIDENTS, now);
    full.subject = "S".repeat(200);
    full.pending = (0..KEPT_BESIDE_FLIGHT as u64).map(long).collect();
    full.pending_count = u64::MAX;
    full.in_flight = Some(InFlight {
        batch: Batch {
            occurrences: (0..PENDING_KEPT as u64).map(long).collect(),
            count: u64::MAX,
        },
        owner: "o".repeat(24),
        until_ms: u64::MAX,
        tries: u32::MAX,
    });
    let new = Creation {
        incident: &full,
        replaces: None,
        expires_s: u64::MAX,
    };
    assert!(store.create(&key, new).await.expect("create"));

    let mut largest = (0, String::new());
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&name)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let size = item_size(item);
            if size > largest.0 {
                let id = item.get("id").and_then(|v| v.as_s().ok()).cloned();
                largest = (size, id.unwrap_or_default());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    println!("largest item: {} ({} bytes)", largest.1, largest.0);
    assert!(largest.0 < ITEM_MAX, "{} is {} bytes", largest.1, largest.0);
}
