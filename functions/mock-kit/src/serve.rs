//! The Lambda entry point both mocks share.
//!
//! A mock reads its configuration once at cold start and refuses to serve with a bad
//! one, logging the reason first: Lambda shows the init log, and a function that
//! answered every request with a 500 instead would hide the cause.

use std::future::Future;

use lambda_http::{Body, Error, Request, Response, service_fn};

use crate::Clock;

/// A mock function: what it needs from its environment, and how it answers.
pub trait MockFunction: Sized + Sync {
    /// Names the function in the cold-start error log.
    const NAME: &'static str;
    type ConfigError: std::error::Error + Send + Sync + 'static;

    /// Builds the function's state from the process environment, or says which
    /// variable is wrong.
    fn from_env(clock: Clock) -> Result<Self, Self::ConfigError>;

    /// Answers one request. Every request gets an answer (errors are responses), so
    /// the Lambda invocation itself never fails.
    fn answer(&self, req: Request) -> impl Future<Output = Response<Body>> + Send;
}

/// Serves `M` with Lambda's log settings (`AWS_LAMBDA_LOG_FORMAT=JSON`,
/// `AWS_LAMBDA_LOG_LEVEL`), as the notifier does.
pub async fn run<M: MockFunction>() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let function = M::from_env(Clock::System)
        .inspect_err(|err| tracing::error!(error = %err, "{} cannot start", M::NAME))?;
    let function = &function;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(function.answer(req).await)
    }))
    .await
}
