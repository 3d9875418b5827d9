//! One invocation, start to finish: intake → dedupe → render → credentials →
//! delivery, with exactly one structured log line saying how it ended.
//!
//! When delivery fails, that log line carries the whole rendered (redacted)
//! ticket and event, the ticket goes to the fallback topic if one is set, and
//! the error goes back to the caller typed, so Step Functions' Retry/Catch or
//! a dead-letter queue keeps the failure: nothing is lost silently.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::{Config, RenderConfig};
use crate::dedupe::{self, Claim, Store};
use crate::delivery::{Attempts, TicketClient};
use crate::error::NotifierError;
use crate::event::{Intake, intake};
use crate::fallback::Fallback;
use crate::redact::Redactor;
use crate::secrets::{SecretCache, SecretSource};
use crate::ticket::{CaseBody, render};

/// How often a duplicate checks whether the first invocation has finished.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(200);

/// What an invocation returns to its caller (the state machine's next state).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Delivered {
        case_uid: String,
        subject: String,
        attempts: u32,
        /// True when an earlier invocation already filed this failure's
        /// ticket: this one returns that result and files nothing.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
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
    store: Store,
    fallback: Option<Fallback>,
}

impl<S: SecretSource> Notifier<S> {
    /// A notifier with the per-container dedupe guard and no fallback topic.
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
            store: Store::memory(),
            fallback: None,
        })
    }

    /// Dedupe across containers (DynamoDB) instead of per container.
    pub fn with_store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    pub fn with_fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = Some(fallback);
        self
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
        let (end, end_wall) = self.budget_end(deadline);
        let budget_ms = end.saturating_duration_since(started).as_millis() as u64;
        tracing::debug!(budget_ms, "time budget for this invocation");
        let key = dedupe::key(&failure, self.config.dedupe_scope);
        let reported = OffsetDateTime::now_utc();

        let claimed = match self.claim(&key, end, end_wall).await {
            Ok(Claim::Done { case_uid, subject }) => {
                tracing::info!(
                    outcome = "duplicate",
                    case_uid = %case_uid,
                    dedupe = self.store.describe(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "this failure's ticket was filed before; nothing filed"
                );
                return Ok(Outcome::Delivered {
                    case_uid,
                    subject,
                    attempts: 0,
                    duplicate: true,
                });
            }
            Ok(Claim::InProgress) => {
                let case = render(&failure, &self.config.render, reported);
                let err = NotifierError::TicketDeliveryFailed(
                    "another invocation is still delivering this failure's ticket; retry later to get its result"
                        .to_owned(),
                );
                self.log_failure(
                    &err,
                    &Attempts::default(),
                    started,
                    &case,
                    &event,
                    redactor,
                    "in_progress_elsewhere",
                );
                return Err(err);
            }
            Ok(Claim::New) => true,
            Err(e) => {
                tracing::warn!(error = %e, "dedupe store unavailable; delivering without it (a duplicate beats a lost failure)");
                false
            }
        };

        // The connection first, so the ticket is rendered knowing its secret
        // values: they are masked in the raw text, before escaping and the
        // size caps, wherever the event might echo them.
        let conn = self.secrets.get().await;
        let known = match &conn {
            Ok(c) => redactor.with_known_secrets(c.secret_values()),
            Err(_) => redactor.clone(),
        };
        let render_cfg = RenderConfig {
            redactor: known.clone(),
            ..self.config.render.clone()
        };
        let case = render(&failure, &render_cfg, reported);
        let mut stats = Attempts::default();
        let result = match conn {
            Ok(conn) => {
                self.client
                    .deliver(&case, &self.secrets, conn, end, &known, &mut stats)
                    .await
            }
            Err(e) => Err(NotifierError::ConnectionSecret(e.to_string())),
        };

        match result {
            Ok(case_uid) => {
                if claimed {
                    let expires = SystemTime::now() + self.config.idempotency_ttl;
                    if let Err(e) = self
                        .store
                        .complete(&key, &case_uid, &case.subject, expires)
                        .await
                    {
                        tracing::warn!(error = %e, "ticket filed but not recorded for dedupe; a retry may file it again");
                    }
                }
                tracing::info!(
                    outcome = "delivered",
                    case_uid = %case_uid,
                    attempts = stats.api_calls,
                    token_fetches = stats.token_fetches,
                    secret_refreshes = stats.secret_refreshes,
                    duration_ms = started.elapsed().as_millis() as u64,
                    subject = %case.subject,
                    "ticket created"
                );
                Ok(Outcome::Delivered {
                    case_uid,
                    subject: case.subject,
                    attempts: stats.api_calls,
                    duplicate: false,
                })
            }
            Err(err) => {
                if claimed && let Err(e) = self.store.release(&key).await {
                    tracing::warn!(error = %e, "could not release the dedupe claim; a retry waits until it lapses");
                }
                let err = scrubbed(err, &known);
                let (err, fallback) = self.fall_back(&case, err).await;
                self.log_failure(&err, &stats, started, &case, &event, &known, fallback);
                Err(err)
            }
        }
    }

    /// Claims the failure, and when another invocation holds it, waits
    /// (inside the budget) for its result rather than failing at once.
    async fn claim(
        &self,
        key: &str,
        end: Instant,
        end_wall: SystemTime,
    ) -> Result<Claim, dedupe::StoreError> {
        let expires = SystemTime::now() + self.config.idempotency_ttl;
        let mut claim = self.store.claim(key, end_wall, expires).await?;
        while claim == Claim::InProgress && Instant::now() + IN_PROGRESS_POLL < end {
            tokio::time::sleep(IN_PROGRESS_POLL).await;
            claim = match self.store.existing(key).await? {
                // The holder released it (its delivery failed): try ourselves.
                Claim::New => self.store.claim(key, end_wall, expires).await?,
                other => other,
            };
        }
        Ok(claim)
    }

    /// Publishes an undelivered ticket to the fallback topic and says in the
    /// error whether that worked.
    async fn fall_back(
        &self,
        case: &CaseBody,
        err: NotifierError,
    ) -> (NotifierError, &'static str) {
        let Some(fallback) = &self.fallback else {
            return (err, "none");
        };
        let (note, outcome) = match fallback.publish(case, &err).await {
            Ok(_) => (
                "the ticket was published to the fallback topic".to_owned(),
                "published",
            ),
            Err(why) => (
                format!("publishing to the fallback topic failed too: {why}"),
                "failed",
            ),
        };
        (err.with_note(&note), outcome)
    }

    #[allow(clippy::too_many_arguments)]
    fn log_failure(
        &self,
        err: &NotifierError,
        stats: &Attempts,
        started: Instant,
        case: &CaseBody,
        event: &Value,
        known: &Redactor,
        fallback: &str,
    ) {
        tracing::error!(
            outcome = "not_delivered",
            error_type = err.error_type(),
            error = %known.text(&err.to_string()),
            attempts = stats.api_calls,
            token_fetches = stats.token_fetches,
            fallback,
            duration_ms = started.elapsed().as_millis() as u64,
            ticket = %ticket_json(case),
            event = %known.json(event),
            "ticket NOT delivered; the ticket and event are in this line"
        );
    }

    /// When work must stop: as a monotonic instant for timing, and as wall
    /// time for dedupe claims other containers read.
    fn budget_end(&self, deadline: Option<SystemTime>) -> (Instant, SystemTime) {
        let left = deadline
            .and_then(|d| d.duration_since(SystemTime::now()).ok())
            .filter(|d| !d.is_zero())
            .map_or(self.config.default_budget, |left| {
                left.saturating_sub(self.config.deadline_margin)
            });
        (Instant::now() + left, SystemTime::now() + left)
    }
}

