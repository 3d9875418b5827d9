//! One invocation, start to finish: intake → dedupe → render → credentials →
//! incident → delivery, with exactly one structured log line saying how it
//! ended. With incident grouping on, the incident service
//! ([`Incidents`]) decides between a new case, a reply and coalescing, and
//! serves the flush event and recovery notes; what it cannot file comes
//! back here as [`Unfiled`], for the same exit as a case's.
//!
//! Every exit that files no ticket goes through [`Notifier::not_filed`]: the
//! connection secret is read first (from the cache) so the gate knows its
//! values, then the error, the ticket and the event are sealed by the gate
//! (redacted, each cut to its share of `LOG_EVENT_MAX_BYTES`) into that one
//! line, the ticket goes to the fallback topic if one is set, and the error
//! goes back to the caller typed, so Step Functions' Retry/Catch or a
//! dead-letter queue keeps the failure: nothing is lost silently, and no
//! secret leaves through any of it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use time::OffsetDateTime;

use crate::budget::BudgetStore;
use crate::dedupe::Scope;
use crate::dedupe::{self, Claim, ClaimStore, Filed, Lease, Memory};
use crate::desk::{Attempts, Desk, DeskSettings};
use crate::error::NotifierError;
use crate::fallback::{self, Publisher};
use crate::history::{Enrichment, HistoryLimits, HistorySource, enrich};
use crate::incident::{self, IncidentStore};
use crate::incidents::{self, Failed, Grouped, Incidents, Parts, Unfiled};
use crate::intake::ErrorPath;
use crate::intake::{Intake, intake, is_flush, success};
use crate::metrics::{self, Tally};
use crate::redact::{Gate, Redacted};
use crate::routing::{Routing, RoutingCache, TagSource};
use crate::ticket::{RenderConfig, Ticket, render_with};

pub use crate::outcome::{FlushReport, Outcome};

/// How often a duplicate checks whether the first invocation has finished.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(200);
/// What a log line's fixed fields (error, counters, message) may take; the
/// rest of `LOG_EVENT_MAX_BYTES` is shared by the ticket and the event.
const LOG_FIXED: usize = 6 * 1024;
/// Error messages leave the process (Step Functions' `Cause`, logs) cut to this.
const ERROR_MAX: usize = 4 * 1024;

/// Everything the notifier needs, on top of rendering; `config` builds it
/// from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub render: RenderConfig,
    /// Where intake looks for the caught error (`ERROR_PATH`).
    pub error_path: Option<ErrorPath>,
    /// How the desk adapter reaches the support desk.
    pub desk: DeskSettings,
    /// The role assumed in another account to read its executions'
    /// history (`HISTORY_ROLE_NAME`); `None`: only the own account's.
    pub history_role_name: Option<String>,
    /// The CloudWatch namespace of the EMF metrics (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
    /// How long a machine's routing tags are kept (`ROUTING_CACHE_SECONDS`);
    /// `None`: routing is off (`ROUTING=off`).
    pub routing_cache: Option<Duration>,
    pub deadline_margin: Duration,
    /// Used when the invocation carries no deadline (direct calls, tests).
    pub default_budget: Duration,
    /// DynamoDB table for cross-container dedupe; `None`: per-container only.
    pub idempotency_table: Option<String>,
    pub dedupe_scope: Scope,
    /// How long a delivered failure is remembered.
    pub idempotency_ttl: Duration,
    /// SNS topic that receives tickets that could not be delivered.
    pub fallback_topic_arn: Option<String>,
    /// The most one log line may take (`LOG_EVENT_MAX_BYTES`); the event and
    /// ticket fields are cut, visibly, to fit.
    pub log_max_bytes: usize,
    /// Incident grouping, replies and recovery notes.
    pub incidents: incident::Settings,
}

/// Everything a warm container keeps between invocations: the settings,
/// the redaction gate, and one adapter per port.
pub struct Notifier {
    config: Config,
    gate: Gate,
    desk: Arc<dyn Desk>,
    store: Arc<dyn ClaimStore>,
    /// The incident service; `None` when grouping is off.
    incidents: Option<Incidents>,
    fallback: Option<Arc<dyn Publisher>>,
    /// The EventBridge path's source of the failed state; without one the
    /// ticket carries what the event says.
    history: Option<Arc<dyn HistorySource>>,
    /// Routing by the machine's tags, when `ROUTING=tags` and a tag source
    /// is given.
    routing: Option<RoutingCache>,
    /// Where each invocation's EMF metrics document goes (standard output,
    /// where CloudWatch Logs reads it; tests capture it).
    metrics_sink: MetricsSink,
}

