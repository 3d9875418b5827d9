//! Posting a batch of waiting occurrences to its case, shared by an
//! occurrence that is due, by the flush, and by whoever takes over a batch
//! whose holder died: a reply when the case is open, a new case linking it
//! when it was closed or is gone.
//!
//! The batch is the incident's batch in flight (the outbox) the whole
//! time: taken into it by the same write that took it off the pending list
//! (`take`), or taken over (`retake`). What happens to it after the attempt
//! is [`Incidents::deliver`]'s: cleared once it is on the case, given back
//! after a failure (the next attempt one reply interval later), sent to the
//! fallback topic when the desk refused it with a 4xx or it had its
//! [`REPLY_TRIES`]. A holder that dies does none of these: its lease lapses
//! and the next occurrence or the flush takes the batch over
//! ([`Incidents::repost`]). So an occurrence can be posted twice (its holder
//! died after posting, before clearing it), never not at all.

use std::time::{Instant, SystemTime};

use serde_json::json;
use time::OffsetDateTime;

use super::{Incidents, store_failed};
use crate::budget::REPLY_COST;
use crate::desk::{Attempts, CaseState, Reply};
use crate::error::NotifierError;
use crate::fallback;
use crate::history::Enrichment;
use crate::incident::{
    self, Batch, Change, Guard, Incident, Own, REPLY_TRIES, Release, Retake, Status, epoch_ms,
    now_ms,
};
use crate::intake::Failure;
use crate::redact::Redacted;
use crate::ticket::{self, IncidentNote, Ticket};

/// How posting a batch ended.
pub(super) enum Posted {
    Replied {
        case_uid: String,
    },
    /// The case was closed or gone: a new one, linking it.
    NewCase {
        case_uid: String,
        subject: String,
        previous: String,
        carried: u64,
    },
    /// The bridge had closed the case as recovered, within the reopen
    /// window: it is open again, with the batch as a reply.
    Reopened {
        case_uid: String,
    },
    /// A person muted the case (it carries the mute tag): the batch is
    /// counted on the incident, not posted.
    Muted {
        case_uid: String,
    },
    /// Another invocation reopened the incident first; the batch waits in
    /// flight for the case it files.
    Requeued,
    /// Given up on (refused with a 4xx, or out of attempts): sent to the
    /// fallback topic, and the incident moved on. Only the flush and a
    /// takeover end so; an occurrence's own invocation fails instead.
    GaveUp,
}

/// Where a batch is posted from: the failure at hand (its own occurrence is
/// in the batch), or what is stored (the flush, a batch taken over).
pub(super) enum Source<'a> {
    Failure {
        failure: &'a Failure,
        extra: Option<&'a Enrichment>,
        reported: OffsetDateTime,
        number: u64,
        reason: String,
    },
    Stored,
}

pub(super) struct Post<'a> {
    pub key: &'a str,
    pub incident: &'a Incident,
    pub batch: Batch,
    pub source: Source<'a>,
    pub end: Instant,
    pub end_wall: SystemTime,
    /// The token holding the batch in flight.
    pub owner: String,
    /// Which attempt this is (the take is the first).
    pub tries: u32,
}

impl Post<'_> {
    /// The batch without the occurrence of the invocation at hand, whose
    /// caller retries it (and whose ticket goes to the fallback topic).
    fn others(&self) -> Batch {
        match &self.source {
            Source::Failure { number, .. } => self.batch.without(*number),
            Source::Stored => self.batch.clone(),
        }
    }

    /// The invocation's own occurrence in the batch, to leave it.
    fn own(&self) -> Option<Own> {
        match &self.source {
            Source::Failure { number, .. } => Some(match self.batch.position(*number) {
                Some(at) => Own::Kept(at),
                None => Own::Counted,
            }),
            Source::Stored => None,
        }
    }
}

