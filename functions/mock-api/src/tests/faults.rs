//! Fault injection through request headers.

use super::*;
use std::time::Duration;

#[tokio::test]
async fn injected_status_comes_before_auth() {
    let req = request("POST", CREATE, &[("x-mock-status", "503")], "not even json");
    let response = handle(&state(), req).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body_json(&response),
        json!({ "Message": "Injected 503 Service Unavailable" })
    );
    assert!(!response.headers().contains_key(RETRY_AFTER));
}

#[tokio::test]
async fn injected_status_carries_retry_after() {
    let req = request(
        "POST",
        "/api/v1/data",
        &[("x-mock-status", "429"), ("x-mock-retry-after", "7")],
        "{}",
    );
    let response = handle(&state(), req).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "7");
    assert_eq!(
        body_json(&response)["Message"],
        "Injected 429 Too Many Requests"
    );
}

#[tokio::test]
async fn injected_status_without_a_reason_phrase() {
    let req = request(
        "GET",
        "/api/v1/support/cases",
        &[("x-mock-status", "599")],
        "",
    );
    let response = handle(&state(), req).await;
    assert_eq!(response.status().as_u16(), 599);
    assert_eq!(body_json(&response)["Message"], "Injected 599");
}

#[tokio::test]
async fn retry_after_alone_changes_nothing() {
    let req = request(
        "POST",
        CREATE,
        &[("authorization", &bearer()), ("x-mock-retry-after", "7")],
        &valid_case().to_string(),
    );
    let response = handle(&state(), req).await;
    assert_created(&response);
    assert!(!response.headers().contains_key(RETRY_AFTER));
}

#[tokio::test(start_paused = true)]
async fn delay_sleeps_then_answers_normally() {
    let start = tokio::time::Instant::now();
    let req = request(
        "POST",
        CREATE,
        &[("authorization", &bearer()), ("x-mock-delay-ms", "250")],
        &valid_case().to_string(),
    );
    let response = handle(&state(), req).await;
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_created(&response);
}

#[tokio::test(start_paused = true)]
async fn delay_is_capped_and_combines_with_status() {
    let start = tokio::time::Instant::now();
    let req = request(
        "POST",
        CREATE,
        &[("x-mock-delay-ms", "3600000"), ("x-mock-status", "504")],
        "",
    );
    let response = handle(&state(), req).await;
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(controls::MAX_DELAY_MS)
    );
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn bad_control_headers_are_400() {
    for (name, value) in [
        ("x-mock-status", "200"),
        ("x-mock-delay-ms", "later"),
        ("x-mock-revoke-before", "-1"),
    ] {
        let req = request("POST", CREATE, &[(name, value)], "");
        let response = handle(&state(), req).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let message = body_json(&response)["Message"]
            .as_str()
            .expect("Message")
            .to_owned();
        assert!(message.to_ascii_lowercase().starts_with(name), "{message}");
    }
}

#[tokio::test]
async fn health_ignores_faults_and_auth() {
    let req = request("GET", "/health", &[("x-mock-status", "500")], "");
    let response = handle(&state(), req).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response), json!({ "status": "ok" }));
}
