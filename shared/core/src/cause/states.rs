//! The prose Step Functions itself writes for its own `States.*` errors
//! (`States.Runtime`, `States.DataLimitExceeded`, a Distributed Map's
//! `States.ExceedToleratedFailureThreshold`, ...): a sentence about the
//! state, not about a service, so it is recognised by the error name.

use super::{Input, Shape, Sheet, timed_out};

#[derive(Debug, Clone, PartialEq)]
pub struct StatesError {
    /// The `States.*` error name.
    pub error: String,
    /// The cause, as it came.
    pub text: String,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let error = input.error.filter(|e| e.starts_with("States."))?;
    Some(Box::new(StatesError {
        error: error.to_owned(),
        text: input.prose()?.to_owned(),
    }))
}

impl Shape for StatesError {
    fn message(&self) -> Option<String> {
        self.text.lines().next().map(str::to_owned)
    }

    /// A task's own timeout still beats the wrapper (`States.TaskFailed`
    /// around a Lambda's `Task timed out` prose).
    fn reason(&self) -> Option<String> {
        timed_out(&self.text)
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        sheet.text("Cause", &self.text);
    }
}
