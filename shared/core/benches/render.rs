//! Micro-benchmarks of the CPU work in one invocation: parse the event JSON,
//! intake, decode the cause and render the case, for every event shape in
//! `events/` and for a 300 KB cause (the worst case the body cap exists for).
//!
//! Network time dominates a real invocation; these numbers show how much of
//! the rest is ours. `render/X` against `parse/X` (serde_json parsing the
//! same event into a `Value`, the least any handler does with it) is the
//! yardstick the targets use, and `render-scaling` / `parse-scaling` over
//! events of 1 KB to 6 MB (Lambda's payload limit) show the growth is
//! linear at worst. `make bench` reads the results from
//! `target/criterion/` into its table and results.json.
//!
//! Every render runs as the notifier's does in a warm container: with the
//! render settings rebuilt from its redaction gate (`Notifier::render_config`),
//! a gate that has pinned the connection's secret values and learnt three
//! rotated OAuth tokens (`warm_gate`), so every text is masked against all
//! of them, not by the key rules alone.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::Value;
use ticket_bridge::RenderConfig;
use ticket_bridge::intake::ErrorPath;
use ticket_bridge::intake::{Intake, intake};
use ticket_bridge::redact::Gate;
use ticket_bridge::ticket::render;
use time::OffsetDateTime;

mod support;
use support::{huge_cause_event, sized_event};

/// Shapes the notifier turns into a ticket. `catch-payload-path` needs
/// `ERROR_PATH`, so it gets its own config below.
fn event_files() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for path in names {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_owned();
        let raw = std::fs::read_to_string(&path).expect("event file is readable");
        let value: Value = serde_json::from_str(&raw).expect("event file is JSON");
        out.push((name, value));
    }
    out
}

/// The scaling sizes: 1 KB to Lambda's 6 MB payload limit (10³ bytes).
const SIZES: [(&str, usize); 4] = [
    ("1KB", 1_000),
    ("64KB", 64_000),
    ("1MB", 1_000_000),
    ("6MB", 6_000_000),
];

fn config() -> RenderConfig {
    let lookup = |k: &str| match k {
        "FROM_PERSON_EMAIL" => Some("oncall@example.com".to_owned()),
        "AWS_REGION" => Some("eu-west-1".to_owned()),
        _ => None,
    };
    RenderConfig::from_lookup(&lookup).expect("bench config is valid")
}

/// The gate of a warm container, as the notifier's caches teach it
/// (shared/http): the secret cache pins `Connection::secret_values` of an
/// OAuth client-credentials connection that also sends a secret invocation
/// header (its client secret and the header's value); the executor learns
/// each token it is handed and its `Bearer` header value, whole and bare.
/// Three tokens have rotated through it, each shaped like the JWTs OAuth
/// servers issue.
fn warm_gate(base: &RenderConfig) -> Gate {
    let gate = Gate::new(base.redactor.clone());
    gate.pin([CLIENT_SECRET, "ak_live_Wb8nK2pL9xQz4Rv7Yc1Tm6Hs3Jd0Fg5A"]);
    for rotation in 0..3 {
        let token = token(rotation);
        gate.learn([token.as_str()]);
        let bearer = format!("Bearer {token}");
        gate.learn([bearer.as_str(), token.as_str()]);
    }
    gate
}

const CLIENT_SECRET: &str = "cs-8Yc2vQk7Lr4mNw9Zt1Bx6Hf3Jp0Ds5Ga";

/// The `rotation`th access token: a header, 220 characters of claims and a
/// signature, base64url like a JWT.
fn token(rotation: usize) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let claims: String = (0..220)
        .map(|i| char::from(B64[(i * 7 + rotation * 13) % 64]))
        .collect();
    format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{claims}.sig{rotation}")
}

/// What the notifier renders with, per invocation: its settings with the
/// gate's redactor, every secret it knows by now.
fn gated(plain: &RenderConfig, gate: &Gate) -> RenderConfig {
    RenderConfig {
        redactor: gate.redactor(),
        ..plain.clone()
    }
}

/// From the raw bytes Lambda hands the runtime to the case body, as the
/// handler does it.
fn pipeline(
    raw: &str,
    plain: &RenderConfig,
    gate: &Gate,
    path: Option<&ErrorPath>,
    now: OffsetDateTime,
) -> usize {
    let event: Value = serde_json::from_str(raw).expect("bench event is JSON");
    match intake(&event, path) {
        Ok(Intake::Failure(f)) => render(&f, &gated(plain, gate), now).body.len(),
        Ok(Intake::Skipped { status }) => status.len(),
        Err(reason) => reason.len(),
    }
}

