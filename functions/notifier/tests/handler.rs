//! The handler end to end against real parts: moto's Secrets Manager (with
//! secrets written by moto's EventBridge CreateConnection) and a local HTTP
//! ticket API that checks the exact request and injects faults.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn api_key_connection_posts_the_exact_case() {
    let (server, url) = api().await;
    let secret = apikey_secret_with(
        "Outseta KEY1:SECRET1",
        &[
            "--header",
            "X-Tenant=acme",
            "--query",
            "team=ops",
            "--body",
            "Tag=pipeline",
        ],
    );
    let n = notifier(
        &secret,
        &url,
        &[("FROM_PERSON_UID", "dpWp6Lmn"), ("CASE_SOURCE", "3")],
    )
    .await;
    // The exact body `notifier render` prints is what goes over the wire.
    let rendered = n.as_ref().unwrap();
    let ev = event("catch-lambda.json");
    let intake = ticket_bridge::intake::intake(&ev, None).unwrap();
    let ticket_bridge::Intake::Failure(f) = intake else {
        panic!()
    };
    let expected = ticket_bridge::ticket::render(
        &f,
        &rendered.config().render,
        time::OffsetDateTime::now_utc(),
    );
    Mock::given(method("POST"))
        .and(path(CASES))
        .and(query_param("sendAutoResponder", "false"))
        .and(query_param("team", "ops"))
        .and(header("Authorization", "Outseta KEY1:SECRET1"))
        .and(header("X-Tenant", "acme"))
        .and(header("content-type", "application/json"))
        .respond_with(created("Lq9xZmW2"))
        .expect(1)
        .mount(&server)
        .await;
    let out = invoke(&n, ev, 10_000).await.unwrap();
    assert_eq!(
        out,
        json!({"caseUid": "Lq9xZmW2", "subject": expected.subject, "attempts": 1})
    );
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["FromPerson"], json!({"Uid": "dpWp6Lmn"}));
    assert_eq!(sent["Source"], 3);
    assert_eq!(sent["Tag"], "pipeline");
    assert_eq!(
        sent["Subject"],
        "[Step Functions] order-pipeline: PaymentDeclined in ChargeCard"
    );
    let body = sent["Body"].as_str().unwrap();
    // Same renderer: identical but for the digits of the "reported at" clock.
    assert_eq!(body.len(), expected.body.len(), "body differs from render");
    let differs_beyond_the_clock = body
        .chars()
        .zip(expected.body.chars())
        .any(|(a, b)| a != b && !(a.is_ascii_digit() && b.is_ascii_digit()));
    assert!(
        !differs_beyond_the_clock,
        "body differs from render:\n{body}\n{}",
        expected.body
    );
    assert!(body.contains("card ending 4242 was declined"));
    assert!(!body.contains("sk_live_do_not_leak"), "input not redacted");
}

#[tokio::test]
async fn basic_connection_and_auto_responder_flag() {
    let (server, url) = api().await;
    let secret = secret_arn(&["basic", "--username", "svc", "--password", "pa55-w0rd"]);
    Mock::given(method("POST"))
        .and(path(CASES))
        .and(query_param("sendAutoResponder", "true"))
        .and(header("Authorization", "Basic c3ZjOnBhNTUtdzByZA=="))
        .respond_with(created("B1"))
        .expect(1)
        .mount(&server)
        .await;
    let n = notifier(&secret, &url, &[("SEND_AUTO_RESPONDER", "true")]).await;
    let out = invoke(&n, event("eventbridge-failed.json"), 10_000)
        .await
        .unwrap();
    assert_eq!(out["caseUid"], "B1");
}

#[tokio::test]
async fn every_sample_event_renders_and_delivers() {
    let (server, url) = api_answering(created("ANY"), None).await;
    let secret = apikey_secret("Outseta K:S-every");
    let with_path = notifier(&secret, &url, &[("ERROR_PATH", "$.Payload.error")]).await;
    let mut delivered = 0;
    for entry in std::fs::read_dir(repo_root().join("events")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // A fresh container per sample: several samples describe the same
        // failure (same execution and error), which one container would
        // rightly file only once.
        let fresh_container = notifier(&secret, &url, &[]).await;
        let n = if name == "catch-payload-path.json" {
            &with_path
        } else {
            &fresh_container
        };
        let result = invoke(n, event(&name), 10_000).await;
        match name.as_str() {
            "eventbridge-succeeded.json" => assert_eq!(
                result.unwrap(),
                json!({"skipped": true, "status": "SUCCEEDED"})
            ),
            "invalid-no-error.json" => {
                assert_eq!(result.unwrap_err().error_type, "InvalidFailureEvent")
            }
            _ => {
                assert_eq!(result.unwrap()["caseUid"], "ANY", "{name}");
                delivered += 1;
            }
        }
    }
    assert_eq!(server.received_requests().await.unwrap().len(), delivered);
    assert!(delivered >= 11);
}

