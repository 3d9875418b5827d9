//! Intake: recognises the event shapes the notifier accepts and normalises
//! them into one [`Failure`], so nothing downstream cares where it came from.
//!
//! Shapes, in the order they are tried:
//! 1. EventBridge "Step Functions Execution Status Change";
//! 2. a Catch payload with `{Error, Cause}` at `ERROR_PATH`, at `$.error`,
//!    or at the root (which also covers a bare `{Error, Cause}`).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// The Cause our own Fail state sets after the Catch path filed a ticket
/// (see infra's `FailureTicketBridge`). The EventBridge rule already skips
/// it; checking here too means a rule written by hand cannot double-file.
pub const TICKET_FILED_MARKER: &str = "Failure ticket filed by FailureTicketBridge";

/// Keys a Catch path's `Parameters` may add beside the error; they are
/// context, not part of the execution's input.
const CONTEXT_KEYS: &[&str] = &[
    "execution",
    "stateMachine",
    "failedState",
    "startTime",
    "input",
    "redriveCount",
];

/// A dotted JSON path such as `$.Payload.error`, where a Catch put the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPath(Vec<String>);

impl ErrorPath {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = raw
            .trim()
            .strip_prefix('$')
            .ok_or_else(|| format!("`{raw}` must start with `$`"))?;
        if rest.is_empty() {
            return Ok(ErrorPath(Vec::new()));
        }
        let rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("`{raw}` must look like `$.a.b`"))?;
        let parts: Vec<String> = rest.split('.').map(str::to_owned).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("`{raw}` has an empty segment"));
        }
        Ok(ErrorPath(parts))
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for ErrorPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("$")?;
        for p in &self.0 {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

/// What intake made of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Intake {
    Failure(Box<Failure>),
    /// An execution status that is not a failure (RUNNING, SUCCEEDED...):
    /// acknowledged, no ticket.
    Skipped {
        status: String,
    },
}

/// Where a failure event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Catch,
    EventBridge,
}

/// The execution input as far as the event carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Json(Value),
    /// Step Functions sent a string that is not JSON (e.g. cut short).
    Text(String),
    /// EventBridge left it out (`inputDetails.included: false`, over 248 KiB).
    NotIncluded,
}

/// One normalised failure. Every field but `error` may be unknown, because a
/// bare `{Error, Cause}` carries nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub origin: Origin,
    /// The `Error` name, e.g. `States.TaskFailed`; `None` when EventBridge
    /// sent `error: null` (aborted executions).
    pub error: Option<String>,
    pub cause: Option<String>,
    /// FAILED / TIMED_OUT / ABORTED for EventBridge events.
    pub status: Option<String>,
    pub execution_arn: Option<String>,
    pub execution_name: Option<String>,
    pub state_machine_name: Option<String>,
    pub state_machine_arn: Option<String>,
    pub failed_state: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub start_time: Option<OffsetDateTime>,
    pub stop_time: Option<OffsetDateTime>,
    pub input: Option<Input>,
    /// How often the execution was redriven (`$$.Execution.RedriveCount`,
    /// `detail.redriveCount`): a redriven execution keeps its ARN, so this
    /// is what tells its new failure from the old one.
    pub redrive_count: u32,
}

impl Failure {
    /// The error name, or the status where there is none (an ABORTED or
    /// TIMED_OUT execution): what tells one way an execution failed from
    /// another, for the dedupe key and the incident fingerprint alike.
    pub fn error_or_status(&self) -> &str {
        self.error
            .as_deref()
            .or(self.status.as_deref())
            .unwrap_or("")
    }
}

/// The key of the flush event, `{"ticketBridge": "flush"}`: what the
/// construct's schedule sends so coalesced occurrences reach their case
/// even when no later failure comes to post them.
pub const CONTROL_KEY: &str = "ticketBridge";

