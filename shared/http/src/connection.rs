//! The EventBridge connection secret → how to authenticate a request.
//!
//! EventBridge stores each connection's credentials in Secrets Manager as
//! snake_case JSON, one layout per authorization type. We read exactly those
//! layouts, so one connection serves both the state machine's HTTP task and
//! this notifier, and rotating it in EventBridge rotates it here.
//!
//! Parsing is by hand from `serde_json::Value`, not derive: serde's errors
//! quote the offending value, and here the value is a credential.

use serde_json::{Map, Value};

/// A credential. No `Display`, and `Debug` is masked, so it cannot reach a
/// log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// One `{key, value, is_value_secret}` entry of `*_http_parameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub key: String,
    pub value: Secret,
    pub is_value_secret: bool,
}

/// Extra headers, query parameters and body keys sent with every request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpParameters {
    pub headers: Vec<Param>,
    pub query: Vec<Param>,
    pub body: Vec<Param>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMethod {
    Get,
    Post,
    Put,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: Secret,
    pub authorization_endpoint: String,
    pub http_method: TokenMethod,
    pub oauth_http_parameters: HttpParameters,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A header: for Outseta `Authorization: Outseta KEY:SECRET`.
    ApiKey {
        name: String,
        value: Secret,
    },
    Basic {
        username: String,
        password: Secret,
    },
    OAuthClientCredentials(Box<OAuthClient>),
}

/// A parsed connection secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub auth: Auth,
    pub invocation: HttpParameters,
}

impl Connection {
    /// Parses the secret string. The error names the problem (a missing
    /// field, an unknown layout with its key names), never a value.
    pub fn parse(secret: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(secret).map_err(|_| "the secret is not JSON".to_owned())?;
        let obj = value.as_object().ok_or("the secret is not a JSON object")?;
        let invocation = params(obj, "invocation_http_parameters")?;
        let recognised = obj
            .keys()
            .any(|k| LAYOUT_KEYS.contains(&k.as_str()) && k != "invocation_http_parameters");
        if recognised {
            only_known(obj, "the secret", TOP_KEYS)?;
        }
        let auth = if obj.contains_key("api_key_name") || obj.contains_key("api_key_value") {
            Auth::ApiKey {
                name: field(obj, "api_key_name")?,
                value: Secret(field(obj, "api_key_value")?),
            }
        } else if obj.contains_key("username") || obj.contains_key("password") {
            Auth::Basic {
                username: field(obj, "username")?,
                password: Secret(field(obj, "password")?),
            }
        } else if obj.contains_key("authorization_endpoint") {
            Auth::OAuthClientCredentials(Box::new(oauth(obj)?))
        } else {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(format!(
                "unknown connection secret layout (keys: {}); expected an EventBridge API key, Basic or OAuth connection",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.join(", ")
                }
            ));
        };
        Ok(Connection { auth, invocation })
    }

    /// Every secret value this connection holds, for verbatim masking: each
    /// whole value, and for `Scheme credential` values (`Outseta KEY:SECRET`,
    /// wherever it sits) the credential and its `:`-separated parts too, in
    /// case one is echoed alone.
    pub fn secret_values(&self) -> Vec<&str> {
        let mut whole = Vec::new();
        match &self.auth {
            Auth::ApiKey { value, .. } => whole.push(value.expose()),
            Auth::Basic { password, .. } => whole.push(password.expose()),
            Auth::OAuthClientCredentials(o) => {
                whole.push(o.client_secret.expose());
                whole.extend(secret_params(&o.oauth_http_parameters));
            }
        }
        whole.extend(secret_params(&self.invocation));
        let mut out = whole.clone();
        for v in whole {
            if let Some((_, credential)) = v.trim().split_once(' ') {
                out.push(credential);
                out.extend(credential.split(':'));
            }
        }
        out
    }
}

fn secret_params(p: &HttpParameters) -> impl Iterator<Item = &str> {
    p.headers
        .iter()
        .chain(&p.query)
        .chain(&p.body)
        .filter(|p| p.is_value_secret)
        .map(|p| p.value.expose())
}

/// EventBridge writes `client_id`/`client_secret` at the top level; some
/// emulators (moto) nest them under `client_parameters` and spell the extra
/// parameters `o_auth_http_parameters`. Both are read.
fn oauth(obj: &Map<String, Value>) -> Result<OAuthClient, String> {
    let nested = obj.get("client_parameters").and_then(Value::as_object);
    if let Some(c) = nested {
        only_known(c, "client_parameters", CLIENT_KEYS)?;
    }
    let client = nested.unwrap_or(obj);
    let method = match obj
        .get("http_method")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
    {
        None => TokenMethod::Post,
        Some(m) if m == "POST" => TokenMethod::Post,
        Some(m) if m == "GET" => TokenMethod::Get,
        Some(m) if m == "PUT" => TokenMethod::Put,
        Some(_) => return Err("http_method must be GET, POST or PUT".to_owned()),
    };
    let extra_key = if obj.contains_key("oauth_http_parameters") {
        "oauth_http_parameters"
    } else {
        "o_auth_http_parameters"
    };
    Ok(OAuthClient {
        client_id: field(client, either(client, "client_id", "ClientID"))?,
        client_secret: Secret(field(
            client,
            either(client, "client_secret", "ClientSecret"),
        )?),
        authorization_endpoint: field(obj, "authorization_endpoint")?,
        http_method: method,
        oauth_http_parameters: params(obj, extra_key)?,
    })
}

