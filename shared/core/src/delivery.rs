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
//! - Any other 4xx: `TicketRejected` with the API's own message, except a
//!   404 to a reply or a case read: the case is gone, which the incident
//!   logic answers with a new case.
//!
//! The same rules serve the three calls an incident makes: creating a case,
//! replying to one, and reading one's `Status`.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use crate::connection::{Auth, Connection, HttpParameters, Secret};
use crate::error::{ConfigError, NotifierError};
use crate::http::{display_endpoint, headers, insert_header, pairs, transport_problem};
use crate::oauth::TokenCache;
use crate::redact::{Gate, Redactor};
use crate::secrets::{SecretCache, SecretSource};
use crate::ticket::{CaseBody, ReplyBody};
use crate::transport::{self, Roots};

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

/// The header `authorize` made current, handed to `deliver` for its first
/// attempt.
pub struct Authorization(Option<(String, Secret)>);

/// How delivery behaves; `config` builds it from the environment.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The cases endpoint, `POST`ed with `?sendAutoResponder=`.
    pub url: Url,
    pub send_auto_responder: bool,
    pub max_attempts: u32,
    pub attempt_timeout: Duration,
    /// The certificate authorities the process trusts (`TLS_ROOTS`).
    pub roots: Roots,
}

impl DeliverySettings {
    /// The process's one HTTP client for these settings (the AWS SDK's
    /// clients run on it too: `transport::sdk_http_client`).
    ///
    /// A client that cannot be built is a deployment fault, not a delivery
    /// one: with `TLS_ROOTS=system` on an image without a certificate store
    /// no retry can help, so it is a `ConfigError` naming the variable.
    pub fn http_client(&self) -> Result<reqwest::Client, NotifierError> {
        transport::http_client(self.roots, self.attempt_timeout.min(Duration::from_secs(5)))
            .map_err(|reason| ConfigError::new("TLS_ROOTS", reason).into())
    }
}

/// The HTTP side of the notifier; built once per container.
pub struct TicketClient {
    http: reqwest::Client,
    url: Url,
    send_auto_responder: bool,
    max_attempts: u32,
    attempt_timeout: Duration,
    tokens: TokenCache,
    /// Learns each credential this client sends (tokens, Basic values).
    gate: Gate,
}

impl TicketClient {
    pub fn new(config: &DeliverySettings, gate: Gate) -> Result<Self, NotifierError> {
        Ok(Self::with_http(config, gate, config.http_client()?))
    }

    /// On a client built elsewhere from `config.http_client()`, shared with
    /// the AWS SDK.
    pub fn with_http(config: &DeliverySettings, gate: Gate, http: reqwest::Client) -> Self {
        TicketClient {
            http,
            url: config.url.clone(),
            send_auto_responder: config.send_auto_responder,
            max_attempts: config.max_attempts,
            attempt_timeout: config.attempt_timeout,
            tokens: TokenCache::default(),
            gate,
        }
    }

