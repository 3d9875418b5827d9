//! A per-container cache of the connection secret, parsed.
//!
//! The cache exists for cost and latency: a warm invocation should not pay a
//! Secrets Manager round trip. It is refreshed when the TTL runs out, or
//! early when the API says the credentials are wrong (a rotation).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ticket_bridge::redact::Gate;
use ticket_bridge::secrets::{SecretError, SecretSource};

use crate::connection::Connection;

/// A parsed connection with a time-to-live, shared by all invocations of a
/// warm container.
pub struct SecretCache {
    source: Arc<dyn SecretSource>,
    id: String,
    ttl: Duration,
    gate: Gate,
    entry: Mutex<Option<(Instant, Arc<Connection>)>>,
}

impl SecretCache {
    /// `gate` pins every value of the connection read, before anything
    /// else sees it: tokens rotating later never evict them.
    pub fn new(
        source: Arc<dyn SecretSource>,
        id: impl Into<String>,
        ttl: Duration,
        gate: Gate,
    ) -> Self {
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
        self.gate.pin(conn.secret_values());
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
        fn secret_string<'a>(
            &'a self,
            _id: &'a str,
        ) -> ticket_bridge::BoxFuture<'a, Result<String, SecretError>> {
            Box::pin(async move {
                self.reads.fetch_add(1, Ordering::SeqCst);
                Ok(self.value.to_owned())
            })
        }
    }

    fn counting(value: &'static str) -> Arc<Counting> {
        Arc::new(Counting {
            reads: AtomicUsize::new(0),
            value,
        })
    }

    #[tokio::test]
    async fn caches_within_ttl_and_refreshes_on_demand() {
        let src = counting(r#"{"username":"u","password":"p"}"#);
        let cache = SecretCache::new(
            src.clone(),
            "id",
            Duration::from_secs(300),
            Gate::new(Default::default()),
        );
        cache.get().await.unwrap();
        cache.get().await.unwrap();
        assert_eq!(src.reads.load(Ordering::SeqCst), 1);
        cache.refresh().await.unwrap();
        assert_eq!(src.reads.load(Ordering::SeqCst), 2);
        let src = counting(r#"{"username":"u","password":"p"}"#);
        let expired = SecretCache::new(
            src.clone(),
            "id",
            Duration::ZERO,
            Gate::new(Default::default()),
        );
        expired.get().await.unwrap();
        expired.get().await.unwrap();
        assert_eq!(src.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn bad_layout_names_the_secret_id_only() {
        let cache = SecretCache::new(
            counting(r#"{"CANARY":"CANARY"}"#),
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
