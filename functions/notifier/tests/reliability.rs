//! No duplicate tickets and nothing lost: DynamoDB dedupe and the SNS
//! fallback against moto, with a local ticket API counting what it gets.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A ticket API that files every case as `ONLY-ONE`, after `delay_ms`.
async fn counting_api(delay_ms: u64) -> (MockServer, String) {
    let (server, url) = api().await;
    Mock::given(method("POST"))
        .respond_with(created("ONLY-ONE").set_delay(Duration::from_millis(delay_ms)))
        .mount(&server)
        .await;
    (server, url)
}

fn secret() -> String {
    apikey_secret("Outseta K:S-rel")
}

fn table() -> String {
    seed(&["table"])["tableName"].as_str().unwrap().to_owned()
}

fn failure_of(execution: &str) -> Value {
    let mut ev = event("catch-lambda.json");
    ev["execution"] = json!(format!(
        "arn:aws:states:eu-west-1:123456789012:execution:order-pipeline:{execution}"
    ));
    ev
}

/// Cases filed: the POSTs the API received (with incidents on, a new
/// incident also searches the desk for its marker first, with a GET).
async fn posts(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_copies_of_one_failure_file_one_case() {
    let (server, url) = counting_api(300).await;
    let (secret, table) = (secret(), table());
    // Twenty separate "containers", sharing only the table.
    let mut notifiers = Vec::new();
    for _ in 0..20 {
        notifiers.push(Arc::new(
            notifier(&secret, &url, &[("IDEMPOTENCY_TABLE", &table)]).await,
        ));
    }
    let ev = failure_of("dup-1");
    let runs = notifiers.into_iter().map(|n| {
        let ev = ev.clone();
        // A generous deadline: a holder that overruns its own deadline is
        // rightly taken over (and may then file twice, as a crashed one
        // would), which a loaded CI machine must not turn into a flake.
        tokio::spawn(async move { invoke(&n, ev, 60_000).await })
    });
    let results: Vec<_> = futures_join(runs).await;
    assert_eq!(posts(&server).await, 1, "more than one case was filed");
    let firsts = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|v| v.get("duplicate").is_none()))
        .count();
    assert_eq!(firsts, 1, "{results:?}");
    for r in &results {
        let v = r.as_ref().expect("every copy gets the first one's result");
        assert_eq!(v["caseUid"], "ONLY-ONE");
    }
}

/// Dedupe alone: with incident grouping (on by default with a table) these
/// twenty failures of one state would be one case and its replies
/// (tests/incidents.rs), so grouping is off here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_different_failures_file_twenty_cases() {
    let (server, url) = counting_api(50).await;
    let (secret, table) = (secret(), table());
    let n = Arc::new(
        notifier(
            &secret,
            &url,
            &[("IDEMPOTENCY_TABLE", &table), ("INCIDENT_GROUPING", "off")],
        )
        .await,
    );
    let runs = (0..20).map(|i| {
        let n = n.clone();
        tokio::spawn(async move { invoke(&n, failure_of(&format!("distinct-{i}")), 10_000).await })
    });
    let results = futures_join(runs).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|v| v.get("duplicate").is_none())),
        "{results:?}"
    );
    assert_eq!(posts(&server).await, 20);
}

#[tokio::test]
async fn scopes_choose_what_is_a_repeat() {
    let (server, url) = counting_api(0).await;
    let (secret, table) = (secret(), table());
    let by_execution = notifier(
        &secret,
        &url,
        &[("IDEMPOTENCY_TABLE", &table), ("DEDUPE_SCOPE", "execution")],
    )
    .await;
    let mut other_error = failure_of("scoped");
    other_error["error"]["Error"] = json!("AnotherError");
    invoke(&by_execution, failure_of("scoped"), 10_000)
        .await
        .unwrap();
    let again = invoke(&by_execution, other_error.clone(), 10_000)
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true);
    assert_eq!(posts(&server).await, 1);
    let by_error = notifier(&secret, &url, &[("IDEMPOTENCY_TABLE", &table)]).await;
    invoke(&by_error, other_error, 10_000).await.unwrap();
    assert_eq!(
        posts(&server).await,
        2,
        "default scope (error): a different error is a new ticket"
    );
}

