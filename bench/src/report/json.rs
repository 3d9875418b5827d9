//! results.json: every number of the run, each runtime per path.

use serde_json::{Value, json};

use super::cost::{
    self, FULL_VCPU_MB, PRICE_PER_GB_S, PRICE_PER_MILLION_REQUESTS, SFN_PRICE_PER_STATE_TRANSITION,
    SM_PRICE_PER_API_CALL,
};
use super::{Cold, MB, Report, Side};
use crate::events::Route;

/// What only a runtime that files tickets has: left out of the floor's JSON.
const TICKET_FIELDS: &[&str] = &[
    "first_secret_read",
    "first_token_fetch",
    "secret_reads_per_cold_start",
    "token_fetches_per_cold_start",
    "warm_overhead_above_mock_api_ms",
    "secret_reads_per_1000_warm",
    "token_fetches_warm",
];

/// How `cpu_ms_per_invocation` is measured, for whoever reads the file.
pub const CPU_METHOD: &str = "the function process's CPU-time clock (clock_getcpuclockid + clock_gettime: \
user + system time of all its threads, the total wait4's rusage reports, in ns), read when the process \
is idle at /next before the event is handed out, and again once it has asked for the next event after \
answering and its clock has stopped moving (at most 20 us over 1 ms)";

impl Report {
    /// One route's warm numbers for one runtime.
    fn path_json(&self, s: &Side, route: Route) -> Value {
        let p = s.path(route);
        let (o50, o99) = self.overhead(s, route);
        let mut v = json!({
            "invocations": p.latency.n,
            "warm_latency_ms": p.latency,
            "warm_overhead_above_mock_api_ms": {"p50": o50, "p99": o99},
            "cpu_ms_per_invocation": {"p50": p.cpu.p50, "p99": p.cpu.p99, "mean": p.cpu.mean, "max": p.cpu.max},
        });
        if !s.kind.tickets()
            && let Some(m) = v.as_object_mut()
        {
            m.remove("warm_overhead_above_mock_api_ms");
        }
        v
    }

    pub fn json(&self) -> Value {
        let side = |s: &Side, c: &Cold| {
            let paths: serde_json::Map<String, Value> = Route::ALL
                .into_iter()
                .map(|r| (r.key().to_owned(), self.path_json(s, r)))
                .collect();
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
                "paths": paths,
                "warm_cpu_ms_per_invocation": s.warm_cpu_ms,
                "warm_cpu_ms_per_invocation_samples": s.warm_cpu,
                "peak_rss_mb": s.peak_rss_mb,
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
            .map(|r| json!({"metric": r.metric, "target": r.target, "rust": r.cells[0], "met": r.met}))
            .collect();
        let mock_by_path: serde_json::Map<String, Value> = Route::ALL
            .into_iter()
            .map(|r| (r.key().to_owned(), json!(self.base(r))))
            .collect();
        let mut out = json!({
            "mode": if self.smoke { "smoke" } else { "full" },
            "cold_starts_per_runtime": self.n_cold,
            "warm_invocations_per_runtime": self.n_warm,
            "warm_run_seconds": self.span.as_secs_f64(),
            "token_ttl_seconds": self.token_ttl,
            "mock_api_ms": self.baseline,
            "mock_api_ms_by_path": mock_by_path,
            "cpu_per_invocation_method": CPU_METHOD,
        });
        for (s, run) in self.sides.iter().zip(&self.runs) {
            let mut v = side(s, &run.cold);
            if !s.kind.tickets()
                && let Some(m) = v.as_object_mut()
            {
                for k in TICKET_FIELDS {
                    m.remove(*k);
                }
            }
            out[s.kind.label()] = v;
        }
        let issue_targets: Vec<Value> = self
            .targets()
            .into_iter()
            .map(
                |t| json!({"target": t.name, "result": t.result, "met": t.met, "margin": t.margin}),
            )
            .collect();
        let scaling: Vec<Value> = self
            .scaling
            .iter()
            .map(|p| {
                json!({
                    "size": p.name, "event_bytes": p.event_bytes, "ticket_bytes": p.ticket_bytes,
                    "peak_rss_mb": p.peak_rss_kb as f64 * 1024.0 / MB,
                    "render_mean_ns": self.criterion_ms(&format!("render-scaling/{}", p.name)).map(|v| v * 1e6),
                    "parse_mean_ns": self.criterion_ms(&format!("parse-scaling/{}", p.name)).map(|v| v * 1e6),
                })
            })
            .collect();
        for (k, v) in [
            ("sizes_bytes", self.sizes.clone()),
            ("criterion", self.criterion.clone()),
            ("targets", Value::Array(targets)),
            ("issue_targets", Value::Array(issue_targets)),
            ("scaling", Value::Array(scaling)),
            ("storm", self.storm_json()),
            (
                "pricing",
                json!({"usd_per_gb_s": PRICE_PER_GB_S, "usd_per_million_requests": PRICE_PER_MILLION_REQUESTS,
                        "arch": "arm64", "full_vcpu_mb": FULL_VCPU_MB,
                        "sfn_standard_usd_per_state_transition": SFN_PRICE_PER_STATE_TRANSITION,
                        "secrets_manager_usd_per_api_call": SM_PRICE_PER_API_CALL}),
            ),
            (
                "http_task_usd_per_million_tickets",
                json!(cost::http_task_usd_per_million()),
            ),
            ("make_test_fresh_clone", self.make_test.clone()),
            ("commit", json!(self.commit)),
            ("machine", self.machine.clone()),
        ] {
            out[k] = v;
        }
        out
    }
}
