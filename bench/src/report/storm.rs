//! The storm's tables, targets and JSON: what each storm cost, in all and
//! per occurrence, and whether every occurrence reached the desk.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Report;
use super::render::Grid;
use super::targets::Target;
use crate::storm::{RATE_LIMIT_PER_SECOND, REPLY_INTERVAL, Row};

/// "Flat" per-occurrence cost: the largest storm's within this factor of
/// the 100-failure storm's.
const FLAT: f64 = 1.10;

/// A storm's cost per occurrence, by one measure.
type PerOccurrence = fn(&Row) -> f64;

fn per(v: f64, row: &Row) -> f64 {
    v / row.failures.max(1) as f64
}

impl Report {
    pub(super) fn storm_grid(&self) -> Grid {
        let head = [
            "failures",
            "fingerprints",
            "cases",
            "replies",
            "desk requests (429s)",
            "DynamoDB calls",
            "notifier CPU",
            "last occurrence on its case",
            "missing",
            "CPU per occurrence",
            "DynamoDB calls per occurrence",
            "desk requests per occurrence",
        ];
        Grid {
            head: head.map(str::to_owned).to_vec(),
            right: vec![true; head.len()],
            rows: self
                .storm
                .iter()
                .map(|r| {
                    vec![
                        if r.cut {
                            format!("{} of {} (CUT)", r.failures, r.requested)
                        } else {
                            r.failures.to_string()
                        },
                        r.fingerprints.to_string(),
                        r.cases.to_string(),
                        r.replies.to_string(),
                        format!("{} ({})", r.desk_total(), r.rate_limited),
                        r.dynamodb_total().to_string(),
                        format!("{:.0} ms", r.notifier_cpu_ms),
                        format!("{:.1} s", r.last_on_case_s),
                        r.missing.to_string(),
                        format!("{:.3} ms", per(r.notifier_cpu_ms, r)),
                        format!("{:.2}", per(r.dynamodb_total() as f64, r)),
                        format!("{:.4}", per(r.desk_total() as f64, r)),
                    ]
                })
                .collect(),
        }
    }

