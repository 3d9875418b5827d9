//! One CloudWatch Embedded Metric Format (EMF) document per invocation:
//! what an operator alarms on and graphs (cases filed, replies, duplicates,
//! fallbacks, undelivered tickets, unreadable histories, delivery time and
//! attempts) without a metrics API call. CloudWatch Logs turns the JSON line
//! into metrics; the only dimension is the invocation's `Outcome`, never an
//! ARN or an execution name, so the metrics' cardinality stays a dozen.
//!
//! The counts are gathered while the invocation runs, in a task-local tally
//! (deep code, such as the fallback publisher, counts what only it sees),
//! and written once at the end.
//!
//! No metrics crate: one document per invocation, written once, is a
//! `serde_json` object; a metrics registry with its macros and flush
//! machinery would add a dependency tree for what these 60 lines do.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

/// Every count the document carries, zero when nothing happened: an alarm
/// then sees 0, not missing data.
pub const COUNTS: [&str; 8] = [
    "CasesFiled",
    "RepliesPosted",
    "RepliesCoalesced",
    "Duplicates",
    "Muted",
    "FallbackPublished",
    "NotDelivered",
    "HistoryUnavailable",
];

/// The namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "TicketBridge";

/// What one invocation counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    counts: BTreeMap<&'static str, u64>,
    outcome: Option<&'static str>,
}

impl Tally {
    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    pub fn outcome(&self) -> Option<&'static str> {
        self.outcome
    }
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// Runs `f` with a tally of its own; returns what it counted.
pub async fn tallied<F: Future>(f: F) -> (F::Output, Tally) {
    let cell = RefCell::new(Tally::default());
    TALLY
        .scope(cell, async move {
            let out = f.await;
            let tally = TALLY.with(|t| t.borrow().clone());
            (out, tally)
        })
        .await
}

/// Adds `n` to count `name` of the running invocation (nothing outside one).
pub fn count(name: &'static str, n: u64) {
    let _ = TALLY.try_with(|t| *t.borrow_mut().counts.entry(name).or_insert(0) += n);
}

/// Adds `n` to count `name` of a finished invocation's tally.
pub fn add(tally: &mut Tally, name: &'static str, n: u64) {
    *tally.counts.entry(name).or_insert(0) += n;
}

/// Names how the running invocation ended, for the `Outcome` dimension, when
/// its result alone does not say (the not-filed exits).
pub fn outcome(name: &'static str) {
    let _ = TALLY.try_with(|t| t.borrow_mut().outcome = Some(name));
}

/// Whether CloudWatch accepts `ns` as a namespace: 1 to 255 characters of
/// letters, digits and `. - _ / # :` or space, not under `AWS/`.
pub fn valid_namespace(ns: &str) -> bool {
    (1..=255).contains(&ns.len())
        && !ns.starts_with("AWS/")
        && ns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
}

/// The EMF document of one invocation.
pub fn document(
    namespace: &str,
    outcome: &str,
    tally: &Tally,
    delivery_ms: u64,
    attempts: u32,
    at: SystemTime,
) -> Value {
    let timestamp = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut metrics: Vec<Value> = COUNTS
        .iter()
        .map(|name| json!({"Name": name, "Unit": "Count"}))
        .collect();
    metrics.push(json!({"Name": "DeliveryMs", "Unit": "Milliseconds"}));
    metrics.push(json!({"Name": "Attempts", "Unit": "Count"}));
    let mut doc = Map::new();
    doc.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Outcome"]],
                "Metrics": metrics,
            }],
        }),
    );
    doc.insert("Outcome".to_owned(), json!(outcome));
    for name in COUNTS {
        doc.insert(name.to_owned(), json!(tally.get(name)));
    }
    doc.insert("DeliveryMs".to_owned(), json!(delivery_ms));
    doc.insert("Attempts".to_owned(), json!(attempts));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_belong_to_their_invocation() {
        count("CasesFiled", 1); // outside any invocation: nothing
        let ((), a) = tallied(async {
            count("CasesFiled", 1);
            count("FallbackPublished", 2);
            outcome("not_delivered");
        })
        .await;
        let ((), b) = tallied(async {}).await;
        assert_eq!(a.get("CasesFiled"), 1);
        assert_eq!(a.get("FallbackPublished"), 2);
        assert_eq!(a.outcome(), Some("not_delivered"));
        assert_eq!(b, Tally::default());
    }

    #[test]
    fn namespaces_cloudwatch_accepts() {
        for ok in ["TicketBridge", "Team/Ticket Bridge", "a.b-c_d#e:f"] {
            assert!(valid_namespace(ok), "{ok}");
        }
        for bad in ["", "AWS/Lambda", "bridge!", "é", &"n".repeat(256)] {
            assert!(!valid_namespace(bad), "{bad}");
        }
    }
}
