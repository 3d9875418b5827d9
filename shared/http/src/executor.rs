//! Calls an HTTPS API the way an EventBridge connection describes it:
//! authentication from the connection, its extra headers, query and body
//! parameters, retries with backoff inside the Lambda deadline, and one
//! credential refresh when the API says the credentials are wrong. It
//! knows no API: a desk adapter says what to call and reads the answers.
//!
//! Rules, in the order they apply to each response:
//! - 2xx: the caller reads the response.
//! - 401/407 (OAuth): fetch a new token once and retry, as EventBridge does;
//!   401/403/407 otherwise: re-read the secret once (it may have rotated).
//!   A second refusal is `AuthError`.
//! - 429, 500, 502, 503, 504, connect errors and timeouts: retry with
//!   exponential backoff and full jitter, after `Retry-After` when given,
//!   as long as the deadline allows; a 429 does not use up an attempt
//!   (throttling is bounded by the deadline). Then `TicketDeliveryFailed`.
//! - A 404 to a call about an existing resource: it is gone, an answer.
//! - Any other 4xx: `TicketRejected` with the API's own message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use ticket_bridge::desk::{Attempts, DeskSettings};
use ticket_bridge::error::{ConfigError, NotifierError};
use ticket_bridge::incident::epoch_ms;
use ticket_bridge::redact::{Gate, Redactor};
use ticket_bridge::secrets::SecretSource;
use url::Url;

use crate::connection::{Auth, Connection, HttpParameters, Secret};
use crate::endpoint::{display_endpoint, headers, insert_header, pairs, transport_problem};
use crate::oauth::TokenCache;
use crate::secrets::SecretCache;
use crate::transport;

/// Below this much time left, another attempt cannot finish: stop.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a path that files nothing may spend fetching the current token
/// so the gate knows it.
const KNOW_TOKEN_WITHIN: Duration = Duration::from_secs(2);

/// The process's one HTTP client for these settings (the AWS SDK's clients
/// run on it too).
///
/// A client that cannot be built is a deployment fault, not a delivery one:
/// with `TLS_ROOTS=system` on an image without a certificate store no retry
/// can help, so it is a `ConfigError` naming the variable.
pub fn http_client(settings: &DeskSettings) -> Result<reqwest::Client, NotifierError> {
    transport::http_client(
        settings.roots,
        settings.attempt_timeout.min(Duration::from_secs(5)),
    )
    .map_err(|reason| ConfigError::new("TLS_ROOTS", reason).into())
}

/// One request, as the API adapter wants it made.
pub struct Call<'a> {
    pub method: Method,
    pub url: Url,
    /// A JSON body; the connection's body parameters are merged into it.
    pub body: Option<&'a Value>,
    /// What is called, for messages: "the ticket API rejected the reply".
    pub what: &'static str,
    /// A 404 means the resource is gone ([`Answer::Gone`]), not a refusal.
    pub gone_on_404: bool,
}

/// How a call ended well.
pub enum Answer {
    Success(reqwest::Response),
    /// 404 to a call with `gone_on_404`.
    Gone,
}

/// The HTTP side of a desk adapter; built once per container.
pub struct Executor {
    http: reqwest::Client,
    max_attempts: u32,
    attempt_timeout: Duration,
    tokens: TokenCache,
    secrets: SecretCache,
    /// Learns each credential this client sends (tokens, Basic values).
    gate: Gate,
    /// The header `ready` made current, for the next call's first attempt
    /// (a short-lived token may already count as stale by then).
    primed: Mutex<Option<(String, Secret)>>,
    /// The API's own explanation of a refusal, from its body.
    explain: fn(&str, &Redactor) -> String,
    /// Until when (epoch ms) the API asked this container to wait: its last
    /// 429 plus the Retry-After it gave (a second when it gave none).
    throttled_until: AtomicU64,
}

impl Executor {
    /// `explain` turns a refusal's body into a message (the adapter knows
    /// the API's error layout).
    pub fn new(
        settings: &DeskSettings,
        source: Arc<dyn SecretSource>,
        gate: Gate,
        http: reqwest::Client,
        explain: fn(&str, &Redactor) -> String,
    ) -> Self {
        Executor {
            http,
            max_attempts: settings.max_attempts,
            attempt_timeout: settings.attempt_timeout,
            tokens: TokenCache::default(),
            secrets: SecretCache::new(
                source,
                settings.connection_secret_id.clone(),
                settings.secret_cache_ttl,
                gate.clone(),
            ),
            gate,
            primed: Mutex::new(None),
            explain,
            throttled_until: AtomicU64::new(0),
        }
    }

    /// Whether the API's last 429 asked this container to wait until a
    /// time not yet passed: a caller with work that can wait lets it.
    pub fn throttled(&self) -> bool {
        epoch_ms(SystemTime::now()) < self.throttled_until.load(Ordering::Relaxed)
    }