    /// Access tokens fetched since this client was built (for benchmarks).
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// POSTs the case until it is accepted, refused, or time runs out.
    /// Returns the created case's `Uid`.
    pub async fn deliver<S: SecretSource>(
        &self,
        case: &CaseBody,
        secrets: &SecretCache<S>,
        conn: std::sync::Arc<Connection>,
        authorization: Authorization,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<String, NotifierError> {
        match self
            .exchange(
                Call::Create(case),
                secrets,
                conn,
                authorization,
                deadline,
                stats,
            )
            .await?
        {
            Answer::Created(uid) => Ok(uid),
            _ => Err(NotifierError::TicketDeliveryFailed(
                "ticket API answered the case with something else than a case".to_owned(),
            )),
        }
    }

    /// POSTs an agent reply to its case (Outseta answers 200 with an empty
    /// body), retried like a case. `Ok(false)`: the case is gone (404).
    pub async fn reply<S: SecretSource>(
        &self,
        reply: &ReplyBody,
        secrets: &SecretCache<S>,
        conn: std::sync::Arc<Connection>,
        authorization: Authorization,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<bool, NotifierError> {
        let call = Call::Reply {
            case_uid: &reply.case.uid,
            reply,
        };
        match self
            .exchange(call, secrets, conn, authorization, deadline, stats)
            .await?
        {
            Answer::Gone => Ok(false),
            _ => Ok(true),
        }
    }

    /// Reads case `case_uid`: open, closed (`Status` 2) or gone (404).
    pub async fn case_state<S: SecretSource>(
        &self,
        case_uid: &str,
        secrets: &SecretCache<S>,
        conn: std::sync::Arc<Connection>,
        authorization: Authorization,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<CaseState, NotifierError> {
        let call = Call::Read { case_uid };
        match self
            .exchange(call, secrets, conn, authorization, deadline, stats)
            .await?
        {
            Answer::Gone => Ok(CaseState::Gone),
            Answer::Read(state) => Ok(state),
            _ => Ok(CaseState::Open),
        }
    }

    /// One call to the API until it is answered, refused, or time runs out:
    /// the rules in the module documentation, for a case, a reply or a read.
    async fn exchange<S: SecretSource>(
        &self,
        call: Call<'_>,
        secrets: &SecretCache<S>,
        mut conn: std::sync::Arc<Connection>,
        authorization: Authorization,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<Answer, NotifierError> {
        let mut refreshed = false;
        let mut first = Some(authorization.0);
        let mut last_problem = String::from("no attempt was made");
        // `stats` counts every call of the invocation (a read, then a
        // reply); the attempt limit is per call.
        let before = stats.api_calls;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT {
                return Err(NotifierError::TicketDeliveryFailed(format!(
                    "time budget used up after {}; last problem: {last_problem}",
                    attempts(stats.api_calls - before)
                )));
            }
            // The first attempt uses what `authorize` got (a short-lived
            // token may already count as stale); later ones ask again.
            let auth = match first.take() {
                Some(header) => header,
                None => self.auth_header(&conn, deadline, stats).await?,
            };
            if let Some((_, v)) = &auth {
                // A refreshed token is new here.
                self.learn_credential(v);
            }
            let redactor = self.gate.redactor();
            stats.api_calls += 1;
            let request = self.request(&call, &conn, auth)?;
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
                        Class::Success => {
                            return match call {
                                Call::Create(_) => {
                                    read_case_uid(resp, &redactor).await.map(Answer::Created)
                                }
                                // Outseta answers a reply with an empty body.
                                Call::Reply { .. } => Ok(Answer::Replied),
                                Call::Read { .. } => Ok(Answer::Read(read_case_state(resp).await)),
                            };
                        }
                        Class::Reject
                            if status == StatusCode::NOT_FOUND
                                && !matches!(call, Call::Create(_)) =>
                        {
                            return Ok(Answer::Gone);
                        }
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
                                "ticket API rejected the {} (HTTP {}): {}",
                                call.what(),
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
            let left = deadline.saturating_duration_since(Instant::now());
            let jitter = rand::rng().random_range(0.0..=1.0);
            let made = stats.api_calls - before;
            match next_step(made, self.max_attempts, retry_after, left, jitter) {
                Step::Wait(wait) => tokio::time::sleep(wait).await,
                Step::Stop(why) => {
                    return Err(NotifierError::TicketDeliveryFailed(format!(
                        "{last_problem} after {}, and {why}",
                        attempts(made)
                    )));
                }
            }
        }
    }

    /// Makes the credential current before anything is rendered or logged:
    /// the OAuth token is fetched (or taken from the cache) now, so the gate
    /// already masks it if the event echoes it. Delivery then reuses it.
    pub async fn authorize(
        &self,
        conn: &Connection,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<Authorization, NotifierError> {
        let header = self.auth_header(conn, deadline, stats).await?;
        if let Some((_, v)) = &header {
            self.learn_credential(v);
        }
        Ok(Authorization(header))
    }

    /// Teaches the gate a header value it is about to send: whole, and the
    /// credential after its scheme (`Bearer`, `Basic`, `Outseta`).
    fn learn_credential(&self, v: &Secret) {
        let bare = v.expose().split_once(' ').map_or("", |(_, rest)| rest);
        self.gate.learn([v.expose(), bare]);
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
                let (token, fetched) = self.tokens.bearer(&self.http, client, timeout).await?;
                // Before anything can echo it: the gate masks it from now on,
                // and keeps masking it after it is replaced.
                self.gate.learn([token.expose()]);
                stats.token_fetches += u32::from(fetched);
                (
                    "Authorization".to_owned(),
                    Secret::new(format!("Bearer {}", token.expose())),
                )
            }
        }))
    }

