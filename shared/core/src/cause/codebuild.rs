//! A CodeBuild build (`codebuild:startBuild.sync`): the `BatchGetBuilds`
//! `Build`, wrapped in `{"Build": ...}` as the integration's output is, or
//! bare.

use serde_json::{Map, Value};

use super::{Input, Shape, Sheet, clip, link, text};
use crate::links::{self, Arn, Console, is_id};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Build {
    pub arn: Option<String>,
    pub id: Option<String>,
    pub project: Option<String>,
    pub status: Option<String>,
    pub current_phase: Option<String>,
    /// The phase that failed (`PhaseStatus` other than `SUCCEEDED`).
    pub failed_phase: Option<String>,
    pub phase_status: Option<String>,
    /// That phase's context: `StatusCode: Message`.
    pub phase_message: Option<String>,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object()?;
    if let Some(build) = obj.get("Build").and_then(Value::as_object) {
        return Some(Box::new(codebuild(build)));
    }
    obj.contains_key("BuildStatus")
        .then(|| Box::new(codebuild(obj)) as Box<dyn Shape>)
}

fn codebuild(obj: &Map<String, Value>) -> Build {
    let failed = obj
        .get("Phases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|p| {
            text(p, "PhaseStatus").is_some_and(|s| s != "SUCCEEDED")
                && text(p, "PhaseType").is_some_and(|t| t != "COMPLETED")
        });
    let phase_message = failed
        .and_then(|p| p.get("Contexts"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|c| {
            [text(c, "StatusCode"), text(c, "Message")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ")
        })
        .find(|m| !m.is_empty());
    let logs = obj.get("Logs").and_then(Value::as_object);
    Build {
        arn: text(obj, "Arn"),
        id: text(obj, "Id"),
        project: text(obj, "ProjectName"),
        status: text(obj, "BuildStatus"),
        current_phase: text(obj, "CurrentPhase"),
        failed_phase: failed.and_then(|p| text(p, "PhaseType")),
        phase_status: failed.and_then(|p| text(p, "PhaseStatus")),
        phase_message,
        log_group: logs.and_then(|l| text(l, "GroupName")),
        log_stream: logs.and_then(|l| text(l, "StreamName")),
    }
}

/// The build's log page (`arn:…:codebuild:R:A:build/PROJECT:ID`).
fn build_page(build_arn: &str) -> Option<String> {
    let arn = Arn::parse(build_arn).filter(|a| a.service == "codebuild")?;
    let (project, id) = arn.resource.strip_prefix("build/")?.split_once(':')?;
    if !is_id(project) || !is_id(id) || !is_id(arn.account) {
        return None;
    }
    Some(arn.console()?.page(
        &format!(
            "codesuite/codebuild/{}/projects/{project}/build/{project}%3A{id}/log",
            arn.account
        ),
        "",
    ))
}

impl Shape for Build {
    fn message(&self) -> Option<String> {
        self.phase_message.clone()
    }

    fn reason(&self) -> Option<String> {
        let mut r = format!(
            "CodeBuild {} {}",
            self.project.as_deref().unwrap_or("build"),
            self.status.as_deref().unwrap_or("failed")
        );
        if let Some(phase) = &self.failed_phase {
            r.push_str(&format!(" in phase {phase}"));
        }
        if let Some(m) = &self.phase_message {
            r.push_str(&format!(": {}", clip(m)));
        }
        Some(r)
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("CodeBuild project", self.project.as_deref());
        sheet.row("Build", self.id.as_deref());
        sheet.row("Build status", self.status.as_deref());
        sheet.row("Failed phase", self.failed_phase.as_deref());
        sheet.row("Phase status", self.phase_status.as_deref());
        sheet.row("Phase context", self.phase_message.as_deref());
        sheet.row("Log stream", self.log_stream.as_deref());
    }

    fn links(&self, context: Option<&Console>, out: &mut Vec<(String, String)>) {
        link(
            out,
            self.arn.as_deref().and_then(build_page),
            "CodeBuild build logs in the AWS console",
        );
        let console = self
            .arn
            .as_deref()
            .and_then(Arn::parse)
            .and_then(|a| a.console())
            .or_else(|| context.cloned());
        if let (Some(console), Some(group), Some(stream)) = (
            console,
            self.log_group.as_deref(),
            self.log_stream.as_deref(),
        ) {
            link(
                out,
                links::log_stream(&console, group, stream),
                "CodeBuild log stream",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_links_to_its_page() {
        assert_eq!(
            build_page("arn:aws:codebuild:us-east-1:123456789012:build/site:8a3c-11").as_deref(),
            Some(
                "https://us-east-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/site/build/site%3A8a3c-11/log?region=us-east-1"
            )
        );
    }
}
