//! The case follows the failure's life (issue 21), on the memory adapters:
//! closed after N successes in a row, reopened by a failure soon after,
//! followed by a new case when a person closed it or the reopen window
//! passed, muted by a tag, and found again by its marker when the
//! incident's record is lost. The same steps against the real notifier,
//! moto and mock-api are tests/e2e/test_lifecycle.py.

use super::*;
use crate::desk::{CaseStatus, MemoryCase};

/// A service closing cases after `n` successes, replying at once.
fn resolving(rig: &Rig, n: u32, reopen_window: Duration) -> Incidents {
    rig.service_with(Settings {
        grouping: Grouping::State,
        reply_interval: Duration::ZERO,
        resolve_after_successes: n,
        reopen_window,
        desk_per_second: 0,
        ..Settings::default()
    })
}

fn case(rig: &Rig, uid: &str) -> MemoryCase {
    rig.desk
        .cases()
        .into_iter()
        .find(|c| c.uid == uid)
        .expect("the case")
}

fn replies(rig: &Rig, uid: &str) -> Vec<String> {
    case(rig, uid).replies.into_iter().map(|(_, c)| c).collect()
}

fn counted(n: u64) -> Outcome {
    Outcome::Recovered {
        status: "SUCCEEDED".to_owned(),
        recovery_notes: Vec::new(),
        resolved: Vec::new(),
        counted: n,
    }
}

fn resolved(uid: &str) -> Outcome {
    Outcome::Recovered {
        status: "SUCCEEDED".to_owned(),
        recovery_notes: Vec::new(),
        resolved: vec![uid.to_owned()],
        counted: 0,
    }
}

#[tokio::test]
async fn n_successes_close_the_case_and_a_failure_soon_after_reopens_the_same_case() {
    let rig = Rig::new();
    let svc = resolving(&rig, 3, Duration::from_secs(86_400));
    occur(&svc, "run-1", None).await.unwrap();
    assert_eq!(recover(&svc, "ok-1").await.unwrap(), counted(1));
    assert_eq!(recover(&svc, "ok-2").await.unwrap(), counted(1));
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Open);
    assert_eq!(recover(&svc, "ok-3").await.unwrap(), resolved("case-1"));
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Closed);
    let closing = replies(&rig, "case-1").join("\n");
    assert!(closing.contains("<strong>Resolved</strong>"), "{closing}");
    assert!(closing.contains(">ok-3</a>"), "{closing}");
    assert!(rig.incident().resolved_ms.is_some());
    // Closed once: a fourth success adds nothing.
    let fourth = recover(&svc, "ok-4").await.unwrap();
    assert!(matches!(fourth, Outcome::Skipped { .. }), "{fourth:?}");

    let back = occur(&svc, "run-2", None).await.unwrap();
    assert_eq!(seen(&back), ("reopened", 2, Some("case-1")));
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Open);
    assert_eq!(rig.desk.cases().len(), 1, "the same case, no new one");
    let reopening = replies(&rig, "case-1").pop().unwrap_or_default();
    assert!(
        reopening.contains("Reopened: this failure came back"),
        "{reopening}"
    );
    assert!(reopening.contains(">run-2</a>"), "{reopening}");
    let inc = rig.incident();
    assert_eq!((inc.resolved_ms, inc.successes), (None, 0));
    // And it goes on as an open case: the next failure is a plain reply.
    let next = occur(&svc, "run-3", None).await.unwrap();
    assert_eq!(seen(&next), ("reply_posted", 3, Some("case-1")));
}

#[tokio::test]
async fn a_failure_between_successes_starts_the_count_again() {
    let rig = Rig::new();
    let svc = resolving(&rig, 2, Duration::from_secs(86_400));
    occur(&svc, "run-1", None).await.unwrap();
    assert_eq!(recover(&svc, "ok-1").await.unwrap(), counted(1));
    occur(&svc, "run-2", None).await.unwrap();
    assert_eq!(rig.incident().successes, 0, "the failure reset it");
    assert_eq!(recover(&svc, "ok-2").await.unwrap(), counted(1));
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Open);
    assert_eq!(recover(&svc, "ok-3").await.unwrap(), resolved("case-1"));
}

#[tokio::test]
async fn after_the_reopen_window_or_a_persons_close_a_new_case_links_the_old_one() {
    let rig = Rig::new();
    let svc = resolving(&rig, 1, Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    assert_eq!(recover(&svc, "ok-1").await.unwrap(), resolved("case-1"));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let late = occur(&svc, "run-2", None).await.unwrap();
    assert_eq!(seen(&late), ("new_case", 2, Some("case-2")));
    let body = case(&rig, "case-2").body;
    assert!(body.contains("longer ago than the reopen window"), "{body}");
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Closed);

    // A person closes the new case: never reopened by the bridge.
    let svc = resolving(&rig, 1, Duration::from_secs(86_400));
    rig.desk.close("case-2");
    let after = occur(&svc, "run-3", None).await.unwrap();
    assert_eq!(seen(&after), ("new_case", 3, Some("case-3")));
    assert_eq!(case(&rig, "case-2").status, CaseStatus::Closed);
    assert!(case(&rig, "case-3").body.contains("(it was closed)"));
}

