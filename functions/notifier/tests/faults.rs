//! The fault matrix for what the real mock-api cannot produce (it is driven
//! by headers and always answers whole): each row a fault, the typed outcome,
//! the number of API attempts, and the time, always inside the deadline.
//! Rows the real mock-api and mock-auth can produce run in
//! tests/e2e/test_fault_matrix.py.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DEADLINE_MS: u64 = 4_000;
const KEY_VALUE: &str = "Outseta CanaryFaultKey:CanaryFaultSecret";

struct Row {
    name: &'static str,
    response: ResponseTemplate,
    expected: Result<&'static str, (&'static str, &'static str)>,
    attempts: usize,
}

fn uid(u: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"Uid": u}))
}

#[tokio::test]
async fn http_fault_matrix() {
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(1));
    let rows = vec![
        Row {
            name: "502 then success",
            response: ResponseTemplate::new(502),
            expected: Ok("after-502"),
            attempts: 2,
        },
        Row {
            name: "504 then success",
            response: ResponseTemplate::new(504),
            expected: Ok("after-504"),
            attempts: 2,
        },
        Row {
            name: "429 with an HTTP-date Retry-After",
            response: ResponseTemplate::new(429).insert_header("Retry-After", date.as_str()),
            expected: Ok("after-429"),
            attempts: 2,
        },
        Row {
            name: "200 with JSON but no Uid",
            response: ResponseTemplate::new(200).set_body_json(json!({"Status": 1})),
            expected: Err(("TicketDeliveryFailed", "without a case Uid")),
            attempts: 1,
        },
        Row {
            name: "501 is not retryable",
            response: ResponseTemplate::new(501),
            expected: Err(("TicketDeliveryFailed", "neither success nor retryable")),
            attempts: 1,
        },
        Row {
            name: "302 is not followed",
            response: ResponseTemplate::new(302)
                .insert_header("Location", "http://127.0.0.1:1/elsewhere"),
            expected: Err(("TicketDeliveryFailed", "HTTP 302")),
            attempts: 1,
        },
        Row {
            name: "404 is rejected with the API's message",
            response: ResponseTemplate::new(404)
                .set_body_json(json!({"Message": "No such account"})),
            expected: Err(("TicketRejected", "HTTP 404): No such account")),
            attempts: 1,
        },
    ];
    let secret = apikey_secret(KEY_VALUE);
    for row in rows {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(row.response.clone())
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let follow_up = match row.expected {
            Ok(u) => uid(u),
            Err(_) => ResponseTemplate::new(500),
        };
        Mock::given(method("POST"))
            .respond_with(follow_up)
            .with_priority(2)
            .mount(&server)
            .await;
        let n = notifier(
            &secret,
            &format!("{}/api/v1/support/cases", server.uri()),
            &[],
        )
        .await;
        let (logs, _g) = capture_logs();
        let started = Instant::now();
        let result = invoke(&n, event("catch-lambda.json"), DEADLINE_MS).await;
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(DEADLINE_MS),
            "{}: {took:?}",
            row.name
        );
        match (row.expected, result) {
            (Ok(u), Ok(v)) => assert_eq!(v["caseUid"], u, "{}", row.name),
            (Err((ty, msg)), Err(e)) => {
                assert_eq!(e.error_type, ty, "{}", row.name);
                assert!(
                    e.error_message.contains(msg),
                    "{}: {}",
                    row.name,
                    e.error_message
                );
            }
            (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", row.name),
        }
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            row.attempts,
            "{}",
            row.name
        );
        assert!(
            !logs.text().contains("CanaryFault"),
            "{}: secret in logs",
            row.name
        );
    }
}

/// A server that reads each request and then misbehaves at the TCP level.
fn raw_server(behaviour: fn(&mut std::net::TcpStream)) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/v1/support/cases",
        listener.local_addr().unwrap()
    );
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(10) {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 65536];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = stream.read(&mut buf);
            behaviour(&mut stream);
        }
    });
    (url, count)
}

#[tokio::test]
async fn connection_reset_before_and_during_the_response() {
    let secret = apikey_secret(KEY_VALUE);
    // Closed before any answer: nothing was created, so it is retried.
    let (url, count) = raw_server(|s| {
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let n = notifier(&secret, &url, &[("MAX_ATTEMPTS", "3")]).await;
    let err = invoke_err(&n, event("bare-error.json"), DEADLINE_MS).await;
    expect_error(&err, "TicketDeliveryFailed", "3 attempts");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    // Cut mid-body after a 200: the case may exist, so no blind retry.
    let (url, count) = raw_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"Uid\":\"par");
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let n = notifier(&secret, &url, &[("MAX_ATTEMPTS", "3")]).await;
    let err = invoke_err(&n, event("bare-error.json"), DEADLINE_MS).await;
    expect_error(&err, "TicketDeliveryFailed", "could not be read");
    expect_error(&err, "TicketDeliveryFailed", "may exist");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn secrets_manager_access_denied_is_named() {
    let sm = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-ErrorType", "AccessDeniedException")
                .set_body_json(json!({"__type": "AccessDeniedException", "message": "User is not authorized to perform secretsmanager:GetSecretValue"})),
        )
        .mount(&sm)
        .await;
    let api = MockServer::start().await;
    let url = format!("{}/cases", api.uri());
    let env = [
        ("TICKET_API_URL", url.as_str()),
        ("CONNECTION_SECRET_ID", "events!connection/denied/1"),
        ("FROM_PERSON_EMAIL", "a@b.c"),
    ];
    let n = notifier_with(&env, &sdk_at(&sm.uri()).await);
    let err = invoke_err(&n, event("bare-error.json"), DEADLINE_MS).await;
    expect_error(&err, "ConnectionSecretError", "events!connection/denied/1");
    expect_error(&err, "ConnectionSecretError", "access denied");
    assert!(api.received_requests().await.unwrap().is_empty());
}
