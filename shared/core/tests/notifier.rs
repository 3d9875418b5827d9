//! `Notifier::handle` on in-memory adapters only: the memory desk, the
//! memory history source, memory claims and incidents, the recording
//! publisher. No HTTP, no AWS: what the core decides, on each path. The same
//! invocations over the Outseta adapter (HTTP, retries, credentials) are in
//! shared/outseta/tests, and over moto and the real binaries in
//! functions/notifier/tests and tests/e2e.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use ticket_bridge::desk::{CaseStatus, Fault, MemoryDesk};
use ticket_bridge::fallback::Recording;
use ticket_bridge::history::{MemoryHistory, events_from_json};
use ticket_bridge::incident::{
    Batch, Change, Creation, Cursor, Guard, InFlight, IncidentStore, Live, Occurrence, Page,
    Release, Retake, StoreError, Stored, Take,
};
use ticket_bridge::routing::{MemoryTags, TagError};
use ticket_bridge::{Config, Notifier, Outcome};

const ARN: &str = "arn:aws:states:us-east-1:111111111111:execution:orders:run-1";

fn config(extra: &[(&str, &str)]) -> Config {
    let mut env = vec![
        (
            "TICKET_API_URL",
            "https://desk.example.com/api/v1/support/cases",
        ),
        ("CONNECTION_SECRET_ID", "events!connection/desk/1"),
        ("FROM_PERSON_EMAIL", "oncall@example.com"),
    ];
    env.extend_from_slice(extra);
    Config::from_lookup(&|k: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("test configuration is valid")
}

fn notifier(config: Config, desk: &Arc<MemoryDesk>) -> Notifier {
    let gate = Notifier::gate_for(&config);
    Notifier::new(config, gate, desk.clone())
}

fn deadline() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(5))
}

/// A recorded `GetExecutionHistory` response (provenance in the fixtures'
/// README): a Lambda task state `Start` that raised.
fn recorded_history() -> MemoryHistory {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws/history-lambda-raise-exception.json");
    let text = std::fs::read_to_string(path).expect("fixture");
    let response: Value = serde_json::from_str(&text).expect("JSON");
    MemoryHistory::new(events_from_json(&response))
}

/// The status-change event Step Functions sends to EventBridge for a
/// failed execution: no failed state, no error, no cause.
fn status_change(arn: &str) -> Value {
    json!({"version": "0", "id": "e-1", "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": "111111111111", "time": "2026-12-01T10:00:01Z",
        "region": "us-east-1", "resources": [arn],
        "detail": {"executionArn": arn, "stateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:orders",
                   "name": "run-1", "status": "FAILED", "startDate": 1_795_255_200_000_i64,
                   "stopDate": 1_795_255_260_000_i64, "input": "{}", "output": null,
                   "error": null, "cause": null}})
}

fn catch_payload(execution: &str) -> Value {
    json!({"orderId": 7, "error": {"Error": "States.TaskFailed", "Cause": "boom"},
           "execution": execution, "stateMachine": "orders", "failedState": "Charge"})
}

