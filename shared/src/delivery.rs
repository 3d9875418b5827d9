//! Delivers a case to the ticket API: authentication from the connection,
//! retries with backoff inside the Lambda deadline, and one credential
//! refresh when the API says the credentials are wrong.
//!
//! Rules, in the order they apply to each response:
//! - 2xx with a case `Uid`: done.
//! - 401/407 (OAuth): fetch a new token once and retry, as EventBridge does;
//!   401/403/407 otherwise: re-read the secret once (it may have rotated).
//!   A second refusal is `AuthError`.
//! - 429, 500, 502, 503, 504, connect errors and timeouts: retry with
//!   exponential backoff and full jitter, waiting at least `Retry-After`,
//!   as long as the deadline allows. Then `TicketDeliveryFailed`.
//! - Any other 4xx: `TicketRejected` with the API's own message.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::config::{Config, endpoint_url};
use crate::connection::{Auth, Connection, HttpParameters, OAuthClient, Secret, TokenMethod};
use crate::error::NotifierError;
use crate::redact::Redactor;
use crate::secrets::{SecretCache, SecretSource};
use crate::ticket::CaseBody;

/// Below this much time left, another attempt cannot finish: stop.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// API messages quoted in errors are cut to this many characters.
const MESSAGE_MAX: usize = 500;

/// What one delivery did, for the invocation's log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub api_calls: u32,
    pub token_fetches: u32,
    pub secret_refreshes: u32,
}

/// The HTTP side of the notifier; built once per container.
pub struct TicketClient {
    http: reqwest::Client,
    url: Url,
    send_auto_responder: bool,
    max_attempts: u32,
    attempt_timeout: Duration,
    tokens: TokenCache,
}

