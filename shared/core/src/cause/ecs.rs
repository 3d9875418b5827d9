//! A stopped ECS/Fargate task (`ecs:runTask.sync`): the task object as
//! Step Functions hands it over, PascalCase. `ExitCode` may be absent (a
//! container that never started).

use serde_json::{Map, Value};

use super::{Input, Item, Part, Shape, Sheet, clip, link, text};
use crate::links::{Arn, Console, is_id};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EcsTask {
    pub task_arn: Option<String>,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub last_status: Option<String>,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: Option<String>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
    pub last_status: Option<String>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object()?;
    if !(obj.contains_key("TaskArn")
        || obj.contains_key("StoppedReason")
        || obj.contains_key("Containers"))
    {
        return None;
    }
    Some(Box::new(ecs(obj)))
}

fn ecs(obj: &Map<String, Value>) -> EcsTask {
    let containers = obj
        .get("Containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(Value::as_object)
                .map(|c| Container {
                    name: text(c, "Name"),
                    exit_code: c.get("ExitCode").and_then(Value::as_i64),
                    reason: text(c, "Reason"),
                    last_status: text(c, "LastStatus"),
                })
                .collect()
        })
        .unwrap_or_default();
    EcsTask {
        task_arn: text(obj, "TaskArn"),
        stopped_reason: text(obj, "StoppedReason"),
        stop_code: text(obj, "StopCode"),
        last_status: text(obj, "LastStatus"),
        containers,
    }
}

impl EcsTask {
    /// An OOM kill (exit 137 or `OutOfMemoryError`) beats any other
    /// container's exit code, which beats a container's reason, which beats
    /// the task's `StoppedReason` (usually the useless "Essential container
    /// in task exited") and `StopCode`.
    fn most_specific(&self) -> Option<String> {
        let containers = &self.containers;
        let name = |c: &Container| c.name.clone().unwrap_or_else(|| "(unnamed)".to_owned());
        let oom = containers.iter().find(|c| {
            c.exit_code == Some(137)
                || c.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("OutOfMemory"))
        });
        if let Some(c) = oom {
            let code = c
                .exit_code
                .map_or("no exit code".to_owned(), |e| format!("exit code {e}"));
            let what = match c.reason.as_deref() {
                Some(r) if r.contains("OutOfMemory") => "OutOfMemoryError",
                _ => "killed (SIGKILL, usually out of memory)",
            };
            return Some(format!("{what}: {code} of container {}", name(c)));
        }
        if let Some(c) = containers
            .iter()
            .find(|c| c.exit_code.is_some_and(|e| e != 0))
        {
            let code = c.exit_code.unwrap_or_default();
            return Some(match &c.reason {
                Some(r) => format!("exit code {code} of container {}: {}", name(c), clip(r)),
                None => format!("exit code {code} of container {}", name(c)),
            });
        }
        if let Some(c) = containers.iter().find(|c| c.reason.is_some()) {
            let reason = c.reason.as_deref().unwrap_or_default();
            return Some(format!("{} (container {})", clip(reason), name(c)));
        }
        self.stopped_reason
            .as_deref()
            .map(clip)
            .or_else(|| self.stop_code.as_deref().map(clip))
    }
}

/// The stopped task's page (`arn:…:ecs:R:A:task/CLUSTER/ID`); a task ARN
/// of the old format, without the cluster, has no page to link to.
fn task_page(task_arn: &str) -> Option<String> {
    let arn = Arn::parse(task_arn).filter(|a| a.service == "ecs")?;
    let mut parts = arn.resource.strip_prefix("task/")?.split('/');
    let (cluster, id) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_id(cluster) || !is_id(id) {
        return None;
    }
    Some(arn.console()?.page(
        &format!("ecs/v2/clusters/{cluster}/tasks/{id}/configuration"),
        "",
    ))
}

impl Shape for EcsTask {
    fn message(&self) -> Option<String> {
        self.stopped_reason
            .clone()
            .or_else(|| self.containers.iter().find_map(|c| c.reason.clone()))
    }

    fn reason(&self) -> Option<String> {
        self.most_specific()
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Task", self.task_arn.as_deref());
        sheet.row("Stop code", self.stop_code.as_deref());
        sheet.row("Stopped reason", self.stopped_reason.as_deref());
        sheet.row("Last status", self.last_status.as_deref());
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        if self.containers.is_empty() {
            return;
        }
        let items: Vec<Item<'_>> = self
            .containers
            .iter()
            .map(|c| {
                let mut parts = vec![Part::Ours(
                    c.exit_code
                        .map_or("no exit code".to_owned(), |e| format!("exit code {e}")),
                )];
                if let Some(reason) = &c.reason {
                    parts.extend([Part::Sep(" — "), Part::Event(reason)]);
                }
                if let Some(s) = &c.last_status {
                    parts.extend([Part::Sep(" ("), Part::Event(s), Part::Sep(")")]);
                }
                Item {
                    head: c.name.as_deref().unwrap_or("(unnamed)"),
                    parts,
                }
            })
            .collect();
        sheet.list("Containers", "containers", &items);
    }

    fn links(&self, _context: Option<&Console>, out: &mut Vec<(String, String)>) {
        link(
            out,
            self.task_arn.as_deref().and_then(task_page),
            "ECS task in the AWS console",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;
    use serde_json::json;

    #[test]
    fn ecs_task_object() {
        let cause = json!({
            "TaskArn": "arn:aws:ecs:eu-west-1:1:task/c/abc", "LastStatus": "STOPPED",
            "StopCode": "EssentialContainerExited", "StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": "app", "ExitCode": 137, "Reason": "OutOfMemoryError: Container killed", "LastStatus": "STOPPED"},
                           {"Name": "sidecar", "ExitCode": 0}],
        })
        .to_string();
        let d = decode(Some("States.TaskFailed"), Some(&cause));
        let Some(task) = d.get::<EcsTask>() else {
            panic!("not an ECS task: {d:?}")
        };
        assert_eq!(task.stop_code.as_deref(), Some("EssentialContainerExited"));
        assert_eq!(
            task.stopped_reason.as_deref(),
            Some("Essential container in task exited")
        );
        assert_eq!(task.containers.len(), 2);
        assert_eq!(task.containers[0].exit_code, Some(137));
        assert_eq!(task.containers[1].name.as_deref(), Some("sidecar"));
    }

    #[test]
    fn the_task_links_to_its_page() {
        assert_eq!(
            task_page("arn:aws:ecs:eu-west-1:1:task/reports/0c6e7d4b2a9f4e51b8a3").as_deref(),
            Some(
                "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/reports/tasks/0c6e7d4b2a9f4e51b8a3/configuration?region=eu-west-1"
            )
        );
        // An old ARN without the cluster.
        assert_eq!(task_page("arn:aws:ecs:eu-west-1:1:task/0c6e7d4b"), None);
    }
}
