//! The case after it is filed, as the failure lives on: a person mutes it
//! with a tag, the bridge closed it when the machine recovered and reopens
//! it when the failure comes back soon, and an incident whose record was
//! lost finds its case again by the marker line its Body carries.
//!
//! Each step keeps the rule of the rest of the service: the incident item
//! says what the bridge did, written before the desk call it depends on or
//! right after the one it records, so a step that fails halfway is retried
//! by the next event and never loses an occurrence.

use super::Incidents;
use super::post::{Post, Posted};
use crate::desk::{Attempts, CaseState, CaseStatus, CaseUpdate, Found, Reply};
use crate::error::NotifierError;
use crate::incident::{Change, Guard, Incident, StoreError, now_ms};
use crate::ticket::lifecycle as note;

/// Re-reads of an incident that changed under a count.
pub(super) const COUNT_TRIES: usize = 4;

impl Incidents {
    /// Applies `change` to the incident at `key` if it is still open with
    /// `case_uid`: how each step records (or undoes) what it did to a case.
    pub(super) async fn on_open_case(
        &self,
        key: &str,
        case_uid: &str,
        change: Change,
    ) -> Result<Option<Incident>, StoreError> {
        let guard = Guard {
            open_case: Some(case_uid.to_owned()),
            ..Guard::default()
        };
        self.store.update(key, &guard, &change).await
    }

