//! The core of the Step Functions ticket bridge: everything that decides,
//! nothing that talks to AWS or the network. Adapters live in their own
//! crates (`ticket-bridge-aws`, `ticket-bridge-http`,
//! `ticket-bridge-outseta`) and depend on this one; it never depends on
//! them, so it builds without the AWS SDK, an HTTP client or TLS.
//!
//! The flow, one module each: `intake` (recognise the event, normalise it to
//! a `Failure`) → `dedupe` (one failure, one ticket, over a claim-store
//! port) → `history` (the EventBridge path's failed state, over a history
//! port) → `cause` (decode the Cause string) → `ticket` (Subject + HTML
//! Body, with `redact` applied to everything from the event) → `incident`
//! (a recurring failure is one case that grows, over an incident-store
//! port; `incidents` is the service acting on it: occurrences, the flush,
//! recovery notes) → `desk` (the support desk port: create, reply, read,
//! update) → on final failure `fallback` (a publisher port) and a typed
//! `error`. `notifier` ties them together for one invocation and answers
//! with an `outcome`; `redact::Gate` is the one way out for every byte.
//! `config` is the outer layer: it reads the environment into the settings
//! types these modules define, and none of them imports it. `ports` lists
//! every port in one place. No module depends on Lambda runtime types; the
//! benchmark harness (`bench/`) and the fuzz targets (`fuzz/`) use this
//! crate as a library.

pub mod budget;
pub mod cause;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod dedupe;
pub mod desk;
pub mod error;
pub mod fallback;
pub mod history;
mod html;
pub mod incident;
pub mod incidents;
pub mod intake;
pub mod links;
pub mod metrics;
pub mod notifier;
pub mod outcome;
pub mod ports;
pub mod redact;
pub mod routing;
pub mod secrets;
pub mod text;
pub mod ticket;

pub use config::Config;
pub use error::{ConfigError, NotifierError};
pub use intake::{Failure, Intake};
pub use notifier::{Notifier, Outcome};
pub use ticket::{RenderConfig, Ticket};

/// The future a port's method returns: boxed, so adapters can sit behind
/// `dyn` (the notifier picks DynamoDB or memory at cold start).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