fn field(obj: &Map<String, Value>, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(format!("`{key}` is empty")),
        Some(_) => Err(format!("`{key}` must be a string")),
        None => Err(format!("`{key}` is missing")),
    }
}

/// `*_http_parameters`: its lists and their entries, with snake_case or
/// PascalCase inner keys (EventBridge's API spells them in PascalCase; the
/// secret's own spelling is not documented anywhere public). Any other key
/// is an error naming it: a header silently dropped could be the credential.
fn params(obj: &Map<String, Value>, key: &str) -> Result<HttpParameters, String> {
    let Some(v) = obj.get(key).filter(|v| !v.is_null()) else {
        return Ok(HttpParameters::default());
    };
    let p = v
        .as_object()
        .ok_or_else(|| format!("`{key}` must be an object"))?;
    only_known(p, key, PARAM_LISTS)?;
    let list = |snake: &str, pascal: &str| -> Result<Vec<Param>, String> {
        let name = either(p, snake, pascal);
        let Some(items) = p.get(name).filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let items = items
            .as_array()
            .ok_or_else(|| format!("`{key}.{name}` must be a list"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{key}.{name}[{i}]");
                let o = item
                    .as_object()
                    .ok_or_else(|| format!("`{at}` must be an object"))?;
                only_known(o, &at, PARAM_KEYS)?;
                let k = field(o, either(o, "key", "Key")).map_err(|e| format!("{at}: {e}"))?;
                let value = match o.get(either(o, "value", "Value")) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                let secret = o.get(either(o, "is_value_secret", "IsValueSecret"));
                Ok(Param {
                    key: k,
                    value: Secret(value),
                    is_value_secret: match secret {
                        None | Some(Value::Null) => false,
                        Some(Value::Bool(b)) => *b,
                        Some(_) => {
                            return Err(format!("`{at}.is_value_secret` must be true or false"));
                        }
                    },
                })
            })
            .collect()
    };
    Ok(HttpParameters {
        headers: list("header_parameters", "HeaderParameters")?,
        query: list("query_string_parameters", "QueryStringParameters")?,
        body: list("body_parameters", "BodyParameters")?,
    })
}

/// Keys that identify a connection layout.
const LAYOUT_KEYS: &[&str] = &[
    "api_key_name",
    "api_key_value",
    "username",
    "password",
    "authorization_endpoint",
];
/// Every top-level key of the three layouts, in EventBridge's and moto's spellings.
const TOP_KEYS: &[&str] = &[
    "api_key_name",
    "api_key_value",
    "username",
    "password",
    "client_id",
    "client_secret",
    "client_parameters",
    "authorization_endpoint",
    "http_method",
    "oauth_http_parameters",
    "o_auth_http_parameters",
    "invocation_http_parameters",
];
const CLIENT_KEYS: &[&str] = &["client_id", "client_secret", "ClientID", "ClientSecret"];
const PARAM_LISTS: &[&str] = &[
    "header_parameters",
    "query_string_parameters",
    "body_parameters",
    "HeaderParameters",
    "QueryStringParameters",
    "BodyParameters",
];
const PARAM_KEYS: &[&str] = &[
    "key",
    "value",
    "is_value_secret",
    "Key",
    "Value",
    "IsValueSecret",
];

/// The snake_case key when present, else the PascalCase one.
fn either<'a>(obj: &Map<String, Value>, snake: &'a str, pascal: &'a str) -> &'a str {
    if obj.contains_key(snake) {
        snake
    } else {
        pascal
    }
}

