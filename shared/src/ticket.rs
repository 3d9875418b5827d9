//! Renders a [`Failure`] as an Outseta support case: a one-line Subject a
//! person can triage from an inbox, and an HTML Body with everything needed
//! to act without opening the AWS console first.
//!
//! Everything from the event is redacted and escaped here, and the Body has a
//! hard size cap, so no event, however large or hostile, yields a ticket the
//! API would refuse or a reader should not see.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::cause::{self, Decoded};
use crate::html::Html;
use crate::intake::{Failure, Input};
use crate::redact::Redactor;

/// Subject limit, in characters.
pub const SUBJECT_MAX: usize = 200;
/// Body limit in bytes; the API refuses larger bodies, so this is hard.
pub const BODY_MAX: usize = 64 * 1024 - 1;
/// The budget the writer aims for, leaving slack under [`BODY_MAX`].
const BODY_TARGET: usize = 60 * 1024;

const FIELD_CAP: usize = 1024;
const MESSAGE_CAP: usize = 4 * 1024;
const CAUSE_CAP: usize = 20 * 1024;
const INPUT_CAP: usize = 16 * 1024;
const STACK_LINES: usize = 60;
const CONTAINERS: usize = 20;

/// Redaction reads past a cap by this much, so a credential that starts
/// before the cut is still recognised whole.
const CLIP_MARGIN: usize = 4 * 1024;

/// Writes event text redacted and escaped, redacting only what can be shown:
/// a 300 KB cause is cut to its first `cap` bytes (plus the margin) before
/// the redactor scans it, not after.
fn shown<'h>(h: &'h mut Html, r: &Redactor, s: &str, cap: usize) -> &'h mut Html {
    let limit = cap + CLIP_MARGIN;
    if s.len() <= limit {
        return h.text(&r.text(s), cap);
    }
    let mut cut = limit;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    h.text_of(&r.text(&s[..cut]), cap, Some(s.chars().count()))
}

/// A table row whose value is event text.
fn shown_row(h: &mut Html, r: &Redactor, label: &str, value: &str, cap: usize) {
    h.raw("<tr><th align=\"left\">")
        .text(label, 200)
        .raw("</th><td>");
    shown(h, r, value, cap).raw("</td></tr>");
}

/// Event text for the Subject, redacted from a bounded prefix.
fn subject_piece(r: &Redactor, s: &str) -> String {
    let mut cut = s.len().min(SUBJECT_MAX * 4 + CLIP_MARGIN);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    r.text(&s[..cut])
}

/// What rendering needs: enough for `notifier render`, which must work with
/// an empty environment.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub from_person: FromPerson,
    pub source: u8,
    pub subject_prefix: String,
    /// Fallback for the console link when the event carries no ARN region.
    pub region: Option<String>,
    pub redactor: Redactor,
}

/// Outseta's `FromPerson`: an existing person by `Uid`, or by `Email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FromPerson {
    Uid(String),
    Email(String),
}

/// The JSON body of `POST /api/v1/support/cases`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseBody {
    #[serde(rename = "FromPerson")]
    pub from_person: FromPerson,
    #[serde(rename = "Subject")]
    pub subject: String,
    #[serde(rename = "Body")]
    pub body: String,
    #[serde(rename = "Source")]
    pub source: u8,
}

