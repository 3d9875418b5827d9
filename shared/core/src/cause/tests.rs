//! What holds across shapes: which fact leads, how deep children are
//! followed, what is kept verbatim, and that no shape panics on hostile
//! input. Each shape's own decoding is tested in its module.

use serde_json::json;

use super::nested::ChildExecution;
use super::plain::{Empty, Text, UnknownJson};
use super::states::StatesError;
use super::{MAX_DEPTH, decode, is_generic};

/// The reason each shape leads with (table-driven: error, cause, the
/// reason, the error name shown beside it).
#[test]
fn the_reason_is_the_most_specific_fact() {
    let ecs_oom = json!({"TaskArn": "arn:aws:ecs:eu-west-1:1:task/c/abc", "StopCode": "EssentialContainerExited",
        "StoppedReason": "Essential container in task exited",
        "Containers": [{"Name": "log-router", "ExitCode": 0},
                       {"Name": "report", "ExitCode": 137, "Reason": "OutOfMemoryError: Container killed due to memory usage"}]});
    let ecs_137 = json!({"StoppedReason": "Essential container in task exited",
        "Containers": [{"Name": "app", "ExitCode": 137}]});
    let ecs_no_exit = json!({"StopCode": "TaskFailedToStart",
        "StoppedReason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        "Containers": [{"Name": "app", "LastStatus": "STOPPED"}]});
    let ecs_exit_1 = json!({"Containers": [{"Name": "app", "ExitCode": 1, "Reason": null}]});
    let child = json!({"ExecutionArn": "arn:aws:states:eu-west-1:1:execution:child-etl:run-9",
        "StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:child-etl",
        "Status": "TIMED_OUT", "Error": "States.Timeout", "Cause": ""});
    let batch = json!({"JobName": "nightly", "JobId": "j-1", "JobQueue": "q", "Status": "FAILED",
        "StatusReason": "Essential container in task exited",
        "Container": {"Reason": "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s",
                      "LogStreamName": "nightly/default/abc", "Environment": [{"Name": "DB_PASSWORD", "Value": "hunter2"}]}});
    let glue = json!({"Id": "jr_1", "JobName": "etl", "JobRunState": "FAILED",
        "ErrorMessage": "AnalysisException: Path does not exist: s3://b/k"});
    let build = json!({"Build": {"ProjectName": "site", "BuildStatus": "FAILED", "CurrentPhase": "COMPLETED",
        "Phases": [{"PhaseType": "INSTALL", "PhaseStatus": "SUCCEEDED"},
                   {"PhaseType": "BUILD", "PhaseStatus": "FAILED",
                    "Contexts": [{"StatusCode": "COMMAND_EXECUTION_ERROR", "Message": "Error while executing command: make. Reason: exit status 2"}]},
                   {"PhaseType": "COMPLETED"}]}});
    let put = json!({"Entries": [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}], "FailedEntryCount": 1});
    let timeout_json = json!({"errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: 8f1d Error: Task timed out after 900.01 seconds"});
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "States.TaskFailed",
            ecs_oom.to_string(),
            "OutOfMemoryError: exit code 137 of container report",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            ecs_137.to_string(),
            "killed (SIGKILL, usually out of memory): exit code 137 of container app",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            ecs_no_exit.to_string(),
            "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            ecs_exit_1.to_string(),
            "exit code 1 of container app",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            child.to_string(),
            "States.Timeout (child execution of child-etl)",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            batch.to_string(),
            "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            glue.to_string(),
            "Glue job etl FAILED: AnalysisException: Path does not exist: s3://b/k",
            "States.TaskFailed",
        ),
        (
            "States.TaskFailed",
            build.to_string(),
            "CodeBuild site FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: make. Reason: exit status 2",
            "States.TaskFailed",
        ),
        (
            "EventBridge.FailedEntry",
            put.to_string(),
            "PutEvents entry failed: MalformedDetail: Detail is malformed.",
            "EventBridge.FailedEntry",
        ),
        (
            "Sandbox.Timedout",
            timeout_json.to_string(),
            "Task timed out after 900.01 seconds",
            "Sandbox.Timedout",
        ),
        (
            "Lambda.Unknown",
            "The cause could not be determined because Lambda did not return an error type. Returned payload: {\"errorMessage\":\"2019-10-01T10:00:00.000Z 1a2b Task timed out after 30.02 seconds\"}".to_owned(),
            "Task timed out after 30.02 seconds",
            "Lambda.Unknown",
        ),
        (
            "ApiGateway.403",
            "{\"message\":\"Forbidden\"}".to_owned(),
            "HTTP 403: Forbidden",
            "ApiGateway.403",
        ),
        (
            "States.TaskFailed",
            json!({"errorType": "PaymentDeclined", "errorMessage": "card declined"}).to_string(),
            "PaymentDeclined: card declined",
            "States.TaskFailed",
        ),
        (
            "PaymentDeclined",
            json!({"errorType": "PaymentDeclined", "errorMessage": "card declined"}).to_string(),
            "PaymentDeclined",
            "PaymentDeclined",
        ),
        (
            "States.ExceedToleratedFailureThreshold",
            "The specified tolerated failure threshold was exceeded".to_owned(),
            "States.ExceedToleratedFailureThreshold",
            "States.ExceedToleratedFailureThreshold",
        ),
        (
            "States.TaskFailed",
            "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.".to_owned(),
            "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.",
            "States.TaskFailed",
        ),
        (
            "States.Http.StatusCode.503",
            "Service Unavailable".to_owned(),
            "HTTP 503 Service Unavailable",
            "States.Http.StatusCode.503",
        ),
    ];
    for (error, cause, reason, name) in cases {
        let lead = decode(Some(error), Some(&cause)).lead(Some(error), None);
        assert_eq!(lead.reason, reason, "{error} / {cause}");
        assert_eq!(lead.error, name, "{error} / {cause}");
    }
    let lead = decode(None, None).lead(None, Some("TIMED_OUT"));
    assert_eq!(
        (lead.reason.as_str(), lead.error.as_str()),
        ("Execution TIMED_OUT", "Execution TIMED_OUT")
    );
}

