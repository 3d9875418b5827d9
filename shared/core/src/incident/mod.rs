//! Incidents, not ticket storms: a failure that keeps recurring is one case
//! that grows, not a pile of cases.
//!
//! A failure's [`Fingerprint`] is its state machine plus, per [`Grouping`],
//! the failed state and the error name (`state`), or the error name only
//! (`error`). The first occurrence of a fingerprint files a case; later ones
//! inside the window become agent replies on that case, coalesced to at most
//! one reply per interval ([`decide`]); a periodic flush posts what is left,
//! so the last occurrences of a storm are not lost.
//!
//! The incident lives in the dedupe table, under its own key prefix
//! (`incident#…`, beside the dedupe claims' bare hashes), behind the
//! [`IncidentStore`] port, with a DynamoDB and an in-memory adapter. Storm
//! control comes from conditional writes:
//! - exactly one occurrence creates the case: it writes the incident in a
//!   *creating* state it owns until its deadline; the others append to it
//!   (and wait for the case Uid). A creator that dies lapses at its
//!   deadline, like a dedupe claim, and the next occurrence (or the flush)
//!   takes the incident over;
//! - each occurrence takes its number from an atomic counter, then appends
//!   itself to the pending list atomically (no read-modify-write, so a storm
//!   does not contend on versions);
//! - whoever may post a reply *takes* the pending list with a write
//!   conditioned on the `last_reply` it saw: one taker per interval wins, the
//!   rest are coalesced into that reply or the next;
//! - the taken list does not leave the item: the same write moves it into
//!   the incident's *in-flight* batch (an outbox), under the taker's token
//!   and a lease that lasts as long as the taker may run. A reply posted
//!   clears it ([`IncidentStore::settle`]); one that failed gives it back
//!   for a retry ([`IncidentStore::release`]); a taker that died leaves it
//!   to lapse, and the next occurrence or the flush takes it over
//!   ([`IncidentStore::retake`]) and posts it. A batch is tried at most
//!   [`REPLY_TRIES`] times, then it goes to the fallback topic;
//! - the flush finds incidents through an index spread over shards, read a
//!   page at a time from where the last flush stopped ([`index`]).
//!
//! Everything stored is redacted first (execution names, reasons, the
//! subject), and rendering goes through the gate again (`ticket::reply`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::BoxFuture;

mod fingerprint;
pub mod index;
mod memory;
mod record;
mod timing;

pub use fingerprint::{Fingerprint, Grouping, fingerprint, machine_key};
pub use index::{Cursor, Page};
pub use memory::Memory;
pub use record::{Recorded, completed, new_token, record};
pub use timing::{Decision, Timing, decide, epoch_ms, now_ms, odt_ms};

/// Pending occurrences kept with their details. A reply lists the first
/// [`LISTED`] in full and names the rest; beyond this many, an occurrence is
/// only counted (a DynamoDB item holds 400 KB; these take about 70 KB, and
/// at most about 260 KB with every field at its longest).
pub const PENDING_KEPT: usize = 200;
/// Pending occurrences kept while a batch (of up to [`PENDING_KEPT`]) is in
/// flight; beyond, counted. So an incident's item never holds more than
/// 250 kept occurrences, whatever fails how often.
pub const KEPT_BESIDE_FLIGHT: usize = 50;
/// Attempts to post one batch (a take, then each retake). A batch whose
/// last attempt failed goes to the fallback topic and the incident moves
/// on; so does one the desk refuses with a 4xx other than 404, at once.
pub const REPLY_TRIES: u32 = 5;
/// `DESK_REQUESTS_PER_SECOND` unset: Outseta's limit per API key.
pub const DESK_PER_SECOND: u32 = 4;
/// Occurrences a reply lists in full (link, time, number, reason); the rest
/// of the batch follows as "and N more" with their names.
pub const LISTED: usize = 20;
/// Longest reason kept per occurrence, in characters.
pub const REASON_MAX: usize = 160;
/// Longest execution name or ARN kept per occurrence, in bytes.
pub const EXECUTION_MAX: usize = 300;

