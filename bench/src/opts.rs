//! The command line: counts, binaries, where results go, the storm's sizes.

use std::path::{Path, PathBuf};

const USAGE: &str = "usage: bench [--smoke] [--cold N] [--warm N] [--block N] [--token-ttl SECS]
             [--notifier PATH] [--floor PATH] [--python PATH] [--package DIR]
             [--node PATH] [--node-package DIR] [--out DIR] [--rust-env K=V]...
             [--storm N,N,...|none] [--storm-fingerprints N,N,...] [--storm-concurrency N]
             [--storm-budget SECS]
  --smoke      a few invocations, to prove the harness works (no timing claims)
  --cold N     fresh processes per runtime (default 10; smoke 1)
  --warm N     measured warm invocations per runtime (default 5000; smoke 20)
  --block N    invocations per interleaved block (default 100; smoke 10)
  --token-ttl  mock-auth token lifetime in seconds (default 10)
  --notifier   the notifier binary (default: the one next to this bench
               binary, so a debug bench runs the debug notifier)
  --floor      the bare lambda_runtime echo binary (default: next to this one)
  --rust-env   an extra variable for the notifier only, for experiments
               (e.g. TOKIO_WORKER_THREADS=1); repeatable
  --python     the Python that has awslambdaric and boto3 (default target/bench/venv/bin/python)
  --package    the peer's deployment package dir (default target/bench/python-package)
  --node       Node.js 22 (default target/bench/node22/bin/node)
  --node-package  the Node peer's package with its node_modules
               (default target/bench/node-package-with-sdk)
  --storm      failures per storm (default 10,100,1000,10000; smoke 10); none skips it
  --storm-fingerprints  distinct failures (incidents) per storm (default 1,100)
  --storm-concurrency   notifier processes sharing a storm (default 4)
  --storm-budget  seconds a storm may send failures for; then it stops
               sending, flushes, checks the desk and says it was cut (default 300)
  --out DIR    where results.json, results.md and logs go (default target/bench)";

pub struct Opts {
    pub smoke: bool,
    pub cold: usize,
    pub warm: usize,
    pub block: usize,
    pub warmup: usize,
    pub token_ttl: u64,
    pub root: PathBuf,
    pub notifier: PathBuf,
    pub floor: PathBuf,
    pub rust_env: Vec<(String, String)>,
    pub python: PathBuf,
    pub package: PathBuf,
    pub node: PathBuf,
    pub node_package: PathBuf,
    pub out: PathBuf,
    /// Failures per storm; empty: no storm.
    pub storm: Vec<usize>,
    pub storm_fingerprints: Vec<usize>,
    pub storm_concurrency: usize,
    /// How long one storm may go on sending failures.
    pub storm_budget: std::time::Duration,
}

/// A binary built by the same `cargo build` as this one: `target/release/X`
/// for `make bench`, `target/debug/X` for `make bench-smoke`, which claims
/// no timings and so reuses `make test`'s debug build.
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// `10,100,1000` (thousands separators `_` allowed); `none` is empty.
fn list(flag: &str, v: &str) -> Result<Vec<usize>, String> {
    if v.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    v.split(',')
        .map(|n| match n.trim().replace('_', "").parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag}: not a positive number: {n}")),
        })
        .collect()
}

/// The options in `args`, with every path checked and made absolute.
pub fn parse(args: &[String]) -> Result<Opts, String> {
    resolve(read(args)?)
}

fn read(args: &[String]) -> Result<Opts, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .ok_or("no workspace root")?;
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut o = Opts {
        smoke,
        cold: if smoke { 1 } else { 10 },
        warm: if smoke { 20 } else { 5000 },
        block: if smoke { 10 } else { 100 },
        warmup: if smoke { 3 } else { 50 },
        token_ttl: 10,
        notifier: sibling("notifier"),
        floor: sibling("floor"),
        rust_env: Vec::new(),
        python: root.join("target/bench/venv/bin/python"),
        package: root.join("target/bench/python-package"),
        node: root.join("target/bench/node22/bin/node"),
        node_package: root.join("target/bench/node-package-with-sdk"),
        out: root.join("target/bench"),
        storm: if smoke {
            vec![10]
        } else {
            vec![10, 100, 1_000, 10_000]
        },
        storm_fingerprints: vec![1, 100],
        storm_concurrency: 4,
        storm_budget: std::time::Duration::from_secs(300),
        root,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or(format!("{a} needs a value\n{USAGE}"))
        };
        let num = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--smoke" => {}
            "--cold" => o.cold = num(val()?)?.max(1),
            "--warm" => o.warm = num(val()?)?.max(1),
            "--block" => o.block = num(val()?)?.max(1),
            "--token-ttl" => o.token_ttl = num(val()?)?.max(2) as u64,
            "--notifier" => o.notifier = val()?.into(),
            "--floor" => o.floor = val()?.into(),
            "--node" => o.node = val()?.into(),
            "--node-package" => o.node_package = val()?.into(),
            "--rust-env" => {
                let kv = val()?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or(format!("--rust-env wants K=V, got {kv}"))?;
                o.rust_env.push((k.to_owned(), v.to_owned()));
            }
            "--python" => o.python = val()?.into(),
            "--package" => o.package = val()?.into(),
            "--out" => o.out = val()?.into(),
            "--storm" => o.storm = list(a, &val()?)?,
            "--storm-fingerprints" => {
                o.storm_fingerprints = list(a, &val()?)?;
                if o.storm_fingerprints.is_empty() {
                    return Err(format!("{a}: at least one count"));
                }
            }
            "--storm-concurrency" => o.storm_concurrency = num(val()?)?.clamp(1, 64),
            "--storm-budget" => {
                o.storm_budget = std::time::Duration::from_secs(num(val()?)?.max(1) as u64)
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn resolve(mut o: Opts) -> Result<Opts, String> {
    // Absolute, because each function process runs in its own directory.
    for (what, p) in [
        ("notifier", &mut o.notifier),
        ("floor", &mut o.floor),
        ("python", &mut o.python),
        ("package", &mut o.package),
        ("node", &mut o.node),
        ("node-package", &mut o.node_package),
    ] {
        *p = std::path::absolute(&*p).map_err(|e| format!("{what}: {e}"))?;
        if !p.exists() {
            return Err(format!(
                "{what} not found at {} (run `make bench`, which builds and installs it)",
                p.display()
            ));
        }
    }
    o.out = std::path::absolute(&o.out).map_err(|e| format!("--out: {e}"))?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn storm_lists_parse_and_none_skips() {
        assert_eq!(list("--storm", "10,100,1_000"), Ok(vec![10, 100, 1000]));
        assert_eq!(list("--storm", "none"), Ok(vec![]));
        assert!(list("--storm", "10,0").is_err());
        assert!(list("--storm", "ten").is_err());
    }

    #[test]
    fn smoke_storms_only_the_smallest_size() {
        let o = read(&args(&["--smoke"])).unwrap();
        assert_eq!(o.storm, vec![10]);
        assert_eq!(o.storm_fingerprints, vec![1, 100]);
        let full = read(&args(&["--storm-concurrency", "2"])).unwrap();
        assert!(read(&args(&["--storm-fingerprints", "none"])).is_err());
        assert!(read(&args(&["--bogus"])).is_err());
        assert_eq!(full.storm, vec![10, 100, 1_000, 10_000]);
        assert_eq!(full.storm_concurrency, 2);
        assert_eq!(full.storm_budget.as_secs(), 300);
        let cut = read(&args(&["--storm-budget", "60"])).unwrap();
        assert_eq!(cut.storm_budget.as_secs(), 60);
    }
}
