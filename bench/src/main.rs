//! `bench`: the notifier against a Python peer, side by side in one run.
//!
//! Both are real Lambda functions driven through a local Lambda Runtime API
//! (see `runtime_api`), against the same moto, mock-auth and mock-api, with
//! the same events, interleaved. Everything is timed from outside the
//! function processes. See `bench/README.md` for the method and
//! `bench/RESULTS.md` for the latest numbers.

mod http;
mod process;
mod proxy;
mod report;
mod runner;
mod runtime_api;
mod scaling;
mod services;
mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use ticket_bridge::RenderConfig;
use ticket_bridge::intake::{Intake, intake};

use report::{Cold, Report, Run, Warm};
use runner::Runtime;
use services::Services;

const USAGE: &str = "usage: bench [--smoke] [--cold N] [--warm N] [--block N] [--token-ttl SECS]
             [--notifier PATH] [--floor PATH] [--python PATH] [--package DIR]
             [--node PATH] [--node-package DIR] [--out DIR] [--rust-env K=V]...
  --smoke      a few invocations, to prove the harness works (no timing claims)
  --cold N     fresh processes per runtime (default 10; smoke 1)
  --warm N     measured warm invocations per runtime (default 5000; smoke 20)
  --block N    invocations per interleaved block (default 100; smoke 10)
  --token-ttl  mock-auth token lifetime in seconds (default 10)
  --notifier   the notifier binary (default: the one next to this bench
               binary, so a debug bench runs the debug notifier)
  --floor      the bare lambda_runtime echo binary (default: next to this one)
  --rust-env   an extra variable for the notifier only, for experiments
               (e.g. TOKIO_WORKER_THREADS=1); repeatable
  --python     the Python that has awslambdaric and boto3 (default target/bench/venv/bin/python)
  --package    the peer's deployment package dir (default target/bench/python-package)
  --node       Node.js 22 (default target/bench/node22/bin/node)
  --node-package  the Node peer's package with its node_modules
               (default target/bench/node-package-with-sdk)
  --out DIR    where results.json, results.md and logs go (default target/bench)";

/// Shapes every runtime turns into a ticket with the default configuration
/// (`catch-payload-path` needs ERROR_PATH; the others are not failures).
const SKIP: &[&str] = &[
    "catch-payload-path",
    "eventbridge-succeeded",
    "invalid-no-error",
];
/// The event each cold start delivers: the demo's.
const COLD_EVENT: &str = "catch-lambda";

pub struct Opts {
    pub smoke: bool,
    pub cold: usize,
    pub warm: usize,
    pub block: usize,
    pub warmup: usize,
    pub token_ttl: u64,
    pub root: PathBuf,
    pub notifier: PathBuf,
    pub floor: PathBuf,
    pub rust_env: Vec<(String, String)>,
    pub python: PathBuf,
    pub package: PathBuf,
    pub node: PathBuf,
    pub node_package: PathBuf,
    pub out: PathBuf,
}

