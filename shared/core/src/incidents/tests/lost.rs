//! Nothing is lost (issue 20), on the memory adapters: an invocation
//! stopped at any await (its future dropped, as a killed process stops) in
//! the middle of posting a batch, an incident whose window passes with
//! occurrences waiting, and a batch the desk keeps refusing. The same
//! kills against a real notifier process are tests/e2e/test_crash.py.

use super::*;

/// How long a stopped invocation had; its hold on what it took lasts as long.
const LEASE: Duration = Duration::from_millis(300);

/// Runs one occurrence of `run` with [`LEASE`] to go and stops it after
/// `cut`, wherever it waits, as a SIGKILL would.
async fn killed(svc: &Incidents, run: &str, cut: Duration) {
    let f = failure(run);
    let failed = Failed {
        fp: svc.fingerprint(&f).expect("grouped"),
        failure: &f,
        extra: None,
        reported: OffsetDateTime::now_utc(),
        end: Instant::now() + LEASE,
        end_wall: SystemTime::now() + LEASE,
        claim: None,
        started: Instant::now(),
    };
    let mut stats = Attempts::default();
    let stopped = tokio::time::timeout(cut, svc.occurrence(failed, &mut stats)).await;
    assert!(
        stopped.is_err(),
        "the occurrence ended before it was stopped"
    );
}

/// Until the stopped invocation's lease has lapsed.
async fn lapse() {
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
}

/// The case's body and every reply, as one text.
fn on_case(rig: &Rig, uid: &str) -> String {
    let case = rig
        .desk
        .cases()
        .into_iter()
        .find(|c| c.uid == uid)
        .expect("the case");
    let replies: Vec<String> = case.replies.into_iter().map(|(_, c)| c).collect();
    format!("{}\n{}", case.body, replies.join("\n"))
}

fn assert_listed(text: &str, runs: &[&str]) {
    let missing: Vec<&&str> = runs
        .iter()
        .filter(|r| !text.contains(&format!(">{r}</a>")))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?} in {text}");
}

/// A case, then runs 2 and 3 waiting in its incident for the next reply.
async fn waiting(rig: &Rig) {
    let hourly = rig.service(Duration::from_secs(3600));
    for run in ["run-1", "run-2", "run-3"] {
        occur(&hourly, run, None).await.unwrap();
    }
}

#[tokio::test]
async fn stopped_while_its_reply_is_posted_the_flush_posts_the_batch_after_its_lease() {
    let rig = Rig::new();
    waiting(&rig).await;
    let due = rig.service(Duration::ZERO);
    // The case read answers; the reply never does.
    rig.desk.fail_next(1, Fault::Pass);
    rig.desk.fail_next(1, Fault::Stall);
    killed(&due, "run-4", Duration::from_millis(100)).await;
    lapse().await;
    flush(&due).await.unwrap();
    assert_listed(&on_case(&rig, "case-1"), &["run-2", "run-3", "run-4"]);
}

#[tokio::test]
async fn stopped_while_reading_the_case_the_next_occurrence_posts_the_batch() {
    let rig = Rig::new();
    waiting(&rig).await;
    let due = rig.service(Duration::ZERO);
    rig.desk.fail_next(1, Fault::Stall);
    killed(&due, "run-4", Duration::from_millis(100)).await;
    lapse().await;
    occur(&due, "run-5", None).await.unwrap();
    flush(&due).await.unwrap();
    assert_listed(
        &on_case(&rig, "case-1"),
        &["run-2", "run-3", "run-4", "run-5"],
    );
}

#[tokio::test]
async fn stopped_while_filing_the_follow_up_of_a_closed_case_the_flush_files_it_with_the_batch() {
    let rig = Rig::new();
    waiting(&rig).await;
    rig.desk.close("case-1");
    let due = rig.service(Duration::ZERO);
    // The read finds the case closed; filing its follow-up never answers.
    rig.desk.fail_next(1, Fault::Pass);
    rig.desk.fail_next(1, Fault::Stall);
    killed(&due, "run-4", Duration::from_millis(100)).await;
    lapse().await;
    let out = flush(&due).await.unwrap();
    assert_eq!(report(&out)["newCases"], 1, "{out:?}");
    let text = on_case(&rig, "case-2");
    assert!(
        text.contains("Previous case: <strong>case-1</strong>"),
        "{text}"
    );
    assert_listed(&text, &["run-2", "run-3", "run-4"]);
}

