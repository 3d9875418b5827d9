//! The incident service on the in-memory adapters only (`MemoryDesk`,
//! `incident::Memory`, the memory claims), without a notifier: what each
//! entry point files, replies, records and hands back. The same paths
//! through `Notifier::handle` over HTTP are in shared/outseta/tests.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use time::OffsetDateTime;

use super::{Failed, Grouped, Incidents, Parts, Unfiled};
use crate::budget::MemoryBudget;
use crate::dedupe::{self, Claim, ClaimStore, Lease, Owner};
use crate::desk::{Attempts, Fault, MemoryDesk};
use crate::fallback::Recording;
use crate::incident::{
    self, Change, Grouping, Guard, IncidentStore, Recorded, Settings, Status, Timing, now_ms,
};
use crate::intake::{Failure, Success, failure_of};
use crate::outcome::Outcome;
use crate::redact::{Gate, Redactor};
use crate::ticket::RenderConfig;

const EXECUTIONS: &str = "arn:aws:states:eu-west-1:123456789012:execution:nightly:";
const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:nightly";
/// A value the gate has learnt (as a desk's credential would be).
const SECRET: &str = "hunter2-connection-secret";

/// One set of memory adapters; services built on it share them, as the
/// containers of one deployment share a desk and a table.
struct Rig {
    desk: Arc<MemoryDesk>,
    store: Arc<incident::Memory>,
    claims: Arc<dedupe::Memory>,
    gate: Gate,
    /// The fallback topic: what the service gives up on.
    fallback: Arc<Recording>,
    /// The desk budget's count, shared as the table's would be.
    budget: Arc<MemoryBudget>,
}

impl Rig {
    fn new() -> Self {
        let gate = Gate::new(Redactor::default());
        gate.learn([SECRET]);
        Rig {
            desk: Arc::new(MemoryDesk::new()),
            store: Arc::new(incident::Memory::new()),
            claims: Arc::new(dedupe::Memory::new()),
            gate,
            fallback: Arc::new(Recording::default()),
            budget: Arc::new(MemoryBudget::new()),
        }
    }

    /// A service replying at most once per `reply_interval`.
    fn service(&self, reply_interval: Duration) -> Incidents {
        self.service_with(Settings {
            grouping: Grouping::State,
            reply_interval,
            recovery_notes: true,
            // Every reply due goes out: the budget has tests of its own
            // (tests/budget.rs).
            desk_per_second: 0,
            ..Settings::default()
        })
    }

    /// A service with these incident settings.
    fn service_with(&self, settings: Settings) -> Incidents {
        Incidents::new(Parts {
            store: self.store.clone(),
            desk: self.desk.clone(),
            claims: self.claims.clone(),
            gate: self.gate.clone(),
            settings,
            render: RenderConfig {
                subject_prefix: "[Step Functions]".to_owned(),
                region: None,
                redactor: Redactor::default(),
                account_names: Default::default(),
                marker: Grouping::State,
            },
            claim_ttl: Duration::from_secs(3600),
            fallback: Some(self.fallback.clone()),
            log_max_bytes: 64 * 1024,
        })
        .with_budget(self.budget.clone())
    }

    /// The key of the one incident held.
    fn incident_key(&self) -> String {
        let all = self.store.incidents();
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].0.clone()
    }

    /// The one incident held.
    fn incident(&self) -> incident::Incident {
        let all = self.store.incidents();
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].1.clone()
    }

    /// Wins the dedupe claim of `key`, as the notifier does before an
    /// occurrence reaches the service.
    async fn claim(&self, key: &str) -> Owner {
        let until = SystemTime::now() + Duration::from_secs(60);
        let lease = Lease::new(until, until);
        assert_eq!(self.claims.claim(key, &lease).await.unwrap(), Claim::New);
        lease.owner
    }
}

/// A Catch-path failure of the `nightly` machine's `Load` state.
fn failure(run: &str) -> Failure {
    failure_of(json!({
        "error": {"Error": "States.TaskFailed", "Cause": format!("boom {SECRET}")},
        "execution": format!("{EXECUTIONS}{run}"),
        "stateMachine": "nightly",
        "failedState": "Load",
    }))
}

fn budget() -> (Instant, SystemTime) {
    let left = Duration::from_secs(5);
    (Instant::now() + left, SystemTime::now() + left)
}

