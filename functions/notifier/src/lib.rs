//! The notifier's Lambda edge: adapts [`ticket_bridge::Notifier`] to the
//! runtime (events in, `Diagnostic` errors out), composes it from the
//! adapters (`wiring`), and implements the `notifier render` CLI. Logic
//! lives in the `ticket-bridge` core crate.

use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use serde_json::value::RawValue;
use ticket_bridge::intake::Intake;
use ticket_bridge::notifier::log_rejected;
use ticket_bridge::redact::{Gate, Redactor};
use ticket_bridge::text::escape_html;
use ticket_bridge::{Notifier, NotifierError, RenderConfig};

pub mod wiring;

/// A [`NotifierError`] on its way out of the function. The `errorType` is
/// the variant's contract name, which state machines match in Retry/Catch.
#[derive(Debug)]
pub struct HandlerError(pub NotifierError);

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.0.error_type().to_owned(),
            error_message: e.0.to_string(),
        }
    }
}

/// The function handler. `notifier` is `Err` when the configuration failed
/// at cold start: every invocation then reports that `ConfigError`, which a
/// state machine can catch, instead of the runtime's opaque init failure.
pub async fn handler(
    notifier: &Result<Notifier, NotifierError>,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let notifier = match notifier {
        Ok(n) => n,
        Err(NotifierError::Config(e)) => {
            tracing::error!(outcome = "config_error", error_type = "ConfigError", error = %e, "function is misconfigured; no ticket");
            return Err(HandlerError(NotifierError::Config(e.clone())));
        }
        Err(other) => {
            return Err(HandlerError(NotifierError::TicketDeliveryFailed(
                other.to_string(),
            )));
        }
    };
    let deadline = match event.context.deadline {
        0 => None,
        ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
    };
    let outcome = notifier
        .handle(event.payload, deadline)
        .await
        .map_err(HandlerError)?;
    serde_json::to_value(outcome).map_err(|_| {
        HandlerError(NotifierError::TicketDeliveryFailed(
            "could not serialise the outcome".to_owned(),
        ))
    })
}

/// The Lambda entry point. The runtime hands over the raw JSON so that
/// events serde cannot turn into a `Value` (nesting deeper than its
/// recursion limit) still end as a typed `InvalidFailureEvent` with the
/// event in the log (sealed by the redaction gate and cut), instead of the
/// runtime's own untyped error.
pub async fn handler_raw(
    notifier: &Result<Notifier, NotifierError>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Value, HandlerError> {
    let LambdaEvent { payload, context } = event;
    let parsed = serde_json::from_str::<Value>(payload.get());
    match parsed {
        Ok(value) => {
            // The raw text is not needed once parsed: an event of Lambda's
            // 6 MB limit no longer stays in memory twice for the invocation.
            drop(payload);
            handler(notifier, LambdaEvent::new(value, context)).await
        }
        Err(e) => {
            let err = NotifierError::InvalidFailureEvent(format!("event is not usable JSON: {e}"));
            let raw = payload.get();
            let err = match notifier {
                Ok(n) => n.reject_unusable(raw, err).await,
                Err(_) => {
                    // No configuration, so no connection to learn its secret
                    // values from: the event's content stays out of the log
                    // (the caller still holds it, with this typed error).
                    let gate = Gate::new(Redactor::default());
                    let withheld = gate.seal("[withheld: the function is misconfigured]", 64);
                    log_rejected(
                        &err,
                        raw.len(),
                        &withheld,
                        "withheld: no configuration, so no known secrets",
                    );
                    err
                }
            };
            Err(HandlerError(err))
        }
    }
}

/// `notifier render [--html] FILE|-`: the exact case body the Lambda would
/// POST, rendered from the same configuration and code, with no network and
/// no secrets. With `--html`, a standalone HTML page of the ticket instead
/// (the Subject as `<title>`, the Body as Outseta shows it, no CSS), to
/// look at or screenshot. Returns what to print, or a one-line reason.
pub fn render_cli(
    args: &[String],
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let (html, path) = match args {
        [flag, path] if flag == "--html" => (true, path),
        [path] if path != "--html" => (false, path),
        _ => {
            return Err(
                "usage: notifier render [--html] FILE (or - for standard input)".to_owned(),
            );
        }
    };
    let mut raw = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut raw).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|s| raw = s)
    };
    read.map_err(|e| format!("cannot read {path}: {e}"))?;
    let event: Value =
        serde_json::from_str(&raw).map_err(|e| format!("{path} is not valid JSON: {e}"))?;
    let config = RenderConfig::from_lookup(env).map_err(|e| format!("configuration error: {e}"))?;
    let filing =
        ticket_bridge::config::filing(env).map_err(|e| format!("configuration error: {e}"))?;
    let error_path =
        ticket_bridge::config::error_path(env).map_err(|e| format!("configuration error: {e}"))?;
    let json = match ticket_bridge::intake::intake(&event, error_path.as_ref()) {
        Ok(Intake::Failure(f)) => {
            let now = time::OffsetDateTime::from(SystemTime::now());
            let case = ticket_bridge::ticket::render(&f, &config, now);
            if html {
                return Ok(html_page(&case.subject, &case.body));
            }
            serde_json::to_string_pretty(&ticket_bridge_outseta::case_body(&case, &filing))
        }
        Ok(Intake::Skipped { status }) => {
            if html {
                let text = format!("skipped: {status} (no ticket)");
                return Ok(html_page(&text, &format!("<p>{}</p>", escape_html(&text))));
            }
            serde_json::to_string_pretty(&serde_json::json!({"skipped": true, "status": status}))
        }
        // The CLI holds no secrets: its gate has the key rules only.
        Err(reason) => {
            let gate = Gate::new(config.redactor.clone());
            return Err(format!("invalid failure event: {}", gate.text(&reason)));
        }
    };
    json.map_err(|e| format!("could not serialise the case: {e}"))
}

/// A standalone page around a rendered Body. The Body is already escaped
/// HTML (the renderer's contract); the title is text and is escaped here.
fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n<body>\n{body}</body>\n</html>",
        escape_html(title)
    )
}