    fn throttle(&self, retry_after: Option<Duration>) {
        let wait = retry_after.unwrap_or(Duration::from_secs(1));
        let until = SystemTime::now() + wait.min(Duration::from_secs(3600));
        self.throttled_until
            .fetch_max(epoch_ms(until), Ordering::Relaxed);
    }

    /// Access tokens fetched since this executor was built.
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// The gate's redactor with every secret it knows now.
    pub fn redactor(&self) -> Redactor {
        self.gate.redactor()
    }

    /// Makes the credential current before anything is rendered or logged:
    /// the connection is read (the gate learns its values) and the OAuth
    /// token fetched (or taken from the cache) now, so the gate already
    /// masks it if the event echoes it. The next call reuses it.
    pub async fn ready(
        &self,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<(), NotifierError> {
        let conn = self.connection().await?;
        let header = self.auth_header(&conn, deadline, stats).await?;
        if let Some((_, v)) = &header {
            self.learn_credential(v);
        }
        if let Ok(mut primed) = self.primed.lock() {
            *primed = header;
        }
        Ok(())
    }

    /// Reads the connection (normally from the cache) so the gate knows its
    /// values before anything is logged, and with `token` the current token
    /// too (cached, or fetched once, briefly); says how complete the
    /// masking is.
    pub async fn know_secrets(&self, token: bool) -> &'static str {
        let Ok(conn) = self.connection().await else {
            return "key rules and values learnt earlier only: the connection secret could not be read";
        };
        if !token {
            return "connection values, current and earlier credentials, and key rules";
        }
        let soon = Instant::now() + KNOW_TOKEN_WITHIN;
        match self
            .auth_header(&conn, soon, &mut Attempts::default())
            .await
        {
            Ok(header) => {
                if let Some((_, v)) = &header {
                    self.learn_credential(v);
                }
                "connection values, current and earlier credentials, and key rules"
            }
            Err(_) => {
                "connection values, earlier credentials and key rules: the current token could not be fetched"
            }
        }
    }

    async fn connection(&self) -> Result<Arc<Connection>, NotifierError> {
        self.secrets
            .get()
            .await
            .map_err(|e| NotifierError::ConnectionSecret(e.to_string()))
    }

