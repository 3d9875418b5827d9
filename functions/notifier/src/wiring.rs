//! The composition root: configuration → adapters → the core's notifier.
//! The only place that names every adapter crate; the core names none.

use std::sync::Arc;

use ticket_bridge::secrets::SecretSource;
use ticket_bridge::{Config, Notifier, NotifierError};
use ticket_bridge_aws::{Accounts, SecretsManager, Sns, claims, incidents};

/// The production wiring: one HTTP stack for the process (one rustls
/// configuration, one root store, one connection pool) serving the ticket
/// API, the token endpoint and every AWS SDK client, whose configuration is
/// loaded on it. See [`from_sdk`].
///
/// Also hands back the per-account Step Functions clients, for the handler
/// to tell them the function's own account from each invocation's context.
pub async fn load(config: Config) -> Result<(Notifier, Arc<Accounts>), NotifierError> {
    let http = ticket_bridge_http::http_client(&config.desk)?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ticket_bridge_aws::sdk_http_client(http.clone()))
        .load()
        .await;
    Ok(wire(config, &sdk, http))
}

/// Secrets Manager for the connection, Step Functions for the EventBridge
/// path's history (in the execution's own account and region, through
/// `HISTORY_ROLE_NAME` for another account's), DynamoDB dedupe, incidents
/// and the desk budget when `IDEMPOTENCY_TABLE` is set, SNS when `FALLBACK_TOPIC_ARN` is. Clients are built once per
/// container from one SDK configuration; the ticket API gets an HTTP client
/// of its own (tests; see [`load`]).
pub fn from_sdk(config: Config, sdk: &aws_config::SdkConfig) -> Result<Notifier, NotifierError> {
    let http = ticket_bridge_http::http_client(&config.desk)?;
    Ok(from_sdk_with_http(config, sdk, http))
}

/// As [`from_sdk`], the ticket API on `http`.
pub fn from_sdk_with_http(
    config: Config,
    sdk: &aws_config::SdkConfig,
    http: reqwest::Client,
) -> Notifier {
    wire(config, sdk, http).0
}

fn wire(
    config: Config,
    sdk: &aws_config::SdkConfig,
    http: reqwest::Client,
) -> (Notifier, Arc<Accounts>) {
    let table = config.idempotency_table.clone();
    let topic = config.fallback_topic_arn.clone();
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk));
    let accounts = Arc::new(Accounts::new(sdk, config.history_role_name.clone()));
    let mut notifier = ticket_bridge_outseta::notifier(config, Arc::new(secrets), http)
        .with_history(accounts.clone())
        .with_tags(accounts.clone());
    if let Some(table) = table {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        // One adapter for the table's incidents and desk budget.
        let incidents = Arc::new(incidents::DynamoDb::new(dynamodb.clone(), table.clone()));
        notifier = notifier
            .with_store(Arc::new(claims::DynamoDb::new(dynamodb, &table)))
            .with_budget(incidents.clone())
            .with_incidents(incidents);
    }
    if let Some(topic) = topic {
        notifier = notifier.with_fallback(Arc::new(Sns::new(aws_sdk_sns::Client::new(sdk), topic)));
    }
    (notifier, accounts)
}

/// `ticket_bridge_outseta::notifier` on a fresh HTTP client for the
/// configuration.
pub fn outseta(config: Config, secrets: Arc<dyn SecretSource>) -> Result<Notifier, NotifierError> {
    let http = ticket_bridge_http::http_client(&config.desk)?;
    Ok(ticket_bridge_outseta::notifier(config, secrets, http))
}
