//! Where connection secrets come from, and a per-container cache of them.
//!
//! The cache exists for cost and latency: a warm invocation should not pay a
//! Secrets Manager round trip. It is refreshed when the TTL runs out, or
//! early when the ticket API says the credentials are wrong (a rotation).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use crate::connection::Connection;
use crate::redact::Gate;

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
    fn secret_string(&self, id: &str) -> impl Future<Output = Result<String, SecretError>> + Send;
}

/// The Secrets Manager adapter.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }
}

impl SecretSource for SecretsManager {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        let fail = |reason: String| SecretError {
            id: id.to_owned(),
            reason,
        };
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| fail(describe(&e)))?;
        out.secret_string.ok_or_else(|| {
            fail("has no SecretString (binary secrets are not connection secrets)".to_owned())
        })
    }
}

/// One line per failure kind; the SDK's own Display is a bare "service error".
fn describe(e: &SdkError<GetSecretValueError>) -> String {
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code =
                aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(err).unwrap_or("unknown");
            let what = match err {
                GetSecretValueError::ResourceNotFoundException(_) => "not found",
                GetSecretValueError::DecryptionFailure(_) => {
                    "cannot be decrypted (check the KMS key policy)"
                }
                GetSecretValueError::InvalidRequestException(_) => {
                    "cannot be read now (deleted or disabled?)"
                }
                _ if code.contains("AccessDenied") => {
                    "access denied (the function's role needs secretsmanager:GetSecretValue on it)"
                }
                _ => "Secrets Manager refused the request",
            };
            format!("{what} ({code}, HTTP {})", se.raw().status().as_u16())
        }
        other => crate::sdk::describe_sdk_error("Secrets Manager", other),
    }
}

/// An in-memory source: a fixed secret string, or a fixed error. For tests
/// and for running the notifier without AWS.
#[derive(Debug, Clone)]
pub struct StaticSecret(pub Result<String, String>);

impl SecretSource for StaticSecret {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        self.0.clone().map_err(|reason| SecretError {
            id: id.to_owned(),
            reason,
        })
    }
}

/// A parsed connection with a time-to-live, shared by all invocations of a
/// warm container.
pub struct SecretCache<S> {
    source: S,
    id: String,
    ttl: Duration,
    gate: Gate,
    entry: Mutex<Option<(Instant, Arc<Connection>)>>,
}

impl<S: SecretSource> SecretCache<S> {
    /// `gate` learns every value of every connection read, before anything
    /// else sees the connection.
    pub fn new(source: S, id: impl Into<String>, ttl: Duration, gate: Gate) -> Self {
        SecretCache {
            source,
            id: id.into(),
            ttl,
            gate,
            entry: Mutex::new(None),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The cached connection, read afresh when older than the TTL.
    pub async fn get(&self) -> Result<Arc<Connection>, SecretError> {
        if let Some((at, conn)) = self.entry.lock().map_or(None, |e| e.clone())
            && at.elapsed() < self.ttl
        {
            return Ok(conn);
        }
        self.refresh().await
    }

    /// Reads the secret now, replacing the cached one.
    pub async fn refresh(&self) -> Result<Arc<Connection>, SecretError> {
        let raw = self.source.secret_string(&self.id).await?;
        let conn = Arc::new(Connection::parse(&raw).map_err(|reason| SecretError {
            id: self.id.clone(),
            reason,
        })?);
        self.gate.learn(conn.secret_values());
        if let Ok(mut entry) = self.entry.lock() {
            *entry = Some((Instant::now(), conn.clone()));
        }
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        reads: AtomicUsize,
        value: &'static str,
    }

    impl SecretSource for Counting {
        async fn secret_string(&self, _id: &str) -> Result<String, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.value.to_owned())
        }
    }

    #[tokio::test]
    async fn caches_within_ttl_and_refreshes_on_demand() {
        let src = Counting {
            reads: AtomicUsize::new(0),
            value: r#"{"username":"u","password":"p"}"#,
        };
        let cache = SecretCache::new(
            src,
            "id",
            Duration::from_secs(300),
            Gate::new(Default::default()),
        );
        cache.get().await.unwrap();
        cache.get().await.unwrap();
        assert_eq!(cache.source.reads.load(Ordering::SeqCst), 1);
        cache.refresh().await.unwrap();
        assert_eq!(cache.source.reads.load(Ordering::SeqCst), 2);
        let expired = SecretCache::new(
            Counting {
                reads: AtomicUsize::new(0),
                value: r#"{"username":"u","password":"p"}"#,
            },
            "id",
            Duration::ZERO,
            Gate::new(Default::default()),
        );
        expired.get().await.unwrap();
        expired.get().await.unwrap();
        assert_eq!(expired.source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn bad_layout_names_the_secret_id_only() {
        let cache = SecretCache::new(
            Counting {
                reads: AtomicUsize::new(0),
                value: r#"{"CANARY":"CANARY"}"#,
            },
            "events!connection/x",
            Duration::ZERO,
            Gate::new(Default::default()),
        );
        let err = cache.get().await.unwrap_err().to_string();
        assert!(
            err.starts_with(
                "connection secret `events!connection/x`: unknown connection secret layout"
            ),
            "{err}"
        );
        assert_eq!(
            err.matches("CANARY").count(),
            1,
            "only the key name may appear: {err}"
        );
    }
}
