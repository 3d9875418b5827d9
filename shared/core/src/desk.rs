//! The support desk, as the bridge uses it: a port. The core renders a
//! neutral [`Ticket`] and [`Reply`] and asks the desk to file, reply, read
//! and update cases; an adapter (Outseta over HTTPS in
//! `ticket-bridge-outseta`, [`MemoryDesk`] in tests) is the only place that
//! knows a desk's paths, JSON and status numbers.
//!
//! A desk also owns its credentials: [`Desk::ready`] makes them current
//! before anything is rendered or logged, teaching the redaction gate every
//! value it is about to send, so an event that echoes a credential is
//! masked wherever it is written.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use url::Url;

use crate::BoxFuture;
use crate::error::NotifierError;
use crate::ticket::Ticket;

/// What one invocation's calls to the desk did, for its log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub api_calls: u32,
    pub token_fetches: u32,
    pub secret_refreshes: u32,
}

/// An agent reply to an existing case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub case_uid: String,
    /// Who the reply is from, as the desk shows it.
    pub agent_name: String,
    /// HTML, escaped and redacted by the renderer.
    pub comment: String,
}

impl Reply {
    pub fn new(agent_name: &str, case_uid: &str, comment: String) -> Self {
        Reply {
            case_uid: case_uid.to_owned(),
            agent_name: agent_name.to_owned(),
            comment,
        }
    }
}

/// An existing case, as far as an incident needs to know it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CaseState {
    #[default]
    Open,
    /// A person (or the bridge) closed it.
    Closed,
    /// Deleted, or never there.
    Gone,
}

/// A case as read: its state, and the names of the tags it carries (a
/// person mutes an incident by tagging its case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseRead {
    pub state: CaseState,
    pub tags: Vec<String>,
}

impl CaseRead {
    /// Whether the case carries the tag `name` (desks match tag names
    /// without regard to letter case).
    pub fn tagged(&self, name: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(name))
    }
}

/// A case a search found: its id and whether it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub uid: String,
    pub open: bool,
}

/// Open or closed: the only two states a case can be put in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Closed,
}

/// A partial update: what is `None` keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseUpdate {
    pub status: Option<CaseStatus>,
    /// The person the case is assigned to (the desk's person id).
    pub assignee: Option<String>,
    /// The full set of tag ids the case ends with.
    pub tags: Option<Vec<String>>,
}

/// The support desk port. Every call retries as the adapter's rules say,
/// inside `end`, and counts what it did in `stats`.
pub trait Desk: Send + Sync {
    /// Makes the credential current (reads the connection, fetches a token)
    /// so the gate knows it before anything is rendered or logged.
    fn ready<'a>(
        &'a self,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<(), NotifierError>>;

    /// Files a new case; returns its id.
    fn create<'a>(
        &'a self,
        ticket: &'a Ticket,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<String, NotifierError>>;

    /// Posts a reply. `Ok(false)`: the case is gone.
    fn reply<'a>(
        &'a self,
        reply: &'a Reply,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<bool, NotifierError>>;

    /// Reads whether a case is open, closed or gone, and its tags.
    fn read<'a>(
        &'a self,
        case_uid: &'a str,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<CaseRead, NotifierError>>;

    /// The cases whose Body carries `marker` (a line the bridge wrote),
    /// newest first: how an incident whose record was lost finds its case.
    fn find<'a>(
        &'a self,
        marker: &'a str,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<Vec<Found>, NotifierError>>;

    /// Updates a case. `Ok(false)`: the case is gone.
    fn update<'a>(
        &'a self,
        case_uid: &'a str,
        update: &'a CaseUpdate,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<bool, NotifierError>>;

    /// Teaches the gate every secret it can before a line is logged, within
    /// a short time, fetching the current token only when `token` is true;
    /// says how complete the masking is, for that line.
    fn know_secrets(&self, token: bool) -> BoxFuture<'_, &'static str>;

    /// Access tokens fetched since cold start (benchmarks count them).
    fn token_fetches(&self) -> u64 {
        0
    }

    /// The desk asked this container to slow down (a 429 whose Retry-After
    /// has not passed): work that can wait for the next reply or the flush
    /// does, rather than queue for the desk. Without it, a storm of many
    /// incidents moves at the desk's pace, each failure waiting its turn to
    /// post, so the desk requests grow with the failures.
    fn throttled(&self) -> bool {
        false
    }
}

