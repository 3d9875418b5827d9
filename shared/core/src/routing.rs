//! Routing by the state machine's own tags: who the case is assigned to,
//! which desk tags it carries, how severe it is and where its runbook is.
//! The owners of a pipeline say it where they define the pipeline, and the
//! bridge needs no mapping table of its own.
//!
//! | tag | value | becomes |
//! |---|---|---|
//! | `ticket-bridge:assignee` | a person's id at the desk | the case's assignee |
//! | `ticket-bridge:tags` | desk tag names separated by `/` (AWS tag values allow no commas) | the case's tags |
//! | `ticket-bridge:severity` | one word, e.g. `critical` | `[critical] ` leading the Subject |
//! | `ticket-bridge:runbook` | an https URL | a "Runbook" link at the top of the Body |
//!
//! Nothing here can cost the ticket: a value that is malformed, a tags read
//! that is denied or throttled, each becomes one line of [`Routing::skipped`]
//! that the Body shows, and the case is filed without that part.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::BoxFuture;

pub const ASSIGNEE_TAG: &str = "ticket-bridge:assignee";
pub const TAGS_TAG: &str = "ticket-bridge:tags";
pub const SEVERITY_TAG: &str = "ticket-bridge:severity";
pub const RUNBOOK_TAG: &str = "ticket-bridge:runbook";

/// AWS allows tag values of up to 256 characters.
const VALUE_MAX: usize = 256;
const SEVERITY_MAX: usize = 20;
const ASSIGNEE_MAX: usize = 64;
const TAG_NAME_MAX: usize = 50;
/// Desk tags one case takes from routing at most.
const TAGS_MAX: usize = 20;

/// What the state machine's tags say about its cases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    pub assignee: Option<String>,
    /// Desk tag names, in the order given, each once.
    pub tags: Vec<String>,
    pub severity: Option<String>,
    pub runbook: Option<String>,
    /// What was left out, and why: one line each, for the Body.
    pub skipped: Vec<String>,
}

impl Routing {
    /// Routing from a machine's AWS tags; tags not ours are ignored.
    pub fn from_tags(tags: &[(String, String)]) -> Self {
        let mut r = Routing::default();
        for (key, value) in tags {
            let key = key.as_str();
            if ![ASSIGNEE_TAG, TAGS_TAG, SEVERITY_TAG, RUNBOOK_TAG].contains(&key) {
                continue;
            }
            let value = value.trim();
            if value.chars().count() > VALUE_MAX || value.chars().any(char::is_control) {
                r.skip(key, "its value is too long or holds control characters");
                continue;
            }
            match key {
                ASSIGNEE_TAG if plausible_id(value) => r.assignee = Some(value.to_owned()),
                ASSIGNEE_TAG => r.skip(key, "its value is not a plausible person id"),
                SEVERITY_TAG if plausible_word(value) => r.severity = Some(value.to_owned()),
                SEVERITY_TAG => r.skip(
                    key,
                    "its value is not one word of at most 20 letters, digits, - or _",
                ),
                RUNBOOK_TAG if is_https(value) => r.runbook = Some(value.to_owned()),
                RUNBOOK_TAG => r.skip(key, "its value is not an https URL"),
                _ => r.add_tags(value),
            }
        }
        r
    }

    /// Routing when the tags could not be read: nothing but the reason.
    pub fn unavailable(why: &str) -> Self {
        Routing {
            skipped: vec![format!("routing tags unavailable: {why}")],
            ..Routing::default()
        }
    }

    fn skip(&mut self, tag: &str, why: &str) {
        self.skipped.push(format!("tag {tag} ignored: {why}"));
    }

    fn add_tags(&mut self, value: &str) {
        for name in value.split('/').map(str::trim).filter(|n| !n.is_empty()) {
            if name.chars().count() > TAG_NAME_MAX {
                self.skip(TAGS_TAG, "a tag name is longer than 50 characters");
            } else if self.tags.len() >= TAGS_MAX {
                self.skip(TAGS_TAG, "more than 20 tag names");
                return;
            } else if !self.tags.iter().any(|t| t == name) {
                self.tags.push(name.to_owned());
            }
        }
    }
}

