//! One invocation, start to finish: intake → render → credentials →
//! delivery, with exactly one structured log line saying how it ended.
//!
//! When delivery fails, that log line carries the whole rendered (redacted)
//! ticket and event, and the error goes back to the caller typed, so Step
//! Functions' Retry/Catch or a dead-letter queue keeps the failure: nothing
//! is lost silently.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::Config;
use crate::delivery::{Attempts, TicketClient};
use crate::error::NotifierError;
use crate::event::{Intake, intake};
use crate::secrets::{SecretCache, SecretSource};
use crate::ticket::{CaseBody, render};

/// What an invocation returns to its caller (the state machine's next state).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Delivered {
        case_uid: String,
        subject: String,
        attempts: u32,
    },
    Skipped {
        skipped: bool,
        status: String,
    },
}

/// Everything a warm container keeps between invocations.
pub struct Notifier<S> {
    config: Config,
    secrets: SecretCache<S>,
    client: TicketClient,
}

impl<S: SecretSource> Notifier<S> {
    pub fn new(config: Config, source: S) -> Result<Self, NotifierError> {
        let client = TicketClient::new(&config)?;
        let secrets = SecretCache::new(
            source,
            config.connection_secret_id.clone(),
            config.secret_cache_ttl,
        );
        Ok(Notifier {
            config,
            secrets,
            client,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Token fetches since cold start (benchmarks count them).
    pub fn token_fetches(&self) -> u64 {
        self.client.token_fetches()
    }

    /// Handles one event. `deadline` is the Lambda deadline, if any; the
    /// work stops a safety margin before it so the error still gets out.
    pub async fn handle(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, NotifierError> {
        let started = Instant::now();
        let redactor = &self.config.render.redactor;
        let failure = match intake(&event, self.config.render.error_path.as_ref()) {
            Ok(Intake::Failure(f)) => f,
            Ok(Intake::Skipped { status }) => {
                tracing::info!(outcome = "skipped", status = %status, "execution status is not a failure; no ticket");
                return Ok(Outcome::Skipped {
                    skipped: true,
                    status,
                });
            }
            Err(reason) => {
                let err = NotifierError::InvalidFailureEvent(reason);
                tracing::error!(
                    outcome = "invalid_event",
                    error_type = err.error_type(),
                    error = %err,
                    event = %redactor.json(&event),
                    "event is not a Step Functions failure; no ticket"
                );
                return Err(err);
            }
        };
        let end = self.budget_end(deadline);
        let mut case = render(&failure, &self.config.render, OffsetDateTime::now_utc());
        let mut stats = Attempts::default();
        let mut known = redactor.clone();
        let result = async {
            let conn = self
                .secrets
                .get()
                .await
                .map_err(|e| NotifierError::ConnectionSecret(e.to_string()))?;
            known = redactor.with_known_secrets(conn.secret_values());
            case.scrub(&known);
            self.client
                .deliver(&case, &self.secrets, conn, end, &known, &mut stats)
                .await
        }
        .await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(case_uid) => {
                tracing::info!(
                    outcome = "delivered",
                    case_uid = %case_uid,
                    attempts = stats.api_calls,
                    token_fetches = stats.token_fetches,
                    secret_refreshes = stats.secret_refreshes,
                    duration_ms,
                    subject = %case.subject,
                    "ticket created"
                );
                Ok(Outcome::Delivered {
                    case_uid,
                    subject: case.subject,
                    attempts: stats.api_calls,
                })
            }
            Err(err) => {
                tracing::error!(
                    outcome = "not_delivered",
                    error_type = err.error_type(),
                    error = %known.text(&err.to_string()),
                    attempts = stats.api_calls,
                    token_fetches = stats.token_fetches,
                    duration_ms,
                    ticket = %ticket_json(&case),
                    event = %known.json(&event),
                    "ticket NOT delivered; the ticket and event are in this line"
                );
                Err(scrubbed(err, &known))
            }
        }
    }

    fn budget_end(&self, deadline: Option<SystemTime>) -> Instant {
        let now = Instant::now();
        let left = deadline
            .and_then(|d| d.duration_since(SystemTime::now()).ok())
            .filter(|d| !d.is_zero());
        match left {
            Some(left) => now + left.saturating_sub(self.config.deadline_margin),
            None => now + self.config.default_budget,
        }
    }
}

fn ticket_json(case: &CaseBody) -> String {
    serde_json::to_string(case).unwrap_or_else(|_| format!("{case:?}"))
}

/// The error's message goes into Step Functions' `Cause`: mask anything we
/// know to be secret one last time.
fn scrubbed(err: NotifierError, r: &crate::redact::Redactor) -> NotifierError {
    match err {
        NotifierError::InvalidFailureEvent(m) => NotifierError::InvalidFailureEvent(r.text(&m)),
        NotifierError::ConnectionSecret(m) => NotifierError::ConnectionSecret(r.text(&m)),
        NotifierError::Auth(m) => NotifierError::Auth(r.text(&m)),
        NotifierError::TicketRejected(m) => NotifierError::TicketRejected(r.text(&m)),
        NotifierError::TicketDeliveryFailed(m) => NotifierError::TicketDeliveryFailed(r.text(&m)),
        other @ NotifierError::Config(_) => other,
    }
}

/// A deadline `ms` from now, as Lambda's `Context::deadline` gives it.
pub fn deadline_in(ms: u64) -> SystemTime {
    SystemTime::now() + Duration::from_millis(ms)
}
