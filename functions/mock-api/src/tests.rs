//! Handler tests: real `lambda_http` requests in, status, headers and JSON body out.

use super::*;
use crate::config::Credentials;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::header::ALLOW;
use mock_kit::testing::{basic, body_json, request};
use std::time::Duration;

const NOW: u64 = 1_700_000_000;
const KEY: &[u8] = b"shared-signing-key";

fn config() -> Config {
    Config {
        signing_key: Some(KEY.to_vec()),
        outseta: Some(Credentials {
            user: "api-key".to_owned(),
            secret: "api-secret".to_owned(),
        }),
        basic: Some(Credentials {
            user: "user".to_owned(),
            secret: "p@ss:word".to_owned(),
        }),
        revoke_before: None,
        require_proxy_auth: false,
    }
}

fn state_with(config: Config) -> State {
    State::new(config, Clock::Fixed(NOW))
}

fn state() -> State {
    state_with(config())
}

fn proxy_state() -> State {
    state_with(Config {
        require_proxy_auth: true,
        ..config()
    })
}

fn bearer_issued_at(iat: u64) -> String {
    format!("Bearer {}", mock_kit::issue(KEY, iat, 300).token)
}

fn bearer() -> String {
    bearer_issued_at(NOW - 10)
}

fn valid_case() -> Value {
    json!({
        "FromPerson": { "Email": "ops@example.com" },
        "Subject": "Step Functions: demo failed",
        "Body": "<p>States.TaskFailed</p>",
        "Source": 1,
    })
}

const CREATE: &str = "/api/v1/support/cases?sendAutoResponder=false";

async fn create_with(state: &State, authorization: &str) -> Response<Body> {
    let req = request(
        "POST",
        CREATE,
        &[("authorization", authorization)],
        &valid_case().to_string(),
    );
    handle(state, req).await
}

fn assert_unauthorised(response: &Response<Body>) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(response), json!({ "Message": "Unauthorized" }));
}

fn assert_created(response: &Response<Body>) -> Value {
    assert_eq!(response.status(), StatusCode::OK, "{}", body_json(response));
    let case = body_json(response);
    let uid = case["Uid"].as_str().expect("Uid");
    assert_eq!(uid.len(), 8);
    assert!(uid.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(case["FromPerson"], json!({ "Email": "ops@example.com" }));
    assert_eq!(case["Subject"], "Step Functions: demo failed");
    assert_eq!(case["Body"], "<p>States.TaskFailed</p>");
    assert_eq!(case["Source"], 1);
    assert_eq!(case["Status"], 1);
    for field in ["SubmittedDateTime", "Created", "Updated"] {
        assert_eq!(case[field], "2023-11-14T22:13:20Z", "{field}");
    }
    case
}

// ---- authentication ----

#[tokio::test]
async fn valid_bearer_token_creates_a_case() {
    assert_created(&create_with(&state(), &bearer()).await);
}

#[tokio::test]
async fn outseta_key_and_secret() {
    assert_created(&create_with(&state(), "Outseta api-key:api-secret").await);
    assert_unauthorised(&create_with(&state(), "Outseta api-key:wrong").await);
    assert_unauthorised(&create_with(&state(), "Outseta wrong:api-secret").await);
    assert_unauthorised(&create_with(&state(), "Outseta api-key").await);
}

#[tokio::test]
async fn basic_user_and_password() {
    assert_created(&create_with(&state(), &basic("user", "p@ss:word")).await);
    assert_unauthorised(&create_with(&state(), &basic("user", "wrong")).await);
    assert_unauthorised(&create_with(&state(), "Basic %%%").await);
}

#[tokio::test]
async fn no_auth_is_401_with_a_challenge_per_enabled_scheme() {
    let state = state();
    let req = request("POST", CREATE, &[], &valid_case().to_string());
    let response = handle(&state, req).await;
    assert_unauthorised(&response);
    assert_eq!(
        response.headers().get_all(WWW_AUTHENTICATE).iter().count(),
        1,
        "one header: Function URLs keep one value per name"
    );
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="mock-api", Outseta realm="mock-api", Basic realm="mock-api""#
    );
    assert!(
        state.cases.list().is_empty(),
        "a refused case must not be stored"
    );
}

