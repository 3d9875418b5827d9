//! A local Lambda Runtime API (`2018-06-01`), one per function process, so
//! any runtime that speaks it (lambda_runtime, awslambdaric, ...) is driven
//! the same way and timed from outside.
//!
//! An invocation's time is what Lambda would bill: from the moment the event
//! is handed out on `/next` to the moment `/response` (or `/error`) arrives.
//! The process's own bookkeeping before its next `/next` is not in it, just
//! as on Lambda.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use tokio::sync::{mpsc, oneshot, watch};

use crate::http::{Reply, Server, reply, serve};

const PREFIX: &str = "/2018-06-01/runtime";
/// The deadline each invocation carries; far beyond any healthy one.
const DEADLINE: Duration = Duration::from_secs(60);

/// How one invocation ended, with its timestamps.
#[derive(Debug)]
pub struct Outcome {
    /// When `/next` handed the event out.
    pub started: Instant,
    /// When `/response` or `/error` arrived.
    pub finished: Instant,
    /// The response body, or the error body.
    pub result: Result<Bytes, Bytes>,
}

struct Pending {
    event: Bytes,
    done: oneshot::Sender<Outcome>,
}

struct InFlight {
    started: Instant,
    done: oneshot::Sender<Outcome>,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    /// How many `/next` requests have arrived: the process is idle, waiting
    /// for work, once this counts one more than its invocations.
    nexts: watch::Sender<u64>,
    in_flight: Mutex<HashMap<String, InFlight>>,
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    seq: AtomicU64,
    function_arn: String,
}

/// The endpoint one function process talks to (`AWS_LAMBDA_RUNTIME_API`).
pub struct RuntimeApi {
    server: Server,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Pending>,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(rx),
            nexts: watch::channel(0).0,
            in_flight: Mutex::new(HashMap::new()),
            first_next: Mutex::new(None),
            init_error: Mutex::new(None),
            seq: AtomicU64::new(0),
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        });
        let s = shared.clone();
        let server = serve(move |req| route(s.clone(), req)).await?;
        Ok(RuntimeApi { server, shared, tx })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.server.addr.to_string()
    }

    /// Queues an event; the function gets it on its next `/next`.
    pub fn submit(&self, event: Bytes) -> oneshot::Receiver<Outcome> {
        let (done, rx) = oneshot::channel();
        // The receiver lives as long as `self`, so this cannot fail while
        // anyone can still await the answer.
        let _ = self.tx.send(Pending { event, done });
        rx
    }

    /// When the process first asked for work: the end of its init.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.first_next.lock().ok().and_then(|g| *g)
    }

    /// Waits until the process has asked for work `n` times in all: after
    /// an invocation, the moment it is idle again, with everything it does
    /// for that invocation (its log line, its bookkeeping) behind it.
    pub async fn wait_nexts(&self, n: u64, timeout: Duration) -> Result<(), String> {
        let mut rx = self.shared.nexts.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(|&c| c >= n)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err("the runtime API went away".to_owned()),
            Err(_) => Err(format!(
                "the process did not ask for its next event within {timeout:?}"
            )),
        }
    }

    /// What the process reported on `/init/error`, if it did.
    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().ok().and_then(|g| g.clone())
    }
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let arrived = Instant::now();
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return reply(StatusCode::NOT_FOUND, "unknown path");
    };
    match (req.method(), rest) {
        (&Method::GET, "/invocation/next") => next(&shared).await,
        (&Method::POST, "/init/error") => {
            let body = body_of(req).await;
            if let Ok(mut e) = shared.init_error.lock() {
                *e = Some(String::from_utf8_lossy(&body).into_owned());
            }
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        (&Method::POST, rest) => {
            let Some(rest) = rest.strip_prefix("/invocation/") else {
                return reply(StatusCode::NOT_FOUND, "unknown path");
            };
            let (id, ok) = if let Some(id) = rest.strip_suffix("/response") {
                (id.to_owned(), true)
            } else if let Some(id) = rest.strip_suffix("/error") {
                (id.to_owned(), false)
            } else {
                return reply(StatusCode::NOT_FOUND, "unknown path");
            };
            let body = body_of(req).await;
            let entry = shared.in_flight.lock().ok().and_then(|mut m| m.remove(&id));
            let Some(entry) = entry else {
                return reply(StatusCode::BAD_REQUEST, "unknown request id");
            };
            let _ = entry.done.send(Outcome {
                started: entry.started,
                finished: arrived,
                result: if ok { Ok(body) } else { Err(body) },
            });
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    }
}

/// Long-polls until the harness has an event, then hands it out with the
/// headers every runtime client expects.
async fn next(shared: &Shared) -> Reply {
    if let Ok(mut first) = shared.first_next.lock() {
        first.get_or_insert_with(Instant::now);
    }
    shared.nexts.send_modify(|n| *n += 1);
    let pending = shared.queue.lock().await.recv().await;
    let Some(pending) = pending else {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "harness is shutting down");
    };
    let n = shared.seq.fetch_add(1, Ordering::Relaxed);
    let id = format!("00000000-0000-4000-8000-{n:012}");
    let deadline = (SystemTime::now() + DEADLINE)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut r = reply(StatusCode::OK, pending.event);
    let h = r.headers_mut();
    let pairs = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", id.clone()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            shared.function_arn.clone(),
        ),
        (
            "lambda-runtime-trace-id",
            format!("Root=1-00000000-{n:024x};Sampled=0"),
        ),
    ];
    for (k, v) in pairs {
        if let Ok(v) = v.parse() {
            h.insert(k, v);
        }
    }
    if let Ok(mut m) = shared.in_flight.lock() {
        m.insert(
            id,
            InFlight {
                started: Instant::now(),
                done: pending.done,
            },
        );
    }
    r
}

async fn body_of(req: Request<Incoming>) -> Bytes {
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}
