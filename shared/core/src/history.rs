//! EventBridge path: what the execution history adds to a status-change
//! event, which names neither the failed state nor its input.
//!
//! A port ([`HistorySource`]) with two adapters: `SfnHistory` (in `ticket-bridge-aws`) over
//! `states:GetExecutionHistory` and [`MemoryHistory`] for tests. The reading
//! is bounded three ways, because the notifier runs inside a Lambda deadline
//! and a history can hold 25,000 events: newest first (`reverseOrder`), at
//! most [`HistoryLimits::max_pages`] pages, within [`HistoryLimits::budget`].
//! The failure is near the end, so the first page almost always holds it.
//!
//! [`enrich`] never fails: when the history cannot be read (throttled,
//! denied, too slow) the failure keeps what the event had and the ticket
//! shows a note ("execution history unavailable: ...") so a reader knows
//! why the failed state is missing.

use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;

use crate::BoxFuture;
use crate::intake::{Failure, Input, Origin};
use crate::links::Arn;

/// One history event, reduced to what enrichment reads. Adapters fill it
/// from the SDK types or from the API's JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryEvent {
    pub id: i64,
    /// `TaskFailed`, `LambdaFunctionFailed`, `TaskStateEntered`, ...
    pub kind: String,
    pub timestamp: Option<OffsetDateTime>,
    /// From `stateEnteredEventDetails` / `stateExitedEventDetails`.
    pub state_name: Option<String>,
    pub state_input: Option<String>,
    /// From whichever `*Failed` / `*TimedOut` / `*Aborted` details it has.
    pub error: Option<String>,
    pub cause: Option<String>,
    /// `TaskScheduled`: `arn:aws:states:::RESOURCE_TYPE:RESOURCE`;
    /// `LambdaFunctionScheduled`: the function ARN.
    pub resource: Option<String>,
    /// `TaskScheduled` parameters (the JSON text), for `FunctionName`.
    pub parameters: Option<String>,
}

/// One page of `GetExecutionHistory`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryPage {
    pub events: Vec<HistoryEvent>,
    pub next_token: Option<String>,
}

/// Why the history could not be read, in words for the ticket's note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HistoryError(pub String);

/// The port: one page of an execution's history, newest first.
pub trait HistorySource: Send + Sync {
    fn page<'a>(
        &'a self,
        execution_arn: &'a str,
        next_token: Option<&'a str>,
        max_results: i32,
    ) -> BoxFuture<'a, Result<HistoryPage, HistoryError>>;
}

/// How much history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    pub max_pages: usize,
    /// 1..=1000 (the API's maximum).
    pub page_size: i32,
    /// All pages together; the notifier still needs time to deliver.
    pub budget: Duration,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits {
            max_pages: 3,
            page_size: 200,
            budget: Duration::from_secs(3),
        }
    }
}

/// What the history adds beyond the [`Failure`] fields it fills.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Enrichment {
    /// The failed (or, for a timeout/abort, the running) state's task
    /// resource, e.g. a Lambda function ARN or `arn:aws:states:::ecs:runTask.sync`.
    pub resource: Option<String>,
    /// The Lambda function ARN when the task invoked one (for log links).
    pub function_arn: Option<String>,
    /// Retries spent in that state before it gave up.
    pub retries: Option<u32>,
    /// That state's own input (the event carries only the execution's).
    pub state_input: Option<Input>,
    /// When the history could not be read, or said nothing useful: why.
    pub note: Option<String>,
    /// What the state machine's tags say about the case (both paths).
    pub routing: Option<crate::routing::Routing>,
}

