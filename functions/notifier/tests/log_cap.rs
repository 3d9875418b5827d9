//! No log line exceeds `LOG_EVENT_MAX_BYTES`, whatever the input: events up
//! to 6 MB, of every texture (plain, quotes and backslashes that double when
//! escaped, control characters that grow sixfold, multi-byte text), down
//! every path that logs an event (invalid, unparseable, not delivered).

mod support;

use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;

const CAP: usize = 16 * 1024;

fn connection() -> Value {
    json!({"api_key_name": "Authorization", "api_key_value": "Outseta K:S-cap"})
}

fn filler(texture: u8, bytes: usize) -> String {
    let unit = match texture {
        0 => "abcdefgh",
        1 => "\"\\\"\\",
        2 => "\u{1}\u{2}\u{7}\u{1f}",
        _ => "é漢🦀",
    };
    unit.repeat(bytes / unit.len() + 1)
}

fn event(path: u8, text: &str) -> String {
    match path {
        // Valid JSON, not a failure.
        0 => json!({"note": text, "more": [text]}).to_string(),
        // A failure nobody can deliver (the API port is closed).
        1 => json!({"error": {"Error": "E", "Cause": text}, "input": {"blob": text}}).to_string(),
        // Nested past serde's recursion limit: not usable JSON.
        _ => format!(
            "{{\"note\":{},\"x\":{}{}}}",
            json!(text),
            "[".repeat(200),
            "]".repeat(200)
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_log_line_fits_the_cap(
        size in prop::sample::select(vec![1_000usize, 64 * 1024, 1 << 20, 6 << 20]),
        texture in 0u8..4,
        path in 0u8..3,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let cap = CAP.to_string();
            let n = memory_notifier(
                &connection(),
                "http://127.0.0.1:9/api/v1/support/cases",
                &[("LOG_EVENT_MAX_BYTES", cap.as_str()), ("MAX_ATTEMPTS", "1")],
            );
            let raw = event(path, &filler(texture, size));
            let (logs, _g) = capture_logs();
            let result = invoke_raw(&n, &raw).await;
            prop_assert!(result.is_err(), "every path here ends in an error");
            let text = logs.text();
            let mut saw_event = false;
            for line in text.lines() {
                prop_assert!(line.len() <= CAP, "a {}-byte line (cap {CAP}) for size {size} texture {texture} path {path}", line.len());
                saw_event |= line.contains("\"event\":");
            }
            prop_assert!(saw_event, "the event is still in the log, cut");
            if size > CAP {
                prop_assert!(text.contains("[truncated: "), "the cut is visible");
            }
            Ok(())
        })?;
    }
}