/// Whether `event` is the flush event. Checked before [`intake`]: it has no
/// `Error` and must not be taken for an invalid failure.
pub fn is_flush(event: &Value) -> bool {
    event.get(CONTROL_KEY).and_then(Value::as_str) == Some("flush")
}

/// A SUCCEEDED execution, for recovery notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    pub state_machine_arn: String,
    pub execution_arn: Option<String>,
    /// When it succeeded (`detail.stopDate`), epoch ms.
    pub stopped_ms: Option<u64>,
}

/// The facts of an EventBridge SUCCEEDED status change, or `None` for any
/// other event. [`intake`] skips such events; recovery notes read them here.
pub fn success(event: &Value) -> Option<Success> {
    let root = event.as_object()?;
    if root.get("detail-type").and_then(Value::as_str) != Some(STATUS_CHANGE) {
        return None;
    }
    let detail = root.get("detail")?.as_object()?;
    if detail.get("status").and_then(Value::as_str) != Some("SUCCEEDED") {
        return None;
    }
    let execution_arn = string(detail, "executionArn");
    let state_machine_arn = string(detail, "stateMachineArn").or_else(|| {
        execution_arn
            .as_deref()
            .map(parse_execution_arn)
            .and_then(|a| a.state_machine_arn)
    })?;
    Some(Success {
        state_machine_arn,
        execution_arn,
        stopped_ms: detail.get("stopDate").and_then(Value::as_u64),
    })
}

/// Recognises `event`; `Err` names what was missing, for `InvalidFailureEvent`.
pub fn intake(event: &Value, error_path: Option<&ErrorPath>) -> Result<Intake, String> {
    let Some(root) = event.as_object() else {
        return Err(format!(
            "event must be a JSON object with an {{Error, Cause}} object, got {}",
            kind(event)
        ));
    };
    if root.get("detail-type").and_then(Value::as_str) == Some(STATUS_CHANGE) {
        return status_change(root);
    }
    if let Some(path) = error_path {
        let found = lookup(event, path).ok_or_else(|| {
            format!(
                "ERROR_PATH {path} does not exist in the event (top-level keys: {})",
                keys(root)
            )
        })?;
        let last = path.segments().last().map(String::as_str);
        return catch_payload(root, found, last, &path.to_string());
    }
    if let Some(err) = root.get("error").filter(|v| !v.is_null()) {
        return catch_payload(root, err, Some("error"), "$.error");
    }
    if root.contains_key("Error") {
        return catch_payload(root, event, None, "$");
    }
    Err(format!(
        "no {{Error, Cause}} object at $.error or at the root, and not an EventBridge \
         \"{STATUS_CHANGE}\" event (top-level keys: {}); set ERROR_PATH if the Catch uses another ResultPath",
        keys(root)
    ))
}

fn catch_payload(
    root: &Map<String, Value>,
    err: &Value,
    err_key: Option<&str>,
    at: &str,
) -> Result<Intake, String> {
    let obj = err.as_object().ok_or_else(|| {
        format!(
            "{at} must be an object with Error and Cause, got {}",
            kind(err)
        )
    })?;
    let error = match obj.get("Error") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("{at}.Error must be a string, got {}", kind(other))),
        None => return Err(format!("{at} has no Error field (keys: {})", keys(obj))),
    };
    let cause = match obj.get("Cause") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        // Some integrations hand over a structured cause; keep it readable.
        Some(other) => Some(other.to_string()),
    };
    let execution_arn = string(root, "execution");
    let arn = execution_arn
        .as_deref()
        .map(parse_execution_arn)
        .unwrap_or_default();
    let input = match root.get("input") {
        Some(Value::String(s)) => Some(parse_input_string(s)),
        Some(v) if !v.is_null() => Some(Input::Json(strip_error(v, err_key))),
        _ => {
            // Without an explicit `input`, the state input around the error is it.
            // Only what is kept is copied: cloning the root first would copy
            // the error (and its cause, up to 6 MB) only to drop it.
            let rest: Map<String, Value> = root
                .iter()
                .filter(|(k, _)| {
                    let k = k.as_str();
                    !CONTEXT_KEYS.contains(&k)
                        && Some(k) != err_key
                        && (err_key.is_some() || (k != "Error" && k != "Cause"))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!rest.is_empty()).then_some(Input::Json(Value::Object(rest)))
        }
    };
    Ok(Intake::Failure(Box::new(Failure {
        origin: Origin::Catch,
        error: Some(error),
        cause,
        status: None,
        state_machine_name: string(root, "stateMachine").or(arn.state_machine),
        state_machine_arn: arn.state_machine_arn,
        execution_name: arn.execution,
        region: arn.region,
        account: arn.account,
        execution_arn,
        failed_state: string(root, "failedState"),
        start_time: string(root, "startTime")
            .and_then(|s| OffsetDateTime::parse(&s, &Rfc3339).ok()),
        stop_time: None,
        input,
        redrive_count: redrive_count(root, "redriveCount")?,
    })))
}

