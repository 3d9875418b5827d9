//! Real components for the notifier's integration tests: a moto server for
//! Secrets Manager/EventBridge/DynamoDB (shared per test binary, or the one
//! `make test` started, via `MOTO_ENDPOINT`; started through
//! scripts/moto_atomic.py so concurrent writes to one item do not
//! interleave, as in DynamoDB), connection secrets seeded through
//! moto's own CreateConnection, and a tracing capture for canary checks.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use ticket_bridge::secrets::StaticSecret;
use ticket_bridge::{Config, Notifier, NotifierError};

#[path = "../../../../shared/aws/tests/support/moto.rs"]
pub mod moto;
/// The adapters' test support: the Outseta stand-in and notifier builders
/// (shared/outseta), and the moto launcher (shared/aws).
#[path = "../../../../shared/outseta/tests/support/mod.rs"]
pub mod shared;

// Each test binary uses its own share of these, as of the rest here.
#[allow(unused_imports)]
pub use moto::{Moto, failed_execution, free_port, moto_with, sdk_loader};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start_moto() -> Moto {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) => Moto::at(endpoint),
        Err(_) => moto_with(""),
    }
}

pub fn moto_endpoint() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO.get_or_init(start_moto).endpoint
}

/// Runs scripts/moto_seed.py; returns its JSON (`secretArn`, `connectionArn`).
pub fn seed(args: &[&str]) -> Value {
    seed_at(moto_endpoint(), args)
}

/// [`seed`] on any moto server.
pub fn seed_at(endpoint: &str, args: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(repo_root().join("scripts/moto_seed.py"))
        .args(["--endpoint", endpoint])
        .args(args)
        .output()
        .expect("python3 missing");
    assert!(
        out.status.success(),
        "moto_seed {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("moto_seed printed no JSON")
}

pub fn secret_arn(args: &[&str]) -> String {
    seed(args)["secretArn"]
        .as_str()
        .expect("no secretArn")
        .to_owned()
}

/// SDK configuration for moto (every AWS client the notifier builds).
pub async fn moto_sdk() -> aws_config::SdkConfig {
    sdk_at(moto_endpoint()).await
}

/// SDK configuration for any endpoint (a dead port, a stub), with dummy credentials.
pub async fn sdk_at(endpoint: &str) -> aws_config::SdkConfig {
    sdk_loader(endpoint).load().await
}

/// A notifier built as `main` builds it, from an environment and SDK config.
pub fn notifier_with(
    env: &[(&str, &str)],
    sdk: &aws_config::SdkConfig,
) -> Result<Notifier, NotifierError> {
    let get = |k: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    Config::from_lookup(&get)
        .map_err(Into::into)
        .and_then(|c| notifier::wiring::from_sdk(c, sdk))
}

/// A notifier built exactly as `main` builds it, from an environment.
pub async fn notifier(
    secret: &str,
    api_url: &str,
    extra: &[(&str, &str)],
) -> Result<Notifier, NotifierError> {
    let mut env = vec![
        ("TICKET_API_URL", api_url),
        ("CONNECTION_SECRET_ID", secret),
        ("FROM_PERSON_EMAIL", "oncall@example.com"),
    ];
    env.extend_from_slice(extra);
    notifier_with(&env, &moto_sdk().await)
}

/// Invokes the real handler as the runtime would, with a deadline.
pub async fn invoke(
    n: &Result<Notifier, NotifierError>,
    event: Value,
    deadline_ms: u64,
) -> Result<Value, Diagnostic> {
    let mut ctx = Context::default();
    ctx.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64 + deadline_ms)
        .unwrap_or_default();
    notifier::handler(n, LambdaEvent::new(event, ctx))
        .await
        .map_err(Diagnostic::from)
}

pub fn event(name: &str) -> Value {
    let raw = std::fs::read_to_string(repo_root().join("events").join(name))
        .expect("no such sample event");
    serde_json::from_str(&raw).expect("sample event is not JSON")
}

/// A sample event made a distinct failure (its own execution, or its own
/// input for bare errors), for tests that invoke one warm notifier several
/// times and must not be answered from its dedupe memory.
pub fn fresh(name: &str) -> Value {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let tag = format!("{}-{n}", std::process::id());
    let mut ev = event(name);
    if let Some(arn) = ev.get("execution").and_then(Value::as_str) {
        ev["execution"] = Value::String(format!("{arn}-{tag}"));
    } else if let Some(arn) = ev.pointer("/detail/executionArn").and_then(Value::as_str) {
        ev["detail"]["executionArn"] = Value::String(format!("{arn}-{tag}"));
    } else {
        ev["testRun"] = Value::String(tag);
    }
    ev
}

/// Everything logged through tracing while the guard lives (this thread).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures JSON log lines at TRACE level (every crate, HTTP stack included).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let sub = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .finish();
    (logs, tracing::subscriber::set_default(sub))
}