/// A service whose incidents expire one second after their last occurrence.
fn short_window(rig: &Rig, reply_interval: Duration) -> Incidents {
    rig.service_with(Settings {
        grouping: Grouping::State,
        window: Duration::from_secs(1),
        reply_interval,
        desk_per_second: 0,
        ..Settings::default()
    })
}

#[tokio::test]
async fn an_incident_whose_window_passes_with_occurrences_waiting_puts_them_on_the_new_case() {
    let rig = Rig::new();
    let svc = short_window(&rig, Duration::from_secs(3600));
    occur(&svc, "run-1", None).await.unwrap();
    occur(&svc, "run-2", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let next = occur(&svc, "run-3", None).await.unwrap();
    assert_eq!(seen(&next), ("new_case", 1, Some("case-2")));
    let text = on_case(&rig, "case-2");
    assert!(
        text.contains("Previous case: <strong>case-1</strong>"),
        "{text}"
    );
    assert_listed(&text, &["run-2"]);
}

#[tokio::test]
async fn a_batch_in_flight_when_the_window_passes_is_on_the_new_case_too() {
    let rig = Rig::new();
    let hourly = short_window(&rig, Duration::from_secs(3600));
    for run in ["run-1", "run-2", "run-3"] {
        occur(&hourly, run, None).await.unwrap();
    }
    let due = short_window(&rig, Duration::ZERO);
    rig.desk.fail_next(1, Fault::Stall);
    killed(&due, "run-4", Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let next = occur(&due, "run-5", None).await.unwrap();
    assert_eq!(seen(&next), ("new_case", 1, Some("case-2")));
    assert_listed(&on_case(&rig, "case-2"), &["run-2", "run-3", "run-4"]);
}

/// The one fallback message: its subject and JSON message.
fn published(rig: &Rig) -> (String, serde_json::Value) {
    let all = rig.fallback.published();
    assert_eq!(all.len(), 1, "{all:?}");
    let (subject, message) = all[0].clone();
    (subject, serde_json::from_str(&message).expect("JSON"))
}

#[tokio::test]
async fn five_failed_reply_cycles_send_the_batch_to_the_fallback_and_the_incident_moves_on() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    occur(&hourly, "run-2", None).await.unwrap();
    let due = rig.service(Duration::ZERO);
    for cycle in 1..=4 {
        rig.desk.fail_next(1, Fault::Down);
        let err = flush(&due).await.unwrap_err();
        assert_eq!(
            err.error.error_type(),
            "TicketDeliveryFailed",
            "cycle {cycle}"
        );
        assert!(rig.fallback.published().is_empty(), "cycle {cycle}");
        let tries = rig.incident().in_flight.map(|f| f.tries);
        assert_eq!(tries, Some(cycle), "attempts so far");
    }
    rig.desk.fail_next(1, Fault::Down);
    let fifth = flush(&due).await.unwrap();
    assert_eq!(report(&fifth)["fallback"], 1, "{fifth:?}");
    let (subject, message) = published(&rig);
    assert!(subject.starts_with("UNDELIVERED "), "{subject}");
    assert_eq!(message["error"]["errorType"], "TicketDeliveryFailed");
    let body = message["ticket"]["Body"].as_str().unwrap_or_default();
    assert_listed(body, &["run-2"]);
    assert!(!body.contains(SECRET), "sealed by the gate");
    // It moved on: nothing left to retry, nothing posted.
    let calls = rig.desk.calls();
    flush(&due).await.unwrap();
    assert_eq!(rig.desk.calls(), calls, "nothing left to retry");
    assert!(rig.desk.cases()[0].replies.is_empty());
    let inc = rig.incident();
    assert_eq!((inc.pending_count, inc.in_flight), (0, None));
    // And takes the next occurrence as ever.
    occur(&due, "run-3", None).await.unwrap();
    assert_listed(&on_case(&rig, "case-1"), &["run-3"]);
}

#[tokio::test]
async fn a_reply_the_desk_refuses_with_a_4xx_goes_to_the_fallback_at_once() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    occur(&hourly, "run-2", None).await.unwrap();
    let due = rig.service(Duration::ZERO);
    rig.desk.fail_next(1, Fault::Pass);
    rig.desk.fail_next(1, Fault::Reject);
    let out = flush(&due).await.unwrap();
    assert_eq!(report(&out)["fallback"], 1, "{out:?}");
    let (_, message) = published(&rig);
    assert_eq!(message["error"]["errorType"], "TicketRejected");
    assert_listed(
        message["ticket"]["Body"].as_str().unwrap_or_default(),
        &["run-2"],
    );
    let calls = rig.desk.calls();
    flush(&due).await.unwrap();
    assert_eq!(rig.desk.calls(), calls, "a refused batch is not retried");
    assert!(rig.desk.cases()[0].replies.is_empty());
    assert_eq!(rig.incident().in_flight, None);
}