    fn request(
        &self,
        call: &Call<'_>,
        conn: &Connection,
        auth: Option<(String, Secret)>,
    ) -> Result<reqwest::RequestBuilder, NotifierError> {
        let mut headers = headers(&conn.invocation)?;
        if let Some((name, value)) = auth {
            insert_header(&mut headers, &name, value.expose())?;
        }
        let serialise = |v: Result<Value, serde_json::Error>| {
            v.map_err(|_| {
                NotifierError::TicketDeliveryFailed(format!(
                    "could not serialise the {}",
                    call.what()
                ))
            })
        };
        let builder = match call {
            Call::Create(case) => {
                let mut url = self.url.clone();
                url.query_pairs_mut().append_pair(
                    "sendAutoResponder",
                    if self.send_auto_responder {
                        "true"
                    } else {
                        "false"
                    },
                );
                let mut body = serialise(serde_json::to_value(case))?;
                apply_body_params(&mut body, &conn.invocation);
                self.http.post(url).json(&body)
            }
            Call::Reply { case_uid, reply } => {
                let mut body = serialise(serde_json::to_value(reply))?;
                apply_body_params(&mut body, &conn.invocation);
                self.http
                    .post(self.case_url(case_uid, Some("replies"))?)
                    .json(&body)
            }
            Call::Read { case_uid } => self.http.get(self.case_url(case_uid, None)?),
        };
        Ok(builder
            .query(&pairs(&conn.invocation.query))
            .headers(headers))
    }

    /// `{cases endpoint}/{Uid}` and below it; the Uid is one path segment,
    /// escaped, whatever it holds.
    fn case_url(&self, case_uid: &str, below: Option<&str>) -> Result<Url, NotifierError> {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|_| {
                NotifierError::TicketDeliveryFailed(
                    "the ticket API URL cannot take a case path".to_owned(),
                )
            })?
            .pop_if_empty()
            .push(case_uid)
            .extend(below);
        Ok(url)
    }
}

/// What an exchange asks of the API.
enum Call<'a> {
    Create(&'a CaseBody),
    Reply {
        case_uid: &'a str,
        reply: &'a ReplyBody,
    },
    Read {
        case_uid: &'a str,
    },
}

impl Call<'_> {
    /// For messages: "the ticket API rejected the reply".
    fn what(&self) -> &'static str {
        match self {
            Call::Create(_) => "case",
            Call::Reply { .. } => "reply",
            Call::Read { .. } => "case read",
        }
    }
}

/// How an exchange ended well.
enum Answer {
    Created(String),
    Replied,
    Read(CaseState),
    /// 404 for a reply or a read: the case is gone.
    Gone,
}

/// An existing case, as far as the incident needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    Open,
    /// `Status` 2: an agent closed it.
    Closed,
    /// 404: deleted (or never there).
    Gone,
}

/// `Status` 2 is closed; anything else, or a body that cannot be read, is
/// taken as open: the reply that follows then finds out (a 404 is gone),
/// and a reply to a case an agent closed a moment ago is still read there.
async fn read_case_state(resp: reqwest::Response) -> CaseState {
    let Ok(body) = resp.text().await else {
        return CaseState::Open;
    };
    match serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("Status").and_then(Value::as_u64))
    {
        Some(2) => CaseState::Closed,
        _ => CaseState::Open,
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

fn attempts(n: u32) -> String {
    match n {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    }
}

/// What to do after a retryable failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Wait(Duration),
    /// Why there is no next attempt, as the end of a sentence.
    Stop(String),
}

/// The retry decision, pure so it can be tested as a table: after `attempt`
/// attempts, wait the full-jitter backoff (`jitter` in 0..=1 picks a point
/// up to the exponential ceiling, so a burst of failed notifiers does not
/// retry in lockstep), but at least the server's `Retry-After`, and only if
/// the wait plus a useful attempt still fit in `left`.
pub fn next_step(
    attempt: u32,
    max_attempts: u32,
    retry_after: Option<Duration>,
    left: Duration,
    jitter: f64,
) -> Step {
    if attempt >= max_attempts {
        return Step::Stop(format!("the attempt limit ({max_attempts}) is reached"));
    }
    let ceiling = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    let wait = ceiling
        .mul_f64(jitter.clamp(0.0, 1.0))
        .max(retry_after.unwrap_or_default());
    if wait + MIN_ATTEMPT > left {
        return Step::Stop(format!(
            "the next retry (in {} ms) would not fit the time left ({} ms)",
            wait.as_millis(),
            left.as_millis()
        ));
    }
    Step::Wait(wait)
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
    crate::text::clip(&redactor.text(&text), MESSAGE_MAX).into_owned()
}