/// Who a case is filed as: an existing person, by id or by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromPerson {
    Uid(String),
    Email(String),
}

/// What a desk needs beyond the ticket to file it: who files it, and
/// through which of the desk's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub from_person: FromPerson,
    /// The desk's channel number (`CASE_SOURCE`, 1 to 5).
    pub source: u8,
}

/// Which certificate authorities the process trusts (`TLS_ROOTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Roots {
    /// Mozilla's root program, compiled into the binary (`webpki-roots`).
    #[default]
    Bundled,
    /// The operating system's store (and `SSL_CERT_FILE` / `SSL_CERT_DIR`),
    /// read once at cold start.
    System,
}

impl Roots {
    pub fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "bundled" | "webpki" | "mozilla" => Some(Roots::Bundled),
            "system" | "native" => Some(Roots::System),
            _ => None,
        }
    }
}

/// How the desk adapter reaches the desk; `config` builds it from the
/// environment.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    /// The cases endpoint (`TICKET_API_URL`).
    pub url: Url,
    pub filing: Filing,
    pub send_auto_responder: bool,
    pub max_attempts: u32,
    pub attempt_timeout: Duration,
    pub roots: Roots,
    /// Who the bridge's own notes on a case are from (`REPLY_AGENT_NAME`).
    pub agent_name: String,
    /// The EventBridge connection secret holding the desk's credentials.
    pub connection_secret_id: String,
    pub secret_cache_ttl: Duration,
}

/// One case a [`MemoryDesk`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryCase {
    pub uid: String,
    pub subject: String,
    pub body: String,
    pub status: CaseStatus,
    /// `(agent name, comment)` of each reply, oldest first.
    pub replies: Vec<(String, String)>,
    pub assignee: Option<String>,
    pub tags: BTreeSet<String>,
    /// Deleted: reads and replies find nothing.
    pub gone: bool,
}

/// What a [`MemoryDesk`] answers the next call with instead of doing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A refusal that retrying cannot help (`TicketRejected`).
    Reject,
    /// The desk is down until time runs out (`TicketDeliveryFailed`).
    Down,
    /// The call never answers, as when the process making it is stopped
    /// mid-call: a test drops the future at that point.
    Stall,
    /// The call goes through: queued before a fault, it lets a later call
    /// fail (the reply after a case read).
    Pass,
    /// The call goes through after this many milliseconds, so a test can
    /// change things underneath it.
    Delay(u64),
}

/// An in-memory desk with a desk's semantics: cases with ids, replies,
/// open/closed, deletion, and injected faults. For the core's tests and for
/// running the notifier without a desk.
#[derive(Debug, Default)]
pub struct MemoryDesk {
    cases: Mutex<Vec<MemoryCase>>,
    faults: Mutex<Vec<Fault>>,
    calls: Mutex<u64>,
    throttled: std::sync::atomic::AtomicBool,
}

