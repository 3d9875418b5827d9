//! One ticket per failure. Step Functions retries, Lambda's async retries and
//! EventBridge redelivery can all run the notifier twice for one failure;
//! this module decides whether an invocation is the first.
//!
//! Powertools-style records: an invocation *claims* the failure's key with a
//! conditional write (in progress, until its own deadline), then *completes*
//! it with the case `Uid`, or *releases* it when delivery failed so a retry
//! can try again. A crashed invocation's claim lapses at its deadline, so the
//! failure is not lost. With a DynamoDB table the guard spans every
//! container; without one, a per-container memory still stops repeats that
//! land on the same warm instance.
//!
//! A broken store never blocks a ticket: a possible duplicate is better than
//! a lost failure, so store errors are logged and delivery goes ahead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use crate::event::Failure;

/// What identifies "the same failure".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One ticket per execution, whatever failed in it.
    Execution,
    /// One per failed state of an execution.
    State,
    /// One per error name of an execution (the default).
    Error,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "execution" => Some(Scope::Execution),
            "state" => Some(Scope::State),
            "error" => Some(Scope::Error),
            _ => None,
        }
    }
}

/// The dedupe key: a SHA-256 of the identifying fields, so no event content
/// is stored in the table and the key length is fixed. Failures without an
/// execution ARN (bare errors) are identified by their error, cause and input.
pub fn key(f: &Failure, scope: Scope) -> String {
    let mut h = Sha256::new();
    match &f.execution_arn {
        Some(arn) => {
            h.update(b"execution\0");
            h.update(arn.as_bytes());
            match scope {
                Scope::Execution => {}
                Scope::State => {
                    h.update(b"\0state\0");
                    h.update(f.failed_state.as_deref().unwrap_or("").as_bytes());
                }
                Scope::Error => {
                    h.update(b"\0error\0");
                    h.update(
                        f.error
                            .as_deref()
                            .or(f.status.as_deref())
                            .unwrap_or("")
                            .as_bytes(),
                    );
                }
            }
        }
        None => {
            h.update(b"content\0");
            h.update(f.error.as_deref().unwrap_or("").as_bytes());
            h.update(b"\0");
            h.update(f.cause.as_deref().unwrap_or("").as_bytes());
            h.update(b"\0");
            h.update(format!("{:?}", f.input).as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: deliver, then complete or release.
    New,
    /// Delivered before; the first invocation's result.
    Done { case_uid: String, subject: String },
    /// Another invocation holds it and has not finished.
    InProgress,
}

#[derive(Debug, thiserror::Error)]
#[error("dedupe store: {0}")]
pub struct StoreError(String);

/// Where claims live.
pub enum Store {
    Dynamo {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
    Memory(Mutex<HashMap<String, Record>>),
}

#[derive(Debug, Clone)]
pub struct Record {
    done: Option<(String, String)>,
    in_progress_until: SystemTime,
    expires: SystemTime,
}

/// Failures the per-container guard remembers at most.
const MEMORY_MAX: usize = 1024;

const PK: &str = "id";
const STATUS: &str = "status";
const EXPIRATION: &str = "expiration";
const IN_PROGRESS_EXPIRY: &str = "in_progress_expiration";
const CASE_UID: &str = "case_uid";
const SUBJECT: &str = "subject";
const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

impl Store {
    pub fn memory() -> Self {
        Store::Memory(Mutex::new(HashMap::new()))
    }

    pub fn dynamo(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Store::Dynamo {
            client,
            table: table.into(),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Store::Dynamo { .. } => "dynamodb",
            Store::Memory(_) => "memory",
        }
    }

    /// Claims `key` until `in_progress_until`; a completed record lives
    /// until `expires`.
    pub async fn claim(
        &self,
        key: &str,
        in_progress_until: SystemTime,
        expires: SystemTime,
    ) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        match self {
            Store::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|_| StoreError("memory guard poisoned".into()))?;
                map.retain(|_, r| r.expires > now);
                // A warm container only needs recent failures; past the cap,
                // forget the oldest rather than grow without bound.
                while map.len() >= MEMORY_MAX {
                    let oldest = map
                        .iter()
                        .min_by_key(|(_, r)| r.expires)
                        .map(|(k, _)| k.clone());
                    match oldest {
                        Some(k) => map.remove(&k),
                        None => break,
                    };
                }
                if let Some(r) = map.get(key) {
                    match &r.done {
                        Some((uid, subject)) => {
                            return Ok(Claim::Done {
                                case_uid: uid.clone(),
                                subject: subject.clone(),
                            });
                        }
                        None if r.in_progress_until > now => return Ok(Claim::InProgress),
                        None => {}
                    }
                }
                map.insert(
                    key.to_owned(),
                    Record {
                        done: None,
                        in_progress_until,
                        expires,
                    },
                );
                Ok(Claim::New)
            }
            Store::Dynamo { client, table } => {
                let put = client
                    .put_item()
                    .table_name(table)
                    .item(PK, s(key))
                    .item(STATUS, s(IN_PROGRESS))
                    .item(EXPIRATION, n(secs(expires)))
                    .item(IN_PROGRESS_EXPIRY, n(millis(in_progress_until)))
                    .condition_expression(
                        "attribute_not_exists(#id) OR #exp < :now OR (#st = :inprogress AND #ipe < :now_ms)",
                    )
                    .expression_attribute_names("#id", PK)
                    .expression_attribute_names("#exp", EXPIRATION)
                    .expression_attribute_names("#st", STATUS)
                    .expression_attribute_names("#ipe", IN_PROGRESS_EXPIRY)
                    .expression_attribute_values(":now", n(secs(now)))
                    .expression_attribute_values(":now_ms", n(millis(now)))
                    .expression_attribute_values(":inprogress", s(IN_PROGRESS))
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(Claim::New),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
                    {
                        self.existing(key).await
                    }
                    Err(e) => Err(StoreError(describe_sdk(&e))),
                }
            }
        }
    }

    /// The state of a key someone else claimed (consistent read).
    pub async fn existing(&self, key: &str) -> Result<Claim, StoreError> {
        match self {
            Store::Memory(map) => {
                let map = map
                    .lock()
                    .map_err(|_| StoreError("memory guard poisoned".into()))?;
                Ok(match map.get(key).and_then(|r| r.done.clone()) {
                    Some((case_uid, subject)) => Claim::Done { case_uid, subject },
                    None if map.contains_key(key) => Claim::InProgress,
                    None => Claim::New,
                })
            }
            Store::Dynamo { client, table } => {
                let out = client
                    .get_item()
                    .table_name(table)
                    .key(PK, s(key))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| StoreError(describe_sdk(&e)))?;
                let Some(item) = out.item else {
                    return Ok(Claim::New);
                };
                let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
                Ok(match (text(STATUS).as_deref(), text(CASE_UID)) {
                    (Some(COMPLETED), Some(case_uid)) => Claim::Done {
                        case_uid,
                        subject: text(SUBJECT).unwrap_or_default(),
                    },
                    _ => Claim::InProgress,
                })
            }
        }
    }

    pub async fn complete(
        &self,
        key: &str,
        case_uid: &str,
        subject: &str,
        expires: SystemTime,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|_| StoreError("memory guard poisoned".into()))?;
                map.insert(
                    key.to_owned(),
                    Record {
                        done: Some((case_uid.to_owned(), subject.to_owned())),
                        in_progress_until: SystemTime::now(),
                        expires,
                    },
                );
                Ok(())
            }
            Store::Dynamo { client, table } => client
                .put_item()
                .table_name(table)
                .item(PK, s(key))
                .item(STATUS, s(COMPLETED))
                .item(EXPIRATION, n(secs(expires)))
                .item(CASE_UID, s(case_uid))
                .item(SUBJECT, s(subject))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| StoreError(describe_sdk(&e))),
        }
    }

    /// Gives a claim back after a failed delivery, so a retry is not
    /// mistaken for a duplicate.
    pub async fn release(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::Memory(map) => {
                map.lock()
                    .map_err(|_| StoreError("memory guard poisoned".into()))?
                    .remove(key);
                Ok(())
            }
            Store::Dynamo { client, table } => client
                .delete_item()
                .table_name(table)
                .key(PK, s(key))
                .condition_expression("#st = :inprogress")
                .expression_attribute_names("#st", STATUS)
                .expression_attribute_values(":inprogress", s(IN_PROGRESS))
                .send()
                .await
                .map(|_| ())
                .or_else(|e| match e.as_service_error() {
                    Some(se) if se.is_conditional_check_failed_exception() => Ok(()),
                    _ => Err(StoreError(describe_sdk(&e))),
                }),
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u128) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn secs(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        .into()
}

