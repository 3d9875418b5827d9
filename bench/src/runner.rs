//! Function processes under the harness's Runtime API: start one, feed it
//! events, check every answer is a delivered ticket.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use crate::process::Child;
use crate::runtime_api::{Outcome, RuntimeApi};
use crate::services::{REGION, Services};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Rust,
    Python,
    Node,
    /// The bare `lambda_runtime` echo binary: no ticket, the lower bound.
    Floor,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Rust => "rust",
            Kind::Python => "python",
            Kind::Node => "node",
            Kind::Floor => "floor",
        }
    }

    /// Whether it files tickets (every runtime but the floor).
    pub fn tickets(self) -> bool {
        self != Kind::Floor
    }

    /// The heading of its column in the tables.
    pub fn column(self) -> &'static str {
        match self {
            Kind::Rust => "rust notifier",
            Kind::Python => "python peer",
            Kind::Node => "node peer",
            Kind::Floor => "floor (echo)",
        }
    }
}

/// How to start one runtime's function process.
#[derive(Clone)]
pub struct Runtime {
    pub kind: Kind,
    program: PathBuf,
    args: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
}

impl Runtime {
    pub fn rust(binary: &Path, extra: &[(String, String)], s: &Services) -> Self {
        let mut env = common_env(s, "notifier");
        env.extend(extra.iter().cloned());
        Runtime {
            kind: Kind::Rust,
            program: binary.to_owned(),
            args: Vec::new(),
            cwd: s.logs.clone(),
            env,
        }
    }

    /// The peer under awslambdaric, the Runtime Interface Client AWS ships
    /// for Python: the same protocol, the same events.
    pub fn python(python: &Path, package: &Path, s: &Services) -> Self {
        let mut env = common_env(s, "python-peer");
        let pkg = package.display().to_string();
        env.extend([
            ("PYTHONPATH".to_owned(), pkg.clone()),
            ("LAMBDA_TASK_ROOT".to_owned(), pkg),
            ("_HANDLER".to_owned(), "handler.handler".to_owned()),
        ]);
        Runtime {
            kind: Kind::Python,
            program: python.to_owned(),
            args: ["-m", "awslambdaric", "handler.handler"]
                .map(str::to_owned)
                .to_vec(),
            cwd: package.to_owned(),
            env,
        }
    }

    /// The Node.js peer under the minimal Runtime API loop in
    /// `peers/node/runtime.mjs` (aws-lambda-ric needs a native build; see
    /// bench/README.md).
    pub fn node(node: &Path, package: &Path, runtime_js: &Path, s: &Services) -> Self {
        let mut env = common_env(s, "node-peer");
        env.extend([
            ("LAMBDA_TASK_ROOT".to_owned(), package.display().to_string()),
            ("_HANDLER".to_owned(), "handler.handler".to_owned()),
            // What the managed nodejs22.x runtime sets.
            (
                "NODE_PATH".to_owned(),
                package.join("node_modules").display().to_string(),
            ),
            (
                "AWS_EXECUTION_ENV".to_owned(),
                "AWS_Lambda_nodejs22.x".to_owned(),
            ),
        ]);
        Runtime {
            kind: Kind::Node,
            program: node.to_owned(),
            args: vec![runtime_js.display().to_string()],
            cwd: package.to_owned(),
            env,
        }
    }

    /// The bare `lambda_runtime` echo binary, in the same environment.
    pub fn floor(binary: &Path, s: &Services) -> Self {
        Runtime {
            kind: Kind::Floor,
            program: binary.to_owned(),
            args: Vec::new(),
            cwd: s.logs.clone(),
            env: common_env(s, "floor"),
        }
    }

    /// The same runtime with `extra` variables set (replacing any of the
    /// same name): the storm's table, desk and reply interval.
    pub fn with_env(&self, extra: &[(&str, String)]) -> Self {
        let mut rt = self.clone();
        for (k, v) in extra {
            rt.env.retain(|(name, _)| name != k);
            rt.env.push(((*k).to_owned(), v.clone()));
        }
        rt
    }

    /// Starts a fresh process. `first` is queued before the spawn, so the
    /// process's first `/next` returns at once and a cold start is timed
    /// from the spawn to its first ticket.
    pub async fn launch(
        &self,
        logs: &Path,
        tag: &str,
        first: Option<Bytes>,
    ) -> Result<Instance, String> {
        let api = RuntimeApi::start(self.kind.label())
            .await
            .map_err(|e| format!("runtime API: {e}"))?;
        let pending = first.map(|e| api.submit(e));
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.address());
        let log = logs.join(format!("{}-{tag}.log", self.kind.label()));
        let spawned = Instant::now();
        let child = Child::spawn(self.kind.label(), &mut cmd, &log)?;
        Ok(Instance {
            kind: self.kind,
            handed: u64::from(pending.is_some()),
            api,
            child,
            spawned,
            log,
            pending,
        })
    }
}

