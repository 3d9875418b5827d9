//! The Secrets Manager adapter of the secret port.

use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use ticket_bridge::BoxFuture;
use ticket_bridge::secrets::{SecretError, SecretSource};

/// The Secrets Manager adapter.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }
}

impl SecretSource for SecretsManager {
    fn secret_string<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(self.read(id))
    }
}

impl SecretsManager {
    async fn read(&self, id: &str) -> Result<String, SecretError> {
        let fail = |reason: String| SecretError {
            id: id.to_owned(),
            reason,
        };
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| fail(describe(&e)))?;
        out.secret_string.ok_or_else(|| {
            fail("has no SecretString (binary secrets are not connection secrets)".to_owned())
        })
    }
}

/// One line per failure kind; the SDK's own Display is a bare "service error".
fn describe(e: &SdkError<GetSecretValueError>) -> String {
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code =
                aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(err).unwrap_or("unknown");
            let what = match err {
                GetSecretValueError::ResourceNotFoundException(_) => "not found",
                GetSecretValueError::DecryptionFailure(_) => {
                    "cannot be decrypted (check the KMS key policy)"
                }
                GetSecretValueError::InvalidRequestException(_) => {
                    "cannot be read now (deleted or disabled?)"
                }
                _ if code.contains("AccessDenied") => {
                    "access denied (the function's role needs secretsmanager:GetSecretValue on it)"
                }
                _ => "Secrets Manager refused the request",
            };
            format!("{what} ({code}, HTTP {})", se.raw().status().as_u16())
        }
        other => crate::sdk::describe_sdk_error("Secrets Manager", other),
    }
}
