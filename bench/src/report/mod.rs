//! Turns the measurements into the tables (stdout and Markdown), the JSON
//! file and the target verdicts. The comparison rows are built in `rows`,
//! the targets in `targets`, the JSON in `json`, the storm's table in
//! `storm`; the cost model is in `cost`, the probes of artifacts and
//! machine in `probes`, the table renderers in `render`.

mod cost;
mod json;
mod probes;
mod render;
mod rows;
mod storm;
mod targets;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::events::Route;
use crate::opts::Opts;
use crate::runner::Kind;
use crate::scaling::Point;
use crate::services::Services;
use crate::stats::{Summary, summarize};
use crate::storm::Row as StormRow;
use cost::MB;
use render::{Grid, Row};

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

/// One measured warm invocation.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub route: Route,
    /// From `/next` handing the event out to `/response` arriving.
    pub latency_ms: f64,
    /// The process's CPU time over the invocation (`None` if unreadable).
    pub cpu_ms: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Warm {
    pub samples: Vec<Sample>,
    /// `wait4`'s total at the end, less the CPU clock before the measured
    /// calls, over the calls: the exact mean, GC and all.
    pub cpu_ms_per_invocation: f64,
    pub peak_rss_kb: u64,
    pub secret_reads: u64,
    pub token_fetches: u64,
}

/// Everything measured of one runtime.
#[derive(Debug)]
pub struct Run {
    pub kind: Kind,
    pub cold: Cold,
    pub warm: Warm,
}

/// One runtime's warm invocations of one route.
#[derive(Debug, Clone, Copy, Default)]
struct PathSide {
    latency: Summary,
    cpu: Summary,
}

/// The per-runtime numbers the table is made of.
struct Side {
    kind: Kind,
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
    /// Per invocation, from the CPU clock around each.
    warm_cpu: Summary,
    warm_cpu_ms: f64,
    paths: BTreeMap<Route, PathSide>,
    peak_rss_mb: f64,
    reads_per_1000: f64,
    fetches: u64,
    memory_mb: u64,
    warm_billed_ms: f64,
    cold_billed_ms: f64,
}

impl Side {
    fn new(kind: Kind, c: &Cold, w: &Warm, n_warm: usize) -> Self {
        let cold = summarize(&c.total_ms);
        let cold_cpu = summarize(&c.cpu_ms);
        let latencies = |f: &dyn Fn(&Sample) -> bool| {
            let v: Vec<f64> = w
                .samples
                .iter()
                .filter(|s| f(s))
                .map(|s| s.latency_ms)
                .collect();
            summarize(&v)
        };
        let cpus = |f: &dyn Fn(&Sample) -> bool| {
            let v: Vec<f64> = w
                .samples
                .iter()
                .filter(|s| f(s))
                .filter_map(|s| s.cpu_ms)
                .collect();
            summarize(&v)
        };
        let warm = latencies(&|_| true);
        let paths = Route::ALL
            .into_iter()
            .map(|r| {
                let side = PathSide {
                    latency: latencies(&|s| s.route == r),
                    cpu: cpus(&|s| s.route == r),
                };
                (r, side)
            })
            .collect();
        let peak_rss_mb = w.peak_rss_kb as f64 * 1024.0 / MB;
        let memory_mb =
            cost::memory_for(peak_rss_mb.max(median_u64(&c.rss_kb) as f64 * 1024.0 / MB));
        let col = |v: &[(f64, f64)], second: bool| {
            summarize(
                &v.iter()
                    .map(|p| if second { p.1 } else { p.0 })
                    .collect::<Vec<_>>(),
            )
        };
        Side {
            kind,
            secret_at: col(&c.secret_read, false),
            secret_took: col(&c.secret_read, true),
            token_at: col(&c.token_fetch, false),
            token_took: col(&c.token_fetch, true),
            init: summarize(&c.init_ms),
            cold_rss_mb: median_u64(&c.rss_kb) as f64 * 1024.0 / MB,
            cold_reads: mean_u64(&c.secret_reads),
            cold_fetches: mean_u64(&c.token_fetches),
            warm_cpu: cpus(&|_| true),
            warm_cpu_ms: w.cpu_ms_per_invocation,
            paths,
            peak_rss_mb,
            reads_per_1000: w.secret_reads as f64 * 1000.0 / n_warm as f64,
            fetches: w.token_fetches,
            memory_mb,
            warm_billed_ms: cost::billed_ms(warm.mean, w.cpu_ms_per_invocation, memory_mb),
            cold_billed_ms: cost::billed_ms(cold.p50, cold_cpu.p50, memory_mb),
            cold,
            cold_cpu,
            warm,
        }
    }

