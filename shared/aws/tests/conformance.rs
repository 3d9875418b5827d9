//! The store ports' conformance suites on the DynamoDB adapters, against
//! moto (started through scripts/moto_atomic.py, so concurrent writes to
//! one item are applied one at a time, as DynamoDB does). Each case gets a
//! table of its own, laid out as infra creates it. The in-memory adapters
//! run the same suites in shared/core/tests/conformance.rs.

#[path = "support/moto.rs"]
mod moto;

use std::sync::{Arc, OnceLock};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use ticket_bridge::conformance;
use ticket_bridge::dedupe::ClaimStore;
use ticket_bridge::incident::IncidentStore;

use moto::{Moto, moto_with, sdk_loader};

/// `make test`'s moto when it runs one (`MOTO_ENDPOINT`), else one of this
/// test binary's own.
fn moto() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO
        .get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
            Ok(endpoint) => Moto::at(endpoint),
            Err(_) => moto_with(""),
        })
        .endpoint
}

async fn client() -> Client {
    Client::new(&sdk_loader(moto()).load().await)
}

/// A new table as infra creates it: partition key `id`, TTL on `expiration`.
async fn table(client: &Client) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "conformance-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key schema"),
        )
        .send()
        .await
        .expect("create_table on moto");
    client
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiration")
                .build()
                .expect("TTL specification"),
        )
        .send()
        .await
        .expect("update_time_to_live on moto");
    name
}

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