#[tokio::test]
async fn unsupported_scheme_and_disabled_modes_are_refused() {
    assert_unauthorised(&create_with(&state(), "Digest abc").await);
    let bearer_only = state_with(Config {
        outseta: None,
        basic: None,
        ..config()
    });
    assert_unauthorised(&create_with(&bearer_only, "Outseta api-key:api-secret").await);
    assert_unauthorised(&create_with(&bearer_only, &basic("user", "p@ss:word")).await);
    let no_bearer = state_with(Config {
        signing_key: None,
        ..config()
    });
    assert_unauthorised(&create_with(&no_bearer, &bearer()).await);
}

#[tokio::test]
async fn proxy_mode_answers_407_and_reads_proxy_authorization() {
    let state = proxy_state();
    let req = request("POST", CREATE, &[], &valid_case().to_string());
    let response = handle(&state, req).await;
    assert_eq!(response.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);
    assert_eq!(body_json(&response), json!({ "Message": "Unauthorized" }));
    assert!(response.headers().contains_key(PROXY_AUTHENTICATE));
    assert!(!response.headers().contains_key(WWW_AUTHENTICATE));

    let token = bearer();
    let req = request(
        "POST",
        CREATE,
        &[("proxy-authorization", &token)],
        &valid_case().to_string(),
    );
    assert_created(&handle(&state, req).await);
    assert_created(&create_with(&state, &token).await);
}

#[tokio::test]
async fn proxy_authorization_is_ignored_outside_proxy_mode() {
    let req = request(
        "POST",
        CREATE,
        &[("proxy-authorization", &bearer())],
        &valid_case().to_string(),
    );
    assert_unauthorised(&handle(&state(), req).await);
}

// ---- bearer tokens that must be refused ----

#[tokio::test]
async fn tampered_token_is_refused() {
    let token = mock_kit::issue(KEY, NOW, 300).token;
    let (payload, signature) = token.split_once('.').expect("two parts");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    claims["exp"] = json!(NOW + 999_999);
    let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    assert_unauthorised(&create_with(&state(), &format!("Bearer {forged}")).await);
}

#[tokio::test]
async fn expired_token_is_refused() {
    let token = mock_kit::issue(KEY, NOW - 301, 300).token;
    assert_unauthorised(&create_with(&state(), &format!("Bearer {token}")).await);
}

#[tokio::test]
async fn wrong_key_token_is_refused() {
    let token = mock_kit::issue(b"some-other-key", NOW, 300).token;
    assert_unauthorised(&create_with(&state(), &format!("Bearer {token}")).await);
}

#[tokio::test]
async fn future_dated_token_is_refused() {
    let far = bearer_issued_at(NOW + mock_kit::CLOCK_SKEW_SECS + 1);
    assert_unauthorised(&create_with(&state(), &far).await);
    let within_skew = bearer_issued_at(NOW + 30);
    assert_created(&create_with(&state(), &within_skew).await);
}

#[tokio::test]
async fn env_cutoff_revokes_older_tokens_only() {
    let state = state_with(Config {
        revoke_before: Some(NOW - 5),
        ..config()
    });
    assert_unauthorised(&create_with(&state, &bearer_issued_at(NOW - 6)).await);
    assert_created(&create_with(&state, &bearer_issued_at(NOW - 5)).await);
}

#[tokio::test]
async fn header_cutoff_revokes_and_the_later_cutoff_wins() {
    let send = |state: State, cutoff: &'static str, token: String| async move {
        let req = request(
            "POST",
            CREATE,
            &[("authorization", &token), ("x-mock-revoke-before", cutoff)],
            &valid_case().to_string(),
        );
        handle(&state, req).await
    };
    let cutoff = "1699999990"; // NOW - 10
    assert_unauthorised(&send(state(), cutoff, bearer_issued_at(NOW - 11)).await);
    assert_created(&send(state(), cutoff, bearer_issued_at(NOW - 10)).await);

    // Env cut-off later than the header's: the env one applies.
    let env_later = || {
        state_with(Config {
            revoke_before: Some(NOW - 2),
            ..config()
        })
    };
    assert_unauthorised(&send(env_later(), cutoff, bearer_issued_at(NOW - 5)).await);
    // Header cut-off later than the env's: the header one applies.
    let env_earlier = state_with(Config {
        revoke_before: Some(NOW - 100),
        ..config()
    });
    assert_unauthorised(&send(env_earlier, cutoff, bearer_issued_at(NOW - 50)).await);
}

