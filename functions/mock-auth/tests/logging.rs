//! What a request leaves in the log. Its own test binary (own process), as
//! `LogCapture` asks.

use lambda_http::Request;
use mock_auth::{Config, State, handle};
use mock_kit::Clock;
use mock_kit::testing::{LogCapture, basic, request as build_request};

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
    let headers: Vec<_> = authorization
        .iter()
        .map(|value| ("authorization", value.as_str()))
        .collect();
    build_request("POST", uri, &headers, "")
}

fn logged_while<T>(f: impl FnOnce() -> T) -> (T, String) {
    let capture = LogCapture::start();
    let result = f();
    (result, capture.text())
}

#[test]
fn one_line_per_request_without_secret_or_token() {
    let uri =
        format!("/token?grant_type=client_credentials&client_id=client&client_secret={SECRET}");
    let (response, log) = logged_while(|| handle(&state(), &request(&uri, None)));
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
    let token = body["access_token"].as_str().expect("token");
    let claims = mock_kit::verify(b"key", token, NOW, None).expect("valid token");

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

    let wrong = basic("client", &format!("{SECRET}-wrong"));
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
