//! A counting reverse proxy. It sits in front of moto (Secrets Manager) and
//! mock-auth (the token endpoint), so Secrets Manager reads and token
//! fetches are counted from outside, the same way for both runtimes, with no
//! trust in either runtime's own log.

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
    /// Kept only while a cold start is being traced (bounded by the caller).
    trace: Option<Vec<Seen>>,
}

pub struct Proxy {
    server: Server,
    book: Arc<Mutex<Book>>,
}

impl Proxy {
    /// Forwards everything to `upstream` (`http://host:port`, no path).
    pub async fn start(upstream: String, client: reqwest::Client) -> std::io::Result<Self> {
        let book = Arc::new(Mutex::new(Book::default()));
        let b = book.clone();
        let upstream = Arc::new(upstream);
        let server =
            serve(move |req| forward(req, upstream.clone(), client.clone(), b.clone())).await?;
        Ok(Proxy { server, book })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Requests seen so far under `key`: the `X-Amz-Target` of AWS JSON
    /// calls (e.g. `secretsmanager.GetSecretValue`), else `METHOD /path`.
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
) -> Reply {
    let arrived = Instant::now();
    let key = match req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(target) => target.to_owned(),
        None => format!("{} {}", req.method(), req.uri().path()),
    };
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
    if let Ok(mut b) = book.lock()
        && let Some(t) = b.trace.as_mut()
    {
        t.push(Seen {
            key,
            arrived,
            answered: Instant::now(),
        });
    }
    r
}
