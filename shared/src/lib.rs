//! Turns AWS Step Functions failures into enriched support tickets.
//!
//! The pipeline is `event` (recognise the shape) → `cause` (decode the Cause
//! string) → `ticket` (render, with `redact` applied to everything that came
//! from the event) → `connection`/`secrets` (credentials from the EventBridge
//! connection secret) → `delivery` (POST with retries and token refresh).
//! `notifier` ties them together for one invocation; the Lambda binary only
//! adapts it to the runtime. No module here depends on Lambda runtime types,
//! so all of it is testable without AWS.

pub mod cause;
pub mod config;
pub mod connection;
pub mod dedupe;
pub mod delivery;
pub mod error;
pub mod event;
pub mod fallback;
pub mod history;
mod html;
pub mod links;
pub mod notifier;
pub mod redact;
pub mod secrets;
pub mod ticket;

pub use config::{Config, ConfigError, RenderConfig};
pub use error::NotifierError;
pub use event::{Failure, Intake};
pub use notifier::{Notifier, Outcome};
pub use ticket::CaseBody;
