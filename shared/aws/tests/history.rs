//! `history::enrich` against real-shaped sources: recorded AWS histories,
//! moto's Step Functions server (`SF_EXECUTION_HISTORY_TYPE=FAILURE` makes
//! it serve a failed history), and a local stub answering AWS's JSON error
//! shape for the denied, throttled and slow cases.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use serde_json::{Value, json};
use ticket_bridge::history::{HistoryLimits, MemoryHistory, enrich, events_from_json};
use ticket_bridge::intake::{Failure, Intake, intake};
use ticket_bridge_aws::SfnHistory;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/moto.rs"]
mod moto;

use moto::{failed_execution, moto_with, sdk_loader};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/aws")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// The EventBridge event for `arn`, as Step Functions sends it for `status`.
fn status_change(arn: &str, status: &str, error: Value) -> Failure {
    let ev = json!({"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "region": "us-east-1", "account": "123456789012",
        "detail": {"executionArn": arn, "status": status, "error": error, "cause": null,
                   "startDate": 1_700_000_000_000_i64, "stopDate": 1_700_000_060_000_i64,
                   "input": "{}", "inputDetails": {"included": true}}});
    match intake(&ev, None) {
        Ok(Intake::Failure(f)) => *f,
        other => panic!("{other:?}"),
    }
}

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";

/// Table: recorded history → (failed state, error, resource, retries).
#[tokio::test]
async fn recorded_aws_histories_name_the_failed_state() {
    let cases = [
        (
            "history-lambda-raise-exception.json",
            "Start",
            "Exception",
            "arn:<partition>:lambda:<region>:111111111111:function:<lambda_function_name>",
        ),
        (
            "history-sfn-start-execution-no-such-arn.json",
            "StartExecution",
            "StepFunctions.StateMachineDoesNotExistException",
            "arn:aws:states:::states:startExecution",
        ),
    ];
    for (file, state, error, resource) in cases {
        let source = MemoryHistory::new(events_from_json(&fixture(file)));
        let (f, extra) = enrich(
            &source,
            status_change(ARN, "FAILED", Value::Null),
            &HistoryLimits::default(),
        )
        .await;
        assert_eq!(f.failed_state.as_deref(), Some(state), "{file}");
        assert_eq!(f.error.as_deref(), Some(error), "{file}");
        assert!(f.cause.is_some(), "{file}");
        assert_eq!(extra.resource.as_deref(), Some(resource), "{file}");
        assert_eq!(extra.retries, Some(0), "{file}");
        assert!(extra.state_input.is_some(), "{file}");
        assert_eq!(extra.note, None, "{file}");
    }
}

async fn sfn_client(endpoint: &str) -> aws_sdk_sfn::Client {
    let sdk = sdk_loader(endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_sfn::Client::new(&sdk)
}

#[tokio::test]
async fn moto_failed_history_through_the_sdk_adapter() {
    // moto serves the failed history when its server runs with
    // `SF_EXECUTION_HISTORY_TYPE=FAILURE` (moto/stepfunctions/models.py).
    let moto = moto_with("SF_EXECUTION_HISTORY_TYPE=FAILURE");
    let client = sfn_client(&moto.endpoint).await;
    let (_, run) = failed_execution(&client, "orders").await;
    let source = SfnHistory::new(client);
    let (f, extra) = enrich(
        &source,
        status_change(&run, "FAILED", Value::Null),
        &HistoryLimits::default(),
    )
    .await;
    assert_eq!(extra.note, None);
    assert_eq!(f.failed_state.as_deref(), Some("A State"));
    assert_eq!(f.error.as_deref(), Some("AnError"));
    assert_eq!(f.cause.as_deref(), Some("An error occurred!"));
}

/// Table: stub answer → the note the ticket shows; the failure keeps what
/// the event had.
#[tokio::test]
async fn denied_throttled_and_slow_histories_leave_a_note() {
    let denied = ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .set_body_string(
            r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/notifier/fn is not authorized to perform: states:GetExecutionHistory"}"#,
        );
    let throttled = ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .set_body_string(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#);
    let slow = ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .set_body_string(r#"{"events":[]}"#)
        .set_delay(Duration::from_secs(3));
    let cases = [
        (
            denied,
            "access denied (AccessDeniedException): the notifier's role needs states:GetExecutionHistory",
        ),
        (throttled, "throttled (ThrottlingException)"),
        (slow, "GetExecutionHistory did not answer within 300 ms"),
    ];
    let limits = HistoryLimits {
        budget: Duration::from_millis(300),
        ..HistoryLimits::default()
    };
    for (answer, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                "AWSStepFunctions.GetExecutionHistory",
            ))
            .respond_with(answer)
            .mount(&server)
            .await;
        let source = SfnHistory::new(sfn_client(&server.uri()).await);
        let before = status_change(ARN, "TIMED_OUT", json!("States.Timeout"));
        let started = Instant::now();
        let (f, extra) = enrich(&source, before.clone(), &limits).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{expected}: over budget"
        );
        assert_eq!(f, before, "{expected}");
        let note = extra.note.unwrap_or_default();
        assert!(
            note.starts_with("execution history unavailable: ") && note.contains(expected),
            "{expected}: {note}"
        );
        let requests = server.received_requests().await.unwrap_or_default();
        let body: Value = requests
            .first()
            .and_then(|r| serde_json::from_slice(&r.body).ok())
            .unwrap_or_default();
        assert_eq!(body["reverseOrder"], json!(true), "{body}");
        assert_eq!(body["executionArn"], json!(ARN), "{body}");
    }
}
