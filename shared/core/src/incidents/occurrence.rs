//! A failure of a grouped fingerprint: recorded in its incident, then a new
//! case (this invocation created the incident, or took it over), a reply
//! (the interval since the last one passed), or coalesced into the next.

use std::time::{Duration, Instant, SystemTime};

use super::post::{Post, Posted, Source};
use super::{Failed, Grouped, Incidents, Unfiled, post_due};
use crate::budget::REPLY_COST;
use crate::desk::{Attempts, Reply};
use crate::incident::{
    self, Batch, Guard, Incident, Recorded, Release, Status, Take, Timing, epoch_ms, now_ms, odt_ms,
};
use crate::outcome::Outcome;
use crate::ticket::{self, IncidentNote, Ticket};

/// How long an occurrence appended to an incident being created waits for
/// the case Uid, to return it like a case's.
const CREATOR_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(200);
/// A new case stops waiting for the desk budget this long before its
/// invocation's deadline, to be filed (and retried) in what is left.
const CASE_RESERVE: Duration = Duration::from_secs(5);

/// The creator's side of [`Recorded::Create`].
struct Created {
    token: String,
    number: u64,
    previous_case: Option<String>,
    first_seen_ms: u64,
    /// What an expired incident had waiting, in flight under `token`.
    carried: Option<Batch>,
    /// This occurrence, numbered.
    occurrence: incident::Occurrence,
}

