//! EventBridge `PutEvents` (`events:putEvents`) with failed entries: the
//! response, whose failed entries carry `ErrorCode` and `ErrorMessage`.

use serde_json::Value;

use super::{Input, Item, Part, Shape, Sheet, clip, text};

#[derive(Debug, Clone, PartialEq)]
pub struct PutEvents {
    pub failed_entry_count: Option<u64>,
    /// `(ErrorCode, ErrorMessage)` of each failed entry.
    pub failed: Vec<(Option<String>, Option<String>)>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    let obj = input.object()?;
    let entries = obj.get("Entries").and_then(Value::as_array)?;
    let failed = entries
        .iter()
        .filter_map(Value::as_object)
        .filter(|e| e.contains_key("ErrorCode") || e.contains_key("ErrorMessage"))
        .map(|e| (text(e, "ErrorCode"), text(e, "ErrorMessage")))
        .collect::<Vec<_>>();
    if failed.is_empty() && !obj.contains_key("FailedEntryCount") {
        return None;
    }
    Some(Box::new(PutEvents {
        failed_entry_count: obj.get("FailedEntryCount").and_then(Value::as_u64),
        failed,
    }))
}

impl Shape for PutEvents {
    fn message(&self) -> Option<String> {
        self.failed
            .iter()
            .find_map(|(code, msg)| msg.clone().or_else(|| code.clone()))
    }

    fn reason(&self) -> Option<String> {
        let first = self.failed.first()?;
        let text = [first.0.clone(), first.1.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let more = match self.failed.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        Some(format!("PutEvents entry failed: {}{more}", clip(&text)))
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row(
            "Failed entries",
            self.failed_entry_count.map(|n| n.to_string()).as_deref(),
        );
    }

    fn details(&self, sheet: &mut dyn Sheet) {
        if self.failed.is_empty() {
            return;
        }
        let items: Vec<Item<'_>> = self
            .failed
            .iter()
            .map(|(code, message)| Item {
                head: code.as_deref().unwrap_or("(no code)"),
                parts: vec![Part::Event(message.as_deref().unwrap_or(""))],
            })
            .collect();
        sheet.list("Failed entries", "entries", &items);
    }
}