/// Refuses keys outside `known`, naming the first (never its value).
fn only_known(obj: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{at} has a key this notifier does not understand: `{k}` (nothing is dropped silently; expected one of: {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_key_with_invocation_parameters() {
        let c = Connection::parse(
            &json!({"api_key_name": "Authorization", "api_key_value": "Outseta K1:S3CRET",
                    "invocation_http_parameters": {"header_parameters": [{"key": "X-Env", "value": "prod", "is_value_secret": false}],
                                                   "query_string_parameters": [{"key": "q", "value": "v", "is_value_secret": true}]}})
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            c.auth,
            Auth::ApiKey {
                name: "Authorization".into(),
                value: Secret::new("Outseta K1:S3CRET")
            }
        );
        assert_eq!(c.invocation.headers[0].key, "X-Env");
        assert!(c.invocation.query[0].is_value_secret);
        assert_eq!(
            c.secret_values(),
            ["Outseta K1:S3CRET", "v", "K1:S3CRET", "K1", "S3CRET"]
        );
    }

    #[test]
    fn basic_and_both_oauth_spellings() {
        let c = Connection::parse(r#"{"username":"u","password":"p"}"#).unwrap();
        assert!(matches!(c.auth, Auth::Basic { ref username, .. } if username == "u"));
        let flat = json!({"client_id": "cid", "client_secret": "cs", "authorization_endpoint": "https://a/token",
                          "http_method": "post", "oauth_http_parameters": {"body_parameters": [{"key": "scope", "value": "x", "is_value_secret": false}]}});
        let nested = json!({"client_parameters": {"client_id": "cid", "client_secret": "cs"}, "authorization_endpoint": "https://a/token",
                            "http_method": "POST", "o_auth_http_parameters": {"body_parameters": [{"key": "scope", "value": "x", "is_value_secret": false}]}});
        let a = Connection::parse(&flat.to_string()).unwrap();
        let b = Connection::parse(&nested.to_string()).unwrap();
        assert_eq!(a, b);
        let Auth::OAuthClientCredentials(o) = a.auth else {
            panic!()
        };
        assert_eq!(o.http_method, TokenMethod::Post);
        assert_eq!(o.oauth_http_parameters.body[0].key, "scope");
    }

    #[test]
    fn invocation_parameters_in_either_spelling_and_unknown_keys_refused() {
        let pascal = json!({"api_key_name": "X-Outseta-Connection", "api_key_value": "header-parameter",
            "invocation_http_parameters": {"HeaderParameters": [
                {"Key": "Authorization", "Value": "Outseta K:S", "IsValueSecret": true}]}});
        let snake = json!({"api_key_name": "X-Outseta-Connection", "api_key_value": "header-parameter",
            "invocation_http_parameters": {"header_parameters": [
                {"key": "Authorization", "value": "Outseta K:S", "is_value_secret": true}]}});
        let a = Connection::parse(&pascal.to_string()).unwrap();
        assert_eq!(a, Connection::parse(&snake.to_string()).unwrap());
        assert_eq!(a.invocation.headers[0].key, "Authorization");
        assert!(a.invocation.headers[0].is_value_secret);
        assert!(a.secret_values().contains(&"S"));
        let oauth = json!({"client_parameters": {"ClientID": "cid", "ClientSecret": "cs"},
            "authorization_endpoint": "https://a/token", "http_method": "POST",
            "oauth_http_parameters": {"BodyParameters": [{"Key": "scope", "Value": "x", "IsValueSecret": false}]}});
        let Auth::OAuthClientCredentials(o) = Connection::parse(&oauth.to_string()).unwrap().auth
        else {
            panic!()
        };
        assert_eq!(
            (o.client_id.as_str(), o.client_secret.expose()),
            ("cid", "cs")
        );
        assert_eq!(o.oauth_http_parameters.body[0].key, "scope");
        let refused = [
            (
                json!({"api_key_name": "A", "api_key_value": "CANARY", "invocation_http_parameters":
                {"Headers": [{"Key": "Authorization", "Value": "CANARY"}]}}),
                "`Headers`",
            ),
            (
                json!({"api_key_name": "A", "api_key_value": "CANARY", "invocation_http_parameters":
                {"header_parameters": [{"key": "Authorization", "val": "CANARY"}]}}),
                "`val`",
            ),
            (
                json!({"api_key_name": "A", "api_key_value": "CANARY", "extra_headers": "CANARY"}),
                "`extra_headers`",
            ),
            (
                json!({"api_key_name": "A", "api_key_value": "CANARY", "invocation_http_parameters":
                {"header_parameters": [{"key": "k", "value": "CANARY", "is_value_secret": "CANARY"}]}}),
                "is_value_secret",
            ),
        ];
        for (secret, named) in refused {
            let err = Connection::parse(&secret.to_string()).unwrap_err();
            assert!(err.contains(named), "{secret}: {err}");
            assert!(!err.contains("CANARY"), "value leaked: {err}");
        }
    }

    #[test]
    fn errors_name_the_problem_never_the_value() {
        let cases = [
            ("CANARY-not-json", "not JSON"),
            (r#"["CANARY"]"#, "not a JSON object"),
            (
                r#"{"api_key_name":"Authorization"}"#,
                "`api_key_value` is missing",
            ),
            (
                r#"{"username":"u","password":7}"#,
                "`password` must be a string",
            ),
            (
                r#"{"foo":"CANARY","bar":1}"#,
                "unknown connection secret layout (keys: bar, foo)",
            ),
            (
                r#"{"client_id":"c","client_secret":"CANARY","authorization_endpoint":"x","http_method":"CANARY"}"#,
                "http_method",
            ),
        ];
        for (secret, expected) in cases {
            let err = Connection::parse(secret).unwrap_err();
            assert!(err.contains(expected), "{secret}: {err}");
            assert!(!err.contains("CANARY"), "value leaked: {err}");
        }
        assert_eq!(format!("{:?}", Secret::new("CANARY")), "Secret([REDACTED])");
    }
}