/// How incidents behave; `config` builds it from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub grouping: Grouping,
    /// How long after its last occurrence an incident still takes replies
    /// (`INCIDENT_WINDOW_SECONDS`); after that, a new case.
    pub window: Duration,
    /// At most one reply per incident per this long
    /// (`INCIDENT_REPLY_INTERVAL_SECONDS`).
    pub reply_interval: Duration,
    /// `AgentName` of the replies (`REPLY_AGENT_NAME`).
    pub agent_name: String,
    /// Whether a SUCCEEDED execution adds a "recovered" reply (`RECOVERY_NOTES`).
    pub recovery_notes: bool,
    /// After this many SUCCEEDED executions of its machine in a row, an
    /// incident's case is closed (`RESOLVE_AFTER_SUCCESSES`; 0: never).
    pub resolve_after_successes: u32,
    /// A failure this soon after the bridge closed its case reopens it
    /// (`REOPEN_WINDOW_SECONDS`); later, a new case links it.
    pub reopen_window: Duration,
    /// The case tag that mutes an incident (`MUTE_TAG`).
    pub mute_tag: String,
    /// Desk requests a second, for all containers together, that incidents
    /// may send (`DESK_REQUESTS_PER_SECOND`; 0: no budget, only the
    /// desk's 429s pace them).
    pub desk_per_second: u32,
}

impl Settings {
    /// Whether SUCCEEDED executions concern incidents at all.
    pub fn follows_successes(&self) -> bool {
        self.recovery_notes || self.resolve_after_successes > 0
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grouping: Grouping::Off,
            window: Duration::from_secs(604_800),
            reply_interval: Duration::from_secs(60),
            agent_name: "Step Functions ticket bridge".to_owned(),
            recovery_notes: false,
            resolve_after_successes: 0,
            reopen_window: Duration::from_secs(86_400),
            mute_tag: "muted".to_owned(),
            desk_per_second: DESK_PER_SECOND,
        }
    }
}

/// One occurrence of an incident, as kept until a reply carries it. Every
/// text in it was redacted before it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The occurrence number within the incident (1 is the case itself).
    #[serde(rename = "n")]
    pub number: u64,
    /// Execution ARN (for the console link), or its name, or `unknown`.
    #[serde(rename = "x")]
    pub execution: String,
    /// When it failed (the stop time, or when it was reported), epoch ms.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// The reason this occurrence gave (the ticket's lead line), cut to
    /// [`REASON_MAX`] characters; the reply shows it only when it differs
    /// from the incident's first.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Occurrence {
    /// An occurrence from event facts, cut to the sizes kept, control
    /// characters blanked (each would take six bytes as JSON, and the item
    /// holds a few hundred). The caller redacts `execution` and `reason`
    /// first.
    pub fn new(execution: &str, at_ms: u64, reason: Option<&str>) -> Self {
        let blank = |c: char| if c.is_control() { ' ' } else { c };
        let execution = if execution.is_empty() {
            "unknown".to_owned()
        } else {
            execution[..execution.floor_char_boundary(EXECUTION_MAX)]
                .chars()
                .map(blank)
                .collect()
        };
        Occurrence {
            number: 0,
            execution,
            at_ms,
            reason: reason.map(|r| r.chars().take(REASON_MAX).map(blank).collect()),
        }
    }
}

/// Whether the incident's case is being filed or is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// One invocation (`owner`) is filing the case, until `creating_until`.
    Creating,
    /// The case exists: `case_uid`.
    Open,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Bumped by every change of state (not by appends), so transitions are
    /// conditional writes on the version read.
    pub version: u64,
    pub status: Status,
    /// The token of the invocation filing the case (while creating).
    pub owner: Option<String>,
    /// When the creator's deadline passes (epoch ms); then it lapsed.
    pub creating_until_ms: u64,
    pub case_uid: Option<String>,
    /// The case this incident's earlier case was (closed, gone, or from an
    /// earlier window): the new case links it.
    pub previous_case: Option<String>,
    /// The case's Subject (redacted when rendered).
    pub subject: String,
    /// The reason of the occurrence that filed the case.
    pub first_reason: Option<String>,
    /// The state machine, for the recovery index.
    pub machine: String,
    /// Occurrences numbered so far.
    pub seq: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// When the last reply (or the case) was posted.
    pub last_reply_ms: Option<u64>,
    /// Occurrences not yet taken for a reply, oldest first, at most
    /// [`PENDING_KEPT`] ([`KEPT_BESIDE_FLIGHT`] while a batch is in flight).
    pub pending: Vec<Occurrence>,
    /// All pending occurrences, those beyond the kept list included.
    pub pending_count: u64,
    /// Whether the one recovery note of this case was posted.
    pub recovered: bool,
    /// The batch taken for a reply and not yet on the case.
    pub in_flight: Option<InFlight>,
    /// SUCCEEDED executions of its machine since its last occurrence: at
    /// `RESOLVE_AFTER_SUCCESSES`, the bridge closes the case. Every
    /// appended occurrence sets it back to 0.
    pub successes: u32,
    /// When the bridge closed the case because the machine recovered: a
    /// failure within `REOPEN_WINDOW_SECONDS` of it reopens that case
    /// rather than filing a new one. `None` for a case a person closed.
    pub resolved_ms: Option<u64>,
    /// Occurrences held back because a person muted the case (tagged it
    /// with `MUTE_TAG`); the first reply after the tag is removed says how
    /// many.
    pub muted: u64,
}

