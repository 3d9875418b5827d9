//! Decodes a Step Functions `Cause` string into what a person needs to read,
//! and picks the most specific fact in it: the ticket's *reason*.
//!
//! `Cause` is whatever the failing integration wrote: Lambda's error JSON
//! (every runtime spells it a little differently), the stopped ECS task, the
//! AWS Batch job, the Glue job run, the CodeBuild build, the child execution
//! of a nested `startExecution.sync`, a PutEvents response, an API Gateway
//! body, an HTTP task's status, an SDK exception message, or prose. Decoding
//! never fails and never panics: anything unrecognised is kept verbatim,
//! because a ticket with raw text beats no ticket. Shapes are recognised by
//! their keys, not by the `Error` name, because the same integration reports
//! under several names (`States.TaskFailed`, `Batch.JobFailed`, ...).
//!
//! The shapes were checked against payloads AWS produced; see
//! `shared/core/tests/fixtures/aws/README.md` for each fixture and its source.

use serde_json::{Map, Value};

/// How deep nested `startExecution.sync` failures are followed. A child's
/// cause holds its own child's cause as an escaped string, so each level
/// multiplies the escaping; beyond a few levels the text is noise and a
/// hostile cause could make decoding quadratic.
pub const MAX_DEPTH: usize = 4;

/// Most characters of a reason taken from free text: it leads a Subject of
/// at most 200 characters.
const REASON_CHARS: usize = 160;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Decoded {
    /// No cause at all (aborted executions, `States.Timeout`).
    #[default]
    Empty,
    /// A Lambda function's error, from any runtime: Python and Java put the
    /// frames in `stackTrace`, Node in `trace`, Go's panics as objects.
    Lambda {
        error_type: Option<String>,
        error_message: Option<String>,
        stack_trace: Vec<String>,
        request_id: Option<String>,
    },
    Ecs {
        task_arn: Option<String>,
        stopped_reason: Option<String>,
        stop_code: Option<String>,
        last_status: Option<String>,
        containers: Vec<Container>,
    },
    Batch(Box<BatchJob>),
    Glue(Box<GlueRun>),
    CodeBuild(Box<Build>),
    /// A nested `states:startExecution.sync` child that failed: its own
    /// error and cause, decoded in turn (up to [`MAX_DEPTH`]).
    Execution(Box<ChildExecution>),
    Http {
        status_code: Option<u16>,
        status_text: Option<String>,
        response_body: Option<String>,
    },
    /// An API Gateway body `{"message": ...}` (e.g. `Forbidden`).
    ApiMessage {
        status_code: Option<u16>,
        message: String,
    },
    /// EventBridge `PutEvents` with failed entries.
    PutEvents {
        failed_entry_count: Option<u64>,
        /// `(ErrorCode, ErrorMessage)` of each failed entry.
        failed: Vec<(Option<String>, Option<String>)>,
    },
    Sdk {
        message: String,
        service: Option<String>,
        status_code: Option<u16>,
        error_code: Option<String>,
        request_id: Option<String>,
        /// The AWS SDK for Java 2.x's `(SDK Attempt Count: N)` suffix.
        attempts: Option<u32>,
    },
    /// JSON of no known shape: shown pretty-printed.
    Json(Value),
    /// Prose (e.g. `States.Runtime`) or anything else, kept as it is.
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: Option<String>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
    pub last_status: Option<String>,
}

/// The parts of an AWS Batch job description a reader acts on. The
/// container's `Environment` is deliberately not kept: it is where people
/// put credentials, and it is never the reason a job failed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchJob {
    pub job_name: Option<String>,
    pub job_id: Option<String>,
    pub job_arn: Option<String>,
    pub job_queue: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub exit_code: Option<i64>,
    pub container_reason: Option<String>,
    pub log_stream: Option<String>,
    /// `awslogs-group` when the job overrides it; else Batch's default.
    pub log_group: Option<String>,
    pub attempts: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlueRun {
    pub job_name: Option<String>,
    pub run_id: Option<String>,
    pub state: Option<String>,
    pub error_message: Option<String>,
    pub execution_time: Option<i64>,
    pub log_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Build {
    pub arn: Option<String>,
    pub id: Option<String>,
    pub project: Option<String>,
    pub status: Option<String>,
    pub current_phase: Option<String>,
    /// The phase that failed (`PhaseStatus` other than `SUCCEEDED`).
    pub failed_phase: Option<String>,
    pub phase_status: Option<String>,
    /// That phase's context: `StatusCode: Message`.
    pub phase_message: Option<String>,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChildExecution {
    pub execution_arn: Option<String>,
    pub state_machine_arn: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub error: Option<String>,
    /// The child's cause, decoded; `Empty` when it had none (a timeout).
    pub cause: Decoded,
}

/// The failure's headline, for the subject and the top of the body (kept
/// for callers of the first API; [`Decoded::lead`] says more).
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub error: String,
    pub message: Option<String>,
}

/// What a ticket leads with: the most specific fact, and the error name it
/// was reported under (which stays visible: Retry/Catch match on it).
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// E.g. `OutOfMemoryError: exit code 137 of container report`.
    pub reason: String,
    /// The `Error` (or `Execution TIMED_OUT` when there is none).
    pub error: String,
    /// A message to show beside the reason when the reason is the error
    /// name itself (so the first line still says why).
    pub detail: Option<String>,
}

