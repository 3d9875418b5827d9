//! The comparison table's rows: one per metric, a cell per runtime, the
//! peers' ratios over the notifier, and the row's own target if it has one.

use serde_json::Value;

use super::cost::MB;
use super::render::{Row, Rows};
use super::{Report, Side};
use crate::events::Route;
use crate::runner::Kind;

impl Report {
    pub(super) fn build_rows(&self) -> Vec<Row> {
        let b = &self.baseline;
        let mut t = Rows::new(self.sides.iter().collect(), 0, self.peers());
        let msf = |v: f64| format!("{v:.1} ms");
        let ms2 = |v: f64| format!("{v:.2} ms");
        let ms3 = |v: f64| format!("{v:.3} ms");
        let mbf = |v: f64| format!("{v:.1} MB");
        // Sizes from a few KB (a handler alone) to MBs.
        let size_f = |v: f64| {
            if v < 0.1 * MB {
                format!("{:.0} KB", v / 1e3)
            } else {
                format!("{:.1} MB", v / MB)
            }
        };
        let r = &self.sides[0];
        let peer = self.side(Kind::Python);

        t.row("cold start p50 (spawn → ticket)")
            .each(|s| msf(s.cold.p50))
            .ratio(|s| s.cold.p50)
            .target(
                "≤ 1/10 of peer",
                peer.map(|p| r.cold.p50 * 10.0 <= p.cold.p50),
            )
            .add();
        t.row("cold start min – max")
            .each(|s| format!("{:.1} – {:.1}", s.cold.min, s.cold.max))
            .add();
        t.row("  init (spawn → first /next) p50")
            .each(|s| msf(s.init.p50))
            .ratio(|s| s.init.p50)
            .add();
        t.row("  first SM read starts at / takes (p50)")
            .each_opt(|s| {
                s.kind
                    .tickets()
                    .then(|| format!("{:.1} / {:.1} ms", s.secret_at.p50, s.secret_took.p50))
            })
            .add();
        t.row("  first token fetch starts at / takes (p50)")
            .each_opt(|s| {
                s.kind
                    .tickets()
                    .then(|| format!("{:.1} / {:.1} ms", s.token_at.p50, s.token_took.p50))
            })
            .add();
        t.row("  CPU time of a cold start p50")
            .each(|s| msf(s.cold_cpu.p50))
            .ratio(|s| s.cold_cpu.p50)
            .add();
        t.row("  SM reads / token fetches per cold start")
            .each_opt(|s| {
                s.kind
                    .tickets()
                    .then(|| format!("{:.0} / {:.0}", s.cold_reads, s.cold_fetches))
            })
            .add();
        t.row("warm latency p50, all events")
            .each(|s| ms2(s.warm.p50))
            .ratio(|s| s.warm.p50)
            .add();
        t.row("warm latency p99, all events")
            .each(|s| ms2(s.warm.p99))
            .ratio(|s| s.warm.p99)
            .add();
        t.row("warm latency max, all events")
            .each(|s| ms2(s.warm.max))
            .ratio(|s| s.warm.max)
            .add();
        t.row("overhead above mock-api p50, all events")
            .each_opt(|s| s.kind.tickets().then(|| ms2(s.warm.p50 - b.p50)))
            .ratio(|s| s.warm.p50 - b.p50)
            .add();
        t.row("overhead above mock-api p99, all events")
            .each_opt(|s| s.kind.tickets().then(|| ms2(s.warm.p99 - b.p99)))
            .ratio(|s| s.warm.p99 - b.p99)
            .add();
        for route in Route::ALL {
            let label = route.label();
            t.row(format!("{label}: overhead above mock-api p50"))
                .each_opt(|s| s.kind.tickets().then(|| ms2(self.overhead(s, route).0)))
                .ratio(|s| self.overhead(s, route).0)
                .add();
            // On the EventBridge path the overhead holds moto's answer to
            // GetExecutionHistory, which no runtime controls: CPU judges it.
            let o99 = self.overhead(r, route).1;
            let row = t
                .row(format!("{label}: overhead above mock-api p99"))
                .each_opt(|s| s.kind.tickets().then(|| ms2(self.overhead(s, route).1)))
                .ratio(|s| self.overhead(s, route).1);
            match route {
                Route::Catch => row.target("≤ 2 ms", Some(o99 <= 2.0)).add(),
                Route::EventBridge => row.add(),
            }
            t.row(format!("{label}: CPU per warm invocation p50"))
                .each(|s| ms3(s.path(route).cpu.p50))
                .ratio(|s| s.path(route).cpu.p50)
                .add();
            t.row(format!("{label}: CPU per warm invocation p99"))
                .each(|s| ms3(s.path(route).cpu.p99))
                .ratio(|s| s.path(route).cpu.p99)
                .add();
            t.row(format!("{label}: CPU per warm invocation mean"))
                .each(|s| ms3(s.path(route).cpu.mean))
                .ratio(|s| s.path(route).cpu.mean)
                .add();
        }
        t.row("CPU time per warm invocation, all events (wait4 ÷ calls)")
            .each(|s| ms3(s.warm_cpu_ms))
            .ratio(|s| s.warm_cpu_ms)
            .add();
        t.row("peak RSS (after the warm run)")
            .each(|s| mbf(s.peak_rss_mb))
            .ratio(|s| s.peak_rss_mb)
            .target(
                "≤ 1/3 of peer and ≤ 20 MB",
                peer.map(|p| r.peak_rss_mb * 3.0 <= p.peak_rss_mb && r.peak_rss_mb <= 20.0),
            )
            .add();
        t.row("SM reads per 1000 warm invocations")
            .each_opt(|s| s.kind.tickets().then(|| format!("{:.1}", s.reads_per_1000)))
            .target("0 within the cache TTL", Some(r.reads_per_1000 == 0.0))
            .add();
        let allowed = (self.span.as_secs_f64() / self.token_ttl as f64).ceil() as u64 + 1;
        t.row(format!(
            "token fetches in the warm run ({:.0} s, {} s tokens)",
            self.span.as_secs_f64(),
            self.token_ttl
        ))
        .each_opt(|s| s.kind.tickets().then(|| s.fetches.to_string()))
        .target(
            format!("≤ 1 per token lifetime (≤ {allowed})"),
            Some(r.fetches <= allowed),
        )
        .add();

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
        let rust_only = |v: String| move |s: &Side| (s.kind == Kind::Rust).then(|| v.clone());
        if let Some(bin) = size(bin_key, "unzipped") {
            t.row(bin_label)
                .each_opt(rust_only(mbf(bin / MB)))
                .target("≤ 8 MB", Some(bin <= 8.0 * MB))
                .add();
        }
        if bin_key == "rust-arm64"
            && let Some(host) = size("rust-host", "unzipped")
        {
            t.row("stripped binary (host x86_64 build)")
                .each_opt(rust_only(mbf(host / MB)))
                .add();
        }
        // Each runtime's deployment zip: the peers as deployed on the
        // managed runtime (which provides boto3 / SDK v3), then bundling it.
        for (label, python_key, node_key) in [
            (
                "deployment zip (peers: runtime's SDK; python + requests)",
                "python",
                "node",
            ),
            (
                "deployment zip (peers bundling boto3 / SDK v3)",
                "python-with-boto3",
                "node-with-sdk",
            ),
        ] {
            let z = |s: &Side| match s.kind {
                Kind::Rust => size(bin_key, "zip"),
                Kind::Python => size(python_key, "zip"),
                Kind::Node => size(node_key, "zip"),
                Kind::Floor => None,
            };
            if size(bin_key, "zip").is_some() {
                t.row(label)
                    .each_opt(|s| z(s).map(size_f))
                    .ratio(|s| z(s).unwrap_or(f64::NAN))
                    .add();
            }
        }
        t.row("memory size (1.25 × peak RSS, ≥ 128 MB)")
            .each(|s| format!("{} MB", s.memory_mb))
            .add();
        t.row("est. billed ms per warm ticket")
            .each(|s| format!("{:.0}", s.warm_billed_ms))
            .ratio(|s| s.warm_billed_ms)
            .add();
        t.row("est. GB-s per million warm tickets")
            .each(|s| format!("{:.0}", s.gb_s_per_million(s.warm_billed_ms)))
            .ratio(|s| s.gb_s_per_million(s.warm_billed_ms))
            .add();
        t.row("est. $ per million warm tickets")
            .each(|s| format!("${:.2}", s.usd_per_million(s.warm_billed_ms)))
            .ratio(|s| s.usd_per_million(s.warm_billed_ms))
            .add();
        t.row("est. $ per million cold tickets")
            .each(|s| format!("${:.2}", s.usd_per_million(s.cold_billed_ms)))
            .ratio(|s| s.usd_per_million(s.cold_billed_ms))
            .add();
        let render = self.criterion_ms("render/cause-300KB");
        t.row("render a 300 KB cause (criterion mean)")
            .each_opt(rust_only(
                render.map_or("not run".to_owned(), |v| format!("{v:.3} ms")),
            ))
            .target("≤ 1 ms", render.map(|v| v <= 1.0))
            .add();
        t.rows
    }
}