/// A binary built by the same `cargo build` as this one: `target/release/X`
/// for `make bench`, `target/debug/X` for `make bench-smoke`, which claims
/// no timings and so reuses `make test`'s debug build.
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn parse_args() -> Result<Opts, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .ok_or("no workspace root")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut o = Opts {
        smoke,
        cold: if smoke { 1 } else { 10 },
        warm: if smoke { 20 } else { 5000 },
        block: if smoke { 10 } else { 100 },
        warmup: if smoke { 3 } else { 50 },
        token_ttl: 10,
        notifier: sibling("notifier"),
        floor: sibling("floor"),
        rust_env: Vec::new(),
        python: root.join("target/bench/venv/bin/python"),
        package: root.join("target/bench/python-package"),
        node: root.join("target/bench/node22/bin/node"),
        node_package: root.join("target/bench/node-package-with-sdk"),
        out: root.join("target/bench"),
        root,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or(format!("{a} needs a value\n{USAGE}"))
        };
        let num = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--smoke" => {}
            "--cold" => o.cold = num(val()?)?.max(1),
            "--warm" => o.warm = num(val()?)?.max(1),
            "--block" => o.block = num(val()?)?.max(1),
            "--token-ttl" => o.token_ttl = num(val()?)?.max(2) as u64,
            "--notifier" => o.notifier = val()?.into(),
            "--floor" => o.floor = val()?.into(),
            "--node" => o.node = val()?.into(),
            "--node-package" => o.node_package = val()?.into(),
            "--rust-env" => {
                let kv = val()?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or(format!("--rust-env wants K=V, got {kv}"))?;
                o.rust_env.push((k.to_owned(), v.to_owned()));
            }
            "--python" => o.python = val()?.into(),
            "--package" => o.package = val()?.into(),
            "--out" => o.out = val()?.into(),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    // Absolute, because each function process runs in its own directory.
    for (what, p) in [
        ("notifier", &mut o.notifier),
        ("floor", &mut o.floor),
        ("python", &mut o.python),
        ("package", &mut o.package),
        ("node", &mut o.node),
        ("node-package", &mut o.node_package),
    ] {
        *p = std::path::absolute(&*p).map_err(|e| format!("{what}: {e}"))?;
        if !p.exists() {
            return Err(format!(
                "{what} not found at {} (run `make bench`, which builds and installs it)",
                p.display()
            ));
        }
    }
    o.out = std::path::absolute(&o.out).map_err(|e| format!("--out: {e}"))?;
    Ok(o)
}

#[tokio::main]
async fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: cannot watch SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    // Dropping `run` on a signal drops every child handle, which stops it.
    let result = tokio::select! {
        r = run(&opts) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
        _ = term.recv() => Err("terminated".to_owned()),
    };
    match result {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            std::process::exit(1);
        }
    }
}

struct Event {
    name: String,
    value: Value,
    /// The case body the notifier renders for it, for mock-api's baseline.
    case: Bytes,
}

impl Event {
    /// The event as the `n`th distinct failure. The notifier files one
    /// ticket per failure and answers repeats from its dedupe memory, so
    /// replaying one event would measure that shortcut, not a ticket.
    fn nth(&self, n: u64) -> Bytes {
        let mut v = self.value.clone();
        let name = format!("bench-{n:08}");
        let rename = |arn: &mut Value| {
            if let Some(s) = arn.as_str()
                && let Some((head, _)) = s.rsplit_once(':')
            {
                *arn = Value::String(format!("{head}:{name}"));
            }
        };
        if let Some(arn) = v.get_mut("execution") {
            rename(arn);
        } else if let Some(d) = v.get_mut("detail").and_then(Value::as_object_mut) {
            if let Some(arn) = d.get_mut("executionArn") {
                rename(arn);
            }
            d.insert("name".to_owned(), Value::String(name.clone()));
        } else if let Some(Value::String(cause)) = v.get_mut("Cause") {
            // No execution at all (a bare error): only its content tells
            // failures apart.
            cause.push_str(&format!(" ({name})"));
        }
        if let Some(Value::Array(res)) = v.get_mut("resources") {
            res.iter_mut().for_each(rename);
        }
        serde_json::to_vec(&v).map(Bytes::from).unwrap_or_default()
    }
}

/// Hands out distinct failures, so no two invocations share one.
#[derive(Default)]
pub struct Seq(u64);

impl Seq {
    fn next(&mut self, e: &Event) -> Bytes {
        self.0 += 1;
        e.nth(self.0)
    }
}

