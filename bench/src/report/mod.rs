//! Turns the measurements into the table (stdout and Markdown), the JSON
//! file, the cost estimate and the target verdicts.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Opts;
use crate::runner::Kind;
use crate::services::Services;
use crate::stats::{Summary, summarize};

/// arm64 (what CDK deploys), us-east-1, first pricing tier.
const PRICE_PER_GB_S: f64 = 0.000_013_333_4;
const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda gives a function one full vCPU at 1,769 MB, proportionally less below.
const FULL_VCPU_MB: f64 = 1769.0;
const MB: f64 = 1e6;

#[derive(Debug, Default)]
pub struct Cold {
    pub total_ms: Vec<f64>,
    pub init_ms: Vec<f64>,
    pub cpu_ms: Vec<f64>,
    pub rss_kb: Vec<u64>,
    pub secret_reads: Vec<u64>,
    pub token_fetches: Vec<u64>,
    /// (started after spawn, took), in ms, of the first Secrets Manager read.
    pub secret_read: Vec<(f64, f64)>,
    /// The same for the first token fetch.
    pub token_fetch: Vec<(f64, f64)>,
}

#[derive(Debug, Default)]
pub struct Warm {
    pub kind: Option<Kind>,
    pub latency_ms: Vec<f64>,
    pub cpu_ms_per_invocation: f64,
    pub peak_rss_kb: u64,
    pub secret_reads: u64,
    pub token_fetches: u64,
}

/// The per-runtime numbers the table is made of.
struct Side {
    cold: Summary,
    secret_at: Summary,
    secret_took: Summary,
    token_at: Summary,
    token_took: Summary,
    init: Summary,
    cold_cpu: Summary,
    cold_rss_mb: f64,
    cold_reads: f64,
    cold_fetches: f64,
    warm: Summary,
    warm_cpu_ms: f64,
    peak_rss_mb: f64,
    reads_per_1000: f64,
    fetches: u64,
    memory_mb: u64,
    warm_billed_ms: f64,
    cold_billed_ms: f64,
}

impl Side {
    fn new(c: &Cold, w: &Warm, n_warm: usize) -> Self {
        let cold = summarize(&c.total_ms);
        let cold_cpu = summarize(&c.cpu_ms);
        let warm = summarize(&w.latency_ms);
        let peak_rss_mb = w.peak_rss_kb as f64 * 1024.0 / MB;
        let memory_mb = memory_for(peak_rss_mb.max(median_u64(&c.rss_kb) as f64 * 1024.0 / MB));
        let col = |v: &[(f64, f64)], second: bool| {
            summarize(
                &v.iter()
                    .map(|p| if second { p.1 } else { p.0 })
                    .collect::<Vec<_>>(),
            )
        };
        Side {
            secret_at: col(&c.secret_read, false),
            secret_took: col(&c.secret_read, true),
            token_at: col(&c.token_fetch, false),
            token_took: col(&c.token_fetch, true),
            init: summarize(&c.init_ms),
            cold_rss_mb: median_u64(&c.rss_kb) as f64 * 1024.0 / MB,
            cold_reads: mean_u64(&c.secret_reads),
            cold_fetches: mean_u64(&c.token_fetches),
            warm_cpu_ms: w.cpu_ms_per_invocation,
            peak_rss_mb,
            reads_per_1000: w.secret_reads as f64 * 1000.0 / n_warm as f64,
            fetches: w.token_fetches,
            memory_mb,
            warm_billed_ms: billed_ms(warm.mean, w.cpu_ms_per_invocation, memory_mb),
            cold_billed_ms: billed_ms(cold.p50, cold_cpu.p50, memory_mb),
            cold,
            cold_cpu,
            warm,
        }
    }

    fn gb_s_per_million(&self, billed_ms: f64) -> f64 {
        billed_ms / 1e3 * self.memory_mb as f64 / 1024.0 * 1e6
    }

    fn usd_per_million(&self, billed_ms: f64) -> f64 {
        self.gb_s_per_million(billed_ms) * PRICE_PER_GB_S + PRICE_PER_MILLION_REQUESTS
    }
}

/// 1.25 × peak RSS, rounded up to 64 MB, never below Lambda's 128 MB.
fn memory_for(peak_mb: f64) -> u64 {
    (((peak_mb * 1.25) / 64.0).ceil() as u64 * 64).max(128)
}