impl MemoryDesk {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every case, in filing order.
    pub fn cases(&self) -> Vec<MemoryCase> {
        self.cases.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Calls made to this desk (each create, reply, read and update).
    pub fn calls(&self) -> u64 {
        self.calls.lock().map_or(0, |c| *c)
    }

    /// The next `n` calls fail with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        if let Ok(mut f) = self.faults.lock() {
            f.extend(std::iter::repeat_n(fault, n));
        }
    }

    /// Says the desk asked to slow down (as a 429 would), or no longer.
    pub fn set_throttled(&self, on: bool) {
        self.throttled
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Closes a case as a person at the desk would.
    pub fn close(&self, uid: &str) {
        self.with_case(uid, |c| c.status = CaseStatus::Closed);
    }

    /// Deletes a case.
    pub fn delete(&self, uid: &str) {
        self.with_case(uid, |c| c.gone = true);
    }

    /// Tags a case as a person at the desk would.
    pub fn tag(&self, uid: &str, name: &str) {
        self.with_case(uid, |c| c.tags.insert(name.to_owned()));
    }

    /// Removes a tag from a case as a person at the desk would.
    pub fn untag(&self, uid: &str, name: &str) {
        self.with_case(uid, |c| c.tags.remove(name));
    }

    fn with_case<T>(&self, uid: &str, f: impl FnOnce(&mut MemoryCase) -> T) -> Option<T> {
        let mut cases = self.cases.lock().ok()?;
        cases.iter_mut().find(|c| c.uid == uid && !c.gone).map(f)
    }

    /// Counts the call; a queued fault answers it instead.
    async fn call(&self, stats: &mut Attempts) -> Result<(), NotifierError> {
        stats.api_calls += 1;
        if let Ok(mut calls) = self.calls.lock() {
            *calls += 1;
        }
        let fault = self.faults.lock().ok().and_then(|mut f| {
            let first = f.first().copied();
            if first.is_some() {
                f.remove(0);
            }
            first
        });
        match fault {
            None | Some(Fault::Pass) => Ok(()),
            Some(Fault::Stall) => std::future::pending().await,
            Some(Fault::Delay(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            }
            Some(Fault::Reject) => Err(NotifierError::TicketRejected(
                "ticket API rejected the case (HTTP 400): injected".to_owned(),
            )),
            Some(Fault::Down) => Err(NotifierError::TicketDeliveryFailed(
                "HTTP 503 after 1 attempt, and the attempt limit (1) is reached".to_owned(),
            )),
        }
    }
}

impl Desk for MemoryDesk {
    fn ready<'a>(
        &'a self,
        _end: Instant,
        _stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<(), NotifierError>> {
        Box::pin(async { Ok(()) })
    }

    fn create<'a>(
        &'a self,
        ticket: &'a Ticket,
        _end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<String, NotifierError>> {
        Box::pin(async move {
            self.call(stats).await?;
            let mut cases = self
                .cases
                .lock()
                .map_err(|_| NotifierError::TicketDeliveryFailed("desk poisoned".to_owned()))?;
            let uid = format!("case-{}", cases.len() + 1);
            cases.push(MemoryCase {
                uid: uid.clone(),
                subject: ticket.subject.clone(),
                body: ticket.body.clone(),
                status: CaseStatus::Open,
                replies: Vec::new(),
                assignee: ticket.assignee.clone(),
                tags: ticket.tags.iter().cloned().collect(),
                gone: false,
            });
            Ok(uid)
        })
    }

    fn reply<'a>(
        &'a self,
        reply: &'a Reply,
        _end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<bool, NotifierError>> {
        Box::pin(async move {
            self.call(stats).await?;
            Ok(self
                .with_case(&reply.case_uid, |c| {
                    c.replies
                        .push((reply.agent_name.clone(), reply.comment.clone()))
                })
                .is_some())
        })
    }

    fn read<'a>(
        &'a self,
        case_uid: &'a str,
        _end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<CaseRead, NotifierError>> {
        Box::pin(async move {
            self.call(stats).await?;
            Ok(self
                .with_case(case_uid, |c| CaseRead {
                    state: match c.status {
                        CaseStatus::Open => CaseState::Open,
                        CaseStatus::Closed => CaseState::Closed,
                    },
                    tags: c.tags.iter().cloned().collect(),
                })
                .unwrap_or(CaseRead {
                    state: CaseState::Gone,
                    tags: Vec::new(),
                }))
        })
    }

    fn find<'a>(
        &'a self,
        marker: &'a str,
        _end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<Vec<Found>, NotifierError>> {
        Box::pin(async move {
            self.call(stats).await?;
            Ok(self
                .cases()
                .iter()
                .rev()
                .filter(|c| !c.gone && c.body.contains(marker))
                .map(|c| Found {
                    uid: c.uid.clone(),
                    open: c.status == CaseStatus::Open,
                })
                .collect())
        })
    }

    fn update<'a>(
        &'a self,
        case_uid: &'a str,
        update: &'a CaseUpdate,
        _end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<bool, NotifierError>> {
        Box::pin(async move {
            self.call(stats).await?;
            Ok(self
                .with_case(case_uid, |c| {
                    if let Some(s) = update.status {
                        c.status = s;
                    }
                    if let Some(a) = &update.assignee {
                        c.assignee = Some(a.clone());
                    }
                    if let Some(t) = &update.tags {
                        c.tags = t.iter().cloned().collect();
                    }
                })
                .is_some())
        })
    }

    fn know_secrets(&self, _token: bool) -> BoxFuture<'_, &'static str> {
        Box::pin(async { "key rules only: the in-memory desk has no credentials" })
    }

    fn throttled(&self) -> bool {
        self.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }
}
