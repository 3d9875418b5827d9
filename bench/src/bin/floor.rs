//! `floor`: the least a Rust Lambda can be. A bare `lambda_runtime` echo
//! function, built with the same release profile as the notifier, that the
//! harness runs as runtime `floor` beside the others: its init and latency
//! are what `lambda_runtime`, tokio and the process itself cost, so the
//! notifier's numbers above it are the notifier's own.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
