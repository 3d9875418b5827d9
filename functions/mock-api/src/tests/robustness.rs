//! Bad input of every kind is an answer, never a panic or a 5xx.

use super::*;

#[tokio::test]
async fn garbage_bodies_and_queries_get_4xx_or_2xx_answers() {
    let state = state_with_tags(&["muted", "team-a"]);
    let uid = create_case(&state, &valid_case()).await["Uid"]
        .as_str()
        .expect("Uid")
        .to_owned();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies = [
        String::new(),
        "null".to_owned(),
        "[]".to_owned(),
        "\"\u{0}\"".to_owned(),
        "{\"Status\":1e400}".to_owned(),
        "{\"Status\":18446744073709551616}".to_owned(),
        "{\"CaseTags\":[[[]]],\"Case\":{\"Uid\":{}}}".to_owned(),
        format!("{{\"CaseTags\":{deep}}}"),
        "{\"AssignedToPersonClientIdentifier\":\"\u{1F600}\"}".to_owned(),
        "\u{FEFF}{}".to_owned(),
        deep.clone(),
    ];
    let queries = [
        "",
        "?%FF%FE=%C0",
        "?fields=%FF",
        "?q=%00",
        "?q=%FF",
        "?entityType=%E2%82%AC",
        "?limit=99999999999999999999999",
        "?offset=18446744073709551615&limit=18446744073709551615",
        "?&&&=&==",
    ];
    let paths = [
        "/api/v1/support/cases".to_owned(),
        format!("/api/v1/support/cases/{uid}"),
        format!("/api/v1/support/cases/{uid}/replies"),
        format!("/mock/cases/{uid}/close"),
        "/api/v1/support/cases/%FF".to_owned(),
        "/api/v1/attribute/tags".to_owned(),
        "/api/v1/data".to_owned(),
    ];
    for path in &paths {
        for method in ["GET", "POST", "PUT"] {
            for query in queries {
                for body in &bodies {
                    let req = request(
                        method,
                        &format!("{path}{query}"),
                        &[("authorization", OUTSETA)],
                        body,
                    );
                    let status = handle(&state, req).await.status();
                    assert!(
                        status.is_success() || status.is_client_error(),
                        "{method} {path}{query} {:.40}: {status}",
                        body
                    );
                }
            }
        }
    }
}
