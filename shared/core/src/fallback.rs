//! The last line of defence: when a ticket cannot be delivered, publish it to
//! an SNS topic (an email subscription, a chat hook) before failing, so a
//! person sees the failure even while the support desk is down.
//!
//! The publisher is a port ([`Publisher`]) with an SNS adapter (in
//! `ticket-bridge-aws`) and a recording one for tests. It takes only [`Redacted`] text: the message was
//! sealed by the gate, redacted and cut to SNS's size limit.

use std::sync::Mutex;

use serde_json::{Value, json};

use crate::BoxFuture;
use crate::error::NotifierError;
use crate::redact::{Gate, Redacted};
use crate::ticket::Ticket;

/// SNS subjects: under 100 characters, no line breaks or control characters.
const SUBJECT_MAX: usize = 99;
/// SNS refuses messages over 256 KiB; leave room for the envelope.
pub const MESSAGE_MAX: usize = 250 * 1024;

/// A publish's message id, or why it failed.
pub type Published<'a> = BoxFuture<'a, Result<String, String>>;

/// Where undelivered tickets go.
pub trait Publisher: Send + Sync {
    /// Publishes; returns the message id, or why publishing failed.
    fn publish<'a>(&'a self, subject: &'a Redacted, message: &'a Redacted) -> Published<'a>;
}

/// The fallback message for an undelivered ticket, sealed by the gate: the
/// subject as SNS accepts it, and the JSON message with the reason.
pub fn message(gate: &Gate, case: &Ticket, why: &NotifierError) -> (Redacted, Redacted) {
    let subject: String = format!("UNDELIVERED {}", case.subject)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SUBJECT_MAX)
        .collect();
    let message: Value = json!({
        "notice": "This Step Functions failure ticket could not be filed in the support desk.",
        "error": {"errorType": why.error_type(), "errorMessage": why.to_string()},
        "ticket": case,
    });
    let text = serde_json::to_string_pretty(&message).unwrap_or_else(|_| message.to_string());
    // Sealed as plain text: the JSON layout stays readable, values are masked.
    (
        gate.seal(&subject, SUBJECT_MAX * 4),
        gate.seal(&text, MESSAGE_MAX),
    )
}

/// Keeps what it is given, or refuses everything: for tests.
#[derive(Default)]
pub struct Recording {
    pub refuse: bool,
    published: Mutex<Vec<(String, String)>>,
}

impl Recording {
    pub fn refusing() -> Self {
        Recording {
            refuse: true,
            ..Default::default()
        }
    }

    /// Every (subject, message) published so far.
    pub fn published(&self) -> Vec<(String, String)> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

impl Publisher for Recording {
    fn publish<'a>(&'a self, subject: &'a Redacted, message: &'a Redacted) -> Published<'a> {
        Box::pin(async move {
            if self.refuse {
                return Err("the recording publisher refuses everything".to_owned());
            }
            let mut p = self.published.lock().map_err(|_| "poisoned".to_owned())?;
            p.push((subject.to_string(), message.to_string()));
            Ok(format!("recorded-{}", p.len()))
        })
    }
}