    /// Every storm's calls by kind: DynamoDB operations, then desk requests.
    pub(super) fn storm_calls_grid(&self) -> Grid {
        let ops: BTreeSet<&String> = self
            .storm
            .iter()
            .flat_map(|r| r.dynamodb_calls.keys())
            .collect();
        let desk: BTreeSet<&String> = self
            .storm
            .iter()
            .flat_map(|r| r.desk_requests.keys())
            .collect();
        let mut head = vec!["storm".to_owned()];
        head.extend(ops.iter().map(|k| format!("DynamoDB {k}")));
        head.extend(desk.iter().map(|k| format!("desk {k}")));
        head.push("other AWS calls".to_owned());
        head.push("invocations (retried)".to_owned());
        let rows = self
            .storm
            .iter()
            .map(|r| {
                let mut c = vec![format!("{} × {}", r.requested, r.fingerprints)];
                c.extend(
                    ops.iter()
                        .map(|k| r.dynamodb_calls.get(*k).copied().unwrap_or(0).to_string()),
                );
                c.extend(
                    desk.iter()
                        .map(|k| r.desk_requests.get(*k).copied().unwrap_or(0).to_string()),
                );
                c.push(
                    r.other_aws_calls
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                c.push(format!("{} ({})", r.invocations, r.retried));
                c
            })
            .collect();
        let n = head.len();
        Grid {
            head,
            right: (0..n).map(|i| i > 0 && i < n - 2).collect(),
            rows,
        }
    }

    pub(super) fn storm_targets(&self) -> Vec<Target> {
        if self.storm.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let missing: u64 = self.storm.iter().map(|r| r.missing).sum();
        let failures: usize = self.storm.iter().map(|r| r.failures).sum();
        out.push(Target {
            name: "storm: occurrences missing from the desk = 0".to_owned(),
            result: format!(
                "{missing} of {failures} failures in {} storms",
                self.storm.len()
            ),
            met: Some(missing == 0),
            margin: if missing == 0 {
                String::new()
            } else {
                format!("by {missing}")
            },
        });
        let cut: Vec<String> = self
            .storm
            .iter()
            .filter(|r| r.cut)
            .map(|r| format!("{} × {} sent {}", r.requested, r.fingerprints, r.failures))
            .collect();
        out.push(Target {
            name: format!(
                "storm: every storm sends all its failures within its budget ({} s)",
                self.storm_budget.as_secs()
            ),
            result: if cut.is_empty() {
                format!("{} storms", self.storm.len())
            } else {
                format!("cut: {}", cut.join("; "))
            },
            met: Some(cut.is_empty()),
            margin: String::new(),
        });
        let counts: BTreeSet<usize> = self.storm.iter().map(|r| r.fingerprints).collect();
        for f in counts {
            let of = |n: usize| {
                self.storm
                    .iter()
                    .find(|r| r.fingerprints == f && r.requested == n)
            };
            let largest = self
                .storm
                .iter()
                .filter(|r| r.fingerprints == f)
                .max_by_key(|r| r.requested);
            let (Some(small), Some(big)) = (of(100), largest.filter(|r| r.requested > 100)) else {
                continue;
            };
            let measures: [(&str, PerOccurrence, f64); 3] = [
                ("notifier CPU", |r| per(r.notifier_cpu_ms, r), FLAT),
                (
                    "DynamoDB calls",
                    |r| per(r.dynamodb_total() as f64, r),
                    FLAT,
                ),
                ("desk requests", |r| per(r.desk_total() as f64, r), 1.0),
            ];
            for (what, per_occ, line) in measures {
                let (a, b) = (per_occ(small), per_occ(big));
                let v = (a > 0.0).then(|| b / a);
                let shape = if line > 1.0 {
                    "flat or falling"
                } else {
                    "falling"
                };
                out.push(Target {
                    name: format!(
                        "storm, {f} fingerprints: {what} per occurrence {shape}, 100 → {}{} (≤ {line:.2}×)",
                        big.requested,
                        if big.cut { format!(", cut at {}", big.failures) } else { String::new() }
                    ),
                    result: match v {
                        Some(v) => format!("{v:.2}× ({b:.4} vs {a:.4} per occurrence)"),
                        None => "not measured (nothing at 100)".to_owned(),
                    },
                    met: v.map(|v| v <= line),
                    margin: v.map_or(String::new(), |v| format!("by {:.2}×", (v - line).abs())),
                });
            }
        }
        out
    }

    pub(super) fn storm_json(&self) -> Value {
        if self.storm.is_empty() {
            return Value::Null;
        }
        let rows: Vec<Value> = self
            .storm
            .iter()
            .map(|r| {
                json!({
                    "failures": r.failures,
                    "failures_requested": r.requested,
                    "cut_by_budget": r.cut,
                    "fingerprints": r.fingerprints,
                    "processes": r.processes,
                    "occurrences": r.failures,
                    "occurrences_recorded": r.occurrences_recorded,
                    "cases": r.cases,
                    "replies": r.replies,
                    "desk_requests": r.desk_requests,
                    "desk_requests_total": r.desk_total(),
                    "desk_requests_rate_limited": r.rate_limited,
                    "dynamodb_calls": r.dynamodb_calls,
                    "dynamodb_calls_total": r.dynamodb_total(),
                    "other_aws_calls": r.other_aws_calls,
                    "notifier_cpu_ms": r.notifier_cpu_ms,
                    "notifier_peak_rss_mb": r.peak_rss_kb as f64 * 1024.0 / super::MB,
                    "wall_seconds_to_last_occurrence_on_its_case": r.last_on_case_s,
                    "wall_seconds_to_last_invocation_answered": r.invocations_s,
                    "invocations": r.invocations,
                    "retried_invocations": r.retried,
                    "failures_given_up": r.gave_up,
                    "flushes": r.flushes,
                    "outcomes": r.outcomes,
                    "occurrences_named_on_desk": r.named,
                    "occurrences_only_counted_on_desk": r.counted,
                    "occurrences_missing_from_desk": r.missing,
                    "per_occurrence": {
                        "notifier_cpu_ms": per(r.notifier_cpu_ms, r),
                        "dynamodb_calls": per(r.dynamodb_total() as f64, r),
                        "desk_requests": per(r.desk_total() as f64, r),
                    },
                })
            })
            .collect();
        json!({
            "event": "events/catch-lambda.json, one execution per failure, one failed state per fingerprint",
            "desk_rate_limit_per_second": RATE_LIMIT_PER_SECOND,
            "incident_reply_interval_seconds": REPLY_INTERVAL.as_secs(),
            "notifier_processes": self.storm_concurrency,
            "budget_seconds_per_storm": self.storm_budget.as_secs(),
            "lambda_retries_per_failure": 2,
            "rows": rows,
        })
    }
}