fn benches(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let plain = config();
    let gate = warm_gate(&plain);
    assert_eq!(
        gate.known(),
        8,
        "the connection's 2 values and 3 tokens with their headers"
    );
    let payload_path = ErrorPath::parse("$.Payload.error").ok();

    let mut group = c.benchmark_group("pipeline");
    for (name, event) in event_files() {
        let path = payload_path
            .as_ref()
            .filter(|_| name == "catch-payload-path");
        let raw = event.to_string();
        group.bench_function(&name, |b| {
            b.iter(|| pipeline(black_box(&raw), &plain, &gate, path, now))
        });
    }
    let huge = huge_cause_event();
    let huge_raw = huge.to_string();
    group.bench_function("cause-300KB", |b| {
        b.iter(|| pipeline(black_box(&huge_raw), &plain, &gate, None, now))
    });
    group.finish();

    // Rendering alone (decode + escape + cap) of the 300 KB cause: the part
    // with a budget of its own in the performance targets.
    let Ok(Intake::Failure(failure)) = intake(&huge, None) else {
        panic!("the 300 KB event must be a failure");
    };
    let catch = event_files()
        .into_iter()
        .find(|(n, _)| n == "catch-lambda")
        .map(|(_, v)| v)
        .expect("events/catch-lambda.json");
    let Ok(Intake::Failure(catch_failure)) = intake(&catch, None) else {
        panic!("catch-lambda must be a failure");
    };
    let catch_raw = catch.to_string();
    // The gate is live: a cause that echoes the client secret and the
    // oldest token, bare, comes out with neither.
    let mut echo = catch.clone();
    echo["error"]["Cause"] =
        Value::String(format!("upstream echoed {CLIENT_SECRET} and {}", token(0)));
    let Ok(Intake::Failure(echoed)) = intake(&echo, None) else {
        panic!("the echo event must be a failure");
    };
    let body = render(&echoed, &gated(&plain, &gate), now).body;
    assert!(
        !body.contains(CLIENT_SECRET) && !body.contains(&token(0)) && body.contains("[REDACTED]"),
        "the warm gate must mask the connection's values and the tokens"
    );
    let mut group = c.benchmark_group("render");
    group.bench_function("cause-300KB", |b| {
        b.iter(|| render(black_box(&failure), &gated(&plain, &gate), now))
    });
    group.bench_function("catch-lambda", |b| {
        b.iter(|| render(black_box(&catch_failure), &gated(&plain, &gate), now))
    });
    group.finish();

    // The yardstick: serde_json parsing the same raw event into a Value.
    let mut group = c.benchmark_group("parse");
    for (name, raw) in [("cause-300KB", &huge_raw), ("catch-lambda", &catch_raw)] {
        group.bench_function(name, |b| {
            b.iter(|| serde_json::from_str::<Value>(black_box(raw)).map(|v| v.is_object()))
        });
    }
    group.finish();

    // Growth with the event's size, 1 KB to 6 MB: render (decode + escape +
    // cap, from the intake's failure, as `render/...`) and parse.
    let sized: Vec<(&str, String, Box<ticket_bridge::intake::Failure>)> = SIZES
        .iter()
        .map(|&(name, bytes)| {
            let v = sized_event(bytes);
            let raw = v.to_string();
            assert!(
                raw.len() <= bytes && raw.len() * 10 >= bytes * 9,
                "{name} event is {} bytes",
                raw.len()
            );
            let Ok(Intake::Failure(f)) = intake(&v, None) else {
                panic!("the {name} event must be a failure");
            };
            (name, raw, f)
        })
        .collect();
    let mut group = c.benchmark_group("render-scaling");
    group.sample_size(10);
    for (name, _, f) in &sized {
        group.bench_with_input(BenchmarkId::from_parameter(name), f, |b, f| {
            b.iter(|| render(black_box(f), &gated(&plain, &gate), now))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("parse-scaling");
    group.sample_size(10);
    for (name, raw, _) in &sized {
        group.bench_with_input(BenchmarkId::from_parameter(name), raw, |b, raw| {
            b.iter(|| serde_json::from_str::<Value>(black_box(raw)).map(|v| v.is_object()))
        });
    }
    group.finish();
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