/// The environment Lambda gives a function, plus the notifier's own
/// configuration; both runtimes get exactly the same.
fn common_env(s: &Services, name: &str) -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
    [
        ("PATH", path),
        // An empty home: no developer's ~/.aws config can leak in.
        ("HOME", s.logs.display().to_string()),
        ("LANG", "C.UTF-8".to_owned()),
        ("TZ", "UTC".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", s.sm_proxy.url()),
        // Every runtime reads the execution history of an EventBridge
        // status change from moto, which serves a failed execution's
        // history (SF_EXECUTION_HISTORY_TYPE=FAILURE) for executions the
        // harness starts there before sending their events (`moto`).
        ("AWS_ENDPOINT_URL_SFN", s.moto_url.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]bench".to_owned(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("TICKET_API_URL", s.cases_url()),
        ("CONNECTION_SECRET_ID", s.secret_arn.clone()),
        ("FROM_PERSON_EMAIL", "oncall@example.com".to_owned()),
        ("SECRET_CACHE_TTL_SECONDS", "300".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub struct Instance {
    pub kind: Kind,
    /// Events handed to the process so far (queued at launch or invoked).
    handed: u64,
    pub api: RuntimeApi,
    pub child: Child,
    pub spawned: Instant,
    pub log: PathBuf,
    pending: Option<tokio::sync::oneshot::Receiver<Outcome>>,
}

impl Instance {
    /// Sends `event` and waits for a delivered ticket.
    pub async fn invoke(&mut self, event: Bytes, timeout: Duration) -> Result<Outcome, String> {
        let out = self.invoke_raw(event, timeout).await?;
        self.check(out)
    }

    /// [`Instance::invoke`], with the CPU time the process spent on it:
    /// from the moment it was idle at `/next` waiting for this event to the
    /// moment it is idle at `/next` again, so whatever it does after its
    /// response (a log line, bookkeeping, a GC) counts too. In ms.
    pub async fn invoke_measured(
        &mut self,
        event: Bytes,
        timeout: Duration,
    ) -> Result<(Outcome, Option<f64>), String> {
        // Idle since the last invocation settled (or since the warm-up).
        self.idle(timeout).await?;
        let before = self.child.cpu_now();
        let out = self.invoke(event, timeout).await?;
        self.idle(timeout).await?;
        let after = self.settled().await;
        let cpu = before
            .zip(after)
            .map(|(b, a)| a.saturating_sub(b).as_secs_f64() * 1e3);
        Ok((out, cpu))
    }

    /// The process's CPU clock once it has stopped moving: a runtime that
    /// has sent `/next` may still be finishing up (writing its log, freeing,
    /// parking its threads) for a few hundred microseconds, and that belongs
    /// to the invocation it just answered. Stable means no more than 20 µs
    /// over 1 ms; given up on (the last read taken) after 50 ms.
    async fn settled(&self) -> Option<Duration> {
        let mut last = self.child.cpu_now()?;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let now = self.child.cpu_now()?;
            if now.saturating_sub(last) <= Duration::from_micros(20) {
                return Some(now);
            }
            last = now;
        }
        Some(last)
    }

    /// Waits until the process has finished with every event handed to it
    /// and asks for the next.
    pub async fn idle(&self, timeout: Duration) -> Result<(), String> {
        self.api
            .wait_nexts(self.handed + 1, timeout)
            .await
            .map_err(|e| self.fail(&e))
    }

    /// Sends `event` and waits for its answer, whatever it is: a function
    /// error comes back as `Ok` with `result: Err(body)`. `Err` only when
    /// the process died, failed its init or did not answer in time.
    pub async fn invoke_raw(&mut self, event: Bytes, timeout: Duration) -> Result<Outcome, String> {
        self.handed += 1;
        let rx = self.api.submit(event);
        self.wait(rx, timeout).await
    }

    /// Waits for the event queued at launch.
    pub async fn first(&mut self, timeout: Duration) -> Result<Outcome, String> {
        let rx = self.pending.take().ok_or("no event was queued at launch")?;
        let out = self.wait(rx, timeout).await?;
        self.check(out)
    }

    async fn wait(
        &mut self,
        mut rx: tokio::sync::oneshot::Receiver<Outcome>,
        timeout: Duration,
    ) -> Result<Outcome, String> {
        let until = Instant::now() + timeout;
        let outcome = loop {
            tokio::select! {
                r = &mut rx => break r.map_err(|_| "the runtime API went away".to_owned())?,
                _ = tokio::time::sleep(Duration::from_millis(25)) => {
                    if let Some(e) = self.api.init_error() {
                        return Err(self.fail(&format!("init error: {e}")));
                    }
                    if self.child.exited().is_some() {
                        return Err(self.fail("the process exited"));
                    }
                    if Instant::now() > until {
                        return Err(self.fail(&format!("no answer within {timeout:?}")));
                    }
                }
            }
        };
        Ok(outcome)
    }

    /// An answer that is a delivered ticket (any answer, for the floor).
    fn check(&self, outcome: Outcome) -> Result<Outcome, String> {
        match &outcome.result {
            // The floor echoes its event: any answer is the right one.
            Ok(_) if !self.kind.tickets() => Ok(outcome),
            Ok(body) => {
                let v: Value = serde_json::from_slice(body)
                    .map_err(|_| self.fail("answered with something that is not JSON"))?;
                match v.get("caseUid").and_then(Value::as_str) {
                    Some(uid) if !uid.is_empty() => Ok(outcome),
                    _ => Err(self.fail(&format!("answered without a caseUid: {v}"))),
                }
            }
            Err(body) => Err(self.fail(&format!(
                "function error: {}",
                String::from_utf8_lossy(body)
            ))),
        }
    }

    fn fail(&self, what: &str) -> String {
        format!(
            "{} (pid {}): {what}; log: {}",
            self.kind.label(),
            self.child.pid(),
            self.log.display()
        )
    }
}
