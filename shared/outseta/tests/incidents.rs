//! Incidents through `Notifier::handle` on in-memory adapters (the memory
//! claim and incident stores, a recording fallback) against an Outseta
//! stand-in that keeps cases, replies and status: a recurring failure is one
//! case that grows, a closed or gone case is followed by a new one, and
//! nothing is lost when replies fail. The stores' own behaviour is the
//! conformance suite's (conformance.rs, conformance_dynamodb.rs).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use ticket_bridge::dedupe::Memory;
use ticket_bridge::fallback::Recording;
use ticket_bridge::incident::{self, IncidentStore};
use ticket_bridge::{Notifier, Outcome};

mod support;

use support::{Outseta, config, deadline, memory_notifier};

const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:nightly:";

/// A Catch-path failure of the `nightly` machine in `state`.
fn failure(execution: &str, state: &str) -> Value {
    json!({
        "error": {"Error": "States.TaskFailed", "Cause": "boom"},
        "execution": format!("{ARN}{execution}"),
        "stateMachine": "nightly",
        "failedState": state,
        "input": {"run": execution},
    })
}

fn succeeded(execution: &str) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    json!({
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "region": "eu-west-1", "account": "123456789012",
        "detail": {
            "executionArn": format!("{ARN}{execution}"),
            "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:nightly",
            "name": execution, "status": "SUCCEEDED", "startDate": now - 1000, "stopDate": now,
        }
    })
}

struct Bridge {
    api: Outseta,
    notifier: Notifier,
    incidents: Arc<incident::Memory>,
    claims: Arc<Memory>,
    fallback: Arc<Recording>,
}

/// A notifier with grouping on (the table's name only turns the default
/// on; the stores are in memory), replies at once unless `extra` says, and
/// no desk budget (its tests are the core's `incidents::tests::budget`, and
/// tests/e2e/test_rate_limit.py on the real binary).
async fn bridge(extra: &[(&str, &str)]) -> Bridge {
    let api = Outseta::start().await;
    let mut env = vec![
        ("IDEMPOTENCY_TABLE", "unit-claims"),
        ("INCIDENT_REPLY_INTERVAL_SECONDS", "0"),
        ("DESK_REQUESTS_PER_SECOND", "0"),
    ];
    env.extend_from_slice(extra);
    let incidents = Arc::new(incident::Memory::new());
    let claims = Arc::new(Memory::new());
    let fallback = Arc::new(Recording::default());
    let notifier = memory_notifier(config(&api.url(), &env), &claims, &fallback)
        .with_incidents(incidents.clone() as Arc<dyn IncidentStore>);
    Bridge {
        api,
        notifier,
        incidents,
        claims,
        fallback,
    }
}

impl Bridge {
    async fn send(&self, event: Value) -> Outcome {
        self.notifier
            .handle(event, deadline())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", e.error_type()))
    }

    async fn flush(&self) -> Value {
        let out = self.send(json!({"ticketBridge": "flush"})).await;
        serde_json::to_value(out).unwrap()
    }
}

/// `(incident, occurrence, case Uid)` of an outcome.
fn seen(o: &Outcome) -> (&'static str, u64, Option<String>) {
    match o {
        Outcome::Incident {
            incident,
            occurrence,
            case_uid,
            ..
        } => (incident, *occurrence, case_uid.clone()),
        other => panic!("not an incident outcome: {other:?}"),
    }
}

fn c(uid: &str) -> Option<String> {
    Some(uid.to_owned())
}

