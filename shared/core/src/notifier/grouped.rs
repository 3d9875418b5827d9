//! The incident side of an invocation: a failure of a grouped fingerprint
//! becomes a new case, a reply, or is coalesced into the next reply; the
//! flush event posts what waits; a SUCCEEDED execution adds the one
//! recovery note of an open incident.
//!
//! The per-failure dedupe claim has already been won when this runs, so a
//! redelivered copy never becomes a new occurrence. Every exit writes one
//! structured log line (`new_case`, `reply_posted`, `reply_coalesced`,
//! `flushed`, `recovery_noted`, or the not-filed line of a typed error).
//!
//! Nothing is lost: a batch taken for a reply that cannot be delivered goes
//! back to the incident (all but this invocation's own occurrence, whose
//! caller retries it and whose ticket goes to the fallback topic like a
//! case's), and a creator that fails lets its incident lapse at once so the
//! next occurrence or the flush files the case.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use time::OffsetDateTime;

use super::{FlushReport, NotFiled, Notifier, Outcome};
use crate::dedupe::{Owner, Settled};
use crate::desk::{Attempts, CaseState, Reply};
use crate::error::NotifierError;
use crate::history::Enrichment;
use crate::incident::{
    self, Batch, Change, Decision, Fingerprint, Guard, Incident, IncidentStore, Recorded, Status,
    Take, Timing,
};
use crate::intake::{Failure, success};
use crate::ticket::{self, IncidentNote, Ticket};

/// How long an occurrence appended to an incident being created waits for
/// the case Uid, to return it like a case's.
const CREATOR_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(200);
/// Incidents one flush looks at, at most (the index lists live ones only).
const FLUSH_MAX: usize = 500;
/// The flush stops taking incidents with less than this left, so its log
/// line and any error still get out.
const FLUSH_RESERVE: Duration = Duration::from_secs(3);
/// The TTL of an incident outlives its window by this much, so the flush
/// can still see (and prune) one that just expired.
const TTL_MARGIN_S: u64 = 86_400;

/// One failure of a grouped fingerprint, with what the invocation knows.
pub(super) struct Occurrence<'a> {
    pub store: Arc<dyn IncidentStore>,
    pub fp: Fingerprint,
    pub failure: &'a Failure,
    pub extra: Option<&'a Enrichment>,
    pub reported: OffsetDateTime,
    pub end: Instant,
    pub end_wall: SystemTime,
    /// The dedupe key, completed with the case Uid or released.
    pub key: &'a str,
    /// This invocation's token, when it holds the key's claim.
    pub claimed: Option<&'a Owner>,
    pub started: Instant,
    pub event: &'a Value,
}

pub(super) enum Grouped {
    Done(Result<Outcome, NotifierError>),
    /// The incident store failed before anything was recorded: the failure
    /// is filed as its own case (a possible extra case beats a lost one).
    Ungrouped,
}

/// How posting a batch ended.
enum Posted {
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
    /// Another invocation reopened the incident first; the batch went back.
    Requeued,
}

/// Where a batch is posted from: the failure at hand (its own occurrence is
/// in the batch), or the flush.
enum Source<'a> {
    Failure {
        failure: &'a Failure,
        extra: Option<&'a Enrichment>,
        reported: OffsetDateTime,
        number: u64,
        reason: String,
    },
    Flush,
}

struct Post<'a> {
    store: &'a dyn IncidentStore,
    key: &'a str,
    incident: &'a Incident,
    batch: Batch,
    source: Source<'a>,
    end: Instant,
    end_wall: SystemTime,
}

impl Notifier {
    /// The incident `failure` belongs to, when grouping is on and the
    /// failure names its state machine.
    pub(super) fn grouped_as(
        &self,
        failure: &Failure,
    ) -> Option<(Arc<dyn IncidentStore>, Fingerprint)> {
        let store = self.incidents.as_ref()?;
        incident::fingerprint(failure, self.config.incidents.grouping).map(|fp| (store.clone(), fp))
    }

    fn timing(&self, end_wall: SystemTime) -> Timing {
        let now = now_ms();
        let window = millis(self.config.incidents.window);
        Timing {
            now_ms: now,
            window_start_ms: now.saturating_sub(window),
            creating_until_ms: epoch_ms(end_wall),
            expires_s: now.saturating_add(window) / 1000 + TTL_MARGIN_S,
        }
    }