#[tokio::test]
async fn revoked_token_in_proxy_mode_is_407() {
    let req = request(
        "POST",
        CREATE,
        &[
            ("proxy-authorization", &bearer_issued_at(NOW - 20)),
            ("x-mock-revoke-before", "1700000000"),
        ],
        &valid_case().to_string(),
    );
    let response = handle(&proxy_state(), req).await;
    assert_eq!(response.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);
}

// ---- case validation ----

async fn post_case(body: &str, query: &str) -> Response<Body> {
    let req = request(
        "POST",
        &format!("/api/v1/support/cases{query}"),
        &[("authorization", &bearer())],
        body,
    );
    handle(&state(), req).await
}

fn validation_errors(response: &Response<Body>) -> Vec<(Value, String)> {
    validation_errors_of(response, "Case")
}

fn validation_errors_of(response: &Response<Body>, type_name: &str) -> Vec<(Value, String)> {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = body_json(response);
    assert_eq!(body["ErrorMessage"], "Validation failed");
    let entity = &body["EntityValidationErrors"][0];
    assert_eq!(entity["Entity"], Value::Null);
    assert_eq!(entity["TypeName"], type_name);
    entity["ValidationErrors"]
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            assert!(e["ErrorMessage"].as_str().is_some_and(|m| !m.is_empty()));
            (
                e["PropertyName"].clone(),
                e["ErrorCode"].as_str().expect("code").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_validation_error_is_reported_in_outseta_shape() {
    let broken = |field: &str, value: Value| {
        let mut case = valid_case();
        case[field] = value;
        case.to_string()
    };
    let cases = [
        (broken("FromPerson", json!({})), "FromPerson", "Required"),
        (
            broken("FromPerson", json!({ "Email": "nope" })),
            "FromPerson.Email",
            "InvalidEmail",
        ),
        (broken("Subject", json!("")), "Subject", "Required"),
        (broken("Body", Value::Null), "Body", "Required"),
        (broken("Source", json!(9)), "Source", "OutOfRange"),
    ];
    for (body, property, code) in cases {
        let errors = validation_errors(&post_case(&body, "").await);
        assert_eq!(errors, [(json!(property), code.to_owned())], "{body}");
    }
}

#[tokio::test]
async fn every_problem_at_once_and_bad_query() {
    let errors = validation_errors(&post_case("{}", "?sendAutoResponder=maybe").await);
    let properties: Vec<_> = errors.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        properties,
        [
            json!("FromPerson"),
            json!("Subject"),
            json!("Body"),
            json!("Source"),
            json!("sendAutoResponder")
        ]
    );
}

#[tokio::test]
async fn non_json_body_is_400_in_the_same_shape() {
    let errors = validation_errors(&post_case("Subject=hello", "").await);
    assert_eq!(errors, [(Value::Null, "InvalidJson".to_owned())]);
}

#[tokio::test]
async fn send_auto_responder_true_and_absent_are_accepted() {
    let body = valid_case().to_string();
    assert_created(&post_case(&body, "?sendAutoResponder=true").await);
    assert_created(&post_case(&body, "").await);
}

// ---- fault injection ----

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

// ---- reading cases back, echo, routing ----

#[tokio::test]
async fn list_and_read_the_cases_this_instance_accepted() {
    let state = state();
    let first = assert_created(&create_with(&state, &bearer()).await);
    let second = assert_created(&create_with(&state, "Outseta api-key:api-secret").await);

    let list = |auth: &'static str| {
        request(
            "GET",
            "/api/v1/support/cases",
            &[("authorization", auth)],
            "",
        )
    };
    let outseta = "Outseta api-key:api-secret";
    let listed = handle(&state, list(outseta)).await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(body_json(&listed), json!([first, second]));
    assert_unauthorised(&handle(&state, list("Outseta api-key:nope")).await);

    let uid = second["Uid"].as_str().expect("uid");
    let read = request(
        "GET",
        &format!("/lambda-url/mock-api/api/v1/support/cases/{uid}"),
        &[("authorization", outseta)],
        "",
    );
    let read = handle(&state, read).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(body_json(&read), second);

    let unknown = request(
        "GET",
        "/api/v1/support/cases/zzzzzzzz",
        &[("authorization", outseta)],
        "",
    );
    let unknown = handle(&state, unknown).await;
    assert_case_not_found(&unknown, "zzzzzzzz");
}

