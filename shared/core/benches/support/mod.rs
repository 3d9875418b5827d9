//! The synthetic events the benchmarks time: one generator, shared by the
//! criterion benches (`shared/core/benches/render.rs`) and the harness's scaling
//! run (`bench/src/scaling.rs`, by `#[path]`), so both describe the same
//! events. A Catch payload whose Lambda cause is a long message and a deep
//! stack trace, as a crashing JVM or a recursion error produces, full of
//! characters that must be escaped.
#![allow(dead_code)]

use serde_json::{Value, json};

/// The Catch payload with `trace` stack lines and `message` repeats.
fn java_failure(trace: usize, message: usize) -> Value {
    let lines: Vec<String> = (0..trace)
        .map(|i| {
            format!("    at com.example.pipeline.stage{i}.Handler.process(Handler.java:{i}) <\"&'>")
        })
        .collect();
    let cause = json!({
        "errorType": "java.lang.IllegalStateException",
        "errorMessage": "upstream said: <error code=\"E42\"> & more ".repeat(message),
        "stackTrace": lines,
        "requestId": "3e0a1c9b-8f5d-4c63-9d51-2b7f0e6a1d44",
    })
    .to_string();
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

/// The worst case the body cap exists for: a cause of about 300 KB.
pub fn huge_cause_event() -> Value {
    let event = java_failure(2_300, 2_600);
    let cause = event["error"]["Cause"].as_str().map_or(0, str::len);
    assert!(
        (290_000..=320_000).contains(&cause),
        "cause is {cause} bytes"
    );
    event
}

/// A Catch payload of about `target` bytes (never more), for the scaling
/// rows: 1 KB to Lambda's 6 MB payload limit.
pub fn sized_event(target: usize) -> Value {
    let build = |units: usize| java_failure(units, units);
    let len = |v: &Value| v.to_string().len();
    let (base, one) = (len(&build(0)), len(&build(1)));
    // Lines grow with their number's digits: shrink until it fits.
    let mut units = target.saturating_sub(base) / (one - base).max(1);
    loop {
        let v = build(units);
        let n = len(&v);
        if n <= target || units == 0 {
            return v;
        }
        units = units * target.saturating_sub(base) / (n - base);
    }
}
