//! The SNS adapter of the fallback publisher port.

use ticket_bridge::fallback::{Published, Publisher};
use ticket_bridge::redact::Redacted;

use crate::sdk::describe_sdk_error;

/// Publishes undelivered tickets to a topic.
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Sns {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Publisher for Sns {
    fn publish<'a>(&'a self, subject: &'a Redacted, message: &'a Redacted) -> Published<'a> {
        Box::pin(async move {
            let out = self
                .client
                .publish()
                .topic_arn(&self.topic_arn)
                .subject(subject.as_str())
                .message(message.as_str())
                .send()
                .await
                .map_err(|e| describe_sdk_error("SNS", &e))?;
            Ok(out.message_id.unwrap_or_default())
        })
    }
}