    /// A muted case: the batch is counted on the incident and not posted.
    /// Only the holder of a batch changes the count, and one batch is in
    /// flight at a time, so a read and a guarded write keep it exact.
    pub(super) async fn mute(&self, p: &Post<'_>, case_uid: String) -> Posted {
        for _ in 0..COUNT_TRIES {
            let Ok(Some(now)) = self.store.read(p.key).await else {
                break;
            };
            let change = Change {
                muted: Some(now.muted.saturating_add(p.batch.count)),
                ..Change::default()
            };
            let guard = Guard {
                version: Some(now.version),
                open_case: Some(case_uid.clone()),
                ..Guard::default()
            };
            match self.store.update(p.key, &guard, &change).await {
                Ok(Some(_)) => {
                    return Posted::Muted { case_uid };
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "muted occurrences not counted; the un-mute reply will name fewer");
                    break;
                }
            }
        }
        Posted::Muted { case_uid }
    }

    /// The line a reply leads with after the mute tag was removed: how many
    /// occurrences it held back.
    pub(super) fn unmuted_lead(&self, incident: &Incident) -> Vec<String> {
        if incident.muted == 0 {
            return Vec::new();
        }
        vec![note::unmuted(incident.muted, &self.settings.mute_tag)]
    }

    /// The un-mute reply is on the case: the count starts again.
    pub(super) async fn unmuted(&self, key: &str, case_uid: &str) {
        let change = Change {
            muted: Some(0),
            ..Change::default()
        };
        if let Err(e) = self.on_open_case(key, case_uid, change).await {
            tracing::warn!(error = %e, "the muted count was not reset; the next reply names it again");
        }
    }

    /// Whether a case the bridge closed at `resolved_ms` is reopened by a
    /// failure now, rather than followed by a new case.
    pub(super) fn reopens(&self, resolved_ms: u64) -> bool {
        let window = u64::try_from(self.settings.reopen_window.as_millis()).unwrap_or(u64::MAX);
        now_ms().saturating_sub(resolved_ms) <= window
    }

    /// Reopens the case the bridge closed, and posts the batch on it. The
    /// incident forgets the closing as soon as the case is open again, so
    /// a reply that fails now is retried as a plain reply.
    pub(super) async fn reopen_same(
        &self,
        p: &Post<'_>,
        case_uid: String,
        resolved_ms: u64,
        stats: &mut Attempts,
    ) -> Result<Posted, NotifierError> {
        let open = CaseUpdate {
            status: Some(CaseStatus::Open),
            ..CaseUpdate::default()
        };
        let put = match self.ready(p.end, stats).await {
            Ok(()) => self.desk.update(&case_uid, &open, p.end, stats).await,
            Err(e) => Err(e),
        };
        match put {
            Ok(true) => {}
            Ok(false) => return self.reopen(p, case_uid, "it is gone", stats).await,
            Err(e) => {
                return Err(e.with_note(&format!(
                    "case {case_uid}, closed when the machine recovered, could not be reopened; the occurrences wait for the next attempt"
                )));
            }
        }
        let reopened = Change {
            resolved_ms: Some(None),
            successes: Some(0),
            ..Change::default()
        };
        if let Err(e) = self.on_open_case(p.key, &case_uid, reopened).await {
            tracing::warn!(error = %e, "case reopened but the incident still says the bridge closed it; the next post reads it open");
        }
        let mut lead = vec![note::reopened(resolved_ms)];
        lead.extend(self.unmuted_lead(p.incident));
        let reply = Reply::new(&self.settings.agent_name, &case_uid, self.comment(p, &lead));
        match self.desk.reply(&reply, p.end, stats).await {
            Ok(true) => Ok(Posted::Reopened { case_uid }),
            Ok(false) => self.reopen(p, case_uid, "it is gone", stats).await,
            Err(e) => Err(e.with_note(&format!(
                "case {case_uid} was reopened, but the reply naming the occurrences was not posted; they wait for the next attempt"
            ))),
        }
    }

    /// Closes the case of an incident whose machine recovered: the reply
    /// that says so first, then `Status` closed. `Ok(false)` when the case
    /// is no longer open (a person closed it, or it is gone): the bridge
    /// leaves it as it is, so a person's close keeps its meaning (the next
    /// failure files a new case). Anything but a close undoes the
    /// incident's record of it; after a failure, the retried event closes it.
    pub(super) async fn resolve(
        &self,
        key: &str,
        case_uid: &str,
        comment: String,
        end: std::time::Instant,
        stats: &mut Attempts,
    ) -> Result<bool, NotifierError> {
        let reply = Reply::new(&self.settings.agent_name, case_uid, comment);
        let close = CaseUpdate {
            status: Some(CaseStatus::Closed),
            ..CaseUpdate::default()
        };
        // The read, the reply and the close.
        self.budget.charge(3).await;
        let done = async {
            self.ready(end, stats).await?;
            if self.desk.read(case_uid, end, stats).await?.state != CaseState::Open {
                return Ok(false);
            }
            if !self.desk.reply(&reply, end, stats).await? {
                return Ok(false);
            }
            self.desk.update(case_uid, &close, end, stats).await
        }
        .await;
        if !matches!(done, Ok(true)) {
            let undo = Change {
                resolved_ms: Some(None),
                ..Change::default()
            };
            if let Err(e) = self.on_open_case(key, case_uid, undo).await {
                tracing::warn!(error = %e, "case not closed by the bridge, and the incident still says it is; a failure soon reopens it");
            }
        }
        done
    }

    /// The open case of an incident whose record was lost, found by its
    /// marker line: the newest open one; else the newest closed one, for a
    /// new case to link. A search that fails finds nothing: an extra case
    /// beats a lost failure.
    pub(super) async fn find_case(
        &self,
        marker: &str,
        end: std::time::Instant,
        stats: &mut Attempts,
    ) -> (Option<String>, Option<String>) {
        let found = match self.ready(end, stats).await {
            Ok(()) => self.desk.find(marker, end, stats).await,
            Err(e) => Err(e),
        };
        match found {
            Ok(cases) => {
                let open = cases.iter().find(|c| c.open).map(|c: &Found| c.uid.clone());
                let closed = cases.iter().find(|c| !c.open).map(|c| c.uid.clone());
                (open, closed)
            }
            Err(e) => {
                tracing::warn!(error = %self.gate.seal(&e.to_string(), 500), "the desk could not be searched for this incident's case; a new case is filed");
                (None, None)
            }
        }
    }
}
