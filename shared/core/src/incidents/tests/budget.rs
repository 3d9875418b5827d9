//! The desk's budget (`DESK_REQUESTS_PER_SECOND`) across incidents and
//! containers: a burst of many incidents due at once sends the desk what
//! one second allows, the rest wait in their incidents, and the flush posts
//! them second by second. Two services on one rig are two containers
//! sharing the table's count.

use super::*;
use crate::BoxFuture;
use crate::budget::{BudgetError, BudgetStore};

/// Four desk requests a second: two replies (a read and a reply each).
fn paced(rig: &Rig, per_second: u32) -> Incidents {
    rig.service_with(Settings {
        grouping: Grouping::State,
        reply_interval: Duration::ZERO,
        desk_per_second: per_second,
        ..Settings::default()
    })
}

/// A failure of run `run` in state `state`: one incident per state.
fn in_state(run: &str, state: &str) -> Failure {
    failure_of(json!({
        "error": {"Error": "States.TaskFailed", "Cause": "boom"},
        "execution": format!("{EXECUTIONS}{run}"),
        "stateMachine": "nightly",
        "failedState": state,
    }))
}

async fn occur_in(svc: &Incidents, run: &str, state: &str) -> &'static str {
    let f = in_state(run, state);
    // Time to wait for the budget, as a Lambda deadline gives.
    let left = Duration::from_secs(30);
    let failed = Failed {
        fp: svc.fingerprint(&f).expect("grouped"),
        failure: &f,
        extra: None,
        reported: OffsetDateTime::now_utc(),
        end: Instant::now() + left,
        end_wall: SystemTime::now() + left,
        claim: None,
        started: Instant::now(),
    };
    match svc.occurrence(failed, &mut Attempts::default()).await {
        Grouped::Done(Ok(o)) => seen(&o).0,
        Grouped::Done(Err(e)) => panic!("{run} in {state}: {:?}", e.error),
        Grouped::Ungrouped => panic!("the memory store does not fail"),
    }
}

/// Just after a second starts, so a burst of memory calls stays in it.
async fn second_start() {
    let into = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_millis();
    let wait = 1_000 - u64::from(into) + 5;
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

const STATES: [&str; 4] = ["Extract", "Load", "Index", "Publish"];

#[tokio::test]
async fn incidents_due_at_once_share_one_budget_and_the_flush_posts_the_rest_second_by_second() {
    let rig = Rig::new();
    let (a, b) = (paced(&rig, 4), paced(&rig, 4));
    // Four new incidents, two containers: each case (a search and the
    // case) waits for room, two a second, and none is held back.
    second_start().await;
    let started = Instant::now();
    for (i, state) in STATES.iter().enumerate() {
        let svc = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            occur_in(svc, &format!("first-{i}"), state).await,
            "new_case"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "eight requests in the desk's four a second: {:?}",
        started.elapsed()
    );
    let filed = rig.desk.calls();
    assert_eq!(filed, 8, "a search and a case each");

    // Every incident is due for a reply (interval 0), in both containers:
    // this second has room for two replies (a read and a reply each); the
    // other two wait in their incidents.
    second_start().await;
    let mut kinds = Vec::new();
    for (i, state) in STATES.iter().enumerate() {
        let svc = if i % 2 == 0 { &b } else { &a };
        kinds.push(occur_in(svc, &format!("again-{i}"), state).await);
    }
    assert_eq!(
        kinds,
        [
            "reply_posted",
            "reply_posted",
            "reply_coalesced",
            "reply_coalesced"
        ]
    );
    assert_eq!(
        rig.desk.calls(),
        filed + 4,
        "only the two replies called the desk"
    );

    // The flush waits for room and posts the two that waited.
    let end = Instant::now() + Duration::from_secs(10);
    let out = a
        .flush(
            end,
            SystemTime::now() + Duration::from_secs(10),
            Instant::now(),
        )
        .await
        .expect("flushed");
    let r = report(&out);
    assert_eq!(
        (r["replies"].as_u64(), r["occurrences"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    for case in rig.desk.cases() {
        assert_eq!(
            case.replies.len(),
            1,
            "{}: {:?}",
            case.subject,
            case.replies
        );
    }
}

#[tokio::test]
async fn without_a_budget_every_due_reply_goes_out_at_once() {
    let rig = Rig::new();
    let svc = paced(&rig, 0);
    second_start().await;
    for (i, state) in STATES.iter().enumerate() {
        assert_eq!(
            occur_in(&svc, &format!("first-{i}"), state).await,
            "new_case"
        );
    }
    for (i, state) in STATES.iter().enumerate() {
        assert_eq!(
            occur_in(&svc, &format!("again-{i}"), state).await,
            "reply_posted"
        );
    }
}

/// A budget table that does not answer.
struct Down;

impl BudgetStore for Down {
    fn spend(&self, _: u64, _: u32, _: Option<u32>) -> BoxFuture<'_, Result<bool, BudgetError>> {
        Box::pin(async { Err(BudgetError("unreachable".to_owned())) })
    }
}

#[tokio::test]
async fn a_budget_store_that_fails_holds_nothing_back() {
    let rig = Rig::new();
    let svc = paced(&rig, 1).with_budget(Arc::new(Down));
    for (i, state) in STATES.iter().enumerate() {
        assert_eq!(
            occur_in(&svc, &format!("first-{i}"), state).await,
            "new_case"
        );
        assert_eq!(
            occur_in(&svc, &format!("again-{i}"), state).await,
            "reply_posted"
        );
    }
}
