//! Reading a client-credentials token request, wherever the client put its fields.
//!
//! Clients disagree on where credentials go: EventBridge connections and most OAuth
//! libraries use an HTTP Basic header, others a form or JSON body, and a GET token
//! endpoint can only use the query string. A mock that accepted only one way would
//! fail clients that a real provider accepts, so all are read and merged, strongest
//! first: Basic header, then body, then query. Unknown fields (scopes, audiences,
//! EventBridge's extra `oauth_http_parameters`) are ignored.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use lambda_http::Request;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

/// Standard base64, padded or not: clients differ and both are unambiguous.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The fields a token request is judged on; `None` when no source supplied one.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenParams {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Credentials came from a Basic header. RFC 6749 (2.3.1) has clients
    /// form-encode them before base64, so the comparison also tries them decoded.
    pub via_basic: bool,
}

/// A request too broken to judge its credentials.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParamError {
    /// 400 invalid_request: the body says JSON but isn't a JSON object.
    #[error("request body is not a JSON object")]
    MalformedJson,
    /// 400 invalid_request: a JSON field that must be a string isn't.
    #[error("{0} must be a string")]
    NotAString(&'static str),
    /// 401 invalid_client: the client tried Basic authentication and got it wrong.
    #[error("malformed Basic authorization header")]
    MalformedBasic,
}

const FIELDS: [&str; 3] = ["grant_type", "client_id", "client_secret"];

impl TokenParams {
    pub(crate) fn from_request(req: &Request) -> Result<Self, ParamError> {
        let mut params = TokenParams::default();
        if let Some(query) = req.uri().query() {
            params.merge_form(query.as_bytes());
        }
        params.merge_body(req)?;
        params.merge_basic(req)?;
        Ok(params)
    }

    fn slot(&mut self, field: &str) -> Option<&mut Option<String>> {
        match field {
            "grant_type" => Some(&mut self.grant_type),
            "client_id" => Some(&mut self.client_id),
            "client_secret" => Some(&mut self.client_secret),
            _ => None,
        }
    }

    /// Form fields override what an earlier source set; the first occurrence of a
    /// repeated field wins, as RFC 6749 forbids repeats and gives no rule.
    fn merge_form(&mut self, form: &[u8]) {
        let mut seen = [false; FIELDS.len()];
        for (name, value) in form_urlencoded::parse(form) {
            let Some(index) = FIELDS.iter().position(|field| *field == name) else {
                continue;
            };
            if seen[index] || value.is_empty() {
                continue;
            }
            seen[index] = true;
            if let Some(slot) = self.slot(FIELDS[index]) {
                *slot = Some(value.into_owned());
            }
        }
    }

    fn merge_body(&mut self, req: &Request) -> Result<(), ParamError> {
        let body: &[u8] = req.body();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if is_json(req, body) {
            let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
                return Err(ParamError::MalformedJson);
            };
            for field in FIELDS {
                match object.get(field) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(value)) if value.is_empty() => {}
                    Some(Value::String(value)) => {
                        if let Some(slot) = self.slot(field) {
                            *slot = Some(value.clone());
                        }
                    }
                    Some(_) => return Err(ParamError::NotAString(field)),
                }
            }
        } else {
            self.merge_form(body);
        }
        Ok(())
    }

    fn merge_basic(&mut self, req: &Request) -> Result<(), ParamError> {
        let Some(header) = req.headers().get(AUTHORIZATION) else {
            return Ok(());
        };
        let Ok(header) = header.to_str() else {
            return Err(ParamError::MalformedBasic);
        };
        let (scheme, encoded) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            // Some other scheme (a stale Bearer, say): not client authentication.
            return Ok(());
        }
        let decoded = BASE64_ANY_PADDING
            .decode(encoded.trim())
            .map_err(|_| ParamError::MalformedBasic)?;
        let decoded = String::from_utf8(decoded).map_err(|_| ParamError::MalformedBasic)?;
        let (id, secret) = decoded.split_once(':').ok_or(ParamError::MalformedBasic)?;
        self.client_id = Some(id.to_owned()).filter(|id| !id.is_empty());
        self.client_secret = Some(secret.to_owned()).filter(|secret| !secret.is_empty());
        self.via_basic = true;
        Ok(())
    }
}

