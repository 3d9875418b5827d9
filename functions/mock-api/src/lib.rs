//! Mock Outseta-compatible support-cases API behind a Lambda Function URL.
//!
//! It is the far end of the notifier in tests: it validates cases the way Outseta
//! does, checks credentials in every mode the notifier supports (mock-auth bearer
//! tokens, Outseta key/secret, Basic), and fails on demand through request headers
//! (see the `controls` module and README.md) so retry, back-off and token
//! refresh can be watched working.
//!
//! Order of checks: route (404/405, `/health` needs no auth) → `X-Mock-Delay-Ms` →
//! `X-Mock-Status` → auth → rate limit (`RATE_LIMIT_PER_SECOND`, per credential) →
//! the endpoint. Faults come before auth so a test can inject them without valid
//! credentials; the limit comes after, as it counts per credential.
//!
//! Endpoints: create, list (paging, filters, `fields`), read and update (`PUT`, a
//! partial update of status, assignee and tags) cases; reply to a case; list the
//! tags a case can carry (`GET /api/v1/attribute/tags`, from `MOCK_CASE_TAGS`).
//!
//! Cases and rate-limit counts live in this instance's memory (see `cases::Store`,
//! `ratelimit`); everything else is stateless. `POST /mock/cases/{Uid}/close` is a test control outside Outseta's API,
//! so a test can close a case the way a support agent would.

mod auth;
mod cases;
mod config;
mod controls;
mod query;
mod ratelimit;
mod tags;
mod update;
mod validation;

pub use config::{Config, ConfigError};

use std::future::Future;

