//! What a request leaves in the log. Its own test binary (own process), as
//! `LogCapture` asks.

use lambda_http::Request;
use mock_api::{Config, State, handle};
use mock_kit::Clock;
use mock_kit::testing::{LogCapture, request as build_request};

const NOW: u64 = 1_700_000_000;
const API_SECRET: &str = "outseta-s3cr3t";

fn state() -> State {
    state_limited_to(None)
}

fn state_limited_to(per_second: Option<&'static str>) -> State {
    let config = Config::from_lookup(|name| match name {
        "SIGNING_KEY" => Some("key".to_owned()),
        "API_KEY" => Some("api-key".to_owned()),
        "API_SECRET" => Some(API_SECRET.to_owned()),
        "RATE_LIMIT_PER_SECOND" => per_second.map(str::to_owned),
        _ => None,
    })
    .expect("valid config");
    State::new(config, Clock::Fixed(NOW))
}

fn request(authorization: &str) -> Request {
    build_request(
        "POST",
        "/api/v1/data?note=query-not-logged",
        &[("authorization", authorization)],
        "{}",
    )
}

async fn logged(req: Request) -> (u16, String) {
    let capture = LogCapture::start();
    let status = handle(&state(), req).await.status().as_u16();
    (status, capture.text())
}

#[tokio::test(flavor = "current_thread")]
async fn one_line_per_request_without_tokens_or_secrets() {
    let issued = mock_kit::issue(b"key", NOW, 300);
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

    let expired = mock_kit::issue(b"key", NOW - 1000, 300).token;
    let (status, log) = logged(request(&format!("Bearer {expired}"))).await;
    assert_eq!(status, 401);
    assert!(log.contains("reason=\"expired\""), "{log}");
    assert!(!log.contains(&expired), "token leaked: {log}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_rate_limited_request_logs_its_outcome_and_credential() {
    let state = state_limited_to(Some("1"));
    let authorization = format!("Outseta api-key:{API_SECRET}");
    assert_eq!(handle(&state, request(&authorization)).await.status(), 200);
    let capture = LogCapture::start();
    let status = handle(&state, request(&authorization)).await.status();
    let log = capture.text();
    assert_eq!(status, 429);
    for expected in ["status=429", "outcome=\"rate_limited\"", "auth=\"outseta\""] {
        assert!(log.contains(expected), "missing {expected}: {log}");
    }
    assert!(!log.contains(API_SECRET), "secret leaked: {log}");
}