/// Renders the case. `now` is when the failure was reported (the stop time
/// when the event has none), passed in so rendering is deterministic.
pub fn render(failure: &Failure, cfg: &RenderConfig, now: OffsetDateTime) -> CaseBody {
    let r = &cfg.redactor;
    let decoded = cause::decode(failure.error.as_deref(), failure.cause.as_deref());
    let headline = decoded.headline(failure.error.as_deref(), failure.status.as_deref());
    let machine = failure
        .state_machine_name
        .as_deref()
        .unwrap_or("unknown state machine");

    // Each event-derived piece is redacted on its own, so a value ending in
    // `password=` cannot make the redactor swallow our own words after it.
    let mut subject = format!(
        "{} {}: {}",
        cfg.subject_prefix,
        subject_piece(r, machine),
        subject_piece(r, &headline.error)
    );
    if let Some(state) = &failure.failed_state {
        subject.push_str(&format!(" in {}", subject_piece(r, state)));
    } else if let (Some(status), Some(_)) = (&failure.status, &failure.error) {
        subject.push_str(&format!(" ({})", r.text(status)));
    }
    let subject = truncate_chars(&one_line(&subject), SUBJECT_MAX);

    let mut h = Html::new(BODY_TARGET);
    h.raw("<h2>Step Functions failure: ");
    shown(&mut h, r, machine, FIELD_CAP).raw("</h2>\n");
    h.raw("<p><strong>");
    shown(&mut h, r, &headline.error, FIELD_CAP).raw("</strong>");
    if let Some(m) = &headline.message {
        h.raw(": ");
        shown(&mut h, r, m, MESSAGE_CAP);
    }
    h.raw("</p>\n");

    summary(&mut h, failure, cfg, now);
    cause_section(&mut h, failure, &decoded, r);
    links(&mut h, failure, cfg);
    input_section(&mut h, failure.input.as_ref(), r);
    h.raw("<p><small>Filed by the Step Functions ticket bridge at ")
        .text(&timestamp(now), FIELD_CAP)
        .raw(".</small></p>\n");

    CaseBody {
        from_person: cfg.from_person.clone(),
        subject,
        body: h.finish(BODY_MAX),
        source: cfg.source,
    }
}

fn summary(h: &mut Html, f: &Failure, cfg: &RenderConfig, now: OffsetDateTime) {
    let r = &cfg.redactor;
    h.raw("<h3>Summary</h3>\n<table>");
    let rows: [(&str, Option<String>); 8] = [
        ("State machine", f.state_machine_name.clone()),
        ("Execution", f.execution_name.clone()),
        ("Execution ARN", f.execution_arn.clone()),
        ("Status", f.status.clone()),
        ("Failed state", f.failed_state.clone()),
        ("Region", region(f, cfg).map(str::to_owned)),
        ("Account", f.account.clone()),
        ("Started", f.start_time.map(timestamp)),
    ];
    for (label, value) in rows {
        if let Some(v) = value {
            shown_row(h, r, label, &v, FIELD_CAP);
        }
    }
    let (label, end) = match f.stop_time {
        Some(t) => ("Stopped", t),
        None => ("Reported", now),
    };
    h.row(label, &timestamp(end), FIELD_CAP);
    if let Some(start) = f.start_time {
        h.row("Duration", &duration(end - start), FIELD_CAP);
    }
    h.raw("</table>\n");
}

