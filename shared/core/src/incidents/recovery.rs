//! A SUCCEEDED execution: the one recovery note of each open incident of
//! its state machine, so whoever watches the case learns the failure
//! stopped without reading the execution list. A second success finds the
//! incident's flag set and adds nothing.

use std::time::{Instant, SystemTime};

use time::OffsetDateTime;

use super::{Incidents, Unfiled, store_failed};
use crate::desk::{Attempts, Reply};
use crate::error::NotifierError;
use crate::incident::{Change, Guard, Status, Timing, now_ms};
use crate::intake::Success;
use crate::outcome::Outcome;
use crate::ticket;

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
        let t = Timing::at(now_ms(), self.settings.window, end_wall);
        let mut stats = Attempts::default();
        let mut noted = Vec::new();
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
            let reply = Reply::new(&self.settings.agent_name, &uid, comment);
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
        if let Some(error) = failed {
            return Err(Unfiled {
                outcome: "recovery_not_delivered",
                error,
                case: None,
                stats,
            });
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
}
