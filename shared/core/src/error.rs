//! The errors an invocation can end with, one variant per thing an operator
//! can act on. Their `error_type` names are a contract: state machines match
//! on them in `Retry`/`Catch`, so they never change once published.

/// Why an invocation did not produce a ticket.
///
/// Messages name what went wrong (the field, the secret id, the endpoint),
/// never a credential: they end up in Step Functions' `Cause` and in logs.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// The event is none of the accepted shapes; retrying cannot help.
    #[error("{0}")]
    InvalidFailureEvent(String),
    /// The function's environment is wrong; fix the deployment.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The connection secret is missing, unreadable or of an unknown layout.
    #[error("{0}")]
    ConnectionSecret(String),
    /// The ticket API or token endpoint refused the credentials, even after
    /// one refresh.
    #[error("{0}")]
    Auth(String),
    /// The ticket API answered a non-retryable 4xx; carries its own message.
    #[error("{0}")]
    TicketRejected(String),
    /// Retries or the time budget ran out before the API accepted the ticket.
    #[error("{0}")]
    TicketDeliveryFailed(String),
    /// The invocation's deadline had passed before any work began: nothing
    /// was attempted, and a retry with time left files the ticket.
    #[error("{0}")]
    DeliveryTimedOut(String),
}

impl NotifierError {
    /// The Lambda `errorType` a state machine matches on.
    pub fn error_type(&self) -> &'static str {
        match self {
            NotifierError::InvalidFailureEvent(_) => "InvalidFailureEvent",
            NotifierError::Config(_) => "ConfigError",
            NotifierError::ConnectionSecret(_) => "ConnectionSecretError",
            NotifierError::Auth(_) => "AuthError",
            NotifierError::TicketRejected(_) => "TicketRejected",
            NotifierError::TicketDeliveryFailed(_) => "TicketDeliveryFailed",
            NotifierError::DeliveryTimedOut(_) => "DeliveryTimedOut",
        }
    }

    /// The same error with its message rewritten (configuration errors,
    /// which carry no free text, stay as they are).
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Self {
        match self {
            NotifierError::InvalidFailureEvent(m) => NotifierError::InvalidFailureEvent(f(&m)),
            NotifierError::ConnectionSecret(m) => NotifierError::ConnectionSecret(f(&m)),
            NotifierError::Auth(m) => NotifierError::Auth(f(&m)),
            NotifierError::TicketRejected(m) => NotifierError::TicketRejected(f(&m)),
            NotifierError::TicketDeliveryFailed(m) => NotifierError::TicketDeliveryFailed(f(&m)),
            NotifierError::DeliveryTimedOut(m) => NotifierError::DeliveryTimedOut(f(&m)),
            other @ NotifierError::Config(_) => other,
        }
    }

    /// Appends `; note` to the message.
    pub fn with_note(self, note: &str) -> Self {
        self.map_message(|m| format!("{m}; {note}"))
    }
}

/// A variable that is missing or malformed. Never echoes the value: some
/// variables are URLs that may carry credentials in their query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(var: &'static str, reason: impl Into<String>) -> Self {
        ConfigError {
            var,
            reason: reason.into(),
        }
    }
}