use lambda_http::http::header::{HeaderValue, PROXY_AUTHENTICATE, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use mock_kit::{Clock, MockFunction, json_response, normalise_path};
use serde_json::{Value, json};

use auth::Denied;
use cases::Store;
use controls::Controls;
use query::{CaseQuery, ListQuery};
use ratelimit::RateLimiter;
use tags::{Catalog, TagsQuery};
use validation::{Entity, ValidationError};

const CASES_PATH: &str = "/api/v1/support/cases";
const REPLIES_SUFFIX: &str = "/replies";
const CLOSE_PREFIX: &str = "/mock/cases";
const CLOSE_SUFFIX: &str = "/close";
const ECHO_PATH: &str = "/api/v1/data";
const TAGS_PATH: &str = "/api/v1/attribute/tags";

/// What every request needs, built once at cold start.
pub struct State {
    config: Config,
    clock: Clock,
    cases: Store,
    /// The tags a case can carry, from `MOCK_CASE_TAGS`, created at cold start.
    tags: Catalog,
    /// `RATE_LIMIT_PER_SECOND`, when set.
    limiter: Option<RateLimiter>,
}

impl State {
    pub fn new(config: Config, clock: Clock) -> Self {
        let tags = Catalog::new(&config.case_tags, &cases::rfc3339(clock.now_secs()));
        let limiter = config.rate_limit_per_second.map(RateLimiter::new);
        State {
            config,
            clock,
            cases: Store::default(),
            tags,
            limiter,
        }
    }
}

impl MockFunction for State {
    const NAME: &'static str = "mock-api";
    type ConfigError = ConfigError;

    fn from_env(clock: Clock) -> Result<Self, ConfigError> {
        Ok(State::new(Config::from_env()?, clock))
    }

    fn answer(&self, req: Request) -> impl Future<Output = Response<Body>> + Send {
        handle(self, req)
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
    UpdateCase(String),
    Reply(String),
    Close(String),
    ListTags,
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

    // Each auth mode admits exactly one credential (one API key, one Basic user,
    // mock-auth's one OAuth client), so the mode names the credential whose budget
    // this request spends.
    if let Some(limiter) = &state.limiter
        && !limiter.admit(authorised.scheme, state.clock.now_secs())
    {
        let outcome = Outcome {
            label: "rate_limited",
            reason: None,
            scheme: Some(authorised.scheme),
            token_id: authorised.token_id,
        };
        return (rate_limited(limiter.per_second()), outcome);
    }

    let (response, label) = match endpoint {
        Endpoint::CreateCase => create_case(state, req),
        Endpoint::ListCases => list_cases(state, req),
        Endpoint::ReadCase(uid) => read_case(state, req, &uid),
        Endpoint::UpdateCase(uid) => update_case(state, req, &uid),
        Endpoint::Reply(uid) => {
            match state.cases.reply(&uid, req.body(), state.clock.now_secs()) {
                // Outseta answers a reply with 200 and nothing in the body.
                Some(Ok(())) => (Response::new(Body::Empty), "replied"),
                Some(Err(errors)) => (
                    validation_failed(Entity::CaseHistory, &errors),
                    "validation_failed",
                ),
                None => case_not_found(&uid),
            }
        }
        Endpoint::Close(uid) => match state.cases.close(&uid, state.clock.now_secs()) {
            Some(case) => (json_response(StatusCode::OK, &case.view(false)), "closed"),
            None => case_not_found(&uid),
        },
        Endpoint::ListTags => match TagsQuery::parse(req.uri().query()) {
            Ok(query) => (
                json_response(StatusCode::OK, &state.tags.page(&query)),
                "tags_listed",
            ),
            Err(problem) => (message(StatusCode::BAD_REQUEST, &problem), "bad_query"),
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
    const GET_PUT: &[Method] = &[Method::GET, Method::PUT];
    match (path, method) {
        ("/health", &Method::GET) => Ok(Route::Health),
        ("/health", _) => Err(Some(GET)),
        (CASES_PATH, &Method::POST) => Ok(Route::Protected(Endpoint::CreateCase)),
        (CASES_PATH, &Method::GET) => Ok(Route::Protected(Endpoint::ListCases)),
        (CASES_PATH, _) => Err(Some(GET_POST)),
        (ECHO_PATH, &Method::POST) => Ok(Route::Protected(Endpoint::Echo)),
        (ECHO_PATH, _) => Err(Some(POST)),
        (TAGS_PATH, &Method::GET) => Ok(Route::Protected(Endpoint::ListTags)),
        (TAGS_PATH, _) => Err(Some(GET)),
        _ => {
            if let Some(uid) = uid_between(path, CASES_PATH, "") {
                return match *method {
                    Method::GET => Ok(Route::Protected(Endpoint::ReadCase(uid))),
                    Method::PUT => Ok(Route::Protected(Endpoint::UpdateCase(uid))),
                    _ => Err(Some(GET_PUT)),
                };
            }
            let (endpoint, allowed) =
                if let Some(uid) = uid_between(path, CASES_PATH, REPLIES_SUFFIX) {
                    (Endpoint::Reply(uid), POST)
                } else if let Some(uid) = uid_between(path, CLOSE_PREFIX, CLOSE_SUFFIX) {
                    (Endpoint::Close(uid), POST)
                } else {
                    return Err(None);
                };
            if allowed.contains(method) {
                Ok(Route::Protected(endpoint))
            } else {
                Err(Some(allowed))
            }
        }
    }
}

/// The `{Uid}` of `{prefix}/{Uid}{suffix}`: one path segment, which may be empty
/// (an unknown case, so a 404 that names it rather than a routing miss).
fn uid_between(path: &str, prefix: &str, suffix: &str) -> Option<String> {
    path.strip_prefix(prefix)?
        .strip_prefix('/')?
        .strip_suffix(suffix)
        .filter(|uid| !uid.contains('/'))
        .map(str::to_owned)
}

fn case_not_found(uid: &str) -> (Response<Body>, &'static str) {
    (
        json_response(
            StatusCode::NOT_FOUND,
            &json!({ "Message": "Case not found", "Uid": uid }),
        ),
        "case_not_found",
    )
}

fn list_cases(state: &State, req: &Request) -> (Response<Body>, &'static str) {
    match ListQuery::parse(req.uri().query()) {
        Ok(query) => {
            let cases: Vec<Value> = state
                .cases
                .page(&query)
                .iter()
                .map(|case| case.view(query.expand_tags))
                .collect();
            (
                json_response(StatusCode::OK, &Value::Array(cases)),
                "listed",
            )
        }
        Err(problem) => (message(StatusCode::BAD_REQUEST, &problem), "bad_query"),
    }
}

fn read_case(state: &State, req: &Request, uid: &str) -> (Response<Body>, &'static str) {
    let query = match CaseQuery::parse(req.uri().query()) {
        Ok(query) => query,
        Err(problem) => return (message(StatusCode::BAD_REQUEST, &problem), "bad_query"),
    };
    match state.cases.get(uid) {
        Some(case) => (
            json_response(StatusCode::OK, &case.view(query.expand_tags)),
            "read",
        ),
        None => case_not_found(uid),
    }
}

/// `PUT /api/v1/support/cases/{Uid}`: 200 with the case as it now is (deepened by
/// `fields` as a read is), 400 in Outseta's validation shape, or 404.
fn update_case(state: &State, req: &Request, uid: &str) -> (Response<Body>, &'static str) {
    let query = match CaseQuery::parse(req.uri().query()) {
        Ok(query) => query,
        Err(problem) => return (message(StatusCode::BAD_REQUEST, &problem), "bad_query"),
    };
    let now = state.clock.now_secs();
    match state.cases.apply_update(uid, req.body(), &state.tags, now) {
        Some(Ok(case)) => (
            json_response(StatusCode::OK, &case.view(query.expand_tags)),
            "updated",
        ),
        Some(Err(errors)) => (
            validation_failed(Entity::Case, &errors),
            "validation_failed",
        ),
        None => case_not_found(uid),
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
            let response = json_response(StatusCode::OK, &case.view(false));
            state.cases.insert(case);
            (response, "created")
        }
        (Ok(_), Some(query_error)) => (
            validation_failed(Entity::Case, &[query_error]),
            "validation_failed",
        ),
        (Err(mut errors), query_error) => {
            errors.extend(query_error);
            (
                validation_failed(Entity::Case, &errors),
                "validation_failed",
            )
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

fn validation_failed(entity: Entity, errors: &[ValidationError]) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &validation::validation_failed_body(entity, errors),
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

/// 429 as Outseta answers a client over its limit, with `Retry-After: 1`: the
/// window is one second, so waiting that long always clears it.
fn rate_limited(per_second: u32) -> Response<Body> {
    let text = format!("Rate limit exceeded: at most {per_second} requests per second");
    let mut response = message(StatusCode::TOO_MANY_REQUESTS, &text);
    mock_kit::set_header(&mut response, RETRY_AFTER, "1");
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
    let response =
        mock_kit::method_not_allowed(allowed, |_| json!({ "Message": "Method not allowed" }));
    (response, Outcome::of("method_not_allowed"))
}

/// Outseta's plain error shape.
fn message(status: StatusCode, text: &str) -> Response<Body> {
    json_response(status, &json!({ "Message": text }))
}

#[cfg(test)]
mod tests;