fn cause_section(h: &mut Html, f: &Failure, decoded: &Decoded, r: &Redactor) {
    h.raw("<h3>Error</h3>\n<table>");
    h.row(
        "Error",
        &r.text(f.error.as_deref().unwrap_or("(none given)")),
        FIELD_CAP,
    );
    let opt = |h: &mut Html, label: &str, v: &Option<String>| {
        if let Some(v) = v {
            shown_row(h, r, label, v, MESSAGE_CAP);
        }
    };
    match decoded {
        Decoded::Empty => {
            h.row(
                "Cause",
                "(none given: typical of timeouts and aborted executions)",
                FIELD_CAP,
            );
        }
        Decoded::Lambda {
            error_type,
            error_message,
            stack_trace,
            request_id,
        } => {
            opt(h, "Lambda error type", error_type);
            opt(h, "Message", error_message);
            opt(h, "Request ID", request_id);
            h.raw("</table>\n");
            if !stack_trace.is_empty() {
                h.raw("<p>Stack trace:</p>\n<pre>");
                for line in stack_trace.iter().take(STACK_LINES) {
                    shown(h, r, line, FIELD_CAP).raw("\n");
                }
                if stack_trace.len() > STACK_LINES {
                    h.text(
                        &format!(
                            "[truncated: {} more lines]",
                            stack_trace.len() - STACK_LINES
                        ),
                        FIELD_CAP,
                    );
                }
                h.raw("</pre>\n");
            }
            return;
        }
        Decoded::Ecs {
            task_arn,
            stopped_reason,
            stop_code,
            last_status,
            containers,
        } => {
            opt(h, "Task", task_arn);
            opt(h, "Stop code", stop_code);
            opt(h, "Stopped reason", stopped_reason);
            opt(h, "Last status", last_status);
            h.raw("</table>\n");
            if !containers.is_empty() {
                h.raw("<p>Containers:</p>\n<ul>");
                for c in containers.iter().take(CONTAINERS) {
                    let exit = c
                        .exit_code
                        .map_or("no exit code".to_owned(), |e| format!("exit code {e}"));
                    h.raw("<li><strong>")
                        .text(&r.text(c.name.as_deref().unwrap_or("(unnamed)")), FIELD_CAP)
                        .raw("</strong>: ")
                        .text(&exit, FIELD_CAP);
                    if let Some(reason) = &c.reason {
                        h.raw(" — ").text(&r.text(reason), FIELD_CAP);
                    }
                    if let Some(s) = &c.last_status {
                        h.raw(" (").text(s, FIELD_CAP).raw(")");
                    }
                    h.raw("</li>");
                }
                if containers.len() > CONTAINERS {
                    h.raw("<li>")
                        .text(
                            &format!(
                                "[truncated: {} more containers]",
                                containers.len() - CONTAINERS
                            ),
                            FIELD_CAP,
                        )
                        .raw("</li>");
                }
                h.raw("</ul>\n");
            }
            return;
        }
        Decoded::Http {
            status_code,
            status_text,
            response_body,
        } => {
            opt(h, "HTTP status", &status_code.map(|c| c.to_string()));
            opt(h, "Status text", status_text);
            h.raw("</table>\n");
            if let Some(body) = response_body {
                h.raw("<p>Response body:</p>\n<pre>")
                    .text(&pretty_text(body, r, CAUSE_CAP), CAUSE_CAP)
                    .raw("</pre>\n");
            }
            return;
        }
        Decoded::Sdk {
            message,
            service,
            status_code,
            error_code,
            request_id,
        } => {
            opt(h, "Service", service);
            opt(h, "Status code", &status_code.map(|c| c.to_string()));
            opt(h, "Error code", error_code);
            opt(h, "Request ID", request_id);
            shown_row(h, r, "Message", message, CAUSE_CAP);
        }
        Decoded::Json(v) => {
            h.raw("</table>\n<p>Cause:</p>\n<pre>")
                .text(&pretty(&r.json(v), CAUSE_CAP), CAUSE_CAP)
                .raw("</pre>\n");
            return;
        }
        Decoded::Text(t) => {
            h.raw("</table>\n<p>Cause:</p>\n<pre>");
            shown(h, r, t, CAUSE_CAP).raw("</pre>\n");
            return;
        }
    }
    h.raw("</table>\n");
}

fn links(h: &mut Html, f: &Failure, cfg: &RenderConfig) {
    let Some(region) = region(f, cfg) else { return };
    let base = format!("https://{region}.console.aws.amazon.com/states/home?region={region}");
    let mut any = false;
    if let Some(arn) = f.execution_arn.as_deref().filter(|a| a.starts_with("arn:")) {
        h.raw("<h3>Links</h3>\n<ul><li>");
        h.link(
            &format!("{base}#/v2/executions/details/{arn}"),
            "Execution in the AWS console",
        );
        h.raw("</li>");
        any = true;
    }
    if let Some(arn) = &f.state_machine_arn {
        if !any {
            h.raw("<h3>Links</h3>\n<ul>");
        }
        h.raw("<li>");
        h.link(
            &format!("{base}#/statemachines/view/{arn}"),
            "State machine in the AWS console",
        );
        h.raw("</li>");
        any = true;
    }
    if any {
        h.raw("</ul>\n");
    }
}

fn input_section(h: &mut Html, input: Option<&Input>, r: &Redactor) {
    h.raw("<h3>Input (redacted)</h3>\n");
    match input {
        None => h.raw("<p>(no input in the event)</p>\n"),
        Some(Input::NotIncluded) => {
            h.raw("<p>(not included by Step Functions: larger than the event limit)</p>\n")
        }
        Some(Input::Json(v)) => h
            .raw("<pre>")
            .text(&pretty(&r.json(v), INPUT_CAP), INPUT_CAP)
            .raw("</pre>\n"),
        Some(Input::Text(t)) => {
            h.raw("<pre>");
            shown(h, r, t, INPUT_CAP).raw("</pre>\n")
        }
    };
}

