//! The harness's own calls to moto, over the AWS JSON protocol: the state
//! machines and executions whose histories the runtimes read, the storm's
//! DynamoDB tables, and the call counts `scripts/moto_atomic.py` keeps.
//!
//! moto checks no signature; it takes the region (and so the backend a
//! resource lives in) from the credential scope of the `Authorization`
//! header, which is all this sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use ticket_bridge::history::HistoryEvent;

pub struct Moto {
    pub url: String,
    http: reqwest::Client,
}

/// The role moto's state machines name (moto checks only its shape).
const ROLE: &str = "arn:aws:iam::123456789012:role/bench";

impl Moto {
    pub fn new(url: String) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("moto client: {e}"))?;
        Ok(Moto { url, http })
    }

    async fn call(
        &self,
        service: &str,
        region: &str,
        target: &str,
        body: Value,
    ) -> Result<Value, String> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let r = self
            .http
            .post(&self.url)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", auth)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("moto {target}: {e}"))?;
        let status = r.status();
        let text = r.text().await.map_err(|e| format!("moto {target}: {e}"))?;
        if !status.is_success() {
            return Err(format!("moto {target}: HTTP {status}: {text}"));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("moto {target}: {e}"))
    }

    /// Creates the state machine `arn` names (a single Fail state), unless
    /// it exists.
    pub async fn create_state_machine(&self, arn: &str) -> Result<(), String> {
        let (region, name) = arn_parts(arn, "stateMachine")?;
        let definition = json!({
            "StartAt": "A State",
            "States": {"A State": {"Type": "Fail", "Error": "AnError"}}
        });
        let body = json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE});
        match self
            .call(
                "states",
                region,
                "AWSStepFunctions.CreateStateMachine",
                body,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.contains("StateMachineAlreadyExists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Starts execution `arn` (`...:execution:MACHINE:NAME`) of its machine.
    pub async fn start_execution(&self, arn: &str) -> Result<(), String> {
        let (region, rest) = arn_parts(arn, "execution")?;
        let (machine, name) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("not an execution ARN: {arn}"))?;
        let prefix = arn
            .split_once(":execution:")
            .map(|(p, _)| p)
            .ok_or_else(|| format!("not an execution ARN: {arn}"))?;
        let body = json!({
            "stateMachineArn": format!("{prefix}:stateMachine:{machine}"),
            "name": name,
            "input": "{}",
        });
        self.call("states", region, "AWSStepFunctions.StartExecution", body)
            .await
            .map(drop)
    }

    /// The history moto serves for `arn`, as the notifier's adapter reads it.
    pub async fn execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, String> {
        let (region, _) = arn_parts(arn, "execution")?;
        let body = json!({"executionArn": arn, "reverseOrder": true, "maxResults": 200});
        let out = self
            .call(
                "states",
                region,
                "AWSStepFunctions.GetExecutionHistory",
                body,
            )
            .await?;
        Ok(out
            .get("events")
            .and_then(Value::as_array)
            .map(|events| events.iter().map(history_event).collect())
            .unwrap_or_default())
    }

    /// A table as infra creates it (`id` hash key, on demand).
    pub async fn create_table(&self, region: &str, name: &str) -> Result<(), String> {
        let body = json!({
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        });
        self.call("dynamodb", region, "DynamoDB_20120810.CreateTable", body)
            .await
            .map(drop)
    }

    /// The calls moto served since the last reset, by `Service.Operation`
    /// (`scripts/moto_atomic.py`).
    pub async fn calls(&self) -> Result<BTreeMap<String, u64>, String> {
        let r = self
            .http
            .get(format!("{}/_calls", self.url))
            .send()
            .await
            .map_err(|e| format!("moto /_calls: {e}"))?;
        r.json().await.map_err(|e| format!("moto /_calls: {e}"))
    }

    pub async fn reset_calls(&self) -> Result<(), String> {
        self.http
            .delete(format!("{}/_calls", self.url))
            .send()
            .await
            .map(drop)
            .map_err(|e| format!("moto /_calls: {e}"))
    }
}

/// (region, what follows `:KIND:`) of `arn:aws:states:REGION:ACCOUNT:KIND:...`.
fn arn_parts<'a>(arn: &'a str, kind: &str) -> Result<(&'a str, &'a str), String> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", region, _, k, rest] if *k == kind => Ok((region, rest)),
        _ => Err(format!("not a Step Functions {kind} ARN: {arn}")),
    }
}

/// One event of the API's JSON, reduced as the notifier's adapter reduces
/// the SDK's (`shared/aws/src/history.rs`).
fn history_event(e: &Value) -> HistoryEvent {
    let s = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let entered = e.get("stateEnteredEventDetails");
    let failure = e.as_object().and_then(|m| {
        m.iter()
            .find(|(k, v)| {
                k.ends_with("EventDetails")
                    && (v.get("error").is_some() || v.get("cause").is_some())
            })
            .map(|(_, v)| v)
    });
    HistoryEvent {
        id: e.get("id").and_then(Value::as_i64).unwrap_or(0),
        kind: s(e.get("type")).unwrap_or_default(),
        state_name: entered
            .or_else(|| e.get("stateExitedEventDetails"))
            .and_then(|d| s(d.get("name"))),
        state_input: entered.and_then(|d| s(d.get("input"))),
        error: failure.and_then(|d| s(d.get("error"))),
        cause: failure.and_then(|d| s(d.get("cause"))),
        ..HistoryEvent::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_region_and_name() {
        let m = "arn:aws:states:eu-west-1:123456789012:stateMachine:order-pipeline";
        assert_eq!(
            arn_parts(m, "stateMachine"),
            Ok(("eu-west-1", "order-pipeline"))
        );
        let x = "arn:aws:states:eu-west-1:123456789012:execution:order-pipeline:run-1";
        assert_eq!(
            arn_parts(x, "execution"),
            Ok(("eu-west-1", "order-pipeline:run-1"))
        );
        assert!(arn_parts(m, "execution").is_err());
        assert!(arn_parts("arn:aws:lambda:eu-west-1:1:function:f", "execution").is_err());
    }

    #[test]
    fn history_events_keep_what_enrichment_reads() {
        let entered = history_event(&json!({
            "id": 2, "type": "FailStateEntered",
            "stateEnteredEventDetails": {"name": "A State", "input": "{}"}
        }));
        assert_eq!(
            (
                entered.id,
                entered.kind.as_str(),
                entered.state_name.as_deref(),
                entered.state_input.as_deref()
            ),
            (2, "FailStateEntered", Some("A State"), Some("{}"))
        );
        let failed = history_event(&json!({
            "id": 3, "type": "ExecutionFailed",
            "executionFailedEventDetails": {"error": "AnError", "cause": "An error occurred!"}
        }));
        assert_eq!(failed.error.as_deref(), Some("AnError"));
        assert_eq!(failed.cause.as_deref(), Some("An error occurred!"));
        assert_eq!(failed.state_name, None);
    }
}
