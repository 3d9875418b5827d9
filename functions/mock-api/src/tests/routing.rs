//! Reading cases back, the echo endpoint, and routing.

use super::*;
use lambda_http::http::header::ALLOW;

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
        ("DELETE", "/api/v1/support/cases/abc", "GET, PUT"),
        ("POST", "/api/v1/support/cases/abc", "GET, PUT"),
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