/// One occurrence of `run` through the service, holding the claim `claim`.
async fn occur(
    svc: &Incidents,
    run: &str,
    claim: Option<(&str, &Owner)>,
) -> Result<Outcome, Unfiled> {
    let f = failure(run);
    let (end, end_wall) = budget();
    let failed = Failed {
        fp: svc.fingerprint(&f).expect("a machine's failure is grouped"),
        failure: &f,
        extra: None,
        reported: OffsetDateTime::now_utc(),
        end,
        end_wall,
        claim,
        started: Instant::now(),
    };
    match svc.occurrence(failed, &mut Attempts::default()).await {
        Grouped::Done(result) => result,
        Grouped::Ungrouped => panic!("the memory store does not fail"),
    }
}

async fn flush(svc: &Incidents) -> Result<Outcome, Unfiled> {
    let (end, end_wall) = budget();
    svc.flush(end, end_wall, Instant::now()).await
}

async fn recover(svc: &Incidents, run: &str) -> Result<Outcome, Unfiled> {
    let ok = Success {
        state_machine_arn: MACHINE.to_owned(),
        execution_arn: Some(format!("{EXECUTIONS}{run}")),
        stopped_ms: Some(now_ms()),
    };
    let (end, end_wall) = budget();
    svc.recovery(&ok, end, end_wall, Instant::now()).await
}

/// `(incident, occurrence, case Uid)` of an outcome.
fn seen(o: &Outcome) -> (&'static str, u64, Option<&str>) {
    match o {
        Outcome::Incident {
            incident,
            occurrence,
            case_uid,
            ..
        } => (incident, *occurrence, case_uid.as_deref()),
        other => panic!("not an incident outcome: {other:?}"),
    }
}

fn report(o: &Outcome) -> serde_json::Value {
    assert!(matches!(o, Outcome::Flushed { .. }), "{o:?}");
    serde_json::to_value(o).unwrap()["flush"].clone()
}

async fn claim_state(rig: &Rig, key: &str) -> Claim {
    rig.claims.existing(key).await.unwrap()
}

fn done(case_uid: &str, subject: &str) -> Claim {
    Claim::Done {
        case_uid: case_uid.to_owned(),
        subject: subject.to_owned(),
    }
}

#[tokio::test]
async fn a_case_then_a_reply_each_completing_its_claim() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    let k1 = rig.claim("k1").await;
    let first = occur(&svc, "run-1", Some(("k1", &k1))).await.unwrap();
    assert_eq!(seen(&first), ("new_case", 1, Some("case-1")));
    let subject = rig.desk.cases()[0].subject.clone();
    assert_eq!(claim_state(&rig, "k1").await, done("case-1", &subject));

    let k2 = rig.claim("k2").await;
    let second = occur(&svc, "run-2", Some(("k2", &k2))).await.unwrap();
    assert_eq!(seen(&second), ("reply_posted", 2, Some("case-1")));
    assert_eq!(claim_state(&rig, "k2").await, done("case-1", &subject));
    let cases = rig.desk.cases();
    assert_eq!(cases.len(), 1);
    let replies = &cases[0].replies;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].0, "Step Functions ticket bridge");
    assert!(replies[0].1.contains(">run-2</a>"), "{}", replies[0].1);
    // The gate masks what the desk taught it, in the case and the reply.
    assert!(!cases[0].body.contains(SECRET) && !replies[0].1.contains(SECRET));
    let inc = rig.incident();
    assert_eq!(
        (inc.status, inc.seq, inc.pending_count),
        (Status::Open, 2, 0)
    );
}

