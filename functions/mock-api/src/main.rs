//! Lambda entry point: read configuration once, then serve requests with it.

use lambda_http::{Error, run, service_fn};
use mock_api::{Config, State, handle};
use mock_token::Clock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Lambda's log settings (AWS_LAMBDA_LOG_FORMAT=JSON, AWS_LAMBDA_LOG_LEVEL), as the notifier.
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()
        .inspect_err(|err| tracing::error!(error = %err, "mock-api cannot start"))?;
    let state = State::new(config, Clock::System);
    let state = &state;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(handle(state, req).await)
    }))
    .await
}
