//! The store ports' conformance suites on the DynamoDB adapters, against
//! moto (started through scripts/moto_atomic.py, so concurrent writes to
//! one item are applied one at a time, as DynamoDB does). Each case gets a
//! table of its own, laid out as infra creates it. The in-memory adapters
//! run the same suites in shared/core/tests/conformance.rs.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/tables.rs"]
mod tables;

use std::sync::Arc;

use ticket_bridge::budget::BudgetStore;
use ticket_bridge::conformance;
use ticket_bridge::dedupe::ClaimStore;
use ticket_bridge::incident::IncidentStore;

use tables::{client, table};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dynamodb_claim_store_conforms() {
    let client = client().await;
    conformance::claims::run(|| {
        let client = client.clone();
        async move {
            let table = table(&client).await;
            Arc::new(ticket_bridge_aws::claims::DynamoDb::new(client, table)) as Arc<dyn ClaimStore>
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dynamodb_incident_store_conforms() {
    let client = client().await;
    conformance::incidents::run(|| {
        let client = client.clone();
        async move {
            let table = table(&client).await;
            Arc::new(ticket_bridge_aws::incidents::DynamoDb::new(client, table))
                as Arc<dyn IncidentStore>
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dynamodb_budget_store_conforms() {
    let client = client().await;
    conformance::budget::run(|| {
        let client = client.clone();
        async move {
            let table = table(&client).await;
            Arc::new(ticket_bridge_aws::incidents::DynamoDb::new(client, table))
                as Arc<dyn BudgetStore>
        }
    })
    .await;
}