/// A notifier on in-memory adapters (a fixed connection secret, the memory
/// claim store), built from an environment as `main` builds one: no moto.
pub fn memory_notifier(
    secret: &Value,
    api_url: &str,
    extra: &[(&str, &str)],
) -> Result<Notifier, NotifierError> {
    let mut env = vec![
        ("TICKET_API_URL", api_url),
        ("CONNECTION_SECRET_ID", "events!connection/canary/0000"),
        ("FROM_PERSON_EMAIL", "oncall@example.com"),
    ];
    env.extend_from_slice(extra);
    let get = |k: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let config = Config::from_lookup(&get)?;
    notifier::wiring::outseta(config, Arc::new(StaticSecret(Ok(secret.to_string()))))
}

/// Invokes the raw entry point (what the runtime calls) with raw JSON, which
/// may nest deeper than serde's recursion limit.
pub async fn invoke_raw(
    n: &Result<Notifier, NotifierError>,
    raw: &str,
) -> Result<Value, Diagnostic> {
    let payload =
        serde_json::value::RawValue::from_string(raw.to_owned()).expect("raw JSON (of any depth)");
    notifier::handler_raw(n, LambdaEvent::new(payload, Context::default()))
        .await
        .map_err(Diagnostic::from)
}

/// Asserts a typed error: its `errorType`, and a fragment of its message.
pub fn expect_error(err: &Diagnostic, error_type: &str, fragment: &str) {
    assert_eq!(err.error_type, error_type, "{}", err.error_message);
    assert!(
        err.error_message.contains(fragment),
        "{error_type}: expected {fragment:?} in {:?}",
        err.error_message
    );
}

/// The cases path of the ticket API.
pub const CASES: &str = "/api/v1/support/cases";

/// A local ticket API (nothing mounted yet) and its cases URL.
pub async fn api() -> (wiremock::MockServer, String) {
    let server = wiremock::MockServer::start().await;
    let url = format!("{}{CASES}", server.uri());
    (server, url)
}

/// Outseta's answer to a created case.
pub fn created(uid: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({"Uid": uid, "Status": 1}))
}

/// An API-key connection (through moto's CreateConnection) sending
/// `Authorization: <value>`.
pub fn apikey_secret(value: &str) -> String {
    apikey_secret_with(value, &[])
}

/// [`apikey_secret`] with more of moto_seed's connection options
/// (`--header K=V`, `--query K=V`, `--body K=V`).
pub fn apikey_secret_with(value: &str, more: &[&str]) -> String {
    let mut args = vec![
        "apikey",
        "--key-name",
        "Authorization",
        "--key-value",
        value,
    ];
    args.extend_from_slice(more);
    secret_arn(&args)
}

/// Mounts `answer` for POSTs to `path` (any path when `None`), expected
/// exactly `times` times when given (checked when the server drops).
pub async fn on_post(
    server: &wiremock::MockServer,
    path: Option<&str>,
    answer: wiremock::ResponseTemplate,
    times: Option<u64>,
) {
    let mut mock = wiremock::Mock::given(wiremock::matchers::method("POST"));
    if let Some(p) = path {
        mock = mock.and(wiremock::matchers::path(p));
    }
    let mut mock = mock.respond_with(answer);
    if let Some(n) = times {
        mock = mock.expect(n);
    }
    mock.mount(server).await;
}

/// A ticket API answering every POST with `answer`, and its cases URL.
pub async fn api_answering(
    answer: wiremock::ResponseTemplate,
    times: Option<u64>,
) -> (wiremock::MockServer, String) {
    let (server, url) = api().await;
    on_post(&server, None, answer, times).await;
    (server, url)
}

/// A notifier on its own API-key connection (`Outseta K:S-<tag>`), built
/// as `main` builds it.
pub async fn keyed_notifier(
    tag: &str,
    api_url: &str,
    extra: &[(&str, &str)],
) -> Result<Notifier, NotifierError> {
    notifier(
        &apikey_secret(&format!("Outseta K:S-{tag}")),
        api_url,
        extra,
    )
    .await
}

/// Invokes the handler expecting a typed error, and checks that it came
/// back inside the deadline it was given.
pub async fn invoke_err(
    n: &Result<Notifier, NotifierError>,
    event: Value,
    deadline_ms: u64,
) -> Diagnostic {
    let started = Instant::now();
    let result = invoke(n, event, deadline_ms).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(deadline_ms),
        "overran the {deadline_ms} ms deadline: {took:?}"
    );
    match result {
        Ok(out) => panic!("expected a typed error, got {out}"),
        Err(err) => err,
    }
}

/// Answers POSTs with each of `first` once, in order, then `then` for good.
pub async fn answer_in_turn(
    server: &wiremock::MockServer,
    first: Vec<wiremock::ResponseTemplate>,
    then: wiremock::ResponseTemplate,
) {
    let post = || wiremock::Mock::given(wiremock::matchers::method("POST"));
    let mut priority = 1;
    for answer in first {
        post()
            .respond_with(answer)
            .up_to_n_times(1)
            .with_priority(priority)
            .mount(server)
            .await;
        priority += 1;
    }
    post()
        .respond_with(then)
        .with_priority(priority)
        .mount(server)
        .await;
}
