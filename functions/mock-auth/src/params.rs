//! Reading a client-credentials token request, wherever the client put its fields.
//!
//! Clients disagree on where credentials go: EventBridge connections and most OAuth
//! libraries use an HTTP Basic header, others a form or JSON body
//! (`client_secret_post`), and a GET token endpoint can only use the query string. A
//! mock that accepted only one way would fail clients that a real provider accepts,
//! so all are read: the body's fields over the query's, and the Basic header alone.
//! What a strict provider refuses is refused here too (RFC 6749): a parameter given
//! twice in one place (§3.2), and credentials sent both in the header and as
//! parameters (§2.3). Unknown fields (scopes, audiences, EventBridge's extra
//! `oauth_http_parameters`) are ignored.

use lambda_http::Request;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use mock_kit::{Params, RepeatedParam, decode_basic, split_scheme};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

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
    /// 400 invalid_request: RFC 6749 §3.2 forbids a parameter more than once.
    #[error(transparent)]
    Repeated(#[from] RepeatedParam),
    /// 400 invalid_request: RFC 6749 §2.3 allows one client authentication method per
    /// request, and a mock that picked one would hide a client that sends both.
    #[error(
        "client credentials must be sent one way: in the Authorization header or as client_id and client_secret parameters, not both"
    )]
    TwoAuthMethods,
    /// 401 invalid_client: the client tried Basic authentication and got it wrong.
    #[error("malformed Basic authorization header")]
    MalformedBasic,
}

const FIELDS: [&str; 3] = ["grant_type", "client_id", "client_secret"];

impl TokenParams {
    pub(crate) fn from_request(req: &Request) -> Result<Self, ParamError> {
        let mut params = TokenParams::default();
        if let Some(query) = req.uri().query() {
            params.merge_form(query.as_bytes())?;
        }
        params.merge_body(req)?;
        if let Some((id, secret)) = basic_credentials(req)? {
            if params.client_id.is_some() || params.client_secret.is_some() {
                return Err(ParamError::TwoAuthMethods);
            }
            params.client_id = Some(id).filter(|id| !id.is_empty());
            params.client_secret = Some(secret).filter(|secret| !secret.is_empty());
            params.via_basic = true;
        }
        Ok(params)
    }

    /// Sets a field from a later source (the body after the query). An empty value
    /// counts as absent, as an empty credential can never be right.
    fn set(&mut self, field: &str, value: &str) {
        let slot = match field {
            "grant_type" => &mut self.grant_type,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            _ => return,
        };
        if !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }

    fn merge_form(&mut self, form: &[u8]) -> Result<(), ParamError> {
        let params = Params::parse(form)?;
        for field in FIELDS {
            if let Some(value) = params.get(field) {
                self.set(field, value);
            }
        }
        Ok(())
    }

    fn merge_body(&mut self, req: &Request) -> Result<(), ParamError> {
        let body: &[u8] = req.body();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if !is_json(req, body) {
            return self.merge_form(body);
        }
        let Ok(JsonParams { members, repeated }) = serde_json::from_slice::<JsonParams>(body)
        else {
            return Err(ParamError::MalformedJson);
        };
        if let Some(name) = repeated {
            return Err(RepeatedParam::named(&name).into());
        }
        for field in FIELDS {
            match members.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::String(value)) => self.set(field, value),
                Some(_) => return Err(ParamError::NotAString(field)),
            }
        }
        Ok(())
    }
}

/// The client id and secret of a Basic `Authorization` header; `None` for no header
/// or another scheme (a stale Bearer, say), which is not client authentication.
fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, ParamError> {
    let Some(header) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let header = header.to_str().map_err(|_| ParamError::MalformedBasic)?;
    let (scheme, credentials) = split_scheme(header);
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    decode_basic(credentials)
        .map(Some)
        .ok_or(ParamError::MalformedBasic)
}

/// A JSON body's top-level members, and the first name given twice: serde_json would
/// keep the last of a repeated member silently, and RFC 6749 §3.2 forbids repeats.
struct JsonParams {
    members: Map<String, Value>,
    repeated: Option<String>,
}

