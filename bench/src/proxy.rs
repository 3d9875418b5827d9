//! A counting reverse proxy. It sits in front of moto (Secrets Manager) and
//! mock-auth (the token endpoint), so Secrets Manager reads and token
//! fetches are counted from outside, the same way for every runtime, with no
//! trust in any runtime's own log; and, in the storm, in front of the desk
//! (mock-api), counting its requests by kind and answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use crate::http::{Reply, Server, reply, serve};

/// Headers that describe one hop, not the message.
const HOP: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
    "upgrade",
];

/// One proxied request: when it arrived and when its answer went back.
#[derive(Debug, Clone)]
pub struct Seen {
    pub key: String,
    pub arrived: Instant,
    pub answered: Instant,
}

#[derive(Default)]
struct Book {
    counts: HashMap<String, u64>,
    /// By `KEY STATUS` (`POST reply 429`), when answered.
    answers: HashMap<String, u64>,
    /// When the last POST or PUT was answered with a 2xx.
    last_write_ok: Option<Instant>,
    /// Kept only while a cold start is being traced (bounded by the caller).
    trace: Option<Vec<Seen>>,
}

pub struct Proxy {
    server: Server,
    book: Arc<Mutex<Book>>,
}

/// Names a request for the counts, from its method, path and headers.
pub type Keyer = fn(&hyper::Method, &str, &hyper::HeaderMap) -> String;

/// The `X-Amz-Target` of AWS JSON calls (e.g. `secretsmanager.GetSecretValue`),
/// else `METHOD /path`.
fn default_key(method: &hyper::Method, path: &str, headers: &hyper::HeaderMap) -> String {
    match headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(target) => target.to_owned(),
        None => format!("{method} {path}"),
    }
}

impl Proxy {
    /// Forwards everything to `upstream` (`http://host:port`, no path).
    pub async fn start(upstream: String, client: reqwest::Client) -> std::io::Result<Self> {
        Self::start_keyed(upstream, client, default_key).await
    }

    /// [`Proxy::start`], counting requests under the names `key` gives them.
    pub async fn start_keyed(
        upstream: String,
        client: reqwest::Client,
        key: Keyer,
    ) -> std::io::Result<Self> {
        let book = Arc::new(Mutex::new(Book::default()));
        let b = book.clone();
        let upstream = Arc::new(upstream);
        let server =
            serve(move |req| forward(req, upstream.clone(), client.clone(), b.clone(), key))
                .await?;
        Ok(Proxy { server, book })
    }

    /// Every count so far, by key, and by `KEY STATUS`.
    pub fn counts(&self) -> (HashMap<String, u64>, HashMap<String, u64>) {
        self.book
            .lock()
            .map(|b| (b.counts.clone(), b.answers.clone()))
            .unwrap_or_default()
    }

    /// When a POST or PUT last got a 2xx answer.
    pub fn last_write_ok(&self) -> Option<Instant> {
        self.book.lock().ok().and_then(|b| b.last_write_ok)
    }

    /// Forgets every count.
    pub fn reset(&self) {
        if let Ok(mut b) = self.book.lock() {
            b.counts.clear();
            b.answers.clear();
            b.last_write_ok = None;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Requests seen so far under `key` (see [`Keyer`]).
    pub fn count(&self, key: &str) -> u64 {
        self.book
            .lock()
            .map(|b| b.counts.get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Starts recording every request (for a cold start's timeline).
    pub fn trace_start(&self) {
        if let Ok(mut b) = self.book.lock() {
            b.trace = Some(Vec::new());
        }
    }

    /// Stops recording and returns what was seen.
    pub fn trace_take(&self) -> Vec<Seen> {
        self.book
            .lock()
            .ok()
            .and_then(|mut b| b.trace.take())
            .unwrap_or_default()
    }
}

async fn forward(
    req: Request<Incoming>,
    upstream: Arc<String>,
    client: reqwest::Client,
    book: Arc<Mutex<Book>>,
    keyer: Keyer,
) -> Reply {
    let arrived = Instant::now();
    let key = keyer(req.method(), req.uri().path(), req.headers());
    let write = matches!(*req.method(), hyper::Method::POST | hyper::Method::PUT);
    if let Ok(mut b) = book.lock() {
        *b.counts.entry(key.clone()).or_insert(0) += 1;
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = client.request(parts.method, format!("{upstream}{path}"));
    for (k, v) in &parts.headers {
        if !HOP.contains(&k.as_str()) {
            out = out.header(k, v);
        }
    }
    let resp = match out.body(body).send().await {
        Ok(r) => r,
        Err(_) => return reply(StatusCode::BAD_GATEWAY, "upstream unreachable"),
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap_or_else(|_| Bytes::new());
    let mut r = reply(status, bytes);
    for (k, v) in &headers {
        if !HOP.contains(&k.as_str()) {
            r.headers_mut().append(k, v.clone());
        }
    }
    if let Ok(mut b) = book.lock() {
        let answered = Instant::now();
        *b.answers
            .entry(format!("{key} {}", status.as_u16()))
            .or_insert(0) += 1;
        if write && status.is_success() {
            b.last_write_ok = Some(answered);
        }
        if let Some(t) = b.trace.as_mut() {
            t.push(Seen {
                key,
                arrived,
                answered,
            });
        }
    }
    r
}