#[tokio::test]
async fn three_failures_in_a_row_are_one_case_and_two_replies_naming_runs_two_and_three() {
    let b = bridge(&[]).await;
    let mut outcomes = Vec::new();
    for run in ["run-1", "run-2", "run-3"] {
        outcomes.push(b.send(failure(run, "Load")).await);
    }
    let got: Vec<_> = outcomes.iter().map(seen).collect();
    assert_eq!(
        got,
        [
            ("new_case", 1, c("C1")),
            ("reply_posted", 2, c("C1")),
            ("reply_posted", 3, c("C1"))
        ]
    );
    let json = serde_json::to_value(&outcomes[1]).unwrap();
    assert_eq!(json["caseUid"], "C1");
    assert_eq!(json["incident"], "reply_posted");
    assert_eq!(json["occurrence"], 2);

    let cases = b.api.cases();
    assert_eq!(cases.len(), 1);
    assert!(cases[0].body.contains("run-1"));
    let replies = &cases[0].replies;
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].0, "Step Functions ticket bridge");
    assert!(
        replies[0].1.contains(">run-2</a>") && !replies[0].1.contains("run-3"),
        "{}",
        replies[0].1
    );
    assert!(replies[0].1.contains("Occurrence 2: "), "{}", replies[0].1);
    assert!(replies[1].1.contains(">run-3</a>"), "{}", replies[1].1);
    assert!(
        replies[1].1.contains(
            "#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:nightly:run-3"
        ),
        "console link: {}",
        replies[1].1
    );

    // A redelivered copy is a duplicate, never a fourth occurrence.
    let again = b.send(failure("run-3", "Load")).await;
    assert!(
        matches!(&again, Outcome::Delivered { duplicate: true, case_uid, .. } if case_uid == "C1"),
        "{again:?}"
    );
    assert_eq!(b.api.comments().len(), 2);
}

#[tokio::test]
async fn a_closed_case_is_followed_by_a_new_case_that_links_it() {
    let b = bridge(&[]).await;
    b.send(failure("run-1", "Load")).await;
    b.api.close("C1");
    let next = b.send(failure("run-2", "Load")).await;
    assert_eq!(seen(&next), ("new_case", 2, c("C2")));
    let json = serde_json::to_value(&next).unwrap();
    assert_eq!(json["previousCaseUid"], "C1");
    let new = b.api.case("C2");
    assert!(
        new.body
            .contains("Previous case: <strong>C1</strong> (it was closed)"),
        "{}",
        new.body
    );
    assert!(
        new.body.contains("Occurrence 2 of this failure"),
        "{}",
        new.body
    );
    assert!(b.api.case("C1").replies.is_empty());
    // The new case is the incident's now.
    let third = b.send(failure("run-3", "Load")).await;
    assert_eq!(seen(&third), ("reply_posted", 3, c("C2")));
}

#[tokio::test]
async fn another_failed_state_of_the_machine_is_its_own_case_unless_grouped_by_error() {
    let b = bridge(&[]).await;
    b.send(failure("run-1", "Load")).await;
    let other = b.send(failure("run-2", "Transform")).await;
    assert_eq!(seen(&other), ("new_case", 1, c("C2")));
    assert!(b.api.comments().is_empty());

    let by_error = bridge(&[("INCIDENT_GROUPING", "error")]).await;
    by_error.send(failure("run-1", "Load")).await;
    let same = by_error.send(failure("run-2", "Transform")).await;
    assert_eq!(seen(&same), ("reply_posted", 2, c("C1")));
}

#[tokio::test]
async fn a_success_adds_one_recovery_note_and_a_second_adds_nothing() {
    let b = bridge(&[("RECOVERY_NOTES", "true")]).await;
    b.send(failure("run-1", "Load")).await;
    b.send(failure("run-2", "Load")).await;
    let first = b.send(succeeded("ok-1")).await;
    assert_eq!(
        serde_json::to_value(&first).unwrap(),
        json!({"status": "SUCCEEDED", "recoveryNotes": ["C1"]})
    );
    let second = b.send(succeeded("ok-2")).await;
    assert_eq!(
        second,
        Outcome::Skipped {
            skipped: true,
            status: "SUCCEEDED".into()
        }
    );
    let replies = b.api.case("C1").replies;
    assert_eq!(replies.len(), 2, "one reply for run-2, one recovery note");
    assert!(
        replies[1].1.contains("<strong>Recovered</strong>"),
        "{}",
        replies[1].1
    );
    assert!(replies[1].1.contains(">ok-1</a>"), "{}", replies[1].1);
    assert!(
        replies[1].1.contains("after 2 failures"),
        "{}",
        replies[1].1
    );
    // Without RECOVERY_NOTES a success is skipped as before.
    let quiet = bridge(&[]).await;
    quiet.send(failure("run-1", "Load")).await;
    assert!(matches!(
        quiet.send(succeeded("ok")).await,
        Outcome::Skipped { .. }
    ));
    assert!(quiet.api.comments().is_empty());
}

