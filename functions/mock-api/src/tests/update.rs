//! `PUT /api/v1/support/cases/{Uid}`: status, assignee and tags, the history a status
//! change writes, and how deep `fields` shows a case's tags.

use super::*;
use crate::tags::tag_uid;
use mock_kit::testing::basic;

const EXPAND: &str = "?fields=*,CaseTags.Tag.*";

async fn put(state: &State, uid: &str, query: &str, body: &Value) -> Response<Body> {
    put_raw(state, uid, query, &body.to_string()).await
}

async fn put_raw(state: &State, uid: &str, query: &str, body: &str) -> Response<Body> {
    let req = request(
        "PUT",
        &format!("/api/v1/support/cases/{uid}{query}"),
        &[("authorization", OUTSETA)],
        body,
    );
    handle(state, req).await
}

/// The updated case, after checking the answer is a 200.
async fn updated(state: &State, uid: &str, body: Value) -> Value {
    let response = put(state, uid, "", &body).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{body}: {}",
        body_json(&response)
    );
    body_json(&response)
}

async fn new_case(state: &State) -> String {
    let case = create_case(state, &valid_case()).await;
    case["Uid"].as_str().expect("Uid").to_owned()
}

async fn read_with(state: &State, uid: &str, query: &str) -> Value {
    read_case(state, &format!("{uid}{query}")).await
}

fn tag_ref(name: &str) -> Value {
    json!({ "Tag": { "Uid": tag_uid(name) } })
}

/// `(CaseTag Uid, Tag)` of each tag on `case`.
fn case_tags(case: &Value) -> Vec<(String, Value)> {
    case["CaseTags"]
        .as_array()
        .expect("CaseTags")
        .iter()
        .map(|case_tag| {
            let uid = case_tag["Uid"].as_str().expect("CaseTag Uid").to_owned();
            (uid, case_tag["Tag"].clone())
        })
        .collect()
}

fn tag_names(case: &Value) -> Vec<String> {
    case_tags(case)
        .into_iter()
        .map(|(_, tag)| tag["Name"].as_str().expect("expanded Tag").to_owned())
        .collect()
}

#[tokio::test]
async fn a_new_case_is_unassigned_and_untagged() {
    let state = state();
    let case = create_case(&state, &valid_case()).await;
    assert_eq!(case["AssignedToPersonClientIdentifier"], Value::Null);
    assert_eq!(case["CaseTags"], json!([]));
}

#[tokio::test]
async fn a_property_the_body_leaves_out_keeps_its_value() {
    let mut state = state();
    let uid = new_case(&state).await;
    let before = read_case(&state, &uid).await;
    assert_eq!(updated(&state, &uid, json!({})).await, before);

    state.clock = Clock::Fixed(NOW + 60);
    let assigned = updated(
        &state,
        &uid,
        json!({ "AssignedToPersonClientIdentifier": "person01", "Subject": "ignored", "Uid": "other" }),
    )
    .await;
    assert_eq!(assigned["AssignedToPersonClientIdentifier"], "person01");
    assert_eq!(assigned["Uid"], uid.as_str(), "the Uid in the path wins");
    assert_eq!(assigned["Subject"], before["Subject"]);
    assert_eq!(assigned["Status"], 1);
    assert_eq!(assigned["Updated"], "2023-11-14T22:14:20Z");
    assert_eq!(assigned["Created"], before["Created"]);
    assert_eq!(read_case(&state, &uid).await, assigned);

    let closed = updated(&state, &uid, json!({ "Status": 2 })).await;
    assert_eq!(closed["Status"], 2);
    assert_eq!(closed["AssignedToPersonClientIdentifier"], "person01");

    let reassigned = updated(
        &state,
        &uid,
        json!({ "AssignedToPersonClientIdentifier": "person02" }),
    )
    .await;
    assert_eq!(reassigned["Status"], 2, "the status stays closed");
    assert_eq!(reassigned["AssignedToPersonClientIdentifier"], "person02");
    for nobody in [Value::Null, json!(" ")] {
        let unassigned = updated(
            &state,
            &uid,
            json!({ "AssignedToPersonClientIdentifier": nobody }),
        )
        .await;
        assert_eq!(unassigned["AssignedToPersonClientIdentifier"], Value::Null);
    }
}

