//! OAuth client credentials against a scripted token endpoint and API:
//! token caching, refresh on 401/407, and each token endpoint failure as a
//! clear AuthError. (The real mock-auth/mock-api pair is exercised in
//! tests/e2e; here we need failures the real pair does not produce.)

mod support;

use serde_json::json;
use support::*;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CID: &str = "bridge-client";
const CSECRET: &str = "CanaryClientSecret8812";
const TOKEN: &str = "/oauth/token";

fn oauth_secret(token_url: &str, method_name: &str) -> String {
    secret_arn(&[
        "oauth",
        "--token-url",
        token_url,
        "--client-id",
        CID,
        "--client-secret",
        CSECRET,
        "--method",
        method_name,
        "--oauth-body",
        "audience=tickets",
    ])
}

fn token(t: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"access_token": t, "token_type": "Bearer", "expires_in": expires_in}))
}

async fn servers() -> (MockServer, String, String) {
    let s = MockServer::start().await;
    let token_url = format!("{}{TOKEN}", s.uri());
    let cases = format!("{}{CASES}", s.uri());
    (s, token_url, cases)
}

#[tokio::test]
async fn token_is_fetched_once_and_reused_while_valid() {
    let (s, token_url, cases) = servers().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header(
            "Authorization",
            "Basic YnJpZGdlLWNsaWVudDpDYW5hcnlDbGllbnRTZWNyZXQ4ODEy",
        ))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("audience=tickets"))
        .respond_with(token("CanaryTokenAAA111", 3600))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/support/cases"))
        .and(header("Authorization", "Bearer CanaryTokenAAA111"))
        .respond_with(created("T1"))
        .expect(3)
        .mount(&s)
        .await;
    let n = notifier(&oauth_secret(&token_url, "POST"), &cases, &[]).await;
    for _ in 0..3 {
        assert_eq!(
            invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap()["caseUid"],
            "T1"
        );
    }
    assert_eq!(n.as_ref().unwrap().token_fetches(), 1);
}

/// RFC 6749 §3.2: no parameter twice. The connection already carries
/// `grant_type` (as the demo's does), so the raw form body the token
/// endpoint receives must hold it exactly once, with the connection's value.
#[tokio::test]
async fn each_token_parameter_is_sent_once_in_the_raw_form_body() {
    let (s, token_url, cases) = servers().await;
    on_post(&s, Some(TOKEN), token("CanaryTokenOnce999", 3600), None).await;
    on_post(&s, Some(CASES), created("O1"), None).await;
    let secret = secret_arn(&[
        "oauth",
        "--token-url",
        &token_url,
        "--client-id",
        CID,
        "--client-secret",
        CSECRET,
        "--method",
        "POST",
        "--oauth-body",
        "grant_type=client_credentials",
        "--oauth-body",
        "audience=tickets",
    ]);
    let n = notifier(&secret, &cases, &[]).await;
    invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
    let requests = s.received_requests().await.unwrap();
    let token_request = requests
        .iter()
        .find(|r| r.url.path() == "/oauth/token")
        .expect("a token request");
    let body = String::from_utf8_lossy(&token_request.body).into_owned();
    let mut keys: Vec<&str> = body
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or(""))
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["audience", "grant_type"], "raw body: {body}");
    assert!(body.contains("grant_type=client_credentials"), "{body}");
}

#[tokio::test]
async fn get_method_sends_the_grant_in_the_query() {
    let (s, token_url, cases) = servers().await;
    Mock::given(method("GET"))
        .and(path("/oauth/token"))
        .and(query_param("grant_type", "client_credentials"))
        .and(query_param("audience", "tickets"))
        .respond_with(token("CanaryTokenGET222", 3600))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(header("Authorization", "Bearer CanaryTokenGET222"))
        .respond_with(created("G1"))
        .expect(1)
        .mount(&s)
        .await;
    let n = notifier(&oauth_secret(&token_url, "GET"), &cases, &[]).await;
    assert_eq!(
        invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap()["caseUid"],
        "G1"
    );
}

