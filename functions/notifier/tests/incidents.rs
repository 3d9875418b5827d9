//! Incidents through DynamoDB on moto, end to end: 50 concurrent failures
//! through 50 separate notifiers sharing the table make one case, and after
//! a flush every execution is on it. The adapter's own behaviour (one
//! creator per storm, one taker per reply, the kept list, lapses, expiry,
//! the indexes) is the conformance suite's, in
//! shared/core/tests/conformance_dynamodb.rs.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn table() -> String {
    seed(&["table"])["tableName"].as_str().unwrap().to_owned()
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