/// Reads the history of `failure`'s execution and fills in what the event
/// left out: the failed state (or the state running at a timeout or abort),
/// its error and cause when the event has none, its input, its task
/// resource and the retries it spent. Catch-path failures come back as they
/// are (their Catch already named the state). Never fails: see the module.
pub async fn enrich<S: HistorySource + ?Sized>(
    source: &S,
    mut failure: Failure,
    limits: &HistoryLimits,
) -> (Failure, Enrichment) {
    if failure.origin != Origin::EventBridge {
        return (failure, Enrichment::default());
    }
    let Some(arn) = failure.execution_arn.clone() else {
        return (
            failure,
            unavailable("the event names no execution ARN".to_owned()),
        );
    };
    let events = match read(source, &arn, limits).await {
        Ok(events) => events,
        Err(e) => return (failure, unavailable(e.0)),
    };
    let Some(found) = locate(&events) else {
        return (
            failure,
            unavailable(format!(
                "no failed or running state in the last {} events",
                events.len()
            )),
        );
    };
    if failure.failed_state.is_none() {
        failure.failed_state = found.state.clone();
    }
    // The state's own error is at least as specific as the execution's,
    // which is often `States.TaskFailed` or null (timeouts, aborts).
    if found.error.is_some() && failure.error.as_deref().is_none_or(is_wrapper) {
        failure.error = found.error.clone();
    }
    if found.cause.is_some() && failure.cause.as_deref().is_none_or(str::is_empty) {
        failure.cause = found.cause.clone();
    }
    let function_arn = found
        .resource
        .as_deref()
        .filter(|r| Arn::parse(r).is_some_and(|a| a.service == "lambda"))
        .map(str::to_owned)
        .or_else(|| function_from_parameters(found.parameters.as_deref(), &arn));
    let extra = Enrichment {
        resource: found.resource,
        function_arn,
        retries: found.retries,
        state_input: found.input.as_deref().map(|s| {
            serde_json::from_str(s).map_or_else(|_| Input::Text(s.to_owned()), Input::Json)
        }),
        note: None,
        routing: None,
    };
    (failure, extra)
}

/// How the note of a history that could not be read starts.
const UNAVAILABLE: &str = "execution history unavailable: ";

impl Enrichment {
    /// Whether the history could not be read (denied, throttled, gone, no
    /// role for its account): what the `HistoryUnavailable` metric counts.
    pub fn history_unavailable(&self) -> bool {
        self.note
            .as_deref()
            .is_some_and(|n| n.starts_with(UNAVAILABLE))
    }
}

fn unavailable(why: String) -> Enrichment {
    Enrichment {
        note: Some(format!("{UNAVAILABLE}{why}")),
        ..Enrichment::default()
    }
}

fn is_wrapper(error: &str) -> bool {
    matches!(error, "" | "States.TaskFailed" | "States.Runtime")
}

/// Reads up to `max_pages` pages, newest first, until the failed state's
/// `*StateEntered` is in hand, all within the budget.
async fn read<S: HistorySource + ?Sized>(
    source: &S,
    arn: &str,
    limits: &HistoryLimits,
) -> Result<Vec<HistoryEvent>, HistoryError> {
    let started = Instant::now();
    let mut events: Vec<HistoryEvent> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..limits.max_pages.max(1) {
        let left = limits.budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        let page = match tokio::time::timeout(
            left,
            source.page(arn, token.as_deref(), limits.page_size.clamp(1, 1000)),
        )
        .await
        {
            Ok(page) => page?,
            // With some pages read, work with them; with none, say why.
            Err(_) if !events.is_empty() => break,
            Err(_) => {
                return Err(HistoryError(format!(
                    "GetExecutionHistory did not answer within {} ms",
                    limits.budget.as_millis()
                )));
            }
        };
        events.extend(page.events);
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() || locate(&events).is_some_and(|f| f.state.is_some()) {
            break;
        }
    }
    Ok(events)
}

/// What [`locate`] found.
#[derive(Debug, Clone, PartialEq, Default)]
struct Found {
    state: Option<String>,
    input: Option<String>,
    error: Option<String>,
    cause: Option<String>,
    resource: Option<String>,
    parameters: Option<String>,
    retries: Option<u32>,
}

/// Event kinds that report a state's failure.
fn is_state_failure(kind: &str) -> bool {
    let failed = kind.ends_with("Failed") && !kind.starts_with("MapIteration");
    (failed || kind.ends_with("TimedOut")) && !kind.starts_with("Execution")
}

