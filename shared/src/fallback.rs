//! The last line of defence: when a ticket cannot be delivered, publish it to
//! an SNS topic (an email subscription, a chat hook) before failing, so a
//! person sees the failure even while the support desk is down.

use serde_json::json;

use crate::error::NotifierError;
use crate::ticket::CaseBody;

/// SNS subjects: under 100 characters, no line breaks or control characters.
const SUBJECT_MAX: usize = 99;

pub struct Fallback {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Fallback {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Fallback {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes the undelivered ticket with the reason it was not
    /// delivered. Returns the SNS message id, or why publishing failed.
    pub async fn publish(&self, case: &CaseBody, why: &NotifierError) -> Result<String, String> {
        let subject: String = format!("UNDELIVERED {}", case.subject)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(SUBJECT_MAX)
            .collect();
        let message = json!({
            "notice": "This Step Functions failure ticket could not be filed in the support desk.",
            "error": {"errorType": why.error_type(), "errorMessage": why.to_string()},
            "ticket": case,
        });
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(serde_json::to_string_pretty(&message).unwrap_or_else(|_| message.to_string()))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) => format!(
                    "SNS refused the message ({})",
                    aws_sdk_sns::error::ProvideErrorMetadata::code(se).unwrap_or("unknown")
                ),
                None => "SNS endpoint unreachable or did not answer".to_owned(),
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
