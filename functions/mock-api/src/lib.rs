//! Mock Outseta-compatible support-cases API behind a Lambda Function URL.
//!
//! It is the far end of the notifier in tests: it validates cases the way Outseta
//! does, checks credentials in every mode the notifier supports (mock-auth bearer
//! tokens, Outseta key/secret, Basic), and fails on demand through request headers
//! (see the `controls` module and README.md) so retry, back-off and token
//! refresh can be watched working.
//!
//! Order of checks: route (404/405, `/health` needs no auth) → `X-Mock-Delay-Ms` →
//! `X-Mock-Status` → auth → the endpoint. Faults come before auth so a test can
//! inject them without valid credentials.

mod auth;
mod cases;
mod config;
mod controls;

pub use config::{Config, ConfigError};

use lambda_http::http::header::{
    ALLOW, CONTENT_TYPE, HeaderName, HeaderValue, PROXY_AUTHENTICATE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use mock_token::{Clock, normalise_path};
use serde_json::{Value, json};

use auth::Denied;
use cases::{Store, ValidationError};
use controls::Controls;

const CASES_PATH: &str = "/api/v1/support/cases";
const ECHO_PATH: &str = "/api/v1/data";

/// What every request needs, built once at cold start.
pub struct State {
    config: Config,
    clock: Clock,
    cases: Store,
}

impl State {
    pub fn new(config: Config, clock: Clock) -> Self {
        State {
            config,
            clock,
            cases: Store::default(),
        }
    }
}

enum Route {
    Health,
    Protected(Endpoint),
}

/// Routes behind faults and auth.
enum Endpoint {
    CreateCase,
    ListCases,
    ReadCase(String),
    Echo,
}

/// How a request ended, for its one log line. Never holds a credential or token.
#[derive(Default)]
struct Outcome {
    label: &'static str,
    reason: Option<&'static str>,
    scheme: Option<&'static str>,
    token_id: Option<String>,
}

impl Outcome {
    fn of(label: &'static str) -> Self {
        Outcome {
            label,
            ..Outcome::default()
        }
    }
}

/// Answers one request and logs one line for it (method, path without query,
/// status, outcome, auth scheme and denial reason, short token id).
pub async fn handle(state: &State, req: Request) -> Response<Body> {
    let (response, outcome) = respond(state, &req).await;
    tracing::info!(
        method = %req.method(),
        path = req.uri().path(),
        status = response.status().as_u16(),
        outcome = outcome.label,
        reason = outcome.reason.unwrap_or("-"),
        auth = outcome.scheme.unwrap_or("-"),
        token_id = outcome.token_id.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

async fn respond(state: &State, req: &Request) -> (Response<Body>, Outcome) {
    let endpoint = match resolve(req.method(), normalise_path(req.uri().path())) {
        Ok(Route::Health) => {
            return (
                json_response(StatusCode::OK, &json!({ "status": "ok" })),
                Outcome::of("health"),
            );
        }
        Ok(Route::Protected(endpoint)) => endpoint,
        Err(Some(allowed)) => return method_not_allowed(allowed),
        Err(None) => {
            return (
                json_response(
                    StatusCode::NOT_FOUND,
                    &json!({ "Message": "Not found", "Path": req.uri().path() }),
                ),
                Outcome::of("not_found"),
            );
        }
    };

    let controls = match Controls::from_headers(req.headers()) {
        Ok(controls) => controls,
        Err(err) => {
            return (
                message(StatusCode::BAD_REQUEST, &err.to_string()),
                Outcome::of("bad_control_header"),
            );
        }
    };
    if let Some(delay) = controls.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = controls.injected_status(rand::random_range(0..100)) {
        return (
            injected(status, controls.retry_after),
            Outcome::of("injected"),
        );
    }

    let revoke_before = state.config.revoke_before.max(controls.revoke_before);
    let authorised = match auth::authenticate(
        &state.config,
        req.headers(),
        state.clock.now_secs(),
        revoke_before,
    ) {
        Ok(authorised) => authorised,
        Err(denied) => return unauthorised(&state.config, denied),
    };

    let (response, label) = match endpoint {
        Endpoint::CreateCase => create_case(state, req),
        Endpoint::ListCases => (
            json_response(StatusCode::OK, &json!(state.cases.list())),
            "listed",
        ),
        Endpoint::ReadCase(uid) => match state.cases.get(&uid) {
            Some(case) => (json_response(StatusCode::OK, &json!(case)), "read"),
            None => (
                json_response(
                    StatusCode::NOT_FOUND,
                    &json!({ "Message": "Case not found", "Uid": uid }),
                ),
                "case_not_found",
            ),
        },
        Endpoint::Echo => echo(req),
    };
    let outcome = Outcome {
        label,
        reason: None,
        scheme: Some(authorised.scheme),
        token_id: authorised.token_id,
    };
    (response, outcome)
}

/// `Err(Some(allowed))` for a known path with the wrong method, `Err(None)` for an
/// unknown path.
fn resolve(method: &Method, path: &str) -> Result<Route, Option<&'static [Method]>> {
    const GET: &[Method] = &[Method::GET];
    const POST: &[Method] = &[Method::POST];
    const GET_POST: &[Method] = &[Method::GET, Method::POST];
    match (path, method) {
        ("/health", &Method::GET) => Ok(Route::Health),
        ("/health", _) => Err(Some(GET)),
        (CASES_PATH, &Method::POST) => Ok(Route::Protected(Endpoint::CreateCase)),
        (CASES_PATH, &Method::GET) => Ok(Route::Protected(Endpoint::ListCases)),
        (CASES_PATH, _) => Err(Some(GET_POST)),
        (ECHO_PATH, &Method::POST) => Ok(Route::Protected(Endpoint::Echo)),
        (ECHO_PATH, _) => Err(Some(POST)),
        _ => match path
            .strip_prefix(CASES_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(uid) if !uid.contains('/') => {
                if method == Method::GET {
                    Ok(Route::Protected(Endpoint::ReadCase(uid.to_owned())))
                } else {
                    Err(Some(GET))
                }
            }
            _ => Err(None),
        },
    }
}

fn create_case(state: &State, req: &Request) -> (Response<Body>, &'static str) {
    let send_auto_responder = req.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "sendAutoResponder")
            .map(|(_, value)| value.into_owned())
    });
    let query_error = cases::check_send_auto_responder(send_auto_responder.as_deref());
    match (
        cases::new_case(req.body(), state.clock.now_secs()),
        query_error,
    ) {
        (Ok(case), None) => {
            let response = json_response(StatusCode::OK, &json!(case));
            state.cases.insert(case);
            (response, "created")
        }
        (Ok(_), Some(query_error)) => (validation_failed(&[query_error]), "validation_failed"),
        (Err(mut errors), query_error) => {
            errors.extend(query_error);
            (validation_failed(&errors), "validation_failed")
        }
    }
}

