//! Listing cases: paging, filters and search (`q`).

use super::*;

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
        ("?q=", "q must not be empty"),
        ("?q=+", "q must not be empty"),
        ("?q=a&q=b", "parameter q is given more than once"),
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

fn case_with(person: &str, subject: &str, body: &str) -> Value {
    let mut case = case_from(json!({ "Email": person }), subject);
    case["Body"] = json!(body);
    case
}

#[tokio::test]
async fn q_searches_subject_and_body_in_any_letter_case() {
    let state = state();
    for (person, subject, body) in [
        (
            "ops@example.com",
            "orders: Charge failed",
            "<p>States.TaskFailed</p>",
        ),
        (
            "ops@example.com",
            "billing: Invoice failed",
            "<p>ticket-bridge-fingerprint: 0123456789abcdef</p>",
        ),
        (
            "dev@example.com",
            "orders: Ship failed",
            "<p>Échec de la tâche</p>",
        ),
        (
            "ops@example.com",
            "orders: Pack failed",
            "<p>100% CPU &amp; more</p>",
        ),
    ] {
        create_case(&state, &case_with(person, subject, body)).await;
    }
    let orders: &[&str] = &[
        "orders: Charge failed",
        "orders: Ship failed",
        "orders: Pack failed",
    ];
    let cases: [(&str, &[&str]); 11] = [
        ("?q=orders", orders),
        ("?q=ORDERS:", orders),
        (
            "?q=ticket-bridge-fingerprint%3A+0123456789abcdef",
            &["billing: Invoice failed"],
        ),
        ("?q=taskfailed", &["orders: Charge failed"]),
        ("?q=%C3%A9CHEC", &["orders: Ship failed"]),
        ("?q=100%25+CPU", &["orders: Pack failed"]),
        ("?q=%26amp%3B", &["orders: Pack failed"]),
        ("?q=nowhere", &[]),
        // Combined with the filters, then paged.
        (
            "?q=orders&FromPerson.Email=ops@example.com",
            &["orders: Charge failed", "orders: Pack failed"],
        ),
        ("?q=orders&offset=1&limit=1", &["orders: Ship failed"]),
        (
            "?q=+failed+&limit=2",
            &["orders: Charge failed", "billing: Invoice failed"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(listed_subjects(&state, query).await, expected, "{query}");
    }
}