#[tokio::test]
async fn a_close_that_fails_leaves_the_incident_open_and_the_retry_closes_it() {
    let rig = Rig::new();
    let svc = resolving(&rig, 1, Duration::from_secs(86_400));
    occur(&svc, "run-1", None).await.unwrap();
    // The case read and the reply go through; the PUT that closes it does not.
    rig.desk.fail_next(2, Fault::Pass);
    rig.desk.fail_next(1, Fault::Down);
    let err = recover(&svc, "ok-1").await.unwrap_err();
    assert_eq!(err.outcome, "recovery_not_delivered");
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Open);
    assert_eq!(rig.incident().resolved_ms, None, "undone for the retry");
    assert_eq!(recover(&svc, "ok-1").await.unwrap(), resolved("case-1"));
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Closed);
}

#[tokio::test]
async fn a_case_a_person_closed_is_not_closed_again_nor_reopened_by_the_bridge() {
    let rig = Rig::new();
    let svc = resolving(&rig, 1, Duration::from_secs(86_400));
    occur(&svc, "run-1", None).await.unwrap();
    rig.desk.close("case-1");
    let ok = recover(&svc, "ok-1").await.unwrap();
    assert!(matches!(ok, Outcome::Skipped { .. }), "{ok:?}");
    assert!(replies(&rig, "case-1").is_empty(), "no Resolved reply");
    assert_eq!(rig.incident().resolved_ms, None, "not the bridge's close");
    let after = occur(&svc, "run-2", None).await.unwrap();
    assert_eq!(seen(&after), ("new_case", 2, Some("case-2")));
    assert_eq!(case(&rig, "case-1").status, CaseStatus::Closed);
}

#[tokio::test]
async fn the_mute_tag_holds_occurrences_back_and_removing_it_names_how_many() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    rig.desk.tag("case-1", "Muted");
    for (run, n) in [("run-2", 2), ("run-3", 3)] {
        let out = occur(&svc, run, None).await.unwrap();
        assert_eq!(seen(&out), ("muted", n, Some("case-1")));
    }
    assert!(replies(&rig, "case-1").is_empty(), "nothing posted");
    assert_eq!(rig.incident().muted, 2);
    assert!(!rig.incident().waiting(), "held back, not left waiting");

    rig.desk.untag("case-1", "Muted");
    let out = occur(&svc, "run-4", None).await.unwrap();
    assert_eq!(seen(&out), ("reply_posted", 4, Some("case-1")));
    let reply = replies(&rig, "case-1").join("\n");
    assert!(
        reply.contains("2 occurrences of this failure were held back"),
        "{reply}"
    );
    assert!(reply.contains(">run-4</a>"), "{reply}");
    assert_eq!(rig.incident().muted, 0);
}

#[tokio::test]
async fn a_lost_record_finds_the_open_case_by_its_marker_and_follows_it() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    assert!(
        case(&rig, "case-1")
            .body
            .contains("ticket-bridge-fingerprint: ")
    );
    // A recreated table: the same desk, no record.
    let lost = svc.with_store(Arc::new(incident::Memory::new()));
    let out = occur(&lost, "run-2", None).await.unwrap();
    assert_eq!(seen(&out), ("adopted", 1, Some("case-1")));
    assert_eq!(rig.desk.cases().len(), 1, "no second case");
    let reply = replies(&rig, "case-1").join("\n");
    assert!(
        reply.contains("found this case again by its marker"),
        "{reply}"
    );
    assert!(reply.contains(">run-2</a>"), "{reply}");
    let next = occur(&lost, "run-3", None).await.unwrap();
    assert_eq!(seen(&next), ("reply_posted", 2, Some("case-1")));
}

#[tokio::test]
async fn a_lost_record_whose_case_was_closed_files_a_new_case_linking_it() {
    let rig = Rig::new();
    let svc = rig.service(Duration::ZERO);
    occur(&svc, "run-1", None).await.unwrap();
    rig.desk.close("case-1");
    let lost = svc.with_store(Arc::new(incident::Memory::new()));
    let out = occur(&lost, "run-2", None).await.unwrap();
    assert_eq!(seen(&out), ("new_case", 1, Some("case-2")));
    let Outcome::Incident {
        previous_case_uid, ..
    } = &out
    else {
        unreachable!()
    };
    assert_eq!(previous_case_uid.as_deref(), Some("case-1"));
}