/// Takes one EMF document, as one line of JSON.
pub type MetricsSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How an invocation that files nothing ended, for its log line.
struct NotFiled<'a> {
    outcome: &'static str,
    event: &'a Value,
    case: Option<&'a Ticket>,
    stats: Attempts,
    started: Instant,
    /// Whether this invocation already made its credential current (so the
    /// gate knows the token, or fetching it failed and must not be repeated).
    authorized: bool,
}

impl Notifier {
    /// The gate a notifier and its desk share: the desk teaches it every
    /// credential it sends, the notifier seals every line with it.
    pub fn gate_for(config: &Config) -> Gate {
        Gate::new(config.render.redactor.clone())
    }

    /// A notifier filing on `desk` (built on `gate`, from
    /// [`Notifier::gate_for`]), with the per-container dedupe guard,
    /// per-container incidents when grouping is on (`with_incidents` shares
    /// them through a table), no history source and no fallback topic.
    pub fn new(config: Config, gate: Gate, desk: Arc<dyn Desk>) -> Self {
        let store: Arc<dyn ClaimStore> = Arc::new(Memory::new());
        let incidents = (config.incidents.grouping != incident::Grouping::Off).then(|| {
            Incidents::new(Parts {
                store: Arc::new(incident::Memory::new()),
                desk: desk.clone(),
                claims: store.clone(),
                gate: gate.clone(),
                settings: config.incidents.clone(),
                render: config.render.clone(),
                claim_ttl: config.idempotency_ttl,
                fallback: None,
                log_max_bytes: config.log_max_bytes,
            })
        });
        Notifier {
            config,
            gate,
            desk,
            store,
            incidents,
            fallback: None,
            history: None,
            routing: None,
            metrics_sink: Arc::new(|line: &str| println!("{line}")),
        }
    }

    /// Dedupe across containers (DynamoDB) instead of per container.
    pub fn with_store(mut self, store: Arc<dyn ClaimStore>) -> Self {
        self.incidents = self.incidents.map(|i| i.with_claims(store.clone()));
        self.store = store;
        self
    }

    /// Incidents in this store (DynamoDB) instead of the container's
    /// memory; ignored when grouping is off.
    pub fn with_incidents(mut self, incidents: Arc<dyn IncidentStore>) -> Self {
        self.incidents = self.incidents.map(|i| i.with_store(incidents));
        self
    }

    /// The desk budget shared by every container (the table), instead of
    /// this one's memory.
    pub fn with_budget(mut self, budget: Arc<dyn BudgetStore>) -> Self {
        self.incidents = self.incidents.map(|i| i.with_budget(budget));
        self
    }

    /// Where undelivered tickets go, and the batches of occurrences the
    /// incident service gives up on.
    pub fn with_fallback(mut self, fallback: Arc<dyn Publisher>) -> Self {
        self.incidents = self.incidents.map(|i| i.with_fallback(fallback.clone()));
        self.fallback = Some(fallback);
        self
    }

    /// Where both paths read the machine's routing tags from; ignored when
    /// `ROUTING=off`.
    pub fn with_tags(mut self, tags: Arc<dyn TagSource>) -> Self {
        if let Some(ttl) = self.config.routing_cache {
            self.routing = Some(RoutingCache::new(tags, ttl));
        }
        self
    }

    /// Where the EMF metrics documents go instead of standard output.
    pub fn with_metrics_sink(mut self, sink: MetricsSink) -> Self {
        self.metrics_sink = sink;
        self
    }

