//! An upgrade keeps what the flush index of an earlier version listed: its
//! one item, `incident-index`, moves into the shards when a flush starts
//! from the top, so no incident listed before the upgrade is left out.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/tables.rs"]
mod tables;

use aws_sdk_dynamodb::types::AttributeValue;
use ticket_bridge::incident::index::shard_of;
use ticket_bridge::incident::{Cursor, IncidentStore};
use ticket_bridge_aws::incidents::DynamoDb;

use tables::{client, list_in_legacy_index, table};

#[tokio::test]
async fn the_one_index_item_of_an_earlier_version_moves_into_the_shards() {
    let client = client().await;
    let name = table(&client).await;
    let old: Vec<String> = (0..30).map(|i| format!("incident#old-{i:02}")).collect();
    list_in_legacy_index(&client, &name, old.clone()).await;
    let store = DynamoDb::new(client.clone(), name.clone());
    store
        .index("incident#new", "arn:aws:states:eu-west-1:1:stateMachine:m")
        .await
        .expect("index");

    let mut want = old.clone();
    want.push("incident#new".to_owned());
    want.sort_by_key(|k| (shard_of(k), k.clone()));
    for round in 0..2 {
        let page = store.indexed(&Cursor::start(), 100).await.expect("indexed");
        assert_eq!(page.keys, want, "round {round}: every key once, in order");
        assert_eq!(page.next, None);
    }
    let legacy = client
        .get_item()
        .table_name(&name)
        .key("id", AttributeValue::S("incident-index".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    let left = legacy.item.and_then(|i| i.get("keys").cloned());
    assert_eq!(left, None, "moved, not copied");
}
