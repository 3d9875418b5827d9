//! Which incident a failure belongs to: pure, so the grouping rules are a
//! table test, and a key never holds event content.

use sha2::{Digest, Sha256};

use crate::intake::Failure;

/// What makes two failures one incident (`INCIDENT_GROUPING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// State machine + failed state + error name (the default with a table).
    State,
    /// State machine + error name.
    Error,
    /// Every failure is its own case.
    Off,
}

impl Grouping {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "state" => Some(Grouping::State),
            "error" => Some(Grouping::Error),
            "off" => Some(Grouping::Off),
            _ => None,
        }
    }
}

/// Which incident a failure belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The incident's key in the table: `incident#` + a SHA-256, so no event
    /// content is in a key and its length is fixed.
    pub key: String,
    /// The state machine (ARN when known, else name): recovery notes find
    /// the open incidents of a machine by it.
    pub machine: String,
}

/// The fingerprint of `f`, or `None` when grouping is off or the failure
/// names no state machine (a bare `{Error, Cause}`: grouping those by error
/// alone would merge unrelated pipelines, so each stays its own case).
///
/// The machine is its ARN when the event carries one (both paths derive the
/// same ARN), so a Catch-path and an EventBridge failure of one state group
/// together. An ABORTED or TIMED_OUT execution has no error name; its status
/// stands in, as in the dedupe key.
pub fn fingerprint(f: &Failure, grouping: Grouping) -> Option<Fingerprint> {
    let machine = f
        .state_machine_arn
        .as_deref()
        .or(f.state_machine_name.as_deref())
        .filter(|m| !m.is_empty())?;
    let mut h = Sha256::new();
    h.update(b"incident\0");
    h.update(machine.as_bytes());
    match grouping {
        Grouping::Off => return None,
        Grouping::State => {
            h.update(b"\0state\0");
            h.update(f.failed_state.as_deref().unwrap_or("").as_bytes());
        }
        Grouping::Error => {}
    }
    h.update(b"\0error\0");
    h.update(f.error_or_status().as_bytes());
    Some(Fingerprint {
        key: format!("incident#{}", hex(&h.finalize())),
        machine: machine.to_owned(),
    })
}

/// The key of a machine's index of incidents (for recovery notes).
pub fn machine_key(machine: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"machine\0");
    h.update(machine.as_bytes());
    format!("machine#{}", hex(&h.finalize()))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
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
        // One machine name in two accounts (a hub serving an organization):
        // two incidents, on either path.
        let in_account = |account: &str| {
            failure(
                json!({"detail-type": "Step Functions Execution Status Change",
                "account": account,
                "detail": {"status": "FAILED", "error": "E",
                           "executionArn": format!("arn:aws:states:eu-west-1:{account}:execution:m:e1"),
                           "stateMachineArn": format!("arn:aws:states:eu-west-1:{account}:stateMachine:m")}}),
            )
        };
        let (prod, staging) = (in_account("111111111111"), in_account("222222222222"));
        for grouping in [State, Error] {
            assert_ne!(
                fingerprint(&prod, grouping),
                fingerprint(&staging, grouping)
            );
        }
        assert_eq!(Grouping::parse(" STATE "), Some(State));
        assert_eq!(Grouping::parse("none"), None);
    }
}