impl TicketClient {
    pub fn new(config: &Config) -> Result<Self, NotifierError> {
        let http = reqwest::Client::builder()
            // A redirected POST silently becomes a GET: better to fail loudly.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "step-functions-ticket-bridge/",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(config.attempt_timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|_| {
                NotifierError::TicketDeliveryFailed("could not build the HTTP client".to_owned())
            })?;
        Ok(TicketClient {
            http,
            url: config.ticket_api_url.clone(),
            send_auto_responder: config.send_auto_responder,
            max_attempts: config.max_attempts,
            attempt_timeout: config.attempt_timeout,
            tokens: TokenCache::default(),
        })
    }

    /// Access tokens fetched since this client was built (for benchmarks).
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches.load(Ordering::Relaxed)
    }

    /// POSTs the case until it is accepted, refused, or time runs out.
    /// Returns the created case's `Uid`.
    pub async fn deliver<S: SecretSource>(
        &self,
        case: &CaseBody,
        secrets: &SecretCache<S>,
        mut conn: std::sync::Arc<Connection>,
        deadline: Instant,
        redactor: &Redactor,
        stats: &mut Attempts,
    ) -> Result<String, NotifierError> {
        let mut refreshed = false;
        let mut last_problem = String::from("no attempt was made");
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT {
                return Err(NotifierError::TicketDeliveryFailed(format!(
                    "time budget used up after {} attempt(s); last problem: {last_problem}",
                    stats.api_calls
                )));
            }
            let auth = self.auth_header(&conn, deadline, stats).await?;
            let redactor = match &auth {
                Some((_, v)) => redactor.with_known_secrets([v.expose()]),
                None => redactor.clone(),
            };
            stats.api_calls += 1;
            let request = self.request(case, &conn, auth)?;
            let outcome = self
                .http
                .execute(
                    request
                        .timeout(self.attempt_timeout.min(remaining))
                        .build()
                        .map_err(build_error)?,
                )
                .await;
            let retry_after = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    match classify(status) {
                        Class::Success => return read_case_uid(resp, &redactor).await,
                        Class::Auth if !refreshed => {
                            refreshed = true;
                            let oauth = matches!(conn.auth, Auth::OAuthClientCredentials(_));
                            self.tokens.invalidate();
                            if !oauth || status == StatusCode::FORBIDDEN {
                                stats.secret_refreshes += 1;
                                conn = secrets
                                    .refresh()
                                    .await
                                    .map_err(|e| NotifierError::ConnectionSecret(e.to_string()))?;
                            }
                            last_problem = format!("HTTP {}", status.as_u16());
                            continue;
                        }
                        Class::Auth => {
                            // Refused twice: no token of this client is worth keeping.
                            self.tokens.invalidate();
                            return Err(NotifierError::Auth(format!(
                                "ticket API {} refused the credentials with HTTP {} even after refreshing them",
                                display_endpoint(&self.url),
                                status.as_u16()
                            )));
                        }
                        Class::Retry => {
                            last_problem = format!("HTTP {}", status.as_u16());
                            retry_after
                        }
                        Class::Reject => {
                            let body = resp.text().await.unwrap_or_default();
                            return Err(NotifierError::TicketRejected(format!(
                                "ticket API rejected the case (HTTP {}): {}",
                                status.as_u16(),
                                api_message(&body, &redactor)
                            )));
                        }
                        Class::Unexpected => {
                            return Err(NotifierError::TicketDeliveryFailed(format!(
                                "ticket API answered HTTP {}, which is neither success nor retryable",
                                status.as_u16()
                            )));
                        }
                    }
                }
                Err(e) => {
                    last_problem = transport_problem(&e);
                    None
                }
            };
            if stats.api_calls >= self.max_attempts {
                return Err(NotifierError::TicketDeliveryFailed(format!(
                    "gave up after {} attempts; last problem: {last_problem}",
                    stats.api_calls
                )));
            }
            let wait = backoff(stats.api_calls).max(retry_after.unwrap_or_default());
            if Instant::now() + wait + MIN_ATTEMPT > deadline {
                return Err(NotifierError::TicketDeliveryFailed(format!(
                    "{last_problem} after {} attempt(s), and the next retry (in {} ms) would not fit the time left",
                    stats.api_calls,
                    wait.as_millis()
                )));
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn auth_header(
        &self,
        conn: &Connection,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<Option<(String, Secret)>, NotifierError> {
        Ok(Some(match &conn.auth {
            Auth::ApiKey { name, value } => (name.clone(), value.clone()),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                (
                    "Authorization".to_owned(),
                    Secret::new(format!("Basic {}", BASE64.encode(raw))),
                )
            }
            Auth::OAuthClientCredentials(client) => {
                let timeout = self
                    .attempt_timeout
                    .min(deadline.saturating_duration_since(Instant::now()));
                let token = self
                    .tokens
                    .bearer(&self.http, client, timeout, stats)
                    .await?;
                (
                    "Authorization".to_owned(),
                    Secret::new(format!("Bearer {}", token.expose())),
                )
            }
        }))
    }

    fn request(
        &self,
        case: &CaseBody,
        conn: &Connection,
        auth: Option<(String, Secret)>,
    ) -> Result<reqwest::RequestBuilder, NotifierError> {
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair(
            "sendAutoResponder",
            if self.send_auto_responder {
                "true"
            } else {
                "false"
            },
        );
        let mut body = serde_json::to_value(case).map_err(|_| {
            NotifierError::TicketDeliveryFailed("could not serialise the case".to_owned())
        })?;
        apply_body_params(&mut body, &conn.invocation);
        let mut headers = headers(&conn.invocation)?;
        if let Some((name, value)) = auth {
            insert_header(&mut headers, &name, value.expose())?;
        }
        Ok(self
            .http
            .post(url)
            .query(&pairs(&conn.invocation.query))
            .headers(headers)
            .json(&body))
    }
}

enum Class {
    Success,
    Auth,
    Retry,
    Reject,
    Unexpected,
}

fn classify(status: StatusCode) -> Class {
    match status.as_u16() {
        200..=299 => Class::Success,
        401 | 403 | 407 => Class::Auth,
        429 | 500 | 502 | 503 | 504 => Class::Retry,
        400..=499 => Class::Reject,
        _ => Class::Unexpected,
    }
}

/// Full jitter: a random wait up to the exponential ceiling, so a burst of
/// failed notifiers does not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    let ms = rand::rng().random_range(0..=ceiling.as_millis() as u64);
    Duration::from_millis(ms)
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

async fn read_case_uid(
    resp: reqwest::Response,
    redactor: &Redactor,
) -> Result<String, NotifierError> {
    let status = resp.status().as_u16();
    // The case may exist now; retrying could file it twice, so these are final.
    let body = resp.text().await.map_err(|e| {
        NotifierError::TicketDeliveryFailed(format!(
            "ticket API answered HTTP {status} but the response could not be read ({}); the case may exist",
            transport_problem(&e)
        ))
    })?;
    let value: Value = serde_json::from_str(&body).map_err(|_| {
        NotifierError::TicketDeliveryFailed(format!(
            "ticket API answered HTTP {status} with a body that is not JSON: {}; the case may exist",
            api_message(&body, redactor)
        ))
    })?;
    match value
        .get("Uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        Some(uid) => Ok(uid.to_owned()),
        None => Err(NotifierError::TicketDeliveryFailed(format!(
            "ticket API answered HTTP {status} without a case Uid; the case may exist"
        ))),
    }
}

