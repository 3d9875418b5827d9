//! API Gateway's error body, `{"message": "Forbidden"}` (sometimes with a
//! request id or type beside it), under the integration's `ApiGateway.NNN`
//! error name.

use serde_json::Value;

use super::{Input, Shape, Sheet, clip};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiMessage {
    pub status_code: Option<u16>,
    pub message: String,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object().filter(|o| o.len() <= 3)?;
    let message = obj
        .get("message")
        .or_else(|| obj.get("Message"))
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())?;
    Some(Box::new(ApiMessage {
        status_code: input.error.and_then(status_from_error),
        message: message.to_owned(),
    }))
}

/// `ApiGateway.403` → 403 (older pages of the Developer Guide spell it
/// `APIGateway`).
fn status_from_error(error: &str) -> Option<u16> {
    let code = error
        .strip_prefix("ApiGateway.")
        .or_else(|| error.strip_prefix("APIGateway."))?;
    code.parse().ok()
}

impl Shape for ApiMessage {
    fn message(&self) -> Option<String> {
        Some(self.message.clone())
    }

    fn reason(&self) -> Option<String> {
        Some(match self.status_code {
            Some(c) => format!("HTTP {c}: {}", clip(&self.message)),
            None => clip(&self.message),
        })
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row(
            "HTTP status",
            self.status_code.map(|c| c.to_string()).as_deref(),
        );
        sheet.row("Message", Some(&self.message));
    }
}