    /// Records the occurrence and acts on what the incident says.
    pub(super) async fn occurrence(&self, o: Occurrence<'_>, stats: &mut Attempts) -> Grouped {
        let plain = self.render(o.failure, o.extra, o.reported);
        // Stored in the table and shown in replies: redacted first.
        let reason = self.gate.text(&ticket::lead_reason(o.failure));
        let execution = self.gate.text(
            o.failure
                .execution_arn
                .as_deref()
                .or(o.failure.execution_name.as_deref())
                .unwrap_or(""),
        );
        let at = o.failure.stop_time.unwrap_or(o.reported);
        let occurrence = incident::Occurrence::new(&execution, odt_ms(at), Some(&reason));
        let t = self.timing(o.end_wall);
        let recorded = match incident::record(
            o.store.as_ref(),
            &o.fp,
            &occurrence,
            &plain.subject,
            t,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "incident store unavailable; filing this failure as its own case (a possible extra case beats a lost failure)");
                return Grouped::Ungrouped;
            }
        };
        Grouped::Done(match recorded {
            Recorded::Create {
                token,
                number,
                previous_case,
                first_seen_ms,
            } => {
                let created = Created {
                    token,
                    number,
                    previous_case,
                    first_seen_ms,
                };
                self.create_case(&o, plain, created, reason, stats).await
            }
            Recorded::Creating { number } => {
                let case_uid = self.wait_for_case(o.store.as_ref(), &o.fp.key, o.end).await;
                self.coalesced(&o, case_uid, plain.subject, number, stats)
                    .await
            }
            Recorded::Open { incident, number } => {
                self.appended(&o, incident, number, plain, reason, stats)
                    .await
            }
        })
    }

    /// This occurrence files the incident's case.
    #[allow(clippy::too_many_arguments)]
    async fn create_case(
        &self,
        o: &Occurrence<'_>,
        plain: Ticket,
        c: Created,
        reason: String,
        stats: &mut Attempts,
    ) -> Result<Outcome, NotifierError> {
        // Listed before the case exists, so the flush finds an incident
        // whose creator dies with occurrences waiting.
        if let Err(e) = o.store.index(&o.fp.key, &o.fp.machine).await {
            tracing::warn!(error = %e, "incident not listed for the flush; its replies wait for its next occurrence");
        }
        let note = IncidentNote {
            number: c.number,
            first_seen_ms: c.first_seen_ms,
            previous_case: c
                .previous_case
                .as_deref()
                .map(|p| (p, "an earlier case of this failure")),
            waiting: None,
            first_reason: None,
        };
        let case = if c.number > 1 || c.previous_case.is_some() {
            ticket::render_incident(o.failure, o.extra, &self.render_config(), o.reported, &note)
        } else {
            plain
        };
        let delivered = self.desk.create(&case, o.end, stats).await;
        match delivered {
            Ok(uid) => {
                let owner = Guard::owned_by(c.token);
                let done = incident::completed(&uid, &case.subject, Some(reason), now_ms());
                match o.store.update(&o.fp.key, &owner, &done).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        tracing::warn!(
                            "case filed, but the incident was taken over meanwhile (this invocation outlived its deadline); later occurrences go to the other case"
                        )
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "case filed but not recorded in its incident; the next occurrence files another")
                    }
                }
                self.finish_claim(o, &uid, &case.subject).await;
                let outcome = Outcome::Incident {
                    case_uid: Some(uid),
                    subject: case.subject,
                    attempts: stats.api_calls,
                    incident: "new_case",
                    occurrence: c.number,
                    carried: 0,
                    previous_case_uid: c.previous_case,
                };
                self.log_incident(&outcome, stats, o.started, o.store.describe());
                Ok(outcome)
            }
            Err(err) => {
                // Lapse at once: the next occurrence (or the flush) files it.
                self.abandon(o.store.as_ref(), &o.fp.key, c.token).await;
                Err(self.not_delivered(o, err, &case, *stats).await)
            }
        }
    }

    /// Appended to an open incident: post now, or coalesce.
    async fn appended(
        &self,
        o: &Occurrence<'_>,
        incident: Incident,
        number: u64,
        plain: Ticket,
        reason: String,
        stats: &mut Attempts,
    ) -> Result<Outcome, NotifierError> {
        let store = o.store.as_ref();
        let key = &o.fp.key;
        let Some(case_uid) = incident.case_uid.clone() else {
            return self
                .coalesced(o, None, incident.subject, number, stats)
                .await;
        };
        if incident.pending_count == 1 {
            // The first occurrence waiting: make sure the flush will see it.
            if let Err(e) = store.index(key, &o.fp.machine).await {
                tracing::warn!(error = %e, "incident not listed for the flush");
            }
        }
        let now = now_ms();
        let interval = self.config.incidents.reply_interval;
        if decide_post(now, &incident, interval) {
            let take = Take {
                case_uid: &case_uid,
                seen_last_reply: incident.last_reply_ms,
                now_ms: now,
            };
            let taken = store.take(key, take).await;
            match taken {
                Ok(Some(batch)) => {
                    let carried = batch.count.saturating_sub(1);
                    let post = Post {
                        store,
                        key,
                        incident: &incident,
                        batch,
                        source: Source::Failure {
                            failure: o.failure,
                            extra: o.extra,
                            reported: o.reported,
                            number,
                            reason,
                        },
                        end: o.end,
                        end_wall: o.end_wall,
                    };
                    return match self.post(post, stats).await {
                        Ok(Posted::Replied { case_uid }) => {
                            self.finish_claim(o, &case_uid, &incident.subject).await;
                            let outcome = Outcome::Incident {
                                case_uid: Some(case_uid),
                                subject: incident.subject,
                                attempts: stats.api_calls,
                                incident: "reply_posted",
                                occurrence: number,
                                carried,
                                previous_case_uid: None,
                            };
                            self.log_incident(&outcome, stats, o.started, store.describe());
                            Ok(outcome)
                        }
                        Ok(Posted::NewCase {
                            case_uid,
                            subject,
                            previous,
                            carried,
                        }) => {
                            self.finish_claim(o, &case_uid, &subject).await;
                            let outcome = Outcome::Incident {
                                case_uid: Some(case_uid),
                                subject,
                                attempts: stats.api_calls,
                                incident: "new_case",
                                occurrence: number,
                                carried,
                                previous_case_uid: Some(previous),
                            };
                            self.log_incident(&outcome, stats, o.started, store.describe());
                            Ok(outcome)
                        }
                        Ok(Posted::Requeued) => {
                            let uid = self.wait_for_case(store, key, o.end).await;
                            self.coalesced(o, uid, incident.subject, number, stats)
                                .await
                        }
                        Err(err) => Err(self.not_delivered(o, err, &plain, *stats).await),
                    };
                }
                // Another invocation took the batch (with this occurrence
                // in it, or it follows in the next).
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not take the waiting occurrences; the next occurrence or the flush posts them")
                }
            }
        }
        self.coalesced(o, Some(case_uid), incident.subject, number, stats)
            .await
    }

    /// The occurrence waits in its incident for the next reply.
    async fn coalesced(
        &self,
        o: &Occurrence<'_>,
        case_uid: Option<String>,
        subject: String,
        number: u64,
        stats: &Attempts,
    ) -> Result<Outcome, NotifierError> {
        // A redelivered copy is answered from the claim: never a new
        // occurrence. Without a Uid yet (its creator still at work), the
        // claim records an empty one.
        self.finish_claim(o, case_uid.as_deref().unwrap_or(""), &subject)
            .await;
        let outcome = Outcome::Incident {
            case_uid,
            subject,
            attempts: stats.api_calls,
            incident: "reply_coalesced",
            occurrence: number,
            carried: 0,
            previous_case_uid: None,
        };
        self.log_incident(&outcome, stats, o.started, o.store.describe());
        Ok(outcome)
    }

    /// Waits (inside the budget, at most [`CREATOR_WAIT`]) for the case an
    /// incident's creator is filing; `None` if it does not appear.
    async fn wait_for_case(
        &self,
        store: &dyn IncidentStore,
        key: &str,
        end: Instant,
    ) -> Option<String> {
        let until = end.min(Instant::now() + CREATOR_WAIT);
        loop {
            match store.read(key).await {
                Ok(Some(i)) if i.status == Status::Open => return i.case_uid,
                Ok(Some(i)) if !i.lapsed(now_ms()) => {}
                _ => return None,
            }
            if Instant::now() + POLL >= until {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Posts a taken batch to its case: reads the case first; open, a reply;
    /// closed or gone, a new case that links it.
    async fn post(&self, p: Post<'_>, stats: &mut Attempts) -> Result<Posted, NotifierError> {
        let case_uid = p.incident.case_uid.clone().unwrap_or_default();
        let state = match self.ready(p.end, stats).await {
            Ok(()) => self.desk.case_state(&case_uid, p.end, stats).await,
            Err(e) => Err(e),
        };
        let why = match state {
            Ok(CaseState::Open) => {
                let comment = ticket::reply_comment(
                    &p.batch,
                    p.incident.first_reason.as_deref(),
                    &self.gate.redactor(),
                    OffsetDateTime::now_utc(),
                );
                let reply = Reply::new(&self.config.incidents.agent_name, &case_uid, comment);
                let sent = match self.ready(p.end, stats).await {
                    Ok(()) => self.desk.reply(&reply, p.end, stats).await,
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(true) => return Ok(Posted::Replied { case_uid }),
                    Ok(false) => "it is gone",
                    Err(e) => {
                        self.restore(&p, false).await;
                        return Err(e.with_note(&format!("the reply to case {case_uid} was not posted; the other occurrences it carried wait for the next")));
                    }
                }
            }
            Ok(CaseState::Closed) => "it was closed",
            Ok(CaseState::Gone) => "it is gone",
            Err(e) => {
                self.restore(&p, false).await;
                return Err(
                    e.with_note(&format!("case {case_uid} could not be read to reply to it"))
                );
            }
        };
        self.reopen(p, case_uid, why, stats).await
    }

    /// The case was closed or gone: make this invocation the incident's
    /// creator again and file a case that links the old one, with the batch.
    async fn reopen(
        &self,
        p: Post<'_>,
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
        let reopened = match p.store.update(p.key, &guard, &change).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                // Someone else is filing the new case: the whole batch,
                // this occurrence included, waits in the incident for it.
                self.restore(&p, true).await;
                return Ok(Posted::Requeued);
            }
            Err(e) => {
                self.restore(&p, false).await;
                return Err(NotifierError::TicketDeliveryFailed(format!(
                    "case {old} {why}, and the incident could not be reopened: {e}"
                )));
            }
        };
        let waiting = match &p.source {
            Source::Failure { number, .. } => p.batch.without(*number),
            Source::Flush => p.batch.clone(),
        };
        let note = IncidentNote {
            number: match &p.source {
                Source::Failure { number, .. } => *number,
                Source::Flush => reopened.seq,
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
            Source::Flush => (
                ticket::continuation(&reopened.subject, &note, &self.render_config(), now),
                reopened.first_reason.clone(),
            ),
        };
        let delivered = match self.ready(p.end, stats).await {
            Ok(()) => self.desk.create(&case, p.end, stats).await,
            Err(e) => Err(e),
        };
        match delivered {
            Ok(uid) => {
                let owner = Guard::owned_by(token);
                let done = incident::completed(&uid, &case.subject, reason, now_ms());
                if let Err(e) = p.store.update(p.key, &owner, &done).await {
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
                self.abandon(p.store, p.key, token).await;
                self.restore(&p, false).await;
                Err(e.with_note(&format!(
                    "case {old} {why} and its follow-up could not be filed; the occurrences it carried wait for the next"
                )))
            }
        }
    }

    /// Puts a taken batch back: whole (`all`), or without the occurrence of
    /// the invocation at hand, whose caller retries it.
    async fn restore(&self, p: &Post<'_>, all: bool) {
        let batch = match (&p.source, all) {
            (Source::Failure { number, .. }, false) => p.batch.without(*number),
            _ => p.batch.clone(),
        };
        if batch.is_empty() {
            return;
        }
        if let Err(e) = p.store.restore(p.key, &batch).await {
            tracing::error!(error = %e, occurrences = batch.count, "occurrences taken for a reply could not be put back; they are in this log line only");
        }
    }

    /// Lets a creator's claim on an incident lapse now.
    async fn abandon(&self, store: &dyn IncidentStore, key: &str, token: String) {
        let owner = Guard::owned_by(token);
        let lapse = Change {
            creating_until_ms: Some(0),
            ..Change::default()
        };
        if let Err(e) = store.update(key, &owner, &lapse).await {
            tracing::warn!(error = %e, "could not release the incident; it lapses at this invocation's deadline");
        }
    }

    /// The `{"ticketBridge": "flush"}` event: posts every incident's waiting
    /// occurrences whose interval has passed, files the case of incidents
    /// whose creator died with occurrences waiting, and prunes the index.
    pub(super) async fn flush(
        &self,
        event: &Value,
        deadline: Option<SystemTime>,
        started: Instant,
    ) -> Result<Outcome, NotifierError> {
        let (end, end_wall) = self.budget_end(deadline);
        let mut report = FlushReport::default();
        let mut stats = Attempts::default();
        let mut last_error: Option<NotifierError> = None;
        if let Some(store) = &self.incidents {
            let keys = match store.indexed(FLUSH_MAX).await {
                Ok(keys) => keys,
                Err(e) => {
                    last_error = Some(NotifierError::TicketDeliveryFailed(e.to_string()));
                    Vec::new()
                }
            };
            for key in keys {
                if end.saturating_duration_since(Instant::now()) < FLUSH_RESERVE {
                    break;
                }
                report.incidents += 1;
                let flushed = self
                    .flush_one(store.as_ref(), &key, end, end_wall, &mut report, &mut stats)
                    .await;
                if let Err(e) = flushed {
                    report.failed += 1;
                    last_error = Some(e);
                }
            }
        }
        match last_error {
            None => {
                tracing::info!(
                    outcome = "flushed",
                    incidents = report.incidents,
                    replies = report.replies,
                    occurrences = report.occurrences,
                    new_cases = report.new_cases,
                    pruned = report.pruned,
                    attempts = stats.api_calls,
                    duration_ms = started.elapsed().as_millis() as u64,
                    "flush: waiting occurrences posted"
                );
                Ok(Outcome::Flushed { flush: report })
            }
            Some(err) => {
                let err = err.with_note(&format!(
                    "flush: {} of {} incidents failed ({} replies, {} new cases posted); their occurrences wait for the next flush",
                    report.failed, report.incidents, report.replies, report.new_cases
                ));
                let ending = NotFiled {
                    outcome: "flush_failed",
                    event,
                    case: None,
                    stats,
                    started,
                    authorized: true,
                };
                Err(self.not_filed(err, ending).await)
            }
        }
    }

    async fn flush_one(
        &self,
        store: &dyn IncidentStore,
        key: &str,
        end: Instant,
        end_wall: SystemTime,
        report: &mut FlushReport,
        stats: &mut Attempts,
    ) -> Result<(), NotifierError> {
        let store_failed =
            |e: incident::StoreError| NotifierError::TicketDeliveryFailed(e.to_string());
        let t = self.timing(end_wall);
        let Some(inc) = store.read(key).await.map_err(store_failed)? else {
            store.unindex(key, None).await.map_err(store_failed)?;
            report.pruned += 1;
            return Ok(());
        };
        if !inc.live(t.window_start_ms) && inc.pending_count == 0 {
            store
                .unindex(key, Some(&inc.machine))
                .await
                .map_err(store_failed)?;
            report.pruned += 1;
            return Ok(());
        }
        let interval = self.config.incidents.reply_interval;
        match inc.status {
            Status::Open if decide_post(t.now_ms, &inc, interval) => {
                let Some(uid) = inc.case_uid.clone() else {
                    return Ok(());
                };
                let take = Take {
                    case_uid: &uid,
                    seen_last_reply: inc.last_reply_ms,
                    now_ms: t.now_ms,
                };
                let taken = store.take(key, take).await.map_err(store_failed)?;
                if let Some(batch) = taken {
                    self.flush_batch(store, key, &inc, batch, end, end_wall, report, stats)
                        .await?;
                }
            }
            Status::Creating if inc.lapsed(t.now_ms) && inc.pending_count > 0 => {
                // Its creator died with occurrences waiting: file the case
                // from what is stored, then reply with them.
                let token = incident::new_token();
                let guard = Guard {
                    version: Some(inc.version),
                    ..Guard::default()
                };
                let take_over = Change {
                    owner: Some(Some(token.clone())),
                    creating_until_ms: Some(epoch_ms(end_wall)),
                    ..Change::default()
                };
                let Some(own) = store
                    .update(key, &guard, &take_over)
                    .await
                    .map_err(store_failed)?
                else {
                    return Ok(());
                };
                let note = IncidentNote {
                    number: own.seq,
                    first_seen_ms: own.first_seen_ms,
                    previous_case: own
                        .previous_case
                        .as_deref()
                        .map(|p| (p, "an earlier case of this failure")),
                    waiting: None,
                    first_reason: own.first_reason.as_deref(),
                };
                let now = OffsetDateTime::now_utc();
                let case = ticket::continuation(&own.subject, &note, &self.render_config(), now);
                let delivered = match self.ready(end, stats).await {
                    Ok(()) => self.desk.create(&case, end, stats).await,
                    Err(e) => Err(e),
                };
                let uid = match delivered {
                    Ok(uid) => uid,
                    Err(e) => {
                        self.abandon(store, key, token).await;
                        return Err(e);
                    }
                };
                report.new_cases += 1;
                let done_at = now_ms();
                let owner = Guard::owned_by(token);
                let done =
                    incident::completed(&uid, &case.subject, own.first_reason.clone(), done_at);
                let Some(open) = store
                    .update(key, &owner, &done)
                    .await
                    .map_err(store_failed)?
                else {
                    return Ok(());
                };
                let take = Take {
                    case_uid: &uid,
                    seen_last_reply: Some(done_at),
                    now_ms: now_ms(),
                };
                let taken = store.take(key, take).await.map_err(store_failed)?;
                if let Some(batch) = taken {
                    self.flush_batch(store, key, &open, batch, end, end_wall, report, stats)
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn flush_batch(
        &self,
        store: &dyn IncidentStore,
        key: &str,
        incident: &Incident,
        batch: Batch,
        end: Instant,
        end_wall: SystemTime,
        report: &mut FlushReport,
        stats: &mut Attempts,
    ) -> Result<(), NotifierError> {
        let count = batch.count;
        let post = Post {
            store,
            key,
            incident,
            batch,
            source: Source::Flush,
            end,
            end_wall,
        };
        match self.post(post, stats).await? {
            Posted::Replied { .. } => {
                report.replies += 1;
                report.occurrences += count;
            }
            Posted::NewCase { .. } => {
                report.new_cases += 1;
                report.occurrences += count;
            }
            Posted::Requeued => {}
        }
        Ok(())
    }

    /// A SUCCEEDED execution: the one recovery note of each open incident
    /// of its state machine. A second SUCCEEDED finds the flag set.
    pub(super) async fn recovery(
        &self,
        event: &Value,
        deadline: Option<SystemTime>,
        started: Instant,
    ) -> Result<Outcome, NotifierError> {
        let status = "SUCCEEDED".to_owned();
        let (Some(store), Some(ok)) = (&self.incidents, success(event)) else {
            tracing::info!(outcome = "skipped", status = %status, "execution status is not a failure; no ticket");
            return Ok(Outcome::Skipped {
                skipped: true,
                status,
            });
        };
        let (end, end_wall) = self.budget_end(deadline);
        let t = self.timing(end_wall);
        let mut stats = Attempts::default();
        let mut noted = Vec::new();
        let mut failed: Option<NotifierError> = None;
        let store_failed =
            |e: incident::StoreError| NotifierError::TicketDeliveryFailed(e.to_string());
        let machine = ok.state_machine_arn.as_str();
        let keys = match store.of_machine(machine).await {
            Ok(keys) => keys,
            Err(e) => {
                failed = Some(store_failed(e));
                Vec::new()
            }
        };
        for key in keys {
            let inc = match store.read(&key).await {
                Ok(Some(inc)) => inc,
                Ok(None) => {
                    let _ = store.unindex(&key, Some(machine)).await;
                    continue;
                }
                Err(e) => {
                    failed = Some(store_failed(e));
                    continue;
                }
            };
            let before = ok.stopped_ms.is_some_and(|s| s < inc.first_seen_ms);
            if !inc.live(t.window_start_ms) || inc.status != Status::Open || inc.recovered || before
            {
                continue;
            }
            let Some(uid) = inc.case_uid.clone() else {
                continue;
            };
            let mark = Change {
                recovered: Some(true),
                ..Change::default()
            };
            let guard = Guard {
                version: Some(inc.version),
                ..Guard::default()
            };
            match store.update(&key, &guard, &mark).await {
                Ok(Some(_)) => {}
                Ok(None) => continue,
                Err(e) => {
                    failed = Some(store_failed(e));
                    continue;
                }
            }
            let execution = self.gate.text(ok.execution_arn.as_deref().unwrap_or(""));
            let comment = ticket::recovery_note(
                &execution,
                ok.stopped_ms.unwrap_or(t.now_ms),
                inc.seq,
                inc.first_seen_ms,
                &self.gate.redactor(),
                OffsetDateTime::now_utc(),
            );
            let reply = Reply::new(&self.config.incidents.agent_name, &uid, comment);
            let sent = match self.ready(end, &mut stats).await {
                Ok(()) => self.desk.reply(&reply, end, &mut stats).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(true) => noted.push(uid),
                // Gone: the next failure files a new case.
                Ok(false) => {}
                Err(e) => {
                    // Not posted: the flag goes back, so the retry notes it.
                    let unmark = Change {
                        recovered: Some(false),
                        ..Change::default()
                    };
                    let open = Guard {
                        open_case: Some(uid),
                        ..Guard::default()
                    };
                    let _ = store.update(&key, &open, &unmark).await;
                    failed = Some(e);
                }
            }
        }
        if let Some(err) = failed {
            let ending = NotFiled {
                outcome: "recovery_not_delivered",
                event,
                case: None,
                stats,
                started,
                authorized: true,
            };
            return Err(self.not_filed(err, ending).await);
        }
        if noted.is_empty() {
            tracing::info!(outcome = "skipped", status = %status, "execution succeeded; no open incident without its recovery note");
            return Ok(Outcome::Skipped {
                skipped: true,
                status,
            });
        }
        tracing::info!(
            outcome = "recovery_noted",
            cases = %self.gate.seal(&noted.join(","), 2000),
            attempts = stats.api_calls,
            duration_ms = started.elapsed().as_millis() as u64,
            "execution succeeded; recovery noted on its open incidents"
        );
        Ok(Outcome::Recovered {
            status,
            recovery_notes: noted,
        })
    }

    /// A current credential, for one more call.
    async fn ready(&self, end: Instant, stats: &mut Attempts) -> Result<(), NotifierError> {
        self.desk.ready(end, stats).await
    }

    /// Records this failure's result in its dedupe claim, so a redelivered
    /// copy is answered with it and is never a new occurrence.
    async fn finish_claim(&self, o: &Occurrence<'_>, case_uid: &str, subject: &str) {
        let Some(owner) = o.claimed else {
            return;
        };
        let expires = SystemTime::now() + self.config.idempotency_ttl;
        let filed = crate::dedupe::Filed {
            case_uid,
            subject,
            expires,
        };
        match self.store.complete(o.key, owner, filed).await {
            Ok(Settled::Applied) => {}
            Ok(Settled::NotOwner) => {
                tracing::warn!(
                    "occurrence recorded after this invocation's dedupe claim lapsed and was taken over; the copy holding it may count it again"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "occurrence recorded but not its dedupe claim; a retry may count it again");
            }
        }
    }

    /// A failure whose case or reply could not be delivered: its claim is
    /// released for the retry, its ticket goes to the fallback topic.
    async fn not_delivered(
        &self,
        o: &Occurrence<'_>,
        err: NotifierError,
        case: &Ticket,
        stats: Attempts,
    ) -> NotifierError {
        if let Some(owner) = o.claimed {
            match self.store.release(o.key, owner).await {
                Ok(Settled::Applied) => {}
                Ok(Settled::NotOwner) => {
                    tracing::warn!(
                        "dedupe claim not released: it lapsed and another copy took it over"
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not release the dedupe claim; a retry waits until it lapses");
                }
            }
        }
        let ending = NotFiled {
            outcome: "not_delivered",
            event: o.event,
            case: Some(case),
            stats,
            started: o.started,
            authorized: true,
        };
        self.not_filed(err, ending).await
    }

    /// The one log line of an invocation that ended in its incident.
    fn log_incident(
        &self,
        outcome: &Outcome,
        stats: &Attempts,
        started: Instant,
        store: &'static str,
    ) {
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
            incidents = store,
            subject = %subject,
            "failure recorded in its incident"
        );
    }
}

/// The creator's side of [`Recorded::Create`].
struct Created {
    token: String,
    number: u64,
    previous_case: Option<String>,
    first_seen_ms: u64,
}

fn decide_post(now_ms: u64, incident: &Incident, interval: Duration) -> bool {
    incident::decide(
        now_ms,
        incident.last_reply_ms,
        interval,
        incident.pending_count,
    ) == Decision::PostNow
}

fn now_ms() -> u64 {
    epoch_ms(SystemTime::now())
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn odt_ms(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}
