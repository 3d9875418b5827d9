//! An AWS Batch job (`batch:submitJob.sync`): the `DescribeJobs` job as
//! Step Functions hands it over, PascalCase.

use serde_json::{Map, Value};

use super::{Input, Shape, Sheet, clip, link, text};
use crate::links::{self, Arn, Console, is_id};

/// The parts of an AWS Batch job description a reader acts on. The
/// container's `Environment` is deliberately not kept: it is where people
/// put credentials, and it is never the reason a job failed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchJob {
    pub job_name: Option<String>,
    pub job_id: Option<String>,
    pub job_arn: Option<String>,
    pub job_queue: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub exit_code: Option<i64>,
    pub container_reason: Option<String>,
    pub log_stream: Option<String>,
    /// `awslogs-group` when the job overrides it; else Batch's default.
    pub log_group: Option<String>,
    pub attempts: usize,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object()?;
    let is_job = (obj.contains_key("JobId") || obj.contains_key("JobName"))
        && (obj.contains_key("JobQueue")
            || obj.contains_key("Container")
            || obj.contains_key("Attempts")
            || obj.contains_key("StatusReason"));
    is_job.then(|| Box::new(batch(obj)) as Box<dyn Shape>)
}

fn batch(obj: &Map<String, Value>) -> BatchJob {
    let container = obj.get("Container").and_then(Value::as_object);
    // The job's `Container` describes the last attempt; when it lacks the
    // outcome (a job that never started), the attempts still have it.
    let last_attempt = obj
        .get("Attempts")
        .and_then(Value::as_array)
        .and_then(|a| a.last())
        .and_then(|a| a.get("Container"))
        .and_then(Value::as_object);
    let from = |key: &str| {
        container
            .and_then(|c| text(c, key))
            .or_else(|| last_attempt.and_then(|c| text(c, key)))
    };
    BatchJob {
        job_name: text(obj, "JobName"),
        job_id: text(obj, "JobId"),
        job_arn: text(obj, "JobArn"),
        job_queue: text(obj, "JobQueue"),
        status: text(obj, "Status"),
        status_reason: text(obj, "StatusReason"),
        exit_code: container
            .and_then(|c| c.get("ExitCode"))
            .or_else(|| last_attempt.and_then(|c| c.get("ExitCode")))
            .and_then(Value::as_i64),
        container_reason: from("Reason"),
        log_stream: from("LogStreamName"),
        log_group: container
            .and_then(|c| c.get("LogConfiguration"))
            .and_then(|l| l.get("Options"))
            .and_then(|o| o.get("awslogs-group"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        attempts: obj
            .get("Attempts")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
    }
}

/// The job's page; in `job_arn`'s console when the job description has
/// one, else in `context` (the execution's partition and region).
fn job_page(job_arn: Option<&str>, job_id: &str, context: &Console) -> Option<String> {
    if !is_id(job_id) {
        return None;
    }
    let console = match job_arn.and_then(Arn::parse) {
        Some(arn) if arn.service == "batch" => arn.console()?,
        _ => context.clone(),
    };
    Some(console.page("batch/home", &format!("#jobs/detail/{job_id}")))
}

impl Shape for BatchJob {
    fn message(&self) -> Option<String> {
        self.container_reason
            .clone()
            .or_else(|| self.status_reason.clone())
    }

    /// The container's own reason (`CannotInspectContainerError`,
    /// `OutOfMemoryError`) names the failure; else its exit code; else the
    /// job's `StatusReason`.
    fn reason(&self) -> Option<String> {
        let who = self
            .job_name
            .as_deref()
            .map_or_else(String::new, |n| format!(" of job {n}"));
        match (&self.container_reason, self.exit_code) {
            (Some(r), Some(code)) if code != 0 => {
                Some(format!("{}: exit code {code}{who}", clip(r)))
            }
            (Some(r), _) => Some(clip(r)),
            (None, Some(code)) if code != 0 => Some(format!("exit code {code}{who}")),
            _ => self.status_reason.as_deref().map(clip),
        }
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Batch job", self.job_name.as_deref());
        sheet.row("Job ID", self.job_id.as_deref());
        sheet.row("Job queue", self.job_queue.as_deref());
        sheet.row("Status", self.status.as_deref());
        sheet.row("Status reason", self.status_reason.as_deref());
        sheet.row(
            "Container exit code",
            self.exit_code.map(|n| n.to_string()).as_deref(),
        );
        sheet.row("Container reason", self.container_reason.as_deref());
        sheet.row("Log stream", self.log_stream.as_deref());
        if self.attempts > 0 {
            sheet.fact("Attempts", &self.attempts.to_string());
        }
    }

    /// The job's page and its log stream, in the job ARN's console or, when
    /// the job has none (older job descriptions), the execution's.
    fn links(&self, context: Option<&Console>, out: &mut Vec<(String, String)>) {
        let console = self
            .job_arn
            .as_deref()
            .and_then(Arn::parse)
            .and_then(|a| a.console())
            .or_else(|| context.cloned());
        let Some(console) = console else {
            return;
        };
        link(
            out,
            self.job_id
                .as_deref()
                .and_then(|id| job_page(self.job_arn.as_deref(), id, &console)),
            "Batch job in the AWS console",
        );
        let group = self.log_group.as_deref().unwrap_or("/aws/batch/job");
        link(
            out,
            self.log_stream
                .as_deref()
                .and_then(|s| links::log_stream(&console, group, s)),
            "Batch job log stream",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;
    use serde_json::json;

    #[test]
    fn batch_keeps_no_environment() {
        let cause = json!({"JobName": "n", "JobId": "j", "JobQueue": "q",
            "Container": {"ExitCode": 1, "LogStreamName": "n/default/x",
                          "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "/custom"}},
                          "Environment": [{"Name": "PASSWORD", "Value": "hunter2"}]},
            "Attempts": [{}, {}]})
        .to_string();
        let d = decode(Some("States.TaskFailed"), Some(&cause));
        assert!(!format!("{d:?}").contains("hunter2"));
        let Some(job) = d.get::<BatchJob>() else {
            panic!("not a Batch job: {d:?}")
        };
        assert_eq!(job.exit_code, Some(1));
        assert_eq!(job.log_group.as_deref(), Some("/custom"));
        assert_eq!(job.attempts, 2);
    }

    #[test]
    fn the_job_links_to_its_page() {
        let gov = Console::new("aws-us-gov", "us-gov-west-1").unwrap();
        assert_eq!(
            job_page(None, "4fa9d0b5-8e2c", &gov).as_deref(),
            Some(
                "https://console.amazonaws-us-gov.com/batch/home?region=us-gov-west-1#jobs/detail/4fa9d0b5-8e2c"
            ),
            "by id, in the execution's partition"
        );
        assert_eq!(
            job_page(Some("arn:aws-cn:batch:cn-north-1:1:job/4fa9"), "4fa9", &gov).as_deref(),
            Some("https://console.amazonaws.cn/batch/home?region=cn-north-1#jobs/detail/4fa9"),
            "by ARN, in the job's own partition"
        );
    }
}