/// Finds the failed state in `events` (any order: sorted newest first by
/// id here, since a source may ignore `reverseOrder`, as moto does): the
/// newest state-level failure, the `*StateEntered` before it, the resource
/// scheduled for it and how many failures it saw (retries + 1). With no
/// state-level failure (a timeout, an abort), the state entered last and
/// never exited.
fn locate(events: &[HistoryEvent]) -> Option<Found> {
    let mut newest_first: Vec<&HistoryEvent> = events.iter().collect();
    newest_first.sort_by_key(|e| std::cmp::Reverse(e.id));
    let terminal = newest_first
        .iter()
        .find(|e| e.kind.starts_with("Execution") && e.kind != "ExecutionStarted");
    let failure_at = newest_first
        .iter()
        .position(|e| is_state_failure(&e.kind) || e.kind == "FailStateEntered");
    let mut found = Found::default();
    let entered_at = match failure_at {
        Some(i) => {
            let f = newest_first[i];
            found.error = f.error.clone();
            found.cause = f.cause.clone();
            if f.kind == "FailStateEntered" {
                found.state = f.state_name.clone();
                found.input = f.state_input.clone();
                if let Some(t) = terminal {
                    found.error = t.error.clone();
                    found.cause = t.cause.clone();
                }
                return Some(found);
            }
            if f.kind == "EvaluationFailed" && f.state_name.is_some() {
                found.state = f.state_name.clone();
            }
            newest_first[i..]
                .iter()
                .position(|e| e.kind.ends_with("StateEntered"))
                .map(|j| i + j)
        }
        None => {
            // Timed out or aborted: the newest entered state with no exit.
            let mut exited: Vec<&str> = Vec::new();
            newest_first.iter().position(|e| {
                if e.kind.ends_with("StateExited") {
                    if let Some(n) = e.state_name.as_deref() {
                        exited.push(n);
                    }
                    false
                } else {
                    e.kind.ends_with("StateEntered")
                        && !e.state_name.as_deref().is_some_and(|n| exited.contains(&n))
                }
            })
        }
    };
    if failure_at.is_none() {
        let t = terminal?;
        found.error = t.error.clone();
        found.cause = t.cause.clone();
    }
    if let Some(j) = entered_at {
        let entered = newest_first[j];
        found.state = found.state.or_else(|| entered.state_name.clone());
        found.input = entered.state_input.clone();
        let within = &newest_first[..j];
        if let Some(s) = within.iter().find(|e| e.resource.is_some()) {
            found.resource = s.resource.clone();
            found.parameters = s.parameters.clone();
        }
        let failures = within.iter().filter(|e| is_state_failure(&e.kind)).count();
        found.retries = u32::try_from(failures.saturating_sub(1)).ok();
    }
    (found.state.is_some() || found.error.is_some()).then_some(found)
}

/// `arn:aws:states:::lambda:invoke` names the function in its parameters,
/// by name, ARN or partial ARN; a bare name takes the execution's
/// partition, region and account.
fn function_from_parameters(parameters: Option<&str>, execution_arn: &str) -> Option<String> {
    let params: Value = serde_json::from_str(parameters?).ok()?;
    let name = params.get("FunctionName")?.as_str()?;
    if let Some(arn) = Arn::parse(name) {
        return (arn.service == "lambda").then(|| name.to_owned());
    }
    let exec = Arn::parse(execution_arn)?;
    let plain = name.split(':').next()?;
    (!plain.is_empty()).then(|| {
        format!(
            "arn:{}:lambda:{}:{}:function:{plain}",
            exec.partition, exec.region, exec.account
        )
    })
}

