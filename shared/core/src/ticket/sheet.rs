//! The ticket's side of [`Sheet`]: what a cause shape hands over, as HTML,
//! with event text redacted, escaped and cut to the Body's sizes.

use crate::cause::{Item, Part, Sheet};
use crate::html::Html;
use crate::redact::Redactor;

use super::{CAUSE_CAP, FIELD_CAP, MESSAGE_CAP, pretty, shown, shown_row};

/// Most stack trace lines shown.
const STACK_LINES: usize = 60;
/// Most list items (containers, entries) shown.
const ITEMS: usize = 20;

pub(super) struct HtmlSheet<'a> {
    pub(super) h: &'a mut Html,
    pub(super) r: &'a Redactor,
}

/// Titles are written as they are: they are the shapes' own words, and
/// writing them through the budget would cut our structure, not event text.
fn title(h: &mut Html, open: &str, title: &'static str, close: &str) {
    debug_assert!(
        !title.contains(['<', '>', '&', '"', '\'']),
        "title {title:?} is not plain text"
    );
    h.raw(open).raw(title).raw(close);
}

impl Sheet for HtmlSheet<'_> {
    fn row(&mut self, label: &str, value: Option<&str>) {
        if let Some(v) = value {
            shown_row(self.h, self.r, label, v, MESSAGE_CAP);
        }
    }

    fn long_row(&mut self, label: &str, value: &str) {
        shown_row(self.h, self.r, label, value, CAUSE_CAP);
    }

    fn fact(&mut self, label: &str, value: &str) {
        self.h.row(label, value, FIELD_CAP);
    }

    fn table(&mut self, t: &'static str) {
        title(self.h, "<h3>", t, "</h3>\n<table>");
    }

    fn end_table(&mut self) {
        self.h.raw("</table>\n");
    }

    fn lines(&mut self, t: &'static str, lines: &[String]) {
        title(self.h, "<p>", t, ":</p>\n<pre>");
        for line in lines.iter().take(STACK_LINES) {
            shown(self.h, self.r, line, FIELD_CAP).raw("\n");
        }
        if lines.len() > STACK_LINES {
            self.h.text(
                &format!("[truncated: {} more lines]", lines.len() - STACK_LINES),
                FIELD_CAP,
            );
        }
        self.h.raw("</pre>\n");
    }

    fn list(&mut self, t: &'static str, what: &'static str, items: &[Item<'_>]) {
        title(self.h, "<p>", t, ":</p>\n<ul>");
        for item in items.iter().take(ITEMS) {
            self.h.raw("<li><strong>");
            shown(self.h, self.r, item.head, FIELD_CAP).raw("</strong>: ");
            for part in &item.parts {
                match part {
                    Part::Event(s) => {
                        shown(self.h, self.r, s, FIELD_CAP);
                    }
                    Part::Ours(s) => {
                        self.h.text(s, FIELD_CAP);
                    }
                    Part::Sep(s) => {
                        self.h.raw(s);
                    }
                }
            }
            self.h.raw("</li>");
        }
        if items.len() > ITEMS {
            self.h
                .raw("<li>")
                .text(
                    &format!("[truncated: {} more {what}]", items.len() - ITEMS),
                    FIELD_CAP,
                )
                .raw("</li>");
        }
        self.h.raw("</ul>\n");
    }

    fn text(&mut self, t: &'static str, text: &str) {
        title(self.h, "<p>", t, ":</p>\n<pre>");
        shown(self.h, self.r, text, CAUSE_CAP).raw("</pre>\n");
    }

    fn json(&mut self, t: &'static str, value: &serde_json::Value) {
        title(self.h, "<p>", t, ":</p>\n<pre>");
        self.h
            .text(&pretty(&self.r.json(value), CAUSE_CAP), CAUSE_CAP)
            .raw("</pre>\n");
    }

    fn json_text(&mut self, t: &'static str, text: &str) {
        title(self.h, "<p>", t, ":</p>\n<pre>");
        self.h
            .text(&pretty_text(text, self.r), CAUSE_CAP)
            .raw("</pre>\n");
    }
}

/// A response body pretty-printed when it is JSON (redacted by key), else
/// redacted as text.
fn pretty_text(s: &str, r: &Redactor) -> String {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v) if v.is_object() || v.is_array() => pretty(&r.json(&v), CAUSE_CAP),
        _ => r.text(s),
    }
}