#[tokio::test]
async fn the_eventbridge_path_names_the_failed_state_from_the_history_source() {
    let desk = Arc::new(MemoryDesk::new());
    let history = Arc::new(recorded_history());
    let n = notifier(config(&[]), &desk).with_history(history.clone());
    let out = n
        .handle(status_change(ARN), deadline())
        .await
        .expect("filed");
    let Outcome::Delivered { case_uid, .. } = out else {
        panic!("{out:?}")
    };
    let cases = desk.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].uid, case_uid);
    assert!(
        cases[0].subject.contains("in Start"),
        "{}",
        cases[0].subject
    );
    assert!(cases[0].subject.contains("orders"), "{}", cases[0].subject);
    assert!(
        cases[0].body.contains(
            "arn:&lt;partition&gt;:lambda:&lt;region&gt;:111111111111:function:&lt;lambda_function_name&gt;"
        ),
        "the task resource from the history: {}",
        cases[0].body
    );
    assert!(history.calls.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn an_unreadable_history_still_files_the_ticket_and_says_why() {
    let desk = Arc::new(MemoryDesk::new());
    let history = MemoryHistory::failing(
        "access denied (AccessDeniedException): the notifier's role needs states:GetExecutionHistory",
    );
    let n = notifier(config(&[]), &desk).with_history(Arc::new(history));
    n.handle(status_change(ARN), deadline())
        .await
        .expect("filed");
    let body = &desk.cases()[0].body;
    assert!(body.contains("execution history unavailable"), "{body}");
    assert!(body.contains("states:GetExecutionHistory"), "{body}");
}

#[tokio::test]
async fn the_catch_path_does_not_read_the_history() {
    let desk = Arc::new(MemoryDesk::new());
    let history = Arc::new(recorded_history());
    let n = notifier(config(&[]), &desk).with_history(history.clone());
    n.handle(catch_payload(ARN), deadline())
        .await
        .expect("filed");
    assert_eq!(history.calls.load(Ordering::SeqCst), 0);
    assert!(desk.cases()[0].subject.ends_with("in Charge"));
}

#[tokio::test]
async fn a_redelivered_failure_is_answered_with_its_case_and_files_nothing() {
    let desk = Arc::new(MemoryDesk::new());
    let n = notifier(config(&[]), &desk);
    let first = n
        .handle(catch_payload(ARN), deadline())
        .await
        .expect("filed");
    let again = n
        .handle(catch_payload(ARN), deadline())
        .await
        .expect("answered");
    let (
        Outcome::Delivered { case_uid: a, .. },
        Outcome::Delivered {
            case_uid: b,
            duplicate,
            ..
        },
    ) = (first, again)
    else {
        panic!("not delivered")
    };
    assert_eq!(a, b);
    assert!(duplicate);
    assert_eq!(desk.cases().len(), 1);
}

#[tokio::test]
async fn an_undeliverable_ticket_goes_to_the_fallback_and_its_retry_files_it() {
    let desk = Arc::new(MemoryDesk::new());
    let fallback = Arc::new(Recording::default());
    let n = notifier(config(&[]), &desk).with_fallback(fallback.clone());
    desk.fail_next(1, Fault::Down);
    let err = n
        .handle(catch_payload(ARN), deadline())
        .await
        .expect_err("the desk is down");
    assert_eq!(err.error_type(), "TicketDeliveryFailed");
    let published = fallback.published();
    assert_eq!(published.len(), 1);
    assert!(
        published[0].0.starts_with("UNDELIVERED "),
        "{}",
        published[0].0
    );
    assert!(published[0].1.contains("Charge"), "{}", published[0].1);
    // The claim was released: the caller's retry files the case.
    n.handle(catch_payload(ARN), deadline())
        .await
        .expect("filed on retry");
    assert_eq!(desk.cases().len(), 1);
}

#[tokio::test]
async fn a_rejected_ticket_is_a_typed_error() {
    let desk = Arc::new(MemoryDesk::new());
    let n = notifier(config(&[]), &desk);
    desk.fail_next(1, Fault::Reject);
    let err = n
        .handle(catch_payload(ARN), deadline())
        .await
        .expect_err("rejected");
    assert_eq!(err.error_type(), "TicketRejected");
}

#[tokio::test]
async fn a_recurring_failure_is_one_case_and_replies_until_a_person_closes_it() {
    let desk = Arc::new(MemoryDesk::new());
    let grouped = config(&[
        ("IDEMPOTENCY_TABLE", "t"),
        ("INCIDENT_REPLY_INTERVAL_SECONDS", "0"),
        // Each failure due at once, whatever the desk's budget.
        ("DESK_REQUESTS_PER_SECOND", "0"),
    ]);
    let n = notifier(grouped, &desk);
    let run = |i: u32| format!("arn:aws:states:us-east-1:111111111111:execution:orders:run-{i}");
    n.handle(catch_payload(&run(1)), deadline())
        .await
        .expect("case");
    n.handle(catch_payload(&run(2)), deadline())
        .await
        .expect("reply");
    let cases = desk.cases();
    assert_eq!(cases.len(), 1, "one incident, one case");
    assert_eq!(cases[0].replies.len(), 1);
    assert!(
        cases[0].replies[0].1.contains("run-2"),
        "{:?}",
        cases[0].replies
    );

    desk.close(&cases[0].uid);
    n.handle(catch_payload(&run(3)), deadline())
        .await
        .expect("new case");
    let cases = desk.cases();
    assert_eq!(cases.len(), 2, "a closed case is followed by a new one");
    assert_eq!(cases[0].status, CaseStatus::Closed);
    assert!(
        cases[1].body.contains(&cases[0].uid),
        "the new case links the closed one"
    );
}

#[tokio::test]
async fn a_deadline_already_passed_attempts_nothing_and_says_so() {
    let desk = Arc::new(MemoryDesk::new());
    let n = notifier(config(&[]), &desk);
    let passed = Some(SystemTime::now() - Duration::from_secs(1));
    let err = n
        .handle(catch_payload(ARN), passed)
        .await
        .expect_err("no time left");
    assert_eq!(err.error_type(), "DeliveryTimedOut");
    assert_eq!(desk.calls(), 0, "nothing was attempted");
    // Not claimed either: a retry with time left files the ticket.
    n.handle(catch_payload(ARN), deadline())
        .await
        .expect("filed on retry");
    assert_eq!(desk.cases().len(), 1);
}

/// `cargo lambda watch` 1.9 sends a deadline ten minutes after the epoch on
/// every invocation: no real deadline, so the default budget applies.
#[tokio::test]
async fn a_deadline_long_past_is_a_placeholder_and_counts_as_absent() {
    let desk = Arc::new(MemoryDesk::new());
    let n = notifier(config(&[]), &desk);
    let watch = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(600_000));
    n.handle(catch_payload(ARN), watch).await.expect("filed");
    assert_eq!(desk.cases().len(), 1);
}