fn echo(req: &Request) -> (Response<Body>, &'static str) {
    let body: &[u8] = req.body();
    let received = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(body)
    };
    match received {
        Ok(received) => (
            json_response(StatusCode::OK, &json!({ "received": received })),
            "echoed",
        ),
        Err(_) => (
            message(StatusCode::BAD_REQUEST, "Request body is not valid JSON"),
            "bad_json",
        ),
    }
}

fn validation_failed(errors: &[ValidationError]) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &cases::validation_failed_body(errors),
    )
}

fn injected(status: StatusCode, retry_after: Option<HeaderValue>) -> Response<Body> {
    let text = format!(
        "Injected {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let mut response = message(status, text.trim_end());
    if let Some(retry_after) = retry_after {
        response.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    response
}

/// 401, or 407 in proxy mode (both make EventBridge-style clients refresh OAuth
/// tokens), with a challenge per enabled scheme. The challenges share one
/// comma-separated header (RFC 9110 allows it) because a Function URL response
/// carries a single value per header name and would drop the others.
fn unauthorised(config: &Config, denied: Denied) -> (Response<Body>, Outcome) {
    let (status, challenge_header) = if config.require_proxy_auth {
        (
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            PROXY_AUTHENTICATE,
        )
    } else {
        (StatusCode::UNAUTHORIZED, WWW_AUTHENTICATE)
    };
    let mut response = message(status, "Unauthorized");
    let challenges: Vec<&str> = [
        (config.signing_key.is_some(), r#"Bearer realm="mock-api""#),
        (config.outseta.is_some(), r#"Outseta realm="mock-api""#),
        (config.basic.is_some(), r#"Basic realm="mock-api""#),
    ]
    .into_iter()
    .filter_map(|(enabled, challenge)| enabled.then_some(challenge))
    .collect();
    if let Ok(value) = HeaderValue::from_str(&challenges.join(", ")) {
        response.headers_mut().insert(challenge_header, value);
    }
    let outcome = Outcome {
        label: "unauthorized",
        reason: Some(denied.reason),
        ..Outcome::default()
    };
    (response, outcome)
}

fn method_not_allowed(allowed: &[Method]) -> (Response<Body>, Outcome) {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = message(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    (response, Outcome::of("method_not_allowed"))
}

/// Outseta's plain error shape.
fn message(status: StatusCode, text: &str) -> Response<Body> {
    json_response(status, &json!({ "Message": text }))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    set_header(&mut response, CONTENT_TYPE, "application/json");
    response
}

fn set_header(response: &mut Response<Body>, name: HeaderName, value: &'static str) {
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

#[cfg(test)]
mod tests;
