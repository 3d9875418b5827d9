//! Handler tests: real `lambda_http` requests in, status, headers and JSON body out.
//! One file per topic; the helpers they share are here.

mod auth;
mod create;
mod faults;
mod listing;
mod rate_limit;
mod replies;
mod robustness;
mod routing;
mod tags;
mod update;

use super::*;
use crate::config::Credentials;
use mock_kit::testing::{body_json, request};

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
        case_tags: Vec::new(),
        rate_limit_per_second: None,
    }
}

fn state_with(config: Config) -> State {
    State::new(config, Clock::Fixed(NOW))
}

fn state() -> State {
    state_with(config())
}

/// A state whose cases can carry the tags `names` (`MOCK_CASE_TAGS`).
fn state_with_tags(names: &[&str]) -> State {
    state_with(Config {
        case_tags: names.iter().map(|name| (*name).to_owned()).collect(),
        ..config()
    })
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

fn assert_case_not_found(response: &Response<Body>, uid: &str) {
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_json(response),
        json!({ "Message": "Case not found", "Uid": uid })
    );
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
