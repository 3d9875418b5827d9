//! A Lambda function's error, from any runtime: Python and Java put the
//! frames in `stackTrace`, Node in `trace`, Go's panics as objects; Java
//! and .NET nest the inner exception. Lambda's timeouts (`Sandbox.Timedout`
//! with this JSON) lead with the timeout.

use serde_json::{Map, Value};

use super::{Input, MAX_DEPTH, Shape, Sheet, clip, is_generic, take_text, text, timed_out};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LambdaError {
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub stack_trace: Vec<String>,
    pub request_id: Option<String>,
}

/// Takes the parsed cause by value: its message and frames move into the
/// result instead of being copied (a crashing JVM's cause is hundreds of
/// kilobytes of them).
pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object()?;
    if !obj.contains_key("errorMessage") && !obj.contains_key("errorType") {
        return None;
    }
    let obj = input.json.take()?;
    Some(Box::new(lambda(obj)))
}

fn lambda(mut obj: Map<String, Value>) -> LambdaError {
    let mut stack_trace = Vec::new();
    // Node writes `trace`; Python, Java, .NET and Ruby `stackTrace`.
    for key in ["stackTrace", "trace"] {
        push_frames(&mut stack_trace, obj.remove(key));
    }
    // Java and .NET nest the inner exception as `cause` (or
    // `innerException`), each with its own frames.
    let mut inner = obj.get("cause").or_else(|| obj.get("innerException"));
    let mut hops = 0;
    while let Some(Value::Object(c)) = inner {
        hops += 1;
        if hops > MAX_DEPTH {
            break;
        }
        let head = [text(c, "errorType"), text(c, "errorMessage")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        stack_trace.push(format!("Caused by: {head}"));
        push_frames(&mut stack_trace, c.get("stackTrace").cloned());
        inner = c.get("cause").or_else(|| c.get("innerException"));
    }
    LambdaError {
        error_type: take_text(&mut obj, "errorType"),
        error_message: take_text(&mut obj, "errorMessage"),
        stack_trace,
        request_id: take_text(&mut obj, "requestId"),
    }
}

/// Frames as lines: a list of strings (a Python frame spans two lines), one
/// string, or Go's `{"path", "line", "label"}` objects. A one-line frame
/// moves into `out` as it is.
fn push_frames(out: &mut Vec<String>, frames: Option<Value>) {
    let push_lines = |out: &mut Vec<String>, s: String| {
        // `lines` splits at `\n` only (and drops the `\r` of a `\r\n`).
        if s.contains('\n') {
            out.extend(s.lines().map(str::to_owned));
        } else if !s.is_empty() {
            out.push(s);
        }
    };
    match frames {
        Some(Value::Array(items)) => {
            out.reserve(items.len());
            for item in items {
                match item {
                    Value::String(s) => push_lines(out, s),
                    Value::Object(f) if f.contains_key("label") || f.contains_key("path") => {
                        let label = text(&f, "label").unwrap_or_default();
                        let path = text(&f, "path").unwrap_or_default();
                        let line = f.get("line").map(Value::to_string).unwrap_or_default();
                        out.push(format!("{label} ({path}:{line})"));
                    }
                    other => out.push(other.to_string()),
                }
            }
        }
        Some(Value::String(s)) => push_lines(out, s),
        _ => {}
    }
}

impl Shape for LambdaError {
    fn message(&self) -> Option<String> {
        self.error_message.clone()
    }

    fn reason(&self) -> Option<String> {
        self.error_message.as_deref().and_then(timed_out)
    }

    /// The runtime's error type says more than a wrapper name, unless it is
    /// a catch-all itself.
    fn typed_message(&self) -> Option<String> {
        match (&self.error_type, &self.error_message) {
            (Some(t), Some(m)) if !is_generic(t) => Some(clip(&format!("{t}: {m}"))),
            (Some(t), None) if !is_generic(t) => Some(t.clone()),
            _ => self.message().map(|m| clip(&m)),
        }
    }

    fn type_name(&self) -> Option<String> {
        self.error_type.clone()
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Lambda error type", self.error_type.as_deref());
        sheet.row("Message", self.error_message.as_deref());
        sheet.row("Request ID", self.request_id.as_deref());
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        if !self.stack_trace.is_empty() {
            sheet.lines("Stack trace", &self.stack_trace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;
    use serde_json::json;

    fn lambda_of(cause: &str) -> LambdaError {
        let d = decode(None, Some(cause));
        d.get::<LambdaError>()
            .cloned()
            .unwrap_or_else(|| panic!("not a Lambda error: {d:?}"))
    }

    #[test]
    fn lambda_error_with_list_or_string_trace() {
        let cause = json!({"errorType": "ValueError", "errorMessage": "bad id", "requestId": "r-1",
                           "stackTrace": ["  File \"a.py\", line 1", "  raise"]})
        .to_string();
        let d = decode(Some("ValueError"), Some(&cause));
        assert_eq!(
            d.get::<LambdaError>(),
            Some(&LambdaError {
                error_type: Some("ValueError".into()),
                error_message: Some("bad id".into()),
                stack_trace: vec!["  File \"a.py\", line 1".into(), "  raise".into()],
                request_id: Some("r-1".into()),
            })
        );
        let cause =
            json!({"errorType": "Error", "errorMessage": "m", "stackTrace": "a\nb"}).to_string();
        assert_eq!(lambda_of(&cause).stack_trace, ["a", "b"]);
    }

    /// Each runtime's frames end up as lines (table-driven: runtime, cause,
    /// expected lines).
    #[test]
    fn every_runtime_keeps_its_frames() {
        let cases: &[(&str, Value, &[&str])] = &[
            (
                "node",
                json!({"errorType": "TypeError", "errorMessage": "x is undefined",
                       "trace": ["TypeError: x is undefined", "    at handler (/var/task/index.js:3:9)"]}),
                &[
                    "TypeError: x is undefined",
                    "    at handler (/var/task/index.js:3:9)",
                ],
            ),
            (
                "python multi-line frame",
                json!({"errorType": "KeyError", "errorMessage": "'id'",
                       "stackTrace": ["  File \"/var/task/app.py\", line 2, in handler\n    raise KeyError('id')\n"]}),
                &[
                    "  File \"/var/task/app.py\", line 2, in handler",
                    "    raise KeyError('id')",
                ],
            ),
            (
                "java with cause",
                json!({"errorType": "java.lang.RuntimeException", "errorMessage": "wrapped",
                       "stackTrace": ["example.Handler.handleRequest(Handler.java:20)"],
                       "cause": {"errorType": "java.io.IOException", "errorMessage": "disk",
                                 "stackTrace": ["example.Io.read(Io.java:5)"]}}),
                &[
                    "example.Handler.handleRequest(Handler.java:20)",
                    "Caused by: java.io.IOException: disk",
                    "example.Io.read(Io.java:5)",
                ],
            ),
            (
                "dotnet",
                json!({"errorType": "InvalidOperationException", "errorMessage": "bad state",
                       "stackTrace": ["at Fn.Handler(String input) in /src/Fn.cs:line 12"]}),
                &["at Fn.Handler(String input) in /src/Fn.cs:line 12"],
            ),
            (
                "go panic",
                json!({"errorType": "runtime.Error", "errorMessage": "nil map",
                       "stackTrace": [{"path": "main.go", "line": 14, "label": "handler"}]}),
                &["handler (main.go:14)"],
            ),
            (
                "go error",
                json!({"errorType": "errorString", "errorMessage": "no such order"}),
                &[],
            ),
        ];
        for (runtime, cause, lines) in cases {
            assert_eq!(
                &lambda_of(&cause.to_string()).stack_trace,
                lines,
                "{runtime}"
            );
        }
    }

    #[test]
    fn rust_type_noise_leads_with_the_message() {
        let noise =
            "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>";
        let cause = json!({"errorType": noise, "errorMessage": "order 7 not found"}).to_string();
        let d = decode(Some(noise), Some(&cause));
        let h = d.headline(Some(noise), None);
        assert_eq!(h.error, "order 7 not found");
        assert_eq!(h.message.as_deref(), Some(noise));
        let h = decode(Some("ValueError"), Some("{\"errorMessage\":\"x\"}"))
            .headline(Some("ValueError"), None);
        assert_eq!(h.error, "ValueError");
    }
}