    /// Where the EventBridge path reads the failed state from.
    pub fn with_history(mut self, history: Arc<dyn HistorySource>) -> Self {
        self.history = Some(history);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The process's redaction gate (the Lambda edge seals through it too).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Token fetches since cold start (benchmarks count them).
    pub fn token_fetches(&self) -> u64 {
        self.desk.token_fetches()
    }

    /// Handles one event. `deadline` is the Lambda deadline, if any; the
    /// work stops a safety margin before it so the error still gets out.
    ///
    /// Every invocation also writes one EMF metrics document (see
    /// [`crate::metrics`]) to the metrics sink, after its log line.
    pub async fn handle(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, NotifierError> {
        let started = Instant::now();
        let (result, tally) = metrics::tallied(self.handle_tallied(event, deadline)).await;
        self.emit_metrics(&result, &tally, started);
        result
    }

    /// The metrics document of one invocation, from how it ended and what
    /// it counted on the way.
    fn emit_metrics(
        &self,
        result: &Result<Outcome, NotifierError>,
        tally: &Tally,
        started: Instant,
    ) {
        let mut tally = tally.clone();
        let mut attempts = tally.get("Attempts") as u32;
        let outcome = match result {
            Ok(Outcome::Delivered {
                duplicate,
                attempts: a,
                ..
            }) => {
                attempts = *a;
                let (name, label) = match duplicate {
                    true => ("Duplicates", "duplicate"),
                    false => ("CasesFiled", "delivered"),
                };
                metrics::add(&mut tally, name, 1);
                label
            }
            Ok(Outcome::Skipped { .. }) => "skipped",
            Ok(Outcome::Incident {
                incident,
                attempts: a,
                ..
            }) => {
                attempts = *a;
                let name = match *incident {
                    "new_case" => Some("CasesFiled"),
                    "reply_posted" | "reopened" | "adopted" => Some("RepliesPosted"),
                    "reply_coalesced" => Some("RepliesCoalesced"),
                    "muted" => Some("Muted"),
                    _ => None,
                };
                if let Some(name) = name {
                    metrics::add(&mut tally, name, 1);
                }
                incident
            }
            Ok(Outcome::Flushed { flush }) => {
                metrics::add(&mut tally, "RepliesPosted", flush.replies);
                metrics::add(&mut tally, "CasesFiled", flush.new_cases);
                metrics::add(&mut tally, "Muted", flush.muted);
                "flushed"
            }
            Ok(Outcome::Recovered {
                recovery_notes,
                resolved,
                counted,
                ..
            }) => {
                let replies = recovery_notes.len() + resolved.len();
                metrics::add(&mut tally, "RepliesPosted", replies as u64);
                match (resolved.is_empty(), recovery_notes.is_empty(), counted) {
                    (false, _, _) => "resolved",
                    (true, false, _) => "recovery_noted",
                    _ => "success_counted",
                }
            }
            Err(_) => {
                let outcome = tally.outcome().unwrap_or("error");
                if outcome == "not_delivered" {
                    metrics::add(&mut tally, "NotDelivered", 1);
                }
                outcome
            }
        };
        let doc = metrics::document(
            &self.config.metrics_namespace,
            outcome,
            &tally,
            started.elapsed().as_millis() as u64,
            attempts,
            SystemTime::now(),
        );
        (self.metrics_sink)(&doc.to_string());
    }

    async fn handle_tallied(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome, NotifierError> {
        let started = Instant::now();
        let mut ending = NotFiled {
            outcome: "invalid_event",
            event: &event,
            case: None,
            stats: Attempts::default(),
            started,
            authorized: false,
        };
        if is_flush(&event) {
            return self.flush(&event, deadline, started).await;
        }
        let failure = match intake(&event, self.config.error_path.as_ref()) {
            Ok(Intake::Failure(f)) => f,
            Ok(Intake::Skipped { status })
                if status == "SUCCEEDED" && self.config.incidents.follows_successes() =>
            {
                return self.recovery(&event, deadline, started).await;
            }
            Ok(Intake::Skipped { status }) => {
                tracing::info!(outcome = "skipped", status = %self.gate.seal(&status, 200), "execution status is not a failure; no ticket");
                return Ok(Outcome::Skipped {
                    skipped: true,
                    status,
                });
            }
            Err(reason) => {
                let err = NotifierError::InvalidFailureEvent(reason);
                return Err(self.not_filed(err, ending).await);
            }
        };
        if Deadline::of(deadline) == Deadline::Passed {
            let case = self.render(&failure, None, OffsetDateTime::now_utc());
            let err = NotifierError::DeliveryTimedOut(
                "the invocation's deadline had passed before it began; nothing was attempted"
                    .to_owned(),
            );
            ending.outcome = "deadline_passed";
            ending.case = Some(&case);
            // No token fetch either: the connection's values (cached, or
            // read once) are enough to seal the line.
            ending.authorized = true;
            return Err(self.not_filed(err, ending).await);
        }
        let (end, end_wall) = self.budget_end(deadline);
        let budget_ms = end.saturating_duration_since(started).as_millis() as u64;
        tracing::debug!(budget_ms, "time budget for this invocation");
        let key = dedupe::key(&failure, self.config.dedupe_scope);
        let reported = OffsetDateTime::now_utc();

        // This invocation's lease: its token is what completes or releases
        // the claim, so a lapsed holder's late writes cannot touch ours.
        let lease = Lease::new(end_wall, SystemTime::now() + self.config.idempotency_ttl);
        let claimed = match self.claim(&key, &lease, end).await {
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
                let case = self.render(&failure, None, reported);
                let err = NotifierError::TicketDeliveryFailed(
                    "another invocation is still delivering this failure's ticket; retry later to get its result"
                        .to_owned(),
                );
                ending.outcome = "in_progress_elsewhere";
                ending.case = Some(&case);
                return Err(self.not_filed(err, ending).await);
            }
            Ok(Claim::New) => Some(&lease.owner),
            Err(e) => {
                tracing::warn!(error = %e, "dedupe store unavailable; delivering without it (a duplicate beats a lost failure)");
                None
            }
        };

        let (failure, extra) = self.enrich(*failure, end).await;
        // The connection first: reading it teaches the gate its secret
        // values, so the ticket is rendered masking them in the raw text,
        // before escaping and the size caps, wherever the event echoes them.
        // The same for the credential it yields: an OAuth token is fetched
        // (or taken from the cache) before rendering, for the same reason.
        let mut stats = Attempts::default();
        let ready = self.desk.ready(end, &mut stats).await;
        // A failure of an incident: a new case, a reply, or coalesced.
        let grouped = self
            .incidents
            .as_ref()
            .and_then(|i| i.fingerprint(&failure).map(|fp| (i, fp)));
        let ready = match (ready, grouped) {
            (Ok(()), Some((incidents, fp))) => {
                let failed = Failed {
                    fp,
                    failure: &failure,
                    extra: extra.as_ref(),
                    reported,
                    end,
                    end_wall,
                    claim: claimed.map(|owner| (key.as_str(), owner)),
                    started,
                };
                match incidents.occurrence(failed, &mut stats).await {
                    Grouped::Done(result) => return self.settle(result, &event, started).await,
                    Grouped::Ungrouped => Ok(()),
                }
            }
            (ready, _) => ready,
        };
        let case = self.render(&failure, extra.as_ref(), reported);
        let result = match ready {
            Ok(()) => self.desk.create(&case, end, &mut stats).await,
            Err(e) => Err(e),
        };

        match result {
            Ok(case_uid) => {
                if let Some(owner) = claimed {
                    let filed = Filed {
                        case_uid: &case_uid,
                        subject: &case.subject,
                        expires: SystemTime::now() + self.config.idempotency_ttl,
                    };
                    dedupe::complete(self.store.as_ref(), &key, owner, filed, "ticket").await;
                }
                tracing::info!(
                    outcome = "delivered",
                    case_uid = %self.gate.seal(&case_uid, 200),
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
                if let Some(owner) = claimed {
                    dedupe::release(self.store.as_ref(), &key, owner).await;
                }
                ending.outcome = "not_delivered";
                ending.case = Some(&case);
                ending.stats = stats;
                ending.authorized = true;
                Err(self.not_filed(err, ending).await)
            }
        }
    }

    /// The `{"ticketBridge": "flush"}` event: the incident service posts
    /// what waits; without grouping there is nothing to post, and the
    /// answer says so in the same shape.
    async fn flush(
        &self,
        event: &Value,
        deadline: Option<SystemTime>,
        started: Instant,
    ) -> Result<Outcome, NotifierError> {
        let (end, end_wall) = self.budget_end(deadline);
        let result = match &self.incidents {
            Some(incidents) => incidents.flush(end, end_wall, started).await,
            None => Ok(incidents::flushed(
                FlushReport::default(),
                &Attempts::default(),
                started,
            )),
        };
        self.settle(result, event, started).await
    }

    /// A SUCCEEDED execution with recovery notes on: the incident service
    /// notes it on its machine's open incidents. Without grouping, or an
    /// event that names no state machine, it is skipped like any success.
    async fn recovery(
        &self,
        event: &Value,
        deadline: Option<SystemTime>,
        started: Instant,
    ) -> Result<Outcome, NotifierError> {
        let status = "SUCCEEDED".to_owned();
        let (Some(incidents), Some(ok)) = (&self.incidents, success(event)) else {
            tracing::info!(outcome = "skipped", status = %status, "execution status is not a failure; no ticket");
            return Ok(Outcome::Skipped {
                skipped: true,
                status,
            });
        };
        let (end, end_wall) = self.budget_end(deadline);
        let result = incidents.recovery(&ok, end, end_wall, started).await;
        self.settle(result, event, started).await
    }

    /// Where the incident service's answer meets this invocation's exits:
    /// what it could not file leaves through [`Notifier::not_filed`], like a
    /// case's.
    async fn settle(
        &self,
        result: Result<Outcome, Unfiled>,
        event: &Value,
        started: Instant,
    ) -> Result<Outcome, NotifierError> {
        let unfiled = match result {
            Ok(outcome) => return Ok(outcome),
            Err(unfiled) => unfiled,
        };
        let ending = NotFiled {
            outcome: unfiled.outcome,
            event,
            case: unfiled.case.as_ref(),
            stats: unfiled.stats,
            started,
            authorized: true,
        };
        Err(self.not_filed(unfiled.error, ending).await)
    }

    /// An event that is not even JSON (the Lambda edge could not parse it):
    /// logged sealed and cut like every other, never raw.
    pub async fn reject_unusable(&self, raw: &str, err: NotifierError) -> NotifierError {
        let redaction = self.know_secrets(false).await;
        let err = self.scrub(err);
        let event = self.gate.seal(raw, self.event_budget(0));
        log_rejected(&err, raw.len(), &event, redaction);
        err
    }

    fn render(
        &self,
        failure: &crate::Failure,
        extra: Option<&Enrichment>,
        reported: OffsetDateTime,
    ) -> Ticket {
        render_with(failure, extra, &self.render_config(), reported)
    }

    /// The render settings with every secret the gate knows by now.
    fn render_config(&self) -> RenderConfig {
        RenderConfig {
            redactor: self.gate.redactor(),
            ..self.config.render.clone()
        }
    }

    /// The EventBridge path knows no failed state: read it from the
    /// execution history, inside a slice of the budget. Never fails; when the
    /// history cannot be read the ticket says so.
    async fn enrich(
        &self,
        failure: crate::Failure,
        end: Instant,
    ) -> (crate::Failure, Option<Enrichment>) {
        let (failure, mut extra) = match &self.history {
            None => (failure, None),
            Some(history) => {
                let left = end.saturating_duration_since(Instant::now());
                let limits = HistoryLimits {
                    budget: HistoryLimits::default().budget.min(left / 3),
                    ..HistoryLimits::default()
                };
                let (failure, extra) = enrich(history.as_ref(), failure, &limits).await;
                if extra.history_unavailable() {
                    metrics::count("HistoryUnavailable", 1);
                }
                (failure, Some(extra))
            }
        };
        if let (Some(cache), Some(machine)) = (&self.routing, failure.state_machine_arn.as_deref())
        {
            // The tags never cost the ticket: a slow read gives way.
            let left = end.saturating_duration_since(Instant::now());
            let routing = tokio::time::timeout(left / 4, cache.routing(machine))
                .await
                .unwrap_or_else(|_| Routing::unavailable("the tags read took too long"));
            extra.get_or_insert_with(Enrichment::default).routing = Some(routing);
        }
        (failure, extra)
    }

    /// Claims the failure, and when another invocation holds it, waits
    /// (inside the budget) for its result rather than failing at once. A
    /// holder whose deadline passes without a result is taken over.
    async fn claim(
        &self,
        key: &str,
        lease: &Lease,
        end: Instant,
    ) -> Result<Claim, dedupe::StoreError> {
        let mut claim = self.store.claim(key, lease).await?;
        while claim == Claim::InProgress && Instant::now() + IN_PROGRESS_POLL < end {
            tokio::time::sleep(IN_PROGRESS_POLL).await;
            claim = match self.store.existing(key).await? {
                // Released (its delivery failed) or lapsed (its holder died):
                // try ourselves; the conditional write decides who wins.
                Claim::New => self.store.claim(key, lease).await?,
                other => other,
            };
        }
        Ok(claim)
    }

    /// Teaches the gate the desk's secrets before anything is logged, the
    /// current token too unless this invocation already made it current;
    /// says how complete the masking is.
    async fn know_secrets(&self, authorized: bool) -> &'static str {
        self.desk.know_secrets(!authorized).await
    }

    /// The gate's last word on an error leaving the process: masked, cut.
    fn scrub(&self, err: NotifierError) -> NotifierError {
        err.map_message(|m| {
            let masked = self.gate.text(m);
            match masked.len() > ERROR_MAX {
                true => format!(
                    "{} [truncated: {} more bytes]",
                    &masked[..masked.floor_char_boundary(ERROR_MAX)],
                    masked.len() - masked.floor_char_boundary(ERROR_MAX)
                ),
                false => masked,
            }
        })
    }

    /// The one exit for invocations that file nothing: publish to the
    /// fallback when there is a ticket, log one sealed line, return the
    /// error scrubbed.
    async fn not_filed(&self, err: NotifierError, end: NotFiled<'_>) -> NotifierError {
        let redaction = self.know_secrets(end.authorized).await;
        let mut err = self.scrub(err);
        let mut fallback_outcome = "none";
        if let (Some(case), Some(publisher), "not_delivered") =
            (end.case, &self.fallback, end.outcome)
        {
            let (subject, message) = fallback::message(&self.gate, case, &err);
            let (note, outcome) = match publisher.publish(&subject, &message).await {
                Ok(_) => (
                    "the ticket was published to the fallback topic".to_owned(),
                    "published",
                ),
                Err(why) => (
                    format!("publishing to the fallback topic failed too: {why}"),
                    "failed",
                ),
            };
            err = self.scrub(err.with_note(&note));
            fallback_outcome = outcome;
            if outcome == "published" {
                metrics::count("FallbackPublished", 1);
            }
        }
        metrics::outcome(end.outcome);
        metrics::count("Attempts", u64::from(end.stats.api_calls));
        let ticket = end.case.map(|c| {
            let json = serde_json::to_string(c).unwrap_or_else(|_| format!("{c:?}"));
            self.gate.seal(&json, self.ticket_budget())
        });
        let event = self.gate.seal_json(
            end.event,
            self.event_budget(ticket.as_ref().map_or(0, Redacted::len)),
        );
        let error = self.gate.seal(&err.to_string(), ERROR_MAX);
        tracing::error!(
            outcome = end.outcome,
            error_type = err.error_type(),
            error = %error,
            attempts = end.stats.api_calls,
            token_fetches = end.stats.token_fetches,
            fallback = fallback_outcome,
            duration_ms = end.started.elapsed().as_millis() as u64,
            redaction,
            ticket = %ticket.as_ref().map_or("", Redacted::as_str),
            event = %event,
            "ticket NOT filed; the ticket and the event are in this line"
        );
        err
    }

    fn ticket_budget(&self) -> usize {
        self.config.log_max_bytes.saturating_sub(LOG_FIXED) / 2
    }

    fn event_budget(&self, ticket: usize) -> usize {
        self.config
            .log_max_bytes
            .saturating_sub(LOG_FIXED)
            .saturating_sub(ticket)
    }

    /// When work must stop: as a monotonic instant for timing, and as wall
    /// time for dedupe claims other containers read. A deadline that has
    /// passed leaves no time at all; one more than a day in the past is no
    /// real deadline and counts as absent: `cargo lambda watch` 1.9 sends
    /// `Lambda-Runtime-Deadline-Ms: 600000` (ten minutes after the epoch)
    /// on every invocation, and every local run would fail on it.
    fn budget_end(&self, deadline: Option<SystemTime>) -> (Instant, SystemTime) {
        let left = match Deadline::of(deadline) {
            Deadline::Absent => self.config.default_budget,
            Deadline::Passed => Duration::ZERO,
            Deadline::In(left) => left.saturating_sub(self.config.deadline_margin),
        };
        (Instant::now() + left, SystemTime::now() + left)
    }
}

/// Where the invocation's deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Absent,
    Passed,
    In(Duration),
}

impl Deadline {
    /// Further in the past than this, a deadline is a placeholder.
    const PLACEHOLDER_AGE: Duration = Duration::from_secs(86_400);

    fn of(deadline: Option<SystemTime>) -> Self {
        let Some(d) = deadline else {
            return Deadline::Absent;
        };
        let now = SystemTime::now();
        match d.duration_since(now) {
            Ok(left) if !left.is_zero() => Deadline::In(left),
            _ if now.duration_since(d).unwrap_or_default() > Self::PLACEHOLDER_AGE => {
                Deadline::Absent
            }
            _ => Deadline::Passed,
        }
    }
}

/// The log line of an event that could not be parsed at all.
pub fn log_rejected(err: &NotifierError, bytes: usize, event: &Redacted, redaction: &str) {
    tracing::error!(
        outcome = "invalid_event",
        error_type = err.error_type(),
        error = %err,
        event_bytes = bytes,
        redaction,
        event = %event,
        "event is not a Step Functions failure; no ticket"
    );
}