#[tokio::test]
async fn expired_token_is_refetched_before_use() {
    let (s, token_url, cases) = servers().await;
    // expires_in 1: the early-refresh margin (at least 1 s) makes it stale at once.
    on_post(&s, Some(TOKEN), token("CanaryShortLived333", 1), Some(2)).await;
    on_post(&s, Some(CASES), created("E"), Some(2)).await;
    let n = notifier(&oauth_secret(&token_url, "POST"), &cases, &[]).await;
    invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
    invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
}

#[tokio::test]
async fn refresh_on_401_and_407_then_auth_error_on_a_second_refusal() {
    for status in [401u16, 407] {
        let (s, token_url, cases) = servers().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(token("CanaryOld444", 3600))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(token("CanaryNew555", 3600))
            .with_priority(2)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(header("Authorization", "Bearer CanaryOld444"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v1/support/cases"))
            .and(header("Authorization", "Bearer CanaryNew555"))
            .respond_with(created("N1"))
            .expect(1)
            .mount(&s)
            .await;
        let n = notifier(&oauth_secret(&token_url, "POST"), &cases, &[]).await;
        let out = invoke(&n, fresh("bare-error.json"), 10_000).await.unwrap();
        assert_eq!(
            out,
            json!({"caseUid": "N1", "subject": "[Step Functions] unknown state machine: Task timed out after 30.02 seconds", "attempts": 2}),
            "{status}"
        );
    }
    let (s, token_url, cases) = servers().await;
    on_post(&s, Some(TOKEN), token("CanaryAny666", 3600), Some(2)).await;
    on_post(&s, Some(CASES), ResponseTemplate::new(401), Some(2)).await;
    let n = notifier(&oauth_secret(&token_url, "POST"), &cases, &[]).await;
    let err = invoke_err(&n, fresh("bare-error.json"), 10_000).await;
    expect_error(&err, "AuthError", "even after refreshing");
    assert!(!err.error_message.contains("CanaryAny666"));
}

#[tokio::test]
async fn token_endpoint_failures_are_clear_auth_errors() {
    let cases_resp = created("never");
    let scenarios: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            "rejected the client credentials (HTTP 401: invalid_client)",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})),
            "rejected the client credentials (HTTP 400: invalid_client)",
        ),
        (ResponseTemplate::new(500), "failed (HTTP 500)"),
        (
            ResponseTemplate::new(200).set_body_string("<html>login</html>"),
            "not JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer"})),
            "without an access_token",
        ),
    ];
    for (resp, expected) in scenarios {
        let (s, token_url, cases) = servers().await;
        on_post(&s, Some(TOKEN), resp, None).await;
        on_post(&s, Some(CASES), cases_resp.clone(), Some(0)).await;
        let n = notifier(&oauth_secret(&token_url, "POST"), &cases, &[]).await;
        let (logs, _g) = capture_logs();
        let err = invoke_err(&n, fresh("catch-ecs.json"), 10_000).await;
        assert_eq!(err.error_type, "AuthError", "{expected}");
        assert!(
            err.error_message.contains(expected) && err.error_message.contains("/oauth/token"),
            "{expected}: {}",
            err.error_message
        );
        assert!(!err.error_message.contains(CSECRET) && !logs.text().contains(CSECRET));
    }
    let port = free_port();
    let (_s, _t, cases) = servers().await;
    let n = notifier(
        &oauth_secret(&format!("http://127.0.0.1:{port}/token"), "POST"),
        &cases,
        &[],
    )
    .await;
    let err = invoke_err(&n, fresh("bare-error.json"), 10_000).await;
    expect_error(&err, "AuthError", "unreachable");
}

#[tokio::test]
async fn plain_http_token_endpoint_off_loopback_is_refused() {
    let (_s, _t, cases) = servers().await;
    let n = notifier(
        &oauth_secret("http://auth.example.com/token", "POST"),
        &cases,
        &[],
    )
    .await;
    let err = invoke_err(&n, fresh("bare-error.json"), 10_000).await;
    expect_error(&err, "ConnectionSecretError", "plain http");
}
