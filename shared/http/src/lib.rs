//! Calling an HTTPS API the way an EventBridge connection describes it, for
//! the desk adapters: the connection secret's layouts (`connection`) and
//! their per-container cache (`secrets`), OAuth client credentials
//! (`oauth`), the process's one TLS stack (`transport`), and the retrying,
//! deadline-aware executor (`executor`). It knows no desk: what to call and
//! how to read the answer is the adapter's.

pub mod connection;
pub mod endpoint;
pub mod executor;
pub mod oauth;
pub mod secrets;
pub mod transport;

pub use executor::{Answer, Call, Executor, http_client};