#[tokio::test]
async fn a_coalesced_occurrence_waits_in_its_incident_and_the_flush_posts_it() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    let k2 = rig.claim("k2").await;
    let out = occur(&hourly, "run-2", Some(("k2", &k2))).await.unwrap();
    assert_eq!(seen(&out), ("reply_coalesced", 2, Some("case-1")));
    assert!(rig.desk.cases()[0].replies.is_empty());
    // Answered from its claim if redelivered, never counted twice.
    assert!(
        matches!(claim_state(&rig, "k2").await, Claim::Done { case_uid, .. } if case_uid == "case-1")
    );
    let waiting = rig.incident();
    assert_eq!(waiting.pending_count, 1);
    let reason = waiting.pending[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("boom") && !reason.contains(SECRET),
        "stored redacted: {reason}"
    );

    // Not due yet: the flush looks and posts nothing.
    let early = flush(&hourly).await.unwrap();
    assert_eq!(
        report(&early),
        json!({"incidents": 1, "replies": 0, "occurrences": 0, "newCases": 0, "failed": 0, "pruned": 0})
    );
    assert!(rig.desk.cases()[0].replies.is_empty());

    // Due (another container, configured to reply at once): posted.
    let due = rig.service(Duration::ZERO);
    let posted = flush(&due).await.unwrap();
    assert_eq!(
        report(&posted),
        json!({"incidents": 1, "replies": 1, "occurrences": 1, "newCases": 0, "failed": 0, "pruned": 0})
    );
    let replies = rig.desk.cases()[0].replies.clone();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].1.contains(">run-2</a>"), "{}", replies[0].1);
    assert_eq!(rig.incident().pending_count, 0);
    // Nothing left: a second flush posts nothing more.
    assert_eq!(report(&flush(&due).await.unwrap())["replies"], 0);
    assert_eq!(rig.desk.cases()[0].replies.len(), 1);
}

#[tokio::test]
async fn a_flush_that_cannot_reach_the_desk_keeps_the_batch_for_the_next() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    occur(&hourly, "run-2", None).await.unwrap();
    occur(&hourly, "run-3", None).await.unwrap();
    let due = rig.service(Duration::ZERO);
    rig.desk.fail_next(1, Fault::Down);
    let err = flush(&due).await.unwrap_err();
    assert_eq!(err.outcome, "flush_failed");
    assert!(err.case.is_none());
    assert_eq!(err.error.error_type(), "TicketDeliveryFailed");
    let message = err.error.to_string();
    assert!(
        message.contains("case case-1 could not be read to reply to it")
            && message.contains("flush: 1 of 1 incidents failed (0 replies, 0 new cases posted)"),
        "{message}"
    );
    // Still in the incident, in flight, for the next attempt.
    let back = rig.incident();
    let flight = back.in_flight.expect("kept in flight");
    assert_eq!((flight.batch.count, flight.batch.occurrences.len()), (2, 2));
    assert_eq!(back.pending_count, 0);

    let retried = flush(&due).await.unwrap();
    assert_eq!(
        (
            report(&retried)["replies"].clone(),
            report(&retried)["occurrences"].clone()
        ),
        (json!(1), json!(2))
    );
    let reply = &rig.desk.cases()[0].replies[0].1;
    assert!(
        reply.contains(">run-2</a>") && reply.contains(">run-3</a>"),
        "{reply}"
    );
}

#[tokio::test]
async fn the_flush_files_the_case_of_a_creator_that_died_with_occurrences_waiting() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    let f = failure("run-1");
    let fp = svc.fingerprint(&f).unwrap();
    let occ = |run: &str| {
        incident::Occurrence::new(&format!("{EXECUTIONS}{run}"), now_ms(), Some("boom"))
    };
    let window = Settings::default().window;
    let t = Timing::at(
        now_ms(),
        window,
        SystemTime::now() + Duration::from_secs(60),
    );
    let store = rig.store.as_ref();
    let Recorded::Create { token, .. } =
        incident::record(store, &fp, &occ("run-1"), "nightly failed", t)
            .await
            .unwrap()
    else {
        panic!("the first occurrence creates")
    };
    store.index(&fp.key, &fp.machine).await.unwrap();
    let second = incident::record(store, &fp, &occ("run-2"), "nightly failed", t)
        .await
        .unwrap();
    assert_eq!(second, Recorded::Creating { number: 2 });
    // The creator dies before filing: its deadline passes.
    let lapse = Change {
        creating_until_ms: Some(0),
        ..Change::default()
    };
    let dead = store.update(&fp.key, &Guard::owned_by(token), &lapse).await;
    assert!(dead.unwrap().is_some());

    let out = flush(&svc).await.unwrap();
    assert_eq!(
        report(&out),
        json!({"incidents": 1, "replies": 1, "occurrences": 1, "newCases": 1, "failed": 0, "pruned": 0})
    );
    let cases = rig.desk.cases();
    assert_eq!(cases.len(), 1);
    assert!(
        cases[0].subject.contains("nightly failed"),
        "{}",
        cases[0].subject
    );
    assert!(
        cases[0].body.contains("could not be filed"),
        "{}",
        cases[0].body
    );
    assert_eq!(cases[0].replies.len(), 1);
    assert!(cases[0].replies[0].1.contains(">run-2</a>"));
    let inc = rig.incident();
    assert_eq!(
        (inc.status, inc.case_uid.as_deref(), inc.pending_count),
        (Status::Open, Some("case-1"), 0)
    );
}

