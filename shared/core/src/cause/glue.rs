//! A Glue job run (`glue:startJobRun.sync`): the `GetJobRun` `JobRun` as
//! Step Functions hands it over, PascalCase.

use serde_json::Value;

use super::{Input, Shape, Sheet, clip, link, text};
use crate::links::{self, Console, is_id};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlueRun {
    pub job_name: Option<String>,
    pub run_id: Option<String>,
    pub state: Option<String>,
    pub error_message: Option<String>,
    pub execution_time: Option<i64>,
    pub log_group: Option<String>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object().filter(|o| o.contains_key("JobRunState"))?;
    Some(Box::new(GlueRun {
        job_name: text(obj, "JobName"),
        run_id: text(obj, "Id"),
        state: text(obj, "JobRunState"),
        error_message: text(obj, "ErrorMessage"),
        execution_time: obj.get("ExecutionTime").and_then(Value::as_i64),
        log_group: text(obj, "LogGroupName"),
    }))
}

/// The run's page in Glue Studio.
fn run_page(console: &Console, job_name: &str, run_id: &str) -> Option<String> {
    if job_name.is_empty() || !is_id(run_id) {
        return None;
    }
    Some(console.page(
        "gluestudio/home",
        &format!("#/job/{}/run/{run_id}", links::encode(job_name)),
    ))
}

impl Shape for GlueRun {
    fn message(&self) -> Option<String> {
        self.error_message.clone()
    }

    fn reason(&self) -> Option<String> {
        let head = format!(
            "Glue job {} {}",
            self.job_name.as_deref().unwrap_or("run"),
            self.state.as_deref().unwrap_or("failed")
        );
        Some(match &self.error_message {
            Some(m) => format!("{head}: {}", clip(m)),
            None => head,
        })
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Glue job", self.job_name.as_deref());
        sheet.row("Run ID", self.run_id.as_deref());
        sheet.row("Run state", self.state.as_deref());
        sheet.row("Error message", self.error_message.as_deref());
        sheet.row(
            "Execution time (s)",
            self.execution_time.map(|n| n.to_string()).as_deref(),
        );
        sheet.row("Log group", self.log_group.as_deref());
    }

    /// A run carries no ARN: its pages are in the execution's console.
    fn links(&self, context: Option<&Console>, out: &mut Vec<(String, String)>) {
        let (Some(console), Some(job), Some(id)) =
            (context, self.job_name.as_deref(), self.run_id.as_deref())
        else {
            return;
        };
        link(
            out,
            run_page(console, job, id),
            "Glue job run in the AWS console",
        );
        // Glue writes a run's errors to `<log group>/error`, one stream per
        // run id.
        if let Some(group) = self.log_group.as_deref() {
            link(
                out,
                links::log_stream(
                    console,
                    &format!("{}/error", group.trim_end_matches('/')),
                    id,
                ),
                "Glue job run error log",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_links_to_its_page() {
        let cn = Console::new("aws-cn", "cn-northwest-1").unwrap();
        assert_eq!(
            run_page(&cn, "etl job", "jr_0a1b").as_deref(),
            Some(
                "https://console.amazonaws.cn/gluestudio/home?region=cn-northwest-1#/job/etl%20job/run/jr_0a1b"
            )
        );
    }
}