/// Lambda bills wall time in 1 ms steps, and below 1,769 MB the CPU-bound
/// part of it stretches by 1769/memory; the waiting part does not.
fn billed_ms(wall_ms: f64, cpu_ms: f64, memory_mb: u64) -> f64 {
    let share = (memory_mb as f64 / FULL_VCPU_MB).min(1.0);
    ((wall_ms - cpu_ms).max(0.0) + cpu_ms / share).ceil()
}

fn median_u64(v: &[u64]) -> u64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

fn mean_u64(v: &[u64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().sum::<u64>() as f64 / v.len() as f64
}

pub struct Report {
    smoke: bool,
    n_cold: usize,
    n_warm: usize,
    token_ttl: u64,
    span: Duration,
    rust: Side,
    python: Side,
    cold_raw: [Cold; 2],
    baseline: Summary,
    sizes: Value,
    criterion: Value,
    machine: Value,
    rows: Vec<Row>,
}

struct Row {
    metric: String,
    rust: String,
    python: String,
    ratio: String,
    target: String,
    /// `None` where there is no target.
    met: Option<bool>,
}

impl Report {
    pub fn new(
        o: &Opts,
        cold: [Cold; 2],
        warm: [Warm; 2],
        baseline: Vec<f64>,
        span: Duration,
        s: &Services,
    ) -> Result<Self, String> {
        debug_assert_eq!(warm[0].kind.map(Kind::index), Some(0));
        let rust = Side::new(&cold[0], &warm[0], o.warm);
        let python = Side::new(&cold[1], &warm[1], o.warm);
        let mut r = Report {
            smoke: o.smoke,
            n_cold: o.cold,
            n_warm: o.warm,
            token_ttl: s.token_ttl,
            span,
            rust,
            python,
            cold_raw: cold,
            baseline: summarize(&baseline),
            sizes: sizes(o)?,
            criterion: criterion(&o.root),
            machine: machine(o),
            rows: Vec::new(),
        };
        r.rows = r.build_rows();
        Ok(r)
    }

    fn build_rows(&self) -> Vec<Row> {
        let (r, p, b) = (&self.rust, &self.python, &self.baseline);
        let mut rows = Vec::new();
        let mut row = |metric: &str,
                       rust: String,
                       python: String,
                       ratio: String,
                       target: &str,
                       met: Option<bool>| {
            rows.push(Row {
                metric: metric.to_owned(),
                rust,
                python,
                ratio,
                target: target.to_owned(),
                met,
            })
        };
        let x = |peer: f64, ours: f64| {
            if ours > 0.0 {
                format!("{:.1}×", peer / ours)
            } else {
                "—".to_owned()
            }
        };
        let msf = |v: f64| format!("{v:.1} ms");
        let ms2 = |v: f64| format!("{v:.2} ms");
        let mbf = |v: f64| format!("{v:.1} MB");

        row(
            "cold start p50 (spawn → ticket)",
            msf(r.cold.p50),
            msf(p.cold.p50),
            x(p.cold.p50, r.cold.p50),
            "≤ 1/10 of peer",
            Some(r.cold.p50 * 10.0 <= p.cold.p50),
        );
        row(
            "cold start min – max",
            format!("{:.1} – {:.1}", r.cold.min, r.cold.max),
            format!("{:.1} – {:.1}", p.cold.min, p.cold.max),
            String::new(),
            "",
            None,
        );
        row(
            "  init (spawn → first /next) p50",
            msf(r.init.p50),
            msf(p.init.p50),
            x(p.init.p50, r.init.p50),
            "",
            None,
        );
        row(
            "  first SM read starts at / takes (p50)",
            format!("{:.1} / {:.1} ms", r.secret_at.p50, r.secret_took.p50),
            format!("{:.1} / {:.1} ms", p.secret_at.p50, p.secret_took.p50),
            String::new(),
            "",
            None,
        );
        row(
            "  first token fetch starts at / takes (p50)",
            format!("{:.1} / {:.1} ms", r.token_at.p50, r.token_took.p50),
            format!("{:.1} / {:.1} ms", p.token_at.p50, p.token_took.p50),
            String::new(),
            "",
            None,
        );
        row(
            "  CPU time of a cold start p50",
            msf(r.cold_cpu.p50),
            msf(p.cold_cpu.p50),
            x(p.cold_cpu.p50, r.cold_cpu.p50),
            "",
            None,
        );
        row(
            "  SM reads / token fetches per cold start",
            format!("{:.0} / {:.0}", r.cold_reads, r.cold_fetches),
            format!("{:.0} / {:.0}", p.cold_reads, p.cold_fetches),
            String::new(),
            "",
            None,
        );
        row(
            "warm latency p50",
            ms2(r.warm.p50),
            ms2(p.warm.p50),
            x(p.warm.p50, r.warm.p50),
            "",
            None,
        );
        row(
            "warm latency p99",
            ms2(r.warm.p99),
            ms2(p.warm.p99),
            x(p.warm.p99, r.warm.p99),
            "",
            None,
        );
        row(
            "warm latency max",
            ms2(r.warm.max),
            ms2(p.warm.max),
            x(p.warm.max, r.warm.max),
            "",
            None,
        );
        let (ro50, po50) = (r.warm.p50 - b.p50, p.warm.p50 - b.p50);
        let (ro99, po99) = (r.warm.p99 - b.p99, p.warm.p99 - b.p99);
        row(
            "overhead above mock-api p50",
            ms2(ro50),
            ms2(po50),
            x(po50, ro50),
            "",
            None,
        );
        row(
            "overhead above mock-api p99",
            ms2(ro99),
            ms2(po99),
            x(po99, ro99),
            "≤ 2 ms",
            Some(ro99 <= 2.0),
        );
        row(
            "CPU time per warm invocation",
            format!("{:.3} ms", r.warm_cpu_ms),
            format!("{:.3} ms", p.warm_cpu_ms),
            x(p.warm_cpu_ms, r.warm_cpu_ms),
            "",
            None,
        );
        row(
            "peak RSS (after the warm run)",
            mbf(r.peak_rss_mb),
            mbf(p.peak_rss_mb),
            x(p.peak_rss_mb, r.peak_rss_mb),
            "≤ 1/3 of peer and ≤ 20 MB",
            Some(r.peak_rss_mb * 3.0 <= p.peak_rss_mb && r.peak_rss_mb <= 20.0),
        );
        row(
            "SM reads per 1000 warm invocations",
            format!("{:.1}", r.reads_per_1000),
            format!("{:.1}", p.reads_per_1000),
            String::new(),
            "0 within the cache TTL",
            Some(r.reads_per_1000 == 0.0),
        );
        let allowed = (self.span.as_secs_f64() / self.token_ttl as f64).ceil() as u64 + 1;
        row(
            &format!(
                "token fetches in the warm run ({:.0} s, {} s tokens)",
                self.span.as_secs_f64(),
                self.token_ttl
            ),
            r.fetches.to_string(),
            p.fetches.to_string(),
            String::new(),
            &format!("≤ 1 per token lifetime (≤ {allowed})"),
            Some(r.fetches <= allowed),
        );

        let size = |k: &str, f: &str| {
            self.sizes
                .get(k)
                .and_then(|v| v.get(f))
                .and_then(Value::as_f64)
        };
        let stale = self.sizes.get("rust-arm64-stale") == Some(&Value::Bool(true));
        let (bin_key, bin_label) = if size("rust-arm64", "unzipped").is_some() {
            let label = if stale {
                "stripped binary (arm64 bootstrap, OLDER than the sources)"
            } else {
                "stripped binary (arm64 bootstrap)"
            };
            ("rust-arm64", label)
        } else {
            ("rust-host", "stripped binary (host build)")
        };
        if let Some(bin) = size(bin_key, "unzipped") {
            row(
                bin_label,
                mbf(bin / MB),
                "—".into(),
                String::new(),
                "≤ 8 MB",
                Some(bin <= 8.0 * MB),
            );
        }
        if bin_key == "rust-arm64"
            && let Some(host) = size("rust-host", "unzipped")
        {
            row(
                "stripped binary (host x86_64 build)",
                mbf(host / MB),
                "—".into(),
                String::new(),
                "",
                None,
            );
        }
        if let (Some(rz), Some(pz)) = (size(bin_key, "zip"), size("python", "zip")) {
            row(
                "deployment zip (peer: handler + requests)",
                mbf(rz / MB),
                mbf(pz / MB),
                x(pz, rz),
                "",
                None,
            );
        }
        if let (Some(rz), Some(pz)) = (size(bin_key, "zip"), size("python-with-boto3", "zip")) {
            row(
                "deployment zip (peer bundling boto3)",
                mbf(rz / MB),
                mbf(pz / MB),
                x(pz, rz),
                "",
                None,
            );
        }
        row(
            "memory size (1.25 × peak RSS, ≥ 128 MB)",
            format!("{} MB", r.memory_mb),
            format!("{} MB", p.memory_mb),
            String::new(),
            "",
            None,
        );
        row(
            "est. billed ms per warm ticket",
            format!("{:.0}", r.warm_billed_ms),
            format!("{:.0}", p.warm_billed_ms),
            x(p.warm_billed_ms, r.warm_billed_ms),
            "",
            None,
        );
        row(
            "est. GB-s per million warm tickets",
            format!("{:.0}", r.gb_s_per_million(r.warm_billed_ms)),
            format!("{:.0}", p.gb_s_per_million(p.warm_billed_ms)),
            x(
                p.gb_s_per_million(p.warm_billed_ms),
                r.gb_s_per_million(r.warm_billed_ms),
            ),
            "",
            None,
        );
        row(
            "est. $ per million warm tickets",
            format!("${:.2}", r.usd_per_million(r.warm_billed_ms)),
            format!("${:.2}", p.usd_per_million(p.warm_billed_ms)),
            x(
                p.usd_per_million(p.warm_billed_ms),
                r.usd_per_million(r.warm_billed_ms),
            ),
            "",
            None,
        );
        row(
            "est. $ per million cold tickets",
            format!("${:.2}", r.usd_per_million(r.cold_billed_ms)),
            format!("${:.2}", p.usd_per_million(p.cold_billed_ms)),
            x(
                p.usd_per_million(p.cold_billed_ms),
                r.usd_per_million(r.cold_billed_ms),
            ),
            "",
            None,
        );
        match self
            .criterion
            .get("render/cause-300KB")
            .and_then(|v| v.get("mean_ns"))
            .and_then(Value::as_f64)
        {
            Some(ns) => row(
                "render a 300 KB cause (criterion mean)",
                format!("{:.3} ms", ns / 1e6),
                "—".into(),
                String::new(),
                "≤ 1 ms",
                Some(ns <= 1e6),
            ),
            None => row(
                "render a 300 KB cause (criterion mean)",
                "not run".into(),
                "—".into(),
                String::new(),
                "≤ 1 ms",
                None,
            ),
        }
        rows
    }

    fn header(&self) -> String {
        format!(
            "{} run: {} cold starts and {} warm invocations per runtime, interleaved; \
             mock-api alone: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            if self.smoke {
                "SMOKE (numbers not meaningful)"
            } else {
                "full"
            },
            self.n_cold,
            self.n_warm,
            self.baseline.p50,
            self.baseline.p99,
            self.baseline.max
        )
    }

    fn verdict(met: Option<bool>) -> &'static str {
        match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        }
    }

    pub fn table(&self) -> String {
        let head = [
            "metric",
            "rust notifier",
            "python peer",
            "peer/rust",
            "target",
            "",
        ];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.metric.clone(),
                    r.rust.clone(),
                    r.python.clone(),
                    r.ratio.clone(),
                    r.target.clone(),
                    Self::verdict(r.met).to_owned(),
                ]
            })
            .collect();
        let mut width = head.map(|h| h.chars().count());
        for c in &cells {
            for (w, s) in width.iter_mut().zip(c) {
                *w = (*w).max(s.chars().count());
            }
        }
        let line = |c: &[String]| {
            c.iter()
                .zip(width)
                .enumerate()
                .map(|(i, (s, w))| {
                    let pad = w.saturating_sub(s.chars().count());
                    if i == 0 || i >= 4 {
                        format!("{s}{}", " ".repeat(pad))
                    } else {
                        format!("{}{s}", " ".repeat(pad))
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = format!("{}\n\n", self.header());
        out.push_str(&line(&head.map(str::to_owned)));
        out.push('\n');
        out.push_str(&"-".repeat(width.iter().sum::<usize>() + 10));
        out.push('\n');
        for c in &cells {
            out.push_str(&line(c));
            out.push('\n');
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("{}\n\n", self.header());
        out.push_str("| metric | rust notifier | python peer | peer/rust | target | |\n");
        out.push_str("| --- | ---: | ---: | ---: | --- | --- |\n");
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.metric.trim(),
                r.rust,
                r.python,
                r.ratio,
                r.target,
                Self::verdict(r.met)
            ));
        }
        out.push_str(&format!("\nMachine: {}\n", machine_line(&self.machine)));
        out
    }

    pub fn json(&self) -> Value {
        let side = |s: &Side, c: &Cold| {
            json!({
                "cold_start_ms": s.cold, "cold_start_samples_ms": c.total_ms,
                "init_ms": s.init, "cold_cpu_ms": s.cold_cpu,
                "first_secret_read": {"starts_after_spawn_ms": s.secret_at, "takes_ms": s.secret_took},
                "first_token_fetch": {"starts_after_spawn_ms": s.token_at, "takes_ms": s.token_took}, "cold_peak_rss_mb": s.cold_rss_mb,
                "secret_reads_per_cold_start": s.cold_reads, "token_fetches_per_cold_start": s.cold_fetches,
                "warm_latency_ms": s.warm,
                "warm_overhead_above_mock_api_ms": {
                    "p50": s.warm.p50 - self.baseline.p50, "p99": s.warm.p99 - self.baseline.p99,
                },
                "warm_cpu_ms_per_invocation": s.warm_cpu_ms, "peak_rss_mb": s.peak_rss_mb,
                "secret_reads_per_1000_warm": s.reads_per_1000, "token_fetches_warm": s.fetches,
                "memory_mb": s.memory_mb,
                "warm_billed_ms": s.warm_billed_ms, "cold_billed_ms": s.cold_billed_ms,
                "gb_s_per_million_warm": s.gb_s_per_million(s.warm_billed_ms),
                "usd_per_million_warm": s.usd_per_million(s.warm_billed_ms),
                "usd_per_million_cold": s.usd_per_million(s.cold_billed_ms),
            })
        };
        let targets: Vec<Value> = self
            .rows
            .iter()
            .filter(|r| r.met.is_some())
            .map(|r| json!({"metric": r.metric, "target": r.target, "rust": r.rust, "met": r.met}))
            .collect();
        json!({
            "mode": if self.smoke { "smoke" } else { "full" },
            "cold_starts_per_runtime": self.n_cold,
            "warm_invocations_per_runtime": self.n_warm,
            "warm_run_seconds": self.span.as_secs_f64(),
            "token_ttl_seconds": self.token_ttl,
            "mock_api_ms": self.baseline,
            "rust": side(&self.rust, &self.cold_raw[0]),
            "python": side(&self.python, &self.cold_raw[1]),
            "sizes_bytes": self.sizes,
            "criterion": self.criterion,
            "targets": targets,
            "pricing": {"usd_per_gb_s": PRICE_PER_GB_S, "usd_per_million_requests": PRICE_PER_MILLION_REQUESTS,
                        "arch": "arm64", "full_vcpu_mb": FULL_VCPU_MB},
            "machine": self.machine,
        })
    }
}

