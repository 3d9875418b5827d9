//! The events every runtime gets: the samples in `events/`, each turned
//! into a distinct failure per invocation, sorted by the path they take
//! (a Catch payload or an EventBridge status change), with the case body
//! the notifier files for each, for mock-api's baseline.

use std::path::{Path as FsPath, PathBuf};

use bytes::Bytes;
use serde_json::Value;
use ticket_bridge::RenderConfig;
use ticket_bridge::history::{HistoryEvent, HistoryLimits, MemoryHistory, enrich};
use ticket_bridge::intake::{Intake, intake};

use crate::moto::Moto;
use crate::services;

/// Shapes every runtime turns into a ticket with the default configuration
/// (`catch-payload-path` needs ERROR_PATH; the others are not failures).
const SKIP: &[&str] = &[
    "catch-payload-path",
    "eventbridge-succeeded",
    "invalid-no-error",
];
/// The event each cold start delivers: the demo's.
pub const COLD_EVENT: &str = "catch-lambda";

/// How a failure reaches the function, which decides the work it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// A Catch (or a bare `{Error, Cause}`): everything is in the event.
    Catch,
    /// An EventBridge status change: the failed state is read from the
    /// execution history (`GetExecutionHistory`), by every runtime.
    EventBridge,
}

impl Route {
    pub const ALL: [Route; 2] = [Route::Catch, Route::EventBridge];

    /// The key in results.json (`paths.catch`, `paths.eventbridge`).
    pub fn key(self) -> &'static str {
        match self {
            Route::Catch => "catch",
            Route::EventBridge => "eventbridge",
        }
    }

    /// As the tables name it.
    pub fn label(self) -> &'static str {
        match self {
            Route::Catch => "Catch path",
            Route::EventBridge => "EventBridge path",
        }
    }

    pub fn of(event: &Value) -> Route {
        if event.get("detail-type").and_then(Value::as_str)
            == Some("Step Functions Execution Status Change")
        {
            Route::EventBridge
        } else {
            Route::Catch
        }
    }
}

pub struct Event {
    pub name: String,
    pub value: Value,
    pub route: Route,
    /// The case body the notifier renders for it, for mock-api's baseline.
    pub case: Bytes,
}

impl Event {
    /// The event as the `n`th distinct failure, with the execution ARN it
    /// names (if any). The notifier files one ticket per failure and
    /// answers repeats from its dedupe memory, so replaying one event would
    /// measure that shortcut, not a ticket.
    fn nth(&self, n: u64) -> (Bytes, Option<String>) {
        let mut v = self.value.clone();
        let name = format!("bench-{n:08}");
        let rename = |arn: &mut Value| {
            if let Some(s) = arn.as_str()
                && let Some((head, _)) = s.rsplit_once(':')
            {
                *arn = Value::String(format!("{head}:{name}"));
            }
        };
        if let Some(arn) = v.get_mut("execution") {
            rename(arn);
        } else if let Some(d) = v.get_mut("detail").and_then(Value::as_object_mut) {
            if let Some(arn) = d.get_mut("executionArn") {
                rename(arn);
            }
            d.insert("name".to_owned(), Value::String(name.clone()));
        } else if let Some(Value::String(cause)) = v.get_mut("Cause") {
            // No execution at all (a bare error): only its content tells
            // failures apart.
            cause.push_str(&format!(" ({name})"));
        }
        if let Some(Value::Array(res)) = v.get_mut("resources") {
            res.iter_mut().for_each(rename);
        }
        let execution = v
            .pointer("/detail/executionArn")
            .or_else(|| v.get("execution"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let raw = serde_json::to_vec(&v).map(Bytes::from).unwrap_or_default();
        (raw, execution)
    }
}

/// Hands out distinct failures, so no two invocations share one, and
/// starts the execution of each EventBridge one in moto first, so its
/// history is there to read, as it is on AWS.
pub struct Feed<'a> {
    n: u64,
    moto: &'a Moto,
}

impl<'a> Feed<'a> {
    pub fn new(moto: &'a Moto) -> Self {
        Feed { n: 0, moto }
    }

