//! The EventBridge path end to end, with the notifier built as `main` builds
//! it: an execution that failed without a Catch reaches the notifier only as
//! an "Execution Status Change" event, which names no state. The ticket
//! names the failed state anyway, read from the execution's history on
//! moto's Step Functions (`SF_EXECUTION_HISTORY_TYPE=FAILURE` makes moto
//! serve its recorded failed history: state `A State`, error `AnError`).
//! When the history cannot be read, the ticket is filed with what the event
//! had, and says so.

mod support;

use serde_json::{Value, json};
use support::*;

/// The sample EventBridge event, pointed at `execution` of `machine`.
fn status_change(machine: &str, execution: &str) -> Value {
    let mut ev = event("eventbridge-failed.json");
    ev["region"] = json!("us-east-1");
    ev["resources"] = json!([execution]);
    ev["detail"]["executionArn"] = json!(execution);
    ev["detail"]["stateMachineArn"] = json!(machine);
    ev["detail"]["name"] = json!(execution.rsplit(':').next());
    ev
}

#[tokio::test]
async fn eventbridge_tickets_name_the_failed_state_from_the_history() {
    let moto = moto_with("SF_EXECUTION_HISTORY_TYPE=FAILURE");
    let sdk = sdk_at(&moto.endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let (machine, run) = failed_execution(&sfn, "order-pipeline").await;
    let secret = seed_at(
        &moto.endpoint,
        &[
            "apikey",
            "--key-name",
            "Authorization",
            "--key-value",
            "Outseta K:S-hist",
        ],
    )["secretArn"]
        .as_str()
        .expect("secretArn")
        .to_owned();
    let (server, url) = api_answering(created("H1"), Some(2)).await;
    let env = [
        ("TICKET_API_URL", url.as_str()),
        ("CONNECTION_SECRET_ID", secret.as_str()),
        ("FROM_PERSON_EMAIL", "oncall@example.com"),
    ];
    let n = notifier_with(&env, &sdk);

    let read = status_change(&machine, &run);
    let out = invoke(&n, read, 10_000).await.expect("filed");
    assert_eq!(out["caseUid"], "H1");

    // An execution moto never ran: GetExecutionHistory fails, the ticket is
    // still filed from the event alone, and says why it knows less.
    let gone = format!("{run}-gone");
    invoke(&n, status_change(&machine, &gone), 10_000)
        .await
        .expect("filed without the history");

    let sent: Vec<Value> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("JSON case"))
        .collect();
    let (subject, body) = (&sent[0]["Subject"], sent[0]["Body"].as_str().unwrap_or(""));
    assert!(
        subject.as_str().is_some_and(|s| s.ends_with(" in A State")),
        "the Subject names the state from the history: {subject}"
    );
    assert!(
        body.contains("A State") && body.contains("AnError"),
        "{body}"
    );
    let (subject, body) = (&sent[1]["Subject"], sent[1]["Body"].as_str().unwrap_or(""));
    assert!(
        !subject.as_str().unwrap_or("").contains("A State"),
        "{subject}"
    );
    assert!(
        body.contains("history"),
        "the ticket says the history was unreadable: {body}"
    );
}
