//! One way to turn an AWS SDK error into a message: the SDK's own Display is
//! a bare "service error", and its Debug can quote request details, so each
//! failure kind gets one plain line naming the service and the error code.

// Every aws-sdk-* crate re-exports these same smithy types.
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

pub fn describe_sdk_error<E: ProvideErrorMetadata, R>(service: &str, e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(se) => format!(
            "{service} refused the request ({})",
            se.err().code().unwrap_or("unknown")
        ),
        SdkError::TimeoutError(_) => format!("{service} did not answer in time"),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            format!("{service} endpoint unreachable (connection failed)")
        }
        SdkError::DispatchFailure(_) => format!("could not send the request to {service}"),
        SdkError::ResponseError(_) => format!("{service} sent a response that could not be read"),
        _ => format!("{service} request failed"),
    }
}
