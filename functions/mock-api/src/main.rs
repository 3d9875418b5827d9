//! Lambda entry point: read configuration once, then serve requests with it.

use lambda_http::{Error, run, service_fn};
use mock_api::{Config, State, handle};
use mock_token::Clock;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()
        .inspect_err(|err| tracing::error!(error = %err, "mock-api cannot start"))?;
    let state = State::new(config, Clock::System);
    let state = &state;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(handle(state, req).await)
    }))
    .await
}

/// JSON lines when the function's log format is set to JSON (Lambda then sets
/// `AWS_LAMBDA_LOG_FORMAT`), plain text otherwise. No timestamps: CloudWatch adds them.
fn init_tracing() {
    let filter = EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .without_time();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