impl Incidents {
    /// Posts a batch in flight and settles it as the attempt went: cleared,
    /// given back, or given up on. The attempt's result, except that a
    /// batch given up on is `Ok(GaveUp)` when no failure is at hand.
    pub(super) async fn deliver(
        &self,
        p: Post<'_>,
        stats: &mut Attempts,
    ) -> Result<Posted, NotifierError> {
        let result = self.post(&p, stats).await;
        match &result {
            Ok(
                Posted::Replied { .. }
                | Posted::NewCase { .. }
                | Posted::Reopened { .. }
                | Posted::Muted { .. },
            ) => self.settle(&p).await,
            // The whole batch, this invocation's occurrence included (it
            // ends coalesced), waits for the case the other one files.
            Ok(Posted::Requeued) => self.release(&p, 0, None).await,
            Ok(Posted::GaveUp) => {}
            Err(e) if p.tries >= REPLY_TRIES || is_refusal(e) => {
                self.give_up(&p, e).await;
                if matches!(p.source, Source::Stored) {
                    return Ok(Posted::GaveUp);
                }
            }
            Err(_) => {
                // The next attempt one reply interval on (at once with none).
                let interval = u64::try_from(self.settings.reply_interval.as_millis());
                let next = match interval {
                    Ok(0) => 0,
                    ms => now_ms().saturating_add(ms.unwrap_or(u64::MAX)),
                };
                self.release(&p, next, p.own()).await;
            }
        }
        result
    }

    /// Takes over the batch in flight of the open `incident` if its holder
    /// is gone, and posts it (or gives up on it, if its last attempt was
    /// its last). `None` when there is none to take over.
    pub(super) async fn repost(
        &self,
        key: &str,
        incident: &Incident,
        end: Instant,
        end_wall: SystemTime,
        stats: &mut Attempts,
    ) -> Option<Result<Posted, NotifierError>> {
        let now = now_ms();
        let flight = incident.lapsed_flight(now)?;
        let case_uid = incident
            .case_uid
            .as_deref()
            .filter(|_| incident.status == Status::Open)?;
        let token = incident::new_token();
        let retake = Retake {
            case_uid,
            seen_owner: &flight.owner,
            now_ms: now,
            owner: &token,
            until_ms: epoch_ms(end_wall),
        };
        let held = match self.store.retake(key, retake).await {
            Ok(Some(held)) => held,
            Ok(None) => return None,
            Err(e) => return Some(Err(store_failed(e))),
        };
        tracing::info!(
            tries = held.tries,
            occurrences = held.batch.count,
            "a batch whose holder stopped before it was on the case is taken over"
        );
        let post = Post {
            key,
            incident,
            batch: held.batch,
            source: Source::Stored,
            end,
            end_wall,
            owner: token,
            tries: held.tries,
        };
        // Sent whatever the budget says: it was due an interval ago.
        self.budget.charge(REPLY_COST).await;
        if post.tries > REPLY_TRIES {
            let why = NotifierError::TicketDeliveryFailed(format!(
                "{REPLY_TRIES} attempts to put this batch on case {case_uid} ended without it there"
            ));
            self.give_up(&post, &why).await;
            return Some(Ok(Posted::GaveUp));
        }
        Some(self.deliver(post, stats).await)
    }

    /// Posts a batch to its case: reads the case first; open, a reply (or,
    /// muted, nothing); closed by the bridge within the reopen window,
    /// reopened with a reply; closed otherwise, or gone, a new case that
    /// links it.
    async fn post(&self, p: &Post<'_>, stats: &mut Attempts) -> Result<Posted, NotifierError> {
        let case_uid = p.incident.case_uid.clone().unwrap_or_default();
        let read = match self.ready(p.end, stats).await {
            Ok(()) => self.desk.read(&case_uid, p.end, stats).await,
            Err(e) => Err(e),
        };
        let why = match read {
            Ok(case) if case.state == CaseState::Open && case.tagged(&self.settings.mute_tag) => {
                return Ok(self.mute(p, case_uid).await);
            }
            Ok(case) if case.state == CaseState::Open => {
                let lead = self.unmuted_lead(p.incident);
                let reply =
                    Reply::new(&self.settings.agent_name, &case_uid, self.comment(p, &lead));
                let sent = match self.ready(p.end, stats).await {
                    Ok(()) => self.desk.reply(&reply, p.end, stats).await,
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(true) => {
                        if p.incident.muted > 0 {
                            self.unmuted(p.key, &case_uid).await;
                        }
                        return Ok(Posted::Replied { case_uid });
                    }
                    Ok(false) => "it is gone",
                    Err(e) => {
                        return Err(e.with_note(&format!("the reply to case {case_uid} was not posted; the other occurrences it carried wait for the next attempt")));
                    }
                }
            }
            Ok(case) if case.state == CaseState::Closed => match p.incident.resolved_ms {
                Some(at) if self.reopens(at) => {
                    return self.reopen_same(p, case_uid, at, stats).await;
                }
                Some(_) => {
                    "the bridge closed it when the machine recovered, longer ago than the reopen window"
                }
                None => "it was closed",
            },
            Ok(_) => "it is gone",
            Err(e) => {
                return Err(
                    e.with_note(&format!("case {case_uid} could not be read to reply to it"))
                );
            }
        };
        self.reopen(p, case_uid, why, stats).await
    }