/// The API's own explanation: Outseta's `ErrorMessage` plus each validation
/// error, or a generic message field, or the start of the body.
fn api_message(body: &str, redactor: &Redactor) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let mut parts: Vec<String> = Vec::new();
            for key in [
                "ErrorMessage",
                "Message",
                "message",
                "error_description",
                "error",
            ] {
                if let Some(m) = v.get(key).and_then(Value::as_str) {
                    parts.push(m.to_owned());
                    break;
                }
            }
            let details = v
                .get("EntityValidationErrors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("ValidationErrors").and_then(Value::as_array))
                .flatten()
                .filter_map(|e| e.get("ErrorMessage").and_then(Value::as_str));
            parts.extend(details.map(str::to_owned));
            if parts.is_empty() {
                body.to_owned()
            } else {
                parts.join("; ")
            }
        }
        Err(_) => body.trim().to_owned(),
    };
    let text = if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text
    };
    let mut out: String = redactor.text(&text).chars().take(MESSAGE_MAX).collect();
    if text.chars().count() > MESSAGE_MAX {
        out.push('…');
    }
    out
}

/// Transport errors without the URL: it may carry secret query parameters.
fn transport_problem(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection broke while reading the response"
    } else if e.is_request() {
        "request failed (connection reset?)"
    } else {
        "HTTP error"
    };
    kind.to_owned()
}

fn build_error(_: reqwest::Error) -> NotifierError {
    NotifierError::TicketDeliveryFailed("could not build the ticket request".to_owned())
}

/// Scheme, host and path: enough to identify an endpoint, never its query.
fn display_endpoint(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or("?"),
        url.path()
    )
}

fn pairs(params: &[crate::connection::Param]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|p| (p.key.as_str(), p.value.expose()))
        .collect()
}

fn headers(params: &HttpParameters) -> Result<HeaderMap, NotifierError> {
    let mut map = HeaderMap::new();
    for p in &params.headers {
        insert_header(&mut map, &p.key, p.value.expose())?;
    }
    Ok(map)
}

fn insert_header(map: &mut HeaderMap, name: &str, value: &str) -> Result<(), NotifierError> {
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        NotifierError::ConnectionSecret(format!(
            "header name `{name}` in the connection is not valid"
        ))
    })?;
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        NotifierError::ConnectionSecret(format!(
            "the value of header `{name}` in the connection is not valid"
        ))
    })?;
    v.set_sensitive(true);
    map.insert(n, v);
    Ok(())
}

/// EventBridge merges `body_parameters` into a JSON body as extra keys.
fn apply_body_params(body: &mut Value, params: &HttpParameters) {
    if let Some(obj) = body.as_object_mut() {
        for p in &params.body {
            obj.entry(p.key.clone())
                .or_insert_with(|| Value::String(p.value.expose().to_owned()));
        }
    }
}

/// The OAuth access token of a warm container, reused until shortly before
/// it expires so most invocations make no token call at all.
#[derive(Default)]
struct TokenCache {
    entry: Mutex<Option<CachedToken>>,
    fetches: AtomicU64,
}

/// Keyed by everything that obtained it: a connection whose endpoint or
/// client credentials changed must not keep using the old client's token.
struct CachedToken {
    endpoint: String,
    client_id: String,
    client_secret: Secret,
    token: Secret,
    refresh_at: Instant,
}

impl TokenCache {
    fn invalidate(&self) {
        if let Ok(mut e) = self.entry.lock() {
            *e = None;
        }
    }

