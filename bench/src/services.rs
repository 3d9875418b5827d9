//! The world every runtime runs against: moto (Secrets Manager seeded with
//! an EventBridge OAuth connection; Step Functions serving failed
//! execution histories; DynamoDB for the storm) behind
//! `scripts/moto_atomic.py`, which applies one request at a time and
//! counts them; mock-auth and mock-api under `cargo lambda watch`
//! (`--release` when the harness is a release build), and counting proxies
//! in front of Secrets Manager and the token endpoint. Everything on
//! loopback, stopped on drop.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::moto::Moto;
use crate::process::Child;
use crate::proxy::Proxy;

/// The region of the state machines in `events/` (their executions are in
/// eu-west-1): the function is deployed beside them, so each runtime's
/// default-region client reads their histories, as a team's would.
pub const REGION: &str = "eu-west-1";
pub const CLIENT_ID: &str = "bench-client";
/// What the proxies count as a Secrets Manager read and a token fetch.
pub const SECRET_READ: &str = "secretsmanager.GetSecretValue";
pub const TOKEN_FETCH: &str = "POST /lambda-url/mock-auth/token";
/// Whether this harness is a release build (`make bench`).
pub const RELEASE: bool = !cfg!(debug_assertions);
const SIGNING_KEY: &str = "bench-signing-key-not-a-secret";

pub struct Services {
    pub logs: PathBuf,
    root: PathBuf,
    pub http: reqwest::Client,
    pub sm_proxy: Proxy,
    pub token_proxy: Proxy,
    /// moto itself: the Step Functions histories every runtime reads on the
    /// EventBridge path, and the storm's DynamoDB (counted by the launcher).
    pub moto_url: String,
    pub moto: Moto,
    pub watch_url: String,
    pub secret_arn: String,
    pub client_secret: String,
    pub token_ttl: u64,
    // Declared last: dropped (stopped) after the proxies above.
    _watch: Child,
    _moto: Child,
}

