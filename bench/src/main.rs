//! `bench`: the notifier against Node.js and Python peers and a floor, side
//! by side in one run, and the notifier alone through storms of failures.
//!
//! Every runtime is a real Lambda function driven through a local Lambda
//! Runtime API (see `runtime_api`), against the same moto, mock-auth and
//! mock-api, with the same events, interleaved. Everything is timed from
//! outside the function processes. See `bench/README.md` for the method and
//! `bench/RESULTS.md` for the latest numbers.

mod events;
mod http;
mod moto;
mod opts;
mod phases;
mod process;
mod proxy;
mod report;
mod runner;
mod runtime_api;
mod scaling;
mod services;
mod stats;
mod storm;

use std::time::Instant;

use events::Feed;
use opts::Opts;
use report::{Measured, Report, Run};
use runner::Runtime;
use services::Services;

#[tokio::main]
async fn main() {
    // The workspace's rustls provider, for the harness's reqwest clients.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match opts::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: cannot watch SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    // Dropping `run` on a signal drops every child handle, which stops it.
    let result = tokio::select! {
        r = run(&opts) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
        _ = term.recv() => Err("terminated".to_owned()),
    };
    match result {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(o: &Opts) -> Result<(), String> {
    let started = Instant::now();
    let since = || started.elapsed().as_secs_f64();
    let logs = o.out.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    if !o.smoke && !services::RELEASE {
        eprintln!(
            "bench: WARNING: a debug build of the harness runs debug functions; its timings mean nothing (make bench builds release)"
        );
    }
    let s = Services::start(&o.root, &logs, o.token_ttl).await?;
    println!(
        "bench: moto, mock-auth and mock-api are up ({:.1} s)",
        since()
    );
    let events = events::load(&o.root, &s.moto).await?;
    println!(
        "bench: {} mode: {} cold starts and {} warm invocations per runtime, {} event shapes ({} EventBridge)",
        if o.smoke { "smoke" } else { "full" },
        o.cold,
        o.warm,
        events.len(),
        events
            .iter()
            .filter(|e| e.route == events::Route::EventBridge)
            .count()
    );
    // Column order in the tables: the notifier, its peers, the floor.
    let runtimes = [
        Runtime::rust(&o.notifier, &o.rust_env, &s),
        Runtime::node(
            &o.node,
            &o.node_package,
            &o.root.join("bench/peers/node/runtime.mjs"),
            &s,
        ),
        Runtime::python(&o.python, &o.package, &s),
        Runtime::floor(&o.floor, &s),
    ];

    let mut feed = Feed::new(&s.moto);
    let cold = phases::cold(o, &s, &runtimes, &events, &mut feed).await?;
    println!("bench: cold starts done ({:.1} s)", since());
    let scaling = phases::scaling(&s, &runtimes[0], &mut feed).await?;
    println!(
        "bench: one invocation per event size done ({:.1} s)",
        since()
    );
    let warm = phases::warm(o, &s, &runtimes, &events, &mut feed).await?;
    println!("bench: warm runs done ({:.1} s)", since());
    let storm = storm::run(o, &s, &runtimes[0]).await?;
    if !storm.is_empty() {
        println!("bench: storms done ({:.1} s)", since());
    }

    let runs = runtimes
        .iter()
        .zip(cold.into_iter().zip(warm.warm))
        .map(|(rt, (cold, warm))| Run {
            kind: rt.kind,
            cold,
            warm,
        })
        .collect();
    let measured = Measured {
        runs,
        scaling,
        baseline: warm.baseline,
        span: warm.span,
        storm,
    };
    let report = Report::new(o, measured, &s)?;
    println!("\n{}", report.table());
    let json = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
    for (name, text) in [("results.json", json), ("results.md", report.markdown())] {
        let p = o.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    println!(
        "bench: wrote {} and results.md; logs in {} ({:.1} s in all)",
        o.out.join("results.json").display(),
        logs.display(),
        since()
    );
    Ok(())
}