pub fn decode(error: Option<&str>, cause: Option<&str>) -> Decoded {
    decode_at(error, cause, 0)
}

fn decode_at(error: Option<&str>, cause: Option<&str>, depth: usize) -> Decoded {
    let cause = cause.map(str::trim).unwrap_or_default();
    let http_status = error.and_then(http_status_from_error);
    if cause.is_empty() {
        return match http_status {
            Some(code) => Decoded::Http {
                status_code: Some(code),
                status_text: None,
                response_body: None,
            },
            None => Decoded::Empty,
        };
    }
    if cause.starts_with('{')
        && let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(cause)
    {
        return decode_json(obj, error, http_status, depth);
    }
    if let Some(sdk) = decode_sdk(cause) {
        return sdk;
    }
    if let Some(code) = http_status {
        return Decoded::Http {
            status_code: Some(code),
            status_text: Some(cause.to_owned()),
            response_body: None,
        };
    }
    Decoded::Text(cause.to_owned())
}

fn decode_json(
    obj: Map<String, Value>,
    error: Option<&str>,
    http_status: Option<u16>,
    depth: usize,
) -> Decoded {
    if obj.contains_key("errorMessage") || obj.contains_key("errorType") {
        return lambda(obj);
    }
    // A child execution: DescribeExecution's shape, PascalCase as Step
    // Functions hands it over.
    if obj.contains_key("ExecutionArn")
        && (obj.contains_key("Status") || obj.contains_key("Error") || obj.contains_key("Cause"))
    {
        return child_execution(&obj, depth);
    }
    if obj.contains_key("JobRunState") {
        return Decoded::Glue(Box::new(glue(&obj)));
    }
    if let Some(build) = obj.get("Build").and_then(Value::as_object) {
        return Decoded::CodeBuild(Box::new(codebuild(build)));
    }
    if obj.contains_key("BuildStatus") {
        return Decoded::CodeBuild(Box::new(codebuild(&obj)));
    }
    if (obj.contains_key("JobId") || obj.contains_key("JobName"))
        && (obj.contains_key("JobQueue")
            || obj.contains_key("Container")
            || obj.contains_key("Attempts")
            || obj.contains_key("StatusReason"))
    {
        return Decoded::Batch(Box::new(batch(&obj)));
    }
    if obj.contains_key("TaskArn")
        || obj.contains_key("StoppedReason")
        || obj.contains_key("Containers")
    {
        return ecs(&obj);
    }
    if let Some(entries) = obj.get("Entries").and_then(Value::as_array) {
        let failed = entries
            .iter()
            .filter_map(Value::as_object)
            .filter(|e| e.contains_key("ErrorCode") || e.contains_key("ErrorMessage"))
            .map(|e| (text(e, "ErrorCode"), text(e, "ErrorMessage")))
            .collect::<Vec<_>>();
        if !failed.is_empty() || obj.contains_key("FailedEntryCount") {
            return Decoded::PutEvents {
                failed_entry_count: obj.get("FailedEntryCount").and_then(Value::as_u64),
                failed,
            };
        }
    }
    let code_in_body = obj
        .get("StatusCode")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    if http_status.is_some() || (code_in_body.is_some() && obj.contains_key("StatusText")) {
        return Decoded::Http {
            status_code: http_status.or(code_in_body),
            status_text: text(&obj, "StatusText"),
            response_body: obj.get("ResponseBody").map(|b| match b {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        };
    }
    // API Gateway answers errors as `{"message": "Forbidden"}` (sometimes
    // with a request id or type beside it).
    if obj.len() <= 3
        && let Some(message) = obj
            .get("message")
            .or_else(|| obj.get("Message"))
            .and_then(Value::as_str)
            .filter(|m| !m.trim().is_empty())
    {
        return Decoded::ApiMessage {
            status_code: error.and_then(api_status_from_error),
            message: message.to_owned(),
        };
    }
    Decoded::Json(Value::Object(obj))
}

/// Takes the parsed cause by value: its message and frames move into the
/// result instead of being copied (a crashing JVM's cause is hundreds of
/// kilobytes of them).
fn lambda(mut obj: Map<String, Value>) -> Decoded {
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
    Decoded::Lambda {
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

fn ecs(obj: &Map<String, Value>) -> Decoded {
    let containers = obj
        .get("Containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(Value::as_object)
                .map(|c| Container {
                    name: text(c, "Name"),
                    exit_code: c.get("ExitCode").and_then(Value::as_i64),
                    reason: text(c, "Reason"),
                    last_status: text(c, "LastStatus"),
                })
                .collect()
        })
        .unwrap_or_default();
    Decoded::Ecs {
        task_arn: text(obj, "TaskArn"),
        stopped_reason: text(obj, "StoppedReason"),
        stop_code: text(obj, "StopCode"),
        last_status: text(obj, "LastStatus"),
        containers,
    }
}

fn batch(obj: &Map<String, Value>) -> BatchJob {
    let container = obj.get("Container").and_then(Value::as_object);
    // The job's `Container` describes the last attempt; when it lacks the
    // outcome (a job that never started), the attempts still have it.
    let last_attempt = obj
        .get("Attempts")
        .and_then(Value::as_array)
        .and_then(|a| a.last())
        .and_then(|a| a.get("Container"))
        .and_then(Value::as_object);
    let from = |key: &str| {
        container
            .and_then(|c| text(c, key))
            .or_else(|| last_attempt.and_then(|c| text(c, key)))
    };
    BatchJob {
        job_name: text(obj, "JobName"),
        job_id: text(obj, "JobId"),
        job_arn: text(obj, "JobArn"),
        job_queue: text(obj, "JobQueue"),
        status: text(obj, "Status"),
        status_reason: text(obj, "StatusReason"),
        exit_code: container
            .and_then(|c| c.get("ExitCode"))
            .or_else(|| last_attempt.and_then(|c| c.get("ExitCode")))
            .and_then(Value::as_i64),
        container_reason: from("Reason"),
        log_stream: from("LogStreamName"),
        log_group: container
            .and_then(|c| c.get("LogConfiguration"))
            .and_then(|l| l.get("Options"))
            .and_then(|o| o.get("awslogs-group"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        attempts: obj
            .get("Attempts")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
    }
}

fn glue(obj: &Map<String, Value>) -> GlueRun {
    GlueRun {
        job_name: text(obj, "JobName"),
        run_id: text(obj, "Id"),
        state: text(obj, "JobRunState"),
        error_message: text(obj, "ErrorMessage"),
        execution_time: obj.get("ExecutionTime").and_then(Value::as_i64),
        log_group: text(obj, "LogGroupName"),
    }
}

fn codebuild(obj: &Map<String, Value>) -> Build {
    let failed = obj
        .get("Phases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|p| {
            text(p, "PhaseStatus").is_some_and(|s| s != "SUCCEEDED")
                && text(p, "PhaseType").is_some_and(|t| t != "COMPLETED")
        });
    let phase_message = failed
        .and_then(|p| p.get("Contexts"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|c| {
            [text(c, "StatusCode"), text(c, "Message")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ")
        })
        .find(|m| !m.is_empty());
    let logs = obj.get("Logs").and_then(Value::as_object);
    Build {
        arn: text(obj, "Arn"),
        id: text(obj, "Id"),
        project: text(obj, "ProjectName"),
        status: text(obj, "BuildStatus"),
        current_phase: text(obj, "CurrentPhase"),
        failed_phase: failed.and_then(|p| text(p, "PhaseType")),
        phase_status: failed.and_then(|p| text(p, "PhaseStatus")),
        phase_message,
        log_group: logs.and_then(|l| text(l, "GroupName")),
        log_stream: logs.and_then(|l| text(l, "StreamName")),
    }
}

fn child_execution(obj: &Map<String, Value>, depth: usize) -> Decoded {
    let error = text(obj, "Error");
    let cause = text(obj, "Cause");
    let decoded = if depth + 1 >= MAX_DEPTH {
        // Deep enough: keep the rest as text (still shown, cut, redacted).
        cause.clone().map_or(Decoded::Empty, Decoded::Text)
    } else {
        decode_at(error.as_deref(), cause.as_deref(), depth + 1)
    };
    let arn = text(obj, "ExecutionArn");
    Decoded::Execution(Box::new(ChildExecution {
        name: text(obj, "Name").or_else(|| arn.as_deref().and_then(last_segment)),
        execution_arn: arn,
        state_machine_arn: text(obj, "StateMachineArn"),
        status: text(obj, "Status"),
        error,
        cause: decoded,
    }))
}

fn last_segment(arn: &str) -> Option<String> {
    arn.rsplit(':')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `States.Http.StatusCode.503` → 503.
fn http_status_from_error(error: &str) -> Option<u16> {
    error.strip_prefix("States.Http.StatusCode.")?.parse().ok()
}

/// `ApiGateway.403` → 403 (how the API Gateway integration names errors).
fn api_status_from_error(error: &str) -> Option<u16> {
    let code = error
        .strip_prefix("ApiGateway.")
        .or_else(|| error.strip_prefix("APIGateway."))?;
    code.parse().ok()
}

/// Parses the SDK exception suffix that Step Functions' AWS SDK integrations
/// append: `"msg (Service: X, Status Code: N, Request ID: R)"`; the Java
/// SDK's older form separates with `;` and adds `Error Code`, its 2.x form
/// adds ` (SDK Attempt Count: N)` after the group. The group ends at its own
/// `)`, so that suffix no longer ends up inside the request id.
fn decode_sdk(cause: &str) -> Option<Decoded> {
    let start = cause.rfind("(Service: ")?;
    let rest = &cause[start + 1..];
    let close = rest.find(')')?;
    let inner = &rest[..close];
    let after = rest[close + 1..].trim();
    let attempts = match after {
        "" => None,
        s => Some(
            s.strip_prefix("(SDK Attempt Count:")?
                .strip_suffix(')')?
                .trim()
                .parse::<u32>()
                .ok()?,
        ),
    };
    let mut decoded_fields = (None, None, None, None);
    for field in inner.split([',', ';']) {
        let Some((k, v)) = field.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Service" => decoded_fields.0 = Some(v.to_owned()),
            "Status Code" => decoded_fields.1 = v.parse().ok(),
            "Error Code" => decoded_fields.2 = Some(v.to_owned()),
            "Request ID" => decoded_fields.3 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (service, status_code, error_code, request_id) = decoded_fields;
    Some(Decoded::Sdk {
        message: cause[..start].trim().to_owned(),
        service,
        status_code,
        error_code,
        request_id,
        attempts,
    })
}

impl Decoded {
    /// What the ticket leads with. The reason is the most specific fact the
    /// cause holds (an OOM-killed container, a child's own error, a Lambda
    /// timeout, a failed build phase); failing that, the error name, unless
    /// that is a wrapper (`States.TaskFailed`), a runtime's catch-all
    /// (`Exception`) or Rust type noise, and the cause has a message.
    pub fn lead(&self, error: Option<&str>, status: Option<&str>) -> Lead {
        let name = error
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .or_else(|| self.type_name())
            .or_else(|| status.map(|s| format!("Execution {s}")))
            .unwrap_or_else(|| "Unknown error".to_owned());
        let reason = self.specific_reason().or_else(|| {
            if is_generic(&name) {
                self.typed_message()
            } else {
                None
            }
        });
        match reason {
            Some(r) if r != name => Lead {
                reason: r,
                error: name,
                detail: None,
            },
            _ => Lead {
                detail: self.message(),
                reason: name.clone(),
                error: name,
            },
        }
    }

    /// The first API: the lead as headline and second part.
    pub fn headline(&self, error: Option<&str>, status: Option<&str>) -> Headline {
        let lead = self.lead(error, status);
        if lead.reason == lead.error {
            Headline {
                error: lead.reason,
                message: lead.detail,
            }
        } else {
            Headline {
                error: lead.reason,
                message: Some(lead.error),
            }
        }
    }

    /// A fact specific enough to lead the ticket whatever the error name.
    fn specific_reason(&self) -> Option<String> {
        match self {
            Decoded::Lambda { error_message, .. } => error_message.as_deref().and_then(timed_out),
            Decoded::Text(t) => timed_out(t),
            Decoded::Sdk { message, .. } => timed_out(message),
            Decoded::Ecs {
                stopped_reason,
                stop_code,
                containers,
                ..
            } => ecs_reason(containers, stopped_reason.as_deref(), stop_code.as_deref()),
            Decoded::Batch(job) => batch_reason(job),
            Decoded::Glue(run) => {
                let head = format!(
                    "Glue job {} {}",
                    run.job_name.as_deref().unwrap_or("run"),
                    run.state.as_deref().unwrap_or("failed")
                );
                Some(match &run.error_message {
                    Some(m) => format!("{head}: {}", clip(m)),
                    None => head,
                })
            }
            Decoded::CodeBuild(b) => {
                let mut r = format!(
                    "CodeBuild {} {}",
                    b.project.as_deref().unwrap_or("build"),
                    b.status.as_deref().unwrap_or("failed")
                );
                if let Some(phase) = &b.failed_phase {
                    r.push_str(&format!(" in phase {phase}"));
                }
                if let Some(m) = &b.phase_message {
                    r.push_str(&format!(": {}", clip(m)));
                }
                Some(r)
            }
            Decoded::Execution(child) => {
                // The innermost child holds the real failure; the direct
                // child is the one this state started, so it is named.
                let mut innermost = child;
                while let Decoded::Execution(next) = &innermost.cause {
                    innermost = next;
                }
                let inner = innermost
                    .cause
                    .lead(innermost.error.as_deref(), innermost.status.as_deref());
                let what = match &inner.detail {
                    Some(d) if inner.reason == inner.error => {
                        clip(&format!("{}: {d}", inner.reason))
                    }
                    _ => inner.reason,
                };
                // Named after the machine that actually failed; the body
                // shows the whole chain.
                let who = innermost
                    .state_machine_arn
                    .as_deref()
                    .and_then(last_segment)
                    .or_else(|| {
                        let arn = innermost.execution_arn.as_deref()?;
                        arn.split(':')
                            .nth(6)
                            .filter(|m| !m.is_empty())
                            .map(str::to_owned)
                    })
                    .or_else(|| innermost.name.clone())
                    .unwrap_or_else(|| "child".to_owned());
                Some(format!("{what} (child execution of {who})"))
            }
            Decoded::PutEvents { failed, .. } => {
                let first = failed.first()?;
                let text = [first.0.clone(), first.1.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                let more = match failed.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                Some(format!("PutEvents entry failed: {}{more}", clip(&text)))
            }
            Decoded::ApiMessage {
                status_code,
                message,
            } => Some(match status_code {
                Some(c) => format!("HTTP {c}: {}", clip(message)),
                None => clip(message),
            }),
            Decoded::Http { .. } => self.message(),
            Decoded::Empty | Decoded::Json(_) => None,
        }
    }

    /// The message, prefixed by the runtime's error type when that says
    /// more than the wrapper (`PaymentDeclined: card declined`).
    fn typed_message(&self) -> Option<String> {
        match self {
            Decoded::Lambda {
                error_type: Some(t),
                error_message: Some(m),
                ..
            } if !is_generic(t) => Some(clip(&format!("{t}: {m}"))),
            Decoded::Lambda {
                error_type: Some(t),
                error_message: None,
                ..
            } if !is_generic(t) => Some(t.clone()),
            Decoded::Sdk {
                error_code: Some(code),
                message,
                ..
            } if !message.is_empty() => Some(clip(&format!("{code}: {message}"))),
            _ => self.message().map(|m| clip(&m)),
        }
    }

    /// The most human sentence the cause has.
    pub fn message(&self) -> Option<String> {
        match self {
            Decoded::Empty | Decoded::Json(_) => None,
            Decoded::Lambda { error_message, .. } => error_message.clone(),
            Decoded::Ecs {
                stopped_reason,
                containers,
                ..
            } => stopped_reason
                .clone()
                .or_else(|| containers.iter().find_map(|c| c.reason.clone())),
            Decoded::Batch(job) => job
                .container_reason
                .clone()
                .or_else(|| job.status_reason.clone()),
            Decoded::Glue(run) => run.error_message.clone(),
            Decoded::CodeBuild(b) => b.phase_message.clone(),
            Decoded::Execution(child) => child
                .cause
                .message()
                .or_else(|| child.error.clone())
                .or_else(|| {
                    child
                        .status
                        .as_ref()
                        .map(|s| format!("child execution {s}"))
                }),
            Decoded::Http {
                status_code,
                status_text,
                ..
            } => match (status_code, status_text) {
                (Some(c), Some(t)) => Some(format!("HTTP {c} {t}")),
                (Some(c), None) => Some(format!("HTTP {c}")),
                (None, t) => t.clone(),
            },
            Decoded::ApiMessage { message, .. } => Some(message.clone()),
            Decoded::PutEvents { failed, .. } => failed
                .iter()
                .find_map(|(code, msg)| msg.clone().or_else(|| code.clone())),
            Decoded::Sdk { message, .. } => Some(message.clone()),
            Decoded::Text(t) => t.lines().next().map(str::to_owned),
        }
    }

    fn type_name(&self) -> Option<String> {
        match self {
            Decoded::Lambda { error_type, .. } => error_type.clone(),
            Decoded::Sdk { error_code, .. } => error_code.clone(),
            _ => None,
        }
    }

    /// The Lambda request id, wherever this shape keeps it: the key a log
    /// search filters on.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Decoded::Lambda { request_id, .. } => request_id.as_deref(),
            Decoded::Execution(child) => child.cause.request_id(),
            _ => None,
        }
    }
}

/// `"... Task timed out after 900.01 seconds"` (Lambda's timeout, whether
/// reported as `Sandbox.Timedout` JSON or as `Lambda.Unknown` prose with the
/// returned payload inside) → `Task timed out after 900.01 seconds`.
fn timed_out(text: &str) -> Option<String> {
    const MARK: &str = "Task timed out after ";
    // A memchr for the first letter, then a compare: `str::find` with a
    // long needle runs a byte-at-a-time two-way search over the whole
    // message, which is most of a 100 KB message's decoding.
    let mut from = 0;
    let at = loop {
        let p = from + text[from..].find('T')?;
        if text.as_bytes()[p..].starts_with(MARK.as_bytes()) {
            break p;
        }
        from = p + 1;
    };
    let rest = &text[at + MARK.len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .take(16)
        .collect();
    if number.is_empty() {
        return None;
    }
    Some(format!("{MARK}{number} seconds"))
}

/// ECS: an OOM kill (exit 137 or `OutOfMemoryError`) beats any other
/// container's exit code, which beats a container's reason, which beats the
/// task's `StoppedReason` (usually the useless "Essential container in task
/// exited") and `StopCode`.
fn ecs_reason(
    containers: &[Container],
    stopped_reason: Option<&str>,
    stop_code: Option<&str>,
) -> Option<String> {
    let name = |c: &Container| c.name.clone().unwrap_or_else(|| "(unnamed)".to_owned());
    let oom = containers.iter().find(|c| {
        c.exit_code == Some(137)
            || c.reason
                .as_deref()
                .is_some_and(|r| r.contains("OutOfMemory"))
    });
    if let Some(c) = oom {
        let code = c
            .exit_code
            .map_or("no exit code".to_owned(), |e| format!("exit code {e}"));
        let what = match c.reason.as_deref() {
            Some(r) if r.contains("OutOfMemory") => "OutOfMemoryError",
            _ => "killed (SIGKILL, usually out of memory)",
        };
        return Some(format!("{what}: {code} of container {}", name(c)));
    }
    if let Some(c) = containers
        .iter()
        .find(|c| c.exit_code.is_some_and(|e| e != 0))
    {
        let code = c.exit_code.unwrap_or_default();
        return Some(match &c.reason {
            Some(r) => format!("exit code {code} of container {}: {}", name(c), clip(r)),
            None => format!("exit code {code} of container {}", name(c)),
        });
    }
    if let Some(c) = containers.iter().find(|c| c.reason.is_some()) {
        let reason = c.reason.as_deref().unwrap_or_default();
        return Some(format!("{} (container {})", clip(reason), name(c)));
    }
    stopped_reason.map(clip).or_else(|| stop_code.map(clip))
}

/// Batch: the container's own reason (`CannotInspectContainerError`,
/// `OutOfMemoryError`) names the failure; else its exit code; else the
/// job's `StatusReason`.
fn batch_reason(job: &BatchJob) -> Option<String> {
    let who = job
        .job_name
        .as_deref()
        .map_or_else(String::new, |n| format!(" of job {n}"));
    match (&job.container_reason, job.exit_code) {
        (Some(r), Some(code)) if code != 0 => Some(format!("{}: exit code {code}{who}", clip(r))),
        (Some(r), _) => Some(clip(r)),
        (None, Some(code)) if code != 0 => Some(format!("exit code {code}{who}")),
        _ => job.status_reason.as_deref().map(clip),
    }
}

/// Error names that say only that *something* failed: a ticket leads with
/// the cause's message instead.
fn is_generic(name: &str) -> bool {
    const GENERIC: &[&str] = &[
        "States.TaskFailed",
        "States.ALL",
        "Lambda.Unknown",
        "Sandbox.Timedout",
        "Exception",
        "Error",
        "RuntimeError",
        "errorString",
        "*errors.errorString",
        "java.lang.Exception",
        "java.lang.RuntimeException",
        "System.Exception",
        "Runtime.ExitError",
        "Runtime.Unknown",
        "Unknown error",
    ];
    GENERIC.contains(&name) || name.starts_with("Execution ") || is_type_noise(name)
}

/// Rust handlers that return `Box<dyn Error>` report the type path as
/// `errorType`, e.g. `alloc::boxed::Box<dyn core::error::Error + Send + Sync>`:
/// true but useless in a subject line.
fn is_type_noise(name: &str) -> bool {
    name.contains("::") || name.contains('<') || name.starts_with('&')
}

/// One line of at most [`REASON_CHARS`] characters.
fn clip(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    crate::text::clip(line, REASON_CHARS).into_owned()
}

/// [`text`], moving the string out instead of copying it.
fn take_text(obj: &mut Map<String, Value>, key: &str) -> Option<String> {
    match obj.remove(key)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lambda_error_with_list_or_string_trace() {
        let cause = json!({"errorType": "ValueError", "errorMessage": "bad id", "requestId": "r-1",
                           "stackTrace": ["  File \"a.py\", line 1", "  raise"]})
        .to_string();
        let d = decode(Some("ValueError"), Some(&cause));
        assert_eq!(
            d,
            Decoded::Lambda {
                error_type: Some("ValueError".into()),
                error_message: Some("bad id".into()),
                stack_trace: vec!["  File \"a.py\", line 1".into(), "  raise".into()],
                request_id: Some("r-1".into()),
            }
        );
        let cause =
            json!({"errorType": "Error", "errorMessage": "m", "stackTrace": "a\nb"}).to_string();
        let Decoded::Lambda { stack_trace, .. } = decode(None, Some(&cause)) else {
            panic!()
        };
        assert_eq!(stack_trace, ["a", "b"]);
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
            let Decoded::Lambda { stack_trace, .. } = decode(None, Some(&cause.to_string())) else {
                panic!("{runtime}: not a Lambda error")
            };
            assert_eq!(&stack_trace, lines, "{runtime}");
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

    /// The reason each shape leads with (table-driven: error, cause, the
    /// reason, the error name shown beside it).
    #[test]
    fn the_reason_is_the_most_specific_fact() {
        let ecs_oom = json!({"TaskArn": "arn:aws:ecs:eu-west-1:1:task/c/abc", "StopCode": "EssentialContainerExited",
            "StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": "log-router", "ExitCode": 0},
                           {"Name": "report", "ExitCode": 137, "Reason": "OutOfMemoryError: Container killed due to memory usage"}]});
        let ecs_137 = json!({"StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": "app", "ExitCode": 137}]});
        let ecs_no_exit = json!({"StopCode": "TaskFailedToStart",
            "StoppedReason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
            "Containers": [{"Name": "app", "LastStatus": "STOPPED"}]});
        let ecs_exit_1 = json!({"Containers": [{"Name": "app", "ExitCode": 1, "Reason": null}]});
        let child = json!({"ExecutionArn": "arn:aws:states:eu-west-1:1:execution:child-etl:run-9",
            "StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:child-etl",
            "Status": "TIMED_OUT", "Error": "States.Timeout", "Cause": ""});
        let batch = json!({"JobName": "nightly", "JobId": "j-1", "JobQueue": "q", "Status": "FAILED",
            "StatusReason": "Essential container in task exited",
            "Container": {"Reason": "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s",
                          "LogStreamName": "nightly/default/abc", "Environment": [{"Name": "DB_PASSWORD", "Value": "hunter2"}]}});
        let glue = json!({"Id": "jr_1", "JobName": "etl", "JobRunState": "FAILED",
            "ErrorMessage": "AnalysisException: Path does not exist: s3://b/k"});
        let build = json!({"Build": {"ProjectName": "site", "BuildStatus": "FAILED", "CurrentPhase": "COMPLETED",
            "Phases": [{"PhaseType": "INSTALL", "PhaseStatus": "SUCCEEDED"},
                       {"PhaseType": "BUILD", "PhaseStatus": "FAILED",
                        "Contexts": [{"StatusCode": "COMMAND_EXECUTION_ERROR", "Message": "Error while executing command: make. Reason: exit status 2"}]},
                       {"PhaseType": "COMPLETED"}]}});
        let put = json!({"Entries": [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}], "FailedEntryCount": 1});
        let timeout_json = json!({"errorType": "Sandbox.Timedout",
            "errorMessage": "RequestId: 8f1d Error: Task timed out after 900.01 seconds"});
        let cases: Vec<(&str, String, &str, &str)> = vec![
            (
                "States.TaskFailed",
                ecs_oom.to_string(),
                "OutOfMemoryError: exit code 137 of container report",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                ecs_137.to_string(),
                "killed (SIGKILL, usually out of memory): exit code 137 of container app",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                ecs_no_exit.to_string(),
                "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                ecs_exit_1.to_string(),
                "exit code 1 of container app",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                child.to_string(),
                "States.Timeout (child execution of child-etl)",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                batch.to_string(),
                "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                glue.to_string(),
                "Glue job etl FAILED: AnalysisException: Path does not exist: s3://b/k",
                "States.TaskFailed",
            ),
            (
                "States.TaskFailed",
                build.to_string(),
                "CodeBuild site FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: make. Reason: exit status 2",
                "States.TaskFailed",
            ),
            (
                "EventBridge.FailedEntry",
                put.to_string(),
                "PutEvents entry failed: MalformedDetail: Detail is malformed.",
                "EventBridge.FailedEntry",
            ),
            (
                "Sandbox.Timedout",
                timeout_json.to_string(),
                "Task timed out after 900.01 seconds",
                "Sandbox.Timedout",
            ),
            (
                "Lambda.Unknown",
                "The cause could not be determined because Lambda did not return an error type. Returned payload: {\"errorMessage\":\"2019-10-01T10:00:00.000Z 1a2b Task timed out after 30.02 seconds\"}".to_owned(),
                "Task timed out after 30.02 seconds",
                "Lambda.Unknown",
            ),
            (
                "ApiGateway.403",
                "{\"message\":\"Forbidden\"}".to_owned(),
                "HTTP 403: Forbidden",
                "ApiGateway.403",
            ),
            (
                "States.TaskFailed",
                json!({"errorType": "PaymentDeclined", "errorMessage": "card declined"}).to_string(),
                "PaymentDeclined: card declined",
                "States.TaskFailed",
            ),
            (
                "PaymentDeclined",
                json!({"errorType": "PaymentDeclined", "errorMessage": "card declined"}).to_string(),
                "PaymentDeclined",
                "PaymentDeclined",
            ),
            (
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded".to_owned(),
                "States.ExceedToleratedFailureThreshold",
                "States.ExceedToleratedFailureThreshold",
            ),
            (
                "States.TaskFailed",
                "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.".to_owned(),
                "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.",
                "States.TaskFailed",
            ),
            (
                "States.Http.StatusCode.503",
                "Service Unavailable".to_owned(),
                "HTTP 503 Service Unavailable",
                "States.Http.StatusCode.503",
            ),
        ];
        for (error, cause, reason, name) in cases {
            let lead = decode(Some(error), Some(&cause)).lead(Some(error), None);
            assert_eq!(lead.reason, reason, "{error} / {cause}");
            assert_eq!(lead.error, name, "{error} / {cause}");
        }
        let lead = Decoded::Empty.lead(None, Some("TIMED_OUT"));
        assert_eq!(
            (lead.reason.as_str(), lead.error.as_str()),
            ("Execution TIMED_OUT", "Execution TIMED_OUT")
        );
    }

    #[test]
    fn nested_children_decode_recursively_and_stop_at_the_bound() {
        let mut cause =
            json!({"errorType": "KeyError", "errorMessage": "'sku'", "requestId": "rid-7"})
                .to_string();
        let mut error = "KeyError".to_owned();
        for level in 0..6 {
            cause = json!({"ExecutionArn": format!("arn:aws:states:us-east-1:1:execution:m{level}:e{level}"),
                           "StateMachineArn": format!("arn:aws:states:us-east-1:1:stateMachine:m{level}"),
                           "Status": "FAILED", "Error": error, "Cause": cause})
            .to_string();
            error = "States.TaskFailed".to_owned();
        }
        let d = decode(Some("States.TaskFailed"), Some(&cause));
        let mut depth = 0;
        let mut at = &d;
        while let Decoded::Execution(child) = at {
            depth += 1;
            at = &child.cause;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert!(matches!(at, Decoded::Text(_)), "{at:?}");
        // Two levels: the grandchild's Lambda error leads, and its request id is found.
        let two = json!({"ExecutionArn": "arn:aws:states:us-east-1:1:execution:outer:e",
            "Status": "FAILED", "Error": "States.TaskFailed",
            "Cause": json!({"ExecutionArn": "arn:aws:states:us-east-1:1:execution:inner:e", "Status": "FAILED",
                            "Error": "KeyError", "Cause": json!({"errorType": "KeyError", "errorMessage": "'sku'", "requestId": "rid-7"}).to_string()}).to_string()})
        .to_string();
        let d = decode(Some("States.TaskFailed"), Some(&two));
        assert_eq!(
            d.lead(Some("States.TaskFailed"), None).reason,
            "KeyError: 'sku' (child execution of inner)"
        );
        assert_eq!(d.request_id(), Some("rid-7"));
    }

    #[test]
    fn ecs_task_object() {
        let cause = json!({
            "TaskArn": "arn:aws:ecs:eu-west-1:1:task/c/abc", "LastStatus": "STOPPED",
            "StopCode": "EssentialContainerExited", "StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": "app", "ExitCode": 137, "Reason": "OutOfMemoryError: Container killed", "LastStatus": "STOPPED"},
                           {"Name": "sidecar", "ExitCode": 0}],
        })
        .to_string();
        let Decoded::Ecs {
            stop_code,
            containers,
            stopped_reason,
            ..
        } = decode(Some("States.TaskFailed"), Some(&cause))
        else {
            panic!()
        };
        assert_eq!(stop_code.as_deref(), Some("EssentialContainerExited"));
        assert_eq!(
            stopped_reason.as_deref(),
            Some("Essential container in task exited")
        );
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0].exit_code, Some(137));
        assert_eq!(containers[1].name.as_deref(), Some("sidecar"));
    }

    #[test]
    fn batch_keeps_no_environment() {
        let cause = json!({"JobName": "n", "JobId": "j", "JobQueue": "q",
            "Container": {"ExitCode": 1, "LogStreamName": "n/default/x",
                          "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "/custom"}},
                          "Environment": [{"Name": "PASSWORD", "Value": "hunter2"}]},
            "Attempts": [{}, {}]})
        .to_string();
        let d = decode(Some("States.TaskFailed"), Some(&cause));
        assert!(!format!("{d:?}").contains("hunter2"));
        let Decoded::Batch(job) = d else { panic!() };
        assert_eq!(job.exit_code, Some(1));
        assert_eq!(job.log_group.as_deref(), Some("/custom"));
        assert_eq!(job.attempts, 2);
    }

    #[test]
    fn http_task_text_json_and_empty() {
        let d = decode(Some("States.Http.StatusCode.404"), Some("Not Found"));
        assert_eq!(d.message().as_deref(), Some("HTTP 404 Not Found"));
        let cause = json!({"StatusCode": 503, "StatusText": "Service Unavailable", "ResponseBody": "{\"m\":1}"}).to_string();
        let d = decode(Some("States.Http.StatusCode.503"), Some(&cause));
        assert_eq!(
            d,
            Decoded::Http {
                status_code: Some(503),
                status_text: Some("Service Unavailable".into()),
                response_body: Some("{\"m\":1}".into())
            }
        );
        assert_eq!(
            decode(Some("States.Http.StatusCode.500"), None)
                .message()
                .as_deref(),
            Some("HTTP 500")
        );
    }

    /// Table: cause → (service, status, error code, request id, attempts).
    #[test]
    fn sdk_suffix_all_styles() {
        type Row<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<u16>,
            Option<&'a str>,
            Option<&'a str>,
            Option<u32>,
        );
        let cases: &[Row] = &[
            (
                "Requested resource not found (Service: DynamoDb, Status Code: 400, Request ID: ABC123)",
                "Requested resource not found",
                Some("DynamoDb"),
                Some(400),
                None,
                Some("ABC123"),
                None,
            ),
            (
                "Denied (Service: AmazonS3; Status Code: 403; Error Code: AccessDenied; Request ID: X; Proxy: null)",
                "Denied",
                Some("AmazonS3"),
                Some(403),
                Some("AccessDenied"),
                Some("X"),
                None,
            ),
            (
                "Policy arn:aws:iam::aws:policy/service-role/ConfigRole does not exist or is not attachable. (Service: Iam, Status Code: 404, Request ID: 6bde6909-c764-4280-91cc-55c0fdbfe5df) (SDK Attempt Count: 1)",
                "Policy arn:aws:iam::aws:policy/service-role/ConfigRole does not exist or is not attachable.",
                Some("Iam"),
                Some(404),
                None,
                Some("6bde6909-c764-4280-91cc-55c0fdbfe5df"),
                Some(1),
            ),
        ];
        for (cause, message, service, status, code, rid, attempts) in cases {
            let d = decode(None, Some(cause));
            assert_eq!(
                d,
                Decoded::Sdk {
                    message: (*message).into(),
                    service: service.map(Into::into),
                    status_code: *status,
                    error_code: code.map(Into::into),
                    request_id: rid.map(Into::into),
                    attempts: *attempts,
                },
                "{cause}"
            );
        }
        // Something else after the group: not an SDK suffix, kept as text.
        let odd = "x (Service: S, Status Code: 1, Request ID: R) and more";
        assert_eq!(decode(None, Some(odd)), Decoded::Text(odd.into()));
        let d = decode(
            None,
            Some(
                "Denied (Service: AmazonS3; Status Code: 403; Error Code: AccessDenied; Request ID: X; Proxy: null)",
            ),
        );
        assert_eq!(d.headline(None, None).error, "AccessDenied");
    }

    #[test]
    fn timeout_runtime_and_unknown() {
        assert_eq!(decode(Some("States.Timeout"), Some("")), Decoded::Empty);
        let prose = "An error occurred while executing the state 'X'. The JSONPath '$.a' could not be found";
        assert_eq!(
            decode(Some("States.Runtime"), Some(prose)),
            Decoded::Text(prose.into())
        );
        assert_eq!(
            decode(None, Some("{not json")),
            Decoded::Text("{not json".into())
        );
        assert_eq!(
            decode(None, Some("{\"a\":1}")),
            Decoded::Json(json!({"a": 1}))
        );
        let h = Decoded::Empty.headline(None, Some("ABORTED"));
        assert_eq!(h.error, "Execution ABORTED");
    }

    #[test]
    fn hostile_shapes_do_not_panic() {
        for cause in [
            json!({"ExecutionArn": 5, "Status": [], "Cause": {"x": 1}}),
            json!({"Build": {"Phases": "no", "Logs": 3}}),
            json!({"JobName": null, "JobQueue": 1, "Attempts": [1, null, {"Container": 4}]}),
            json!({"Containers": [{"ExitCode": "137"}, 5]}),
            json!({"Entries": [1, {"ErrorCode": {}}], "FailedEntryCount": -1}),
            json!({"errorType": 1, "trace": [{"label": []}], "cause": {"cause": {"cause": {"cause": {"cause": {"cause": {}}}}}}}),
        ] {
            let d = decode(Some("States.TaskFailed"), Some(&cause.to_string()));
            let _ = d.lead(Some("States.TaskFailed"), Some("FAILED"));
            let _ = d.message();
        }
        for text in [
            "Task timed out after ",
            "Task timed out after x",
            "(Service: ",
            "(Service: a) (SDK Attempt Count: x)",
        ] {
            let _ = decode(None, Some(text)).lead(None, None);
        }
    }
}