#[tokio::test]
async fn status_must_be_1_or_2() {
    let state = state();
    let uid = new_case(&state).await;
    for status in [
        json!(0),
        json!(3),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(true),
        Value::Null,
    ] {
        let response = put(&state, &uid, "", &json!({ "Status": status })).await;
        assert_eq!(
            validation_errors_of(&response, "Case"),
            [(json!("Status"), "OutOfRange".to_owned())],
            "{status}"
        );
    }
    let case = read_case(&state, &uid).await;
    assert_eq!(case["Status"], 1);
    assert_eq!(
        case["CaseHistories"],
        json!([]),
        "a refused PUT writes nothing"
    );
}

#[tokio::test]
async fn bad_bodies_are_400_with_every_problem_and_change_nothing() {
    let state = state_with_tags(&["muted"]);
    let uid = new_case(&state).await;
    let response = put(
        &state,
        &uid,
        "",
        &json!({
            "Status": 2,
            "AssignedToPersonClientIdentifier": "x".repeat(51),
            "CaseTags": [tag_ref("muted"), "muted"],
        }),
    )
    .await;
    assert_eq!(
        validation_errors_of(&response, "Case"),
        [
            (
                json!("AssignedToPersonClientIdentifier"),
                "MaxLength".to_owned()
            ),
            (json!("CaseTags"), "InvalidType".to_owned()),
        ]
    );
    let cases = [
        (
            json!({ "AssignedToPersonClientIdentifier": 7 }),
            "AssignedToPersonClientIdentifier",
        ),
        (
            json!({ "AssignedToPersonClientIdentifier": {} }),
            "AssignedToPersonClientIdentifier",
        ),
        (json!({ "CaseTags": "muted" }), "CaseTags"),
        (json!({ "CaseTags": { "Tag": { "Uid": "x" } } }), "CaseTags"),
        (json!({ "CaseTags": [{ "Tag": "muted" }] }), "CaseTags"),
        (json!({ "CaseTags": [{ "Tag": { "Uid": 5 } }] }), "CaseTags"),
        (json!({ "CaseTags": [{ "Uid": [] }] }), "CaseTags"),
    ];
    for (body, property) in cases {
        let response = put(&state, &uid, "", &body).await;
        assert_eq!(
            validation_errors_of(&response, "Case"),
            [(json!(property), "InvalidType".to_owned())],
            "{body}"
        );
    }
    for body in ["", "Status=2", "[1]", "null", "{\"Status\":"] {
        let response = put_raw(&state, &uid, "", body).await;
        assert_eq!(
            validation_errors_of(&response, "Case"),
            [(Value::Null, "InvalidJson".to_owned())],
            "{body:?}"
        );
    }
    let case = read_case(&state, &uid).await;
    assert_eq!(
        (
            &case["Status"],
            &case["AssignedToPersonClientIdentifier"],
            &case["CaseTags"]
        ),
        (&json!(1), &Value::Null, &json!([]))
    );
}

