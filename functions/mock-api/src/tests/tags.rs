//! The tags a case can carry: `GET /api/v1/attribute/tags`.

use super::*;
use lambda_http::http::header::ALLOW;

const MUTED_UID: &str = "8fdb32dd";

async fn get_tags(state: &State, query: &str) -> Response<Body> {
    let req = request(
        "GET",
        &format!("/api/v1/attribute/tags{query}"),
        &[("authorization", OUTSETA)],
        "",
    );
    handle(state, req).await
}

/// The answer's `(metadata, tag names)`, after checking it is a 200.
async fn tag_page(state: &State, query: &str) -> (Value, Vec<String>) {
    let response = get_tags(state, query).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let body = body_json(&response);
    let names = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|tag| tag["Name"].as_str().expect("Name").to_owned())
        .collect();
    (body["metadata"].clone(), names)
}

#[tokio::test]
async fn case_tags_come_from_mock_case_tags_in_outseta_shape() {
    let state = state_with_tags(&["muted", "team-a"]);
    let response = get_tags(&state, "?entityType=Case").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_json(&response);
    assert_eq!(
        body["metadata"],
        json!({ "limit": 25, "offset": 0, "total": 2 })
    );
    assert_eq!(
        body["items"][0],
        json!({
            "Uid": MUTED_UID,
            "Name": "muted",
            "SystemName": null,
            "SystemDescription": null,
            "TagColor": 10,
            "EntityType": 4,
            "Created": "2023-11-14T22:13:20Z",
            "Updated": "2023-11-14T22:13:20Z",
        })
    );
    assert_eq!(body["items"][1]["Name"], "team-a");
    assert_eq!(body["items"][1]["Uid"], crate::tags::tag_uid("team-a"));

    // Case by number or in any letter case, or no entityType at all: the same tags.
    for query in [
        "?entityType=4",
        "?entityType=case",
        "",
        "?entityType=+Case+",
    ] {
        let (_, names) = tag_page(&state, query).await;
        assert_eq!(names, ["muted", "team-a"], "{query}");
    }
}

#[tokio::test]
async fn every_instance_derives_the_same_uids() {
    let one = body_json(&get_tags(&state_with_tags(&["muted"]), "").await);
    let other = body_json(&get_tags(&state_with_tags(&["x", "muted"]), "").await);
    assert_eq!(one["items"][0]["Uid"], MUTED_UID);
    assert_eq!(other["items"][1]["Uid"], MUTED_UID);
}

#[tokio::test]
async fn other_entity_types_have_no_tags() {
    let state = state_with_tags(&["muted"]);
    for query in [
        "?entityType=Account",
        "?entityType=1",
        "?entityType=broadcast",
    ] {
        let (metadata, names) = tag_page(&state, query).await;
        assert!(names.is_empty(), "{query}");
        assert_eq!(metadata["total"], 0, "{query}");
    }
    let untagged = super::state();
    let (metadata, names) = tag_page(&untagged, "?entityType=Case").await;
    assert!(names.is_empty(), "no MOCK_CASE_TAGS, no tags");
    assert_eq!(metadata["total"], 0);
}

#[tokio::test]
async fn tags_page_as_outseta_pages_offset_counts_pages() {
    let state = state_with_tags(&["a", "b", "c"]);
    let cases: [(&str, &[&str], Value); 5] = [
        (
            "?limit=2",
            &["a", "b"],
            json!({ "limit": 2, "offset": 0, "total": 3 }),
        ),
        (
            "?limit=2&offset=1",
            &["c"],
            json!({ "limit": 2, "offset": 1, "total": 3 }),
        ),
        (
            "?offset=1",
            &[],
            json!({ "limit": 25, "offset": 1, "total": 3 }),
        ),
        (
            "?limit=500&entityType=Case",
            &["a", "b", "c"],
            json!({ "limit": 100, "offset": 0, "total": 3 }),
        ),
        (
            "?limit=1&offset=18446744073709551615",
            &[],
            json!({ "limit": 1, "offset": 18_446_744_073_709_551_615_u64, "total": 3 }),
        ),
    ];
    for (query, expected, metadata) in cases {
        assert_eq!(
            tag_page(&state, query).await,
            (metadata, names(expected)),
            "{query}"
        );
    }
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[tokio::test]
async fn bad_tag_parameters_are_400_naming_them() {
    let state = state_with_tags(&["muted"]);
    let entity_message = "entityType must be an Outseta entity type, by name or number (Case or 4)";
    let cases = [
        ("?entityType=Ticket", entity_message),
        ("?entityType=13", entity_message),
        ("?entityType=-4", entity_message),
        ("?entityType=", "entityType must not be empty"),
        (
            "?entityType=Case&entityType=4",
            "parameter entityType is given more than once",
        ),
        ("?limit=0", "limit must be at least 1"),
        ("?limit=few", "limit must be a whole number"),
        ("?offset=-1", "offset must be a whole number"),
    ];
    for (query, text) in cases {
        let response = get_tags(&state, query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body_json(&response), json!({ "Message": text }), "{query}");
    }
}

#[tokio::test]
async fn tags_need_auth_take_faults_and_get_only() {
    let state = state_with_tags(&["muted"]);
    let anonymous = request("GET", "/api/v1/attribute/tags?entityType=Case", &[], "");
    assert_unauthorised(&handle(&state, anonymous).await);
    let injected = request(
        "GET",
        "/api/v1/attribute/tags",
        &[("x-mock-status", "503")],
        "",
    );
    assert_eq!(
        handle(&state, injected).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let watch_prefix = request(
        "GET",
        "/lambda-url/mock-api/api/v1/attribute/tags",
        &[("authorization", &bearer())],
        "",
    );
    assert_eq!(handle(&state, watch_prefix).await.status(), StatusCode::OK);
    for method in ["POST", "PUT", "DELETE"] {
        let response = handle(&state, request(method, "/api/v1/attribute/tags", &[], "")).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[ALLOW], "GET");
    }
}