fn plausible_id(v: &str) -> bool {
    (1..=ASSIGNEE_MAX).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn plausible_word(v: &str) -> bool {
    (1..=SEVERITY_MAX).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_https(v: &str) -> bool {
    url::Url::parse(v).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
}

/// Why a machine's tags could not be read (denied, throttled, gone).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TagError(pub String);

/// The port: a state machine's tags.
pub trait TagSource: Send + Sync {
    fn tags<'a>(
        &'a self,
        machine_arn: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, TagError>>;
}

/// Fixed tags per machine ARN, or a fixed error: for tests.
#[derive(Debug, Default)]
pub struct MemoryTags {
    pub tags: HashMap<String, Vec<(String, String)>>,
    pub error: Option<TagError>,
    /// Reads served so far.
    pub reads: std::sync::atomic::AtomicUsize,
}

impl TagSource for MemoryTags {
    fn tags<'a>(
        &'a self,
        machine_arn: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, TagError>> {
        Box::pin(async move {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            match &self.error {
                Some(e) => Err(e.clone()),
                None => Ok(self.tags.get(machine_arn).cloned().unwrap_or_default()),
            }
        })
    }
}

/// Routing per machine, read through a [`TagSource`] and kept for a while
/// (`ROUTING_CACHE_SECONDS`): a storm of one machine's failures reads its
/// tags once. A failed read is kept too, so a denied read is not repeated
/// by every failure; it is tried again when the entry lapses.
pub struct RoutingCache {
    source: std::sync::Arc<dyn TagSource>,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Routing)>>,
}

impl RoutingCache {
    pub fn new(source: std::sync::Arc<dyn TagSource>, ttl: Duration) -> Self {
        RoutingCache {
            source,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The routing of `machine_arn`'s cases.
    pub async fn routing(&self, machine_arn: &str) -> Routing {
        if let Ok(entries) = self.entries.lock()
            && let Some((at, r)) = entries.get(machine_arn)
            && at.elapsed() < self.ttl
        {
            return r.clone();
        }
        let routing = match self.source.tags(machine_arn).await {
            Ok(tags) => Routing::from_tags(&tags),
            Err(e) => Routing::unavailable(&e.0),
        };
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(machine_arn.to_owned(), (Instant::now(), routing.clone()));
        }
        routing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_tag_routes_or_is_skipped_with_a_reason() {
        let r = Routing::from_tags(&tags(&[
            (ASSIGNEE_TAG, "dpWp6Lmn"),
            (TAGS_TAG, "pipelines/ data /pipelines//"),
            (SEVERITY_TAG, "critical"),
            (
                RUNBOOK_TAG,
                "https://wiki.example.com/runbooks/orders#charge",
            ),
            ("team", "payments"),
        ]));
        assert_eq!(r.assignee.as_deref(), Some("dpWp6Lmn"));
        assert_eq!(r.tags, ["pipelines", "data"]);
        assert_eq!(r.severity.as_deref(), Some("critical"));
        assert_eq!(
            r.runbook.as_deref(),
            Some("https://wiki.example.com/runbooks/orders#charge")
        );
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);

        // (tag, bad value, what the skipped line says)
        let long = "x".repeat(257);
        let rows: &[(&str, &str, &str)] = &[
            (ASSIGNEE_TAG, "not a uid!", "plausible person id"),
            (ASSIGNEE_TAG, &long, "too long"),
            (SEVERITY_TAG, "very very critical", "one word"),
            (SEVERITY_TAG, &"s".repeat(21), "one word"),
            (RUNBOOK_TAG, "http://wiki.example.com/x", "https URL"),
            (RUNBOOK_TAG, "javascript:alert(1)", "https URL"),
            (TAGS_TAG, "ok/\u{7}bell", "control characters"),
            (
                TAGS_TAG,
                &format!("ok/{}", "t".repeat(51)),
                "longer than 50",
            ),
        ];
        for (tag, value, why) in rows {
            let r = Routing::from_tags(&tags(&[(tag, value)]));
            assert_eq!(r.skipped.len(), 1, "{tag}={value}: {:?}", r.skipped);
            assert!(
                r.skipped[0].contains(tag) && r.skipped[0].contains(why),
                "{:?}",
                r.skipped
            );
            assert_eq!(r.assignee, None);
            assert_eq!(r.severity, None);
            assert_eq!(r.runbook, None);
        }
    }

    #[tokio::test]
    async fn the_cache_reads_a_machine_once_per_ttl_and_keeps_a_failed_read() {
        let arn = "arn:aws:states:us-east-1:111111111111:stateMachine:orders";
        let source = std::sync::Arc::new(MemoryTags {
            tags: HashMap::from([(arn.to_owned(), tags(&[(SEVERITY_TAG, "high")]))]),
            ..MemoryTags::default()
        });
        let cache = RoutingCache::new(source.clone(), Duration::from_secs(300));
        for _ in 0..3 {
            assert_eq!(cache.routing(arn).await.severity.as_deref(), Some("high"));
        }
        assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        let uncached = RoutingCache::new(source.clone(), Duration::ZERO);
        uncached.routing(arn).await;
        uncached.routing(arn).await;
        assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 3);

        let denied = std::sync::Arc::new(MemoryTags {
            error: Some(TagError("access denied (AccessDeniedException)".into())),
            ..MemoryTags::default()
        });
        let cache = RoutingCache::new(denied.clone(), Duration::from_secs(300));
        let r = cache.routing(arn).await;
        assert_eq!(
            r.skipped,
            ["routing tags unavailable: access denied (AccessDeniedException)"]
        );
        cache.routing(arn).await;
        assert_eq!(denied.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