/// An incident store that is down: every call fails.
struct Down;

fn down<'a, T: Send + 'a>() -> Stored<'a, T> {
    Box::pin(async { Err(StoreError("table unreachable".to_owned())) })
}

impl IncidentStore for Down {
    fn describe(&self) -> &'static str {
        "down"
    }
    fn read<'a>(&'a self, _: &'a str) -> Stored<'a> {
        down()
    }
    fn create<'a>(&'a self, _: &'a str, _: Creation<'a>) -> Stored<'a, bool> {
        down()
    }
    fn next_number<'a>(&'a self, _: &'a str, _: Live) -> Stored<'a, Option<u64>> {
        down()
    }
    fn append<'a>(&'a self, _: &'a str, _: &'a Occurrence, _: Live) -> Stored<'a> {
        down()
    }
    fn update<'a>(&'a self, _: &'a str, _: &'a Guard, _: &'a Change) -> Stored<'a> {
        down()
    }
    fn take<'a>(&'a self, _: &'a str, _: Take<'a>) -> Stored<'a, Option<Batch>> {
        down()
    }
    fn retake<'a>(&'a self, _: &'a str, _: Retake<'a>) -> Stored<'a, Option<InFlight>> {
        down()
    }
    fn release<'a>(&'a self, _: &'a str, _: Release<'a>) -> Stored<'a, bool> {
        down()
    }
    fn settle<'a>(&'a self, _: &'a str, _: &'a str) -> Stored<'a, bool> {
        down()
    }
    fn index<'a>(&'a self, _: &'a str, _: &'a str) -> Stored<'a, ()> {
        down()
    }
    fn indexed<'a>(&'a self, _: &'a Cursor, _: usize) -> Stored<'a, Page> {
        down()
    }
    fn flush_cursor(&self) -> Stored<'_, Cursor> {
        down()
    }
    fn save_flush_cursor<'a>(&'a self, _: &'a Cursor) -> Stored<'a, ()> {
        down()
    }
    fn unindex<'a>(&'a self, _: &'a str, _: Option<&'a str>) -> Stored<'a, ()> {
        down()
    }
    fn of_machine<'a>(&'a self, _: &'a str) -> Stored<'a, Vec<String>> {
        down()
    }
}

#[tokio::test]
async fn with_the_incident_store_down_a_failure_is_filed_as_its_own_case() {
    let desk = Arc::new(MemoryDesk::new());
    let grouped = config(&[("IDEMPOTENCY_TABLE", "t")]);
    let n = notifier(grouped, &desk).with_incidents(Arc::new(Down));
    let run = |i: u32| format!("arn:aws:states:us-east-1:111111111111:execution:orders:run-{i}");
    for i in [1, 2] {
        let out = n
            .handle(catch_payload(&run(i)), deadline())
            .await
            .expect("filed");
        assert!(
            matches!(&out, Outcome::Delivered { duplicate: false, case_uid, .. } if *case_uid == format!("case-{i}")),
            "{out:?}"
        );
    }
    assert_eq!(
        desk.cases().len(),
        2,
        "a possible extra case beats a lost one"
    );
    // Redelivered: answered from the claim the notifier completed.
    let again = n
        .handle(catch_payload(&run(2)), deadline())
        .await
        .expect("duplicate");
    assert!(
        matches!(
            again,
            Outcome::Delivered {
                duplicate: true,
                ..
            }
        ),
        "{again:?}"
    );
}