#[tokio::test]
async fn retries_5xx_and_429_then_succeeds() {
    let (server, url) = api().await;
    let first = vec![
        ResponseTemplate::new(503),
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    ];
    answer_in_turn(&server, first, created("R3")).await;
    let n = keyed_notifier("retry", &url, &[]).await;
    let started = Instant::now();
    let out = invoke(&n, event("catch-ecs.json"), 10_000).await.unwrap();
    assert_eq!(out["caseUid"], "R3");
    assert_eq!(out["attempts"], 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured"
    );
}

#[tokio::test]
async fn persistent_5xx_fails_typed_inside_the_deadline() {
    let (server, url) = api_answering(ResponseTemplate::new(500), None).await;
    let n = keyed_notifier("500", &url, &[("MAX_ATTEMPTS", "20")]).await;
    let (logs, _g) = capture_logs();
    let err = invoke_err(&n, event("catch-sdk.json"), 3_000).await;
    expect_error(&err, "TicketDeliveryFailed", "HTTP 500");
    let calls = server.received_requests().await.unwrap().len();
    assert!(calls >= 2, "only {calls} attempt(s)");
    // Nothing lost: the failure log line holds the whole ticket and event.
    let line = logs
        .lines()
        .into_iter()
        .find(|l| l["fields"]["outcome"] == "not_delivered")
        .expect("no failure line");
    let ticket: Value = serde_json::from_str(line["fields"]["ticket"].as_str().unwrap()).unwrap();
    assert_eq!(
        ticket["Subject"],
        "[Step Functions] order-pipeline: DynamoDb.ResourceNotFoundException in SaveOrder"
    );
    assert!(line["fields"]["event"].as_str().unwrap().contains("A-1042"));
    assert_eq!(line["fields"]["attempts"], calls);
}

#[tokio::test]
async fn max_attempts_bounds_retries() {
    let (_server, url) = api_answering(ResponseTemplate::new(502), Some(2)).await;
    let n = keyed_notifier("max", &url, &[("MAX_ATTEMPTS", "2")]).await;
    let err = invoke_err(&n, event("bare-error.json"), 20_000).await;
    expect_error(
        &err,
        "TicketDeliveryFailed",
        "after 2 attempts, and the attempt limit (2) is reached",
    );
}

#[tokio::test]
async fn retry_after_beyond_the_budget_gives_up_at_once() {
    let too_late = ResponseTemplate::new(429).insert_header("Retry-After", "120");
    let (_server, url) = api_answering(too_late, Some(1)).await;
    let n = keyed_notifier("ra", &url, &[]).await;
    let started = Instant::now();
    let err = invoke_err(&n, event("bare-error.json"), 5_000).await;
    expect_error(&err, "TicketDeliveryFailed", "would not fit");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not give up at once"
    );
}

#[tokio::test]
async fn slow_api_times_out_inside_the_deadline() {
    let late = created("late").set_delay(Duration::from_secs(10));
    let (_server, url) = api_answering(late, None).await;
    let n = keyed_notifier("slow", &url, &[]).await;
    let err = invoke_err(&n, event("bare-error.json"), 2_000).await;
    expect_error(&err, "TicketDeliveryFailed", "timed out");
}

#[tokio::test]
async fn outseta_validation_error_is_rejected_with_its_message() {
    let (server, url) = api().await;
    let body = json!({"ErrorMessage": "Validation failed", "EntityValidationErrors": [{"Entity": null, "TypeName": "Case",
        "ValidationErrors": [{"ErrorCode": "invalidEmail", "ErrorMessage": "FromPerson.Email is not a valid person", "PropertyName": "FromPerson"}]}]});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let n = keyed_notifier("400", &url, &[]).await;
    let err = invoke_err(&n, event("catch-timeout.json"), 10_000).await;
    assert_eq!(err.error_type, "TicketRejected");
    assert_eq!(
        err.error_message,
        "ticket API rejected the case (HTTP 400): Validation failed; FromPerson.Email is not a valid person"
    );
}