/// The in-memory adapter: a fixed history served newest first in pages,
/// or a fixed error; optionally slow, to test the budget.
#[derive(Debug, Clone, Default)]
pub struct MemoryHistory {
    /// Oldest first, as an execution writes them.
    pub events: Vec<HistoryEvent>,
    pub error: Option<HistoryError>,
    pub delay: Duration,
    /// Pages served so far (tests assert the bound).
    pub calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl MemoryHistory {
    pub fn new(events: Vec<HistoryEvent>) -> Self {
        MemoryHistory {
            events,
            ..MemoryHistory::default()
        }
    }

    pub fn failing(error: &str) -> Self {
        MemoryHistory {
            error: Some(HistoryError(error.to_owned())),
            ..MemoryHistory::default()
        }
    }
}

impl HistorySource for MemoryHistory {
    fn page<'a>(
        &'a self,
        _execution_arn: &'a str,
        next_token: Option<&'a str>,
        max_results: i32,
    ) -> BoxFuture<'a, Result<HistoryPage, HistoryError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if let Some(e) = &self.error {
                return Err(e.clone());
            }
            let start: usize = next_token.and_then(|t| t.parse().ok()).unwrap_or(0);
            let size = usize::try_from(max_results).unwrap_or(1).max(1);
            let newest_first: Vec<HistoryEvent> = self.events.iter().rev().cloned().collect();
            let events: Vec<HistoryEvent> = newest_first
                .iter()
                .skip(start)
                .take(size)
                .cloned()
                .collect();
            let next = start + events.len();
            Ok(HistoryPage {
                events,
                next_token: (next < newest_first.len()).then(|| next.to_string()),
            })
        })
    }
}