/// Zips the artifacts as they would be deployed (see `bench/zipsize.py`).
fn sizes(o: &Opts) -> Result<Value, String> {
    let mut pairs = vec![format!("rust-host={}", o.notifier.display())];
    let arm = o.root.join("target/lambda/notifier/bootstrap");
    let has_arm = is_aarch64_elf(&arm);
    if has_arm {
        pairs.push(format!("rust-arm64={}", arm.display()));
    }
    // `make test` builds the arm64 artifact; one older than the notifier's
    // sources says nothing about the current code's size, so the table
    // flags it.
    let stale = has_arm && modified(&arm) < newest_source(&o.root);
    if stale {
        eprintln!(
            "bench: {} is older than the notifier's sources; `cargo lambda build --release --arm64 --bin notifier` refreshes it",
            arm.display()
        );
    }
    pairs.push(format!("python={}", o.package.display()));
    let with_boto = o.package.with_file_name(format!(
        "{}-with-boto3",
        o.package
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("python-package")
    ));
    if with_boto.is_dir() {
        pairs.push(format!("python-with-boto3={}", with_boto.display()));
    }
    let out = Command::new("python3")
        .arg(o.root.join("bench/zipsize.py"))
        .arg(o.out.join("zips"))
        .args(&pairs)
        .output()
        .map_err(|e| format!("zipsize.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "zipsize.py failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("zipsize.py printed no JSON: {e}"))?;
    if let Some(m) = v.as_object_mut() {
        m.insert("rust-arm64-stale".to_owned(), Value::Bool(stale));
    }
    Ok(v)
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The latest change to anything the notifier binary is built from.
fn newest_source(root: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    let mut dirs = vec![root.join("shared/src"), root.join("functions/notifier/src")];
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "shared/Cargo.toml",
        "functions/notifier/Cargo.toml",
    ] {
        newest = newest.max(modified(&root.join(f)));
    }
    // Bounded: two source trees, a few dozen files.
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                newest = newest.max(modified(&p));
            }
        }
    }
    newest
}

