//! The EMF document every invocation writes, checked against CloudWatch's
//! Embedded Metric Format specification (docs.aws.amazon.com, "Specification:
//! Embedded metric format": the `_aws` member, its millisecond `Timestamp`,
//! `CloudWatchMetrics` directives with a `Namespace`, `Dimensions` of at most
//! 30 keys each naming a top-level string member, and `Metrics` of at most
//! 100 definitions, each naming a top-level number, with a unit from the
//! listed set), and the counts each kind of invocation gives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use ticket_bridge::desk::{Fault, MemoryDesk};
use ticket_bridge::fallback::Recording;
use ticket_bridge::{Config, Notifier};

/// The units the specification allows.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// What the specification requires of one document.
fn check_emf(doc: &Value) -> Result<(), String> {
    let root = doc.as_object().ok_or("the document is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    let ts = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not an integer")?;
    if ts < 1_000_000_000_000 {
        return Err(format!("Timestamp {ts} is not in milliseconds"));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("CloudWatchMetrics is not a non-empty array")?;
    for d in directives {
        let ns = d
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("no Namespace")?;
        if ns.is_empty() || ns.len() > 1024 || ns.trim().is_empty() {
            return Err(format!("Namespace {ns:?} is not allowed"));
        }
        for set in d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions is not an array")?
        {
            let keys = set.as_array().ok_or("a DimensionSet is not an array")?;
            if keys.len() > 30 {
                return Err("a DimensionSet has more than 30 keys".into());
            }
            for k in keys {
                let k = k.as_str().ok_or("a dimension key is not a string")?;
                if !root.get(k).is_some_and(Value::is_string) {
                    return Err(format!("dimension {k} is not a top-level string"));
                }
            }
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics".into());
        }
        for m in metrics {
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric has no Name")?;
            if name.is_empty() || name.len() > 1024 {
                return Err(format!("metric name {name:?} is not allowed"));
            }
            if let Some(unit) = m.get("Unit")
                && !unit.as_str().is_some_and(|u| UNITS.contains(&u))
            {
                return Err(format!(
                    "{name}: unit {unit} is not one the specification lists"
                ));
            }
            match root.get(name) {
                Some(v) if v.is_number() => {}
                Some(Value::Array(vs)) if vs.len() <= 100 && vs.iter().all(Value::is_number) => {}
                _ => return Err(format!("metric {name} has no top-level number")),
            }
        }
    }
    Ok(())
}

struct Run {
    notifier: Notifier,
    desk: Arc<MemoryDesk>,
    docs: Arc<Mutex<Vec<Value>>>,
}

fn run(extra: &[(&str, &str)]) -> Run {
    let mut env = vec![
        (
            "TICKET_API_URL",
            "https://desk.example.com/api/v1/support/cases",
        ),
        ("CONNECTION_SECRET_ID", "events!connection/desk/1"),
        ("FROM_PERSON_EMAIL", "oncall@example.com"),
    ];
    env.extend_from_slice(extra);
    let config = Config::from_lookup(&|k: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("valid");
    let desk = Arc::new(MemoryDesk::new());
    let docs = Arc::new(Mutex::new(Vec::new()));
    let sink = docs.clone();
    let gate = Notifier::gate_for(&config);
    let notifier = Notifier::new(config, gate, desk.clone())
        .with_fallback(Arc::new(Recording::default()))
        .with_metrics_sink(Arc::new(move |line: &str| {
            let doc: Value = serde_json::from_str(line).expect("one JSON line");
            sink.lock().unwrap().push(doc);
        }));
    Run {
        notifier,
        desk,
        docs,
    }
}

fn failure(run: &str) -> Value {
    json!({"error": {"Error": "States.TaskFailed", "Cause": "boom"},
           "execution": format!("arn:aws:states:us-east-1:111111111111:execution:orders:{run}"),
           "stateMachine": "orders", "failedState": "Charge"})
}

fn deadline() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(5))
}