#[tokio::test]
async fn without_a_table_a_warm_container_still_suppresses_repeats() {
    let (server, url) = counting_api(0).await;
    let n = notifier(&secret(), &url, &[]).await;
    let first = invoke(&n, failure_of("warm"), 10_000).await.unwrap();
    let second = invoke(&n, failure_of("warm"), 10_000).await.unwrap();
    assert_eq!(first.get("duplicate"), None);
    assert_eq!(
        second,
        json!({"caseUid": "ONLY-ONE", "subject": first["subject"], "attempts": 0, "duplicate": true})
    );
    assert_eq!(posts(&server).await, 1);
}

#[tokio::test]
async fn a_failed_delivery_releases_its_claim_for_the_retry() {
    let server = MockServer::start().await;
    answer_in_turn(
        &server,
        vec![ResponseTemplate::new(503)],
        created("RETRIED"),
    )
    .await;
    let url = format!("{}/api/v1/support/cases", server.uri());
    let n = notifier(
        &secret(),
        &url,
        &[("IDEMPOTENCY_TABLE", &table()), ("MAX_ATTEMPTS", "1")],
    )
    .await;
    let err = invoke_err(&n, failure_of("retry"), 10_000).await;
    assert_eq!(err.error_type, "TicketDeliveryFailed");
    let ok = invoke(&n, failure_of("retry"), 10_000).await.unwrap();
    assert_eq!(ok["caseUid"], "RETRIED");
    assert_eq!(ok.get("duplicate"), None);
}

#[tokio::test]
async fn a_crashed_claim_lapses_and_a_live_one_is_waited_for() {
    let (server, url) = counting_api(0).await;
    let table = table();
    let n = notifier(&secret(), &url, &[("IDEMPOTENCY_TABLE", &table)]).await;
    let key = {
        let ev = failure_of("crashed");
        let ticket_bridge::Intake::Failure(f) = ticket_bridge::intake::intake(&ev, None).unwrap()
        else {
            panic!()
        };
        ticket_bridge::dedupe::key(&f, ticket_bridge::dedupe::Scope::Error)
    };
    let ddb = aws_sdk_dynamodb::Client::new(&moto_sdk().await);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let put = |in_progress_until: u128| {
        ddb.put_item()
            .table_name(&table)
            .item(
                "id",
                aws_sdk_dynamodb::types::AttributeValue::S(key.clone()),
            )
            .item(
                "status",
                aws_sdk_dynamodb::types::AttributeValue::S("INPROGRESS".into()),
            )
            .item(
                "expiration",
                aws_sdk_dynamodb::types::AttributeValue::N((now_ms / 1000 + 3600).to_string()),
            )
            .item(
                "in_progress_expiration",
                aws_sdk_dynamodb::types::AttributeValue::N(in_progress_until.to_string()),
            )
            .send()
    };
    // Held by a live invocation: wait inside the budget, then a typed error
    // telling the caller to retry (the holder owns the ticket).
    put(now_ms + 60_000).await.unwrap();
    let started = Instant::now();
    let err = invoke_err(&n, failure_of("crashed"), 2_000).await;
    expect_error(&err, "TicketDeliveryFailed", "another invocation");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(posts(&server).await, 0);
    // Held by one that died: its claim lapsed, so this one files the ticket.
    put(now_ms - 1).await.unwrap();
    let ok = invoke(&n, failure_of("crashed"), 10_000).await.unwrap();
    assert_eq!(ok["caseUid"], "ONLY-ONE");
    assert_eq!(posts(&server).await, 1);
}

