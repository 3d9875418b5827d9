//! Every cause fixture in `fixtures/aws/` (provenance in its README) through
//! intake and rendering, as a Catch payload: the reason the Subject leads
//! with, the Body's first line, the facts the Body must show (all three from
//! the `<fixture>.expect.json` beside it) and what no Body may show (a Batch
//! container's environment, values under secret keys).

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use ticket_bridge::intake::{Intake, intake};
use ticket_bridge::ticket;

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What a fixture's ticket must show, from `<fixture>.expect.json` beside
/// it: kept with the fixture rather than in a table here, so adding a
/// fixture (or a shape) touches no Rust.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// The reason the Subject leads with and the Body's first line starts
    /// with (unescaped; the Subject is cut to `SUBJECT_MAX` if need be).
    reason: String,
    /// HTML fragments the Body contains, escaped as the Body has them.
    body_contains: Vec<String>,
}

fn expectation(name: &str) -> Option<Expect> {
    let sidecar = fixtures_dir().join(expect_name(name));
    let text = std::fs::read_to_string(&sidecar).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", sidecar.display())))
}

fn expect_name(fixture: &str) -> String {
    format!("{}.expect.json", fixture.trim_end_matches(".json"))
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws")
}

/// The payload fixtures: every `*.json` but the expectations beside them.
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !n.ends_with(".expect.json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The cause fixtures (the `history-*.json` are execution histories, read
/// by `history.rs`).
fn cause_fixtures() -> Vec<String> {
    fixture_names()
        .into_iter()
        .filter(|n| !n.starts_with("history-"))
        .collect()
}

/// Never in any Body: a Batch container's environment (names and values
/// from the recorded job in `batch-cannot-inspect-container.json`: a role
/// ARN handed to the container, a variable name), secret-key values.
const NEVER: &[&str] = &[
    "env-secret-do-not-show",
    "DB_PASSWORD",
    "hunter2",
    "arn:aws:iam::611670965994:role/gcc-S3Test",
    "PATHROW_LIST",
];

#[test]
fn every_aws_fixture_leads_with_its_reason() {
    let cfg = harness::config();
    for name in cause_fixtures() {
        let Some(Expect {
            reason,
            body_contains,
        }) = expectation(&name)
        else {
            panic!("{name} has no {}", expect_name(&name));
        };
        let reason = reason.as_str();
        let error = fixture(&name);
        let error_name = error["Error"].as_str().unwrap_or_default().to_owned();
        let event = json!({
            "error": error, "stateMachine": "pipeline", "failedState": "Step",
            "execution": "arn:aws:states:eu-west-1:123456789012:execution:pipeline:run-1",
        });
        let Ok(Intake::Failure(failure)) = intake(&event, None) else {
            panic!("{name}: not a failure");
        };
        let case = ticket::render(&failure, cfg, harness::now());
        harness::check_case(&case);
        // A real reason can be long (a Glue job's name and its S3 path):
        // the Subject is then cut at `SUBJECT_MAX` characters, ending in `…`.
        let full = format!("[Step Functions] pipeline: {reason} in Step");
        let expected = if full.chars().count() > ticket::SUBJECT_MAX {
            let mut cut: String = full.chars().take(ticket::SUBJECT_MAX - 1).collect();
            cut.push('…');
            cut
        } else {
            full
        };
        assert_eq!(case.subject, expected, "{name}");
        let first = case.body.lines().next().unwrap_or_default();
        let escaped = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;")
        };
        assert!(
            first.starts_with(&format!("<p><strong>{}</strong>", escaped(reason)))
                && first.contains(&escaped(&error_name))
                && first.ends_with(" in state Step</p>"),
            "{name}: first line {first}"
        );
        for fact in &body_contains {
            assert!(
                case.body.contains(fact),
                "{name}: no {fact:?} in\n{}",
                case.body
            );
        }
        for secret in NEVER {
            assert!(!case.body.contains(secret), "{name} shows {secret}");
        }
    }
}

/// Every payload in the folder has expectations and a provenance row, and
/// every expectation has its payload: a fixture without provenance is not
/// a fixture, and one without expectations tests nothing.
#[test]
fn every_fixture_is_tested_and_has_provenance() {
    let dir = fixtures_dir();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    let names = fixture_names();
    assert!(names.len() >= 25, "{names:?}");
    for name in &names {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{name} has no README row"));
        let kind = row.split('|').nth(2).unwrap_or_default().trim();
        assert!(
            ["recorded", "documented", "constructed"]
                .iter()
                .any(|k| kind.starts_with(k)),
            "{name}: provenance {kind:?} is none of recorded / documented / constructed"
        );
        if !name.starts_with("history-") {
            assert!(
                dir.join(expect_name(name)).is_file(),
                "{name} has no {}",
                expect_name(name)
            );
        }
    }
    for sidecar in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let sidecar = sidecar.file_name().to_string_lossy().into_owned();
        if let Some(stem) = sidecar.strip_suffix(".expect.json") {
            assert!(
                names.contains(&format!("{stem}.json")),
                "{sidecar} expects a fixture that is not there"
            );
        }
    }
}
