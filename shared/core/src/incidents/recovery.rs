//! A SUCCEEDED execution: the one recovery note of each open incident of
//! its state machine, so whoever watches the case learns the failure
//! stopped without reading the execution list (a second success finds the
//! incident's flag set and adds nothing); and, with
//! `RESOLVE_AFTER_SUCCESSES`, one more success in a row on each, the case
//! closed at the Nth. Any failure of the incident sets the count back to 0
//! (the append does), so a flapping machine never closes its case.

use std::time::{Instant, SystemTime};

use time::OffsetDateTime;

use super::lifecycle::COUNT_TRIES;
use super::{Incidents, Unfiled, store_failed};
use crate::desk::{Attempts, Reply};
use crate::error::NotifierError;
use crate::incident::{Change, Guard, Status, Timing, now_ms};
use crate::intake::Success;
use crate::outcome::Outcome;
use crate::ticket;
use crate::ticket::lifecycle::{self, Recovery};

/// What one success did to one incident.
enum Recovered {
    Nothing,
    /// One more success in a row, not yet enough to close the case.
    Counted,
    Noted(String),
    /// The case was closed.
    Resolved(String),
}

impl Incidents {
    /// Notes the recovery of `ok` on its machine's open incidents. The flag
    /// is set before the note is posted (conditional on the version read),
    /// so two successes at once post one note; a note that cannot be posted
    /// unsets it, so the retry notes it.
    pub async fn recovery(
        &self,
        ok: &Success,
        end: Instant,
        end_wall: SystemTime,
        started: Instant,
    ) -> Result<Outcome, Unfiled> {
        let status = "SUCCEEDED".to_owned();
        let store = self.store.as_ref();
        let mut stats = Attempts::default();
        let mut noted = Vec::new();
        let mut resolved = Vec::new();
        let mut counted = 0_u64;
        let mut failed: Option<NotifierError> = None;
        let machine = ok.state_machine_arn.as_str();
        let keys = match store.of_machine(machine).await {
            Ok(keys) => keys,
            Err(e) => {
                failed = Some(store_failed(e));
                Vec::new()
            }
        };
        for key in keys {
            match self
                .recover_one(ok, &key, (end, end_wall), &mut stats)
                .await
            {
                Ok(Recovered::Nothing) => {}
                Ok(Recovered::Counted) => counted += 1,
                Ok(Recovered::Noted(uid)) => noted.push(uid),
                Ok(Recovered::Resolved(uid)) => resolved.push(uid),
                Err(e) => failed = Some(e),
            }
        }
        if let Some(error) = failed {
            return Err(Unfiled {
                outcome: "recovery_not_delivered",
                error,
                case: None,
                stats,
            });
        }
        if noted.is_empty() && resolved.is_empty() && counted == 0 {
            tracing::info!(outcome = "skipped", status = %status, "execution succeeded; no open incident it concerns");
            return Ok(Outcome::Skipped {
                skipped: true,
                status,
            });
        }
        let outcome = match (resolved.is_empty(), noted.is_empty()) {
            (false, _) => "resolved",
            (true, false) => "recovery_noted",
            (true, true) => "success_counted",
        };
        tracing::info!(
            outcome,
            cases = %self.gate.seal(&noted.join(","), 2000),
            resolved = %self.gate.seal(&resolved.join(","), 2000),
            counted,
            attempts = stats.api_calls,
            duration_ms = started.elapsed().as_millis() as u64,
            "execution succeeded; its open incidents updated"
        );
        Ok(Outcome::Recovered {
            status,
            recovery_notes: noted,
            resolved,
            counted,
        })
    }
}