#[tokio::test]
async fn a_reply_answered_503_is_retried_like_a_case() {
    let b = bridge(&[]).await;
    b.send(failure("run-1", "Load")).await;
    b.api.fail_replies(&[503]);
    let out = b.send(failure("run-2", "Load")).await;
    assert_eq!(seen(&out), ("reply_posted", 2, c("C1")));
    let Outcome::Incident { attempts, .. } = out else {
        unreachable!()
    };
    assert_eq!(attempts, 3, "the case read, the 503, the reply");
    assert_eq!(b.api.comments().len(), 1);
}

#[tokio::test]
async fn after_a_429_the_next_failures_wait_for_the_flush_instead_of_queueing_for_the_desk() {
    let b = bridge(&[]).await;
    b.send(failure("run-1", "Load")).await;
    b.api.fail_replies(&[429]);
    let out = b.send(failure("run-2", "Load")).await;
    assert_eq!(
        seen(&out),
        ("reply_posted", 2, c("C1")),
        "the 429 waited out"
    );
    let before = b.api.requests().await.len();
    let out = b.send(failure("run-3", "Load")).await;
    assert_eq!(seen(&out), ("reply_coalesced", 3, c("C1")));
    assert_eq!(
        b.api.requests().await.len(),
        before,
        "no request while the desk asks to wait"
    );
    let flushed = b.flush().await;
    assert_eq!(flushed["flush"]["replies"], 1, "{flushed}");
    let last = b.api.comments().pop().unwrap_or_default();
    assert!(last.contains(">run-3</a>"), "{last}");
}

#[tokio::test]
async fn a_case_gone_before_or_at_the_reply_is_followed_by_a_new_case() {
    let b = bridge(&[]).await;
    b.send(failure("run-1", "Load")).await;
    b.api.delete("C1");
    let out = b.send(failure("run-2", "Load")).await;
    assert_eq!(seen(&out), ("new_case", 2, c("C2")));
    assert!(b.api.case("C2").body.contains("(it is gone)"));
    // The read says open, but the reply itself is answered 404.
    b.api.fail_replies(&[404]);
    let out = b.send(failure("run-3", "Load")).await;
    assert_eq!(seen(&out), ("new_case", 3, c("C3")));
    assert!(
        b.api
            .case("C3")
            .body
            .contains("Previous case: <strong>C2</strong>")
    );
}

#[tokio::test]
async fn a_creator_that_cannot_file_lets_the_next_occurrence_file_the_case() {
    let b = bridge(&[]).await;
    b.api.fail_cases(&[503, 503]);
    let err = b
        .notifier
        .handle(failure("run-1", "Load"), deadline())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TicketDeliveryFailed");
    assert_eq!(b.fallback.published().len(), 1);
    let next = b.send(failure("run-2", "Load")).await;
    assert_eq!(seen(&next), ("new_case", 2, c("C1")));
    // The first one's retry is a new occurrence of the incident.
    let retried = b.send(failure("run-1", "Load")).await;
    assert_eq!(seen(&retried), ("reply_posted", 3, c("C1")));
}

