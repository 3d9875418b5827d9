//! The notifier Lambda: build configuration and clients once per container,
//! then serve invocations. `notifier render FILE|-` runs the CLI instead.

use std::io::Write;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use notifier::{handler_raw, render_cli};
use serde_json::value::RawValue;
use ticket_bridge::{Config, NotifierError};

// One thread: an invocation is one task at a time, so worker threads only
// add start-up, cross-thread wake-ups and per-thread malloc arenas
// (bench/RESULTS.md has the measurement). DNS lookups still run on tokio's
// blocking pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("render") {
        match render_cli(&args[1..], &|k| std::env::var(k).ok()) {
            Ok(json) => {
                // Not println!: it panics when the reader goes away (`| head`).
                let mut out = std::io::stdout().lock();
                if writeln!(out, "{json}").and_then(|_| out.flush()).is_err() {
                    std::process::exit(1);
                }
                return Ok(());
            }
            Err(reason) => {
                eprintln!("notifier: {reason}");
                std::process::exit(2);
            }
        }
    }

    lambda_runtime::tracing::init_default_subscriber();
    // One HTTP stack (compiled-in roots unless TLS_ROOTS=system) for the
    // ticket API and the AWS SDK: see ticket_bridge::transport.
    let notifier = match Config::from_env() {
        Ok(config) => notifier::wiring::load(config).await,
        Err(e) => Err(NotifierError::from(e)),
    };
    if let Err(e) = &notifier {
        tracing::error!(error = %e, "cold start: configuration invalid; every invocation will fail with it");
    }
    let (notifier, accounts) = match notifier {
        Ok((notifier, accounts)) => (Ok(notifier), Some(accounts)),
        Err(e) => (Err(e), None),
    };
    let (notifier, accounts) = (&notifier, &accounts);
    run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            // The function's own account, from its ARN: no STS call to ask.
            if let Some(accounts) = accounts {
                accounts.know_own_account(&event.context.invoked_function_arn);
            }
            Box::pin(handler_raw(notifier, event)).await
        },
    ))
    .await
}
