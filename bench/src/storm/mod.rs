//! The storm's cost curve: N failures of F fingerprints (incidents) through
//! the real notifier, several processes at once as Lambda scales out, with
//! incident grouping on a DynamoDB table in moto and a desk (mock-api) that
//! answers 429 beyond 4 requests a second, as Outseta does (issue 17), and
//! a reply interval of 1 s. After the last failure the flush event posts
//! what waits; then the desk is read back and every failure looked for.
//!
//! The processes take failures off one queue, each invocation after the
//! last: a notifier with reserved concurrency N, whose further events wait
//! in Lambda's queue. A storm that has sent failures for longer than its
//! budget stops sending (the row says it was cut, and at how many), so one
//! storm the desk's limit slows to a crawl cannot hold up the run.
//!
//! Each storm gets its own state machine (so its own incidents and cases)
//! and its own table. Counted from outside: the desk's requests by kind and
//! answer (a proxy in front of it), moto's calls by operation
//! (`scripts/moto_atomic.py`), and the processes' CPU time (`wait4`, whole
//! lives: cold start, storm and flush).

mod desk;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::opts::Opts;
use crate::process::Child;
use crate::proxy::Proxy;
use crate::runner::{Instance, Runtime};
use crate::services::{REGION, Services};

/// The desk's limit, as Outseta enforces it per API key.
pub const RATE_LIMIT_PER_SECOND: u32 = 4;
/// The notifier's `INCIDENT_REPLY_INTERVAL_SECONDS` in the storm.
pub const REPLY_INTERVAL: Duration = Duration::from_secs(1);
/// Tries per failure: the first, then Lambda's two retries of an
/// asynchronous invocation (EventBridge's and a Catch's redelivery alike).
const TRIES: u32 = 3;
/// Flushes after the storm, at most, each one reply interval after the last.
const FLUSHES_MAX: u32 = 30;
const ACCOUNT: &str = "123456789012";

/// One storm's measurements.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Failures sent (all of `requested` unless the budget cut the storm).
    pub failures: usize,
    pub requested: usize,
    /// Whether the budget stopped the storm before it sent every failure.
    pub cut: bool,
    pub fingerprints: usize,
    pub processes: usize,
    /// Cases on the desk for the storm's state machine.
    pub cases: usize,
    /// Replies on those cases.
    pub replies: usize,
    /// The notifier's requests to the desk, by kind (`case`, `reply`, ...).
    pub desk_requests: BTreeMap<String, u64>,
    /// Of those, answered 429.
    pub rate_limited: u64,
    /// DynamoDB calls by operation (`UpdateItem`, ...).
    pub dynamodb_calls: BTreeMap<String, u64>,
    /// Every other AWS call (Secrets Manager, Step Functions tags).
    pub other_aws_calls: BTreeMap<String, u64>,
    /// CPU time of all the storm's notifier processes, whole lives.
    pub notifier_cpu_ms: f64,
    /// From the first failure sent to the last desk write that succeeded:
    /// when the last occurrence was on its case.
    pub last_on_case_s: f64,
    /// From the first failure sent to the last invocation's answer.
    pub invocations_s: f64,
    /// Invocations in all (first tries, retries, flushes).
    pub invocations: u64,
    /// Invocations that failed and were sent again, as Lambda retries.
    pub retried: u64,
    /// Failures whose every try failed.
    pub gave_up: u64,
    pub flushes: u64,
    /// The invocations' outcomes (`new_case`, `reply_posted`, ...).
    pub outcomes: BTreeMap<String, u64>,
    /// Occurrences the incidents recorded (the highest occurrence number
    /// per fingerprint, summed): the failures, each once.
    pub occurrences_recorded: u64,
    /// Failures named on the desk (case body or a reply).
    pub named: u64,
    /// Occurrences a reply only counted ("And N more, only counted").
    pub counted: u64,
    /// Failures neither named nor counted on the desk: must be 0.
    pub missing: u64,
    pub peak_rss_kb: u64,
}

impl Row {
    pub fn desk_total(&self) -> u64 {
        self.desk_requests.values().sum()
    }