fn millis(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
}

fn describe_sdk<E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> String {
    use aws_sdk_dynamodb::error::SdkError;
    match e {
        SdkError::ServiceError(se) => format!(
            "DynamoDB refused the request ({})",
            se.err().code().unwrap_or("unknown")
        ),
        SdkError::TimeoutError(_) => "DynamoDB did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) => "DynamoDB endpoint unreachable".to_owned(),
        _ => "DynamoDB request failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Intake, intake};
    use serde_json::json;

    fn failure(v: serde_json::Value) -> Failure {
        match intake(&v, None).unwrap() {
            Intake::Failure(f) => *f,
            Intake::Skipped { .. } => panic!("skipped"),
        }
    }

    const ARN: &str = "arn:aws:states:eu-west-1:1:execution:m:e1";

    #[test]
    fn scopes_decide_what_counts_as_the_same_failure() {
        let a = failure(json!({"error": {"Error": "A"}, "execution": ARN, "failedState": "S1"}));
        let b = failure(json!({"error": {"Error": "B"}, "execution": ARN, "failedState": "S1"}));
        let c = failure(json!({"error": {"Error": "A"}, "execution": ARN, "failedState": "S2"}));
        assert_eq!(key(&a, Scope::Execution), key(&b, Scope::Execution));
        assert_ne!(key(&a, Scope::Error), key(&b, Scope::Error));
        assert_eq!(key(&a, Scope::Error), key(&c, Scope::Error));
        assert_eq!(key(&a, Scope::State), key(&b, Scope::State));
        assert_ne!(key(&a, Scope::State), key(&c, Scope::State));
        assert_eq!(key(&a, Scope::Error).len(), 64);
        let bare1 = failure(json!({"Error": "X", "Cause": "1"}));
        let bare2 = failure(json!({"Error": "X", "Cause": "2"}));
        assert_ne!(key(&bare1, Scope::Error), key(&bare2, Scope::Error));
        assert_eq!(Scope::parse(" State "), Some(Scope::State));
        assert_eq!(Scope::parse("run"), None);
    }

    #[tokio::test]
    async fn memory_guard_claims_completes_releases_and_expires() {
        let store = Store::memory();
        let later = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(store.claim("k", later, later).await.unwrap(), Claim::New);
        assert_eq!(
            store.claim("k", later, later).await.unwrap(),
            Claim::InProgress
        );
        store.release("k").await.unwrap();
        assert_eq!(store.claim("k", later, later).await.unwrap(), Claim::New);
        store.complete("k", "U1", "S", later).await.unwrap();
        assert_eq!(
            store.claim("k", later, later).await.unwrap(),
            Claim::Done {
                case_uid: "U1".into(),
                subject: "S".into()
            }
        );
        // A crashed claim lapses at its deadline.
        let past = SystemTime::now() - Duration::from_secs(1);
        assert_eq!(
            store.claim("crashed", past, later).await.unwrap(),
            Claim::New
        );
        assert_eq!(
            store.claim("crashed", later, later).await.unwrap(),
            Claim::New
        );
    }

    #[tokio::test]
    async fn memory_guard_is_bounded() {
        let store = Store::memory();
        let now = SystemTime::now();
        for i in 0..(MEMORY_MAX as u64 + 10) {
            let exp = now + Duration::from_secs(60 + i);
            store.claim(&format!("k{i}"), exp, exp).await.unwrap();
        }
        let Store::Memory(map) = &store else { panic!() };
        let map = map.lock().unwrap();
        assert_eq!(map.len(), MEMORY_MAX);
        assert!(!map.contains_key("k0") && map.contains_key(&format!("k{}", MEMORY_MAX + 9)));
    }
}