#[tokio::test]
async fn unauthorized_rereads_the_secret_once_then_fails_as_auth_error() {
    let refused = ResponseTemplate::new(401).set_body_json(json!({"Message": "Unauthorized"}));
    let (server, url) = api_answering(refused, Some(2)).await;
    let n = keyed_notifier("401", &url, &[]).await;
    let err = invoke_err(&n, event("catch-runtime.json"), 10_000).await;
    expect_error(&err, "AuthError", &format!("{}{CASES}", server.uri()));
    expect_error(&err, "AuthError", "HTTP 401");
}

#[tokio::test]
async fn success_without_uid_is_a_visible_failure() {
    let html = ResponseTemplate::new(200).set_body_string("<html>ok</html>");
    let (_server, url) = api_answering(html, Some(1)).await;
    let n = keyed_notifier("nouid", &url, &[]).await;
    let err = invoke_err(&n, event("bare-error.json"), 10_000).await;
    expect_error(&err, "TicketDeliveryFailed", "not JSON");
    expect_error(&err, "TicketDeliveryFailed", "may exist");
}

#[tokio::test]
async fn connection_refused_is_retried_then_typed() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}{CASES}");
    let n = keyed_notifier("refused", &url, &[("MAX_ATTEMPTS", "3")]).await;
    let err = invoke_err(&n, event("bare-error.json"), 10_000).await;
    expect_error(&err, "TicketDeliveryFailed", "connection failed");
    expect_error(&err, "TicketDeliveryFailed", "3 attempts");
}