impl Run {
    async fn send(&self, event: Value) -> Value {
        let _ = self.notifier.handle(event, deadline()).await;
        let docs = self.docs.lock().unwrap();
        let doc = docs.last().cloned().expect("one document per invocation");
        check_emf(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
        doc
    }
}

/// The counts of a document, leaving out the ones that are zero.
fn nonzero(doc: &Value) -> Vec<(String, u64)> {
    ticket_bridge::metrics::COUNTS
        .iter()
        .filter_map(|n| Some((n.to_string(), doc[*n].as_u64()?)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

#[tokio::test]
async fn each_invocation_writes_one_document_with_its_counts() {
    let r = run(&[]);
    let filed = r.send(failure("run-1")).await;
    assert_eq!(filed["Outcome"], "delivered");
    assert_eq!(nonzero(&filed), [("CasesFiled".to_owned(), 1)]);
    assert_eq!(filed["Attempts"], 1);
    assert_eq!(
        filed["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "TicketBridge"
    );
    assert_eq!(
        filed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Outcome"]])
    );

    let copy = r.send(failure("run-1")).await;
    assert_eq!(copy["Outcome"], "duplicate");
    assert_eq!(nonzero(&copy), [("Duplicates".to_owned(), 1)]);

    r.desk.fail_next(1, Fault::Down);
    let lost = r.send(failure("run-2")).await;
    assert_eq!(lost["Outcome"], "not_delivered");
    let mut counts = nonzero(&lost);
    counts.sort();
    assert_eq!(
        counts,
        [
            ("FallbackPublished".to_owned(), 1),
            ("NotDelivered".to_owned(), 1)
        ]
    );
    assert_eq!(
        r.docs.lock().unwrap().len(),
        3,
        "one document per invocation"
    );
    // No document names an execution or an ARN: only Outcome varies.
    for doc in r.docs.lock().unwrap().iter() {
        assert!(!doc.to_string().contains("arn:"), "{doc}");
    }
}

#[tokio::test]
async fn incidents_count_replies_and_coalesced_ones_under_the_namespace_given() {
    let r = run(&[
        ("IDEMPOTENCY_TABLE", "t"),
        ("INCIDENT_REPLY_INTERVAL_SECONDS", "3600"),
        ("METRICS_NAMESPACE", "Team/Bridge"),
    ]);
    let first = r.send(failure("run-1")).await;
    assert_eq!(first["Outcome"], "new_case");
    assert_eq!(nonzero(&first), [("CasesFiled".to_owned(), 1)]);
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Team/Bridge"
    );
    let second = r.send(failure("run-2")).await;
    assert_eq!(second["Outcome"], "reply_coalesced");
    assert_eq!(nonzero(&second), [("RepliesCoalesced".to_owned(), 1)]);
    let invalid = r.send(json!({"no": "failure"})).await;
    assert_eq!(invalid["Outcome"], "invalid_event");
    assert!(nonzero(&invalid).is_empty());
}

#[test]
fn the_checker_refuses_what_the_specification_refuses() {
    let good = json!({"_aws": {"Timestamp": 1_795_255_200_000_u64, "CloudWatchMetrics": [
        {"Namespace": "N", "Dimensions": [["Outcome"]], "Metrics": [{"Name": "C", "Unit": "Count"}]}]},
        "Outcome": "delivered", "C": 1});
    assert_eq!(check_emf(&good), Ok(()));
    for (path, bad) in [
        ("/C", json!("one")),
        ("/Outcome", json!(1)),
        ("/_aws/Timestamp", json!(1_795_255_200)),
        ("/_aws/CloudWatchMetrics/0/Metrics/0/Unit", json!("Things")),
    ] {
        let mut doc = good.clone();
        *doc.pointer_mut(path).unwrap() = bad;
        assert!(check_emf(&doc).is_err(), "{path}: {doc}");
    }
}