/// A batch taken for a reply (or carried to a new case), kept in the
/// incident until it is on the case: the outbox. Its holder posts it while
/// its lease lasts; after that, anyone may take it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub batch: Batch,
    /// The token of the invocation posting it.
    pub owner: String,
    /// When the lease ends (epoch ms): the holder's deadline, or after a
    /// failed attempt, when the next may start.
    pub until_ms: u64,
    /// Attempts started, the take being the first.
    pub tries: u32,
}

impl InFlight {
    /// Its holder is gone (or gave it back): it may be taken over.
    pub fn lapsed(&self, now_ms: u64) -> bool {
        self.until_ms < now_ms
    }
}

impl Incident {
    /// A new incident, being created by `owner`.
    pub fn creating(
        fp: &Fingerprint,
        owner: &str,
        creating_until_ms: u64,
        now_ms: u64,
        subject: &str,
        previous_case: Option<String>,
    ) -> Self {
        Incident {
            version: 1,
            status: Status::Creating,
            owner: Some(owner.to_owned()),
            creating_until_ms,
            case_uid: None,
            previous_case,
            subject: subject.to_owned(),
            first_reason: None,
            machine: fp.machine.clone(),
            seq: 1,
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            last_reply_ms: None,
            pending: Vec::new(),
            pending_count: 0,
            recovered: false,
            in_flight: None,
            successes: 0,
            resolved_ms: None,
            muted: 0,
        }
    }

    /// Still taking occurrences: seen inside the window.
    pub fn live(&self, window_start_ms: u64) -> bool {
        self.last_seen_ms >= window_start_ms
    }

    /// A creator whose deadline passed without a case.
    pub fn lapsed(&self, now_ms: u64) -> bool {
        self.status == Status::Creating && self.creating_until_ms < now_ms
    }

    /// The batch in flight, when its holder is gone and it may be taken over.
    pub fn lapsed_flight(&self, now_ms: u64) -> Option<&InFlight> {
        self.in_flight.as_ref().filter(|f| f.lapsed(now_ms))
    }

    /// What waits to be on the case: pending, or in flight.
    pub fn waiting(&self) -> bool {
        self.pending_count > 0 || self.in_flight.is_some()
    }
}

/// Occurrences taken off an incident for one reply (or a new case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Kept occurrences, oldest first.
    pub occurrences: Vec<Occurrence>,
    /// All of them, including those only counted.
    pub count: u64,
}

impl Batch {
    /// Those only counted, beyond the kept list.
    pub fn unlisted(&self) -> u64 {
        self.count.saturating_sub(self.occurrences.len() as u64)
    }

    /// The batch without occurrence `number` (the one whose own invocation
    /// failed: its caller retries it, so it must not also come back here).
    pub fn without(&self, number: u64) -> Batch {
        let occurrences: Vec<Occurrence> = self
            .occurrences
            .iter()
            .filter(|o| o.number != number)
            .cloned()
            .collect();
        let removed = (self.occurrences.len() - occurrences.len()) as u64;
        Batch {
            occurrences,
            count: self.count.saturating_sub(removed),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// This batch followed by `later`, kept up to [`PENDING_KEPT`] (the
    /// oldest), the rest counted: what an expired incident carries to the
    /// new one.
    pub fn then(&self, later: &Batch) -> Batch {
        Batch {
            occurrences: self
                .occurrences
                .iter()
                .chain(&later.occurrences)
                .take(PENDING_KEPT)
                .cloned()
                .collect(),
            count: self.count.saturating_add(later.count),
        }
    }

    /// Where occurrence `number` is in the kept list; `None` when it is
    /// only counted.
    pub fn position(&self, number: u64) -> Option<usize> {
        self.occurrences.iter().position(|o| o.number == number)
    }
}

/// "Still taking occurrences" for a conditional append: seen inside the
/// window, and open, or being created by a creator that has not lapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    pub now_ms: u64,
    pub window_start_ms: u64,
    /// Epoch seconds at which the table's TTL may delete the incident.
    pub expires_s: u64,
}

/// What a transition requires of the stored incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    /// The version read before deciding.
    pub version: Option<u64>,
    /// The creator's token (complete, abandon).
    pub owner: Option<String>,
    /// Open, with this case (reopening a case found closed or gone).
    pub open_case: Option<String>,
}