/// The region for console links: from the event, else the function's own.
/// Only plausible region names, since it becomes part of a URL host.
fn region<'a>(f: &'a Failure, cfg: &'a RenderConfig) -> Option<&'a str> {
    f.region.as_deref().or(cfg.region.as_deref()).filter(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

fn pretty_text(s: &str, r: &Redactor, cap: usize) -> String {
    match serde_json::from_str::<Value>(s) {
        Ok(v) if v.is_object() || v.is_array() => pretty(&r.json(&v), cap),
        _ => r.text(s),
    }
}

/// Pretty JSON, stopping once `cap` bytes are written: pretty-printing
/// indents every line by its depth, so printing a deep 6 MiB input whole
/// would take seconds and gigabytes only to keep its first kilobytes.
fn pretty(v: &Value, cap: usize) -> String {
    let mut out = Capped {
        buf: Vec::with_capacity(cap.min(64 * 1024)),
        cap,
    };
    let complete = serde_json::to_writer_pretty(&mut out, v).is_ok();
    let valid = match std::str::from_utf8(&out.buf) {
        Ok(_) => out.buf.len(),
        Err(e) => e.valid_up_to(),
    };
    out.buf.truncate(valid);
    let mut text = String::from_utf8(out.buf).unwrap_or_default();
    if !complete {
        text.push_str("\n… [truncated: the rest of this JSON is not shown]");
    }
    text
}

/// A writer that takes at most `cap` bytes, then fails, which stops the
/// serializer.
struct Capped {
    buf: Vec<u8>,
    cap: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.cap.saturating_sub(self.buf.len());
        if room == 0 {
            return Err(std::io::Error::other("cap reached"));
        }
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn timestamp(t: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn duration(d: time::Duration) -> String {
    let total = d.whole_seconds();
    if total < 0 {
        return "unknown (stop before start)".to_owned();
    }
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{}.{:03}s", s, d.subsec_milliseconds()),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{Intake, intake};
    use serde_json::json;

    fn cfg() -> RenderConfig {
        RenderConfig::from_lookup(&|k: &str| match k {
            "FROM_PERSON_UID" => Some("dpWp6Lmn".into()),
            "CASE_SOURCE" => Some("2".into()),
            _ => None,
        })
        .unwrap()
    }

    fn render_event(ev: Value) -> CaseBody {
        let Intake::Failure(f) = intake(&ev, None).unwrap() else {
            panic!("skipped")
        };
        render(
            &f,
            &cfg(),
            OffsetDateTime::from_unix_timestamp(1_795_255_290).unwrap(),
        )
    }

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:orders:run-42";

    #[test]
    fn case_body_has_outseta_shape_and_the_facts() {
        let cause = json!({"errorType": "ValueError", "errorMessage": "order <7> not found", "stackTrace": ["at x"]}).to_string();
        let case = render_event(json!({
            "orderId": 7, "password": "hunter2",
            "error": {"Error": "ValueError", "Cause": cause},
            "execution": ARN, "stateMachine": "orders", "failedState": "Charge card",
            "startTime": "2026-11-21T10:00:00Z",
        }));
        let v = serde_json::to_value(&case).unwrap();
        assert_eq!(v["FromPerson"], json!({"Uid": "dpWp6Lmn"}));
        assert_eq!(v["Source"], 2);
        assert_eq!(
            case.subject,
            "[Step Functions] orders: ValueError in Charge card"
        );
        let b = &case.body;
        for needle in [
            "order &lt;7&gt; not found",
            "Charge card",
            "run-42",
            "eu-west-1",
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:orders:run-42",
            "2026-11-21T10:00:00.000Z",
            ">1m 30s<",
            "&quot;orderId&quot;: 7",
            "at x",
        ] {
            assert!(b.contains(needle), "missing {needle} in {b}");
        }
        assert!(!b.contains("hunter2"));
        assert!(!b.contains("<7>"));
    }

    #[test]
    fn subject_is_capped_and_single_line() {
        let long = "x".repeat(500);
        let case = render_event(json!({"Error": format!("Boom\n{long}"), "Cause": ""}));
        assert_eq!(case.subject.chars().count(), SUBJECT_MAX);
        assert!(!case.subject.contains('\n'));
        assert!(case.subject.ends_with('…'));
    }

    #[test]
    fn huge_cause_renders_under_the_cap_with_a_note() {
        let cause = "<&>\"".repeat(300 * 1024 / 4);
        let input: Value = (0..5000)
            .map(|i| (format!("k{i}"), json!("\"".repeat(50))))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let case = render_event(json!({"error": {"Error": "E", "Cause": cause}, "input": input}));
        assert!(case.body.len() <= BODY_MAX, "{}", case.body.len());
        assert!(case.body.contains("truncated"), "no truncation note");
        assert!(case.body.contains("Filed by"), "footer lost");
    }

    #[test]
    fn a_clipped_cause_still_counts_what_is_cut() {
        let cause = format!("password=hunter2 {}", "x".repeat(300_000));
        let case = render_event(json!({"Error": "E", "Cause": cause}));
        assert!(!case.body.contains("hunter2"));
        let note = case
            .body
            .split("[truncated: ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .unwrap();
        let left: usize = note.parse().unwrap();
        // 300,017 characters in all, of which at most CAUSE_CAP were shown.
        assert!(left > 300_017 - CAUSE_CAP && left < 300_017, "{left}");
    }

    #[test]
    fn ecs_containers_render_as_a_list() {
        let cause = json!({"TaskArn": "t", "StopCode": "EssentialContainerExited", "StoppedReason": "Essential container in task exited",
                           "Containers": [{"Name": "app", "ExitCode": 137, "Reason": "OutOfMemoryError"}]}).to_string();
        let case = render_event(
            json!({"Error": "States.TaskFailed", "Cause": cause, "stateMachine": "etl"}),
        );
        assert!(
            case.body
                .contains("<li><strong>app</strong>: exit code 137 — OutOfMemoryError</li>"),
            "{}",
            case.body
        );
        assert_eq!(case.subject, "[Step Functions] etl: States.TaskFailed");
    }

    #[test]
    fn eventbridge_subject_uses_status_and_stop_time() {
        let case = render_event(json!({
            "detail-type": "Step Functions Execution Status Change", "region": "us-east-1",
            "detail": {"status": "TIMED_OUT", "executionArn": "arn:aws:states:us-east-1:1:execution:nightly:abc",
                       "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:nightly",
                       "startDate": 1_700_000_000_000_i64, "stopDate": 1_700_003_700_000_i64, "error": null, "cause": null}
        }));
        assert_eq!(
            case.subject,
            "[Step Functions] nightly: Execution TIMED_OUT"
        );
        assert!(case.body.contains("1h 1m 40s"), "{}", case.body);
        assert!(
            case.body
                .contains("#/statemachines/view/arn:aws:states:us-east-1:1:stateMachine:nightly")
        );
    }

    #[test]
    fn known_secret_values_are_masked_while_rendering() {
        let ev = json!({"Error": "E pw42", "Cause": "key was CANARY-SECRET-1 and pw42", "stateMachine": "m"});
        let Intake::Failure(f) = intake(&ev, None).unwrap() else {
            panic!("skipped")
        };
        let mut c = cfg();
        c.redactor = c.redactor.with_known_secrets(["CANARY-SECRET-1", "pw42"]);
        let case = render(&f, &c, OffsetDateTime::from_unix_timestamp(0).unwrap());
        assert!(
            !case.body.contains("CANARY-SECRET-1") && !case.body.contains("pw42"),
            "{}",
            case.body
        );
        assert_eq!(case.subject, "[Step Functions] m: E [REDACTED]");
    }

    #[test]
    fn deep_json_is_cut_while_printing() {
        let mut v = json!("leaf");
        for _ in 0..100 {
            v = json!({"k": v, "pad": "x".repeat(100)});
        }
        let out = pretty(&v, 1000);
        assert!(
            out.len() <= 1000 + 60
                && out.ends_with("[truncated: the rest of this JSON is not shown]"),
            "{out}"
        );
        assert_eq!(pretty(&json!({"a": 1}), 1000), "{\n  \"a\": 1\n}");
    }
}