#[tokio::test]
async fn echo_returns_the_json_it_received() {
    let auth = bearer();
    let post = |body: &str| request("POST", "/api/v1/data", &[("authorization", &auth)], body);
    let payload = json!({ "order": 17, "items": ["a", "b"], "nested": { "ok": true } });
    let response = handle(&state(), post(&payload.to_string())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response), json!({ "received": payload }));

    let empty = handle(&state(), post("")).await;
    assert_eq!(body_json(&empty), json!({ "received": null }));

    let bad = handle(&state(), post("{nope")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body_json(&bad),
        json!({ "Message": "Request body is not valid JSON" })
    );

    let anonymous = request("POST", "/api/v1/data", &[], "{}");
    assert_unauthorised(&handle(&state(), anonymous).await);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let missing = handle(&state(), request("GET", "/api/v2/cases", &[], "")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_json(&missing),
        json!({ "Message": "Not found", "Path": "/api/v2/cases" })
    );

    let nested = request("GET", "/api/v1/support/cases/abc/def", &[], "");
    assert_eq!(
        handle(&state(), nested).await.status(),
        StatusCode::NOT_FOUND
    );

    for (method, path, allow) in [
        ("DELETE", "/api/v1/support/cases", "GET, POST"),
        ("GET", "/api/v1/data", "POST"),
        ("POST", "/health", "GET"),
        ("PUT", "/api/v1/support/cases/abc", "GET"),
    ] {
        let response = handle(&state(), request(method, path, &[], "")).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()[ALLOW], allow);
    }
}

#[tokio::test]
async fn cargo_lambda_watch_prefix_is_routed() {
    let req = request(
        "POST",
        "/lambda-url/mock-api/api/v1/support/cases?sendAutoResponder=false",
        &[("authorization", &bearer())],
        &valid_case().to_string(),
    );
    assert_created(&handle(&state(), req).await);
}

// ---- replies, case status, closing ----

const OUTSETA: &str = "Outseta api-key:api-secret";

async fn create_case(state: &State, case: &Value) -> Value {
    let req = request(
        "POST",
        CREATE,
        &[("authorization", OUTSETA)],
        &case.to_string(),
    );
    let response = handle(state, req).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        body_json(&response)
    );
    body_json(&response)
}

fn reply_body(uid: &str, agent: &str, comment: &str) -> Value {
    json!({ "AgentName": agent, "Case": { "Uid": uid }, "Comment": comment })
}

/// A case just created in `state`, and a valid reply body for it.
async fn open_case(state: &State) -> (String, String) {
    let case = create_case(state, &valid_case()).await;
    let uid = case["Uid"].as_str().expect("Uid").to_owned();
    let body = reply_body(&uid, "Bridge", "<p>x</p>").to_string();
    (uid, body)
}

fn assert_case_not_found(response: &Response<Body>, uid: &str) {
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_json(response),
        json!({ "Message": "Case not found", "Uid": uid })
    );
}

fn replies_path(uid: &str) -> String {
    format!("/api/v1/support/cases/{uid}/replies")
}