/// The fields a transition sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub status: Option<Status>,
    /// `Some(None)` removes the owner.
    pub owner: Option<Option<String>>,
    pub creating_until_ms: Option<u64>,
    pub case_uid: Option<String>,
    /// `Some(None)` removes it.
    pub previous_case: Option<Option<String>>,
    pub subject: Option<String>,
    pub first_reason: Option<Option<String>>,
    pub last_reply_ms: Option<u64>,
    pub last_seen_ms: Option<u64>,
    pub recovered: Option<bool>,
    pub successes: Option<u32>,
    /// `Some(None)` removes it.
    pub resolved_ms: Option<Option<u64>>,
    pub muted: Option<u64>,
    /// Number one more occurrence (the taker's own).
    pub bump_seq: bool,
}

impl Live {
    /// Whether `incident` takes an appended occurrence now.
    pub fn holds(&self, incident: &Incident) -> bool {
        incident.live(self.window_start_ms)
            && match incident.status {
                Status::Open => true,
                Status::Creating => incident.creating_until_ms >= self.now_ms,
            }
    }
}

impl Guard {
    /// Only the creator holding `token` (complete, abandon): whoever took a
    /// lapsed creation over holds another, so the lapsed creator's late
    /// writes fail.
    pub fn owned_by(token: impl Into<String>) -> Self {
        Guard {
            owner: Some(token.into()),
            ..Guard::default()
        }
    }

    /// Whether a transition guarded by this may change `incident`.
    pub fn holds(&self, incident: &Incident) -> bool {
        self.version.is_none_or(|v| incident.version == v)
            && self.owner.as_ref().is_none_or(|o| {
                incident.status == Status::Creating && incident.owner.as_ref() == Some(o)
            })
            && self.open_case.as_ref().is_none_or(|c| {
                incident.status == Status::Open && incident.case_uid.as_ref() == Some(c)
            })
    }
}

impl Change {
    /// The change applied to `incident`, as the adapters store it.
    pub fn apply(&self, incident: &mut Incident) {
        incident.version += 1;
        if let Some(s) = self.status {
            incident.status = s;
        }
        if let Some(o) = &self.owner {
            incident.owner.clone_from(o);
        }
        if let Some(t) = self.creating_until_ms {
            incident.creating_until_ms = t;
        }
        if let Some(c) = &self.case_uid {
            incident.case_uid = Some(c.clone());
        }
        if let Some(p) = &self.previous_case {
            incident.previous_case.clone_from(p);
        }
        if let Some(s) = &self.subject {
            incident.subject.clone_from(s);
        }
        if let Some(r) = &self.first_reason {
            incident.first_reason.clone_from(r);
        }
        if let Some(t) = self.last_reply_ms {
            incident.last_reply_ms = Some(t);
        }
        if let Some(t) = self.last_seen_ms {
            incident.last_seen_ms = t;
        }
        if let Some(r) = self.recovered {
            incident.recovered = r;
        }
        if let Some(n) = self.successes {
            incident.successes = n;
        }
        if let Some(r) = self.resolved_ms {
            incident.resolved_ms = r;
        }
        if let Some(m) = self.muted {
            incident.muted = m;
        }
        if self.bump_seq {
            incident.seq += 1;
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("incident store: {0}")]
pub struct StoreError(pub String);

/// What every incident store call returns; by default the incident (after
/// a conditional write), or `None`: there is none, or the write's condition
/// did not hold.
pub type Stored<'a, T = Option<Incident>> = BoxFuture<'a, Result<T, StoreError>>;

/// A new incident for [`IncidentStore::create`]: written where there is none
/// (`replaces: None`) or over the one at `replaces` version (an incident
/// whose window passed; the caller gives the new one a higher version).
#[derive(Debug, Clone, Copy)]
pub struct Creation<'a> {
    pub incident: &'a Incident,
    pub replaces: Option<u64>,
    /// Epoch seconds for the table's TTL.
    pub expires_s: u64,
}

/// Who may take the pending list for one reply ([`IncidentStore::take`]):
/// the open incident of `case_uid` with no batch in flight, if its last
/// reply is still `seen_last_reply`, so one taker per interval wins;
/// `now_ms` becomes its last reply, and the list becomes the batch in
/// flight, held by `owner` until `until_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Take<'a> {
    pub case_uid: &'a str,
    pub seen_last_reply: Option<u64>,
    pub now_ms: u64,
    pub owner: &'a str,
    pub until_ms: u64,
}