fn build_error(_: reqwest::Error) -> NotifierError {
    NotifierError::TicketDeliveryFailed("could not build the ticket request".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// Runs in a child process of this test binary, because the system
    /// store is found through process-wide variables (`SSL_CERT_FILE`,
    /// `SSL_CERT_DIR`) that other tests must not see.
    #[test]
    fn system_roots_without_a_store_are_a_config_error() {
        const CHILD: &str = "TICKET_BRIDGE_EMPTY_STORE_CHILD";
        let settings = |roots| DeliverySettings {
            url: Url::parse("https://example.invalid/api/v1/support/cases").expect("url"),
            send_auto_responder: false,
            max_attempts: 1,
            attempt_timeout: Duration::from_secs(1),
            roots,
        };
        if std::env::var_os(CHILD).is_some() {
            let err = settings(Roots::System)
                .http_client()
                .expect_err("an empty store must not build a client");
            assert_eq!(err.error_type(), "ConfigError");
            let message = err.to_string();
            assert!(message.starts_with("TLS_ROOTS: "), "{message}");
            assert!(message.contains("no certificate"), "{message}");
            assert!(settings(Roots::Bundled).http_client().is_ok());
            return;
        }
        let empty = std::env::temp_dir().join(format!("tb-no-certs-{}", std::process::id()));
        std::fs::create_dir_all(&empty).expect("empty dir");
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "delivery::tests::system_roots_without_a_store_are_a_config_error",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("SSL_CERT_FILE", empty.join("none.pem"))
            .env("SSL_CERT_DIR", &empty)
            .output()
            .expect("child test run");
        let _ = std::fs::remove_dir(&empty);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "child: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn retry_decisions() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        // (attempt, max, Retry-After, time left, jitter) -> wait, or stop
        type Row = (u32, u32, Option<Duration>, Duration, f64, Option<Duration>);
        let cases: &[Row] = &[
            (1, 5, None, s(10), 1.0, Some(ms(400))),
            (1, 5, None, s(10), 0.0, Some(ms(0))),
            (1, 5, None, s(10), 0.5, Some(ms(200))),
            (2, 5, None, s(10), 1.0, Some(ms(800))),
            (10, 20, None, s(60), 1.0, Some(MAX_BACKOFF)),
            (1, 5, Some(s(3)), s(10), 0.0, Some(s(3))),
            (1, 5, Some(s(3)), s(10), 1.0, Some(s(3))),
            (5, 5, None, s(10), 0.0, None),
            (1, 1, None, s(10), 0.0, None),
            (1, 5, Some(s(9)), s(9), 0.0, None),
            (1, 5, None, ms(40), 0.0, None),
            (1, 5, None, ms(449), 1.0, None),
            (1, 5, None, ms(450), 1.0, Some(ms(400))),
            (40, 50, None, s(60), 2.0, Some(MAX_BACKOFF)),
        ];
        for &(attempt, max, after, left, jitter, want) in cases {
            let got = next_step(attempt, max, after, left, jitter);
            match want {
                Some(w) => assert_eq!(
                    got,
                    Step::Wait(w),
                    "{attempt} {max} {after:?} {left:?} {jitter}"
                ),
                None => assert!(
                    matches!(got, Step::Stop(_)),
                    "{attempt} {max} {after:?} {left:?}: {got:?}"
                ),
            }
        }
        let Step::Stop(why) = next_step(5, 5, None, s(1), 0.0) else {
            panic!()
        };
        assert_eq!(why, "the attempt limit (5) is reached");
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
        let clipped = api_message(&long, &Redactor::default());
        assert_eq!(clipped.chars().count(), MESSAGE_MAX);
        assert!(clipped.ends_with('…'));
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
