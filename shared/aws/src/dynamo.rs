//! What the two DynamoDB adapters share. Claims (`dedupe`) and incidents
//! (`incident`) live in one table, so they key, read and build its items
//! alike, and tell a refused condition from a failed call the same way; one
//! copy here keeps the two from drifting apart.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::sdk::describe_sdk_error;

/// The table's partition key, for claims and incidents alike.
pub(crate) const PK: &str = "id";

/// One item, as the SDK reads and writes it.
pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// Claims count in milliseconds since the epoch (`u128`), incidents in
/// `u64`: both are DynamoDB numbers.
pub(crate) fn n(v: impl Into<u128>) -> AttributeValue {
    AttributeValue::N(v.into().to_string())
}

/// The item at `key`, read consistently: a claim or an incident another
/// container wrote a moment ago must be seen, or two would both go ahead.
pub(crate) async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<Option<Item>, String> {
    client
        .get_item()
        .table_name(table)
        .key(PK, s(key))
        .consistent_read(true)
        .send()
        .await
        .map(|out| out.item)
        .map_err(|e| failed(&e))
}

/// The one line a failed call is logged with (no request details); each
/// store wraps it in its own error.
pub(crate) fn failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    describe_sdk_error("DynamoDB", e)
}

/// Whether a conditional write was refused because its condition did not
/// hold: someone else changed the item first, which the stores answer as a
/// result (`false`, `None`), not as a failure.
pub(crate) fn condition_failed<E: Conditional, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .is_some_and(Conditional::condition_failed)
}

/// The errors of the conditional writes: each SDK operation has an error
/// type of its own, each with its own test for a refused condition.
pub(crate) trait Conditional {
    fn condition_failed(&self) -> bool;
}

macro_rules! conditional {
    ($($error:ty),*) => {$(
        impl Conditional for $error {
            fn condition_failed(&self) -> bool {
                self.is_conditional_check_failed_exception()
            }
        }
    )*};
}

conditional!(PutItemError, UpdateItemError, DeleteItemError);