    /// The reply's Comment: the batch, named, after `lead`.
    pub(super) fn comment(&self, p: &Post<'_>, lead: &[String]) -> String {
        ticket::reply_comment_with(
            &p.batch,
            p.incident.first_reason.as_deref(),
            lead,
            &self.gate.redactor(),
            OffsetDateTime::now_utc(),
        )
    }

    /// The case was closed or gone: make this invocation the incident's
    /// creator again and file a case that links the old one, with the batch.
    pub(super) async fn reopen(
        &self,
        p: &Post<'_>,
        old: String,
        why: &'static str,
        stats: &mut Attempts,
    ) -> Result<Posted, NotifierError> {
        let token = incident::new_token();
        let change = Change {
            status: Some(Status::Creating),
            owner: Some(Some(token.clone())),
            creating_until_ms: Some(epoch_ms(p.end_wall)),
            previous_case: Some(Some(old.clone())),
            recovered: Some(false),
            ..Change::default()
        };
        let guard = Guard {
            open_case: Some(old.clone()),
            ..Guard::default()
        };
        let reopened = match self.store.update(p.key, &guard, &change).await {
            Ok(Some(i)) => i,
            // Someone else is filing the new case: the whole batch, this
            // occurrence included, waits in flight for it.
            Ok(None) => return Ok(Posted::Requeued),
            Err(e) => {
                return Err(NotifierError::TicketDeliveryFailed(format!(
                    "case {old} {why}, and the incident could not be reopened: {e}"
                )));
            }
        };
        let waiting = p.others();
        let note = IncidentNote {
            number: match &p.source {
                Source::Failure { number, .. } => *number,
                Source::Stored => reopened.seq,
            },
            first_seen_ms: reopened.first_seen_ms,
            previous_case: Some((&old, why)),
            waiting: (!waiting.is_empty()).then_some(&waiting),
            first_reason: reopened.first_reason.as_deref(),
        };
        let now = OffsetDateTime::now_utc();
        let (case, reason) = match &p.source {
            Source::Failure {
                failure,
                extra,
                reported,
                reason,
                ..
            } => (
                ticket::render_incident(failure, *extra, &self.render_config(), *reported, &note),
                Some(reason.clone()),
            ),
            Source::Stored => (
                ticket::continuation(&reopened.subject, &note, &self.render_config(), now, p.key),
                reopened.first_reason.clone(),
            ),
        };
        // The case read that found it closed, and this case, were budgeted
        // as the reply's two requests.
        let delivered = match self.ready(p.end, stats).await {
            Ok(()) => self.desk.create(&case, p.end, stats).await,
            Err(e) => Err(e),
        };
        match delivered {
            Ok(uid) => {
                let owner = Guard::owned_by(token);
                let done = incident::completed(&uid, &case.subject, reason, now_ms());
                if let Err(e) = self.store.update(p.key, &owner, &done).await {
                    tracing::warn!(error = %e, "new case filed but not recorded in its incident");
                }
                Ok(Posted::NewCase {
                    case_uid: uid,
                    subject: case.subject,
                    previous: old,
                    carried: waiting.count,
                })
            }
            Err(e) => {
                self.abandon(p.key, token).await;
                Err(e.with_note(&format!(
                    "case {old} {why} and its follow-up could not be filed; the occurrences it carried wait for the next attempt"
                )))
            }
        }
    }