#[tokio::test]
async fn the_flush_prunes_gone_and_expired_incidents_from_its_index() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    let store = rig.store.as_ref();
    // Listed, but its item is gone (the table's TTL deleted it).
    store.index("incident#gone", MACHINE).await.unwrap();
    // Last seen eight days ago, past the seven-day window, nothing waiting.
    let fp = svc.fingerprint(&failure("run-1")).unwrap();
    let long_ago = now_ms() - 8 * 86_400_000;
    let t = Timing {
        now_ms: long_ago,
        window_start_ms: 0,
        creating_until_ms: long_ago + 60_000,
        expires_s: long_ago / 1000 + 3600,
    };
    let occ = incident::Occurrence::new("old", long_ago, None);
    let Recorded::Create { token, .. } = incident::record(store, &fp, &occ, "S", t).await.unwrap()
    else {
        panic!("creates")
    };
    let done = incident::completed("case-0", "S", None, long_ago);
    store
        .update(&fp.key, &Guard::owned_by(token), &done)
        .await
        .unwrap();
    store.index(&fp.key, &fp.machine).await.unwrap();

    let out = flush(&svc).await.unwrap();
    assert_eq!(
        report(&out),
        json!({"incidents": 2, "replies": 0, "occurrences": 0, "newCases": 0, "failed": 0, "pruned": 2})
    );
    let cursor = incident::Cursor::start();
    assert!(store.indexed(&cursor, 10).await.unwrap().keys.is_empty());
    // The expired one leaves its machine's index too; a gone item does not
    // say its machine, so that entry waits for a recovery note to drop it.
    assert_eq!(store.of_machine(MACHINE).await.unwrap(), ["incident#gone"]);
    assert_eq!(rig.desk.calls(), 0);
}

#[tokio::test]
async fn a_success_notes_its_recovery_once_on_the_open_case() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    occur(&svc, "run-2", None).await.unwrap();
    let first = recover(&svc, "ok-1").await.unwrap();
    assert_eq!(
        first,
        Outcome::Recovered {
            status: "SUCCEEDED".to_owned(),
            recovery_notes: vec!["case-1".to_owned()],
            resolved: Vec::new(),
            counted: 0,
        }
    );
    let replies = rig.desk.cases()[0].replies.clone();
    assert_eq!(replies.len(), 2, "the reply for run-2, then the note");
    let note = &replies[1].1;
    assert!(
        note.contains("<strong>Recovered</strong>")
            && note.contains(">ok-1</a>")
            && note.contains("after 2 failures"),
        "{note}"
    );
    assert!(rig.incident().recovered);

    let second = recover(&svc, "ok-2").await.unwrap();
    assert_eq!(
        second,
        Outcome::Skipped {
            skipped: true,
            status: "SUCCEEDED".to_owned()
        }
    );
    assert_eq!(rig.desk.cases()[0].replies.len(), 2);
}

#[tokio::test]
async fn a_recovery_note_the_desk_refuses_is_unfiled_and_noted_by_the_retry() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    rig.desk.fail_next(1, Fault::Down);
    let err = recover(&svc, "ok-1").await.unwrap_err();
    assert_eq!(err.outcome, "recovery_not_delivered");
    assert_eq!(err.error.error_type(), "TicketDeliveryFailed");
    assert!(err.case.is_none());
    assert!(
        !rig.incident().recovered,
        "the flag goes back for the retry"
    );
    assert!(rig.desk.cases()[0].replies.is_empty());

    let retried = recover(&svc, "ok-1").await.unwrap();
    assert!(matches!(retried, Outcome::Recovered { .. }), "{retried:?}");
    assert_eq!(rig.desk.cases()[0].replies.len(), 1);
}