    pub fn dynamodb_total(&self) -> u64 {
        self.dynamodb_calls.values().sum()
    }
}

/// The desk of the storms: a mock-api of its own with the rate limit, and
/// the counting proxy the notifiers reach it through.
struct Desk {
    proxy: Proxy,
    url: String,
    _watch: Child,
}

/// Runs every storm the options ask for (none: an empty list).
pub async fn run(o: &Opts, s: &Services, notifier: &Runtime) -> Result<Vec<Row>, String> {
    if o.storm.is_empty() {
        return Ok(Vec::new());
    }
    let limit = [("RATE_LIMIT_PER_SECOND", RATE_LIMIT_PER_SECOND.to_string())];
    let (watch, url) = s.extra_mock_api("storm-watch", &limit).await?;
    let proxy = Proxy::start_keyed(url.clone(), s.http.clone(), desk::request_kind)
        .await
        .map_err(|e| format!("desk proxy: {e}"))?;
    let desk = Desk {
        proxy,
        url,
        _watch: watch,
    };
    let template = template(&o.root)?;
    let world = World {
        o,
        s,
        notifier,
        desk: &desk,
        template: &template,
    };
    let mut rows = Vec::new();
    for &failures in &o.storm {
        for &fingerprints in &o.storm_fingerprints {
            let n = rows.len() + 1;
            let started = Instant::now();
            let plan = Plan {
                n,
                failures,
                fingerprints,
            };
            let row = storm(&world, plan).await?;
            println!(
                "bench: storm {n}: {} failures{} of {} fingerprints: {} cases, {} replies, {} desk requests, {} missing ({:.1} s)",
                row.failures,
                if row.cut {
                    format!(
                        " (CUT at {:.0} s: {failures} asked for)",
                        o.storm_budget.as_secs_f64()
                    )
                } else {
                    String::new()
                },
                row.fingerprints,
                row.cases,
                row.replies,
                row.desk_total(),
                row.missing,
                started.elapsed().as_secs_f64()
            );
            if row.missing > 0 && o.smoke {
                return Err(format!(
                    "storm {n}: {} of {failures} failures are missing from the desk",
                    row.missing
                ));
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// `events/catch-lambda.json`: the failure every storm repeats.
fn template(root: &std::path::Path) -> Result<Value, String> {
    let p = root.join("events/catch-lambda.json");
    let raw = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", p.display()))
}

/// One failure to deliver, and how often it has been tried.
struct Job {
    index: usize,
    raw: Bytes,
    tries: u32,
}

/// What one invocation answered, for the row.
#[derive(Default)]
struct Tally {
    invocations: u64,
    retried: u64,
    gave_up: u64,
    outcomes: BTreeMap<String, u64>,
    /// The highest occurrence number seen, per fingerprint.
    highest: BTreeMap<usize, u64>,
}

/// Which storm: the `n`th of the run, `failures` failures of
/// `fingerprints` fingerprints.
struct Plan {
    n: usize,
    failures: usize,
    fingerprints: usize,
}

/// What every storm of a run shares.
#[derive(Clone, Copy)]
struct World<'a> {
    o: &'a Opts,
    s: &'a Services,
    notifier: &'a Runtime,
    desk: &'a Desk,
    template: &'a Value,
}

async fn storm(w: &World<'_>, plan: Plan) -> Result<Row, String> {
    let World {
        o,
        s,
        notifier,
        desk,
        template,
    } = *w;
    let Plan {
        n,
        failures,
        fingerprints,
    } = plan;
    let fingerprints = fingerprints.min(failures);
    let machine = format!("storm-{n:02}-{failures}x{fingerprints}");
    let machine_arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}");
    let table = format!("bench-{machine}-{}", std::process::id());
    s.moto.create_table(REGION, &table).await?;
    // The machine exists, so the notifier's tag lookup finds it (and caches it).
    s.moto.create_state_machine(&machine_arn).await?;
    let names: Vec<String> = (0..failures).map(|i| desk::execution_name(n, i)).collect();
    let jobs: VecDeque<Job> = names
        .iter()
        .enumerate()
        .map(|(index, name)| Job {
            index,
            raw: failure(template, &machine, name, index % fingerprints),
            tries: 0,
        })
        .collect();
    let rt = notifier.with_env(&[
        ("IDEMPOTENCY_TABLE", table),
        ("AWS_ENDPOINT_URL_DYNAMODB", s.moto_url.clone()),
        (
            "INCIDENT_REPLY_INTERVAL_SECONDS",
            REPLY_INTERVAL.as_secs().to_string(),
        ),
        (
            "TICKET_API_URL",
            format!(
                "{}/lambda-url/mock-api/api/v1/support/cases",
                desk.proxy.url()
            ),
        ),
    ]);
    s.moto.reset_calls().await?;
    desk.proxy.reset();

    let started = Instant::now();
    let stop = started + o.storm_budget;
    let queue = Arc::new(Mutex::new(jobs));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut workers = tokio::task::JoinSet::new();
    let processes = o.storm_concurrency.min(failures).max(1);
    for k in 0..processes {
        let inst = rt
            .launch(&s.logs, &format!("storm-{n:02}-{k}"), None)
            .await?;
        workers.spawn(work(inst, queue.clone(), tally.clone(), fingerprints, stop));
    }
    let mut insts = Vec::new();
    while let Some(done) = workers.join_next().await {
        insts.push(done.map_err(|e| format!("storm worker: {e}"))??);
    }
    let invocations_s = started.elapsed().as_secs_f64();
    // What the budget left unsent; a failure tried and due for a retry was
    // sent, and must be on the desk like any other.
    let mut was_sent = vec![true; failures];
    for j in queue.lock().map_err(|_| "storm queue poisoned")?.iter() {
        if j.tries == 0 {
            was_sent[j.index] = false;
        }
    }
    let sent: Vec<String> = names
        .iter()
        .zip(&was_sent)
        .filter(|(_, sent)| **sent)
        .map(|(name, _)| name.clone())
        .collect();

    // What waits goes out with the flush, once its reply interval has
    // passed; then again, until a flush finds nothing left to post.
    let flusher = insts.first_mut().ok_or("no storm process")?;
    let mut flushes = 0;
    loop {
        let since = desk
            .proxy
            .last_write_ok()
            .map_or(started, |t| t.max(started));
        tokio::time::sleep_until((since + REPLY_INTERVAL + Duration::from_millis(200)).into())
            .await;
        flushes += 1;
        let posted = flush(flusher).await?;
        if !posted || flushes >= FLUSHES_MAX {
            break;
        }
    }
    let last_on_case_s = desk
        .proxy
        .last_write_ok()
        .map_or(0.0, |t| t.saturating_duration_since(started).as_secs_f64());

    let mut cpu = Duration::ZERO;
    let mut peak_rss_kb = 0;
    for inst in &mut insts {
        let peak = inst.child.peak_rss_kb();
        let usage = inst
            .child
            .stop(Duration::ZERO)
            .ok_or("could not reap a storm process")?;
        cpu += usage.cpu;
        peak_rss_kb = peak_rss_kb.max(peak.unwrap_or(usage.max_rss_kb));
    }
    let calls = s.moto.calls().await?;
    let (requests, answers) = desk.proxy.counts();
    let found = desk::read_back(s, &desk.url, &machine, &sent).await?;

    let t = std::mem::take(&mut *tally.lock().map_err(|_| "storm tally poisoned")?);
    let mut row = Row {
        failures: sent.len(),
        requested: failures,
        cut: sent.len() < failures,
        fingerprints,
        processes,
        cases: found.cases,
        replies: found.replies,
        desk_requests: requests.into_iter().collect(),
        rate_limited: answers
            .iter()
            .filter(|(k, _)| k.ends_with(" 429"))
            .map(|(_, v)| v)
            .sum(),
        notifier_cpu_ms: cpu.as_secs_f64() * 1e3,
        last_on_case_s,
        invocations_s,
        invocations: t.invocations + u64::from(flushes),
        retried: t.retried,
        gave_up: t.gave_up,
        flushes: flushes.into(),
        outcomes: t.outcomes,
        occurrences_recorded: t.highest.values().sum(),
        named: found.named,
        counted: found.counted,
        missing: found.missing,
        peak_rss_kb,
        ..Row::default()
    };
    for (op, count) in calls {
        match op.strip_prefix("DynamoDB.") {
            Some(kind) => row.dynamodb_calls.insert(kind.to_owned(), count),
            None => row.other_aws_calls.insert(op, count),
        };
    }
    Ok(row)
}

/// The template as failure `name` of `machine`, failed in the state of its
/// fingerprint: one fingerprint is one (machine, state, error).
fn failure(template: &Value, machine: &str, name: &str, fingerprint: usize) -> Bytes {
    let mut v = template.clone();
    v["execution"] = json!(format!(
        "arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"
    ));
    v["stateMachine"] = json!(machine);
    v["failedState"] = json!(format!("Step{fingerprint:03}"));
    serde_json::to_vec(&v).map(Bytes::from).unwrap_or_default()
}

/// One notifier process taking failures off the queue until it is empty
/// or the storm's budget is spent. A failed invocation goes back on the
/// queue, up to [`TRIES`] in all.
async fn work(
    mut inst: Instance,
    queue: Arc<Mutex<VecDeque<Job>>>,
    tally: Arc<Mutex<Tally>>,
    fingerprints: usize,
    stop: Instant,
) -> Result<Instance, String> {
    let timeout = Duration::from_secs(120);
    loop {
        if Instant::now() >= stop {
            return Ok(inst);
        }
        let job = queue
            .lock()
            .map_err(|_| "storm queue poisoned")?
            .pop_front();
        let Some(mut job) = job else {
            return Ok(inst);
        };
        job.tries += 1;
        let out = inst.invoke_raw(job.raw.clone(), timeout).await?;
        let mut t = tally.lock().map_err(|_| "storm tally poisoned")?;
        t.invocations += 1;
        match out.result {
            Ok(body) => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let label = match (
                    v.get("incident").and_then(Value::as_str),
                    v.get("duplicate"),
                ) {
                    (_, Some(Value::Bool(true))) => "duplicate",
                    (Some(label), _) => label,
                    (None, _) => "not an incident",
                };
                *t.outcomes.entry(label.to_owned()).or_insert(0) += 1;
                if let Some(occ) = v.get("occurrence").and_then(Value::as_u64) {
                    let top = t.highest.entry(job.index % fingerprints).or_insert(0);
                    *top = (*top).max(occ);
                }
            }
            Err(_) if job.tries < TRIES => {
                t.retried += 1;
                drop(t);
                queue
                    .lock()
                    .map_err(|_| "storm queue poisoned")?
                    .push_back(job);
            }
            Err(_) => t.gave_up += 1,
        }
    }
}

/// Sends the flush event; whether it posted anything.
async fn flush(inst: &mut Instance) -> Result<bool, String> {
    let event = Bytes::from_static(br#"{"ticketBridge":"flush"}"#);
    let out = inst.invoke_raw(event, Duration::from_secs(120)).await?;
    let body = match out.result {
        Ok(body) => body,
        // A flush that failed for an incident says so; the next one retries.
        Err(_) => return Ok(true),
    };
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("flush answer: {e}"))?;
    let f = v
        .get("flush")
        .ok_or_else(|| format!("flush answered {v}"))?;
    let n = |k: &str| f.get(k).and_then(Value::as_u64).unwrap_or(0);
    Ok(n("replies") + n("newCases") + n("occurrences") + n("failed") > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storm_failures_differ_by_execution_and_group_by_state() {
        let t = json!({"error": {"Error": "E"}, "execution": "x", "stateMachine": "m", "failedState": "s"});
        let a: Value =
            serde_json::from_slice(&failure(&t, "storm-01-10x2", "s01-000003", 1)).unwrap();
        assert_eq!(
            a["execution"],
            "arn:aws:states:eu-west-1:123456789012:execution:storm-01-10x2:s01-000003"
        );
        assert_eq!(a["stateMachine"], "storm-01-10x2");
        assert_eq!(a["failedState"], "Step001");
        assert_eq!(a["error"], t["error"]);
    }
}
