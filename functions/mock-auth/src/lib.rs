//! Mock OAuth 2.0 token endpoint (client-credentials grant) behind a Lambda Function URL.
//!
//! It exists so the notifier's OAuth refresh can be proven without a real SaaS: it
//! checks client credentials for real and issues self-validating tokens (see
//! `mock-kit`) that mock-api accepts, so refresh works across instances with no
//! shared memory.
//!
//! Routes: `POST /token` (also `GET` when `ALLOW_GET=true`), `GET /health`.

mod config;
mod params;

pub use config::{Config, ConfigError};

use std::future::Future;

use lambda_http::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use mock_kit::{Clock, MockFunction, constant_time_eq, json_response, normalise_path, set_header};
use params::{ParamError, TokenParams, form_decoded};
use serde_json::{Value, json};

/// What every request needs, built once at cold start.
pub struct State {
    config: Config,
    clock: Clock,
}

impl State {
    pub fn new(config: Config, clock: Clock) -> Self {
        State { config, clock }
    }
}

impl MockFunction for State {
    const NAME: &'static str = "mock-auth";
    type ConfigError = ConfigError;

    fn from_env(clock: Clock) -> Result<Self, ConfigError> {
        Ok(State::new(Config::from_env()?, clock))
    }

    fn answer(&self, req: Request) -> impl Future<Output = Response<Body>> + Send {
        std::future::ready(handle(self, &req))
    }
}

/// How a request ended, for the one log line each request gets. Deliberately
/// holds no credential and no token, only the token's short id.
struct Outcome {
    label: &'static str,
    token_id: Option<String>,
}

impl Outcome {
    fn of(label: &'static str) -> Self {
        Outcome {
            label,
            token_id: None,
        }
    }
}

/// Answers one request and logs it (method, path without query string, status,
/// outcome, short token id). The query string is never logged: clients may put
/// `client_secret` there.
pub fn handle(state: &State, req: &Request) -> Response<Body> {
    let (response, outcome) = route(state, req);
    tracing::info!(
        method = %req.method(),
        path = req.uri().path(),
        status = response.status().as_u16(),
        outcome = outcome.label,
        token_id = outcome.token_id.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

fn route(state: &State, req: &Request) -> (Response<Body>, Outcome) {
    let path = normalise_path(req.uri().path());
    match path {
        "/token" => {
            let allowed: &[Method] = if state.config.allow_get {
                &[Method::POST, Method::GET]
            } else {
                &[Method::POST]
            };
            if allowed.contains(req.method()) {
                token(state, req)
            } else {
                method_not_allowed(allowed)
            }
        }
        "/health" if req.method() == Method::GET => (
            json_response(StatusCode::OK, &json!({ "status": "ok" })),
            Outcome::of("health"),
        ),
        "/health" => method_not_allowed(&[Method::GET]),
        _ => (
            json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": "not_found", "path": req.uri().path() }),
            ),
            Outcome::of("not_found"),
        ),
    }
}

fn token(state: &State, req: &Request) -> (Response<Body>, Outcome) {
    let params = match TokenParams::from_request(req) {
        Ok(params) => params,
        Err(ParamError::MalformedBasic) => return invalid_client("malformed_basic"),
        Err(err) => return invalid_request(&err.to_string()),
    };
    match params.grant_type.as_deref() {
        None => return invalid_request("missing grant_type"),
        Some("client_credentials") => {}
        Some(_) => {
            return (
                oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None),
                Outcome::of("unsupported_grant_type"),
            );
        }
    }
    let Some(client_id) = params.client_id.as_deref() else {
        return invalid_request("missing client_id");
    };
    let Some(client_secret) = params.client_secret.as_deref() else {
        return invalid_request("missing client_secret");
    };
    if !credentials_match(&state.config, client_id, client_secret, params.via_basic) {
        return invalid_client("invalid_client");
    }

    let ttl = state.config.token_ttl_secs;
    let issued = mock_kit::issue(&state.config.signing_key, state.clock.now_secs(), ttl);
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": ttl,
        }),
    );
    // RFC 6749 5.1: token responses must not be cached.
    set_header(&mut response, CACHE_CONTROL, "no-store");
    set_header(&mut response, PRAGMA, "no-cache");
    let outcome = Outcome {
        label: "issued",
        token_id: Some(issued.claims.short_id().to_owned()),
    };
    (response, outcome)
}

/// Both halves are always compared (non-short-circuit `&`) so timing does not tell a
/// wrong id from a wrong secret.
fn credentials_match(config: &Config, id: &str, secret: &str, via_basic: bool) -> bool {
    let matches = |id: &str, secret: &str| {
        constant_time_eq(id.as_bytes(), config.client_id.as_bytes())
            & constant_time_eq(secret.as_bytes(), config.client_secret.as_bytes())
    };
    if matches(id, secret) {
        return true;
    }
    if !via_basic {
        return false;
    }
    let decoded_id = form_decoded(id);
    let decoded_secret = form_decoded(secret);
    if decoded_id.is_none() && decoded_secret.is_none() {
        return false;
    }
    matches(
        decoded_id.as_deref().unwrap_or(id),
        decoded_secret.as_deref().unwrap_or(secret),
    )
}

fn invalid_request(description: &str) -> (Response<Body>, Outcome) {
    (
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some(description),
        ),
        Outcome::of("invalid_request"),
    )
}

/// 401 with a Basic challenge, as RFC 6749 5.2 asks of failed client authentication.
fn invalid_client(label: &'static str) -> (Response<Body>, Outcome) {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", None);
    set_header(
        &mut response,
        WWW_AUTHENTICATE,
        r#"Basic realm="mock-auth""#,
    );
    (response, Outcome::of(label))
}

fn method_not_allowed(allowed: &[Method]) -> (Response<Body>, Outcome) {
    let response = mock_kit::method_not_allowed(
        allowed,
        |allow| json!({ "error": "method_not_allowed", "error_description": format!("use {allow}") }),
    );
    (response, Outcome::of("method_not_allowed"))
}

fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> Response<Body> {
    let mut body = json!({ "error": error });
    if let Some(description) = description {
        body["error_description"] = Value::from(description);
    }
    json_response(status, &body)
}

#[cfg(test)]
mod tests;