#[tokio::test]
async fn closing_and_reopening_write_history_entries_a_reply_does_not_reopen() {
    let mut state = state();
    let uid = new_case(&state).await;
    let reply = json!({ "AgentName": "Bridge", "Case": { "Uid": uid }, "Comment": "<p>again</p>" });
    let req = request(
        "POST",
        &format!("/api/v1/support/cases/{uid}/replies"),
        &[("authorization", OUTSETA)],
        &reply.to_string(),
    );
    assert_eq!(handle(&state, req).await.status(), StatusCode::OK);

    state.clock = Clock::Fixed(NOW + 60);
    updated(&state, &uid, json!({ "Status": 2 })).await;
    updated(&state, &uid, json!({ "Status": 2 })).await; // no change, no entry
    state.clock = Clock::Fixed(NOW + 120);
    let reopened = updated(&state, &uid, json!({ "Status": 1 })).await;
    updated(
        &state,
        &uid,
        json!({ "AssignedToPersonClientIdentifier": "p1" }),
    )
    .await;

    let case = read_case(&state, &uid).await;
    assert_eq!(case["Status"], 1);
    let histories = case["CaseHistories"].as_array().expect("CaseHistories");
    let seen: Vec<_> = histories
        .iter()
        .map(|h| {
            (
                h["Type"].as_u64().expect("Type"),
                h["AgentName"].as_str().expect("AgentName").to_owned(),
                h["Comment"].as_str().expect("Comment").to_owned(),
                h["HistoryDateTime"].as_str().expect("time").to_owned(),
            )
        })
        .collect();
    let entry = |kind: u8, agent: &str, comment: &str, at: &str| {
        (
            u64::from(kind),
            agent.to_owned(),
            comment.to_owned(),
            at.to_owned(),
        )
    };
    assert_eq!(
        seen,
        [
            entry(
                cases::HISTORY_TYPE_AGENT_REPLY,
                "Bridge",
                "<p>again</p>",
                "2023-11-14T22:13:20Z"
            ),
            entry(
                cases::HISTORY_TYPE_CLOSED,
                "API",
                "Case closed",
                "2023-11-14T22:14:20Z"
            ),
            entry(
                cases::HISTORY_TYPE_REOPENED,
                "API",
                "Case reopened",
                "2023-11-14T22:15:20Z"
            ),
        ]
    );
    assert_eq!(
        (
            cases::HISTORY_TYPE_AGENT_REPLY,
            cases::HISTORY_TYPE_CLOSED,
            cases::HISTORY_TYPE_REOPENED
        ),
        (6, 3, 4),
        "Outseta's SupportCaseHistoryType numbers"
    );
    for history in histories {
        let keys = history.as_object().expect("object").len();
        assert_eq!(keys, 5, "the same entry shape as a reply: {history}");
        assert_eq!(history["Uid"].as_str().map(str::len), Some(8));
    }
    assert_eq!(reopened["CaseHistories"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn case_tags_replace_the_set_and_unknown_tags_are_skipped() {
    let state = state_with_tags(&["muted", "team-a", "sev1"]);
    let uid = new_case(&state).await;

    let tagged = updated(
        &state,
        &uid,
        json!({ "CaseTags": [tag_ref("muted"), tag_ref("team-a"), { "Tag": { "Uid": "unknown1" } }, tag_ref("muted"), {}] }),
    )
    .await;
    let shown = case_tags(&tagged);
    assert_eq!(shown.len(), 2, "{tagged}");
    assert!(
        shown.iter().all(|(_, tag)| tag.is_null()),
        "Tag is below the first level"
    );
    let first = &tagged["CaseTags"][0];
    assert_eq!(first["Case"], Value::Null);
    assert_eq!(first["Created"], "2023-11-14T22:13:20Z");
    assert_eq!(first["Updated"], "2023-11-14T22:13:20Z");
    let muted_case_tag = shown[0].0.clone();
    assert_eq!(muted_case_tag.len(), 8);

    let expanded = read_with(&state, &uid, EXPAND).await;
    assert_eq!(tag_names(&expanded), ["muted", "team-a"]);
    assert_eq!(
        expanded["CaseTags"][0]["Tag"],
        json!({
            "Uid": tag_uid("muted"), "Name": "muted", "SystemName": null,
            "SystemDescription": null, "TagColor": 10, "EntityType": 4,
            "Created": "2023-11-14T22:13:20Z", "Updated": "2023-11-14T22:13:20Z",
        })
    );

    // Keep muted by its CaseTag Uid, drop team-a, add sev1; answered expanded.
    let response = put(
        &state,
        &uid,
        EXPAND,
        &json!({ "CaseTags": [{ "Uid": muted_case_tag }, tag_ref("sev1")] }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let retagged = body_json(&response);
    assert_eq!(tag_names(&retagged), ["muted", "sev1"]);
    assert_eq!(
        case_tags(&retagged)[0].0,
        muted_case_tag,
        "a kept tag keeps its Uid"
    );

    // Naming a tag the case carries keeps its CaseTag too; no CaseTags keeps the set.
    let same = updated(
        &state,
        &uid,
        json!({ "CaseTags": [tag_ref("sev1"), tag_ref("muted")] }),
    )
    .await;
    assert_eq!(case_tags(&same)[1].0, muted_case_tag);
    let untouched = updated(&state, &uid, json!({ "Status": 2, "CaseTags": null })).await;
    assert_eq!(case_tags(&untouched).len(), 2);

    // A CaseTag Uid the case does not carry falls back to its Tag, if any.
    let fallback = updated(
        &state,
        &uid,
        json!({ "CaseTags": [{ "Uid": "notmine1" }, { "Uid": "notmine2", "Tag": { "Uid": tag_uid("team-a") } }] }),
    )
    .await;
    assert_eq!(case_tags(&fallback).len(), 1);
    assert_eq!(
        tag_names(&read_with(&state, &uid, EXPAND).await),
        ["team-a"]
    );

    let cleared = updated(&state, &uid, json!({ "CaseTags": [] })).await;
    assert_eq!(cleared["CaseTags"], json!([]));
}

#[tokio::test]
async fn fields_expand_tags_on_read_list_and_update_only_when_named() {
    let state = state_with_tags(&["muted"]);
    let uid = new_case(&state).await;
    updated(&state, &uid, json!({ "CaseTags": [tag_ref("muted")] })).await;

    for query in [
        "",
        "?fields=*",
        "?fields=Uid,CaseTags.Uid",
        "?fields=CaseTags.*",
    ] {
        let case = read_with(&state, &uid, query).await;
        assert_eq!(case["CaseTags"][0]["Tag"], Value::Null, "{query}");
    }
    for query in [
        EXPAND,
        "?fields=Uid,CaseTags.Tag.Uid",
        "?fields=CASETAGS.TAG.NAME",
    ] {
        let case = read_with(&state, &uid, query).await;
        assert_eq!(case["CaseTags"][0]["Tag"]["Name"], "muted", "{query}");
    }

    let list = |query: &'static str| {
        request(
            "GET",
            &format!("/api/v1/support/cases{query}"),
            &[("authorization", OUTSETA)],
            "",
        )
    };
    let listed = body_json(&handle(&state, list("?fields=*,CaseTags.Tag.*&limit=1")).await);
    assert_eq!(listed[0]["CaseTags"][0]["Tag"]["Uid"], tag_uid("muted"));
    let listed = body_json(&handle(&state, list("")).await);
    assert_eq!(listed[0]["CaseTags"][0]["Tag"], Value::Null);
    assert_eq!(
        listed[0]["CaseTags"][0]["Uid"].as_str().map(str::len),
        Some(8)
    );

    let repeated = put(&state, &uid, "?fields=*&fields=*", &json!({ "Status": 2 })).await;
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body_json(&repeated),
        json!({ "Message": "parameter fields is given more than once" })
    );
    assert_eq!(
        read_case(&state, &uid).await["Status"],
        1,
        "refused before applying"
    );
    let req = request(
        "GET",
        &format!("/api/v1/support/cases/{uid}?fields=a&fields=b"),
        &[("authorization", OUTSETA)],
        "",
    );
    assert_eq!(handle(&state, req).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unknown_case_is_404_whatever_the_body() {
    let state = state();
    for body in [r#"{"Status":2}"#, r#"{"Status":9}"#, "not json"] {
        let response = put_raw(&state, "zzzzzzzz", "", body).await;
        assert_case_not_found(&response, "zzzzzzzz");
    }
}

#[tokio::test]
async fn put_needs_auth_and_takes_the_fault_headers() {
    let state = state();
    let uid = new_case(&state).await;
    let path = format!("/api/v1/support/cases/{uid}");
    let body = r#"{"Status":2}"#;
    let send = |headers: &[(&str, &str)]| handle(&state, request("PUT", &path, headers, body));

    assert_unauthorised(&send(&[]).await);
    assert_unauthorised(&send(&[("authorization", &basic("user", "wrong"))]).await);
    let injected = send(&[("authorization", OUTSETA), ("x-mock-status", "502")]).await;
    assert_eq!(injected.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        read_case(&state, &uid).await["Status"],
        1,
        "nothing applied"
    );

    let response = send(&[("authorization", &bearer())]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let watch = request(
        "PUT",
        &format!("/lambda-url/mock-api{path}"),
        &[("authorization", &basic("user", "p@ss:word"))],
        r#"{"Status":1}"#,
    );
    assert_eq!(body_json(&handle(&state, watch).await)["Status"], 1);
}
