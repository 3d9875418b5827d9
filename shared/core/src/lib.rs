//! Turns AWS Step Functions failures into enriched support tickets.
//!
//! The flow, one module each: `intake` (recognise the event, normalise it to
//! a `Failure`) → `dedupe` (one failure, one ticket: a claim-store port with
//! DynamoDB and memory adapters) → `cause` (decode the Cause string) →
//! `ticket` (Subject + HTML Body, with `redact` applied to everything from
//! the event) → `connection`/`secrets` (credentials from the EventBridge
//! connection secret, cached) → `oauth` (token grant and cache) → `delivery`
//! (POST with a pure retry decision and token refresh) → on final failure
//! `fallback` (a publisher port with an SNS adapter) and a typed `error`.
//! `notifier` ties them together for one invocation; `redact::Gate` is the
//! one way out for every byte. `config` is the outer layer: it reads the
//! environment into the settings types these modules define, and none of
//! them imports it. No module depends on Lambda runtime types, so all of it
//! is testable without AWS; the benchmark harness (`bench/`) and the fuzz
//! targets (`fuzz/`) use this crate as a library.

pub mod cause;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod connection;
pub mod dedupe;
pub mod delivery;
mod dynamo;
pub mod error;
pub mod fallback;
pub mod history;
mod html;
pub mod http;
pub mod incident;
pub mod intake;
pub mod links;
pub mod notifier;
pub mod oauth;
pub mod redact;
mod sdk;
pub mod secrets;
mod text;
pub mod ticket;
pub mod transport;

pub use config::Config;
pub use error::{ConfigError, NotifierError};
pub use intake::{Failure, Intake};
pub use notifier::{Notifier, Outcome};
pub use ticket::{CaseBody, RenderConfig};

/// The future a port's method returns: boxed, so adapters can sit behind
/// `dyn` (the notifier picks DynamoDB or memory at cold start).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