impl<'de> Deserialize<'de> for JsonParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonParams;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonParams, A::Error> {
                let mut members = Map::new();
                let mut repeated = None;
                while let Some(name) = map.next_key::<String>()? {
                    let value = map.next_value::<Value>()?;
                    if members.contains_key(&name) {
                        repeated.get_or_insert(name);
                    } else {
                        members.insert(name, value);
                    }
                }
                Ok(JsonParams { members, repeated })
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
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
    use mock_kit::testing::basic;

    type Headers<'a> = &'a [(&'a str, &'a str)];

    fn request(uri: &str, headers: Headers, body: &str) -> Request {
        mock_kit::testing::request("POST", uri, headers, body)
    }

    #[test]
    fn body_beats_query_and_basic_supplies_the_credentials() {
        // A field in both the query and the body is two places, not a repeat.
        let req = request(
            "/token?grant_type=query-grant&client_id=query-id&scope=s",
            &[("content-type", "application/x-www-form-urlencoded")],
            "grant_type=client_credentials&client_id=body-id&client_secret=body-secret",
        );
        let params = TokenParams::from_request(&req).expect("parses");
        assert_eq!(params.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(params.client_id.as_deref(), Some("body-id"));
        assert_eq!(params.client_secret.as_deref(), Some("body-secret"));
        assert!(!params.via_basic);

        let auth = basic("header-id", "header-secret");
        let req = request(
            "/token?grant_type=query-grant",
            &[("authorization", &auth)],
            "grant_type=client_credentials&scope=s",
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
                request("/t", &[("authorization", "Basic bm8tY29sb24=")], ""),
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

    #[test]
    fn a_parameter_given_twice_in_one_place_is_refused_by_name() {
        let json = [("content-type", "application/json")];
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let cases: [(&str, Headers, &str, &str); 7] = [
            (
                "/t",
                &form,
                "grant_type=a&grant_type=client_credentials",
                "grant_type",
            ),
            (
                "/t",
                &form,
                "client_secret=one&client_id=x&client_secret=two",
                "client_secret",
            ),
            ("/t", &form, "client_id=&client_id=x", "client_id"),
            (
                "/t",
                &form,
                "grant_type=client_credentials&scope=a&scope=b",
                "scope",
            ),
            ("/t?grant_type=a&grant_type=b", &[], "", "grant_type"),
            (
                "/t?audience=a&audience=b",
                &form,
                "grant_type=client_credentials",
                "audience",
            ),
            (
                "/t",
                &json,
                r#"{"client_secret":"one","grant_type":"x","client_secret":"two"}"#,
                "client_secret",
            ),
        ];
        for (uri, headers, body, name) in cases {
            let err = TokenParams::from_request(&request(uri, headers, body)).expect_err(body);
            assert_eq!(
                err,
                ParamError::Repeated(RepeatedParam(name.to_owned())),
                "{uri} {body}"
            );
            let description = err.to_string();
            assert!(description.contains(name), "{description}");
            for secret in ["one", "two"] {
                assert!(!description.contains(secret), "value leaked: {description}");
            }
        }
    }

    #[test]
    fn basic_header_and_credential_parameters_together_are_refused() {
        let auth = basic("id", "secret");
        let with_auth = [
            ("authorization", auth.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let json = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let cases: [(&str, Headers, &str); 5] = [
            (
                "/t",
                &with_auth,
                "grant_type=client_credentials&client_id=id&client_secret=secret",
            ),
            (
                "/t",
                &with_auth,
                "grant_type=client_credentials&client_id=id",
            ),
            (
                "/t",
                &with_auth,
                "grant_type=client_credentials&client_secret=secret",
            ),
            (
                "/t?client_secret=secret",
                &with_auth,
                "grant_type=client_credentials",
            ),
            (
                "/t",
                &json,
                r#"{"grant_type":"client_credentials","client_id":"id"}"#,
            ),
        ];
        for (uri, headers, body) in cases {
            assert_eq!(
                TokenParams::from_request(&request(uri, headers, body)),
                Err(ParamError::TwoAuthMethods),
                "{uri} {body}"
            );
        }
    }
}
