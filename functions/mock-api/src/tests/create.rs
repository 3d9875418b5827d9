//! Creating a case: validation in Outseta's shape.

use super::*;

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