/// Coalesced occurrences reach the case: the flush posts them, a failed
/// reply keeps them in flight for the next attempt (its own failure goes to
/// the fallback topic and its caller retries), and every execution ends up
/// named on the case.
#[tokio::test]
async fn nothing_is_lost_between_coalescing_failed_replies_and_the_flush() {
    let b = bridge(&[("INCIDENT_REPLY_INTERVAL_SECONDS", "1")]).await;
    assert_eq!(seen(&b.send(failure("run-1", "Load")).await).0, "new_case");
    for run in ["run-2", "run-3", "run-4", "run-5"] {
        let out = b.send(failure(run, "Load")).await;
        assert_eq!(seen(&out).0, "reply_coalesced", "{run}");
        assert_eq!(seen(&out).2, c("C1"));
    }
    assert!(b.api.comments().is_empty());
    // Not yet due: the flush posts nothing.
    assert_eq!(b.flush().await["flush"]["replies"], 0);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    b.api.fail_replies(&[503, 503]);
    let err = b
        .notifier
        .handle(failure("run-6", "Load"), deadline())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TicketDeliveryFailed");
    assert!(
        err.to_string()
            .contains("the reply to case C1 was not posted"),
        "{err}"
    );
    let published = b.fallback.published();
    assert_eq!(published.len(), 1);
    assert!(published[0].1.contains("run-6"));
    assert!(!b.claims.is_empty(), "the others' claims stay completed");

    // The others stayed in the incident, in flight; their next attempt is
    // one reply interval after the failed one.
    let early = b.flush().await;
    assert_eq!(early["flush"]["replies"], 0, "{early}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let flushed = b.flush().await;
    assert_eq!(flushed["flush"]["replies"], 1, "{flushed}");
    assert_eq!(flushed["flush"]["occurrences"], 4, "{flushed}");
    // The caller retries run-6: a new occurrence, coalesced, then flushed.
    assert_eq!(
        seen(&b.send(failure("run-6", "Load")).await).0,
        "reply_coalesced"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(b.flush().await["flush"]["occurrences"], 1);

    let comments = b.api.comments().join("\n");
    for run in ["run-2", "run-3", "run-4", "run-5", "run-6"] {
        assert!(
            comments.contains(&format!(">{run}</a>")),
            "{run} missing: {comments}"
        );
    }
    assert_eq!(b.api.cases().len(), 1);
    let (_, inc) = &b.incidents.incidents()[0];
    assert_eq!((inc.pending_count, inc.seq), (0, 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_failures_file_one_case_and_the_flush_names_every_run() {
    let b = Arc::new(bridge(&[("INCIDENT_REPLY_INTERVAL_SECONDS", "1")]).await);
    let runs: Vec<_> = (0..20)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move { b.send(failure(&format!("storm-{i:02}"), "Load")).await })
        })
        .collect();
    let mut kinds = Vec::new();
    for r in runs {
        let out = r.await.unwrap();
        let (kind, _, uid) = seen(&out);
        assert_eq!(uid, c("C1"), "{out:?}");
        kinds.push(kind);
    }
    assert_eq!(kinds.iter().filter(|k| **k == "new_case").count(), 1);
    assert_eq!(b.api.cases().len(), 1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    b.flush().await;
    let all = format!("{}\n{}", b.api.case("C1").body, b.api.comments().join("\n"));
    for i in 0..20 {
        assert!(
            all.contains(&format!("storm-{i:02}")),
            "storm-{i:02} missing"
        );
    }
    assert!(b.api.comments().len() <= 2, "{:?}", b.api.comments().len());
}

#[tokio::test]
async fn without_grouping_every_failure_is_its_own_case_and_the_flush_has_nothing_to_do() {
    let b = bridge(&[("INCIDENT_GROUPING", "off")]).await;
    for run in ["run-1", "run-2"] {
        let out = b.send(failure(run, "Load")).await;
        assert!(matches!(out, Outcome::Delivered { .. }), "{out:?}");
    }
    assert_eq!(b.api.cases().len(), 2);
    assert_eq!(
        b.flush().await,
        json!({"flush": {"incidents": 0, "replies": 0, "occurrences": 0, "newCases": 0, "failed": 0, "pruned": 0}})
    );
}
