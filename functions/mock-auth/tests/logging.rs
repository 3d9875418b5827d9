//! What a request leaves in the log. Its own test binary (own process) because
//! tracing caches per-callsite interest globally, and handlers logging on parallel
//! test threads without a subscriber race with a scoped capture subscriber.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Request, http};
use mock_auth::{Config, State, handle};
use mock_token::Clock;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

const NOW: u64 = 1_700_000_000;
const SECRET: &str = "top-s3cr3t";

fn state() -> State {
    let config = Config::from_lookup(|name| match name {
        "CLIENT_ID" => Some("client".to_owned()),
        "CLIENT_SECRET" => Some(SECRET.to_owned()),
        "SIGNING_KEY" => Some("key".to_owned()),
        _ => None,
    })
    .expect("valid config");
    State::new(config, Clock::Fixed(NOW))
}

fn request(uri: &str, authorization: Option<String>) -> Request {
    let mut builder = http::Request::builder().method("POST").uri(uri);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Body::Empty).expect("valid test request")
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

fn logged_while<T>(f: impl FnOnce() -> T) -> (T, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let bytes = captured
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    (result, String::from_utf8(bytes).expect("utf-8 log"))
}

#[test]
fn one_line_per_request_without_secret_or_token() {
    let uri =
        format!("/token?grant_type=client_credentials&client_id=client&client_secret={SECRET}");
    let (response, log) = logged_while(|| handle(&state(), &request(&uri, None)));
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
    let token = body["access_token"].as_str().expect("token");
    let claims = mock_token::verify(b"key", token, NOW, None).expect("valid token");

    assert_eq!(log.lines().count(), 1, "{log}");
    for expected in [
        "method=POST",
        "path=\"/token\"",
        "status=200",
        "outcome=\"issued\"",
        claims.short_id(),
    ] {
        assert!(log.contains(expected), "missing {expected}: {log}");
    }
    assert!(!log.contains(SECRET), "secret leaked: {log}");
    assert!(!log.contains(token), "token leaked: {log}");
    assert!(!log.contains(&claims.jti), "full token id leaked: {log}");

    let wrong = format!(
        "Basic {}",
        STANDARD.encode(format!("client:{SECRET}-wrong"))
    );
    let (response, log) = logged_while(|| {
        handle(
            &state(),
            &request("/token?grant_type=client_credentials", Some(wrong)),
        )
    });
    assert_eq!(response.status(), 401);
    assert!(log.contains("status=401"), "{log}");
    assert!(log.contains("outcome=\"invalid_client\""), "{log}");
    assert!(!log.contains(SECRET), "secret leaked: {log}");
}
