//! The incident service: what the bridge does with a failure of a grouped
//! fingerprint (a new case, a reply, or coalesced: `occurrence`), with the
//! flush event (`flush`), and with a SUCCEEDED execution (`recovery`).
//!
//! It is a type of its own, holding every port it acts on, so it is tested
//! on the in-memory adapters without a notifier, and the notifier reaches
//! it only through its methods. It sits beside `incident` (the model, the
//! store port, the recording algorithm) rather than inside it: the service
//! renders tickets, and `ticket` renders incident data, so a child of
//! `incident` would close an import cycle.
//!
//! The per-failure dedupe claim has already been won when an occurrence
//! comes here, so a redelivered copy never becomes a new occurrence. Every
//! end the service reaches writes its one structured log line
//! (`new_case`, `reply_posted`, `reply_coalesced`, `flushed`,
//! `recovery_noted`, `skipped`), except an error: that comes back as
//! [`Unfiled`], for the notifier's one not-filed exit (sealed line,
//! fallback topic, typed error).
//!
//! Nothing is lost: a batch taken for a reply never leaves the incident's
//! item until it is on the case. The write that takes it off the pending
//! list makes it the incident's batch in flight, held under a lease; a
//! failed attempt gives it back (all but this invocation's own occurrence,
//! whose caller retries it and whose ticket goes to the fallback topic like
//! a case's), and a holder killed mid-post leaves it to lapse, for the next
//! occurrence or the flush to take over (`post`). After
//! [`incident::REPLY_TRIES`] attempts, or at once when the desk refuses it
//! with a 4xx, it goes to the fallback topic and the incident moves on. A
//! creator that fails lets its incident lapse at once so the next
//! occurrence or the flush files the case.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use time::OffsetDateTime;

use crate::budget::{Budget, BudgetStore, MemoryBudget};
use crate::dedupe::{self, ClaimStore, Filed, Owner};
use crate::desk::{Attempts, Desk};
use crate::error::NotifierError;
use crate::fallback::Publisher;
use crate::history::Enrichment;
use crate::incident::{self, Decision, Fingerprint, Incident, IncidentStore};
use crate::intake::Failure;
use crate::outcome::Outcome;
use crate::redact::Gate;
use crate::ticket::{RenderConfig, Ticket, render_with};

mod flush;
mod lifecycle;
mod occurrence;
mod post;
mod recovery;
#[cfg(test)]
mod tests;

pub use flush::flushed;

/// What the service is built from; the notifier passes its own ports, so
/// both file on the same desk, redact with the same gate and answer
/// redelivered copies from the same claims.
pub struct Parts {
    pub store: Arc<dyn IncidentStore>,
    pub desk: Arc<dyn Desk>,
    /// The dedupe claims an occurrence completes (or releases), so a
    /// redelivered copy is answered with its result.
    pub claims: Arc<dyn ClaimStore>,
    pub gate: Gate,
    pub settings: incident::Settings,
    /// The render settings without the secrets learnt since cold start:
    /// the gate adds those at each render.
    pub render: RenderConfig,
    /// How long a completed claim answers redelivered copies.
    pub claim_ttl: Duration,
    /// Where a batch the desk will not take goes (the notifier's fallback
    /// topic); `None`: only to the log line.
    pub fallback: Option<Arc<dyn Publisher>>,
    /// The most one log line may take (`LOG_EVENT_MAX_BYTES`).
    pub log_max_bytes: usize,
}

/// The incident service of one warm container.
pub struct Incidents {
    store: Arc<dyn IncidentStore>,
    desk: Arc<dyn Desk>,
    claims: Arc<dyn ClaimStore>,
    gate: Gate,
    settings: incident::Settings,
    render: RenderConfig,
    claim_ttl: Duration,
    fallback: Option<Arc<dyn Publisher>>,
    log_max_bytes: usize,
    /// The desk requests a second all containers may send for incidents.
    budget: Budget,
}

/// An invocation the service ended without filing what it had to: the
/// notifier's not-filed exit logs it sealed, publishes `case` (when there
/// is one) to the fallback topic, and returns `error` to the caller.
#[derive(Debug)]
pub struct Unfiled {
    /// The log line's `outcome`: `not_delivered`, `flush_failed` or
    /// `recovery_not_delivered`.
    pub outcome: &'static str,
    pub error: NotifierError,
    /// This failure's own ticket, for the fallback topic.
    pub case: Option<Ticket>,
    pub stats: Attempts,
}

/// How an occurrence ended.
#[derive(Debug)]
pub enum Grouped {
    Done(Result<Outcome, Unfiled>),
    /// The incident store failed before anything was recorded: the failure
    /// is filed as its own case (a possible extra case beats a lost one).
    Ungrouped,
}

/// One failure of a grouped fingerprint, with what the invocation knows.
pub struct Failed<'a> {
    pub fp: Fingerprint,
    pub failure: &'a Failure,
    pub extra: Option<&'a Enrichment>,
    pub reported: OffsetDateTime,
    pub end: Instant,
    pub end_wall: SystemTime,
    /// The key of the dedupe claim this invocation won and its owner token,
    /// completed with the case Uid or released; `None` when the claim store
    /// was unavailable.
    pub claim: Option<(&'a str, &'a Owner)>,
    /// When the invocation started, for the log line's duration.
    pub started: Instant,
}

