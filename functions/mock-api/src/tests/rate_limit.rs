//! `RATE_LIMIT_PER_SECOND`: 429 with `Retry-After: 1` past N requests in one second,
//! per credential.

use super::*;
use mock_kit::testing::basic;
use std::num::NonZeroU32;

fn limited(per_second: u32) -> State {
    state_with(Config {
        rate_limit_per_second: NonZeroU32::new(per_second),
        ..config()
    })
}

async fn get(state: &State, path: &str, authorization: &str) -> Response<Body> {
    let headers: &[(&str, &str)] = if authorization.is_empty() {
        &[]
    } else {
        &[("authorization", authorization)]
    };
    handle(state, request("GET", path, headers, "")).await
}

async fn list_status(state: &State, authorization: &str) -> u16 {
    get(state, "/api/v1/support/cases", authorization)
        .await
        .status()
        .as_u16()
}

fn assert_rate_limited(response: &Response<Body>, per_second: u32) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(
        body_json(response),
        json!({ "Message": format!("Rate limit exceeded: at most {per_second} requests per second") })
    );
}

#[tokio::test]
async fn unset_means_no_limit() {
    let state = state();
    for _ in 0..50 {
        assert_eq!(list_status(&state, OUTSETA).await, 200);
    }
}

#[tokio::test]
async fn past_n_in_one_second_is_429_with_retry_after_until_the_next_second() {
    let mut state = limited(2);
    assert_eq!(list_status(&state, OUTSETA).await, 200);
    assert_eq!(list_status(&state, OUTSETA).await, 200);
    let refused = get(&state, "/api/v1/support/cases", OUTSETA).await;
    assert_rate_limited(&refused, 2);
    assert_eq!(list_status(&state, OUTSETA).await, 429);

    // Fixed windows: the next wall-clock second has a fresh budget.
    state.clock = Clock::Fixed(NOW + 1);
    assert_eq!(list_status(&state, OUTSETA).await, 200);
    assert_eq!(list_status(&state, OUTSETA).await, 200);
    assert_eq!(list_status(&state, OUTSETA).await, 429);
}

#[tokio::test]
async fn each_credential_has_its_own_budget() {
    let state = limited(1);
    let basic = basic("user", "p@ss:word");
    assert_eq!(list_status(&state, OUTSETA).await, 200);
    assert_eq!(list_status(&state, OUTSETA).await, 429);
    assert_eq!(list_status(&state, &basic).await, 200, "another credential");
    assert_eq!(list_status(&state, &basic).await, 429);
    // Every token of the one OAuth client shares its budget: a refresh is no reset.
    assert_eq!(list_status(&state, &bearer()).await, 200);
    assert_eq!(list_status(&state, &bearer_issued_at(NOW - 1)).await, 429);
}

#[tokio::test]
async fn every_authenticated_request_counts_whatever_its_answer() {
    let state = limited(3);
    let case = get(&state, "/api/v1/support/cases/zzzzzzzz", OUTSETA).await;
    assert_eq!(case.status(), StatusCode::NOT_FOUND);
    let bad = get(&state, "/api/v1/support/cases?limit=0", OUTSETA).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let tags = get(&state, "/api/v1/attribute/tags", OUTSETA).await;
    assert_eq!(tags.status(), StatusCode::OK);

    // Over the limit, a create is refused before the endpoint: nothing is stored.
    let req = request(
        "POST",
        CREATE,
        &[("authorization", OUTSETA)],
        &valid_case().to_string(),
    );
    assert_rate_limited(&handle(&state, req).await, 3);
    assert!(state.cases.list().is_empty());
    let req = request(
        "PUT",
        "/api/v1/support/cases/zzzzzzzz",
        &[("authorization", OUTSETA)],
        "{}",
    );
    assert_eq!(
        handle(&state, req).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn requests_answered_before_auth_spend_no_budget() {
    let state = limited(1);
    for _ in 0..5 {
        assert_eq!(list_status(&state, "").await, 401);
        assert_eq!(list_status(&state, "Outseta api-key:wrong").await, 401);
        let injected = request(
            "GET",
            "/api/v1/support/cases",
            &[("authorization", OUTSETA), ("x-mock-status", "503")],
            "",
        );
        assert_eq!(
            handle(&state, injected).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(get(&state, "/health", "").await.status(), StatusCode::OK);
        assert_eq!(
            get(&state, "/nowhere", OUTSETA).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        list_status(&state, OUTSETA).await,
        200,
        "the budget is intact"
    );
    assert_eq!(list_status(&state, OUTSETA).await, 429);
    // A refused credential is not counted even while the valid one is over.
    assert_eq!(list_status(&state, "Outseta api-key:wrong").await, 401);
}
