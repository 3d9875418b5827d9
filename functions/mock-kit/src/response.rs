//! Building the JSON answers both mocks give.
//!
//! The two mocks speak different error dialects (Outseta's `Message` and OAuth's
//! `error`), so the bodies stay theirs; what is common is how a JSON answer and a
//! 405 are put together, which must not drift between them.

use lambda_http::http::header::{ALLOW, CONTENT_TYPE, HeaderName, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;

/// A response with `body` as its JSON text and the matching content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    set_header(&mut response, CONTENT_TYPE, "application/json");
    response
}

/// Sets a header whose value is known at compile time, so it cannot be invalid.
pub fn set_header(response: &mut Response<Body>, name: HeaderName, value: &'static str) {
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

/// 405 with an `Allow` header listing `allowed` (RFC 9110 §15.5.6 requires it), and
/// the body each mock words in its own dialect from that same list.
pub fn method_not_allowed(allowed: &[Method], body: impl FnOnce(&str) -> Value) -> Response<Body> {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = json_response(StatusCode::METHOD_NOT_ALLOWED, &body(&allow));
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_response_has_status_type_and_body() {
        let response = json_response(StatusCode::CREATED, &json!({ "a": 1 }));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.body().as_ref(), br#"{"a":1}"#);
    }

    #[test]
    fn method_not_allowed_lists_the_methods_in_header_and_body() {
        let response = method_not_allowed(
            &[Method::GET, Method::POST],
            |allow| json!({ "use": allow }),
        );
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET, POST");
        assert_eq!(response.body().as_ref(), br#"{"use":"GET, POST"}"#);
    }
}