    fn path(&self, r: Route) -> PathSide {
        self.paths.get(&r).copied().unwrap_or_default()
    }

    fn gb_s_per_million(&self, billed_ms: f64) -> f64 {
        cost::gb_s_per_million(billed_ms, self.memory_mb)
    }

    fn usd_per_million(&self, billed_ms: f64) -> f64 {
        cost::usd_per_million(billed_ms, self.memory_mb)
    }
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
    /// In column order; the Rust notifier first.
    sides: Vec<Side>,
    runs: Vec<Run>,
    scaling: Vec<Point>,
    baseline: Summary,
    /// mock-api's own times for the case bodies of each route.
    baseline_by: BTreeMap<Route, Summary>,
    storm: Vec<StormRow>,
    storm_concurrency: usize,
    storm_budget: Duration,
    sizes: Value,
    criterion: Value,
    machine: Value,
    make_test: Value,
    commit: String,
    rows: Vec<Row>,
}

/// What the phases measured, for the report.
pub struct Measured {
    pub runs: Vec<Run>,
    pub scaling: Vec<Point>,
    pub baseline: Vec<(Route, f64)>,
    pub span: Duration,
    pub storm: Vec<StormRow>,
}

impl Report {
    pub fn new(o: &Opts, m: Measured, s: &Services) -> Result<Self, String> {
        let sides: Vec<Side> = m
            .runs
            .iter()
            .map(|r| Side::new(r.kind, &r.cold, &r.warm, o.warm))
            .collect();
        if sides.first().map(|s| s.kind) != Some(Kind::Rust) {
            return Err("the Rust notifier must be the first runtime".to_owned());
        }
        let all: Vec<f64> = m.baseline.iter().map(|b| b.1).collect();
        let baseline_by = Route::ALL
            .into_iter()
            .map(|r| {
                let v: Vec<f64> = m
                    .baseline
                    .iter()
                    .filter(|b| b.0 == r)
                    .map(|b| b.1)
                    .collect();
                (r, summarize(&v))
            })
            .collect();
        let mut r = Report {
            smoke: o.smoke,
            n_cold: o.cold,
            n_warm: o.warm,
            token_ttl: s.token_ttl,
            span: m.span,
            sides,
            runs: m.runs,
            scaling: m.scaling,
            baseline: summarize(&all),
            baseline_by,
            storm: m.storm,
            storm_concurrency: o.storm_concurrency,
            storm_budget: o.storm_budget,
            sizes: probes::sizes(o)?,
            criterion: probes::criterion(&o.root),
            machine: probes::machine(o),
            make_test: probes::make_test(&o.root),
            commit: probes::commit(&o.root),
            rows: Vec::new(),
        };
        r.rows = r.build_rows();
        Ok(r)
    }

    fn side(&self, kind: Kind) -> Option<&Side> {
        self.sides.iter().find(|s| s.kind == kind)
    }

    /// The columns that get a ratio over the notifier: the peers.
    fn peers(&self) -> Vec<usize> {
        (0..self.sides.len())
            .filter(|&i| self.sides[i].kind.tickets() && self.sides[i].kind != Kind::Rust)
            .collect()
    }

    /// mock-api's own time for the case bodies of route `r`.
    fn base(&self, r: Route) -> Summary {
        self.baseline_by.get(&r).copied().unwrap_or_default()
    }

    /// A runtime's warm overhead above mock-api on route `r`: (p50, p99).
    fn overhead(&self, s: &Side, r: Route) -> (f64, f64) {
        let (p, b) = (s.path(r).latency, self.base(r));
        (p.p50 - b.p50, p.p99 - b.p99)
    }

    /// A criterion benchmark's mean, in ms, if it has run.
    fn criterion_ms(&self, id: &str) -> Option<f64> {
        self.criterion
            .get(id)
            .and_then(|v| v.get("mean_ns"))
            .and_then(Value::as_f64)
            .map(|ns| ns / 1e6)
    }