async fn run(o: &Opts) -> Result<(), String> {
    let started = Instant::now();
    let logs = o.out.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let events = load_events(&o.root)?;
    println!(
        "bench: {} mode: {} cold starts and {} warm invocations per runtime, {} event shapes",
        if o.smoke { "smoke" } else { "full" },
        o.cold,
        o.warm,
        events.len()
    );

    if !o.smoke && !services::RELEASE {
        eprintln!(
            "bench: WARNING: a debug build of the harness runs debug functions; its timings mean nothing (make bench builds release)"
        );
    }
    let s = Services::start(&o.root, &logs, o.token_ttl).await?;
    println!(
        "bench: moto, mock-auth and mock-api are up ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    // Column order in the tables: the notifier, its peers, the floor.
    let runtimes = [
        Runtime::rust(&o.notifier, &o.rust_env, &s),
        Runtime::node(
            &o.node,
            &o.node_package,
            &o.root.join("bench/peers/node/runtime.mjs"),
            &s,
        ),
        Runtime::python(&o.python, &o.package, &s),
        Runtime::floor(&o.floor, &s),
    ];

    let mut seq = Seq::default();
    let cold = cold_phase(o, &s, &runtimes, &events, &mut seq).await?;
    println!(
        "bench: cold starts done ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let scaling = scaling_phase(&s, &runtimes[0], &mut seq).await?;
    println!(
        "bench: one invocation per event size done ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let (warm, baseline, span) = warm_phase(o, &s, &runtimes, &events, &mut seq).await?;
    let runs = runtimes
        .iter()
        .zip(cold.into_iter().zip(warm))
        .map(|(rt, (cold, warm))| Run {
            kind: rt.kind,
            cold,
            warm,
        })
        .collect();
    println!(
        "bench: warm runs done ({:.1} s)",
        started.elapsed().as_secs_f64()
    );

    let report = Report::new(o, runs, scaling, baseline, span, &s)?;
    let table = report.table();
    println!("\n{table}");
    let json = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
    for (name, text) in [("results.json", json), ("results.md", report.markdown())] {
        let p = o.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    println!(
        "bench: wrote {} and results.md; logs in {} ({:.1} s in all)",
        o.out.join("results.json").display(),
        logs.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn load_events(root: &Path) -> Result<Vec<Event>, String> {
    let dir = root.join("events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let cfg = render_config()?;
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        if SKIP.contains(&name.as_str()) {
            continue;
        }
        let raw = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let value: Value =
            serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", p.display()))?;
        let case = case_body(&value, &cfg)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .into();
        out.push(Event { name, value, case });
    }
    if !out.iter().any(|e| e.name == COLD_EVENT) {
        return Err(format!("events/{COLD_EVENT}.json is missing"));
    }
    Ok(out)
}

/// The notifier's rendering configuration in the harness's environment.
fn render_config() -> Result<RenderConfig, String> {
    RenderConfig::from_lookup(&|k: &str| match k {
        "FROM_PERSON_EMAIL" => Some("oncall@example.com".to_owned()),
        "AWS_REGION" => Some(services::REGION.to_owned()),
        _ => None,
    })
    .map_err(|e| format!("render config: {e}"))
}

/// The case body the notifier POSTs for `event`.
fn case_body(event: &Value, cfg: &RenderConfig) -> Result<Vec<u8>, String> {
    let Ok(Intake::Failure(f)) = intake(event, None) else {
        return Err("not a failure the notifier tickets".to_owned());
    };
    let now = time::OffsetDateTime::now_utc();
    let ticket = ticket_bridge::ticket::render(&f, cfg, now);
    let filing = ticket_bridge::config::filing(&|k: &str| {
        (k == "FROM_PERSON_EMAIL").then(|| "oncall@example.com".to_owned())
    })
    .map_err(|e| format!("filing: {e}"))?;
    serde_json::to_vec(&ticket_bridge_outseta::case_body(&ticket, &filing))
        .map_err(|e| e.to_string())
}

/// One fresh notifier per event size, for its peak RSS over one invocation
/// and the size of the ticket it files (see `scaling`).
async fn scaling_phase(
    s: &Services,
    notifier: &Runtime,
    seq: &mut Seq,
) -> Result<Vec<scaling::Point>, String> {
    let cfg = render_config()?;
    let mut out = Vec::new();
    for (name, bytes) in scaling::SIZES {
        let value = scaling::sized_event(bytes);
        let case = case_body(&value, &cfg).map_err(|e| format!("{name} event: {e}"))?;
        let event = Event {
            name: name.to_owned(),
            value,
            case: case.into(),
        };
        let raw = seq.next(&event);
        let event_bytes = raw.len();
        let mut inst = notifier
            .launch(&s.logs, &format!("size-{name}"), Some(raw))
            .await?;
        inst.first(Duration::from_secs(120)).await?;
        let peak = inst.child.peak_rss_kb();
        let usage = inst
            .child
            .stop(Duration::ZERO)
            .ok_or("could not reap a scaling process")?;
        out.push(scaling::Point {
            name,
            event_bytes,
            ticket_bytes: event.case.len(),
            peak_rss_kb: peak.unwrap_or(usage.max_rss_kb),
        });
    }
    Ok(out)
}

/// Fresh processes, alternating which runtime goes first, each timed from
/// spawn to its first delivered ticket, then killed.
async fn cold_phase(
    o: &Opts,
    s: &Services,
    runtimes: &[Runtime],
    events: &[Event],
    seq: &mut Seq,
) -> Result<Vec<Cold>, String> {
    let event = events
        .iter()
        .find(|e| e.name == COLD_EVENT)
        .ok_or("no cold-start event")?;
    let mut cold: Vec<Cold> = runtimes.iter().map(|_| Cold::default()).collect();
    let n = runtimes.len();
    for round in 0..o.cold {
        // Each round starts with a different runtime.
        for i in (0..n).map(|k| (round + k) % n) {
            let rt = &runtimes[i];
            let (reads0, fetches0) = (s.secret_reads(), s.token_fetches());
            s.sm_proxy.trace_start();
            s.token_proxy.trace_start();
            let mut inst = rt
                .launch(&s.logs, &format!("cold-{round}"), Some(seq.next(event)))
                .await?;
            let out = inst.first(Duration::from_secs(120)).await?;
            let peak = inst.child.peak_rss_kb();
            let usage = inst
                .child
                .stop(Duration::ZERO)
                .ok_or("could not reap a cold process")?;
            let c = &mut cold[i];
            // Where the time went: the first Secrets Manager read and token
            // fetch, as the proxies saw them.
            let waited = |seen: Vec<proxy::Seen>, key: &str| {
                seen.iter()
                    .find(|x| x.key == key)
                    .map(|x| (ms(x.arrived - inst.spawned), ms(x.answered - x.arrived)))
                    .unwrap_or_default()
            };
            c.secret_read
                .push(waited(s.sm_proxy.trace_take(), services::SECRET_READ));
            c.token_fetch
                .push(waited(s.token_proxy.trace_take(), services::TOKEN_FETCH));
            c.total_ms.push(ms(out.finished - inst.spawned));
            c.init_ms.push(ms(
                inst.api.first_next().unwrap_or(out.started) - inst.spawned
            ));
            c.cpu_ms.push(usage.cpu.as_secs_f64() * 1e3);
            c.rss_kb.push(peak.unwrap_or(usage.max_rss_kb));
            c.secret_reads.push(s.secret_reads() - reads0);
            c.token_fetches.push(s.token_fetches() - fetches0);
        }
    }
    Ok(cold)
}

/// One warm process per runtime plus mock-api on its own, in interleaved
/// blocks over the same events, so drift on the machine hits all three.
async fn warm_phase(
    o: &Opts,
    s: &Services,
    runtimes: &[Runtime],
    events: &[Event],
    seq: &mut Seq,
) -> Result<(Vec<Warm>, Vec<f64>, Duration), String> {
    let timeout = Duration::from_secs(30);
    let mut insts = Vec::new();
    for rt in runtimes {
        let mut inst = rt
            .launch(&s.logs, "warm", Some(seq.next(&events[0])))
            .await?;
        inst.first(Duration::from_secs(120)).await?;
        for k in 1..o.warmup {
            inst.invoke(seq.next(&events[k % events.len()]), timeout)
                .await?;
        }
        insts.push(inst);
    }
    let mut base = Baseline::new(s).await?;
    for k in 0..o.warmup {
        base.call(&events[k % events.len()]).await?;
    }

    let mut warm: Vec<Warm> = runtimes.iter().map(|_| Warm::default()).collect();
    // One slot per runtime plus mock-api's baseline, rotating.
    let slots = runtimes.len() + 1;
    let cpu0: Vec<Duration> = insts
        .iter()
        .map(|i| i.child.live().map(|l| l.cpu).unwrap_or_default())
        .collect();
    let mut baseline = Vec::with_capacity(o.warm);
    let rounds = o.warm.div_ceil(o.block);
    let phase_start = Instant::now();
    let mut n = 0;
    for round in 0..rounds {
        let size = o.block.min(o.warm - round * o.block);
        for slot in 0..slots {
            let who = (round + slot) % slots;
            if who == runtimes.len() {
                for k in 0..size {
                    let e = &events[(n + k) % events.len()];
                    baseline.push(base.call(e).await?);
                }
                continue;
            }
            let inst = &mut insts[who];
            let (reads0, fetches0) = (s.secret_reads(), s.token_fetches());
            for k in 0..size {
                let e = &events[(n + k) % events.len()];
                let out = inst.invoke(seq.next(e), timeout).await?;
                warm[who].latency_ms.push(ms(out.finished - out.started));
            }
            warm[who].secret_reads += s.secret_reads() - reads0;
            warm[who].token_fetches += s.token_fetches() - fetches0;
        }
        n += size;
    }
    let span = phase_start.elapsed();
    for (i, inst) in insts.iter_mut().enumerate() {
        let peak = inst.child.peak_rss_kb();
        let usage = inst
            .child
            .stop(Duration::ZERO)
            .ok_or("could not reap a warm process")?;
        warm[i].cpu_ms_per_invocation =
            usage.cpu.saturating_sub(cpu0[i]).as_secs_f64() * 1e3 / o.warm as f64;
        warm[i].peak_rss_kb = peak.unwrap_or(usage.max_rss_kb);
    }
    Ok((warm, baseline, span))
}

/// mock-api's own service time: the same case bodies, POSTed straight from
/// the harness with the same HTTP stack the notifier uses (reqwest, keep-alive).
struct Baseline<'a> {
    s: &'a Services,
    client: reqwest::Client,
    token: String,
    token_at: Instant,
}

impl<'a> Baseline<'a> {
    async fn new(s: &'a Services) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Baseline {
            token: s.direct_token().await?,
            token_at: Instant::now(),
            client,
            s,
        })
    }

    async fn call(&mut self, e: &Event) -> Result<f64, String> {
        // Refreshed outside the timed part: the baseline is mock-api alone.
        if self.token_at.elapsed() > Duration::from_secs(self.s.token_ttl) / 2 {
            self.token = self.s.direct_token().await?;
            self.token_at = Instant::now();
        }
        let t0 = Instant::now();
        let r = self
            .client
            .post(self.s.cases_url())
            .query(&[("sendAutoResponder", "false")])
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(e.case.clone())
            .send()
            .await
            .map_err(|err| format!("mock-api baseline: {err}"))?;
        let status = r.status();
        let body = r
            .bytes()
            .await
            .map_err(|err| format!("mock-api baseline: {err}"))?;
        let took = ms(t0.elapsed());
        let uid = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("Uid").and_then(Value::as_str).map(str::to_owned));
        match uid {
            Some(_) if status.is_success() => Ok(took),
            _ => Err(format!(
                "mock-api baseline: HTTP {status} for {}: {}",
                e.name,
                String::from_utf8_lossy(&body)
            )),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