#[tokio::test]
async fn a_success_of_another_machine_or_from_before_the_incident_notes_nothing() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    let (end, end_wall) = budget();
    let other = Success {
        state_machine_arn: format!("{MACHINE}-other"),
        execution_arn: None,
        stopped_ms: Some(now_ms()),
    };
    let earlier = Success {
        state_machine_arn: MACHINE.to_owned(),
        execution_arn: None,
        stopped_ms: Some(rig.incident().first_seen_ms - 1),
    };
    for ok in [other, earlier] {
        let out = svc.recovery(&ok, end, end_wall, Instant::now()).await;
        assert!(matches!(out, Ok(Outcome::Skipped { .. })), "{out:?}");
    }
    assert!(rig.desk.cases()[0].replies.is_empty());
    assert!(!rig.incident().recovered);
}

#[tokio::test]
async fn while_the_desk_asks_to_wait_failures_coalesce_and_the_flush_posts_them() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    let calls = rig.desk.calls();
    rig.desk.set_throttled(true);
    for (run, n) in [("run-2", 2), ("run-3", 3)] {
        let out = occur(&svc, run, None).await.unwrap();
        assert_eq!(seen(&out), ("reply_coalesced", n, Some("case-1")));
    }
    assert_eq!(
        rig.desk.calls(),
        calls,
        "no desk call while it asks to wait"
    );
    rig.desk.set_throttled(false);
    flush(&svc).await.unwrap();
    let replies = rig.desk.cases()[0].replies.clone();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].1.contains(">run-2</a>") && replies[0].1.contains(">run-3</a>"));
}

#[tokio::test]
async fn an_undelivered_case_releases_its_claim_and_lets_the_next_occurrence_file_it() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    let k1 = rig.claim("k1").await;
    // The search for an earlier case of it goes through; the case does not.
    rig.desk.fail_next(1, Fault::Pass);
    rig.desk.fail_next(1, Fault::Reject);
    let err = occur(&svc, "run-1", Some(("k1", &k1))).await.unwrap_err();
    assert_eq!(err.outcome, "not_delivered");
    assert_eq!(err.error.error_type(), "TicketRejected");
    let case = err.case.expect("its ticket, for the fallback topic");
    assert!(case.body.contains("run-1"), "{}", case.body);
    assert_eq!(err.stats.api_calls, 2);
    assert_eq!(claim_state(&rig, "k1").await, Claim::New, "released");
    let lapsed = rig.incident();
    assert!(lapsed.lapsed(now_ms()), "{lapsed:?}");

    let next = occur(&svc, "run-2", None).await.unwrap();
    assert_eq!(seen(&next), ("new_case", 2, Some("case-1")));
}

#[tokio::test]
async fn a_reply_that_fails_returns_the_others_but_not_its_own_occurrence() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    occur(&hourly, "run-2", None).await.unwrap();
    let due = rig.service(Duration::ZERO);
    let k3 = rig.claim("k3").await;
    rig.desk.fail_next(1, Fault::Down);
    let err = occur(&due, "run-3", Some(("k3", &k3))).await.unwrap_err();
    assert_eq!(err.outcome, "not_delivered");
    assert!(err.case.is_some_and(|c| c.body.contains("run-3")));
    assert_eq!(
        claim_state(&rig, "k3").await,
        Claim::New,
        "its caller retries"
    );
    let back = rig.incident().in_flight.expect("kept in flight");
    let kept: Vec<&str> = back
        .batch
        .occurrences
        .iter()
        .map(|o| o.execution.as_str())
        .collect();
    assert_eq!(kept, [format!("{EXECUTIONS}run-2")]);
    assert_eq!(back.batch.count, 1);
}

#[tokio::test]
async fn a_closed_case_is_followed_by_a_new_case_carrying_what_waited() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    occur(&hourly, "run-2", None).await.unwrap();
    rig.desk.close("case-1");
    let flushed = flush(&rig.service(Duration::ZERO)).await.unwrap();
    assert_eq!(
        report(&flushed),
        json!({"incidents": 1, "replies": 0, "occurrences": 1, "newCases": 1, "failed": 0, "pruned": 0})
    );
    let cases = rig.desk.cases();
    assert_eq!(cases.len(), 2);
    assert!(
        cases[1]
            .body
            .contains("Previous case: <strong>case-1</strong> (it was closed)"),
        "{}",
        cases[1].body
    );
    assert!(cases[1].body.contains(">run-2</a>"), "{}", cases[1].body);
    let inc = rig.incident();
    assert_eq!(
        (inc.case_uid.as_deref(), inc.previous_case.as_deref()),
        (Some("case-2"), Some("case-1"))
    );
}

