//! The `{"ticketBridge": "flush"}` event: posts every incident's waiting
//! occurrences whose interval has passed, takes over batches whose holder
//! died, files the case of incidents whose creator died with occurrences
//! waiting, and prunes the index. Without it, the last occurrences of a
//! storm would wait for a next failure that may never come.
//!
//! It reads the index a page at a time from where the last flush stopped
//! and saves where it stops, at [`FLUSH_MAX`] incidents or when its budget
//! runs low: successive flushes go round every listed incident.

use std::time::{Duration, Instant, SystemTime};

use time::OffsetDateTime;

use super::post::{Post, Posted, Source};
use super::{Incidents, Unfiled, post_due, store_failed};
use crate::budget::REPLY_COST;
use crate::desk::Attempts;
use crate::error::NotifierError;
use crate::incident::{
    self, Change, Cursor, Guard, Incident, Status, Take, Timing, epoch_ms, now_ms,
};
use crate::outcome::{FlushReport, Outcome};
use crate::ticket::{self, IncidentNote};

/// Incidents one flush looks at, at most; the next flush carries on from
/// where it stopped.
const FLUSH_MAX: u64 = 500;
/// Index keys read at a time.
const PAGE: usize = 100;
/// The flush stops taking incidents with less than this left, so its log
/// line and any error still get out.
const FLUSH_RESERVE: Duration = Duration::from_secs(3);

/// The log line and outcome of a flush that went through. Public because a
/// notifier without incidents (grouping off) answers the flush with an
/// empty one, and schedules must not see a difference.
pub fn flushed(report: FlushReport, stats: &Attempts, started: Instant) -> Outcome {
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
    Outcome::Flushed { flush: report }
}