/// JSON when the client says so; with no usable content type, JSON when it looks like
/// an object (curl and hand-written clients often omit the header).
fn is_json(req: &Request, body: &[u8]) -> bool {
    let essence = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match essence.as_deref() {
        Some("application/json") => true,
        Some(mime) if mime.ends_with("+json") => true,
        Some("application/x-www-form-urlencoded") => false,
        _ => body
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|byte| *byte == b'{'),
    }
}

/// Undoes the form-encoding RFC 6749 asks of Basic credentials (`+` for space,
/// `%XX` escapes); `None` when that changes nothing or isn't valid UTF-8.
pub(crate) fn form_decoded(value: &str) -> Option<String> {
    if !value.contains(['%', '+']) {
        return None;
    }
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
        .filter(|decoded| decoded != value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;
    use lambda_http::Body;
    use lambda_http::http;

    fn request(uri: &str, headers: &[(&str, &str)], body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::from(body)).expect("valid test request")
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            general_purpose::STANDARD.encode(user_pass.as_bytes())
        )
    }

    #[test]
    fn basic_header_beats_body_beats_query() {
        let auth = basic("header-id:header-secret");
        let req = request(
            "/token?grant_type=query-grant&client_id=query-id&client_secret=query-secret",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "grant_type=client_credentials&client_id=body-id",
        );
        let params = TokenParams::from_request(&req).expect("parses");
        assert_eq!(params.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(params.client_id.as_deref(), Some("header-id"));
        assert_eq!(params.client_secret.as_deref(), Some("header-secret"));
        assert!(params.via_basic);
    }

    #[test]
    fn query_fills_what_the_body_lacks() {
        let req = request(
            "/token?client_secret=from-query",
            &[("content-type", "application/json")],
            r#"{"grant_type":"client_credentials","client_id":"from-body","scope":["a"]}"#,
        );
        let params = TokenParams::from_request(&req).expect("parses");
        assert_eq!(params.client_id.as_deref(), Some("from-body"));
        assert_eq!(params.client_secret.as_deref(), Some("from-query"));
        assert!(!params.via_basic);
    }

    #[test]
    fn json_is_sniffed_without_a_content_type_and_form_otherwise() {
        let json = request("/token", &[], r#" {"client_id":"j"}"#);
        assert_eq!(
            TokenParams::from_request(&json)
                .expect("parses")
                .client_id
                .as_deref(),
            Some("j")
        );
        let form = request(
            "/token",
            &[("content-type", "text/plain")],
            "client_id=f%20x",
        );
        assert_eq!(
            TokenParams::from_request(&form)
                .expect("parses")
                .client_id
                .as_deref(),
            Some("f x")
        );
    }

    #[test]
    fn broken_bodies_and_headers_are_errors() {
        let cases = [
            (
                request("/t", &[("content-type", "application/json")], "{oops"),
                ParamError::MalformedJson,
            ),
            (
                request("/t", &[("content-type", "application/json")], "[1]"),
                ParamError::MalformedJson,
            ),
            (
                request("/t", &[], r#"{"client_id":42}"#),
                ParamError::NotAString("client_id"),
            ),
            (
                request("/t", &[("authorization", "Basic !!!")], ""),
                ParamError::MalformedBasic,
            ),
            (
                request("/t", &[("authorization", &basic("no-colon"))], ""),
                ParamError::MalformedBasic,
            ),
            (
                request("/t", &[("authorization", "Basic")], ""),
                ParamError::MalformedBasic,
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(TokenParams::from_request(&req), Err(expected));
        }
    }

    #[test]
    fn other_authorization_schemes_are_not_client_credentials() {
        let req = request("/t", &[("authorization", "Bearer abc")], "client_id=x");
        let params = TokenParams::from_request(&req).expect("parses");
        assert_eq!(params.client_id.as_deref(), Some("x"));
        assert!(!params.via_basic);
    }

    #[test]
    fn form_decoding_of_basic_credentials() {
        assert_eq!(form_decoded("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decoded("plain"), None);
        assert_eq!(form_decoded("%ff"), None);
    }
}
