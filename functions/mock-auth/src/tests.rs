//! Handler tests: real `lambda_http` requests in, status and JSON body out.

use super::*;
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use mock_kit::testing::{basic, body_json, request};

const NOW: u64 = 1_700_000_000;
const KEY: &[u8] = b"shared-signing-key";
const ID: &str = "my-client";
const SECRET: &str = "s3cr3t:with+odd chars";

fn state_with(allow_get: bool, ttl: u64) -> State {
    State::new(
        Config {
            client_id: ID.to_owned(),
            client_secret: SECRET.to_owned(),
            signing_key: KEY.to_vec(),
            token_ttl_secs: ttl,
            allow_get,
        },
        Clock::Fixed(NOW),
    )
}

fn state() -> State {
    state_with(false, 300)
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Asserts a 200 token response whose token mock-api would accept.
fn assert_issued(response: &Response<Body>, ttl: u64) {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(response)
    );
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body = body_json(response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], ttl);
    let token = body["access_token"].as_str().expect("access_token string");
    let claims = mock_kit::verify(KEY, token, NOW, None).expect("token verifies");
    assert_eq!(claims.iat, NOW);
    assert_eq!(claims.exp, NOW + ttl);
}

fn assert_oauth_error(response: &Response<Body>, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    let body = body_json(response);
    assert_eq!(body["error"], error, "{body}");
    assert!(body.get("access_token").is_none());
    body
}