fn is_aarch64_elf(p: &Path) -> bool {
    let Ok(b) = std::fs::read(p) else {
        return false;
    };
    // ELF magic, then e_machine at offset 18 (little endian): 0xB7 is AArch64.
    b.len() > 20 && &b[..4] == b"\x7fELF" && b[18] == 0xB7 && b[19] == 0
}

/// The latest `cargo bench -p ticket-bridge` results, if it has run.
fn criterion(root: &Path) -> Value {
    let base = root.join("target/criterion");
    let mut out = serde_json::Map::new();
    for group in ["pipeline", "render"] {
        let Ok(dir) = std::fs::read_dir(base.join(group)) else {
            continue;
        };
        let mut names: Vec<String> = dir
            .filter_map(|e| {
                e.ok()
                    .and_then(|e| e.file_name().to_str().map(str::to_owned))
            })
            .filter(|n| n != "report")
            .collect();
        names.sort();
        for name in names {
            let p = base.join(group).join(&name).join("new/estimates.json");
            let Some(v) = std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            else {
                continue;
            };
            let est = |k: &str| {
                v.get(k)
                    .and_then(|e| e.get("point_estimate"))
                    .and_then(Value::as_f64)
            };
            out.insert(
                format!("{group}/{name}"),
                json!({"mean_ns": est("mean"), "median_ns": est("median")}),
            );
        }
    }
    Value::Object(out)
}