impl Incidents {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            store,
            desk,
            claims,
            gate,
            settings,
            render,
            claim_ttl,
            fallback,
            log_max_bytes,
        } = parts;
        let budget = Budget::new(Arc::new(MemoryBudget::new()), settings.desk_per_second);
        Incidents {
            store,
            desk,
            claims,
            gate,
            settings,
            render,
            claim_ttl,
            fallback,
            log_max_bytes,
            budget,
        }
    }

    /// The same service counting its desk requests in `budget`, shared with
    /// every other container (the table) instead of this one's memory.
    pub fn with_budget(self, budget: Arc<dyn BudgetStore>) -> Self {
        Incidents {
            budget: self.budget.on(budget),
            ..self
        }
    }

    /// The same service sending batches it gives up on to `fallback`.
    pub fn with_fallback(self, fallback: Arc<dyn Publisher>) -> Self {
        Incidents {
            fallback: Some(fallback),
            ..self
        }
    }

    /// The same service on another incident store (a table shared by every
    /// container instead of this one's memory).
    pub fn with_store(self, store: Arc<dyn IncidentStore>) -> Self {
        Incidents { store, ..self }
    }

    /// The same service completing claims in another claim store.
    pub fn with_claims(self, claims: Arc<dyn ClaimStore>) -> Self {
        Incidents { claims, ..self }
    }

    /// The incident `failure` belongs to; `None` when it names no state
    /// machine (or grouping is off), and it is filed as its own case.
    pub fn fingerprint(&self, failure: &Failure) -> Option<Fingerprint> {
        incident::fingerprint(failure, self.settings.grouping)
    }

    /// The render settings with every secret the gate knows by now.
    fn render_config(&self) -> RenderConfig {
        RenderConfig {
            redactor: self.gate.redactor(),
            ..self.render.clone()
        }
    }

    fn render(
        &self,
        failure: &Failure,
        extra: Option<&Enrichment>,
        reported: OffsetDateTime,
    ) -> Ticket {
        render_with(failure, extra, &self.render_config(), reported)
    }

    /// A current credential, for one more call.
    async fn ready(&self, end: Instant, stats: &mut Attempts) -> Result<(), NotifierError> {
        self.desk.ready(end, stats).await
    }

    /// Records this failure's result in its dedupe claim, so a redelivered
    /// copy is answered with it and is never a new occurrence.
    async fn finish_claim(&self, f: &Failed<'_>, case_uid: &str, subject: &str) {
        let Some((key, owner)) = f.claim else {
            return;
        };
        let expires = SystemTime::now() + self.claim_ttl;
        let filed = Filed {
            case_uid,
            subject,
            expires,
        };
        dedupe::complete(self.claims.as_ref(), key, owner, filed, "occurrence").await;
    }

    /// A failure whose case or reply could not be delivered: its claim is
    /// released for the retry, its ticket goes to the fallback topic.
    async fn not_delivered(
        &self,
        f: &Failed<'_>,
        error: NotifierError,
        case: Ticket,
        stats: Attempts,
    ) -> Unfiled {
        if let Some((key, owner)) = f.claim {
            dedupe::release(self.claims.as_ref(), key, owner).await;
        }
        Unfiled {
            outcome: "not_delivered",
            error,
            case: Some(case),
            stats,
        }
    }

    /// The one log line of an invocation that ended in its incident.
    fn log_incident(&self, outcome: &Outcome, stats: &Attempts, started: Instant) {
        let Outcome::Incident {
            case_uid,
            subject,
            incident,
            occurrence,
            carried,
            previous_case_uid,
            ..
        } = outcome
        else {
            return;
        };
        tracing::info!(
            outcome = *incident,
            case_uid = %self.gate.seal(case_uid.as_deref().unwrap_or(""), 200),
            occurrence,
            carried,
            previous_case_uid = %self.gate.seal(previous_case_uid.as_deref().unwrap_or(""), 200),
            attempts = stats.api_calls,
            token_fetches = stats.token_fetches,
            duration_ms = started.elapsed().as_millis() as u64,
            incidents = self.store.describe(),
            subject = %subject,
            "failure recorded in its incident"
        );
    }
}

/// Whether the waiting occurrences of `incident` are due for a reply now.
fn post_due(now_ms: u64, incident: &Incident, interval: Duration) -> bool {
    // A case the bridge closed is reopened by the first failure after it,
    // not an interval later.
    if incident.resolved_ms.is_some() && incident.pending_count > 0 {
        return true;
    }
    incident::decide(
        now_ms,
        incident.last_reply_ms,
        interval,
        incident.pending_count,
    ) == Decision::PostNow
}

/// A store failure the flush or a recovery note cannot work around: the
/// invocation fails retryably and the next one tries again.
fn store_failed(e: incident::StoreError) -> NotifierError {
    NotifierError::TicketDeliveryFailed(e.to_string())
}
