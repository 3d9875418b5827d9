//! Renders a [`Failure`] as a support ticket: a one-line Subject a
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
use crate::history::Enrichment;
use crate::html::Html;
use crate::intake::{Failure, Input};
use crate::links;
use crate::redact::Redactor;

pub mod lifecycle;
mod reply;
mod sheet;
pub use reply::{IncidentNote, continuation, recovery_note, reply_comment, reply_comment_with};

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

/// Redaction reads past a cap by this much, so a credential that starts
/// before the cut is still recognised whole.
const CLIP_MARGIN: usize = 4 * 1024;

/// Writes event text redacted and escaped, redacting only what can be shown:
/// a 300 KB cause is cut to its first `cap` bytes (plus the margin) before
/// the redactor scans it, not after.
fn shown<'h>(h: &'h mut Html, r: &Redactor, s: &str, cap: usize) -> &'h mut Html {
    let limit = cap + CLIP_MARGIN;
    if s.len() <= limit {
        return h.text(&r.text_cow(s), cap);
    }
    let cut = s.floor_char_boundary(limit);
    h.text_of(&r.text_cow(&s[..cut]), cap, Some(s.chars().count()))
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
    let cut = s.floor_char_boundary(SUBJECT_MAX * 4 + CLIP_MARGIN);
    r.text(&s[..cut])
}

/// What rendering needs: enough for `notifier render`, which must work with
/// an empty environment.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub subject_prefix: String,
    /// Fallback for the console link when the event carries no ARN region.
    pub region: Option<String>,
    pub redactor: Redactor,
    /// Names of the organization's accounts (`ACCOUNT_NAMES`), shown beside
    /// the account id in the Body and after the machine in the Subject.
    pub account_names: std::collections::BTreeMap<String, String>,
    /// The grouping whose fingerprint the Body's marker line carries, so a
    /// lost incident record can be found again by searching the desk.
    pub marker: crate::incident::Grouping,
}

impl RenderConfig {
    /// The name `ACCOUNT_NAMES` gives the failure's account, if any.
    fn account_name(&self, f: &Failure) -> Option<&str> {
        self.account_names
            .get(f.account.as_deref()?)
            .map(String::as_str)
    }
}

/// The neutral ticket: a one-line Subject and an HTML Body (escaped and
/// redacted), which a desk adapter turns into its own case. Serialised as
/// it is shown in log lines and the fallback message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ticket {
    #[serde(rename = "Subject")]
    pub subject: String,
    #[serde(rename = "Body")]
    pub body: String,
    /// Who the case goes to, from the machine's tags.
    #[serde(rename = "Assignee", skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Desk tag names the case carries, from the machine's tags.
    #[serde(rename = "Tags", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The marker line every case Body carries: the first 16 hex digits of
/// its incident fingerprint's SHA-256. Searching the desk for it finds the
/// case of an incident whose record was lost.
pub fn marker(failure: &Failure, grouping: crate::incident::Grouping) -> Option<String> {
    let grouping = match grouping {
        crate::incident::Grouping::Off => crate::incident::Grouping::State,
        g => g,
    };
    let fp = crate::incident::fingerprint(failure, grouping)?;
    Some(marker_of(&fp.key))
}

/// The marker line of the incident at `key` (`incident#<hex>`).
pub fn marker_of(key: &str) -> String {
    let hex = key.strip_prefix("incident#").unwrap_or(key);
    format!("{MARKER_PREFIX}{}", hex.get(..16).unwrap_or(hex))
}

/// What the marker line starts with.
pub const MARKER_PREFIX: &str = "ticket-bridge-fingerprint: ";

/// Renders the case. `now` is when the failure was reported (the stop time
/// when the event has none), passed in so rendering is deterministic.
pub fn render(failure: &Failure, cfg: &RenderConfig, now: OffsetDateTime) -> Ticket {
    render_with(failure, None, cfg, now)
}

