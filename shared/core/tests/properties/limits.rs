//! Limits: Lambda's payload sizes and deep nesting. Every event here is
//! at a size or depth the notifier can be handed, and must render under
//! the caps with the same promises as the generated ones (`assert_safe`).

use ticket_bridge::ticket::SUBJECT_MAX;

use super::*;

/// A Catch-shaped event of about `size` bytes: half of it a huge input full
/// of sensitive keys and characters that grow when escaped, half a Lambda
/// cause with a huge message and stack trace.
fn big_catch_event(size: usize) -> Value {
    let canary = "Canary424242Secret";
    let item = json!({"id": "<&>\"'", "password": canary, "note": "é😀 <x-canary> & more"});
    let per_item = item.to_string().len() + 1;
    let items: Vec<Value> = (0..size / 2 / per_item).map(|_| item.clone()).collect();
    let line = "  at handler (index.js:1:1) <&>";
    let lines = size / 4 / (line.len() + 3);
    let cause = json!({
        "errorType": "Error",
        "errorMessage": format!("{} password={canary}", "<&>\"'".repeat(size / 4 / 5 / 6)),
        "stackTrace": vec![line; lines],
    })
    .to_string();
    json!({"error": {"Error": "Error", "Cause": cause}, "execution": ARN,
           "stateMachine": "orders", "failedState": "Charge", "input": {"items": items}})
}

fn assert_renders_under_the_cap(event: &Value) {
    let case = render_ok(event);
    assert_safe(event, &case);
    assert!(case.body.contains("truncated"), "no truncation note");
    assert!(case.body.contains("Filed by"), "footer lost");
    assert!(case.body.contains("Input (redacted)"), "input section lost");
}

/// Lambda's asynchronous invocation limit (a Step Functions Catch path or
/// an EventBridge rule invokes asynchronously at most this much).
#[test]
fn a_256_kib_event_renders_under_the_cap() {
    let event = big_catch_event(256 * 1024);
    let len = event.to_string().len();
    assert!((200 * 1024..=256 * 1024).contains(&len), "{len} bytes");
    assert_renders_under_the_cap(&event);
}

/// Lambda's synchronous invocation limit: a task state invoking the
/// notifier directly can hand over this much.
#[test]
fn a_6_mib_event_renders_under_the_cap() {
    let event = big_catch_event(6 * 1024 * 1024);
    let len = event.to_string().len();
    assert!((5_000_000..=6 * 1024 * 1024).contains(&len), "{len} bytes");
    assert_renders_under_the_cap(&event);
}

/// The same size as one EventBridge input string (which intake parses) and
/// one enormous Error name (which also becomes the Subject).
#[test]
fn a_6_mib_eventbridge_input_and_error_name_render_under_the_cap() {
    let input = big_catch_event(3 * 1024 * 1024)["input"].to_string();
    let event = json!({"detail-type": STATUS_CHANGE, "region": "eu-west-1",
        "detail": {"status": "FAILED", "executionArn": ARN, "name": "run-42",
                   "error": "<&>\n".repeat(3 * 1024 * 1024 / 4), "cause": null, "input": input}});
    let case = render_ok(&event);
    assert_safe(&event, &case);
    assert_eq!(case.subject.chars().count(), SUBJECT_MAX);
}

fn nested_text(depth: usize, open: &str, close: &str, leaf: &str) -> String {
    format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
}

/// serde_json stops at 128 levels with an error instead of recursing on:
/// the notifier's every parse (the runtime payload, `render`'s file, an
/// EventBridge input string, a JSON Cause) goes through it, so a
/// 10,000-level event is rejected there, never walked.
#[test]
fn ten_thousand_levels_of_json_are_rejected_by_the_parser() {
    for text in [
        nested_text(10_000, "[", "]", "1"),
        nested_text(10_000, "{\"a\":", "}", "1"),
        nested_text(5_000, "[{\"password\":", "}]", "\"x\""),
    ] {
        let err = serde_json::from_str::<Value>(&text).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        harness::intake(text.as_bytes());
        harness::render(text.as_bytes());
        harness::decode(text.as_bytes());
    }
}

/// Nested text inside strings is kept as text: an EventBridge input or a
/// Cause 10,000 levels deep renders, cut to its cap, without being walked.
#[test]
fn ten_thousand_levels_inside_strings_are_flattened_to_text() {
    let deep = nested_text(10_000, "{\"password\":", "}", "\"Canary777777Secret\"");
    let event = json!({"detail-type": STATUS_CHANGE, "region": "eu-west-1",
        "detail": {"status": "FAILED", "executionArn": ARN, "error": "E", "cause": deep, "input": deep}});
    let case = render_ok(&event);
    assert_safe(&event, &case);
    assert!(case.body.contains("truncated"), "{}", case.body);
}

