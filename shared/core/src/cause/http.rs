//! The HTTP Task (`arn:aws:states:::http:invoke`): `States.Http.StatusCode.NNN`
//! with the status text, or the response as JSON, as the Cause; a cause
//! may also be empty, leaving only the status in the error name.

use serde_json::Value;

use super::{Input, Shape, Sheet, text};

#[derive(Debug, Clone, PartialEq)]
pub struct HttpFailure {
    pub status_code: Option<u16>,
    pub status_text: Option<String>,
    pub response_body: Option<String>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let from_error = input.error.and_then(status_from_error);
    if let Some(obj) = input.object() {
        let code_in_body = obj
            .get("StatusCode")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok());
        if from_error.is_none() && (code_in_body.is_none() || !obj.contains_key("StatusText")) {
            return None;
        }
        return Some(Box::new(HttpFailure {
            status_code: from_error.or(code_in_body),
            status_text: text(obj, "StatusText"),
            response_body: obj.get("ResponseBody").map(|b| match b {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        }));
    }
    let code = from_error?;
    Some(Box::new(HttpFailure {
        status_code: Some(code),
        status_text: input.prose().map(str::to_owned),
        response_body: None,
    }))
}

/// `States.Http.StatusCode.503` → 503.
fn status_from_error(error: &str) -> Option<u16> {
    error.strip_prefix("States.Http.StatusCode.")?.parse().ok()
}

impl Shape for HttpFailure {
    fn message(&self) -> Option<String> {
        match (self.status_code, &self.status_text) {
            (Some(c), Some(t)) => Some(format!("HTTP {c} {t}")),
            (Some(c), None) => Some(format!("HTTP {c}")),
            (None, t) => t.clone(),
        }
    }

    fn reason(&self) -> Option<String> {
        self.message()
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row(
            "HTTP status",
            self.status_code.map(|c| c.to_string()).as_deref(),
        );
        sheet.row("Status text", self.status_text.as_deref());
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        if let Some(body) = &self.response_body {
            sheet.json_text("Response body", body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;
    use serde_json::json;

    #[test]
    fn http_task_text_json_and_empty() {
        let d = decode(Some("States.Http.StatusCode.404"), Some("Not Found"));
        assert_eq!(d.message().as_deref(), Some("HTTP 404 Not Found"));
        let cause = json!({"StatusCode": 503, "StatusText": "Service Unavailable", "ResponseBody": "{\"m\":1}"}).to_string();
        let d = decode(Some("States.Http.StatusCode.503"), Some(&cause));
        assert_eq!(
            d.get::<HttpFailure>(),
            Some(&HttpFailure {
                status_code: Some(503),
                status_text: Some("Service Unavailable".into()),
                response_body: Some("{\"m\":1}".into())
            })
        );
        assert_eq!(
            decode(Some("States.Http.StatusCode.500"), None)
                .message()
                .as_deref(),
            Some("HTTP 500")
        );
    }
}