/// [`render`], with what the execution history added on the EventBridge
/// path (see [`crate::history::enrich`]): the task resource, the retries
/// spent, the failed state's own input, links to its logs, and the note
/// when the history could not be read.
pub fn render_with(
    failure: &Failure,
    extra: Option<&Enrichment>,
    cfg: &RenderConfig,
    now: OffsetDateTime,
) -> Ticket {
    render_full(failure, extra, cfg, now, None)
}

/// [`render_with`] for a case that belongs to an incident: it says which
/// occurrence filed it, links the incident's earlier case (closed, gone,
/// or from an earlier window) and lists the occurrences that were waiting
/// for a reply when it was filed.
pub fn render_incident(
    failure: &Failure,
    extra: Option<&Enrichment>,
    cfg: &RenderConfig,
    now: OffsetDateTime,
    note: &IncidentNote<'_>,
) -> Ticket {
    render_full(failure, extra, cfg, now, Some(note))
}

/// The reason a failure gives, as its ticket leads with it: what an
/// incident's occurrences are compared by.
pub fn lead_reason(failure: &Failure) -> String {
    let decoded = cause::decode(failure.error.as_deref(), failure.cause.as_deref());
    decoded
        .lead(failure.error.as_deref(), failure.status.as_deref())
        .reason
}

fn render_full(
    failure: &Failure,
    extra: Option<&Enrichment>,
    cfg: &RenderConfig,
    now: OffsetDateTime,
    note: Option<&IncidentNote<'_>>,
) -> Ticket {
    let r = &cfg.redactor;
    let decoded = cause::decode(failure.error.as_deref(), failure.cause.as_deref());
    let lead = decoded.lead(failure.error.as_deref(), failure.status.as_deref());
    let machine = failure
        .state_machine_name
        .as_deref()
        .unwrap_or("unknown state machine");

    // Each event-derived piece is redacted on its own, so a value ending in
    // `password=` cannot make the redactor swallow our own words after it.
    let account = cfg
        .account_name(failure)
        .map(|name| format!(" ({})", subject_piece(r, name)))
        .unwrap_or_default();
    let routing = extra.and_then(|e| e.routing.as_ref());
    let severity = routing
        .and_then(|r| r.severity.as_deref())
        .map(|s| format!(" [{s}]"))
        .unwrap_or_default();
    let mut subject = format!(
        "{}{severity} {}{account}: {}",
        cfg.subject_prefix,
        subject_piece(r, machine),
        subject_piece(r, &lead.reason)
    );
    if let Some(state) = &failure.failed_state {
        subject.push_str(&format!(" in {}", subject_piece(r, state)));
    } else if let (Some(status), Some(_)) = (&failure.status, &failure.error) {
        subject.push_str(&format!(" ({})", r.text(status)));
    }
    let subject = crate::text::clip(&one_line(&subject), SUBJECT_MAX).into_owned();

    let mut h = Html::new(BODY_TARGET);
    // The first line says why, and under which error name (Retry/Catch
    // match on the name, so it must stay visible).
    h.raw("<p><strong>");
    shown(&mut h, r, &lead.reason, FIELD_CAP).raw("</strong>");
    if lead.reason != lead.error {
        h.raw(" (error ");
        shown(&mut h, r, &lead.error, FIELD_CAP).raw(")");
    } else if let Some(detail) = &lead.detail {
        h.raw(": ");
        shown(&mut h, r, detail, MESSAGE_CAP);
    }
    if let Some(state) = &failure.failed_state {
        h.raw(" in state ");
        shown(&mut h, r, state, FIELD_CAP);
    }
    h.raw("</p>\n");
    if let Some(runbook) = routing.and_then(|r| r.runbook.as_deref()) {
        // Where to start, first: the execution and the owners' runbook.
        h.raw("<p>");
        if let Some(url) = failure
            .execution_arn
            .as_deref()
            .filter(|a| a.starts_with("arn:"))
            .and_then(links::execution)
        {
            h.link(&url, "Execution in the AWS console").raw(" · ");
        }
        h.link(runbook, "Runbook").raw("</p>\n");
    }
    h.raw("<h2>Step Functions failure: ");
    shown(&mut h, r, machine, FIELD_CAP).raw("</h2>\n");
    if let Some(note) = note {
        reply::incident_note(&mut h, note, r);
    }
    for skipped in routing.map_or(&[][..], |r| &r.skipped[..]) {
        h.raw("<p><em>Routing: ");
        shown(&mut h, r, skipped, MESSAGE_CAP).raw("</em></p>\n");
    }
    if let Some(note) = extra.and_then(|e| e.note.as_deref()) {
        h.raw("<p><em>");
        shown(&mut h, r, note, MESSAGE_CAP).raw("</em></p>\n");
    }

    summary(&mut h, failure, extra, cfg, now);
    cause_section(&mut h, failure, &decoded, r);
    links_section(&mut h, failure, extra, &decoded, cfg, now);
    input_section(&mut h, "Input (redacted)", failure.input.as_ref(), r);
    if let Some(input) = extra.and_then(|e| e.state_input.as_ref()) {
        input_section(&mut h, "Failed state input (redacted)", Some(input), r);
    }
    if let Some(batch) = note.and_then(|n| n.waiting) {
        h.raw("<h3>Occurrences waiting for an update of the earlier case</h3>\n");
        reply::occurrences(&mut h, batch, note.and_then(|n| n.first_reason), r);
    }
    h.raw("<p><small>Filed by the Step Functions ticket bridge at ")
        .text(&timestamp(now), FIELD_CAP)
        .raw(".</small></p>\n");
    if let Some(marker) = marker(failure, cfg.marker) {
        h.raw("<p><small>")
            .text(&marker, FIELD_CAP)
            .raw("</small></p>\n");
    }

    Ticket {
        subject,
        body: h.finish(BODY_MAX),
        assignee: routing.and_then(|r| r.assignee.clone()),
        tags: routing.map(|r| r.tags.clone()).unwrap_or_default(),
    }
}

