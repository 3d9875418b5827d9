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
            "States.TaskFailed in RunReportTask",
            &[
                "EssentialContainerExited",
                "<strong>report</strong>: exit code 137",
                "OutOfMemoryError",
            ],
        ),
        (
            "catch-http.json",
            "States.Http.StatusCode.503 in NotifyPartner",
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
            "States.Runtime in ShapeOutput",
            &["could not be found in the input"],
        ),
        (
            "bare-error.json",
            "unknown state machine: States.TaskFailed",
            &["Task timed out after 30.02 seconds"],
        ),
        (
            "eventbridge-failed.json",
            "order-pipeline: States.TaskFailed (FAILED)",
            &["PaymentDeclined", "Stopped", "4m 17s"],
        ),
        (
            "eventbridge-timed-out.json",
            "order-pipeline: States.Timeout (TIMED_OUT)",
            &["TIMED_OUT"],
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
        for secret in ["sk_live_do_not_leak", "hunter2", "live_token_1234567890"] {
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
    assert!(stderr_line(&usage).starts_with("notifier: usage: notifier render FILE"));
    let bad_env = render(&["-"], &[("CASE_SOURCE", "0")], Some(b"{}"));
    assert!(stderr_line(&bad_env).contains("CASE_SOURCE"));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep = render(&["-"], &[], Some(deep.as_bytes()));
    assert_eq!(deep.status.code(), Some(2));
    assert!(stderr_line(&deep).contains("recursion limit"));
}
