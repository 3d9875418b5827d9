//! The catch-alls: no cause at all, JSON of no known shape, and prose.
//! Whatever no other shape recognises ends here, kept as it came.

use serde_json::Value;

use super::{Input, Shape, Sheet, timed_out};

/// No cause at all (aborted executions, `States.Timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Empty;

/// JSON of no known shape: shown pretty-printed.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownJson(pub Value);

/// Prose, or anything else, kept as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Text(pub String);

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    if let Some(obj) = input.json.take() {
        return Some(Box::new(UnknownJson(Value::Object(obj))));
    }
    Some(match input.prose() {
        Some(t) => Box::new(Text(t.to_owned())),
        None => Box::new(Empty),
    })
}

impl Shape for Empty {
    fn message(&self) -> Option<String> {
        None
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.fact(
            "Cause",
            "(none given: typical of timeouts and aborted executions)",
        );
    }
}

impl Shape for UnknownJson {
    fn message(&self) -> Option<String> {
        None
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        sheet.json("Cause", &self.0);
    }
}

impl Shape for Text {
    fn message(&self) -> Option<String> {
        self.0.lines().next().map(str::to_owned)
    }

    /// `Lambda.Unknown` reports a timeout as prose around the payload.
    fn reason(&self) -> Option<String> {
        timed_out(&self.0)
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        sheet.text("Cause", &self.0);
    }
}
