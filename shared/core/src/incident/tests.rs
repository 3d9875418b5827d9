//! The pure parts: fingerprints and coalescing decisions as tables, and the
//! sizes an occurrence is cut to. What the stores do is the conformance
//! suite's (`conformance::incidents`), run on every adapter.

use super::*;
use crate::intake::failure_of as failure;
use serde_json::json;

fn catch(machine: &str, execution: &str, state: &str, error: &str) -> Failure {
    failure(json!({
        "error": {"Error": error, "Cause": "c"},
        "execution": format!("arn:aws:states:eu-west-1:1:execution:{machine}:{execution}"),
        "stateMachine": machine, "failedState": state,
    }))
}

#[test]
fn fingerprints_by_grouping() {
    use Grouping::*;
    let a = catch("m", "e1", "S1", "E");
    // (other failure, grouping, same incident?)
    let rows: &[(Failure, Grouping, bool)] = &[
        (catch("m", "e2", "S1", "E"), State, true),
        (catch("m", "e2", "S2", "E"), State, false),
        (catch("m", "e2", "S1", "F"), State, false),
        (catch("n", "e2", "S1", "E"), State, false),
        (catch("m", "e2", "S2", "E"), Error, true),
        (catch("m", "e2", "S1", "F"), Error, false),
        (catch("n", "e2", "S1", "E"), Error, false),
    ];
    for (b, grouping, same) in rows {
        let (fa, fb) = (fingerprint(&a, *grouping), fingerprint(b, *grouping));
        assert_eq!(
            fa == fb,
            *same,
            "{grouping:?} {:?} vs {:?}",
            a.failed_state,
            b.failed_state
        );
    }
    assert_eq!(fingerprint(&a, Off), None);
    let fp = fingerprint(&a, State).unwrap();
    assert!(
        fp.key.starts_with("incident#") && fp.key.len() == 9 + 64,
        "{}",
        fp.key
    );
    assert_eq!(fp.machine, "arn:aws:states:eu-west-1:1:stateMachine:m");
    // A bare error names no machine: its own case.
    assert_eq!(fingerprint(&failure(json!({"Error": "E"})), State), None);
    // The Catch path and EventBridge agree on the machine.
    let eb = failure(
        json!({"detail-type": "Step Functions Execution Status Change",
        "detail": {"status": "FAILED", "error": "E",
                   "executionArn": "arn:aws:states:eu-west-1:1:execution:m:e9",
                   "stateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:m"}}),
    );
    assert_eq!(fingerprint(&eb, Error), fingerprint(&a, Error));
    assert_eq!(Grouping::parse(" STATE "), Some(State));
    assert_eq!(Grouping::parse("none"), None);
}

#[test]
fn coalescing_decisions() {
    let s = Duration::from_secs;
    // (now, last reply, interval, pending) -> decision
    let rows: &[(u64, Option<u64>, Duration, u64, Decision)] = &[
        (1_000, None, s(60), 0, Decision::Nothing),
        (1_000, Some(0), s(60), 0, Decision::Nothing),
        (1_000, None, s(60), 1, Decision::PostNow),
        (61_000, Some(1_000), s(60), 1, Decision::PostNow),
        (
            60_999,
            Some(1_000),
            s(60),
            3,
            Decision::Coalesce { due_ms: 61_000 },
        ),
        (1_000, Some(1_000), s(0), 1, Decision::PostNow),
        (
            5_000,
            Some(1_000),
            s(60),
            50,
            Decision::Coalesce { due_ms: 61_000 },
        ),
        (
            u64::MAX - 1,
            Some(u64::MAX - 10),
            s(60),
            1,
            Decision::Coalesce { due_ms: u64::MAX },
        ),
    ];
    for &(now, last, interval, pending, want) in rows {
        assert_eq!(
            decide(now, last, interval, pending),
            want,
            "{now} {last:?} {interval:?} {pending}"
        );
    }
}

#[test]
fn occurrences_are_cut_to_the_sizes_kept() {
    let o = Occurrence::new(&"é".repeat(400), 5, Some(&"r".repeat(500)));
    assert!(o.execution.len() <= EXECUTION_MAX);
    assert_eq!(
        o.reason.as_ref().map(|r| r.chars().count()),
        Some(REASON_MAX)
    );
    assert_eq!(Occurrence::new("", 5, None).execution, "unknown");
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<Occurrence>(&json).unwrap(), o);
}