async fn post_reply(
    state: &State,
    uid: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response<Body> {
    handle(state, request("POST", &replies_path(uid), headers, body)).await
}

async fn read_case(state: &State, uid: &str) -> Value {
    let req = request(
        "GET",
        &format!("/api/v1/support/cases/{uid}"),
        &[("authorization", OUTSETA)],
        "",
    );
    let response = handle(state, req).await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(&response)
}

async fn close_case(state: &State, uid: &str, headers: &[(&str, &str)]) -> Response<Body> {
    let req = request("POST", &format!("/mock/cases/{uid}/close"), headers, "");
    handle(state, req).await
}

#[tokio::test]
async fn a_new_case_is_open_with_no_history() {
    let state = state();
    let case = create_case(&state, &valid_case()).await;
    assert_eq!(case["Status"], 1);
    assert_eq!(case["CaseHistories"], json!([]));
    let uid = case["Uid"].as_str().expect("Uid");
    assert_eq!(read_case(&state, uid).await, case);
}

#[tokio::test]
async fn replies_answer_200_with_an_empty_body_and_join_the_history_oldest_first() {
    let state = state();
    let (uid, _) = open_case(&state).await;
    for (agent, comment) in [
        ("Bridge", "<p>again</p>"),
        ("Other agent", "<p>and again</p>"),
    ] {
        let body = reply_body(&uid, agent, comment).to_string();
        let response = post_reply(&state, &uid, &[("authorization", &bearer())], &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.body().is_empty(), "body: {:?}", response.body());
    }

    let case = read_case(&state, &uid).await;
    assert_eq!(case["Status"], 1, "a reply leaves the case open");
    let histories = case["CaseHistories"].as_array().expect("CaseHistories");
    let seen: Vec<_> = histories
        .iter()
        .map(|h| (h["AgentName"].clone(), h["Comment"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (json!("Bridge"), json!("<p>again</p>")),
            (json!("Other agent"), json!("<p>and again</p>"))
        ]
    );
    for history in histories {
        let keys: Vec<_> = history
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys.len(), 5, "{history}");
        let history_uid = history["Uid"].as_str().expect("Uid");
        assert_eq!(history_uid.len(), 8);
        assert_ne!(history_uid, uid);
        assert_eq!(history["Type"], cases::HISTORY_TYPE_AGENT_REPLY);
        assert_eq!(history["HistoryDateTime"], "2023-11-14T22:13:20Z");
    }
    assert_ne!(histories[0]["Uid"], histories[1]["Uid"]);
}

#[tokio::test]
async fn reply_validation_errors_are_reported_in_outseta_shape() {
    let state = state();
    let (uid, _) = open_case(&state).await;
    let with = |field: &str, value: Value| {
        let mut body = reply_body(&uid, "Bridge", "<p>x</p>");
        body[field] = value;
        body.to_string()
    };
    let without = |field: &str| {
        let mut body = reply_body(&uid, "Bridge", "<p>x</p>");
        body.as_object_mut().expect("object").remove(field);
        body.to_string()
    };
    let cases = [
        (without("AgentName"), vec![("AgentName", "Required")]),
        (
            with("AgentName", json!("  ")),
            vec![("AgentName", "Required")],
        ),
        (
            with("AgentName", json!(7)),
            vec![("AgentName", "InvalidType")],
        ),
        (without("Comment"), vec![("Comment", "Required")]),
        (with("Comment", json!("")), vec![("Comment", "Required")]),
        (with("Comment", Value::Null), vec![("Comment", "Required")]),
        (
            with("Case", json!({ "Uid": "someother" })),
            vec![("Case.Uid", "InvalidValue")],
        ),
        (with("Case", json!({})), vec![("Case.Uid", "Required")]),
        (
            with("Case", json!({ "Uid": 5 })),
            vec![("Case.Uid", "InvalidType")],
        ),
        (with("Case", json!("uid")), vec![("Case", "InvalidType")]),
        (without("Case"), vec![("Case.Uid", "Required")]),
        (
            "{}".to_owned(),
            vec![
                ("AgentName", "Required"),
                ("Case.Uid", "Required"),
                ("Comment", "Required"),
            ],
        ),
    ];
    for (body, expected) in cases {
        let response = post_reply(&state, &uid, &[("authorization", OUTSETA)], &body).await;
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(property, code)| (json!(property), code.to_owned()))
            .collect();
        assert_eq!(
            validation_errors_of(&response, "CaseHistory"),
            expected,
            "{body}"
        );
    }
    let not_json = post_reply(&state, &uid, &[("authorization", OUTSETA)], "AgentName=x").await;
    assert_eq!(
        validation_errors_of(&not_json, "CaseHistory"),
        [(Value::Null, "InvalidJson".to_owned())]
    );
    assert_eq!(
        read_case(&state, &uid).await["CaseHistories"],
        json!([]),
        "a refused reply must not be stored"
    );
}

