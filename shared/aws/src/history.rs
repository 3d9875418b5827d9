//! The Step Functions adapter of the history port: `GetExecutionHistory`,
//! newest first, with the execution data the ticket shows.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use ticket_bridge::BoxFuture;
use ticket_bridge::history::{HistoryError, HistoryEvent, HistoryPage, HistorySource};
use time::OffsetDateTime;

/// The AWS SDK adapter. SDK retries are the SDK's own; `ticket_bridge::history::enrich`'s budget
/// bounds them.
#[derive(Debug, Clone)]
pub struct SfnHistory {
    client: aws_sdk_sfn::Client,
}

impl SfnHistory {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        SfnHistory { client }
    }

    /// The client it reads with (the routing tags use it too).
    pub fn client(&self) -> &aws_sdk_sfn::Client {
        &self.client
    }
}

impl HistorySource for SfnHistory {
    fn page<'a>(
        &'a self,
        execution_arn: &'a str,
        next_token: Option<&'a str>,
        max_results: i32,
    ) -> BoxFuture<'a, Result<HistoryPage, HistoryError>> {
        Box::pin(self.read(execution_arn, next_token, max_results))
    }
}

impl SfnHistory {
    async fn read(
        &self,
        execution_arn: &str,
        next_token: Option<&str>,
        max_results: i32,
    ) -> Result<HistoryPage, HistoryError> {
        let out = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .reverse_order(true)
            .include_execution_data(true)
            .max_results(max_results)
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| HistoryError(describe(&e)))?;
        Ok(HistoryPage {
            events: out.events().iter().map(from_sdk).collect(),
            next_token: out.next_token().map(str::to_owned),
        })
    }
}

fn from_sdk(e: &aws_sdk_sfn::types::HistoryEvent) -> HistoryEvent {
    let own = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    macro_rules! failure {
        ($($get:ident),* $(,)?) => {
            None$(.or_else(|| e.$get().map(|d| (own(d.error()), own(d.cause())))))*
        };
    }
    let (error, cause) = failure!(
        task_failed_event_details,
        task_timed_out_event_details,
        task_start_failed_event_details,
        task_submit_failed_event_details,
        lambda_function_failed_event_details,
        lambda_function_timed_out_event_details,
        lambda_function_schedule_failed_event_details,
        lambda_function_start_failed_event_details,
        activity_failed_event_details,
        activity_timed_out_event_details,
        activity_schedule_failed_event_details,
        execution_failed_event_details,
        execution_timed_out_event_details,
        execution_aborted_event_details,
        map_run_failed_event_details,
        evaluation_failed_event_details,
    )
    .unwrap_or((None, None));
    let scheduled = e.task_scheduled_event_details();
    let resource = scheduled
        .map(|t| format!("arn:aws:states:::{}:{}", t.resource_type(), t.resource()))
        .or_else(|| {
            e.lambda_function_scheduled_event_details()
                .map(|l| l.resource().to_owned())
        });
    let entered = e.state_entered_event_details();
    HistoryEvent {
        id: e.id(),
        kind: e.r#type().as_str().to_owned(),
        timestamp: OffsetDateTime::from_unix_timestamp(e.timestamp().secs()).ok(),
        state_name: entered
            .map(|d| d.name().to_owned())
            .or_else(|| e.state_exited_event_details().map(|d| d.name().to_owned()))
            .or_else(|| {
                e.evaluation_failed_event_details()
                    .map(|d| d.state().to_owned())
            }),
        state_input: entered.and_then(|d| own(d.input())),
        error,
        cause,
        resource,
        parameters: scheduled.map(|t| t.parameters().to_owned()),
    }
}

/// One line per failure kind, for the ticket's note.
fn describe<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("unknown");
            match code {
                c if c.contains("Throttl") || c.contains("TooManyRequests") => {
                    format!("throttled ({c}); try again later")
                }
                c if c.contains("AccessDenied") => format!(
                    "access denied ({c}): the notifier's role needs states:GetExecutionHistory"
                ),
                "ExecutionDoesNotExist" => "the execution no longer exists".to_owned(),
                c => format!("GetExecutionHistory failed ({c})"),
            }
        }
        SdkError::TimeoutError(_) => "GetExecutionHistory timed out".to_owned(),
        SdkError::DispatchFailure(_) => "Step Functions endpoint unreachable".to_owned(),
        SdkError::ResponseError(_) => "Step Functions sent an unreadable response".to_owned(),
        _ => "could not build the GetExecutionHistory request".to_owned(),
    }
}