    pub async fn next(&mut self, e: &Event) -> Result<Bytes, String> {
        self.n += 1;
        let (raw, execution) = e.nth(self.n);
        if e.route == Route::EventBridge {
            let arn = execution.ok_or_else(|| format!("{}: no execution ARN", e.name))?;
            self.moto.start_execution(&arn).await?;
        }
        Ok(raw)
    }
}

/// The events the warm run rotates through, with the state machines of
/// the EventBridge ones created in moto.
pub async fn load(root: &FsPath, moto: &Moto) -> Result<Vec<Event>, String> {
    let dir = root.join("events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let cfg = render_config()?;
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        if SKIP.contains(&name.as_str()) {
            continue;
        }
        let raw = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let value: Value =
            serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", p.display()))?;
        let route = Route::of(&value);
        let history = match route {
            Route::Catch => None,
            Route::EventBridge => Some(probe_history(moto, &value, &name).await?),
        };
        let case = case_body(&value, history, &cfg)
            .await
            .map_err(|e| format!("{}: {e}", p.display()))?
            .into();
        out.push(Event {
            name,
            value,
            route,
            case,
        });
    }
    if !out.iter().any(|e| e.name == COLD_EVENT) {
        return Err(format!("events/{COLD_EVENT}.json is missing"));
    }
    if !out.iter().any(|e| e.route == Route::EventBridge) {
        return Err("no EventBridge event in events/".to_owned());
    }
    Ok(out)
}

/// Creates the event's state machine in moto (once) and reads the history
/// moto serves for one of its executions: what every runtime will read.
async fn probe_history(
    moto: &Moto,
    event: &Value,
    name: &str,
) -> Result<Vec<HistoryEvent>, String> {
    let machine = event
        .pointer("/detail/stateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name}: no stateMachineArn"))?;
    moto.create_state_machine(machine).await?;
    let execution = machine.replacen(":stateMachine:", ":execution:", 1) + ":bench-probe-" + name;
    moto.start_execution(&execution).await?;
    let events = moto.execution_history(&execution).await?;
    if events.is_empty() {
        return Err(format!("moto served an empty history for {execution}"));
    }
    Ok(events)
}

/// The notifier's rendering configuration in the harness's environment.
pub fn render_config() -> Result<RenderConfig, String> {
    RenderConfig::from_lookup(&|k: &str| match k {
        "FROM_PERSON_EMAIL" => Some("oncall@example.com".to_owned()),
        "AWS_REGION" => Some(services::REGION.to_owned()),
        _ => None,
    })
    .map_err(|e| format!("render config: {e}"))
}

/// The case body the notifier POSTs for `event`, with what `history` adds
/// on the EventBridge path (the notifier's own enrichment, on moto's
/// history).
pub async fn case_body(
    event: &Value,
    history: Option<Vec<HistoryEvent>>,
    cfg: &RenderConfig,
) -> Result<Vec<u8>, String> {
    let Ok(Intake::Failure(f)) = intake(event, None) else {
        return Err("not a failure the notifier tickets".to_owned());
    };
    let (f, extra) = match history {
        Some(events) => {
            let (f, extra) =
                enrich(&MemoryHistory::new(events), *f, &HistoryLimits::default()).await;
            if let Some(note) = &extra.note {
                return Err(format!("the history moto serves does not enrich: {note}"));
            }
            (f, Some(extra))
        }
        None => (*f, None),
    };
    let now = time::OffsetDateTime::now_utc();
    let ticket = ticket_bridge::ticket::render_with(&f, extra.as_ref(), cfg, now);
    let filing = ticket_bridge::config::filing(&|k: &str| {
        (k == "FROM_PERSON_EMAIL").then(|| "oncall@example.com".to_owned())
    })
    .map_err(|e| format!("filing: {e}"))?;
    serde_json::to_vec(&ticket_bridge_outseta::case_body(&ticket, &filing))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_by_shape() {
        let eb = json!({"detail-type": "Step Functions Execution Status Change", "detail": {}});
        assert_eq!(Route::of(&eb), Route::EventBridge);
        assert_eq!(
            Route::of(&json!({"Error": "E", "Cause": "c"})),
            Route::Catch
        );
        assert_eq!(Route::of(&json!({"error": {"Error": "E"}})), Route::Catch);
    }

    #[test]
    fn each_failure_gets_its_own_execution() {
        let eb = Event {
            name: "eb".into(),
            value: json!({
                "detail-type": "Step Functions Execution Status Change",
                "resources": ["arn:aws:states:eu-west-1:1:execution:m:x"],
                "detail": {"executionArn": "arn:aws:states:eu-west-1:1:execution:m:x", "name": "x"}
            }),
            route: Route::EventBridge,
            case: Bytes::new(),
        };
        let (raw, arn) = eb.nth(7);
        let v: Value = serde_json::from_slice(&raw).unwrap();
        let want = "arn:aws:states:eu-west-1:1:execution:m:bench-00000007";
        assert_eq!(arn.as_deref(), Some(want));
        assert_eq!(v["detail"]["executionArn"], want);
        assert_eq!(v["detail"]["name"], "bench-00000007");
        assert_eq!(v["resources"][0], want);
        let bare = Event {
            name: "bare".into(),
            value: json!({"Error": "E", "Cause": "boom"}),
            route: Route::Catch,
            case: Bytes::new(),
        };
        let (raw, arn) = bare.nth(2);
        assert_eq!(arn, None);
        let v: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(v["Cause"], "boom (bench-00000002)");
    }
}
