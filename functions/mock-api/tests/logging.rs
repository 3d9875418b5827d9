//! What a request leaves in the log. Its own test binary (own process) because
//! tracing caches per-callsite interest globally, and handlers logging on parallel
//! test threads without a subscriber race with a scoped capture subscriber.

use lambda_http::{Body, Request, http};
use mock_api::{Config, State, handle};
use mock_token::Clock;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

const NOW: u64 = 1_700_000_000;
const API_SECRET: &str = "outseta-s3cr3t";

fn state() -> State {
    let config = Config::from_lookup(|name| match name {
        "SIGNING_KEY" => Some("key".to_owned()),
        "API_KEY" => Some("api-key".to_owned()),
        "API_SECRET" => Some(API_SECRET.to_owned()),
        _ => None,
    })
    .expect("valid config");
    State::new(config, Clock::Fixed(NOW))
}

fn request(authorization: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/api/v1/data?note=query-not-logged")
        .header("authorization", authorization)
        .body(Body::from("{}"))
        .expect("valid test request")
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn logged(req: Request) -> (u16, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let status = handle(&state(), req).await.status().as_u16();
    let bytes = captured
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    (status, String::from_utf8(bytes).expect("utf-8 log"))
}

#[tokio::test(flavor = "current_thread")]
async fn one_line_per_request_without_tokens_or_secrets() {
    let issued = mock_token::issue(b"key", NOW, 300);
    let (status, log) = logged(request(&format!("Bearer {}", issued.token))).await;
    assert_eq!(status, 200);
    assert_eq!(log.lines().count(), 1, "{log}");
    for expected in [
        "method=POST",
        "path=\"/api/v1/data\"",
        "status=200",
        "outcome=\"echoed\"",
        "auth=\"bearer\"",
        issued.claims.short_id(),
    ] {
        assert!(log.contains(expected), "missing {expected}: {log}");
    }
    assert!(!log.contains(&issued.token), "token leaked: {log}");
    assert!(
        !log.contains(&issued.claims.jti),
        "full token id leaked: {log}"
    );
    assert!(!log.contains("query-not-logged"), "query logged: {log}");

    let (status, log) = logged(request(&format!("Outseta api-key:{API_SECRET}"))).await;
    assert_eq!(status, 200);
    assert!(log.contains("auth=\"outseta\""), "{log}");
    assert!(!log.contains(API_SECRET), "secret leaked: {log}");

    let (status, log) = logged(request(&format!("Outseta api-key:{API_SECRET}x"))).await;
    assert_eq!(status, 401);
    assert!(log.contains("outcome=\"unauthorized\""), "{log}");
    assert!(log.contains("reason=\"wrong_credentials\""), "{log}");
    assert!(!log.contains(API_SECRET), "secret leaked: {log}");

    let expired = mock_token::issue(b"key", NOW - 1000, 300).token;
    let (status, log) = logged(request(&format!("Bearer {expired}"))).await;
    assert_eq!(status, 401);
    assert!(log.contains("reason=\"expired\""), "{log}");
    assert!(!log.contains(&expired), "token leaked: {log}");
}