/// Parses a `GetExecutionHistory` response (`{"events": [...]}`) as the
/// API's JSON has it: how recorded histories become test fixtures.
pub fn events_from_json(response: &Value) -> Vec<HistoryEvent> {
    let Some(events) = response.get("events").and_then(Value::as_array) else {
        return Vec::new();
    };
    events
        .iter()
        .filter_map(Value::as_object)
        .map(|e| {
            let s = |v: Option<&Value>, key: &str| {
                v.and_then(|d| d.get(key)).and_then(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
            };
            let kind = e
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let entered = e.get("stateEnteredEventDetails");
            let exited = e.get("stateExitedEventDetails");
            let failed = e
                .iter()
                .find(|(k, v)| {
                    v.is_object()
                        && (k.contains("Failed") || k.contains("TimedOut") || k.contains("Aborted"))
                })
                .map(|(_, v)| v);
            let scheduled = e.get("taskScheduledEventDetails");
            let resource = match scheduled {
                Some(t) => {
                    let rt = s(Some(t), "resourceType").unwrap_or_default();
                    let r = s(Some(t), "resource").unwrap_or_default();
                    Some(format!("arn:aws:states:::{rt}:{r}"))
                }
                None => s(e.get("lambdaFunctionScheduledEventDetails"), "resource"),
            };
            HistoryEvent {
                id: e.get("id").and_then(Value::as_i64).unwrap_or_default(),
                kind,
                timestamp: None,
                state_name: s(entered, "name").or_else(|| s(exited, "name")),
                state_input: s(entered, "input"),
                error: s(failed, "error"),
                cause: s(failed, "cause"),
                resource,
                parameters: s(scheduled, "parameters"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{Intake, intake};
    use serde_json::json;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:orders:run-42";

    fn eventbridge(status: &str, error: Value) -> Failure {
        let ev = json!({"detail-type": "Step Functions Execution Status Change", "region": "eu-west-1",
            "detail": {"status": status, "executionArn": ARN, "error": error, "cause": null,
                       "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"}});
        match intake(&ev, None) {
            Ok(Intake::Failure(f)) => *f,
            other => panic!("{other:?}"),
        }
    }

    fn ev(id: i64, kind: &str) -> HistoryEvent {
        HistoryEvent {
            id,
            kind: kind.to_owned(),
            ..HistoryEvent::default()
        }
    }

    fn entered(id: i64, name: &str, input: &str) -> HistoryEvent {
        HistoryEvent {
            state_name: Some(name.to_owned()),
            state_input: Some(input.to_owned()),
            ..ev(id, "TaskStateEntered")
        }
    }

    fn failed(id: i64, kind: &str, error: &str, cause: &str) -> HistoryEvent {
        HistoryEvent {
            error: Some(error.to_owned()),
            cause: Some(cause.to_owned()),
            ..ev(id, kind)
        }
    }

    /// A Lambda task that failed three times (two retries), then the execution.
    fn retried_lambda() -> Vec<HistoryEvent> {
        let fn_arn = "arn:aws:lambda:eu-west-1:123456789012:function:charge";
        let mut events = vec![ev(1, "ExecutionStarted"), entered(2, "Validate", "{}")];
        events.push(HistoryEvent {
            state_name: Some("Validate".into()),
            ..ev(3, "TaskStateExited")
        });
        events.push(entered(4, "Charge", "{\"order\":7}"));
        let mut id = 5;
        for _ in 0..3 {
            events.push(HistoryEvent {
                resource: Some(fn_arn.to_owned()),
                ..ev(id, "LambdaFunctionScheduled")
            });
            events.push(failed(
                id + 1,
                "LambdaFunctionFailed",
                "PaymentDeclined",
                "{\"errorType\":\"PaymentDeclined\",\"errorMessage\":\"declined\",\"requestId\":\"r-3\"}",
            ));
            id += 2;
        }
        events.push(failed(id, "ExecutionFailed", "PaymentDeclined", "{}"));
        events
    }

    #[tokio::test]
    async fn a_failed_lambda_state_is_named_with_its_retries_and_function() {
        let source = MemoryHistory::new(retried_lambda());
        let (f, extra) = enrich(
            &source,
            eventbridge("FAILED", json!("States.TaskFailed")),
            &HistoryLimits::default(),
        )
        .await;
        assert_eq!(f.failed_state.as_deref(), Some("Charge"));
        assert_eq!(f.error.as_deref(), Some("PaymentDeclined"));
        assert!(f.cause.as_deref().is_some_and(|c| c.contains("declined")));
        assert_eq!(extra.retries, Some(2));
        assert_eq!(
            extra.function_arn.as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:charge")
        );
        assert_eq!(extra.state_input, Some(Input::Json(json!({"order": 7}))));
        assert_eq!(extra.note, None);
    }

    /// Table: history → (state, error) found, for each way an execution ends.
    #[test]
    fn locate_finds_the_state_for_every_ending() {
        let timed_out = vec![
            ev(1, "ExecutionStarted"),
            entered(2, "Wait for approval", "{}"),
            ev(3, "TaskScheduled"),
            ev(4, "ExecutionTimedOut"),
        ];
        let aborted = vec![
            ev(1, "ExecutionStarted"),
            entered(2, "A", "{}"),
            HistoryEvent {
                state_name: Some("A".into()),
                ..ev(3, "TaskStateExited")
            },
            entered(4, "B", "{}"),
            failed(5, "ExecutionAborted", "", ""),
        ];
        let fail_state = vec![
            ev(1, "ExecutionStarted"),
            HistoryEvent {
                state_name: Some("A State".into()),
                ..ev(2, "FailStateEntered")
            },
            failed(3, "ExecutionFailed", "AnError", "An error occurred!"),
        ];
        type Case<'a> = (&'a str, Vec<HistoryEvent>, Option<&'a str>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("timed out", timed_out, Some("Wait for approval"), None),
            ("aborted", aborted, Some("B"), None),
            ("fail state", fail_state, Some("A State"), Some("AnError")),
            (
                "lambda retried",
                retried_lambda(),
                Some("Charge"),
                Some("PaymentDeclined"),
            ),
            ("nothing", vec![ev(1, "ExecutionStarted")], None, None),
        ];
        for (what, events, state, error) in cases {
            let found = locate(&events);
            assert_eq!(
                found.as_ref().and_then(|f| f.state.as_deref()),
                state,
                "{what}"
            );
            assert_eq!(
                found
                    .as_ref()
                    .and_then(|f| f.error.as_deref())
                    .filter(|e| !e.is_empty()),
                error,
                "{what}"
            );
        }
    }

    #[tokio::test]
    async fn pages_are_bounded_and_read_newest_first() {
        // 1,000 successful Pass states after the failure would never
        // happen; 1,000 before it do (a long loop). One small page holds it.
        let mut events = vec![ev(1, "ExecutionStarted")];
        for i in 0..1000 {
            events.push(HistoryEvent {
                state_name: Some(format!("s{i}")),
                ..ev(2 + 2 * i, "PassStateEntered")
            });
            events.push(HistoryEvent {
                state_name: Some(format!("s{i}")),
                ..ev(3 + 2 * i, "PassStateExited")
            });
        }
        events.push(entered(3000, "Last", "{}"));
        events.push(failed(3001, "TaskFailed", "E", "c"));
        events.push(failed(3002, "ExecutionFailed", "E", "c"));
        let source = MemoryHistory::new(events);
        let limits = HistoryLimits {
            max_pages: 2,
            page_size: 10,
            budget: Duration::from_secs(5),
        };
        let (f, _) = enrich(&source, eventbridge("FAILED", Value::Null), &limits).await;
        assert_eq!(f.failed_state.as_deref(), Some("Last"));
        assert_eq!(source.calls.load(std::sync::atomic::Ordering::SeqCst), 1);

        // A failure further back than the page bound: what was read is used.
        let mut far = vec![entered(1, "Deep", "{}"), failed(2, "TaskFailed", "E", "c")];
        far.extend((3..100).map(|i| ev(i, "MapIterationSucceeded")));
        let source = MemoryHistory::new(far);
        let (f, extra) = enrich(&source, eventbridge("FAILED", Value::Null), &limits).await;
        assert_eq!(source.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(f.failed_state, None);
        assert!(
            extra
                .note
                .is_some_and(|n| n.contains("no failed or running state"))
        );
    }

    #[tokio::test]
    async fn unreadable_history_keeps_the_event_and_says_why() {
        let cases = [
            (
                MemoryHistory::failing("throttled (ThrottlingException); try again later"),
                "throttled",
            ),
            (
                MemoryHistory::failing(
                    "access denied (AccessDeniedException): the notifier's role needs states:GetExecutionHistory",
                ),
                "access denied",
            ),
            (
                MemoryHistory {
                    delay: Duration::from_millis(300),
                    ..MemoryHistory::new(retried_lambda())
                },
                "did not answer within 50 ms",
            ),
        ];
        let limits = HistoryLimits {
            budget: Duration::from_millis(50),
            ..HistoryLimits::default()
        };
        for (source, expected) in cases {
            let before = eventbridge("TIMED_OUT", json!("States.Timeout"));
            let (f, extra) = enrich(&source, before.clone(), &limits).await;
            assert_eq!(f, before, "{expected}");
            let note = extra.note.unwrap_or_default();
            assert!(
                note.starts_with("execution history unavailable: ") && note.contains(expected),
                "{note}"
            );
        }
    }

    #[tokio::test]
    async fn catch_path_failures_are_left_alone() {
        let Ok(Intake::Failure(f)) = intake(&json!({"Error": "E", "Cause": "c"}), None) else {
            panic!()
        };
        let source = MemoryHistory::failing("must not be called");
        let (out, extra) = enrich(&source, (*f).clone(), &HistoryLimits::default()).await;
        assert_eq!(out, *f);
        assert_eq!(extra, Enrichment::default());
        assert_eq!(source.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn function_names_become_arns_in_the_execution_partition() {
        let exec = "arn:aws-cn:states:cn-north-1:1:execution:m:e";
        let cases = [
            (
                r#"{"FunctionName":"charge"}"#,
                Some("arn:aws-cn:lambda:cn-north-1:1:function:charge"),
            ),
            (
                r#"{"FunctionName":"charge:live"}"#,
                Some("arn:aws-cn:lambda:cn-north-1:1:function:charge"),
            ),
            (
                r#"{"FunctionName":"arn:aws-cn:lambda:cn-north-1:2:function:x"}"#,
                Some("arn:aws-cn:lambda:cn-north-1:2:function:x"),
            ),
            (r#"{"FunctionName":"arn:aws-cn:sqs:cn-north-1:2:q"}"#, None),
            (r#"{"Payload":{}}"#, None),
            ("not json", None),
        ];
        for (params, want) in cases {
            assert_eq!(
                function_from_parameters(Some(params), exec).as_deref(),
                want,
                "{params}"
            );
        }
    }
}