#[test]
fn basic_header_with_form_grant() {
    let req = request(
        "POST",
        "/token",
        &[
            ("authorization", &basic(ID, SECRET)),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials",
    );
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn basic_header_with_rfc6749_form_encoded_credentials() {
    let encoded_secret = form_encode(&[("x", SECRET)]).replacen("x=", "", 1);
    assert_ne!(encoded_secret, SECRET);
    let req = request(
        "POST",
        "/token?grant_type=client_credentials",
        &[("authorization", &basic(ID, &encoded_secret))],
        "",
    );
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn form_body_credentials() {
    let body = form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", ID),
        ("client_secret", SECRET),
    ]);
    let req = request(
        "POST",
        "/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        &body,
    );
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn json_body_credentials() {
    let body =
        json!({ "grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET });
    let req = request(
        "POST",
        "/token",
        &[("content-type", "application/json; charset=utf-8")],
        &body.to_string(),
    );
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn query_string_credentials() {
    let query = form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", ID),
        ("client_secret", SECRET),
    ]);
    let req = request("POST", &format!("/token?{query}"), &[], "");
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn extra_eventbridge_parameters_are_ignored() {
    let body = form_encode(&[
        ("grant_type", "client_credentials"),
        ("scope", "tickets:write"),
        ("audience", "https://api.example"),
    ]);
    let req = request(
        "POST",
        "/token?custom=1",
        &[
            ("authorization", &basic(ID, SECRET)),
            ("x-custom-header", "anything"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &body,
    );
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn configured_ttl_is_reported_and_embedded() {
    let req = request(
        "POST",
        "/token?grant_type=client_credentials",
        &[("authorization", &basic(ID, SECRET))],
        "",
    );
    assert_issued(&handle(&state_with(false, 42), &req), 42);
}

#[test]
fn cargo_lambda_watch_prefix_is_routed() {
    let req = request(
        "POST",
        "/lambda-url/mock-auth/token?grant_type=client_credentials",
        &[("authorization", &basic(ID, SECRET))],
        "",
    );
    assert_issued(&handle(&state(), &req), 300);
}

#[test]
fn wrong_secret_or_id_is_invalid_client() {
    for (id, secret) in [
        (ID, "wrong"),
        ("other", SECRET),
        (ID, "s3cr3t:with+odd chars "),
    ] {
        let req = request(
            "POST",
            "/token?grant_type=client_credentials",
            &[("authorization", &basic(id, secret))],
            "",
        );
        let response = handle(&state(), &req);
        assert_oauth_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Basic realm="mock-auth""#
        );
    }
    let body =
        json!({ "grant_type": "client_credentials", "client_id": ID, "client_secret": "nope" });
    let req = request("POST", "/token", &[], &body.to_string());
    assert_oauth_error(
        &handle(&state(), &req),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[test]
fn malformed_basic_header_is_invalid_client() {
    let req = request(
        "POST",
        "/token?grant_type=client_credentials",
        &[("authorization", "Basic not-base64!")],
        "",
    );
    assert_oauth_error(
        &handle(&state(), &req),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[test]
fn wrong_grant_is_unsupported_grant_type() {
    let req = request(
        "POST",
        "/token",
        &[("authorization", &basic(ID, SECRET))],
        "grant_type=password",
    );
    assert_oauth_error(
        &handle(&state(), &req),
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    );
}

#[test]
fn missing_fields_are_named() {
    let cases = [
        (
            request(
                "POST",
                "/token",
                &[("authorization", &basic(ID, SECRET))],
                "",
            ),
            "missing grant_type",
        ),
        (
            request(
                "POST",
                "/token",
                &[],
                "grant_type=client_credentials&client_secret=x",
            ),
            "missing client_id",
        ),
        (
            request(
                "POST",
                "/token",
                &[],
                "grant_type=client_credentials&client_id=x",
            ),
            "missing client_secret",
        ),
        (
            request(
                "POST",
                "/token",
                &[],
                r#"{"grant_type":"client_credentials","client_id":""}"#,
            ),
            "missing client_id",
        ),
        (
            request(
                "POST",
                "/token?grant_type=client_credentials",
                &[("authorization", &basic("", SECRET))],
                "",
            ),
            "missing client_id",
        ),
    ];
    for (req, description) in cases {
        let body = assert_oauth_error(
            &handle(&state(), &req),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_eq!(body["error_description"], description);
    }
}

#[test]
fn malformed_json_is_invalid_request() {
    let req = request(
        "POST",
        "/token",
        &[("content-type", "application/json")],
        "{\"grant_type\":",
    );
    let body = assert_oauth_error(
        &handle(&state(), &req),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_eq!(
        body["error_description"],
        "request body is not a JSON object"
    );

    let req = request("POST", "/token", &[], r#"{"client_secret":123}"#);
    let body = assert_oauth_error(
        &handle(&state(), &req),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_eq!(body["error_description"], "client_secret must be a string");
}

#[test]
fn get_is_refused_unless_allowed() {
    let query = form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", ID),
        ("client_secret", SECRET),
    ]);
    let uri = format!("/token?{query}");
    let refused = handle(&state(), &request("GET", &uri, &[], ""));
    assert_oauth_error(
        &refused,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_eq!(refused.headers()[ALLOW], "POST");

    assert_issued(
        &handle(&state_with(true, 300), &request("GET", &uri, &[], "")),
        300,
    );
    let put = handle(&state_with(true, 300), &request("PUT", &uri, &[], ""));
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.headers()[ALLOW], "POST, GET");
}

#[test]
fn health_and_unknown_paths() {
    let health = handle(&state(), &request("GET", "/health", &[], ""));
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(body_json(&health), json!({ "status": "ok" }));

    let prefixed = handle(
        &state(),
        &request("GET", "/lambda-url/mock-auth/health", &[], ""),
    );
    assert_eq!(prefixed.status(), StatusCode::OK);

    let missing = handle(&state(), &request("POST", "/oauth/token", &[], ""));
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body_json(&missing),
        json!({ "error": "not_found", "path": "/oauth/token" })
    );
}

// ---- RFC 6749 strictness: one value per parameter, one authentication method ----

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[test]
fn client_secret_post_in_a_form_body_is_accepted() {
    for pairs in [
        [
            ("grant_type", "client_credentials"),
            ("client_id", ID),
            ("client_secret", SECRET),
        ],
        [
            ("client_secret", SECRET),
            ("client_id", ID),
            ("grant_type", "client_credentials"),
        ],
    ] {
        let req = request("POST", "/token", &[FORM], &form_encode(&pairs));
        assert_issued(&handle(&state(), &req), 300);
    }
}

#[test]
fn a_repeated_parameter_is_invalid_request_naming_it() {
    let auth = basic(ID, SECRET);
    let with_basic = [("authorization", auth.as_str()), FORM];
    let repeated_secret = form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", ID),
        ("client_secret", SECRET),
        ("client_secret", "other-secret"),
    ]);
    let repeated_get = format!("/token?{repeated_secret}");
    // (method, uri, headers, body, the parameter named, allow GET)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a str,
        bool,
    );
    let cases: [Case; 6] = [
        (
            "POST",
            "/token",
            &with_basic,
            "grant_type=client_credentials&grant_type=client_credentials",
            "grant_type",
            false,
        ),
        (
            "POST",
            "/token",
            &[FORM],
            &repeated_secret,
            "client_secret",
            false,
        ),
        (
            "POST",
            "/token",
            &with_basic,
            "grant_type=client_credentials&scope=a&scope=b",
            "scope",
            false,
        ),
        (
            "POST",
            "/token?grant_type=x&grant_type=y",
            &with_basic,
            "",
            "grant_type",
            false,
        ),
        ("GET", &repeated_get, &[], "", "client_secret", true),
        (
            "POST",
            "/token",
            &[("content-type", "application/json")],
            r#"{"grant_type":"client_credentials","client_id":"a","client_id":"b","client_secret":"c"}"#,
            "client_id",
            false,
        ),
    ];
    for (method, uri, headers, body, name, allow_get) in cases {
        let response = handle(
            &state_with(allow_get, 300),
            &request(method, uri, headers, body),
        );
        let body = assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(
            body["error_description"],
            format!("parameter {name} is given more than once"),
            "{method} {uri}"
        );
        let text = body.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains("other-secret"),
            "{text}"
        );
    }
}

#[test]
fn basic_and_body_credentials_together_are_invalid_request() {
    let auth = basic(ID, SECRET);
    let with_basic = [("authorization", auth.as_str()), FORM];
    let cases = [
        // The same, correct, credentials both ways are still two methods.
        form_encode(&[
            ("grant_type", "client_credentials"),
            ("client_id", ID),
            ("client_secret", SECRET),
        ]),
        form_encode(&[("grant_type", "client_credentials"), ("client_id", ID)]),
        form_encode(&[
            ("grant_type", "client_credentials"),
            ("client_secret", SECRET),
        ]),
    ];
    for body in &cases {
        let response = handle(&state(), &request("POST", "/token", &with_basic, body));
        let json = assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
        let description = json["error_description"].as_str().expect("description");
        assert!(description.contains("not both"), "{description}");
        assert!(!description.contains(SECRET), "{description}");
    }
    let in_query = format!("/token?{}", form_encode(&[("client_secret", SECRET)]));
    let response = handle(
        &state(),
        &request(
            "POST",
            &in_query,
            &with_basic,
            "grant_type=client_credentials",
        ),
    );
    assert_oauth_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
}