fn machine(o: &Opts) -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let mem_kb: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let version = |cmd: &Path, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .map(|o| {
                String::from_utf8_lossy(if o.stdout.is_empty() {
                    &o.stderr
                } else {
                    &o.stdout
                })
                .trim()
                .to_owned()
            })
            .unwrap_or_default()
    };
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": (mem_kb as f64 / 1024.0 / 1024.0).round(),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "rustc": version(Path::new("rustc"), "--version"),
        "python": version(&o.python, "--version"),
        "date": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    })
}

fn machine_line(m: &Value) -> String {
    let s = |k: &str| {
        m.get(k)
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    format!(
        "{}, {} cores, {} GiB RAM, Linux {}; {}; {}; {}",
        s("cpu"),
        s("cores"),
        s("memory_gib"),
        s("kernel"),
        s("rustc"),
        s("python"),
        s("date")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_rss_with_headroom_in_64_mb_steps() {
        assert_eq!(memory_for(10.0), 128);
        assert_eq!(memory_for(102.0), 128);
        assert_eq!(memory_for(103.0), 192);
    }

    #[test]
    fn cpu_bound_time_stretches_below_a_full_vcpu() {
        // 10 ms waiting + 1 ms CPU at 1769 MB: 11 ms; at 128 MB the CPU ms
        // takes 1769/128 ≈ 13.8 ms.
        assert_eq!(billed_ms(11.0, 1.0, 1769), 11.0);
        assert_eq!(billed_ms(11.0, 1.0, 128), 24.0);
        assert_eq!(billed_ms(0.2, 0.5, 3008), 1.0);
    }

    #[test]
    fn detects_arm64_elf_only() {
        let dir = std::env::temp_dir().join(format!("bench-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut arm = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xb7\0".to_vec();
        arm.extend([0u8; 16]);
        let mut x86 = arm.clone();
        x86[18] = 0x3e;
        std::fs::write(dir.join("arm"), &arm).unwrap();
        std::fs::write(dir.join("x86"), &x86).unwrap();
        assert!(is_aarch64_elf(&dir.join("arm")));
        assert!(!is_aarch64_elf(&dir.join("x86")));
        assert!(!is_aarch64_elf(&dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