/// A holder that stops mid-delivery and never completes or releases its
/// claim: the waiting copy sees the claim lapse while it waits and takes it
/// over with the conditional write, inside its own budget (not only its
/// caller's retry can). The same on the memory adapter is in shared/core/tests.
#[tokio::test]
async fn a_holder_that_stops_mid_delivery_is_taken_over_within_the_budget() {
    let (server, url) = counting_api(0).await;
    let table = table();
    let n = notifier(&secret(), &url, &[("IDEMPOTENCY_TABLE", &table)]).await;
    let ev = failure_of("stopped-mid-delivery");
    let ticket_bridge::Intake::Failure(f) = ticket_bridge::intake::intake(&ev, None).unwrap()
    else {
        panic!()
    };
    let key = ticket_bridge::dedupe::key(&f, ticket_bridge::dedupe::Scope::Error);
    let holder = ticket_bridge_aws::claims::DynamoDb::new(
        aws_sdk_dynamodb::Client::new(&moto_sdk().await),
        table.clone(),
    );
    use ticket_bridge::dedupe::{Claim, ClaimStore, Lease};
    let holder_deadline = SystemTime::now() + Duration::from_millis(1_500);
    let expires = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(
        holder
            .claim(&key, &Lease::new(holder_deadline, expires))
            .await
            .unwrap(),
        Claim::New
    );
    // The holder now "stops": no complete, no release.
    let started = Instant::now();
    let ok = invoke(&n, ev, 8_000).await.unwrap();
    assert_eq!(ok["caseUid"], "ONLY-ONE", "{ok}");
    assert_eq!(ok.get("duplicate"), None);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_000) && waited < Duration::from_secs(8),
        "took over after {waited:?}"
    );
    assert_eq!(posts(&server).await, 1);
    assert!(matches!(
        holder.existing(&key).await.unwrap(),
        Claim::Done { .. }
    ));
}

#[tokio::test]
async fn a_broken_dedupe_store_never_blocks_a_ticket() {
    let (server, url) = counting_api(0).await;
    let n = notifier(&secret(), &url, &[("IDEMPOTENCY_TABLE", "no-such-table")]).await;
    let ok = invoke(&n, failure_of("no-table"), 10_000).await.unwrap();
    assert_eq!(ok["caseUid"], "ONLY-ONE");
    assert_eq!(posts(&server).await, 1);
}

#[tokio::test]
async fn undeliverable_tickets_go_to_the_fallback_topic() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let url = format!("{}/api/v1/support/cases", server.uri());
    let topic = seed(&["topic"]);
    let (arn, queue) = (
        topic["topicArn"].as_str().unwrap(),
        topic["queueUrl"].as_str().unwrap(),
    );
    let n = notifier(
        &secret(),
        &url,
        &[("FALLBACK_TOPIC_ARN", arn), ("MAX_ATTEMPTS", "2")],
    )
    .await;
    let (logs, _g) = capture_logs();
    let err = invoke_err(&n, failure_of("fallback"), 10_000).await;
    assert_eq!(err.error_type, "TicketDeliveryFailed");
    assert!(
        err.error_message
            .ends_with("; the ticket was published to the fallback topic"),
        "{}",
        err.error_message
    );
    let line = logs
        .lines()
        .into_iter()
        .find(|l| l["fields"]["outcome"] == "not_delivered")
        .unwrap();
    assert_eq!(line["fields"]["fallback"], "published");
    let published = seed(&["drain", "--queue-url", queue]);
    let msgs = published.as_array().unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0]["subject"],
        "UNDELIVERED [Step Functions] order-pipeline: PaymentDeclined in ChargeCard"
    );
    assert_eq!(
        msgs[0]["message"]["error"]["errorType"],
        "TicketDeliveryFailed"
    );
    assert!(
        msgs[0]["message"]["ticket"]["Body"]
            .as_str()
            .unwrap()
            .contains("card ending 4242")
    );
    assert!(!published.to_string().contains("Outseta K:S-rel"));

    let missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let n = notifier(
        &secret(),
        &url,
        &[("FALLBACK_TOPIC_ARN", missing), ("MAX_ATTEMPTS", "1")],
    )
    .await;
    let err = invoke_err(&n, failure_of("fallback-broken"), 10_000).await;
    assert_eq!(err.error_type, "TicketDeliveryFailed");
    assert!(
        err.error_message
            .contains("publishing to the fallback topic failed too"),
        "{}",
        err.error_message
    );
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}
