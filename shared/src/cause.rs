//! Decodes a Step Functions `Cause` string into what a person needs to read.
//!
//! `Cause` is whatever the failing integration wrote: Lambda's error JSON,
//! the stopped ECS task object, an HTTP task's status, an SDK exception
//! message, or prose. Decoding never fails: anything unrecognised is kept
//! verbatim, because a ticket with raw text beats no ticket.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// No cause at all (aborted executions, `States.Timeout`).
    Empty,
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
    Http {
        status_code: Option<u16>,
        status_text: Option<String>,
        response_body: Option<String>,
    },
    Sdk {
        message: String,
        service: Option<String>,
        status_code: Option<u16>,
        error_code: Option<String>,
        request_id: Option<String>,
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

/// The failure's headline, for the subject and the top of the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub error: String,
    pub message: Option<String>,
}

pub fn decode(error: Option<&str>, cause: Option<&str>) -> Decoded {
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
        return decode_json(obj, http_status);
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

fn decode_json(obj: Map<String, Value>, http_status: Option<u16>) -> Decoded {
    if obj.contains_key("errorMessage") || obj.contains_key("errorType") {
        let stack_trace = match obj.get("stackTrace") {
            Some(Value::Array(lines)) => lines.iter().map(line_of).collect(),
            Some(Value::String(s)) => s.lines().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        return Decoded::Lambda {
            error_type: text(&obj, "errorType"),
            error_message: text(&obj, "errorMessage"),
            stack_trace,
            request_id: text(&obj, "requestId"),
        };
    }
    if obj.contains_key("TaskArn")
        || obj.contains_key("StoppedReason")
        || obj.contains_key("Containers")
    {
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
        return Decoded::Ecs {
            task_arn: text(&obj, "TaskArn"),
            stopped_reason: text(&obj, "StoppedReason"),
            stop_code: text(&obj, "StopCode"),
            last_status: text(&obj, "LastStatus"),
            containers,
        };
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
    Decoded::Json(Value::Object(obj))
}

/// `States.Http.StatusCode.503` → 503.
fn http_status_from_error(error: &str) -> Option<u16> {
    error.strip_prefix("States.Http.StatusCode.")?.parse().ok()
}

/// Parses the SDK exception suffix that Step Functions' AWS SDK integrations
/// append: `"msg (Service: X, Status Code: N, Request ID: R)"`; the Java
/// SDK's older form separates with `;` and adds `Error Code`.
fn decode_sdk(cause: &str) -> Option<Decoded> {
    let start = cause.rfind("(Service: ")?;
    let inner = cause[start + 1..].trim_end().strip_suffix(')')?;
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
    })
}

impl Decoded {
    /// What the ticket leads with: the error name, unless it is noise (Rust
    /// type paths, `States.TaskFailed`-style wrappers) and the cause has a
    /// clearer message.
    pub fn headline(&self, error: Option<&str>, status: Option<&str>) -> Headline {
        let message = self.message();
        let name = error
            .filter(|e| !e.trim().is_empty())
            .map(str::to_owned)
            .or_else(|| self.type_name())
            .or_else(|| status.map(|s| format!("Execution {s}")))
            .unwrap_or_else(|| "Unknown error".to_owned());
        match message {
            Some(m) if is_type_noise(&name) => Headline {
                error: m,
                message: Some(name),
            },
            message => Headline {
                error: name,
                message,
            },
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
            Decoded::Http {
                status_code,
                status_text,
                ..
            } => match (status_code, status_text) {
                (Some(c), Some(t)) => Some(format!("HTTP {c} {t}")),
                (Some(c), None) => Some(format!("HTTP {c}")),
                (None, t) => t.clone(),
            },
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
}

/// Rust handlers that return `Box<dyn Error>` report the type path as
/// `errorType`, e.g. `alloc::boxed::Box<dyn core::error::Error + Send + Sync>`:
/// true but useless in a subject line.
fn is_type_noise(name: &str) -> bool {
    name.contains("::") || name.contains('<') || name.starts_with('&')
}

fn line_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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
        assert_eq!(
            containers[0].reason.as_deref(),
            Some("OutOfMemoryError: Container killed")
        );
        assert_eq!(containers[1].name.as_deref(), Some("sidecar"));
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

    #[test]
    fn sdk_suffix_both_styles() {
        let d = decode(
            Some("DynamoDb.ResourceNotFoundException"),
            Some(
                "Requested resource not found (Service: DynamoDb, Status Code: 400, Request ID: ABC123)",
            ),
        );
        assert_eq!(
            d,
            Decoded::Sdk {
                message: "Requested resource not found".into(),
                service: Some("DynamoDb".into()),
                status_code: Some(400),
                error_code: None,
                request_id: Some("ABC123".into())
            }
        );
        let d = decode(
            None,
            Some(
                "Denied (Service: AmazonS3; Status Code: 403; Error Code: AccessDenied; Request ID: X; Proxy: null)",
            ),
        );
        let Decoded::Sdk {
            error_code,
            status_code,
            ..
        } = &d
        else {
            panic!()
        };
        assert_eq!(error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(*status_code, Some(403));
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
}