    /// One call to the API until it is answered, refused, or time runs out:
    /// the rules in the module documentation.
    pub async fn call(
        &self,
        call: &Call<'_>,
        deadline: Instant,
        stats: &mut Attempts,
    ) -> Result<Answer, NotifierError> {
        let mut conn = self.connection().await?;
        let mut refreshed = false;
        let mut throttled = 0u32;
        let mut first = self.primed.lock().ok().and_then(|mut p| p.take());
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
            let auth = match first.take() {
                Some(header) => Some(header),
                None => self.auth_header(&conn, deadline, stats).await?,
            };
            if let Some((_, v)) = &auth {
                // A refreshed token is new here.
                self.learn_credential(v);
            }
            let redactor = self.gate.redactor();
            stats.api_calls += 1;
            let request = self.request(call, &conn, auth)?;
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
                        Class::Success => return Ok(Answer::Success(resp)),
                        Class::Reject if status == StatusCode::NOT_FOUND && call.gone_on_404 => {
                            return Ok(Answer::Gone);
                        }
                        Class::Auth if !refreshed => {
                            refreshed = true;
                            let oauth = matches!(conn.auth, Auth::OAuthClientCredentials(_));
                            self.tokens.invalidate();
                            if !oauth || status == StatusCode::FORBIDDEN {
                                stats.secret_refreshes += 1;
                                conn =
                                    self.secrets.refresh().await.map_err(|e| {
                                        NotifierError::ConnectionSecret(e.to_string())
                                    })?;
                            }
                            last_problem = format!("HTTP {}", status.as_u16());
                            continue;
                        }
                        Class::Auth => {
                            // Refused twice: no token of this client is worth keeping.
                            self.tokens.invalidate();
                            return Err(NotifierError::Auth(format!(
                                "ticket API {} refused the credentials with HTTP {} even after refreshing them",
                                display_endpoint(&call.url),
                                status.as_u16()
                            )));
                        }
                        Class::Retry => {
                            last_problem = format!("HTTP {}", status.as_u16());
                            // A 429 is the API asking to wait, not failing:
                            // it spends time, not one of the attempts.
                            if status == StatusCode::TOO_MANY_REQUESTS {
                                throttled += 1;
                                self.throttle(retry_after);
                            }
                            retry_after
                        }
                        Class::Reject => {
                            let body = resp.text().await.unwrap_or_default();
                            return Err(NotifierError::TicketRejected(format!(
                                "ticket API rejected the {} (HTTP {}): {}",
                                call.what,
                                status.as_u16(),
                                (self.explain)(&body, &redactor)
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
            match next_step(
                made - throttled,
                made,
                self.max_attempts,
                retry_after,
                left,
                jitter,
            ) {
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
        let mut builder = self.http.request(call.method.clone(), call.url.clone());
        if let Some(body) = call.body {
            let mut body = body.clone();
            apply_body_params(&mut body, &conn.invocation);
            builder = builder.json(&body);
        }
        Ok(builder
            .query(&pairs(&conn.invocation.query))
            .headers(headers))
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

/// The retry decision, pure so it can be tested as a table: after `tries`
/// calls of which `attempt` count against the limit, wait the full-jitter backoff (`jitter` in 0..=1 picks a point
/// up to the exponential ceiling, so a burst of failed notifiers does not
/// retry in lockstep), added to the server's `Retry-After` when it sent one,
/// and only if the wait plus a useful attempt still fit in `left`. A 429 is
/// not counted in `attempt` (the caller leaves it out): throttling is
/// bounded by the time left, not by the attempt limit.
pub fn next_step(
    attempt: u32,
    tries: u32,
    max_attempts: u32,
    retry_after: Option<Duration>,
    left: Duration,
    jitter: f64,
) -> Step {
    if attempt >= max_attempts {
        return Step::Stop(format!("the attempt limit ({max_attempts}) is reached"));
    }
    // The backoff grows with every try, 429s included, so an API that keeps
    // refusing (with a Retry-After already past) is not asked ever faster.
    let ceiling = BASE_BACKOFF
        .saturating_mul(1 << tries.max(attempt).min(16))
        .min(MAX_BACKOFF);
    let jittered = ceiling.mul_f64(jitter.clamp(0.0, 1.0));
    // After the server's Retry-After, not at it: a burst of notifiers told
    // to wait one second would otherwise all come back in the same instant
    // and be refused together again.
    let wait = match retry_after {
        Some(after) => after + jittered,
        None => jittered,
    };
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

fn build_error(_: reqwest::Error) -> NotifierError {
    NotifierError::TicketDeliveryFailed("could not build the request".to_owned())
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
    use ticket_bridge::desk::Roots;

    /// Runs in a child process of this test binary, because the system
    /// store is found through process-wide variables (`SSL_CERT_FILE`,
    /// `SSL_CERT_DIR`) that other tests must not see.
    #[test]
    fn system_roots_without_a_store_are_a_config_error() {
        const CHILD: &str = "TICKET_BRIDGE_EMPTY_STORE_CHILD";
        let settings = |roots| DeskSettings {
            url: Url::parse("https://example.invalid/api/v1/support/cases").expect("url"),
            filing: ticket_bridge::desk::Filing {
                from_person: ticket_bridge::desk::FromPerson::Email("a@example.com".into()),
                source: 1,
            },
            send_auto_responder: false,
            max_attempts: 1,
            attempt_timeout: Duration::from_secs(1),
            roots,
            agent_name: "Bridge".into(),
            connection_secret_id: "id".into(),
            secret_cache_ttl: Duration::from_secs(1),
        };
        if std::env::var_os(CHILD).is_some() {
            let err = http_client(&settings(Roots::System))
                .expect_err("an empty store must not build a client");
            assert_eq!(err.error_type(), "ConfigError");
            let message = err.to_string();
            assert!(message.starts_with("TLS_ROOTS: "), "{message}");
            assert!(message.contains("no certificate"), "{message}");
            assert!(http_client(&settings(Roots::Bundled)).is_ok());
            return;
        }
        let empty = std::env::temp_dir().join(format!("tb-no-certs-{}", std::process::id()));
        std::fs::create_dir_all(&empty).expect("empty dir");
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "executor::tests::system_roots_without_a_store_are_a_config_error",
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
            (1, 5, Some(s(3)), s(10), 1.0, Some(ms(3400))),
            (5, 5, None, s(10), 0.0, None),
            (1, 1, None, s(10), 0.0, None),
            (1, 5, Some(s(9)), s(9), 0.0, None),
            (1, 5, None, ms(40), 0.0, None),
            (1, 5, None, ms(449), 1.0, None),
            (1, 5, None, ms(450), 1.0, Some(ms(400))),
            (40, 50, None, s(60), 2.0, Some(MAX_BACKOFF)),
        ];
        for &(attempt, max, after, left, jitter, want) in cases {
            let got = next_step(attempt, attempt, max, after, left, jitter);
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
        // Throttled tries count for the backoff, not for the limit.
        assert_eq!(
            next_step(0, 4, 5, Some(Duration::ZERO), s(10), 1.0),
            Step::Wait(ms(3200))
        );
        assert_eq!(next_step(0, 40, 1, None, s(10), 0.5), Step::Wait(ms(2500)));
        let Step::Stop(why) = next_step(5, 5, 5, None, s(1), 0.0) else {
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