#[tokio::test]
async fn a_refused_reply_of_an_occurrence_files_its_own_ticket_and_the_others_as_a_batch() {
    let rig = Rig::new();
    let hourly = rig.service(Duration::from_secs(3600));
    occur(&hourly, "run-1", None).await.unwrap();
    occur(&hourly, "run-2", None).await.unwrap();
    let due = rig.service(Duration::ZERO);
    rig.desk.fail_next(1, Fault::Pass);
    rig.desk.fail_next(1, Fault::Reject);
    let err = occur(&due, "run-3", None).await.unwrap_err();
    // Its own ticket goes out through the notifier's exit, with the error;
    // the others went to the fallback topic as one batch, without it.
    assert_eq!(err.error.error_type(), "TicketRejected");
    assert!(err.case.is_some_and(|c| c.body.contains("run-3")));
    let (_, message) = published(&rig);
    let body = message["ticket"]["Body"].as_str().unwrap_or_default();
    assert_listed(body, &["run-2"]);
    assert!(!body.contains(">run-3</a>"), "{body}");
    assert_eq!(rig.incident().in_flight, None, "moved on");
}

#[tokio::test]
async fn a_batch_whose_fifth_attempt_died_goes_to_the_fallback_when_taken_over() {
    let rig = Rig::new();
    waiting(&rig).await;
    let due = rig.service(Duration::ZERO);
    for _ in 1..=4 {
        rig.desk.fail_next(1, Fault::Down);
        let _ = flush(&due).await;
    }
    // The fifth attempt is killed mid-read.
    rig.desk.fail_next(1, Fault::Stall);
    // Time enough to flush; a lease (the wall-clock deadline) that lapses.
    let (end, end_wall) = (budget().0, SystemTime::now() + LEASE);
    let stopped = tokio::time::timeout(
        Duration::from_millis(100),
        due.flush(end, end_wall, Instant::now()),
    )
    .await;
    assert!(stopped.is_err());
    lapse().await;
    let out = flush(&due).await.unwrap();
    assert_eq!(report(&out)["fallback"], 1, "{out:?}");
    let (_, message) = published(&rig);
    assert_listed(
        message["ticket"]["Body"].as_str().unwrap_or_default(),
        &["run-2", "run-3"],
    );
    assert_eq!(rig.incident().in_flight, None);
}

#[tokio::test]
async fn a_batch_whose_closed_case_another_invocation_refiles_waits_whole_for_that_case() {
    let rig = Rig::new();
    waiting(&rig).await;
    rig.desk.close("case-1");
    let due = Arc::new(rig.service(Duration::ZERO));
    // run-4 takes the batch; while it reads the case, another invocation
    // starts filing the follow-up (and dies doing it).
    rig.desk.fail_next(1, Fault::Delay(300));
    let svc = due.clone();
    let run4 = tokio::spawn(async move { occur(&svc, "run-4", None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let other = Change {
        status: Some(Status::Creating),
        owner: Some(Some("other".to_owned())),
        creating_until_ms: Some(now_ms() + 400),
        ..Change::default()
    };
    let open_case = Guard {
        open_case: Some("case-1".to_owned()),
        ..Guard::default()
    };
    let key = rig.incident_key();
    let reopened = rig.store.update(&key, &open_case, &other).await.unwrap();
    assert!(reopened.is_some(), "the other invocation reopens first");
    let out = run4.await.unwrap().unwrap();
    assert_eq!(seen(&out).0, "reply_coalesced", "{out:?}");
    let flight = rig.incident().in_flight.expect("waiting in flight");
    let runs: Vec<u64> = flight.batch.occurrences.iter().map(|o| o.number).collect();
    assert_eq!(runs, [2, 3, 4], "whole, its own occurrence included");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flushed = flush(&due).await.unwrap();
    assert_eq!(report(&flushed)["newCases"], 1, "{flushed:?}");
    assert_listed(&on_case(&rig, "case-2"), &["run-2", "run-3", "run-4"]);
}
