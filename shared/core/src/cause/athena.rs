//! An Athena query (`athena:startQueryExecution.sync`): the
//! `GetQueryExecution` response as Step Functions hands it over,
//! `{"QueryExecution": {...}}` in PascalCase. What failed is in
//! `Status.StateChangeReason` (and, on newer engines, `Status.AthenaError`);
//! the query has no name, so its id is what a reader searches for.

use serde_json::{Map, Value};

use super::{Input, Shape, Sheet, clip, link, text};
use crate::links::{Console, is_id};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AthenaQuery {
    pub query_execution_id: Option<String>,
    /// `QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELLED`.
    pub state: Option<String>,
    pub state_change_reason: Option<String>,
    /// `Status.AthenaError.ErrorMessage`, for a status without a reason.
    pub error_message: Option<String>,
    /// `Status.AthenaError.Retryable`: whether a Retry could help.
    pub retryable: Option<bool>,
    pub query: Option<String>,
    pub database: Option<String>,
    pub workgroup: Option<String>,
    pub output_location: Option<String>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let run = input
        .object()?
        .get("QueryExecution")
        .and_then(Value::as_object)
        .filter(|q| q.contains_key("QueryExecutionId") || q.contains_key("Status"))?;
    Some(Box::new(query(run)))
}

fn query(run: &Map<String, Value>) -> AthenaQuery {
    let status = run.get("Status").and_then(Value::as_object);
    let error = status
        .and_then(|s| s.get("AthenaError"))
        .and_then(Value::as_object);
    AthenaQuery {
        query_execution_id: text(run, "QueryExecutionId"),
        state: status.and_then(|s| text(s, "State")),
        state_change_reason: status.and_then(|s| text(s, "StateChangeReason")),
        error_message: error.and_then(|e| text(e, "ErrorMessage")),
        retryable: error
            .and_then(|e| e.get("Retryable"))
            .and_then(Value::as_bool),
        query: text(run, "Query"),
        database: run
            .get("QueryExecutionContext")
            .and_then(Value::as_object)
            .and_then(|c| text(c, "Database")),
        workgroup: text(run, "WorkGroup"),
        output_location: run
            .get("ResultConfiguration")
            .and_then(Value::as_object)
            .and_then(|c| text(c, "OutputLocation")),
    }
}

impl Shape for AthenaQuery {
    fn message(&self) -> Option<String> {
        self.state_change_reason
            .clone()
            .or_else(|| self.error_message.clone())
    }

    /// Athena's own reason (`COLUMN_NOT_FOUND: line 2:5: ...`) names the
    /// failure; the state says whether it failed or was cancelled.
    fn reason(&self) -> Option<String> {
        let head = format!("Athena query {}", self.state.as_deref().unwrap_or("failed"));
        Some(match self.message() {
            Some(m) => format!("{head}: {}", clip(&m)),
            None => head,
        })
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Athena query", self.query_execution_id.as_deref());
        sheet.row("Query state", self.state.as_deref());
        sheet.row("State change reason", self.state_change_reason.as_deref());
        if self.state_change_reason.is_none() {
            sheet.row("Athena error", self.error_message.as_deref());
        }
        if let Some(retryable) = self.retryable {
            sheet.fact("Retryable", if retryable { "yes" } else { "no" });
        }
        sheet.row("Workgroup", self.workgroup.as_deref());
        sheet.row("Database", self.database.as_deref());
        sheet.row("Output location", self.output_location.as_deref());
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        if let Some(query) = &self.query {
            sheet.text("Query", query);
        }
    }

    /// The query's page in the Athena console's history. The response
    /// carries no ARN, so the page is in the execution's partition and
    /// region (`startQueryExecution` runs in the state machine's region).
    fn links(&self, context: Option<&Console>, out: &mut Vec<(String, String)>) {
        link(
            out,
            context
                .zip(self.query_execution_id.as_deref())
                .and_then(query_page),
            "Athena query in the AWS console",
        );
    }
}

fn query_page((console, id): (&Console, &str)) -> Option<String> {
    is_id(id).then(|| console.page("athena/home", &format!("#/query-editor/history/{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;
    use serde_json::json;

    #[test]
    fn a_failed_query_leads_with_athenas_reason() {
        let cause = json!({"QueryExecution": {"QueryExecutionId": "q-1", "Query": "SELECT x FROM t",
            "QueryExecutionContext": {"Database": "db"}, "WorkGroup": "primary",
            "Status": {"State": "FAILED", "StateChangeReason": "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
                       "AthenaError": {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": false}}}})
        .to_string();
        let d = decode(Some("States.TaskFailed"), Some(&cause));
        let Some(q) = d.get::<AthenaQuery>() else {
            panic!("not an Athena query: {d:?}")
        };
        assert_eq!(q.database.as_deref(), Some("db"));
        assert_eq!(q.retryable, Some(false));
        assert_eq!(
            d.lead(Some("States.TaskFailed"), None).reason,
            "Athena query FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved"
        );
        // Without a reason, Athena's error message says it.
        let cause = json!({"QueryExecution": {"Status": {"State": "FAILED",
            "AthenaError": {"ErrorMessage": "Query timeout", "Retryable": false}}}})
        .to_string();
        assert_eq!(
            decode(Some("States.TaskFailed"), Some(&cause))
                .lead(Some("States.TaskFailed"), None)
                .reason,
            "Athena query FAILED: Query timeout"
        );
    }

    #[test]
    fn the_query_links_to_its_history_page_in_the_executions_console() {
        let gov = Console::new("aws-us-gov", "us-gov-west-1").unwrap();
        assert_eq!(
            query_page((&gov, "97c9e96a-6dba-47d5-9ce5-5fd3c9aa9458")).as_deref(),
            Some(
                "https://console.amazonaws-us-gov.com/athena/home?region=us-gov-west-1#/query-editor/history/97c9e96a-6dba-47d5-9ce5-5fd3c9aa9458"
            )
        );
        assert_eq!(query_page((&gov, "q/../x")), None);
    }

    #[test]
    fn other_json_is_not_a_query() {
        for cause in [
            json!({"QueryExecution": "q-1"}),
            json!({"QueryExecution": {"Query": "SELECT 1"}}),
            json!({"QueryExecutionId": "q-1"}),
        ] {
            let d = decode(Some("States.TaskFailed"), Some(&cause.to_string()));
            assert!(!d.is::<AthenaQuery>(), "{cause}");
        }
    }
}
