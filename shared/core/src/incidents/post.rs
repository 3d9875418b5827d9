//! Posting a batch of waiting occurrences to its case, shared by an
//! occurrence that is due and by the flush: a reply when the case is open,
//! a new case linking it when it was closed or is gone, and the batch back
//! in the incident whenever nothing could be posted.

use std::time::{Instant, SystemTime};

use time::OffsetDateTime;

use super::Incidents;
use crate::desk::{Attempts, CaseState, Reply};
use crate::error::NotifierError;
use crate::history::Enrichment;
use crate::incident::{self, Batch, Change, Guard, Incident, Status, epoch_ms, now_ms};
use crate::intake::Failure;
use crate::ticket::{self, IncidentNote};

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
    /// Another invocation reopened the incident first; the batch went back.
    Requeued,
}

/// Where a batch is posted from: the failure at hand (its own occurrence is
/// in the batch), or the flush.
pub(super) enum Source<'a> {
    Failure {
        failure: &'a Failure,
        extra: Option<&'a Enrichment>,
        reported: OffsetDateTime,
        number: u64,
        reason: String,
    },
    Flush,
}

pub(super) struct Post<'a> {
    pub key: &'a str,
    pub incident: &'a Incident,
    pub batch: Batch,
    pub source: Source<'a>,
    pub end: Instant,
    pub end_wall: SystemTime,
}

impl Incidents {
    /// Posts a taken batch to its case: reads the case first; open, a reply;
    /// closed or gone, a new case that links it.
    pub(super) async fn post(
        &self,
        p: Post<'_>,
        stats: &mut Attempts,
    ) -> Result<Posted, NotifierError> {
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
                let reply = Reply::new(&self.settings.agent_name, &case_uid, comment);
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
        let reopened = match self.store.update(p.key, &guard, &change).await {
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
        if let Err(e) = self.store.restore(p.key, &batch).await {
            tracing::error!(error = %e, occurrences = batch.count, "occurrences taken for a reply could not be put back; they are in this log line only");
        }
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