impl Incidents {
    /// Flushes every listed incident while the budget (to `end`) lasts.
    /// One incident that fails does not stop the others; the invocation
    /// fails at the end so the schedule's retry (and the next flush) sees it.
    pub async fn flush(
        &self,
        end: Instant,
        end_wall: SystemTime,
        started: Instant,
    ) -> Result<Outcome, Unfiled> {
        let mut report = FlushReport::default();
        let mut stats = Attempts::default();
        let mut last_error: Option<NotifierError> = None;
        let start = match self.store.flush_cursor().await {
            Ok(at) => at,
            Err(e) => {
                tracing::warn!(error = %e, "where the last flush stopped is unknown; starting from the top");
                Cursor::start()
            }
        };
        let mut at = start.clone();
        // Past the end of the index, the flush goes on from the top up to
        // where it began.
        let mut wrapped = false;
        'pages: loop {
            let page = match self.store.indexed(&at, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    last_error = Some(store_failed(e));
                    break;
                }
            };
            for key in page.keys {
                let round = wrapped && start.precedes(&key);
                let out_of_time = end.saturating_duration_since(Instant::now()) < FLUSH_RESERVE;
                if round || out_of_time || report.incidents >= FLUSH_MAX {
                    break 'pages;
                }
                report.incidents += 1;
                let flushed = self
                    .flush_one(&key, end, end_wall, &mut report, &mut stats)
                    .await;
                if let Err(e) = flushed {
                    report.failed += 1;
                    last_error = Some(e);
                }
                at = Cursor::after(&key);
            }
            match page.next {
                Some(next) if wrapped && next >= start => break,
                Some(next) => at = next,
                None => {
                    at = Cursor::start();
                    if wrapped || start == Cursor::start() {
                        break;
                    }
                    wrapped = true;
                }
            }
        }
        if let Err(e) = self.store.save_flush_cursor(&at).await {
            tracing::warn!(error = %e, "where this flush stopped was not saved; the next starts where this one did");
        }
        match last_error {
            None => Ok(flushed(report, &stats, started)),
            Some(err) => {
                let error = err.with_note(&format!(
                    "flush: {} of {} incidents failed ({} replies, {} new cases posted); their occurrences wait for the next flush",
                    report.failed, report.incidents, report.replies, report.new_cases
                ));
                Err(Unfiled {
                    outcome: "flush_failed",
                    error,
                    case: None,
                    stats,
                })
            }
        }
    }

    async fn flush_one(
        &self,
        key: &str,
        end: Instant,
        end_wall: SystemTime,
        report: &mut FlushReport,
        stats: &mut Attempts,
    ) -> Result<(), NotifierError> {
        let store = self.store.as_ref();
        let t = Timing::at(now_ms(), self.settings.window, end_wall);
        let Some(inc) = store.read(key).await.map_err(store_failed)? else {
            store.unindex(key, None).await.map_err(store_failed)?;
            report.pruned += 1;
            return Ok(());
        };
        if !inc.live(t.window_start_ms) && !inc.waiting() {
            store
                .unindex(key, Some(&inc.machine))
                .await
                .map_err(store_failed)?;
            report.pruned += 1;
            return Ok(());
        }
        match inc.status {
            Status::Open => {
                self.flush_open(key, &inc, false, (end, end_wall), report, stats)
                    .await
            }
            Status::Creating if inc.lapsed(t.now_ms) && inc.waiting() => {
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
                let case =
                    ticket::continuation(&own.subject, &note, &self.render_config(), now, key);
                self.budget.charge(1).await;
                let delivered = match self.ready(end, stats).await {
                    Ok(()) => self.desk.create(&case, end, stats).await,
                    Err(e) => Err(e),
                };
                let uid = match delivered {
                    Ok(uid) => uid,
                    Err(e) => {
                        self.abandon(key, token).await;
                        return Err(e);
                    }
                };
                report.new_cases += 1;
                let owner = Guard::owned_by(token);
                let done =
                    incident::completed(&uid, &case.subject, own.first_reason.clone(), now_ms());
                let Some(open) = store
                    .update(key, &owner, &done)
                    .await
                    .map_err(store_failed)?
                else {
                    return Ok(());
                };
                // What waited goes out now, not an interval after the case.
                self.flush_open(key, &open, true, (end, end_wall), report, stats)
                    .await
            }
            _ => Ok(()),
        }
    }

    /// An open incident: a batch whose holder died is taken over and
    /// posted (the interval's reply); else the pending occurrences, if their
    /// interval passed (or `now`: the case was just filed for them).
    async fn flush_open(
        &self,
        key: &str,
        inc: &Incident,
        now: bool,
        (end, end_wall): (Instant, SystemTime),
        report: &mut FlushReport,
        stats: &mut Attempts,
    ) -> Result<(), NotifierError> {
        if let Some(result) = self.repost(key, inc, end, end_wall, stats).await {
            // That was this interval's reply; the pending ones are next.
            let count = inc.in_flight.as_ref().map_or(0, |f| f.batch.count);
            tally(report, count, &result?);
            return Ok(());
        }
        let Some(uid) = inc.case_uid.as_deref() else {
            return Ok(());
        };
        let due = now && inc.pending_count > 0;
        if !due && !post_due(now_ms(), inc, self.settings.reply_interval) {
            return Ok(());
        }
        // The flush keeps to the desk's budget by waiting for room, as long
        // as it has time; what it cannot post waits for the next flush.
        let until = end.checked_sub(FLUSH_RESERVE).unwrap_or(end);
        if !self.budget.wait(REPLY_COST, until).await {
            return Ok(());
        }
        let token = incident::new_token();
        let take = Take {
            case_uid: uid,
            seen_last_reply: inc.last_reply_ms,
            now_ms: now_ms(),
            owner: &token,
            until_ms: epoch_ms(end_wall),
        };
        let Some(batch) = self.store.take(key, take).await.map_err(store_failed)? else {
            return Ok(());
        };
        let count = batch.count;
        let post = Post {
            key,
            incident: inc,
            batch,
            source: Source::Stored,
            end,
            end_wall,
            owner: token,
            tries: 1,
        };
        let posted = self.deliver(post, stats).await?;
        tally(report, count, &posted);
        Ok(())
    }
}

/// Counts a posted batch of `count` occurrences in the flush's report.
fn tally(report: &mut FlushReport, count: u64, posted: &Posted) {
    match posted {
        Posted::Replied { .. } => {
            report.replies += 1;
            report.occurrences += count;
        }
        Posted::NewCase { .. } => {
            report.new_cases += 1;
            report.occurrences += count;
        }
        Posted::Reopened { .. } => {
            report.replies += 1;
            report.reopened += 1;
            report.occurrences += count;
        }
        Posted::Muted { .. } => report.muted += count,
        Posted::GaveUp => report.fallback += 1,
        Posted::Requeued => {}
    }
}
