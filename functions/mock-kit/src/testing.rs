//! Helpers for the mocks' own tests (feature `testing`): building requests, reading
//! JSON answers, and capturing the log lines a request leaves.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Request, Response, http};
use serde_json::Value;
use tracing::subscriber::DefaultGuard;

/// A request as a Function URL hands it to the handler.
pub fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body)).expect("valid test request") // ok: test helper; a bad fixture must fail its test
}

/// An `Authorization: Basic` value for `user:password`, unencoded as RFC 7617 has it.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// A variable source holding exactly `vars`, for the mocks' `Config::from_lookup`.
pub fn vars(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

pub fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body()).expect("response body is JSON") // ok: test helper; a non-JSON answer must fail its test
}

/// Captures, as plain text, what is logged on this thread until [`LogCapture::text`].
///
/// Use it from a test binary of its own (or a `current_thread` runtime): tracing
/// caches per-callsite interest globally, so handlers logging on parallel test
/// threads without a subscriber race with a scoped capture subscriber.
pub struct LogCapture {
    captured: Captured,
    _guard: DefaultGuard,
}

impl LogCapture {
    pub fn start() -> Self {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        LogCapture {
            captured,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged since [`LogCapture::start`]; capturing stops here.
    pub fn text(self) -> String {
        let bytes = self
            .captured
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8(bytes).expect("utf-8 log") // ok: test helper; the subscriber writes UTF-8
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