/// An event nested as deep as the parser allows, `count` times over, about
/// `size` bytes: the deepest and widest input that can reach `render`.
fn nested_to_the_limit(size: usize) -> Value {
    // 125 levels inside `input`'s array inside the event object: 127 in all.
    let one = nested_text(125, "[", "]", "1");
    let count = size / (one.len() + 1);
    let text = format!(
        "{{\"error\":{{\"Error\":\"E\",\"Cause\":\"c\"}},\"input\":[{}]}}",
        vec![one.as_str(); count].join(",")
    );
    serde_json::from_str(&text).expect("within serde_json's recursion limit")
}

fn on_stack(bytes: usize, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("a thread")
        .join()
        .expect("no panic");
}

/// The deepest event the parser lets through renders on a 512 KiB stack
/// (a quarter of a tokio worker's), so per-level stack use stays small.
#[test]
fn the_deepest_parsable_event_renders_on_a_small_stack() {
    on_stack(512 * 1024, || {
        let event = nested_to_the_limit(1024);
        assert_renders_safely(&event);
    });
}

/// The same at Lambda's asynchronous size. Pretty-printing is quadratic in
/// depth, so this is the interesting case for time and memory (see the
/// ignored 6 MiB test below).
#[test]
fn a_256_kib_event_nested_to_the_parser_limit_renders_under_the_cap() {
    assert_renders_under_the_cap(&nested_to_the_limit(256 * 1024));
}

/// OPEN BUG (reported): `ticket::render` pretty-prints the whole redacted
/// input (and a JSON cause or response body) before cutting it to its cap.
/// Indentation makes that quadratic in depth: this 6 MiB event, legal for a
/// synchronous invoke, becomes an 805 MB string (4.3 s, 1.5 GB RSS in a
/// release build) to keep 16 KiB of it. Un-ignore once `pretty` stops at
/// the cap; it then runs in well under a second.
#[test]
fn a_6_mib_event_nested_to_the_parser_limit_renders_under_the_cap() {
    assert_renders_under_the_cap(&nested_to_the_limit(6 * 1024 * 1024));
}

fn assert_renders_safely(event: &Value) {
    let case = render_ok(event);
    assert_safe(event, &case);
}

/// A `Value` nested `depth` levels, built by hand: past serde_json's limit
/// only through the library API, never from the wire.
fn deep_value(depth: usize) -> Value {
    let mut v = json!({"password": "Canary888888Secret"});
    for i in 0..depth {
        v = if i % 2 == 0 {
            Value::Array(vec![v])
        } else {
            // Not `json!({"k": v})`: that serialises `v` into a copy, which
            // makes building quadratic.
            Value::Object(Map::from_iter([("k".to_owned(), v)]))
        };
    }
    v
}

/// A Catch event around `input`, moved in rather than copied by `json!`.
fn catch_event_with_input(input: Value) -> Value {
    let mut event = json!({"error": {"Error": "E", "Cause": "c"}});
    event["input"] = input;
    event
}

/// Intake, redaction and rendering recurse once per level, no more than
/// serde_json's own `Drop` for `Value` does: what fits a 2 MiB stack when
/// merely dropped (about 1,000 levels in a debug build) also renders.
#[test]
fn a_hand_built_1_000_level_event_renders_on_a_2_mib_stack() {
    on_stack(2 * 1024 * 1024, || {
        let event = catch_event_with_input(deep_value(1_000));
        assert_renders_safely(&event);
    });
}

/// 10,000 levels overflow a 2 MiB and even an 8 MiB stack in serde_json's
/// recursive `Drop` alone, before our code runs; given the stack that drop
/// needs, intake and redaction handle it (no unbounded recursion of ours).
#[test]
fn a_hand_built_10_000_level_event_is_taken_in_and_redacted_given_drop_s_stack() {
    on_stack(64 * 1024 * 1024, || {
        let event = catch_event_with_input(deep_value(10_000));
        let Ok(Intake::Failure(f)) = intake(&event, None) else {
            panic!("a failure")
        };
        let Some(ticket_bridge::intake::Input::Json(input)) = &f.input else {
            panic!("JSON input")
        };
        let out = config().redactor.json(input);
        harness::check_redacted_json(&out, &config().redactor);
    });
}

/// Rendering it too works but takes ~6 s in a debug build: the same
/// quadratic pretty-printing (100 MB of indentation for 16 KiB of ticket).
#[test]
fn a_hand_built_10_000_level_event_renders_given_drop_s_stack() {
    on_stack(64 * 1024 * 1024, || {
        let event = catch_event_with_input(deep_value(10_000));
        assert_renders_safely(&event);
    });
}
