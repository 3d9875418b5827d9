//! What the bridge says on a case when it changes the case's state: the
//! reply that closes it because the machine recovered, and the lines a
//! reply leads with when it reopens the case, follows a mute, or follows a
//! case found again after its incident's record was lost. Plain sentences:
//! the reply renderer escapes and redacts them like every other text.

use std::time::Duration;

use time::OffsetDateTime;

use super::reply::{at, execution_link, footer};
use super::{BODY_MAX, BODY_TARGET, FIELD_CAP};
use crate::html::Html;
use crate::incident::Occurrence;
use crate::redact::Redactor;

/// What the machine did before the bridge closed the case.
#[derive(Debug, Clone, Copy)]
pub struct Recovery<'a> {
    /// The execution whose success made it N in a row.
    pub execution: &'a str,
    pub succeeded_at_ms: u64,
    /// Successes in a row since the last failure.
    pub successes: u32,
    /// Failures the incident had.
    pub occurrences: u64,
    pub first_seen_ms: u64,
    /// How long a failure still reopens this case.
    pub reopen_window: Duration,
}

/// The reply posted before the bridge closes a case.
pub fn resolved_note(rec: &Recovery<'_>, r: &Redactor, now: OffsetDateTime) -> String {
    let mut h = Html::new(BODY_TARGET);
    h.raw("<p><strong>Resolved</strong>: execution ");
    let o = Occurrence::new(rec.execution, rec.succeeded_at_ms, None);
    execution_link(&mut h, &o, r);
    h.text(
        &format!(
            " succeeded at {}, the {} success of this state machine in a row since its last failure ({} failure{} since {}).",
            at(rec.succeeded_at_ms),
            ordinal(rec.successes),
            rec.occurrences,
            if rec.occurrences == 1 { "" } else { "s" },
            at(rec.first_seen_ms),
        ),
        FIELD_CAP,
    )
    .raw("</p>\n<p>")
    .text(
        &format!(
            "The bridge closes this case. If this failure comes back within {}, this case is reopened; after that, a new case links this one.",
            span(rec.reopen_window)
        ),
        FIELD_CAP,
    )
    .raw("</p>\n");
    footer(&mut h, "Posted", now);
    h.finish(BODY_MAX)
}

/// A reply on a case the bridge closed and has just reopened.
pub fn reopened(resolved_ms: u64) -> String {
    format!(
        "Reopened: this failure came back after the bridge closed this case as recovered at {}.",
        at(resolved_ms)
    )
}

/// The first reply after a person removed the mute tag.
pub fn unmuted(count: u64, tag: &str) -> String {
    format!(
        "Un-muted: while this case carried the tag {tag}, {count} occurrence{} of this failure {} held back and only counted.",
        if count == 1 { "" } else { "s" },
        if count == 1 { "was" } else { "were" },
    )
}

/// A reply on a case found by its marker after the incident's record was
/// lost.
pub fn adopted() -> String {
    "The bridge had lost its record of this failure (it expired, or its table or region is new) and found this case again by its marker line; later occurrences follow here.".to_owned()
}

/// 1st, 2nd, 3rd, 4th, 11th, 21st...
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A window in the largest whole unit it is: "24 hours", "90 minutes".
fn span(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s.is_multiple_of(86_400) && s >= 86_400 * 2 {
        (s / 86_400, "days")
    } else if s.is_multiple_of(3_600) && s >= 3_600 {
        (s / 3_600, "hours")
    } else if s.is_multiple_of(60) && s >= 60 {
        (s / 60, "minutes")
    } else {
        (s, "seconds")
    };
    match (n, unit) {
        (1, u) => format!("1 {}", u.trim_end_matches('s')),
        (n, u) => format!("{n} {u}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_and_spans_read_as_english() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
        let spans: Vec<String> = [86_400, 172_800, 5_400, 3_600, 60, 59, 0]
            .into_iter()
            .map(|s| span(Duration::from_secs(s)))
            .collect();
        assert_eq!(
            spans,
            [
                "24 hours",
                "2 days",
                "90 minutes",
                "1 hour",
                "1 minute",
                "59 seconds",
                "0 seconds"
            ]
        );
    }

    #[test]
    fn the_resolved_note_links_the_execution_and_states_the_window() {
        let rec = Recovery {
            execution: "arn:aws:states:eu-west-1:123456789012:execution:orders:ok-3",
            succeeded_at_ms: 1_700_000_000_000,
            successes: 3,
            occurrences: 2,
            first_seen_ms: 1_699_999_000_000,
            reopen_window: Duration::from_secs(86_400),
        };
        let html = resolved_note(&rec, &Redactor::default(), OffsetDateTime::UNIX_EPOCH);
        assert!(html.contains("<strong>Resolved</strong>"), "{html}");
        assert!(html.contains(">ok-3</a>"), "{html}");
        assert!(
            html.contains("the 3rd success of this state machine in a row"),
            "{html}"
        );
        assert!(html.contains("2 failures since"), "{html}");
        assert!(
            html.contains("within 24 hours, this case is reopened"),
            "{html}"
        );
    }
}