    async fn bearer(
        &self,
        http: &reqwest::Client,
        client: &OAuthClient,
        timeout: Duration,
        stats: &mut Attempts,
    ) -> Result<Secret, NotifierError> {
        if let Ok(guard) = self.entry.lock()
            && let Some(c) = guard.as_ref()
        {
            let same = c.endpoint == client.authorization_endpoint
                && c.client_id == client.client_id
                && c.client_secret == client.client_secret;
            if same && Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        stats.token_fetches += 1;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (token, lifetime) = fetch_token(http, client, timeout).await?;
        // Refresh a little early: a token that expires in flight costs a 401.
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        if let Ok(mut guard) = self.entry.lock() {
            *guard = Some(CachedToken {
                endpoint: client.authorization_endpoint.clone(),
                client_id: client.client_id.clone(),
                client_secret: client.client_secret.clone(),
                token: token.clone(),
                refresh_at: Instant::now() + lifetime.saturating_sub(margin),
            });
        }
        Ok(token)
    }
}

/// The client-credentials grant as EventBridge performs it: client id and
/// secret as HTTP Basic, `grant_type=client_credentials`, plus the
/// connection's `oauth_http_parameters`.
async fn fetch_token(
    http: &reqwest::Client,
    client: &OAuthClient,
    timeout: Duration,
) -> Result<(Secret, Duration), NotifierError> {
    let url = endpoint_url(&client.authorization_endpoint).map_err(|e| {
        NotifierError::ConnectionSecret(format!(
            "the connection's authorization_endpoint is unusable: {e}"
        ))
    })?;
    let shown = display_endpoint(&url);
    let fail = |what: String| NotifierError::Auth(format!("token endpoint {shown} {what}"));
    let extra = &client.oauth_http_parameters;
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    form.extend(pairs(&extra.body));
    let method = match client.http_method {
        TokenMethod::Get => Method::GET,
        TokenMethod::Post => Method::POST,
        TokenMethod::Put => Method::PUT,
    };
    let mut req = http
        .request(method.clone(), url)
        .timeout(timeout)
        .headers(headers(extra)?)
        .basic_auth(&client.client_id, Some(client.client_secret.expose()))
        .query(&pairs(&extra.query));
    req = if method == Method::GET {
        req.query(&form)
    } else {
        req.form(&form)
    };
    let resp = req
        .send()
        .await
        .map_err(|e| fail(format!("unreachable: {}", transport_problem(&e))))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| fail(format!("response unreadable: {}", transport_problem(&e))))?;
    let json: Option<Value> = serde_json::from_str(&body).ok();
    if !status.is_success() {
        let oauth_error = json
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str);
        let what = match (status.as_u16(), oauth_error) {
            (400 | 401, Some("invalid_client")) | (401, _) => "rejected the client credentials",
            (400, _) => "refused the token request",
            (500..=599, _) => "failed",
            _ => "refused the token request",
        };
        let code = oauth_error
            .map(|e| format!(": {}", e.chars().take(100).collect::<String>()))
            .unwrap_or_default();
        return Err(fail(format!("{what} (HTTP {}{code})", status.as_u16())));
    }
    let json = json.ok_or_else(|| {
        fail(format!(
            "answered HTTP {} with a body that is not JSON",
            status.as_u16()
        ))
    })?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("answered without an access_token".to_owned()))?;
    let expires_in = match json.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    // No expiry given: assume a short life rather than caching forever.
    .unwrap_or(300);
    Ok((Secret::new(token), Duration::from_secs(expires_in)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_exponential_ceiling() {
        for attempt in 1..10 {
            let ceiling = BASE_BACKOFF.saturating_mul(1 << attempt).min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(28) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn outseta_validation_errors_become_one_message() {
        let body = r#"{"ErrorMessage":"Validation failed","EntityValidationErrors":[{"Entity":null,"TypeName":"Case",
            "ValidationErrors":[{"ErrorCode":"required","ErrorMessage":"Subject is required","PropertyName":"Subject"},
                                {"ErrorCode":"range","ErrorMessage":"Source must be 1..5","PropertyName":"Source"}]}]}"#;
        assert_eq!(
            api_message(body, &Redactor::default()),
            "Validation failed; Subject is required; Source must be 1..5"
        );
        assert_eq!(api_message("", &Redactor::default()), "(empty body)");
        let long = "x".repeat(2000);
        assert_eq!(
            api_message(&long, &Redactor::default()).chars().count(),
            MESSAGE_MAX + 1
        );
    }

    #[test]
    fn body_parameters_are_merged_without_overwriting_the_case() {
        let mut body = serde_json::json!({"Subject": "s"});
        let params = HttpParameters {
            body: vec![
                crate::connection::Param {
                    key: "Tag".into(),
                    value: Secret::new("x"),
                    is_value_secret: false,
                },
                crate::connection::Param {
                    key: "Subject".into(),
                    value: Secret::new("evil"),
                    is_value_secret: false,
                },
            ],
            ..Default::default()
        };
        apply_body_params(&mut body, &params);
        assert_eq!(body, serde_json::json!({"Subject": "s", "Tag": "x"}));
    }
}
