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

    /// Every secret value this connection holds, for verbatim masking.
    pub fn secret_values(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match &self.auth {
            Auth::ApiKey { value, .. } => {
                out.push(value.expose());
                // `Outseta KEY:SECRET`: mask the parts too, in case one is echoed alone.
                if let Some((_, rest)) = value.expose().split_once(' ') {
                    out.extend(rest.split(':'));
                }
            }
            Auth::Basic { password, .. } => out.push(password.expose()),
            Auth::OAuthClientCredentials(o) => {
                out.push(o.client_secret.expose());
                out.extend(secret_params(&o.oauth_http_parameters));
            }
        }
        out.extend(secret_params(&self.invocation));
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
    let client = obj
        .get("client_parameters")
        .and_then(Value::as_object)
        .unwrap_or(obj);
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
        client_id: field(client, "client_id")?,
        client_secret: Secret(field(client, "client_secret")?),
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

fn params(obj: &Map<String, Value>, key: &str) -> Result<HttpParameters, String> {
    let Some(v) = obj.get(key).filter(|v| !v.is_null()) else {
        return Ok(HttpParameters::default());
    };
    let p = v
        .as_object()
        .ok_or_else(|| format!("`{key}` must be an object"))?;
    let list = |name: &str| -> Result<Vec<Param>, String> {
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
                let k = field(o, "key").map_err(|e| format!("{at}: {e}"))?;
                let value = match o.get("value") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                Ok(Param {
                    key: k,
                    value: Secret(value),
                    is_value_secret: o
                        .get("is_value_secret")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            })
            .collect()
    };
    Ok(HttpParameters {
        headers: list("header_parameters")?,
        query: list("query_string_parameters")?,
        body: list("body_parameters")?,
    })
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
            ["Outseta K1:S3CRET", "K1", "S3CRET", "v"]
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
