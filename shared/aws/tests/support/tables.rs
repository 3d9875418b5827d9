//! Tables on moto, laid out as infra creates them, for the tests of the
//! DynamoDB adapters (the conformance suites, the scale test).

use std::sync::OnceLock;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use super::moto::{Moto, moto_with, sdk_loader};

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

pub async fn client() -> Client {
    Client::new(&sdk_loader(moto()).load().await)
}

/// A new table as infra creates it: partition key `id`, TTL on `expiration`.
pub async fn table(client: &Client) -> String {
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

/// Lists `keys` in the one flush index item of earlier versions
/// (`incident-index`), as a table upgraded from one holds them; the first
/// flush from the top moves them into the shards.
#[allow(dead_code)] // Each test binary uses its own part of this module.
pub async fn list_in_legacy_index(client: &Client, table: &str, keys: Vec<String>) {
    client
        .update_item()
        .table_name(table)
        .key("id", AttributeValue::S("incident-index".to_owned()))
        .update_expression("ADD #keys :k")
        .expression_attribute_names("#keys", "keys")
        .expression_attribute_values(":k", AttributeValue::Ss(keys))
        .send()
        .await
        .expect("the earlier version's index item");
}
