//! `notifier render`: the real binary, an empty environment, every sample.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn events_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn render(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notifier"));
    cmd.arg("render")
        .args(args)
        .env_clear()
        .envs(env.iter().copied());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        pipe.write_all(data).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stderr_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "expected one line on stderr, got: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn every_sample_renders_with_no_environment() {
    let mut rendered = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let env: &[(&str, &str)] = if name == "catch-payload-path.json" {
            &[("ERROR_PATH", "$.Payload.error")]
        } else {
            &[]
        };
        let out = render(&[path.to_str().unwrap()], env, None);
        if name.starts_with("invalid") {
            assert_eq!(out.status.code(), Some(2), "{name}");
            assert!(stderr_line(&out).starts_with("notifier: invalid failure event:"));
            continue;
        }
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        if name == "eventbridge-succeeded.json" {
            assert_eq!(
                v,
                serde_json::json!({"skipped": true, "status": "SUCCEEDED"})
            );
            continue;
        }
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["Body", "FromPerson", "Source", "Subject"], "{name}");
        let subject = v["Subject"].as_str().unwrap();
        assert!(
            subject.starts_with("[Step Functions] ") && subject.chars().count() <= 200,
            "{name}: {subject}"
        );
        rendered += 1;
    }
    assert!(rendered >= 11, "only {rendered} samples rendered");
}

#[test]
fn each_cause_shape_surfaces_its_facts() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "catch-lambda.json",
            "order-pipeline: PaymentDeclined in ChargeCard",
            &["card ending 4242", "raise PaymentDeclined(msg)", "3e0a1c9b"],
        ),
        (
            "catch-lambda-rust.json",
            "order-pipeline: warehouse WH-3 has no stock for SKU 991 in ReserveStock",
            &["alloc::boxed::Box"],
        ),
        (
            "catch-ecs.json",
            "OutOfMemoryError: exit code 137 of container report in RunReportTask",
            &[
                "EssentialContainerExited",
                "<strong>report</strong>: exit code 137",
                "OutOfMemoryError",
            ],
        ),
        (
            "catch-http.json",
            "HTTP 503 Service Unavailable in NotifyPartner",
            &["HTTP 503 Service Unavailable"],
        ),
        (
            "catch-sdk.json",
            "DynamoDb.ResourceNotFoundException in SaveOrder",
            &["DynamoDb", "5T8B0R1K2E3N4Q5U6I7V8O9A0EVJF66Q9ASUAAJG"],
        ),
        (
            "catch-timeout.json",
            "States.Timeout in WaitForApproval",
            &["none given"],
        ),
        (
            "catch-runtime.json",
            "The JSONPath '$.result.total' specified for the field 'total.$' could not be found in the input '{\"result\":{}}' in ShapeOutput",
            &[
                "could not be found in the input",
                "(error States.Runtime) in state ShapeOutput",
            ],
        ),
        (
            "bare-error.json",
            "unknown state machine: Task timed out after 30.02 seconds",
            &["Task timed out after 30.02 seconds"],
        ),
        (
            "eventbridge-failed.json",
            "order-pipeline: PaymentDeclined: card ending 4242 was declined (FAILED)",
            &["PaymentDeclined", "Stopped", "4m 17s"],
        ),
        (
            "eventbridge-timed-out.json",
            "order-pipeline: States.Timeout (TIMED_OUT)",
            &["TIMED_OUT"],
        ),
        (
            "catch-batch.json",
            "order-pipeline: CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s in RunNightlyReport",
            &[
                "nightly-report/default/1a2b3c",
                "batch/home?region=us-east-1#jobs/detail/",
            ],
        ),
        (
            "catch-nested.json",
            "order-pipeline: KeyError: 'sku' (child execution of price-items) in EnrichOrder",
            &[
                "enrich-order: States.TaskFailed → price-items: KeyError",
                "Child execution (price-items) in the AWS console",
            ],
        ),
        (
            "catch-putevents.json",
            "order-pipeline: PutEvents entry failed: MalformedDetail: Detail is malformed. in PublishOrderEvent",
            &["MalformedDetail"],
        ),
        (
            "eventbridge-aborted.json",
            "order-pipeline: Execution ABORTED",
            &["not included by Step Functions"],
        ),
    ];
    for (file, subject, needles) in cases {
        let out = render(&[events_dir().join(file).to_str().unwrap()], &[], None);
        assert!(out.status.success(), "{file}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            v["Subject"].as_str().unwrap().ends_with(subject),
            "{file}: {}",
            v["Subject"]
        );
        let body = v["Body"].as_str().unwrap();
        for n in *needles {
            assert!(body.contains(n), "{file}: no {n:?} in body");
        }
        for secret in [
            "sk_live_do_not_leak",
            "hunter2",
            "live_token_1234567890",
            "env-secret-do-not-show",
        ] {
            assert!(!body.contains(secret), "{file} leaks {secret}");
        }
    }
}