impl Services {
    pub async fn start(root: &Path, logs: &Path, token_ttl: u64) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("http client: {e}"))?;

        let moto_port = free_port()?;
        // moto_server's application, one request at a time (the storm's
        // conditional writes need DynamoDB's per-item atomicity), counting
        // calls by operation; histories of FAILED executions.
        let moto = Child::spawn(
            "moto (scripts/moto_atomic.py)",
            Command::new("python3")
                .arg(root.join("scripts/moto_atomic.py"))
                .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
                .env("SF_EXECUTION_HISTORY_TYPE", "FAILURE"),
            &logs.join("moto.log"),
        )?;
        wait_port(
            moto_port,
            Duration::from_secs(60),
            "moto (scripts/moto_atomic.py)",
        )?;
        let moto_url = format!("http://127.0.0.1:{moto_port}");

        let watch_port = free_port()?;
        let token_upstream = format!("http://127.0.0.1:{watch_port}");
        let sm_proxy = Proxy::start(moto_url.clone(), http.clone())
            .await
            .map_err(|e| format!("secrets proxy: {e}"))?;
        let token_proxy = Proxy::start(token_upstream, http.clone())
            .await
            .map_err(|e| format!("token proxy: {e}"))?;

        let client_secret = format!("cs-{:x}", std::process::id() as u64 * 7919 + now_nanos());
        let token_url = format!("{}/lambda-url/mock-auth/token", token_proxy.url());
        let seeded = Command::new("python3")
            .arg(root.join("scripts/moto_seed.py"))
            .args(["--endpoint", &moto_url, "--region", REGION, "oauth"])
            .args(["--token-url", &token_url, "--client-id", CLIENT_ID])
            .args(["--client-secret", &client_secret])
            .output()
            .map_err(|e| format!("moto_seed.py: {e}"))?;
        if !seeded.status.success() {
            return Err(format!(
                "moto_seed.py failed: {}",
                String::from_utf8_lossy(&seeded.stderr).trim()
            ));
        }
        let seeded: serde_json::Value = serde_json::from_slice(&seeded.stdout)
            .map_err(|e| format!("moto_seed.py printed no JSON: {e}"))?;
        let secret_arn = seeded["secretArn"]
            .as_str()
            .ok_or("moto_seed.py printed no secretArn")?
            .to_owned();

        let env = mocks_env(&client_secret, token_ttl);
        let (watch, watch_url) = mocks_watch(root, logs, "watch", &env, watch_port).await?;
        let s = Services {
            logs: logs.to_owned(),
            root: root.to_owned(),
            http,
            sm_proxy,
            token_proxy,
            moto: Moto::new(moto_url.clone())?,
            moto_url: moto_url.clone(),
            watch_url,
            secret_arn,
            client_secret,
            token_ttl,
            _watch: watch,
            _moto: moto,
        };
        Ok(s)
    }

    /// A second mock-api with `extra` in its environment (the storm's rate
    /// limit), in a `cargo lambda watch` of its own: it keeps its own cases
    /// and its own request budget. It accepts the same tokens (mock-auth's
    /// client and signing key). Stopped when the returned child is dropped.
    pub async fn extra_mock_api(
        &self,
        tag: &str,
        extra: &[(&str, String)],
    ) -> Result<(Child, String), String> {
        let mut env = mocks_env(&self.client_secret, self.token_ttl);
        env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
        mocks_watch(&self.root, &self.logs, tag, &env, 0).await
    }

    pub fn cases_url(&self) -> String {
        format!(
            "{}/lambda-url/mock-api/api/v1/support/cases",
            self.watch_url
        )
    }

    /// A token straight from mock-auth (not through the counting proxy),
    /// for mock-api's own baseline.
    pub async fn direct_token(&self) -> Result<String, String> {
        let r = self
            .http
            .post(format!("{}/lambda-url/mock-auth/token", self.watch_url))
            .basic_auth(CLIENT_ID, Some(&self.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| format!("token request: {e}"))?;
        let v: serde_json::Value = r.json().await.map_err(|e| format!("token response: {e}"))?;
        v["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "mock-auth answered without access_token".to_owned())
    }

    pub fn secret_reads(&self) -> u64 {
        self.sm_proxy.count(SECRET_READ)
    }

    pub fn token_fetches(&self) -> u64 {
        self.token_proxy.count(TOKEN_FETCH)
    }
}

/// What mock-auth and mock-api need: the client they share and the key
/// tokens are signed with.
fn mocks_env(client_secret: &str, token_ttl: u64) -> Vec<(&'static str, String)> {
    vec![
        ("CLIENT_ID", CLIENT_ID.to_owned()),
        ("CLIENT_SECRET", client_secret.to_owned()),
        ("SIGNING_KEY", SIGNING_KEY.to_owned()),
        ("TOKEN_TTL_SECONDS", token_ttl.to_string()),
        // One log line per request would be on mock-api's measured path.
        ("RUST_LOG", "warn".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "warn".to_owned()),
    ]
}

/// mock-auth and mock-api under `cargo lambda watch` on `port` (a free one
/// when 0), each started by a first request (and built, if the release
/// build is missing) before anything is measured. Logs to `TAG.log`.
async fn mocks_watch(
    root: &Path,
    logs: &Path,
    tag: &str,
    env: &[(&str, String)],
    port: u16,
) -> Result<(Child, String), String> {
    let port = if port == 0 { free_port()? } else { port };
    let env_file = logs.join(format!("{tag}.env"));
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, text).map_err(|e| format!("{}: {e}", env_file.display()))?;
    let log = logs.join(format!("{tag}.log"));
    let watch = Child::spawn(
        "cargo lambda watch",
        Command::new("cargo")
            .current_dir(root)
            .env("CARGO_TERM_COLOR", "never")
            .args(["lambda", "watch"])
            // The mocks in the harness's own profile: a debug harness
            // (bench-smoke) must not trigger a release build.
            .args(RELEASE.then_some("--release"))
            .args(["--ignore-changes", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string(), "--env-file"])
            .arg(&env_file),
        &log,
    )?;
    wait_port(port, Duration::from_secs(120), "cargo lambda watch")?;
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for f in ["mock-auth", "mock-api"] {
        let ok = http
            .get(format!("{url}/lambda-url/{f}/health"))
            .timeout(Duration::from_secs(900))
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        if !ok {
            return Err(format!(
                "{f} is not healthy under cargo lambda watch (see {})",
                log.display()
            ));
        }
    }
    Ok((watch, url))
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn wait_port(port: u16, timeout: Duration, what: &str) -> Result<(), String> {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{what} did not open port {port} within {timeout:?}"
    ))
}