#[tokio::test]
async fn a_reply_to_an_unknown_case_is_404() {
    let state = state();
    let body = reply_body("zzzzzzzz", "Bridge", "<p>x</p>").to_string();
    let response = post_reply(&state, "zzzzzzzz", &[("authorization", OUTSETA)], &body).await;
    assert_case_not_found(&response, "zzzzzzzz");
    // An unknown case is 404 whatever the body says.
    let response = post_reply(&state, "zzzzzzzz", &[("authorization", OUTSETA)], "{}").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn replies_and_close_need_auth_and_take_the_fault_headers() {
    let state = state();
    let (uid, body) = open_case(&state).await;

    assert_unauthorised(&post_reply(&state, &uid, &[], &body).await);
    assert_unauthorised(
        &post_reply(
            &state,
            &uid,
            &[("authorization", "Outseta api-key:nope")],
            &body,
        )
        .await,
    );
    assert_unauthorised(&close_case(&state, &uid, &[]).await);
    assert_unauthorised(
        &close_case(&state, &uid, &[("authorization", &basic("user", "wrong"))]).await,
    );

    let injected = post_reply(
        &state,
        &uid,
        &[
            ("authorization", OUTSETA),
            ("x-mock-status", "503"),
            ("x-mock-retry-after", "2"),
        ],
        &body,
    )
    .await;
    assert_eq!(injected.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(injected.headers()[RETRY_AFTER], "2");
    let injected = close_case(&state, &uid, &[("x-mock-status", "500")]).await;
    assert_eq!(injected.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bad_control = post_reply(&state, &uid, &[("x-mock-delay-ms", "soon")], &body).await;
    assert_eq!(bad_control.status(), StatusCode::BAD_REQUEST);

    let case = read_case(&state, &uid).await;
    assert_eq!(
        case["CaseHistories"],
        json!([]),
        "refused replies are not stored"
    );
    assert_eq!(case["Status"], 1, "refused closes change nothing");

    let revoked = post_reply(
        &state,
        &uid,
        &[
            ("authorization", &bearer_issued_at(NOW - 20)),
            ("x-mock-revoke-before", "1700000000"),
        ],
        &body,
    )
    .await;
    assert_unauthorised(&revoked);
}

#[tokio::test(start_paused = true)]
async fn delay_applies_to_replies() {
    let state = state();
    let (uid, body) = open_case(&state).await;
    let start = tokio::time::Instant::now();
    let response = post_reply(
        &state,
        &uid,
        &[("authorization", OUTSETA), ("x-mock-delay-ms", "120")],
        &body,
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(120));
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn close_sets_status_2_and_keeps_the_history() {
    let state = state();
    let (uid, body) = open_case(&state).await;
    assert_eq!(
        post_reply(&state, &uid, &[("authorization", OUTSETA)], &body)
            .await
            .status(),
        StatusCode::OK
    );

    let closed = close_case(&state, &uid, &[("authorization", &bearer())]).await;
    assert_eq!(closed.status(), StatusCode::OK);
    let closed = body_json(&closed);
    assert_eq!(closed["Status"], cases::STATUS_CLOSED);
    assert_eq!(closed["Uid"], uid.as_str());
    let read = read_case(&state, &uid).await;
    assert_eq!(read, closed);
    assert_eq!(read["CaseHistories"].as_array().map(Vec::len), Some(1));

    // Closing again is harmless; the prefix of `cargo lambda watch` is routed too.
    let again = request(
        "POST",
        &format!("/lambda-url/mock-api/mock/cases/{uid}/close"),
        &[("authorization", OUTSETA)],
        "",
    );
    assert_eq!(handle(&state, again).await.status(), StatusCode::OK);

    let unknown = close_case(&state, "zzzzzzzz", &[("authorization", OUTSETA)]).await;
    assert_case_not_found(&unknown, "zzzzzzzz");
}

#[tokio::test]
async fn replies_and_close_take_post_only() {
    for (method, path) in [
        ("GET", "/api/v1/support/cases/abc/replies"),
        ("PUT", "/api/v1/support/cases/abc/replies"),
        ("GET", "/mock/cases/abc/close"),
        ("DELETE", "/mock/cases/abc/close"),
    ] {
        let response = handle(&state(), request(method, path, &[], "")).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()[ALLOW], "POST");
    }
    for path in [
        "/mock/cases/abc",
        "/mock/cases/abc/open",
        "/api/v1/support/cases/abc/replies/1",
    ] {
        let response = handle(&state(), request("POST", path, &[], "")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

// ---- listing: paging and filters ----

async fn list(state: &State, query: &str) -> Response<Body> {
    let req = request(
        "GET",
        &format!("/api/v1/support/cases{query}"),
        &[("authorization", OUTSETA)],
        "",
    );
    handle(state, req).await
}

async fn listed_subjects(state: &State, query: &str) -> Vec<String> {
    let response = list(state, query).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    body_json(&response)
        .as_array()
        .expect("array")
        .iter()
        .map(|case| case["Subject"].as_str().expect("Subject").to_owned())
        .collect()
}

fn case_from(person: Value, subject: &str) -> Value {
    let mut case = valid_case();
    case["FromPerson"] = person;
    case["Subject"] = json!(subject);
    case
}

#[tokio::test]
async fn list_pages_with_limit_and_offset() {
    let state = state();
    for subject in ["a", "b", "c"] {
        create_case(
            &state,
            &case_from(json!({ "Email": "ops@example.com" }), subject),
        )
        .await;
    }
    let cases: [(&str, &[&str]); 8] = [
        ("", &["a", "b", "c"]),
        ("?limit=2", &["a", "b"]),
        ("?offset=1", &["b", "c"]),
        ("?limit=1&offset=1", &["b"]),
        ("?limit=100&offset=0", &["a", "b", "c"]),
        ("?offset=3", &[]),
        ("?offset=99", &[]),
        ("?limit=+2+&fields=*&orderBy=Created", &["a", "b"]),
    ];
    for (query, expected) in cases {
        assert_eq!(listed_subjects(&state, query).await, expected, "{query}");
    }
}

#[tokio::test]
async fn list_filters_on_from_person_uid_and_email() {
    let state = state();
    create_case(
        &state,
        &case_from(json!({ "Email": "Ops@Example.com" }), "ops-1"),
    )
    .await;
    create_case(&state, &case_from(json!({ "Uid": "person01" }), "uid-only")).await;
    create_case(
        &state,
        &case_from(
            json!({ "Uid": "person02", "Email": "dev@example.com" }),
            "both",
        ),
    )
    .await;
    create_case(
        &state,
        &case_from(json!({ "Email": "ops@example.com" }), "ops-2"),
    )
    .await;

    let cases: [(&str, &[&str]); 7] = [
        ("?FromPerson.Email=ops@example.com", &["ops-1", "ops-2"]),
        ("?FromPerson.Email=OPS%40EXAMPLE.COM", &["ops-1", "ops-2"]),
        ("?FromPerson.Email=ops@example.com&offset=1", &["ops-2"]),
        ("?FromPerson.Uid=person01", &["uid-only"]),
        ("?FromPerson.Uid=PERSON01", &[]),
        (
            "?FromPerson.Uid=person02&FromPerson.Email=dev@example.com",
            &["both"],
        ),
        (
            "?FromPerson.Uid=person01&FromPerson.Email=dev@example.com",
            &[],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(listed_subjects(&state, query).await, expected, "{query}");
    }
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_them() {
    let state = state();
    let cases = [
        ("?limit=ten", "limit must be a whole number"),
        ("?limit=-1", "limit must be a whole number"),
        ("?limit=0", "limit must be at least 1"),
        ("?offset=1.5", "offset must be a whole number"),
        (
            "?limit=1&limit=2",
            "parameter limit is given more than once",
        ),
        ("?FromPerson.Email=", "FromPerson.Email must not be empty"),
        ("?FromPerson.Uid=%20", "FromPerson.Uid must not be empty"),
    ];
    for (query, message) in cases {
        let response = list(&state, query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            body_json(&response),
            json!({ "Message": message }),
            "{query}"
        );
    }
    let anonymous = request("GET", "/api/v1/support/cases?limit=ten", &[], "");
    assert_unauthorised(&handle(&state, anonymous).await);
}