#[test]
fn stdin_and_configuration_are_honoured() {
    let out = render(
        &["-"],
        &[
            ("FROM_PERSON_UID", "dpWp6Lmn"),
            ("CASE_SOURCE", "4"),
            ("SUBJECT_PREFIX", "[prod]"),
        ],
        Some(br#"{"Error": "Boom", "Cause": "x", "stateMachine": "etl"}"#),
    );
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["FromPerson"], serde_json::json!({"Uid": "dpWp6Lmn"}));
    assert_eq!(v["Source"], 4);
    assert_eq!(v["Subject"], "[prod] etl: Boom");
}

#[test]
fn bad_input_is_one_clear_line_and_a_nonzero_exit() {
    let missing = render(&["/nonexistent/event.json"], &[], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr_line(&missing).contains("cannot read /nonexistent/event.json"));
    let not_json = render(&["-"], &[], Some(b"{oops"));
    assert!(stderr_line(&not_json).contains("- is not valid JSON"));
    let wrong = render(&["-"], &[], Some(b"[1,2]"));
    assert!(stderr_line(&wrong).contains("got an array"));
    let usage = render(&[], &[], None);
    assert!(stderr_line(&usage).starts_with("notifier: usage: notifier render [--html] FILE"));
    let html_only = render(&["--html"], &[], None);
    assert!(stderr_line(&html_only).starts_with("notifier: usage:"));
    let bad_env = render(&["-"], &[("CASE_SOURCE", "0")], Some(b"{}"));
    assert!(stderr_line(&bad_env).contains("CASE_SOURCE"));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep = render(&["-"], &[], Some(deep.as_bytes()));
    assert_eq!(deep.status.code(), Some(2));
    assert!(stderr_line(&deep).contains("recursion limit"));
}

/// `render --html`: a standalone page whose `<title>` is the Subject and
/// whose body is the Body, byte for byte, for every sample.
#[test]
fn html_page_is_the_ticket_as_a_standalone_page() {
    for name in [
        "catch-ecs.json",
        "catch-lambda.json",
        "eventbridge-failed.json",
    ] {
        let file = events_dir().join(name);
        let json = render(&[file.to_str().unwrap()], &[], None);
        let html = render(&["--html", file.to_str().unwrap()], &[], None);
        assert!(
            html.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&html.stderr)
        );
        let case: Value = serde_json::from_slice(&json.stdout).unwrap();
        let page = String::from_utf8(html.stdout).unwrap();
        let subject = case["Subject"].as_str().unwrap();
        let title = subject
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{name}"
        );
        assert!(
            page.contains(&format!("<title>{title}</title>")),
            "{name}: {page}"
        );
        // Two runs, two report times: compare with every number folded to 0.
        let body = case["Body"].as_str().unwrap();
        assert!(
            fold_numbers(&page).contains(&fold_numbers(&format!("<body>\n{body}</body>"))),
            "{name}: {page}"
        );
        assert!(
            !page.contains("<style") && !page.contains("style="),
            "{name}: CSS"
        );
        assert!(page.trim_end().ends_with("</html>"));
    }
    let skipped = render(
        &[
            "--html",
            events_dir()
                .join("eventbridge-succeeded.json")
                .to_str()
                .unwrap(),
        ],
        &[],
        None,
    );
    assert!(String::from_utf8_lossy(&skipped.stdout).contains("skipped: SUCCEEDED"));
}

/// Renders the page in headless Chromium and checks it drew something:
/// the ticket's PNG must be much larger than the same browser's PNG of an
/// empty page (text and tables do not compress like a blank canvas).
/// Chromium is a test dependency (`scripts/setup.sh` installs Debian's
/// `chromium`): without it this test fails, naming what is missing, rather
/// than passing without having looked.
#[test]
fn html_page_renders_in_a_browser() {
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!(
                "no chromium on PATH: run scripts/setup.sh (it installs Debian's chromium), \
                 or apt-get install -y chromium"
            )
        });
    let dir = std::env::temp_dir().join(format!("notifier-screenshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = render(
        &[
            "--html",
            events_dir().join("catch-ecs.json").to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert!(page.status.success());
    std::fs::write(dir.join("ticket.html"), &page.stdout).unwrap();
    std::fs::write(
        dir.join("blank.html"),
        "<!DOCTYPE html><html><head><title>x</title></head><body></body></html>",
    )
    .unwrap();
    let shot = |name: &str| -> Vec<u8> {
        let png = dir.join(format!("{name}.png"));
        let out = Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                &format!(
                    "--user-data-dir={}",
                    dir.join(format!("profile-{name}")).display()
                ),
                &format!("--screenshot={}", png.display()),
                "--window-size=1100,1400",
                &format!("file://{}", dir.join(format!("{name}.html")).display()),
            ])
            .output()
            .expect("chromium runs");
        let bytes = std::fs::read(&png).unwrap_or_else(|e| {
            panic!(
                "{name}: no screenshot ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
        bytes
    };
    let ticket = shot("ticket");
    let blank = shot("blank");
    assert!(
        ticket.len() > blank.len() * 3 && ticket.len() > 20_000,
        "the page looks blank: {} bytes against {} for an empty page",
        ticket.len(),
        blank.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each run of digits as one `0`, so timestamps and durations compare equal.
fn fold_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('0') {
                out.push('0');
            }
        } else {
            out.push(c);
        }
    }
    out
}