#[tokio::test]
async fn secret_problems_are_connection_secret_errors_naming_the_id() {
    let (server, url) = api().await;
    let missing = secret_arn(&["secret", "--value", "", "--missing"]);
    let not_json = secret_arn(&["secret", "--value", "CANARY-not-json-value"]);
    let unknown = secret_arn(&[
        "secret",
        "--value",
        r#"{"token_url":"CANARY-unknown-value"}"#,
    ]);
    for (id, expected) in [
        (&missing, "not found"),
        (&not_json, "not JSON"),
        (
            &unknown,
            "unknown connection secret layout (keys: token_url)",
        ),
    ] {
        let n = notifier(id, &url, &[]).await;
        let err = invoke_err(&n, event("bare-error.json"), 10_000).await;
        expect_error(&err, "ConnectionSecretError", id.as_str());
        expect_error(&err, "ConnectionSecretError", expected);
        assert!(
            !err.error_message.contains("CANARY"),
            "{}",
            err.error_message
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn secrets_manager_down_is_a_connection_secret_error() {
    let (server, url) = api().await;
    let env = [
        ("TICKET_API_URL", url.as_str()),
        ("CONNECTION_SECRET_ID", "events!connection/x/y"),
        ("FROM_PERSON_EMAIL", "a@b.c"),
    ];
    let n = notifier_with(
        &env,
        &sdk_at(&format!("http://127.0.0.1:{}", free_port())).await,
    );
    let err = invoke_err(&n, event("bare-error.json"), 10_000).await;
    expect_error(&err, "ConnectionSecretError", "events!connection/x/y");
    expect_error(&err, "ConnectionSecretError", "unreachable");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn secret_is_cached_across_warm_invocations() {
    let (server, url) = api_answering(created("C"), None).await;
    let name = format!("cache-{}", std::process::id());
    let secret = secret_arn(&[
        "--name",
        &name,
        "secret",
        "--value",
        r#"{"api_key_name":"Authorization","api_key_value":"Outseta A:B"}"#,
    ]);
    let n = notifier(&secret, &url, &[]).await;
    invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
    // Rotate behind the cache's back: a warm container keeps its copy...
    let sm = aws_sdk_secretsmanager::Client::new(&moto_sdk().await);
    sm.put_secret_value()
        .secret_id(&secret)
        .secret_string(r#"{"api_key_name":"Authorization","api_key_value":"Outseta C:D"}"#)
        .send()
        .await
        .unwrap();
    invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
    let auth: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(auth, ["Outseta A:B", "Outseta A:B"]);
    // ...until the API refuses it, which triggers exactly one re-read.
    server.reset().await;
    Mock::given(method("POST"))
        .and(header("Authorization", "Outseta A:B"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("Authorization", "Outseta C:D"))
        .respond_with(created("after-rotation"))
        .mount(&server)
        .await;
    let out = invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
    assert_eq!(out["caseUid"], "after-rotation");
}

#[tokio::test]
async fn config_errors_surface_per_invocation_with_the_variable() {
    let n = notifier("x", "http://example.com/cases", &[]).await;
    let err = invoke_err(&n, event("bare-error.json"), 10_000).await;
    expect_error(&err, "ConfigError", "TICKET_API_URL:");
    assert!(err.error_message.starts_with("TICKET_API_URL:"));
}

#[tokio::test]
async fn invalid_event_is_typed_and_logged_redacted() {
    let (server, url) = api().await;
    let n = keyed_notifier("inv", &url, &[]).await;
    let (logs, _g) = capture_logs();
    let bad = json!({"orderId": 1, "password": "CANARY-pw-123"});
    let err = invoke_err(&n, bad, 10_000).await;
    expect_error(
        &err,
        "InvalidFailureEvent",
        "top-level keys: orderId, password",
    );
    let text = logs.text();
    assert!(
        text.contains("\"outcome\":\"invalid_event\"") && text.contains("orderId"),
        "{text}"
    );
    assert!(!text.contains("CANARY-pw-123"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Secret values planted in the secret and echoed back by the event and the
/// API must appear nowhere: logs (every crate, TRACE), errors, ticket, output.
#[tokio::test]
async fn canary_secrets_never_leak() {
    const KEY: &str = "CanaryKey7731";
    const SECRET: &str = "CanarySecret4419";
    const HDR: &str = "CanaryHeader9052";
    let (server, url) = api().await;
    let secret = apikey_secret_with(
        &format!("Outseta {KEY}:{SECRET}"),
        &["--header", &format!("X-Extra={HDR}")],
    );
    let echo = json!({"ErrorMessage": format!("bad key {KEY}:{SECRET} with {HDR}")});
    on_post(
        &server,
        None,
        ResponseTemplate::new(422).set_body_json(echo),
        None,
    )
    .await;
    let n = notifier(&secret, &url, &[]).await;
    let (logs, _g) = capture_logs();
    let mut ev = event("catch-lambda.json");
    ev["note"] = json!(format!("someone pasted {SECRET} and {HDR} here"));
    ev["error"]["Cause"] = json!(format!("upstream said Outseta {KEY}:{SECRET}"));
    let err = invoke_err(&n, ev, 10_000).await;
    assert_eq!(err.error_type, "TicketRejected");
    let sent =
        String::from_utf8_lossy(&server.received_requests().await.unwrap()[0].body).into_owned();
    for canary in [KEY, SECRET, HDR] {
        assert!(
            !err.error_message.contains(canary),
            "error leaks {canary}: {}",
            err.error_message
        );
        assert!(!logs.text().contains(canary), "logs leak {canary}");
        assert!(!sent.contains(canary), "ticket leaks {canary}");
    }
    assert!(logs.text().contains("not_delivered"));
}

#[tokio::test]
async fn too_deep_json_is_an_invalid_event_not_a_crash() {
    let (server, url) = api().await;
    let n = keyed_notifier("deep", &url, &[]).await;
    let deep = format!(
        "{{\"password\":\"CANARY-deep-pw\",\"x\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let raw = serde_json::value::RawValue::from_string(deep).expect("raw JSON accepts any depth");
    let (logs, _g) = capture_logs();
    let err = notifier::handler_raw(
        &n,
        lambda_runtime::LambdaEvent::new(raw, lambda_runtime::Context::default()),
    )
    .await
    .map_err(lambda_runtime::Diagnostic::from)
    .unwrap_err();
    expect_error(&err, "InvalidFailureEvent", "recursion limit");
    assert!(
        logs.text().contains("\"event_bytes\":20"),
        "the event size is logged"
    );
    assert!(!logs.text().contains("CANARY-deep-pw"));
    assert!(server.received_requests().await.unwrap().is_empty());
}