impl Incidents {
    /// What the success `ok` does to the incident at `key`: its recovery
    /// note (once per case, `RECOVERY_NOTES`), one more success in a row
    /// (`RESOLVE_AFTER_SUCCESSES`), and at the Nth, the case closed. The
    /// incident records each first, conditional on the version read, so
    /// two successes at once count twice and note or close once; a note or
    /// close that cannot be posted is undone, so the retry does it.
    async fn recover_one(
        &self,
        ok: &Success,
        key: &str,
        (end, end_wall): (Instant, SystemTime),
        stats: &mut Attempts,
    ) -> Result<Recovered, NotifierError> {
        let store = self.store.as_ref();
        let machine = ok.state_machine_arn.as_str();
        let t = Timing::at(now_ms(), self.settings.window, end_wall);
        let resolve_at = self.settings.resolve_after_successes;
        for _ in 0..COUNT_TRIES {
            let inc = match store.read(key).await.map_err(store_failed)? {
                Some(inc) => inc,
                None => {
                    let _ = store.unindex(key, Some(machine)).await;
                    return Ok(Recovered::Nothing);
                }
            };
            let stopped = ok.stopped_ms;
            let before_first = stopped.is_some_and(|s| s < inc.first_seen_ms);
            let Some(uid) = inc.case_uid.clone().filter(|_| {
                inc.live(t.window_start_ms) && inc.status == Status::Open && !before_first
            }) else {
                return Ok(Recovered::Nothing);
            };
            let note_due = self.settings.recovery_notes && !inc.recovered;
            // A success that ended before the last failure was recorded
            // does not make the failure stop.
            let counts = resolve_at > 0
                && inc.resolved_ms.is_none()
                && stopped.is_none_or(|s| s >= inc.last_seen_ms);
            if !note_due && !counts {
                return Ok(Recovered::Nothing);
            }
            let successes = inc.successes.saturating_add(u32::from(counts));
            // Occurrences still waiting go out first (the flush posts them),
            // then the next success closes it.
            let close = counts && successes >= resolve_at && !inc.waiting();
            let change = Change {
                recovered: (note_due || close).then_some(true),
                successes: counts.then_some(successes),
                resolved_ms: close.then_some(Some(t.now_ms)),
                ..Change::default()
            };
            let guard = Guard {
                version: Some(inc.version),
                ..Guard::default()
            };
            if store
                .update(key, &guard, &change)
                .await
                .map_err(store_failed)?
                .is_none()
            {
                continue;
            }
            let execution = self.gate.text(ok.execution_arn.as_deref().unwrap_or(""));
            let at = ok.stopped_ms.unwrap_or(t.now_ms);
            if close {
                let rec = Recovery {
                    execution: &execution,
                    succeeded_at_ms: at,
                    successes,
                    occurrences: inc.seq,
                    first_seen_ms: inc.first_seen_ms,
                    reopen_window: self.settings.reopen_window,
                };
                let comment = lifecycle::resolved_note(
                    &rec,
                    &self.gate.redactor(),
                    OffsetDateTime::now_utc(),
                );
                return Ok(match self.resolve(key, &uid, comment, end, stats).await? {
                    true => Recovered::Resolved(uid),
                    // Closed by a person (or gone): theirs to reopen.
                    false => Recovered::Nothing,
                });
            }
            if !note_due {
                return Ok(Recovered::Counted);
            }
            let comment = ticket::recovery_note(
                &execution,
                at,
                inc.seq,
                inc.first_seen_ms,
                &self.gate.redactor(),
                OffsetDateTime::now_utc(),
            );
            let reply = Reply::new(&self.settings.agent_name, &uid, comment);
            let sent = match self.ready(end, stats).await {
                Ok(()) => self.desk.reply(&reply, end, stats).await,
                Err(e) => Err(e),
            };
            return match sent {
                Ok(true) => Ok(Recovered::Noted(uid)),
                // Gone: the next failure files a new case.
                Ok(false) => Ok(Recovered::Nothing),
                Err(e) => {
                    // Not posted: the flag goes back, so the retry notes it.
                    let unmark = Change {
                        recovered: Some(false),
                        ..Change::default()
                    };
                    let _ = self.on_open_case(key, &uid, unmark).await;
                    Err(e)
                }
            };
        }
        // Changed under every try (a storm of successes): the rest count.
        Ok(Recovered::Nothing)
    }
}
