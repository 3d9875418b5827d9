//! The targets, each met or missed and by how much (the why is
//! the docs' to say: RESULTS.md).

use serde_json::Value;

use super::cost::MB;
use super::render::{Grid, verdict};
use super::{Report, Side};
use crate::events::Route;
use crate::runner::Kind;

/// One line of the targets table.
pub(super) struct Target {
    pub name: String,
    pub result: String,
    /// `None`: not measured in this run.
    pub met: Option<bool>,
    /// How far from the line, in the target's unit ("by 0.32×").
    pub margin: String,
}

/// `v` against "at least `line`" or "at most `line`", in `unit`.
fn judge(v: Option<f64>, line: f64, at_least: bool, unit: &str) -> (Option<bool>, String) {
    match v {
        Some(v) if v.is_finite() => {
            let met = if at_least { v >= line } else { v <= line };
            let by = (v - line).abs();
            let digits = if unit == "×" { 2 } else { 1 };
            (Some(met), format!("by {by:.digits$}{unit}"))
        }
        _ => (None, String::new()),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => Some(a / b),
        _ => None,
    }
}

fn shown(v: Option<f64>, detail: String) -> String {
    match v {
        Some(v) => format!("{v:.2}× ({detail})"),
        None => format!("not measured ({detail})"),
    }
}

impl Report {
    pub(super) fn targets(&self) -> Vec<Target> {
        let r = &self.sides[0];
        let mut out = Vec::new();
        let mut push = |name: String,
                        v: Option<f64>,
                        result: String,
                        line: f64,
                        at_least: bool,
                        unit: &str| {
            let (met, margin) = judge(v, line, at_least, unit);
            out.push(Target {
                name,
                result,
                met,
                margin,
            });
        };
        let floor = self.side(Kind::Floor);
        let init = ratio(Some(r.init.p50), floor.map(|f| f.init.p50));
        push(
            "init p50: notifier ÷ floor ≤ 1.3×".to_owned(),
            init,
            shown(
                init,
                format!(
                    "{:.1} vs {} ms",
                    r.init.p50,
                    floor.map_or("—".to_owned(), |f| format!("{:.1}", f.init.p50))
                ),
            ),
            1.3,
            false,
            "×",
        );
        for (kind, name, at_least) in [
            (Kind::Node, "cold start p50: Node ÷ notifier ≥ 20×", 20.0),
            (
                Kind::Python,
                "cold start p50: Python ÷ notifier ≥ 35×",
                35.0,
            ),
        ] {
            let p = self.side(kind);
            let v = ratio(p.map(|p| p.cold.p50), Some(r.cold.p50));
            let detail = format!(
                "{} vs {:.1} ms",
                p.map_or("—".to_owned(), |p| format!("{:.1}", p.cold.p50)),
                r.cold.p50
            );
            push(name.to_owned(), v, shown(v, detail), at_least, true, "×");
        }
        // CPU judges warm work: wall-clock overhead holds moto's latency.
        for route in Route::ALL {
            for kind in [Kind::Python, Kind::Node] {
                let p = self.side(kind);
                let cpu = |s: &Side| s.path(route).cpu;
                let v = ratio(p.map(|p| cpu(p).mean), Some(cpu(r).mean));
                let p50 = ratio(p.map(|p| cpu(p).p50), Some(cpu(r).p50));
                let detail = format!(
                    "mean {} vs {:.3} ms; p50 ratio {}",
                    p.map_or("—".to_owned(), |p| format!("{:.3}", cpu(p).mean)),
                    cpu(r).mean,
                    p50.map_or("—".to_owned(), |v| format!("{v:.2}×"))
                );
                push(
                    format!(
                        "warm CPU per invocation, {}: {} ÷ notifier ≥ 5×",
                        route.label(),
                        if kind == Kind::Node { "Node" } else { "Python" }
                    ),
                    v,
                    shown(v, detail),
                    5.0,
                    true,
                    "×",
                );
            }
        }
        for (name, id, at_most) in [
            ("render 300 KB cause ÷ parse ≤ 2×", "cause-300KB", 2.0),
            ("render catch-lambda ÷ parse ≤ 3×", "catch-lambda", 3.0),
        ] {
            let (rm, pm) = (
                self.criterion_ms(&format!("render/{id}")),
                self.criterion_ms(&format!("parse/{id}")),
            );
            let v = ratio(rm, pm);
            let us = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.1}", v * 1e3));
            let detail = format!("{} vs {} µs, criterion, gate with secrets", us(rm), us(pm));
            push(name.to_owned(), v, shown(v, detail), at_most, false, "×");
        }
        push(
            format!("peak RSS after {} warm tickets ≤ 8 MB", self.n_warm),
            Some(r.peak_rss_mb),
            format!("{:.1} MB", r.peak_rss_mb),
            8.0,
            false,
            " MB",
        );
        let arm = self
            .sizes
            .get("rust-arm64")
            .and_then(|v| v.get("unzipped"))
            .and_then(Value::as_f64);
        let stale = self.sizes.get("rust-arm64-stale") == Some(&Value::Bool(true));
        push(
            "stripped arm64 binary ≤ 6 MB".to_owned(),
            arm.filter(|_| !stale).map(|b| b / MB),
            match arm {
                Some(b) if stale => format!("{:.2} MB, but OLDER than the sources", b / MB),
                Some(b) => format!("{:.2} MB (sizes_bytes.rust-arm64)", b / MB),
                None => "not built (cargo lambda build --release --arm64)".to_owned(),
            },
            6.0,
            false,
            " MB",
        );
        let secs = self.make_test.get("seconds").and_then(Value::as_f64);
        push(
            "make test on a fresh clone ≤ 12 min".to_owned(),
            secs.map(|s| s / 60.0),
            match secs {
                Some(s) => format!(
                    "{:.1} min at {} (bench/make-test-fresh-clone.sh)",
                    s / 60.0,
                    self.make_test
                        .get("commit")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                ),
                None => "not measured (bench/make-test-fresh-clone.sh)".to_owned(),
            },
            12.0,
            false,
            " min",
        );
        out.extend(self.storm_targets());
        out
    }

    pub(super) fn targets_grid(&self) -> Grid {
        Grid {
            head: ["target", "result", "", "margin"]
                .map(str::to_owned)
                .to_vec(),
            right: vec![false; 4],
            rows: self
                .targets()
                .into_iter()
                .map(|t| {
                    vec![
                        t.name,
                        t.result,
                        match t.met {
                            None => "not measured".to_owned(),
                            met => verdict(met).to_owned(),
                        },
                        t.margin,
                    ]
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_say_met_or_missed_and_by_how_much() {
        assert_eq!(
            judge(Some(6.5), 5.0, true, "×"),
            (Some(true), "by 1.50×".to_owned())
        );
        assert_eq!(
            judge(Some(3.3), 5.0, true, "×"),
            (Some(false), "by 1.70×".to_owned())
        );
        assert_eq!(
            judge(Some(9.9), 8.0, false, " MB"),
            (Some(false), "by 1.9 MB".to_owned())
        );
        assert_eq!(judge(None, 8.0, false, " MB"), (None, String::new()));
        assert_eq!(judge(Some(f64::NAN), 1.0, true, "×").0, None);
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
        assert_eq!(ratio(Some(3.0), Some(1.5)), Some(2.0));
    }
}
