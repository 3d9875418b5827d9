//! Every cause fixture in `fixtures/aws/` (provenance in its README) through
//! intake and rendering, as a Catch payload: the reason the Subject leads
//! with, the Body's first line, the facts the Body must show and what it
//! must not (a Batch container's environment, values under secret keys).

use std::path::PathBuf;

use serde_json::{Value, json};
use ticket_bridge::intake::{Intake, intake};
use ticket_bridge::ticket;

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `(fixture, reason the Subject leads with, facts the Body shows)`.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "lambda-python-exception.json",
        "Some exception was raised.",
        &[
            "raise Exception(&quot;Some exception was raised.&quot;)",
            "&lt;uuid:1&gt;",
        ],
    ),
    (
        "lambda-node-trace.json",
        "Error: some_error_msg",
        &[">Lambda error type</th><td>Error<", "&lt;stack-trace&gt;"],
    ),
    (
        "lambda-java-exception.json",
        "Error: some_error_msg",
        &[
            ">Lambda error type</th><td>java.lang.RuntimeException<",
            "&lt;stack-trace&gt;",
        ],
    ),
    (
        "lambda-dotnet-exception.json",
        "Error: some_error_msg",
        &[
            ">Lambda error type</th><td>Exception<",
            "&lt;stack-trace&gt;",
        ],
    ),
    (
        "lambda-go-error.json",
        "Error: some_error_msg",
        &[">Lambda error type</th><td>errorString<"],
    ),
    (
        "lambda-sandbox-timedout.json",
        "Task timed out after 1.00 seconds",
        &["Sandbox.Timedout"],
    ),
    (
        "lambda-unknown-timeout.json",
        "Task timed out after 902.11 seconds",
        &[
            "Lambda did not return an error type",
            "92f6dcea-87c0-4e89-9a9e-294239bffbb9",
        ],
    ),
    (
        "ecs-fargate-oom.json",
        "OutOfMemoryError: exit code 137 of container app-migrations-stg",
        &[
            "EssentialContainerExited",
            "https://console.amazonaws-us-gov.com/ecs/v2/clusters/app-stg/tasks/d446d306d6a145f79cb4e3f669ac39ef/configuration?region=us-gov-west-1",
        ],
    ),
    (
        "batch-cannot-inspect-container.json",
        "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s",
        &[
            "LandsatTileJob",
            ">Log stream</th><td>LandsatTileTaskBatchJob-b28764e72fd8fa9/default/2b098699-be60-4a6d-9799-34d9ad2fff95<",
            "#jobs/detail/1cd8414e-676b-4bd7-9aac-ab8788c4e850",
            "#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob/log-events/LandsatTileTaskBatchJob-b28764e72fd8fa9$252Fdefault$252F2b098699-be60-4a6d-9799-34d9ad2fff95",
        ],
    ),
    (
        "glue-job-run-failed.json",
        "Glue job notifications-on-pipeline-fail-prepare_locations_job FAILED: AnalysisException: Path does not exist: s3://sfc-notifications-on-pipeline-fail-datasets/domain=ASCWDS/dataset=workplace",
        &[
            "gluestudio/home?region=eu-west-1#/job/notifications-on-pipeline-fail-prepare_locations_job/run/jr_21e3085332b17768c24bf9d8c26378c4bf5f9a7c17ae6e6e2a5dbc6ff0fb36e4",
            ">Execution time (s)</th><td>53<",
            "#logsV2:log-groups/log-group/$252Faws-glue$252Fjobs$252Ferror/log-events/jr_21e3085332b17768c24bf9d8c26378c4bf5f9a7c17ae6e6e2a5dbc6ff0fb36e4",
        ],
    ),
    (
        "codebuild-build-failed.json",
        "CodeBuild site-build FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: npm run build. Reason: exit status 1",
        &[
            "codesuite/codebuild/123456789012/projects/site-build/build/site-build%3A8a3c7e2f-1b4d-4c6e-9f0a-2b3c4d5e6f70/log?region=us-east-1",
        ],
    ),
    (
        "nested-child-timeout.json",
        "Task timed out after 900.01 seconds (child execution of ExtractLoad-prod)",
        &[
            ">Child status</th><td>FAILED<",
            ">Child error</th><td>Lambda.Unknown<",
            "https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1#/v2/executions/details/arn:aws:states:eu-central-1:550813846955:execution:ExtractLoad-prod:16b05321-9cdf-4027-bc86-170d90311048",
        ],
    ),
    (
        "nested-two-levels-lambda.json",
        "KeyError: 'sku' (child execution of price-items)",
        &[
            "enrich-order: States.TaskFailed → price-items: KeyError",
            "sku = item[&#39;sku&#39;]",
            "execution:price-items:9a1e",
        ],
    ),
    (
        "putevents-malformed-detail.json",
        "PutEvents entry failed: MalformedDetail: Detail is malformed.",
        &["<li><strong>MalformedDetail</strong>: Detail is malformed.</li>"],
    ),
    (
        "putevents-no-source.json",
        "PutEvents entry failed: InvalidArgument: Parameter Source is not valid. Reason: Source is a required argument.",
        &[">Failed entries</th><td>1<"],
    ),
    (
        "apigateway-missing-auth-token.json",
        "HTTP 403: Missing Authentication Token",
        &[">HTTP status</th><td>403<"],
    ),
    (
        "http-task-503.json",
        "HTTP 503 Service Unavailable",
        &["&quot;message&quot;: &quot;maintenance&quot;"],
    ),
    (
        "sdk-sfn-state-machine-does-not-exist.json",
        "StepFunctions.StateMachineDoesNotExistException",
        &[
            ">Error code</th><td>StateMachineDoesNotExist<",
            ">Service</th><td>AWSStepFunctions<",
        ],
    ),
    (
        "sdk-attempt-count.json",
        "Lambda.ResourceNotFoundException",
        &[
            ">Request ID</th><td>6bde6909-c764-4280-91cc-55c0fdbfe5df<",
            ">SDK attempts</th><td>1<",
        ],
    ),
    (
        "map-tolerated-failure-exceeded.json",
        "States.ExceedToleratedFailureThreshold",
        &["tolerated failure threshold was exceeded"],
    ),
    (
        "map-item-reader-failed.json",
        "States.ItemReaderFailed",
        &["The specified key does not exist."],
    ),
    (
        "data-limit-exceeded.json",
        "States.DataLimitExceeded",
        &[
            "The state/task &#39;lambda&#39; returned a result with a size exceeding the maximum number of bytes service limit.",
        ],
    ),
    (
        "cross-account-role.json",
        "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.",
        &[],
    ),
    (
        "states-runtime.json",
        "States.Runtime",
        &[
            "The JSONPath &#39;$.JobName&#39; specified for the field &#39;JobName.$&#39; could not be found in the input &#39;{}&#39;",
        ],
    ),
    (
        "unknown-json.json",
        "States.TaskFailed",
        &["&quot;shape&quot;"],
    ),
];

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
    for (name, reason, facts) in CASES {
        let error = fixture(name);
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
        for fact in *facts {
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

/// Every file in the folder is in the table, and every file in the table
/// has a README entry: a fixture without provenance is not a fixture.
#[test]
fn every_fixture_is_tested_and_has_provenance() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert!(names.len() >= 25, "{names:?}");
    for name in &names {
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} has no README entry"
        );
        if !name.starts_with("history-") {
            assert!(
                CASES.iter().any(|(n, _, _)| n == name),
                "{name} is not in the test table"
            );
        }
    }
}
