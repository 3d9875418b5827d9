//! A nested `states:startExecution.sync` child that failed: its
//! `DescribeExecution` output, PascalCase as Step Functions hands it over,
//! with the child's own error and cause, decoded in turn (up to
//! [`MAX_DEPTH`]).

use super::{Decoded, Input, MAX_DEPTH, Shape, Sheet, clip, decode_at, last_segment, link, text};
use crate::cause::plain::Text;
use crate::links::{self, Console};

#[derive(Debug, Default)]
pub struct ChildExecution {
    pub execution_arn: Option<String>,
    pub state_machine_arn: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub error: Option<String>,
    /// The child's cause, decoded; empty when it had none (a timeout).
    pub cause: Decoded,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object()?;
    let is_child = obj.contains_key("ExecutionArn")
        && (obj.contains_key("Status") || obj.contains_key("Error") || obj.contains_key("Cause"));
    if !is_child {
        return None;
    }
    let error = text(obj, "Error");
    let cause = text(obj, "Cause");
    let decoded = if input.depth + 1 >= MAX_DEPTH {
        // Deep enough: keep the rest as text (still shown, cut, redacted).
        cause
            .clone()
            .map_or_else(Decoded::default, |c| Decoded(Box::new(Text(c))))
    } else {
        decode_at(error.as_deref(), cause.as_deref(), input.depth + 1)
    };
    let arn = text(obj, "ExecutionArn");
    Some(Box::new(ChildExecution {
        name: text(obj, "Name").or_else(|| arn.as_deref().and_then(last_segment)),
        execution_arn: arn,
        state_machine_arn: text(obj, "StateMachineArn"),
        status: text(obj, "Status"),
        error,
        cause: decoded,
    }))
}

impl ChildExecution {
    /// This child and the children below it, outermost first.
    fn chain(&self) -> impl Iterator<Item = &ChildExecution> {
        std::iter::successors(Some(self), |c| c.cause.get::<ChildExecution>())
    }
}

impl Shape for ChildExecution {
    fn message(&self) -> Option<String> {
        self.cause
            .message()
            .or_else(|| self.error.clone())
            .or_else(|| self.status.as_ref().map(|s| format!("child execution {s}")))
    }

    fn reason(&self) -> Option<String> {
        // The innermost child holds the real failure; the direct child is
        // the one this state started, so it is named.
        let innermost = self.chain().last().unwrap_or(self);
        let inner = innermost
            .cause
            .lead(innermost.error.as_deref(), innermost.status.as_deref());
        let what = match &inner.detail {
            Some(d) if inner.reason == inner.error => clip(&format!("{}: {d}", inner.reason)),
            _ => inner.reason,
        };
        // Named after the machine that actually failed; the body shows the
        // whole chain.
        let who = innermost
            .state_machine_arn
            .as_deref()
            .and_then(last_segment)
            .or_else(|| {
                let arn = innermost.execution_arn.as_deref()?;
                arn.split(':')
                    .nth(6)
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
            })
            .or_else(|| innermost.name.clone())
            .unwrap_or_else(|| "child".to_owned());
        Some(format!("{what} (child execution of {who})"))
    }

    fn request_id(&self) -> Option<&str> {
        self.cause.request_id()
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Child execution", self.execution_arn.as_deref());
        sheet.row("Child status", self.status.as_deref());
        sheet.row("Child error", self.error.as_deref());
        let chain = self
            .chain()
            .map(|c| {
                let name = c
                    .state_machine_arn
                    .as_deref()
                    .and_then(|a| a.rsplit(':').next())
                    .or(c.name.as_deref())
                    .unwrap_or("child");
                format!(
                    "{name}: {}",
                    c.error
                        .as_deref()
                        .or(c.status.as_deref())
                        .unwrap_or("failed")
                )
            })
            .collect::<Vec<_>>();
        sheet.row("Chain", Some(&chain.join(" → ")));
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        sheet.table("Child execution error");
        sheet.row("Error", self.error.as_deref());
        self.cause.rows(sheet);
        sheet.end_table();
        self.cause.details(sheet);
    }

    fn links(&self, context: Option<&Console>, out: &mut Vec<(String, String)>) {
        let machine = self
            .state_machine_arn
            .as_deref()
            .and_then(|a| a.rsplit(':').next())
            .unwrap_or("child");
        link(
            out,
            self.execution_arn.as_deref().and_then(links::execution),
            &format!("Child execution ({machine}) in the AWS console"),
        );
        self.cause.links(context, out);
    }
}