/// An incident store that is down: every call fails.
struct Down;

fn down<'a, T: Send + 'a>() -> incident::Stored<'a, T> {
    Box::pin(async { Err(incident::StoreError("table unreachable".to_owned())) })
}

impl IncidentStore for Down {
    fn describe(&self) -> &'static str {
        "down"
    }
    fn read<'a>(&'a self, _: &'a str) -> incident::Stored<'a> {
        down()
    }
    fn create<'a>(&'a self, _: &'a str, _: incident::Creation<'a>) -> incident::Stored<'a, bool> {
        down()
    }
    fn next_number<'a>(
        &'a self,
        _: &'a str,
        _: incident::Live,
    ) -> incident::Stored<'a, Option<u64>> {
        down()
    }
    fn append<'a>(
        &'a self,
        _: &'a str,
        _: &'a incident::Occurrence,
        _: incident::Live,
    ) -> incident::Stored<'a> {
        down()
    }
    fn update<'a>(&'a self, _: &'a str, _: &'a Guard, _: &'a Change) -> incident::Stored<'a> {
        down()
    }
    fn take<'a>(
        &'a self,
        _: &'a str,
        _: incident::Take<'a>,
    ) -> incident::Stored<'a, Option<incident::Batch>> {
        down()
    }
    fn retake<'a>(
        &'a self,
        _: &'a str,
        _: incident::Retake<'a>,
    ) -> incident::Stored<'a, Option<incident::InFlight>> {
        down()
    }
    fn release<'a>(&'a self, _: &'a str, _: incident::Release<'a>) -> incident::Stored<'a, bool> {
        down()
    }
    fn settle<'a>(&'a self, _: &'a str, _: &'a str) -> incident::Stored<'a, bool> {
        down()
    }
    fn index<'a>(&'a self, _: &'a str, _: &'a str) -> incident::Stored<'a, ()> {
        down()
    }
    fn indexed<'a>(
        &'a self,
        _: &'a incident::Cursor,
        _: usize,
    ) -> incident::Stored<'a, incident::Page> {
        down()
    }
    fn flush_cursor(&self) -> incident::Stored<'_, incident::Cursor> {
        down()
    }
    fn save_flush_cursor<'a>(&'a self, _: &'a incident::Cursor) -> incident::Stored<'a, ()> {
        down()
    }
    fn unindex<'a>(&'a self, _: &'a str, _: Option<&'a str>) -> incident::Stored<'a, ()> {
        down()
    }
    fn of_machine<'a>(&'a self, _: &'a str) -> incident::Stored<'a, Vec<String>> {
        down()
    }
}

#[tokio::test]
async fn with_the_incident_store_down_nothing_is_filed_here_and_each_entry_says_so() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO).with_store(Arc::new(Down));
    // The occurrence goes back ungrouped (the notifier files it as a case),
    // its claim untouched for the notifier to complete.
    let k1 = rig.claim("k1").await;
    let f = failure("run-1");
    let (end, end_wall) = budget();
    let failed = Failed {
        fp: svc.fingerprint(&f).unwrap(),
        failure: &f,
        extra: None,
        reported: OffsetDateTime::now_utc(),
        end,
        end_wall,
        claim: Some(("k1", &k1)),
        started: Instant::now(),
    };
    let grouped = svc.occurrence(failed, &mut Attempts::default()).await;
    assert!(matches!(grouped, Grouped::Ungrouped), "{grouped:?}");
    assert_eq!(claim_state(&rig, "k1").await, Claim::InProgress);

    let err = flush(&svc).await.unwrap_err();
    assert_eq!(err.outcome, "flush_failed");
    assert!(
        err.error
            .to_string()
            .contains("incident store: table unreachable"),
        "{}",
        err.error
    );
    let err = recover(&svc, "ok-1").await.unwrap_err();
    assert_eq!(err.outcome, "recovery_not_delivered");
    assert_eq!(err.error.error_type(), "TicketDeliveryFailed");
    assert_eq!(rig.desk.calls(), 0);
}

mod budget;
mod lifecycle;
mod lost;