/// Who may take over a batch in flight ([`IncidentStore::retake`]): the one
/// of the open incident of `case_uid`, held by `seen_owner`, whose lease
/// ended before `now_ms`. It is then held by `owner` until `until_ms`, one
/// attempt more, and `now_ms` becomes the last reply (it is one: the
/// pending occurrences wait an interval after it).
#[derive(Debug, Clone, Copy)]
pub struct Retake<'a> {
    pub case_uid: &'a str,
    pub seen_owner: &'a str,
    pub now_ms: u64,
    pub owner: &'a str,
    pub until_ms: u64,
}

/// A holder's own occurrence in the batch it gives back: its caller retries
/// it, so it leaves the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    /// At this index of the kept list.
    Kept(usize),
    /// Only counted.
    Counted,
}

/// A failed attempt gives its batch back ([`IncidentStore::release`]): the
/// batch stays in flight, without `own`, and may be taken over from
/// `until_ms` on.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    pub owner: &'a str,
    pub until_ms: u64,
    pub own: Option<Own>,
}

/// Where incidents live: a port, so the notifier is tested without AWS.
/// Every write is conditional as documented; `Ok(None)`/`Ok(false)` means
/// the condition did not hold (someone else changed the incident first).
pub trait IncidentStore: Send + Sync {
    /// For the log line: `dynamodb` or `memory`.
    fn describe(&self) -> &'static str;

    /// The incident (consistent read), or `None`.
    fn read<'a>(&'a self, key: &'a str) -> Stored<'a>;

    /// Writes the new incident as it is, as [`Creation`] says.
    fn create<'a>(&'a self, key: &'a str, new: Creation<'a>) -> Stored<'a, bool>;

    /// Numbers one more occurrence of a [`Live`] incident; its number.
    fn next_number<'a>(&'a self, key: &'a str, live: Live) -> Stored<'a, Option<u64>>;

    /// Appends `occurrence` to the pending list of a [`Live`] incident (kept
    /// while the list is shorter than [`PENDING_KEPT`], counted always),
    /// moves `last_seen` and sets `successes` back to 0 (the machine failed
    /// again); the incident after the append.
    fn append<'a>(&'a self, key: &'a str, occurrence: &'a Occurrence, live: Live) -> Stored<'a>;

    /// Applies `change` (and bumps the version) if `guard` holds; the
    /// incident after it.
    fn update<'a>(&'a self, key: &'a str, guard: &'a Guard, change: &'a Change) -> Stored<'a>;

    /// Takes the pending occurrences for one reply, as [`Take`] says, in
    /// one write: sets `last_reply`, moves the list (kept and counted) into
    /// the batch in flight with its owner and lease (its first attempt),
    /// and empties it. One taker wins; the batch.
    fn take<'a>(&'a self, key: &'a str, take: Take<'a>) -> Stored<'a, Option<Batch>>;

    /// Takes over a batch in flight whose lease lapsed, as [`Retake`] says;
    /// the batch as it is now held.
    fn retake<'a>(&'a self, key: &'a str, retake: Retake<'a>) -> Stored<'a, Option<InFlight>>;

    /// Gives a batch back after a failed attempt, as [`Release`] says;
    /// `false` when `owner` no longer holds it.
    fn release<'a>(&'a self, key: &'a str, release: Release<'a>) -> Stored<'a, bool>;

    /// Clears the batch in flight held by `owner`: it is on the case (or in
    /// the fallback topic). `false` when `owner` no longer holds it.
    fn settle<'a>(&'a self, key: &'a str, owner: &'a str) -> Stored<'a, bool>;

    /// Lists the incident in the flush index and in its machine's index.
    fn index<'a>(&'a self, key: &'a str, machine: &'a str) -> Stored<'a, ()>;

    /// Keys of the flush index from `from` on, at most `limit`, in
    /// (shard, key) order ([`index`]).
    fn indexed<'a>(&'a self, from: &'a Cursor, limit: usize) -> Stored<'a, Page>;

    /// Where the last flush stopped (the start when none did).
    fn flush_cursor(&self) -> Stored<'_, Cursor>;

    /// Keeps where this flush stopped, for the next.
    fn save_flush_cursor<'a>(&'a self, at: &'a Cursor) -> Stored<'a, ()>;

    /// Drops the key from the flush index and, when given, from the
    /// machine's index (the incident is gone or its window passed).
    fn unindex<'a>(&'a self, key: &'a str, machine: Option<&'a str>) -> Stored<'a, ()>;

    /// Incident keys of a state machine.
    fn of_machine<'a>(&'a self, machine: &'a str) -> Stored<'a, Vec<String>>;
}

#[cfg(test)]
mod tests;
