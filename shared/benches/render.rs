//! Micro-benchmarks of the CPU work in one invocation: parse the event JSON,
//! intake, decode the cause and render the case, for every event shape in
//! `events/` and for a 300 KB cause (the worst case the body cap exists for).
//!
//! Network time dominates a real invocation; these numbers show how much of
//! the rest is ours, and guard the 1 ms budget for rendering a huge cause.
//! `make bench` reads the results from `target/criterion/` into its table.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use ticket_bridge::RenderConfig;
use ticket_bridge::intake::ErrorPath;
use ticket_bridge::intake::{Intake, intake};
use ticket_bridge::ticket::render;
use time::OffsetDateTime;

/// Shapes the notifier turns into a ticket. `catch-payload-path` needs
/// `ERROR_PATH`, so it gets its own path below.
fn event_files() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
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

/// A Catch payload whose Lambda cause is about 300 KB: a long message and a
/// deep stack trace, as a crashing JVM or a recursion error produces.
fn huge_cause_event() -> Value {
    let trace: Vec<String> = (0..2_300)
        .map(|i| {
            format!("    at com.example.pipeline.stage{i}.Handler.process(Handler.java:{i}) <\"&'>")
        })
        .collect();
    let message = "upstream said: <error code=\"E42\"> & more ".repeat(2_600);
    let cause = json!({
        "errorType": "java.lang.IllegalStateException",
        "errorMessage": message,
        "stackTrace": trace,
        "requestId": "3e0a1c9b-8f5d-4c63-9d51-2b7f0e6a1d44",
    })
    .to_string();
    assert!(
        (290_000..=320_000).contains(&cause.len()),
        "cause is {} bytes",
        cause.len()
    );
    json!({
        "orderId": "A-1042",
        "customer": {"email": "ann@example.com", "apiKey": "sk_live_do_not_leak"},
        "error": {"Error": "java.lang.IllegalStateException", "Cause": cause},
        "execution": "arn:aws:states:eu-west-1:123456789012:execution:order-pipeline:7f3c2a1e-demo",
        "stateMachine": "order-pipeline",
        "startTime": "2026-11-21T09:58:12.345Z",
        "failedState": "ChargeCard"
    })
}

fn config() -> RenderConfig {
    let lookup = |k: &str| match k {
        "FROM_PERSON_EMAIL" => Some("oncall@example.com".to_owned()),
        "AWS_REGION" => Some("eu-west-1".to_owned()),
        _ => None,
    };
    RenderConfig::from_lookup(&lookup).expect("bench config is valid")
}

/// From the raw bytes Lambda hands the runtime to the case body, as the
/// handler does it.
fn pipeline(raw: &str, cfg: &RenderConfig, path: Option<&ErrorPath>, now: OffsetDateTime) -> usize {
    let event: Value = serde_json::from_str(raw).expect("bench event is JSON");
    match intake(&event, path) {
        Ok(Intake::Failure(f)) => render(&f, cfg, now).body.len(),
        Ok(Intake::Skipped { status }) => status.len(),
        Err(reason) => reason.len(),
    }
}

fn benches(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let plain = config();
    let payload_path = ErrorPath::parse("$.Payload.error").ok();

    let mut group = c.benchmark_group("pipeline");
    for (name, event) in event_files() {
        let path = payload_path
            .as_ref()
            .filter(|_| name == "catch-payload-path");
        let raw = event.to_string();
        group.bench_function(&name, |b| {
            b.iter(|| pipeline(black_box(&raw), &plain, path, now))
        });
    }
    let huge = huge_cause_event();
    let huge_raw = huge.to_string();
    group.bench_function("cause-300KB", |b| {
        b.iter(|| pipeline(black_box(&huge_raw), &plain, None, now))
    });
    group.finish();

    // Rendering alone (decode + escape + cap) of the 300 KB cause: the part
    // with a budget of its own in the performance targets.
    let Ok(Intake::Failure(failure)) = intake(&huge, None) else {
        panic!("the 300 KB event must be a failure");
    };
    let mut group = c.benchmark_group("render");
    group.bench_function("cause-300KB", |b| {
        b.iter(|| render(black_box(&failure), &plain, now))
    });
    group.finish();
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