#[test]
fn nested_children_decode_recursively_and_stop_at_the_bound() {
    let mut cause =
        json!({"errorType": "KeyError", "errorMessage": "'sku'", "requestId": "rid-7"}).to_string();
    let mut error = "KeyError".to_owned();
    for level in 0..6 {
        cause = json!({"ExecutionArn": format!("arn:aws:states:us-east-1:1:execution:m{level}:e{level}"),
                       "StateMachineArn": format!("arn:aws:states:us-east-1:1:stateMachine:m{level}"),
                       "Status": "FAILED", "Error": error, "Cause": cause})
        .to_string();
        error = "States.TaskFailed".to_owned();
    }
    let d = decode(Some("States.TaskFailed"), Some(&cause));
    let mut depth = 0;
    let mut at = &d;
    while let Some(child) = at.get::<ChildExecution>() {
        depth += 1;
        at = &child.cause;
    }
    assert_eq!(depth, MAX_DEPTH);
    assert!(at.is::<Text>(), "{at:?}");
    // Two levels: the grandchild's Lambda error leads, and its request id is found.
    let two = json!({"ExecutionArn": "arn:aws:states:us-east-1:1:execution:outer:e",
        "Status": "FAILED", "Error": "States.TaskFailed",
        "Cause": json!({"ExecutionArn": "arn:aws:states:us-east-1:1:execution:inner:e", "Status": "FAILED",
                        "Error": "KeyError", "Cause": json!({"errorType": "KeyError", "errorMessage": "'sku'", "requestId": "rid-7"}).to_string()}).to_string()})
    .to_string();
    let d = decode(Some("States.TaskFailed"), Some(&two));
    assert_eq!(
        d.lead(Some("States.TaskFailed"), None).reason,
        "KeyError: 'sku' (child execution of inner)"
    );
    assert_eq!(d.request_id(), Some("rid-7"));
}

#[test]
fn timeout_runtime_and_unknown() {
    assert!(decode(Some("States.Timeout"), Some("")).is::<Empty>());
    let prose =
        "An error occurred while executing the state 'X'. The JSONPath '$.a' could not be found";
    assert_eq!(
        decode(Some("States.Runtime"), Some(prose))
            .get::<StatesError>()
            .map(|s| s.text.as_str()),
        Some(prose)
    );
    assert_eq!(
        decode(None, Some("{not json")).get::<Text>(),
        Some(&Text("{not json".into()))
    );
    assert_eq!(
        decode(None, Some("{\"a\":1}")).get::<UnknownJson>(),
        Some(&UnknownJson(json!({"a": 1})))
    );
    let h = decode(None, None).headline(None, Some("ABORTED"));
    assert_eq!(h.error, "Execution ABORTED");
}

#[test]
fn hostile_shapes_do_not_panic() {
    for cause in [
        json!({"ExecutionArn": 5, "Status": [], "Cause": {"x": 1}}),
        json!({"Build": {"Phases": "no", "Logs": 3}}),
        json!({"JobName": null, "JobQueue": 1, "Attempts": [1, null, {"Container": 4}]}),
        json!({"Containers": [{"ExitCode": "137"}, 5]}),
        json!({"Entries": [1, {"ErrorCode": {}}], "FailedEntryCount": -1}),
        json!({"errorType": 1, "trace": [{"label": []}], "cause": {"cause": {"cause": {"cause": {"cause": {"cause": {}}}}}}}),
    ] {
        let d = decode(Some("States.TaskFailed"), Some(&cause.to_string()));
        let _ = d.lead(Some("States.TaskFailed"), Some("FAILED"));
        let _ = d.message();
    }
    for text in [
        "Task timed out after ",
        "Task timed out after x",
        "(Service: ",
        "(Service: a) (SDK Attempt Count: x)",
    ] {
        let _ = decode(None, Some(text)).lead(None, None);
    }
}

/// Table: error name → whether it is a wrapper the cause's message leads
/// instead of. Service-named catch-alls are; a name that says what failed is
/// not.
#[test]
fn wrappers_are_told_from_specific_names() {
    let cases = [
        ("States.TaskFailed", true),
        ("States.Runtime", true),
        ("States.QueryEvaluationError", true),
        ("States.ItemReaderFailed", true),
        ("DynamoDB.AmazonDynamoDBException", true),
        ("DynamoDb.DynamoDbException", true),
        ("SQS.AmazonSQSException", true),
        ("SQS.SdkClientException", true),
        ("SecretsManager.SecretsManagerException", true),
        ("Lambda.AWSLambdaException", true),
        ("java.lang.RuntimeException", true),
        ("S3.NoSuchKeyException", false),
        ("S3.NoSuchBucketException", false),
        ("DynamoDB.ResourceNotFoundException", false),
        ("StepFunctions.StateMachineDoesNotExistException", false),
        ("States.Timeout", false),
        ("States.DataLimitExceeded", false),
        ("States.ExceedToleratedFailureThreshold", false),
        ("PaymentDeclined", false),
        ("Foo.Exception", false),
        (".AmazonException", false),
        ("a.b.AException", false),
    ];
    for (name, generic) in cases {
        assert_eq!(is_generic(name), generic, "{name}");
    }
}