/// The machine of `ARN`, tagged as its owners route its cases.
fn routed_tags(extra: &[(&str, &str)]) -> Arc<MemoryTags> {
    let mut tags = vec![
        ("ticket-bridge:assignee", "dpWp6Lmn"),
        ("ticket-bridge:tags", "pipelines/data"),
        ("ticket-bridge:severity", "critical"),
        (
            "ticket-bridge:runbook",
            "https://wiki.example.com/runbooks/orders",
        ),
    ];
    // A value in `extra` replaces the default one of its key.
    tags.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    tags.extend_from_slice(extra);
    Arc::new(MemoryTags {
        tags: HashMap::from([(
            "arn:aws:states:us-east-1:111111111111:stateMachine:orders".to_owned(),
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )]),
        ..MemoryTags::default()
    })
}

#[tokio::test]
async fn both_paths_route_a_case_by_the_machines_tags() {
    for event in [catch_payload(ARN), status_change(ARN)] {
        let desk = Arc::new(MemoryDesk::new());
        let tags = routed_tags(&[]);
        let n = notifier(config(&[]), &desk)
            .with_history(Arc::new(recorded_history()))
            .with_tags(tags.clone());
        n.handle(event, deadline()).await.expect("filed");
        let case = &desk.cases()[0];
        assert_eq!(case.assignee.as_deref(), Some("dpWp6Lmn"));
        assert_eq!(
            case.tags.iter().map(String::as_str).collect::<Vec<_>>(),
            ["data", "pipelines"]
        );
        assert!(
            case.subject
                .starts_with("[Step Functions] [critical] orders: "),
            "{}",
            case.subject
        );
        assert!(
            case.body
                .contains("<a href=\"https://wiki.example.com/runbooks/orders\">Runbook</a>"),
            "{}",
            case.body
        );
        assert!(
            case.body.contains("ticket-bridge-fingerprint: "),
            "{}",
            case.body
        );
        assert_eq!(tags.reads.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn tags_that_cannot_be_read_or_used_never_cost_the_ticket() {
    let desk = Arc::new(MemoryDesk::new());
    let denied = Arc::new(MemoryTags {
        error: Some(TagError(
            "access denied (AccessDeniedException): the notifier's role needs states:ListTagsForResource".into(),
        )),
        ..MemoryTags::default()
    });
    let n = notifier(config(&[]), &desk).with_tags(denied);
    n.handle(catch_payload(ARN), deadline())
        .await
        .expect("filed");
    let case = &desk.cases()[0];
    assert!(
        case.body
            .contains("Routing: routing tags unavailable: access denied"),
        "{}",
        case.body
    );
    assert_eq!(case.assignee, None);

    let desk = Arc::new(MemoryDesk::new());
    let bad = routed_tags(&[("ticket-bridge:severity", "very very bad")]);
    let n = notifier(config(&[]), &desk).with_tags(bad);
    n.handle(catch_payload(ARN), deadline())
        .await
        .expect("filed");
    let case = &desk.cases()[0];
    assert!(
        case.subject.starts_with("[Step Functions] orders: "),
        "{}",
        case.subject
    );
    assert!(
        case.body.contains("tag ticket-bridge:severity ignored"),
        "{}",
        case.body
    );
    assert_eq!(
        case.assignee.as_deref(),
        Some("dpWp6Lmn"),
        "the rest still routes"
    );
}

#[tokio::test]
async fn routing_off_reads_no_tags() {
    let desk = Arc::new(MemoryDesk::new());
    let tags = routed_tags(&[]);
    let n = notifier(config(&[("ROUTING", "off")]), &desk).with_tags(tags.clone());
    n.handle(catch_payload(ARN), deadline())
        .await
        .expect("filed");
    assert_eq!(tags.reads.load(Ordering::SeqCst), 0);
    assert_eq!(desk.cases()[0].assignee, None);
}