impl Incidents {
    /// Records the occurrence and acts on what the incident says.
    pub async fn occurrence(&self, f: Failed<'_>, stats: &mut Attempts) -> Grouped {
        let plain = self.render(f.failure, f.extra, f.reported);
        // Stored in the table and shown in replies: redacted first.
        let reason = self.gate.text(&ticket::lead_reason(f.failure));
        let execution = self.gate.text(
            f.failure
                .execution_arn
                .as_deref()
                .or(f.failure.execution_name.as_deref())
                .unwrap_or(""),
        );
        let at = f.failure.stop_time.unwrap_or(f.reported);
        let occurrence = incident::Occurrence::new(&execution, odt_ms(at), Some(&reason));
        let t = Timing::at(now_ms(), self.settings.window, f.end_wall);
        let recorded = match incident::record(
            self.store.as_ref(),
            &f.fp,
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
                carried,
            } => {
                let created = Created {
                    token,
                    number,
                    previous_case,
                    first_seen_ms,
                    carried,
                    occurrence: incident::Occurrence {
                        number,
                        ..occurrence
                    },
                };
                self.create_case(&f, plain, created, reason, stats).await
            }
            Recorded::Creating { number } => {
                let case_uid = self.wait_for_case(&f.fp.key, f.end).await;
                self.coalesced(&f, case_uid, plain.subject, number, stats)
                    .await
            }
            Recorded::Open { incident, number } => {
                self.appended(&f, *incident, number, plain, reason, stats)
                    .await
            }
        })
    }

    /// This occurrence files the incident's case.
    async fn create_case(
        &self,
        f: &Failed<'_>,
        plain: Ticket,
        c: Created,
        reason: String,
        stats: &mut Attempts,
    ) -> Result<Outcome, Unfiled> {
        // Listed before the case exists, so the flush finds an incident
        // whose creator dies with occurrences waiting.
        if let Err(e) = self.store.index(&f.fp.key, &f.fp.machine).await {
            tracing::warn!(error = %e, "incident not listed for the flush; its replies wait for its next occurrence");
        }
        let mut c = c;
        let searching = c.previous_case.is_none() && c.carried.is_none();
        // The search (when there is one) and the case: room for them is
        // waited for while there is time to spare, then they go anyway.
        let spare = f.end.checked_sub(CASE_RESERVE).unwrap_or(f.end);
        self.budget.make_room(1 + u32::from(searching), spare).await;
        if searching {
            // No record of this failure: new, or its record was lost (TTL,
            // a recreated table, a new region). Its case, if it has one,
            // carries the marker line.
            let marker = ticket::marker_of(&f.fp.key);
            let (open, closed) = self.find_case(&marker, f.end, stats).await;
            if let Some(uid) = open {
                match self.adopt(f, &plain, &c, &reason, &uid, stats).await {
                    Ok(Some(outcome)) => return Ok(outcome),
                    // Gone since the search: a new case after all.
                    Ok(None) => {}
                    Err(err) => {
                        self.abandon(&f.fp.key, c.token).await;
                        return Err(self.not_delivered(f, err, plain, *stats).await);
                    }
                }
            }
            c.previous_case = closed;
        }
        let note = IncidentNote {
            number: c.number,
            first_seen_ms: c.first_seen_ms,
            previous_case: c
                .previous_case
                .as_deref()
                .map(|p| (p, "an earlier case of this failure")),
            waiting: c.carried.as_ref(),
            first_reason: None,
        };
        let case = if c.number > 1 || c.previous_case.is_some() || c.carried.is_some() {
            ticket::render_incident(f.failure, f.extra, &self.render_config(), f.reported, &note)
        } else {
            plain
        };
        let carried = c.carried.as_ref().map_or(0, |b| b.count);
        let delivered = self.desk.create(&case, f.end, stats).await;
        match delivered {
            Ok(uid) => {
                let owner = Guard::owned_by(c.token.clone());
                let done = incident::completed(&uid, &case.subject, Some(reason), now_ms());
                let open = match self.store.update(&f.fp.key, &owner, &done).await {
                    Ok(open) => {
                        if open.is_none() {
                            tracing::warn!(
                                "case filed, but the incident was taken over meanwhile (this invocation outlived its deadline); later occurrences go to the other case"
                            );
                        }
                        open
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "case filed but not recorded in its incident; the next occurrence files another");
                        None
                    }
                };
                if c.carried.is_some() {
                    // Listed on the case: out of the outbox.
                    if let Err(e) = self.store.settle(&f.fp.key, &c.token).await {
                        tracing::warn!(error = %e, "the carried occurrences are on the new case but still in flight; they are posted again when their lease lapses");
                    }
                }
                if let Some(open) = &open {
                    // A batch whose holder died before this case existed.
                    self.repost_quietly(&f.fp.key, open, f.end, f.end_wall, stats)
                        .await;
                }
                self.finish_claim(f, &uid, &case.subject).await;
                let outcome = Outcome::Incident {
                    case_uid: Some(uid),
                    subject: case.subject,
                    attempts: stats.api_calls,
                    incident: "new_case",
                    occurrence: c.number,
                    carried,
                    previous_case_uid: c.previous_case,
                };
                self.log_incident(&outcome, stats, f.started);
                Ok(outcome)
            }
            Err(err) => {
                if c.carried.is_some() {
                    // Whoever files the case next posts them as a reply.
                    let back = Release {
                        owner: &c.token,
                        until_ms: 0,
                        own: None,
                    };
                    if let Err(e) = self.store.release(&f.fp.key, back).await {
                        tracing::warn!(error = %e, "the carried occurrences stay in flight until this invocation's deadline");
                    }
                }
                // Lapse at once: the next occurrence (or the flush) files it.
                self.abandon(&f.fp.key, c.token).await;
                Err(self.not_delivered(f, err, case, *stats).await)
            }
        }
    }

    /// Follows the open case found by the incident's marker: this
    /// occurrence as a reply on it, and the incident rebuilt around it.
    /// `None` when the case is gone after all.
    async fn adopt(
        &self,
        f: &Failed<'_>,
        plain: &Ticket,
        c: &Created,
        reason: &str,
        uid: &str,
        stats: &mut Attempts,
    ) -> Result<Option<Outcome>, crate::error::NotifierError> {
        let batch = Batch {
            occurrences: vec![c.occurrence.clone()],
            count: 1,
        };
        let comment = ticket::reply_comment_with(
            &batch,
            None,
            &[ticket::lifecycle::adopted()],
            &self.gate.redactor(),
            time::OffsetDateTime::now_utc(),
        );
        let reply = Reply::new(&self.settings.agent_name, uid, comment);
        self.ready(f.end, stats).await?;
        if !self.desk.reply(&reply, f.end, stats).await? {
            return Ok(None);
        }
        let owner = Guard::owned_by(c.token.clone());
        let done = incident::completed(uid, &plain.subject, Some(reason.to_owned()), now_ms());
        if let Err(e) = self.store.update(&f.fp.key, &owner, &done).await {
            tracing::warn!(error = %e, "case adopted but not recorded in its incident; the next occurrence searches again");
        }
        self.finish_claim(f, uid, &plain.subject).await;
        let outcome = Outcome::Incident {
            case_uid: Some(uid.to_owned()),
            subject: plain.subject.clone(),
            attempts: stats.api_calls,
            incident: "adopted",
            occurrence: c.number,
            carried: 0,
            previous_case_uid: None,
        };
        self.log_incident(&outcome, stats, f.started);
        Ok(Some(outcome))
    }

    /// Takes over and posts a batch whose holder died, for an invocation
    /// about something else: what came of it is logged, not returned.
    /// Whether there was one to take over.
    async fn repost_quietly(
        &self,
        key: &str,
        incident: &Incident,
        end: Instant,
        end_wall: SystemTime,
        stats: &mut Attempts,
    ) -> bool {
        match self.repost(key, incident, end, end_wall, stats).await {
            None => false,
            Some(Ok(_)) => true,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a batch taken over from a stopped invocation was not posted; it waits for the next attempt");
                true
            }
        }
    }

    /// Appended to an open incident: post now, or coalesce.
    async fn appended(
        &self,
        f: &Failed<'_>,
        incident: Incident,
        number: u64,
        plain: Ticket,
        reason: String,
        stats: &mut Attempts,
    ) -> Result<Outcome, Unfiled> {
        let key = &f.fp.key;
        let Some(case_uid) = incident.case_uid.clone() else {
            return self
                .coalesced(f, None, incident.subject, number, stats)
                .await;
        };
        if incident.pending_count == 1 {
            // The first occurrence waiting: make sure the flush will see it.
            if let Err(e) = self.store.index(key, &f.fp.machine).await {
                tracing::warn!(error = %e, "incident not listed for the flush");
            }
        }
        // A batch whose holder died goes out first, as this interval's
        // reply; this occurrence waits for the next.
        let reposted = self
            .repost_quietly(key, &incident, f.end, f.end_wall, stats)
            .await;
        let now = now_ms();
        // A desk that asked to slow down, or a second whose share of the
        // desk other incidents have taken, gets the reply from a later
        // occurrence or the flush: this one waits in the incident instead
        // of queueing for the desk.
        if !reposted
            && post_due(now, &incident, self.settings.reply_interval)
            && !self.desk.throttled()
            && self.budget.try_spend(REPLY_COST).await
        {
            let token = incident::new_token();
            let take = Take {
                case_uid: &case_uid,
                seen_last_reply: incident.last_reply_ms,
                now_ms: now,
                owner: &token,
                until_ms: epoch_ms(f.end_wall),
            };
            let taken = self.store.take(key, take).await;
            match taken {
                Ok(Some(batch)) => {
                    let carried = batch.count.saturating_sub(1);
                    let post = Post {
                        key,
                        incident: &incident,
                        batch,
                        source: Source::Failure {
                            failure: f.failure,
                            extra: f.extra,
                            reported: f.reported,
                            number,
                            reason,
                        },
                        end: f.end,
                        end_wall: f.end_wall,
                        owner: token,
                        tries: 1,
                    };
                    let (kind, case_uid, subject, previous, carried) = match self
                        .deliver(post, stats)
                        .await
                    {
                        Ok(Posted::Replied { case_uid }) => {
                            ("reply_posted", case_uid, incident.subject, None, carried)
                        }
                        Ok(Posted::Reopened { case_uid }) => {
                            ("reopened", case_uid, incident.subject, None, carried)
                        }
                        Ok(Posted::Muted { case_uid }) => {
                            ("muted", case_uid, incident.subject, None, carried)
                        }
                        Ok(Posted::NewCase {
                            case_uid,
                            subject,
                            previous,
                            carried,
                        }) => ("new_case", case_uid, subject, Some(previous), carried),
                        Ok(Posted::Requeued | Posted::GaveUp) => {
                            let uid = self.wait_for_case(key, f.end).await;
                            return self
                                .coalesced(f, uid, incident.subject, number, stats)
                                .await;
                        }
                        Err(err) => return Err(self.not_delivered(f, err, plain, *stats).await),
                    };
                    self.finish_claim(f, &case_uid, &subject).await;
                    let outcome = Outcome::Incident {
                        case_uid: Some(case_uid),
                        subject,
                        attempts: stats.api_calls,
                        incident: kind,
                        occurrence: number,
                        carried,
                        previous_case_uid: previous,
                    };
                    self.log_incident(&outcome, stats, f.started);
                    return Ok(outcome);
                }
                // Another invocation took the batch (with this occurrence
                // in it, or it follows in the next), or one is in flight.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not take the waiting occurrences; the next occurrence or the flush posts them")
                }
            }
        }
        if incident.muted > 0 {
            // Muted as of the last post: this one waits to be held back too.
            return self
                .ended(f, Some(case_uid), incident.subject, number, "muted", stats)
                .await;
        }
        self.coalesced(f, Some(case_uid), incident.subject, number, stats)
            .await
    }

    /// The occurrence waits in its incident for the next reply.
    async fn coalesced(
        &self,
        f: &Failed<'_>,
        case_uid: Option<String>,
        subject: String,
        number: u64,
        stats: &Attempts,
    ) -> Result<Outcome, Unfiled> {
        self.ended(f, case_uid, subject, number, "reply_coalesced", stats)
            .await
    }

    /// The occurrence is recorded, nothing posted: its claim and log line.
    async fn ended(
        &self,
        f: &Failed<'_>,
        case_uid: Option<String>,
        subject: String,
        number: u64,
        kind: &'static str,
        stats: &Attempts,
    ) -> Result<Outcome, Unfiled> {
        // A redelivered copy is answered from the claim: never a new
        // occurrence. Without a Uid yet (its creator still at work), the
        // claim records an empty one.
        self.finish_claim(f, case_uid.as_deref().unwrap_or(""), &subject)
            .await;
        let outcome = Outcome::Incident {
            case_uid,
            subject,
            attempts: stats.api_calls,
            incident: kind,
            occurrence: number,
            carried: 0,
            previous_case_uid: None,
        };
        self.log_incident(&outcome, stats, f.started);
        Ok(outcome)
    }

    /// Waits (inside the budget, at most [`CREATOR_WAIT`]) for the case an
    /// incident's creator is filing; `None` if it does not appear.
    async fn wait_for_case(&self, key: &str, end: Instant) -> Option<String> {
        let until = end.min(Instant::now() + CREATOR_WAIT);
        loop {
            match self.store.read(key).await {
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
}