fn summary(
    h: &mut Html,
    f: &Failure,
    extra: Option<&Enrichment>,
    cfg: &RenderConfig,
    now: OffsetDateTime,
) {
    let r = &cfg.redactor;
    h.raw("<h3>Summary</h3>\n<table>");
    let rows: [(&str, Option<String>); 10] = [
        ("State machine", f.state_machine_name.clone()),
        ("Execution", f.execution_name.clone()),
        ("Execution ARN", f.execution_arn.clone()),
        ("Status", f.status.clone()),
        ("Failed state", f.failed_state.clone()),
        ("Task resource", extra.and_then(|e| e.resource.clone())),
        (
            "Retries spent",
            extra.and_then(|e| e.retries).map(|n| n.to_string()),
        ),
        ("Region", region(f, cfg).map(str::to_owned)),
        (
            "Account",
            f.account.clone().map(|id| match cfg.account_name(f) {
                Some(name) => format!("{id} ({name})"),
                None => id,
            }),
        ),
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
    if f.redrive_count > 0 {
        h.row(
            "Redrive",
            &format!("redrive {}", f.redrive_count),
            FIELD_CAP,
        );
    }
    h.raw("</table>\n");
    // A redriven execution keeps its ARN and resumes at the failed state:
    // say how to do that again once the cause is fixed.
    if let Some(arn) = &f.execution_arn {
        h.raw("<p>To resume from the failed state once the cause is fixed: <code>aws stepfunctions redrive-execution --execution-arn ");
        shown(h, r, arn, FIELD_CAP)
            .raw("</code> (or Redrive on the execution page of the console).</p>\n");
    }
}

/// The error and its decoded cause: one table of rows, then what does not
/// fit a row (stack trace, containers, bodies, the child's own cause).
fn cause_section(h: &mut Html, f: &Failure, decoded: &Decoded, r: &Redactor) {
    h.raw("<h3>Error</h3>\n<table>");
    h.row(
        "Error",
        &r.text(f.error.as_deref().unwrap_or("(none given)")),
        FIELD_CAP,
    );
    let mut sheet = sheet::HtmlSheet { h, r };
    decoded.rows(&mut sheet);
    sheet.h.raw("</table>\n");
    decoded.details(&mut sheet);
}

/// Console and log links, from facts in the event and the history only.
fn links_section(
    h: &mut Html,
    f: &Failure,
    extra: Option<&Enrichment>,
    decoded: &Decoded,
    cfg: &RenderConfig,
    now: OffsetDateTime,
) {
    let mut out: Vec<(String, String)> = Vec::new();
    let exec = f.execution_arn.as_deref().filter(|a| a.starts_with("arn:"));
    if let Some(url) = exec.and_then(links::execution) {
        out.push((url, "Execution in the AWS console".to_owned()));
    }
    if let Some(url) = f
        .state_machine_arn
        .as_deref()
        .and_then(links::state_machine)
    {
        out.push((url, "State machine in the AWS console".to_owned()));
    }
    // The console of the execution's partition and region, for resources
    // that carry only an id.
    let context = exec
        .and_then(links::Arn::parse)
        .and_then(|a| a.console())
        .or_else(|| region(f, cfg).and_then(|r| links::Console::new("aws", r)));
    let end = f.stop_time.unwrap_or(now);
    let window = Some((
        f.start_time.unwrap_or(end - time::Duration::hours(1)) - time::Duration::minutes(1),
        end + time::Duration::minutes(5),
    ));
    if let (Some(function), Some(rid)) = (
        extra.and_then(|e| e.function_arn.as_deref()),
        decoded.request_id(),
    ) && let Some(url) = links::lambda_logs(function, rid, window)
    {
        out.push((
            url,
            "Lambda logs for this request (CloudWatch Logs Insights)".to_owned(),
        ));
    }
    decoded.links(context.as_ref(), &mut out);
    if out.is_empty() {
        return;
    }
    h.raw("<h3>Links</h3>\n<ul>");
    for (url, label) in &out {
        h.raw("<li>");
        h.link(url, label);
        h.raw("</li>");
    }
    h.raw("</ul>\n");
}

fn input_section(h: &mut Html, title: &str, input: Option<&Input>, r: &Redactor) {
    h.raw("<h3>").text(title, FIELD_CAP).raw("</h3>\n");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{Intake, intake};
    use serde_json::json;

    fn cfg() -> RenderConfig {
        RenderConfig::from_lookup(&|_: &str| None).unwrap()
    }

    fn render_event(ev: Value) -> Ticket {
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
    fn a_redriven_failure_says_which_redrive_and_how_to_redrive_again() {
        let ev = json!({"error": {"Error": "E", "Cause": "c"}, "redriveCount": 2,
                        "execution": "arn:aws:states:eu-west-1:1:execution:m:e"});
        let Intake::Failure(f) = intake(&ev, None).unwrap() else {
            panic!()
        };
        let cfg = RenderConfig::from_lookup(&|_: &str| None).unwrap();
        let body = render(&f, &cfg, OffsetDateTime::UNIX_EPOCH).body;
        assert!(body.contains("redrive 2"), "{body}");
        assert!(body.contains("aws stepfunctions redrive-execution --execution-arn arn:aws:states:eu-west-1:1:execution:m:e"), "{body}");
    }

    #[test]
    fn an_account_name_follows_the_machine_in_the_subject_and_the_id_in_the_body() {
        let mut cfg = cfg();
        cfg.account_names
            .insert("123456789012".to_owned(), "prod".to_owned());
        let ev = json!({"error": {"Error": "E", "Cause": "c"}, "execution": ARN,
                        "stateMachine": "orders", "failedState": "Charge"});
        let Intake::Failure(f) = intake(&ev, None).unwrap() else {
            panic!()
        };
        let case = render(&f, &cfg, OffsetDateTime::UNIX_EPOCH);
        assert!(
            case.subject.starts_with("[Step Functions] orders (prod): "),
            "{}",
            case.subject
        );
        assert!(case.body.contains("123456789012 (prod)"), "{}", case.body);
        cfg.account_names.clear();
        let case = render(&f, &cfg, OffsetDateTime::UNIX_EPOCH);
        assert!(case.subject.starts_with("[Step Functions] orders: "));
    }

    #[test]
    fn the_ticket_has_the_facts() {
        let cause = json!({"errorType": "ValueError", "errorMessage": "order <7> not found", "stackTrace": ["at x"]}).to_string();
        let case = render_event(json!({
            "orderId": 7, "password": "hunter2",
            "error": {"Error": "ValueError", "Cause": cause},
            "execution": ARN, "stateMachine": "orders", "failedState": "Charge card",
            "startTime": "2026-11-21T10:00:00Z",
        }));
        let v = serde_json::to_value(&case).unwrap();
        assert_eq!(v["Subject"], case.subject.as_str());
        assert_eq!(v["Body"], case.body.as_str());
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
        assert_eq!(
            case.subject,
            "[Step Functions] etl: OutOfMemoryError: exit code 137 of container app"
        );
        assert!(
            case.body.starts_with(
                "<p><strong>OutOfMemoryError: exit code 137 of container app</strong> (error States.TaskFailed)</p>"
            ),
            "{}",
            case.body
        );
    }

    /// The history's findings show: resource, retries, the state's input,
    /// the Lambda log link; and the note when it could not be read.
    #[test]
    fn enrichment_shows_in_the_ticket() {
        let ev = json!({"detail-type": "Step Functions Execution Status Change", "region": "eu-west-1",
            "detail": {"status": "FAILED", "executionArn": ARN, "error": "States.TaskFailed",
                       "cause": json!({"errorType": "KeyError", "errorMessage": "'sku'", "requestId": "rid-1"}).to_string(),
                       "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:orders",
                       "startDate": 1_700_000_000_000_i64, "stopDate": 1_700_000_060_000_i64}});
        let Intake::Failure(mut f) = intake(&ev, None).unwrap() else {
            panic!()
        };
        f.failed_state = Some("Reserve".into());
        let extra = Enrichment {
            resource: Some("arn:aws:lambda:eu-west-1:123456789012:function:reserve".into()),
            function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:reserve".into()),
            retries: Some(2),
            state_input: Some(Input::Json(json!({"sku": null, "token": "tok_live_9"}))),
            note: None,
            routing: None,
        };
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap();
        let case = render_with(&f, Some(&extra), &cfg(), now);
        assert_eq!(
            case.subject,
            "[Step Functions] orders: KeyError: &#39;sku&#39; in Reserve".replace("&#39;", "'")
        );
        for needle in [
            "<p><strong>KeyError: &#39;sku&#39;</strong> (error States.TaskFailed) in state Reserve</p>",
            ">Retries spent</th><td>2<",
            "function:reserve",
            "#logsV2:logs-insights$3FqueryDetail$3D~(end~&#39;2023-11-14T22*3A19*3A20.000Z",
            "Failed state input (redacted)",
        ] {
            assert!(
                case.body.contains(needle),
                "missing {needle} in {}",
                case.body
            );
        }
        assert!(!case.body.contains("tok_live_9"));
        let note = Enrichment {
            note: Some("execution history unavailable: throttled".into()),
            ..Enrichment::default()
        };
        let case = render_with(&f, Some(&note), &cfg(), now);
        assert!(
            case.body
                .contains("<p><em>execution history unavailable: throttled</em></p>")
        );
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
