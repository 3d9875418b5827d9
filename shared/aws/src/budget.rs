//! The desk's budget in the dedupe table, kept by the incident store's
//! adapter (`incidents::DynamoDb` serves both ports): one item, `desk-budget`, holding
//! the second it counts (`second`) and what was spent in it (`spent`).
//! Every container of the notifier spends from it, so together they send
//! the desk no more than `DESK_REQUESTS_PER_SECOND` for incidents.
//!
//! A spend is one conditional `UpdateItem` in the common case: add to this
//! second's count if it stays within the limit. When the item still counts
//! an older second, a second write starts this one, conditional on the
//! stored second being older, so two containers starting the same second
//! cannot both reset it; the loser spends into the winner's count.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::dynamo::{PK, condition_failed, failed, n, s};
use crate::incidents::DynamoDb;
use ticket_bridge::BoxFuture;
use ticket_bridge::budget::{BudgetError, BudgetStore};

const KEY: &str = "desk-budget";
const SECOND: &str = "second";
const SPENT: &str = "spent";

impl DynamoDb {
    /// Adds `cost` to the count of `second` if the item counts that second
    /// (and, with a limit, the sum stays within it); whether it did.
    async fn budget_add(
        &self,
        second: u64,
        cost: u32,
        limit: Option<u32>,
    ) -> Result<bool, BudgetError> {
        let mut condition = "#second = :second".to_owned();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(KEY))
            .update_expression("ADD #spent :cost")
            .expression_attribute_names("#second", SECOND)
            .expression_attribute_names("#spent", SPENT)
            .expression_attribute_values(":second", n(second))
            .expression_attribute_values(":cost", n(cost));
        if let Some(limit) = limit {
            // Room for `cost` is what the limit leaves; none, and the
            // spend is refused without a write.
            let Some(room) = limit.checked_sub(cost) else {
                return Ok(false);
            };
            condition.push_str(" AND #spent <= :room");
            update = update.expression_attribute_values(":room", n(room));
        }
        applied(update.condition_expression(condition).send().await)
    }

    /// Starts the count of `second` at `cost` if the item counts an older
    /// second or none; whether it did.
    async fn budget_start(&self, second: u64, cost: u32) -> Result<bool, BudgetError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(KEY))
            .update_expression("SET #second = :second, #spent = :cost")
            .condition_expression("attribute_not_exists(#second) OR #second < :second")
            .expression_attribute_names("#second", SECOND)
            .expression_attribute_names("#spent", SPENT)
            .expression_attribute_values(":second", n(second))
            .expression_attribute_values(":cost", n(cost))
            .send()
            .await;
        applied(sent)
    }
}

/// Whether a conditional write was applied; a refused condition is `false`.
fn applied<T>(
    sent: Result<T, SdkError<UpdateItemError, HttpResponse>>,
) -> Result<bool, BudgetError> {
    match sent {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(BudgetError(failed(&e))),
    }
}

impl BudgetStore for DynamoDb {
    fn spend(
        &self,
        second: u64,
        cost: u32,
        limit: Option<u32>,
    ) -> BoxFuture<'_, Result<bool, BudgetError>> {
        Box::pin(async move {
            if limit.is_some_and(|l| cost > l) {
                return Ok(false);
            }
            if self.budget_add(second, cost, limit).await? {
                return Ok(true);
            }
            if self.budget_start(second, cost).await? {
                return Ok(true);
            }
            // Another container started this second meanwhile (or it is
            // full, or the item counts a later second): spend into its count.
            self.budget_add(second, cost, limit).await
        })
    }
}