    /// The batch is on the case: it leaves the outbox.
    async fn settle(&self, p: &Post<'_>) {
        match self.store.settle(p.key, &p.owner).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "batch posted after this invocation's lease on it lapsed; if another took it over, it is posted twice"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                occurrences = %self.listed(&p.batch),
                "batch posted but still marked in flight; it is posted again when its lease lapses (twice, not lost)"
            ),
        }
    }

    /// Gives the batch back: it stays in flight, without `own` (after a
    /// failure, this invocation's own occurrence, which its caller
    /// retries), and may be taken over from `until_ms` on.
    async fn release(&self, p: &Post<'_>, until_ms: u64, own: Option<Own>) {
        let release = Release {
            owner: &p.owner,
            until_ms,
            own,
        };
        match self.store.release(p.key, release).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "batch not given back: this invocation's lease on it lapsed and another took it over"
            ),
            Err(e) => tracing::error!(
                error = %e,
                occurrences = %self.listed(&p.others()),
                "batch not given back; it stays in flight, and is taken over when this invocation's lease lapses"
            ),
        }
    }

    /// Gives up on a batch the desk will not take: the occurrences (but
    /// this invocation's own, which its caller files) go to the fallback
    /// topic with the error, and the incident moves on.
    async fn give_up(&self, p: &Post<'_>, error: &NotifierError) {
        let batch = p.others();
        let fallback = match (&self.fallback, batch.is_empty()) {
            (_, true) => "none".to_owned(),
            (None, false) => "no fallback topic".to_owned(),
            (Some(publisher), false) => {
                let body = ticket::reply_comment(
                    &batch,
                    p.incident.first_reason.as_deref(),
                    &self.gate.redactor(),
                    OffsetDateTime::now_utc(),
                );
                let case = Ticket {
                    subject: p.incident.subject.clone(),
                    body,
                    ..Ticket::default()
                };
                let (subject, message) = fallback::message(&self.gate, &case, error);
                match publisher.publish(&subject, &message).await {
                    Ok(_) => "published".to_owned(),
                    Err(why) => format!("publishing failed: {why}"),
                }
            }
        };
        if let Err(e) = self.store.settle(p.key, &p.owner).await {
            tracing::warn!(error = %e, "batch given up on but still marked in flight; it is tried once more when its lease lapses");
        }
        let only_here = fallback != "published" && !batch.is_empty();
        tracing::error!(
            outcome = "reply_abandoned",
            error_type = error.error_type(),
            error = %self.gate.seal(&error.to_string(), 2_000),
            tries = p.tries,
            count = batch.count,
            fallback = %self.gate.seal(&fallback, 500),
            occurrences = %self.listed(&batch),
            "batch given up on: {}",
            if only_here {
                "its occurrences are in this log line only"
            } else {
                "its occurrences are in the fallback topic and this log line"
            }
        );
    }

    /// The occurrences of a batch for a log line, `[number, execution,
    /// epoch ms]` each, sealed and held to the log cap: when a batch cannot
    /// be kept anywhere else, the log line is where it is.
    fn listed(&self, batch: &Batch) -> Redacted {
        let kept: Vec<_> = batch
            .occurrences
            .iter()
            .map(|o| json!([o.number, o.execution, o.at_ms]))
            .collect();
        let text = json!({"count": batch.count, "kept": kept}).to_string();
        self.gate
            .seal(&text, self.log_max_bytes.saturating_sub(LOG_LINE_REST))
    }

    /// Lets a creator's claim on an incident lapse now.
    pub(super) async fn abandon(&self, key: &str, token: String) {
        let owner = Guard::owned_by(token);
        let lapse = Change {
            creating_until_ms: Some(0),
            ..Change::default()
        };
        if let Err(e) = self.store.update(key, &owner, &lapse).await {
            tracing::warn!(error = %e, "could not release the incident; it lapses at this invocation's deadline");
        }
    }
}

/// What the rest of a line that lists occurrences takes, at most: the
/// listing gets the log cap less this.
const LOG_LINE_REST: usize = 4 * 1024;

/// A refusal retrying cannot help: a 4xx other than 404 (a 404 on a reply
/// is a gone case, answered with a new one).
fn is_refusal(e: &NotifierError) -> bool {
    matches!(e, NotifierError::TicketRejected(_))
}