impl Notifier<crate::secrets::SecretsManager> {
    /// The production wiring: Secrets Manager for the connection, DynamoDB
    /// dedupe when `IDEMPOTENCY_TABLE` is set, SNS when `FALLBACK_TOPIC_ARN`
    /// is. Clients are built once per container from one SDK configuration.
    pub fn from_sdk(config: Config, sdk: &aws_config::SdkConfig) -> Result<Self, NotifierError> {
        let table = config.idempotency_table.clone();
        let topic = config.fallback_topic_arn.clone();
        let secrets = crate::secrets::SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk));
        let mut notifier = Notifier::new(config, secrets)?;
        if let Some(table) = table {
            notifier =
                notifier.with_store(Store::dynamo(aws_sdk_dynamodb::Client::new(sdk), table));
        }
        if let Some(topic) = topic {
            notifier = notifier.with_fallback(Fallback::new(aws_sdk_sns::Client::new(sdk), topic));
        }
        Ok(notifier)
    }
}

fn ticket_json(case: &CaseBody) -> String {
    serde_json::to_string(case).unwrap_or_else(|_| format!("{case:?}"))
}

/// The error's message goes into Step Functions' `Cause`: mask anything we
/// know to be secret one last time.
fn scrubbed(err: NotifierError, r: &Redactor) -> NotifierError {
    err.map_message(|m| r.text(m))
}
