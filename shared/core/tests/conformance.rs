//! The store ports' conformance suites on the in-memory adapters. The same
//! suites run on the DynamoDB adapters, on moto, in conformance_dynamodb.rs.

use std::sync::Arc;

use ticket_bridge::budget::{BudgetStore, MemoryBudget};
use ticket_bridge::conformance;
use ticket_bridge::dedupe::{self, ClaimStore};
use ticket_bridge::incident::{self, IncidentStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_claim_store_conforms() {
    conformance::claims::run(|| async { Arc::new(dedupe::Memory::new()) as Arc<dyn ClaimStore> })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_incident_store_conforms() {
    conformance::incidents::run(|| async {
        Arc::new(incident::Memory::new()) as Arc<dyn IncidentStore>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_budget_store_conforms() {
    conformance::budget::run(|| async { Arc::new(MemoryBudget::new()) as Arc<dyn BudgetStore> })
        .await;
}
