//! How the notifier grows with its event: one cold invocation per size, 1 KB
//! to Lambda's 6 MB payload limit, for its peak RSS and the size of the
//! ticket it files. Criterion's `render-scaling` and `parse-scaling` groups
//! (shared/benches/render.rs) time the same events.

use serde_json::{Value, json};

/// The sizes, in 10³ bytes, as criterion names them.
pub const SIZES: [(&str, usize); 4] = [
    ("1KB", 1_000),
    ("64KB", 64_000),
    ("1MB", 1_000_000),
    ("6MB", 6_000_000),
];

/// One size's measurements.
#[derive(Debug, Clone)]
pub struct Point {
    pub name: &'static str,
    pub event_bytes: usize,
    pub ticket_bytes: usize,
    pub peak_rss_kb: u64,
}

/// A Catch payload of about `target` bytes (never more) whose Lambda cause is
/// a long message and stack trace. The same generator as `sized_event` in
/// shared/benches/render.rs: keep them in step.
pub fn sized_event(target: usize) -> Value {
    let build = |units: usize| {
        let trace: Vec<String> = (0..units)
            .map(|i| {
                format!(
                    "    at com.example.pipeline.stage{i}.Handler.process(Handler.java:{i}) <\"&'>"
                )
            })
            .collect();
        let cause = json!({
            "errorType": "java.lang.IllegalStateException",
            "errorMessage": "upstream said: <error code=\"E42\"> & more ".repeat(units),
            "stackTrace": trace,
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
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_within_a_tenth_of_their_size() {
        for (name, bytes) in SIZES.into_iter().take(3) {
            let n = sized_event(bytes).to_string().len();
            assert!(n <= bytes && n * 10 >= bytes * 9, "{name}: {n} bytes");
        }
    }
}