    /// What a ticket costs: the notifier's Lambda price, cold and warm,
    /// against a Step Functions HTTP task filing it directly.
    fn cost_grid(&self) -> Grid {
        let http_task = cost::http_task_usd_per_million();
        let mut rows = Vec::new();
        for s in self.sides.iter().filter(|s| s.kind.tickets()) {
            let reads_cold = s.cold_reads;
            let reads_warm = s.reads_per_1000 / 1000.0;
            for (when, billed, reads) in [
                ("cold", s.cold_billed_ms, reads_cold),
                ("warm", s.warm_billed_ms, reads_warm),
            ] {
                let usd = s.usd_per_million(billed);
                let with_sm = usd + reads * cost::SM_PRICE_PER_API_CALL * 1e6;
                rows.push(vec![
                    format!("{} Lambda, {when}", s.kind.column()),
                    format!("{billed:.0} ms at {} MB", s.memory_mb),
                    format!("${usd:.2}"),
                    render::times(http_task, usd),
                    format!("${with_sm:.2}"),
                ]);
            }
        }
        rows.push(vec![
            "Step Functions HTTP task (1 state transition)".to_owned(),
            "—".to_owned(),
            format!("${http_task:.2}"),
            "1.0×".to_owned(),
            format!("${http_task:.2}"),
        ]);
        Grid {
            head: [
                "per ticket",
                "billed",
                "$ per million tickets",
                "HTTP task ÷ this",
                "+ its Secrets Manager reads",
            ]
            .map(str::to_owned)
            .to_vec(),
            right: vec![false, true, true, true, true],
            rows,
        }
    }

    /// One notifier invocation per event size, with criterion's timings of
    /// the same events.
    fn scaling_grid(&self) -> Grid {
        let us = |id: String| {
            self.criterion_ms(&id)
                .map_or("not run".to_owned(), |v| format!("{:.1} µs", v * 1e3))
        };
        let per_mb = |id: String, bytes: usize| {
            self.criterion_ms(&id).map_or("—".to_owned(), |v| {
                format!("{:.2} ms", v / (bytes as f64 / MB))
            })
        };
        Grid {
            head: [
                "event",
                "bytes",
                "render (criterion)",
                "render per MB",
                "parse (criterion)",
                "peak RSS, one invocation",
                "ticket",
            ]
            .map(str::to_owned)
            .to_vec(),
            right: vec![false, true, true, true, true, true, true],
            rows: self
                .scaling
                .iter()
                .map(|p| {
                    vec![
                        p.name.to_owned(),
                        p.event_bytes.to_string(),
                        us(format!("render-scaling/{}", p.name)),
                        per_mb(format!("render-scaling/{}", p.name), p.event_bytes),
                        us(format!("parse-scaling/{}", p.name)),
                        format!("{:.1} MB", p.peak_rss_kb as f64 * 1024.0 / MB),
                        format!("{:.1} KB", p.ticket_bytes as f64 / 1e3),
                    ]
                })
                .collect(),
        }
    }

    fn header(&self) -> String {
        let by = |r: Route| {
            let b = self.base(r);
            format!(
                "{} ({} calls each) p50 {:.2} ms, p99 {:.2} ms",
                r.label(),
                self.sides[0].path(r).latency.n,
                b.p50,
                b.p99
            )
        };
        format!(
            "{} run: {} cold starts and {} warm invocations per runtime, interleaved; \
             mock-api alone: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({}; {})",
            if self.smoke {
                "SMOKE (numbers not meaningful)"
            } else {
                "full"
            },
            self.n_cold,
            self.n_warm,
            self.baseline.p50,
            self.baseline.p99,
            self.baseline.max,
            by(Route::Catch),
            by(Route::EventBridge),
        )
    }

    fn grid(&self) -> Grid {
        let columns: Vec<&str> = self.sides.iter().map(|s| s.kind.column()).collect();
        let peers = self.peers();
        let ratio_columns: Vec<String> = if peers.len() == 1 {
            vec!["peer/rust".to_owned()]
        } else {
            peers
                .iter()
                .map(|&i| format!("{}/rust", self.sides[i].kind.label()))
                .collect()
        };
        Grid::comparison(&columns, &ratio_columns, &self.rows)
    }

    fn sections(&self) -> Vec<(&'static str, Grid)> {
        let mut out = vec![
            ("Cost per ticket", self.cost_grid()),
            ("Scaling with the event's size", self.scaling_grid()),
        ];
        if !self.storm.is_empty() {
            out.push(("Storm: cost per occurrence", self.storm_grid()));
            out.push(("Storm: calls by kind", self.storm_calls_grid()));
        }
        out.push(("Targets", self.targets_grid()));
        out
    }

    pub fn table(&self) -> String {
        let mut out = format!("{}\n\n{}", self.header(), self.grid().text());
        for (title, g) in self.sections() {
            out.push_str(&format!("\n{title}\n\n{}", g.text()));
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("{}\n\n{}", self.header(), self.grid().markdown());
        for (title, g) in self.sections() {
            out.push_str(&format!("\n### {title}\n\n{}", g.markdown()));
        }
        out.push_str(&format!(
            "\nMachine: {}; commit `{}`\n",
            render::machine_line(&self.machine),
            self.commit
        ));
        out
    }
}
