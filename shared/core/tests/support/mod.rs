//! What the rendering property tests (`properties.rs`) and the size and
//! depth limits (`limits.rs`) share: the fuzz harness's checks, the render
//! configuration, and the one assertion of the ticket contract.
#![allow(dead_code)]

use serde_json::Value;
use ticket_bridge::RenderConfig;
use ticket_bridge::intake::{Intake, intake};
use ticket_bridge::ticket::{Ticket, render};

#[path = "../../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
pub mod harness;

/// Planted in fields the ticket always shows; it may appear only escaped.
pub const MARKER: &str = "<x-canary>";
pub const ESCAPED_MARKER: &str = "&lt;x-canary&gt;";

pub const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:orders:run-42";
pub const STATUS_CHANGE: &str = "Step Functions Execution Status Change";

pub fn config() -> &'static RenderConfig {
    harness::config()
}

pub fn render_ok(event: &Value) -> Ticket {
    match intake(event, None) {
        Ok(Intake::Failure(f)) => render(&f, config(), harness::now()),
        other => panic!("every generated event is a failure, got {other:?} for {event}"),
    }
}

/// All canaries in an event: every `Canary<digits>Secret` it holds.
pub fn canaries(event: &Value) -> Vec<String> {
    let text = event.to_string();
    let mut found: Vec<String> = text
        .match_indices("Canary")
        .filter_map(|(i, _)| {
            let rest = &text[i..];
            let end = rest.find("Secret")? + "Secret".len();
            let c = &rest[..end];
            (end == 18).then(|| c.to_owned())
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Asserts one rendered case keeps every promise of the contract.
pub fn assert_safe(event: &Value, case: &Ticket) {
    harness::check_case(case);
    assert!(
        !case.body.contains(MARKER) && !case.subject.contains('\n'),
        "raw marker or newline in the case"
    );
    for c in canaries(event) {
        assert!(
            !case.subject.contains(&c),
            "canary in Subject: {}",
            case.subject
        );
        assert!(!case.body.contains(&c), "canary in Body: {}", case.body);
    }
}
