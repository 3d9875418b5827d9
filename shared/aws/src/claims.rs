//! The DynamoDB adapter: claims that span every container, in the layout
//! Powertools' idempotency utility uses (`id`, `status`, `expiration` as the
//! table's TTL attribute, `in_progress_expiration` in milliseconds), plus
//! `owner`, the holder's token, which complete and release are conditioned
//! on.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamo::{PK, condition_failed, failed, get, n, s};
use ticket_bridge::dedupe::{Claim, ClaimStore, Filed, Lease, Owner, Settled, StoreError, Stored};

const STATUS: &str = "status";
const EXPIRATION: &str = "expiration";
const IN_PROGRESS_EXPIRY: &str = "in_progress_expiration";
const CASE_UID: &str = "case_uid";
const SUBJECT: &str = "subject";
const OWNER: &str = "owner";
const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

pub struct DynamoDb {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDb {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoDb {
            client,
            table: table.into(),
        }
    }
}

impl ClaimStore for DynamoDb {
    fn describe(&self) -> &'static str {
        "dynamodb"
    }

    fn claim<'a>(&'a self, key: &'a str, lease: &'a Lease) -> Stored<'a, Claim> {
        Box::pin(async move {
            let now = SystemTime::now();
            // New, expired, or in progress past its holder's deadline: ours.
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(PK, s(key))
                .item(STATUS, s(IN_PROGRESS))
                .item(OWNER, s(lease.owner.as_str()))
                .item(EXPIRATION, n(secs(lease.expires)))
                .item(IN_PROGRESS_EXPIRY, n(millis(lease.in_progress_until)))
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
                Err(e) if condition_failed(&e) => {
                    // Someone holds it. If it lapsed between the write and
                    // this read, say so honestly as in progress: the caller
                    // polls and takes it over on its next look.
                    match self.existing(key).await? {
                        Claim::New => Ok(Claim::InProgress),
                        other => Ok(other),
                    }
                }
                Err(e) => Err(StoreError(failed(&e))),
            }
        })
    }

    fn existing<'a>(&'a self, key: &'a str) -> Stored<'a, Claim> {
        Box::pin(async move {
            let Some(item) = get(&self.client, &self.table, key)
                .await
                .map_err(StoreError)?
            else {
                return Ok(Claim::New);
            };
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            let number = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u128>().ok())
            };
            let now = SystemTime::now();
            if number(EXPIRATION).is_some_and(|exp| exp < secs(now)) {
                return Ok(Claim::New);
            }
            Ok(match (text(STATUS).as_deref(), text(CASE_UID)) {
                (Some(COMPLETED), Some(case_uid)) => Claim::Done {
                    case_uid,
                    subject: text(SUBJECT).unwrap_or_default(),
                },
                // The holder's deadline passed without a result: it crashed
                // or was cut off. Free to take over.
                (Some(IN_PROGRESS), _)
                    if number(IN_PROGRESS_EXPIRY).is_some_and(|ipe| ipe < millis(now)) =>
                {
                    Claim::New
                }
                _ => Claim::InProgress,
            })
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        owner: &'a Owner,
        filed: Filed<'a>,
    ) -> Stored<'a, Settled> {
        Box::pin(async move {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(PK, s(key))
                .item(STATUS, s(COMPLETED))
                .item(OWNER, s(owner.as_str()))
                .item(EXPIRATION, n(secs(filed.expires)))
                .item(CASE_UID, s(filed.case_uid))
                .item(SUBJECT, s(filed.subject))
                .condition_expression(HELD)
                .set_expression_attribute_names(Some(held_names()))
                .set_expression_attribute_values(Some(held_values(owner)))
                .send()
                .await;
            match put {
                Ok(_) => Ok(Settled::Applied),
                Err(e) if condition_failed(&e) => Ok(Settled::NotOwner),
                Err(e) => Err(StoreError(failed(&e))),
            }
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a Owner) -> Stored<'a, Settled> {
        Box::pin(async move {
            let delete = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(PK, s(key))
                .condition_expression(HELD)
                .set_expression_attribute_names(Some(held_names()))
                .set_expression_attribute_values(Some(held_values(owner)))
                .send()
                .await;
            match delete {
                Ok(_) => Ok(Settled::Applied),
                Err(e) if condition_failed(&e) => Ok(Settled::NotOwner),
                Err(e) => Err(StoreError(failed(&e))),
            }
        })
    }
}

/// A holder's write (complete, release) holds only on its own claim, still
/// in progress and not expired: a takeover wrote another owner, a
/// completion another status.
const HELD: &str = "#st = :inprogress AND #owner = :owner AND #exp >= :now";

fn held_names() -> HashMap<String, String> {
    HashMap::from([
        ("#st".to_owned(), STATUS.to_owned()),
        ("#owner".to_owned(), OWNER.to_owned()),
        ("#exp".to_owned(), EXPIRATION.to_owned()),
    ])
}

fn held_values(owner: &Owner) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (":inprogress".to_owned(), s(IN_PROGRESS)),
        (":owner".to_owned(), s(owner.as_str())),
        (":now".to_owned(), n(secs(SystemTime::now()))),
    ])
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
