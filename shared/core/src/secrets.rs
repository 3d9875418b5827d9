//! Where connection secrets come from: a port, with a fixed in-memory
//! source. Secrets Manager is the adapter in `ticket-bridge-aws`; the
//! per-container cache and the connection layouts live with the HTTP
//! executor that uses them (`ticket-bridge-http`).

use crate::BoxFuture;

/// Why a secret could not be read. The message names the secret id and the
/// reason; the secret's value never enters it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection secret `{id}`: {reason}")]
pub struct SecretError {
    pub id: String,
    pub reason: String,
}

/// A port, so the notifier can be tested without AWS.
pub trait SecretSource: Send + Sync {
    fn secret_string<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SecretError>>;
}

/// An in-memory source: a fixed secret string, or a fixed error. For tests
/// and for running the notifier without AWS.
#[derive(Debug, Clone)]
pub struct StaticSecret(pub Result<String, String>);

impl SecretSource for StaticSecret {
    fn secret_string<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            self.0.clone().map_err(|reason| SecretError {
                id: id.to_owned(),
                reason,
            })
        })
    }
}
