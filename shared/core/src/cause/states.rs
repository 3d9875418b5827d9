//! The prose Step Functions itself writes for its own `States.*` errors
//! (`States.Runtime`, `States.DataLimitExceeded`, a Distributed Map's
//! `States.ExceedToleratedFailureThreshold`, ...): a sentence about the
//! state, not about a service, so it is recognised by the error name.

use super::{Input, Shape, Sheet, clip, timed_out};

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

    /// What leads when the name is a wrapper (`States.Runtime`): the
    /// sentence after Step Functions' preamble, which names the state the
    /// Subject names already and an event id nobody triages by.
    fn typed_message(&self) -> Option<String> {
        let line = self.text.lines().next()?;
        Some(clip(without_preamble(line)))
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        sheet.text("Cause", &self.text);
    }
}

/// `An error occurred while executing the state 'X' (entered at the event
/// id #2). The SecondsPath ...` → `The SecondsPath ...`; the older form
/// without the event id too. Anything else comes back as it was.
fn without_preamble(line: &str) -> &str {
    const HEAD: &str = "An error occurred while executing the state '";
    let Some(rest) = line.strip_prefix(HEAD) else {
        return line;
    };
    let after = match rest.find("' (entered at the event id #") {
        Some(at) => rest[at..].find(").").map(|end| &rest[at + end + 2..]),
        None => rest.find("'.").map(|end| &rest[end + 2..]),
    };
    match after.map(str::trim_start) {
        Some(sentence) if !sentence.is_empty() => sentence,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;

    /// Table: the cause's first line → what leads under a wrapper name.
    #[test]
    fn the_preamble_gives_way_to_the_sentence_after_it() {
        let cases = [
            (
                "An error occurred while executing the state 'Wait' (entered at the event id #2). The SecondsPath parameter cannot be parsed as a long value: $.delay == x",
                "The SecondsPath parameter cannot be parsed as a long value: $.delay == x",
            ),
            (
                "An error occurred while executing the state 'X'. The JSONPath '$.a' could not be found",
                "The JSONPath '$.a' could not be found",
            ),
            // Nothing after the preamble, or no preamble: kept whole.
            (
                "An error occurred while executing the state 'X' (entered at the event id #2).",
                "An error occurred while executing the state 'X' (entered at the event id #2).",
            ),
            (
                "An error occurred while executing the state 'X",
                "An error occurred while executing the state 'X",
            ),
            ("Map failed", "Map failed"),
        ];
        for (cause, reason) in cases {
            assert_eq!(without_preamble(cause), reason, "{cause}");
            let lead =
                decode(Some("States.Runtime"), Some(cause)).lead(Some("States.Runtime"), None);
            assert_eq!(lead.reason, reason, "{cause}");
            assert_eq!(lead.error, "States.Runtime", "{cause}");
        }
    }
}