/// `input: $` in a Catch's Parameters also carries the error itself; the
/// ticket shows the error on its own, so drop the copy.
fn strip_error(input: &Value, err_key: Option<&str>) -> Value {
    match (input, err_key) {
        (Value::Object(m), Some(k)) if m.contains_key(k) => Value::Object(
            m.iter()
                .filter(|(key, _)| key.as_str() != k)
                .map(|(key, v)| (key.clone(), v.clone()))
                .collect(),
        ),
        _ => input.clone(),
    }
}

fn status_change(root: &Map<String, Value>) -> Result<Intake, String> {
    let detail = root
        .get("detail")
        .and_then(Value::as_object)
        .ok_or("EventBridge status-change event has no `detail` object")?;
    let status = detail
        .get("status")
        .and_then(Value::as_str)
        .ok_or("EventBridge status-change event has no `detail.status`")?;
    if !matches!(status, "FAILED" | "TIMED_OUT" | "ABORTED") {
        return Ok(Intake::Skipped {
            status: status.to_owned(),
        });
    }
    if string(detail, "cause").is_some_and(|c| c.starts_with(TICKET_FILED_MARKER)) {
        return Ok(Intake::Skipped {
            status: format!("{status} (ticket already filed by the Catch path)"),
        });
    }
    let execution_arn = string(detail, "executionArn");
    let arn = execution_arn
        .as_deref()
        .map(parse_execution_arn)
        .unwrap_or_default();
    let included = detail
        .get("inputDetails")
        .and_then(|d| d.get("included"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let input = match detail.get("input") {
        Some(Value::String(s)) => Some(parse_input_string(s)),
        Some(v) if !v.is_null() => Some(Input::Json(v.clone())),
        _ if !included => Some(Input::NotIncluded),
        _ => None,
    };
    let state_machine_arn = string(detail, "stateMachineArn").or(arn.state_machine_arn);
    Ok(Intake::Failure(Box::new(Failure {
        origin: Origin::EventBridge,
        error: string(detail, "error"),
        cause: string(detail, "cause"),
        status: Some(status.to_owned()),
        state_machine_name: state_machine_arn
            .as_deref()
            .and_then(|a| a.rsplit(':').next())
            .map(str::to_owned)
            .or(arn.state_machine),
        state_machine_arn,
        execution_name: string(detail, "name").or(arn.execution),
        region: string(root, "region").or(arn.region),
        account: string(root, "account").or(arn.account),
        execution_arn,
        failed_state: None,
        start_time: millis(detail.get("startDate")),
        stop_time: millis(detail.get("stopDate")),
        input,
        redrive_count: redrive_count(detail, "detail.redriveCount")?,
    })))
}

/// A redrive count: absent is 0; Step Functions sends a number, a
/// hand-written Parameters block may send a string.
fn redrive_count(obj: &Map<String, Value>, name: &str) -> Result<u32, String> {
    let key = name.rsplit('.').next().unwrap_or(name);
    let count = match obj.get(key) {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    count.ok_or_else(|| format!("{name} must be a non-negative integer"))
}

fn parse_input_string(s: &str) -> Input {
    serde_json::from_str(s).map_or_else(|_| Input::Text(s.to_owned()), Input::Json)
}

/// The parts of `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`
/// (express executions add a run id after the name).
#[derive(Debug, Default)]
struct ExecutionArn {
    region: Option<String>,
    account: Option<String>,
    state_machine: Option<String>,
    state_machine_arn: Option<String>,
    execution: Option<String>,
}

fn parse_execution_arn(arn: &str) -> ExecutionArn {
    let parts: Vec<&str> = arn.split(':').collect();
    let kind_ok = matches!(parts.get(5), Some(&"execution") | Some(&"express"));
    if parts.len() < 8 || parts[0] != "arn" || parts[2] != "states" || !kind_ok {
        return ExecutionArn::default();
    }
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ExecutionArn {
        region: some(parts[3]),
        account: some(parts[4]),
        state_machine: some(parts[6]),
        state_machine_arn: Some(format!(
            "arn:{}:states:{}:{}:stateMachine:{}",
            parts[1], parts[3], parts[4], parts[6]
        )),
        execution: some(parts[7]),
    }
}

fn lookup<'a>(event: &'a Value, path: &ErrorPath) -> Option<&'a Value> {
    path.segments().iter().try_fold(event, |v, seg| v.get(seg))
}

fn string(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn millis(v: Option<&Value>) -> Option<OffsetDateTime> {
    let ms = v?.as_i64()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Key names only (values may be secret), at most ten of them.
fn keys(obj: &Map<String, Value>) -> String {
    if obj.is_empty() {
        return "none".to_owned();
    }
    let mut names: Vec<&str> = obj.keys().map(String::as_str).take(10).collect();
    if obj.len() > 10 {
        names.push("…");
    }
    names.join(", ")
}

/// The failure in `event`, for the unit tests of the modules that key on
/// failures (dedupe, incidents).
#[cfg(test)]
pub(crate) fn failure_of(event: Value) -> Failure {
    match intake(&event, None) {
        Ok(Intake::Failure(f)) => *f,
        other => panic!("not a failure: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redrive_count_from_either_path() {
        let catch = |v: Value| match intake(&v, None) {
            Ok(Intake::Failure(f)) => Ok(f.redrive_count),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(catch(json!({"error": {"Error": "E"}})), Ok(0));
        assert_eq!(
            catch(json!({"error": {"Error": "E"}, "redriveCount": 2})),
            Ok(2)
        );
        assert_eq!(
            catch(json!({"error": {"Error": "E"}, "redriveCount": "3"})),
            Ok(3)
        );
        let err = catch(json!({"error": {"Error": "E"}, "redriveCount": -1})).unwrap_err();
        assert_eq!(err, "redriveCount must be a non-negative integer");
        let eb = json!({"detail-type": "Step Functions Execution Status Change",
                        "detail": {"status": "FAILED", "error": "E", "redriveCount": 1,
                                   "executionArn": "arn:aws:states:us-east-1:1:execution:m:e"}});
        assert_eq!(catch(eb), Ok(1));
        // The context key is not part of the input the ticket shows.
        let Ok(Intake::Failure(f)) = intake(
            &json!({"error": {"Error": "E"}, "redriveCount": 1, "a": 1}),
            None,
        ) else {
            panic!()
        };
        assert_eq!(f.input, Some(Input::Json(json!({"a": 1}))));
    }

    #[test]
    fn error_path_parses_dotted_paths() {
        assert_eq!(
            ErrorPath::parse("$.Payload.error").unwrap().segments(),
            ["Payload", "error"]
        );
        assert!(ErrorPath::parse("$").unwrap().segments().is_empty());
        assert!(ErrorPath::parse("$..a").is_err());
        assert_eq!(ErrorPath::parse("$.a.b").unwrap().to_string(), "$.a.b");
    }

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:orders:run-42";

    fn failure(i: Intake) -> Failure {
        match i {
            Intake::Failure(f) => *f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn catch_payload_at_error_with_context() {
        let ev = json!({
            "orderId": 7,
            "error": {"Error": "States.TaskFailed", "Cause": "boom"},
            "execution": ARN, "stateMachine": "orders", "failedState": "Charge",
            "startTime": "2026-11-21T10:00:00.123Z",
        });
        let f = failure(intake(&ev, None).unwrap());
        assert_eq!(f.origin, Origin::Catch);
        assert_eq!(f.error.as_deref(), Some("States.TaskFailed"));
        assert_eq!(f.cause.as_deref(), Some("boom"));
        assert_eq!(f.failed_state.as_deref(), Some("Charge"));
        assert_eq!(f.execution_name.as_deref(), Some("run-42"));
        assert_eq!(f.region.as_deref(), Some("eu-west-1"));
        assert_eq!(f.account.as_deref(), Some("123456789012"));
        assert_eq!(
            f.state_machine_arn.as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:stateMachine:orders")
        );
        assert_eq!(
            f.start_time.map(|t| t.unix_timestamp()),
            Some(1_795_255_200)
        );
        assert_eq!(f.input, Some(Input::Json(json!({"orderId": 7}))));
    }

    #[test]
    fn explicit_input_drops_the_error_copy() {
        let ev = json!({"error": {"Error": "E", "Cause": "c"}, "input": {"a": 1, "error": {"Error": "E"}}});
        let f = failure(intake(&ev, None).unwrap());
        assert_eq!(f.input, Some(Input::Json(json!({"a": 1}))));
    }

    #[test]
    fn bare_error_and_root_catch() {
        let f = failure(intake(&json!({"Error": "States.Timeout", "Cause": ""}), None).unwrap());
        assert_eq!(f.error.as_deref(), Some("States.Timeout"));
        assert_eq!(f.input, None);
        let f = failure(intake(&json!({"Error": "X", "Cause": null, "k": 1}), None).unwrap());
        assert_eq!(f.cause, None);
        assert_eq!(f.input, Some(Input::Json(json!({"k": 1}))));
    }

    #[test]
    fn error_path_is_followed() {
        let path = ErrorPath::parse("$.Payload.error").unwrap();
        let ev = json!({"Payload": {"error": {"Error": "Custom", "Cause": "x"}}});
        let f = failure(intake(&ev, Some(&path)).unwrap());
        assert_eq!(f.error.as_deref(), Some("Custom"));
        let err = intake(&json!({"error": {"Error": "E"}}), Some(&path)).unwrap_err();
        assert!(
            err.contains("$.Payload.error") && err.contains("error"),
            "{err}"
        );
    }

    #[test]
    fn eventbridge_failure_statuses_make_tickets() {
        for status in ["FAILED", "TIMED_OUT", "ABORTED"] {
            let ev = json!({
                "detail-type": STATUS_CHANGE, "source": "aws.states", "region": "us-east-2", "account": "111",
                "detail": {
                    "executionArn": ARN, "stateMachineArn": "arn:aws:states:us-east-2:111:stateMachine:orders",
                    "name": "run-42", "status": status, "startDate": 1_700_000_000_000_i64, "stopDate": 1_700_000_065_000_i64,
                    "input": "{\"a\":1}", "inputDetails": {"included": true}, "error": null, "cause": null,
                },
            });
            let f = failure(intake(&ev, None).unwrap());
            assert_eq!(f.status.as_deref(), Some(status));
            assert_eq!(f.error, None);
            assert_eq!(f.state_machine_name.as_deref(), Some("orders"));
            assert_eq!(f.region.as_deref(), Some("us-east-2"));
            assert_eq!(f.input, Some(Input::Json(json!({"a": 1}))));
            let secs =
                f.stop_time.unwrap().unix_timestamp() - f.start_time.unwrap().unix_timestamp();
            assert_eq!(secs, 65);
        }
    }

    #[test]
    fn eventbridge_other_statuses_are_skipped_and_cut_input_is_noted() {
        for status in ["RUNNING", "SUCCEEDED"] {
            let ev = json!({"detail-type": STATUS_CHANGE, "detail": {"status": status}});
            assert_eq!(
                intake(&ev, None).unwrap(),
                Intake::Skipped {
                    status: status.into()
                }
            );
        }
        let ev = json!({"detail-type": STATUS_CHANGE, "detail": {"status": "FAILED", "input": null, "inputDetails": {"included": false}}});
        assert_eq!(
            failure(intake(&ev, None).unwrap()).input,
            Some(Input::NotIncluded)
        );
        let ev = json!({"detail-type": STATUS_CHANGE, "detail": {"status": "FAILED", "input": "{\"cut"}});
        assert_eq!(
            failure(intake(&ev, None).unwrap()).input,
            Some(Input::Text("{\"cut".into()))
        );
    }

    #[test]
    fn the_flush_event_and_succeeded_executions_are_recognised() {
        assert!(is_flush(&json!({"ticketBridge": "flush"})));
        assert!(!is_flush(&json!({"ticketBridge": "other"})));
        assert!(!is_flush(&json!({"Error": "E"})));
        let ok = json!({"detail-type": STATUS_CHANGE, "detail": {"status": "SUCCEEDED",
            "executionArn": ARN, "stopDate": 1_700_000_000_000_u64}});
        assert_eq!(
            success(&ok),
            Some(Success {
                state_machine_arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"
                    .into(),
                execution_arn: Some(ARN.into()),
                stopped_ms: Some(1_700_000_000_000),
            })
        );
        let failed = json!({"detail-type": STATUS_CHANGE, "detail": {"status": "FAILED", "executionArn": ARN}});
        assert_eq!(success(&failed), None);
        let anonymous = json!({"detail-type": STATUS_CHANGE, "detail": {"status": "SUCCEEDED"}});
        assert_eq!(success(&anonymous), None);
    }

    #[test]
    fn failures_already_ticketed_by_the_catch_path_are_skipped() {
        let cause =
            format!("{TICKET_FILED_MARKER} for state Load; the original cause is in the ticket");
        let ev = json!({"detail-type": STATUS_CHANGE, "detail": {"status": "FAILED", "error": "E", "cause": cause}});
        assert_eq!(
            intake(&ev, None).unwrap(),
            Intake::Skipped {
                status: "FAILED (ticket already filed by the Catch path)".into()
            }
        );
    }

    #[test]
    fn invalid_events_name_what_is_missing() {
        let cases = [
            (json!([1]), "an array"),
            (json!({"foo": 1}), "top-level keys: foo"),
            (json!({"error": "oops"}), "$.error must be an object"),
            (json!({"error": {"Cause": "x"}}), "has no Error field"),
            (json!({"Error": 5}), "$.Error must be a string"),
            (json!({"detail-type": STATUS_CHANGE}), "no `detail` object"),
            (
                json!({"detail-type": STATUS_CHANGE, "detail": {}}),
                "detail.status",
            ),
        ];
        for (ev, expected) in cases {
            let err = intake(&ev, None).unwrap_err();
            assert!(err.contains(expected), "{ev}: {err}");
        }
    }

    #[test]
    fn foreign_arns_are_ignored_not_fatal() {
        let ev = json!({"error": {"Error": "E"}, "execution": "not-an-arn"});
        let f = failure(intake(&ev, None).unwrap());
        assert_eq!(f.execution_arn.as_deref(), Some("not-an-arn"));
        assert_eq!(f.region, None);
    }
}
