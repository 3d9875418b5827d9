//! Replies, case status, and the close control.

use super::*;
use lambda_http::http::header::ALLOW;
use mock_kit::testing::basic;
use std::time::Duration;

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
