//! What an incident adds to a case: agent replies naming the occurrences
//! since the last update, the one recovery note, the note of a case filed
//! because the earlier one was closed or gone, and the case the flush files
//! from stored occurrences alone.
//!
//! Everything here is written the way the ticket Body is: every piece of
//! text through the redactor (the gate's, with every secret it knows now,
//! although what was stored was redacted when stored) and escaped by the
//! budgeted writer, so a reply is held to the same rules as a ticket.

use time::OffsetDateTime;

use super::{
    BODY_MAX, BODY_TARGET, FIELD_CAP, RenderConfig, SUBJECT_MAX, Ticket, one_line, shown, timestamp,
};
use crate::html::Html;
use crate::incident::{Batch, LISTED, Occurrence};
use crate::links;
use crate::redact::Redactor;

/// What a case filed for an incident says about it.
#[derive(Debug, Clone, Copy)]
pub struct IncidentNote<'a> {
    /// The occurrence that files this case.
    pub number: u64,
    /// When the incident's first occurrence was seen (epoch ms).
    pub first_seen_ms: u64,
    /// The earlier case, and why there is a new one ("was closed").
    pub previous_case: Option<(&'a str, &'a str)>,
    /// Occurrences that were waiting for a reply on the earlier case.
    pub waiting: Option<&'a Batch>,
    /// The reason of the earlier case, to show the ones that differ.
    pub first_reason: Option<&'a str>,
}

/// The note under a case's heading: which occurrence this is, and the
/// earlier case it follows.
pub(super) fn incident_note(h: &mut Html, note: &IncidentNote<'_>, r: &Redactor) {
    if note.number <= 1 && note.previous_case.is_none() {
        return;
    }
    h.raw("<p><em>");
    if note.number > 1 {
        h.text(
            &format!(
                "Occurrence {} of this failure since {}.",
                note.number,
                at(note.first_seen_ms)
            ),
            FIELD_CAP,
        );
    }
    if let Some((uid, why)) = note.previous_case {
        h.raw(" Previous case: <strong>");
        shown(h, r, uid, FIELD_CAP).raw("</strong> (");
        h.text(why, FIELD_CAP).raw(").");
    }
    h.raw("</em></p>\n");
}

/// The Comment of a reply carrying `batch`, the occurrences since the last
/// update: the first [`LISTED`] in full (console link, time, occurrence
/// number, and the reason when it differs from the first), then "and N
/// more" with their names, then those only counted.
pub fn reply_comment(
    batch: &Batch,
    first_reason: Option<&str>,
    r: &Redactor,
    now: OffsetDateTime,
) -> String {
    reply_comment_with(batch, first_reason, &[], r, now)
}

/// [`reply_comment`], after `lead`: one paragraph each, for what happened
/// to the case since the last update (reopened, un-muted, found again).
pub fn reply_comment_with(
    batch: &Batch,
    first_reason: Option<&str>,
    lead: &[String],
    r: &Redactor,
    now: OffsetDateTime,
) -> String {
    let mut h = Html::new(BODY_TARGET);
    for line in lead {
        h.raw("<p>");
        shown(&mut h, r, line, FIELD_CAP).raw("</p>\n");
    }
    let times = match batch.count {
        1 => "once more".to_owned(),
        n => format!("{n} more times"),
    };
    h.raw("<p><strong>This failure happened again</strong>, ")
        .text(&times, FIELD_CAP)
        .raw(" since the last update.</p>\n");
    occurrences(&mut h, batch, first_reason, r);
    footer(&mut h, "Posted", now);
    h.finish(BODY_MAX)
}

/// The occurrences of a batch, as a reply and a follow-up case list them.
pub(super) fn occurrences(h: &mut Html, batch: &Batch, first_reason: Option<&str>, r: &Redactor) {
    let mut sorted: Vec<&Occurrence> = batch.occurrences.iter().collect();
    sorted.sort_by_key(|o| o.number);
    let (listed, named) = sorted.split_at(sorted.len().min(LISTED));
    h.raw("<ul>");
    for o in listed {
        h.raw("<li>")
            .text(&format!("Occurrence {}: ", o.number), FIELD_CAP);
        execution_link(h, o, r);
        h.text(&format!(" at {}", at(o.at_ms)), FIELD_CAP);
        if let Some(reason) = o.reason.as_deref().filter(|re| Some(*re) != first_reason) {
            h.raw(" — reason: ");
            shown(h, r, reason, FIELD_CAP);
        }
        h.raw("</li>");
    }
    h.raw("</ul>\n");
    if !named.is_empty() {
        h.raw("<p>")
            .text(&format!("And {} more: ", named.len()), FIELD_CAP);
        for (i, o) in named.iter().enumerate() {
            if i > 0 {
                h.raw(", ");
            }
            execution_link(h, o, r);
            h.text(&format!(" (occurrence {})", o.number), FIELD_CAP);
        }
        h.raw(".</p>\n");
    }
    if batch.unlisted() > 0 {
        h.raw("<p>")
            .text(
                &format!(
                    "And {} more, only counted: more than {} occurred between two updates.",
                    batch.unlisted(),
                    crate::incident::PENDING_KEPT
                ),
                FIELD_CAP,
            )
            .raw("</p>\n");
    }
}

/// The one reply that says a later execution succeeded.
pub fn recovery_note(
    execution: &str,
    succeeded_at_ms: u64,
    occurrences: u64,
    first_seen_ms: u64,
    r: &Redactor,
    now: OffsetDateTime,
) -> String {
    let mut h = Html::new(BODY_TARGET);
    h.raw("<p><strong>Recovered</strong>: execution ");
    let o = Occurrence::new(execution, succeeded_at_ms, None);
    execution_link(&mut h, &o, r);
    h.text(
        &format!(
            " of this state machine succeeded at {}, after {} failure{} since {}.",
            at(succeeded_at_ms),
            occurrences,
            if occurrences == 1 { "" } else { "s" },
            at(first_seen_ms)
        ),
        FIELD_CAP,
    )
    .raw("</p>\n<p>")
    .text(
        "This case gets no further recovery notes; a new failure is still added as a reply.",
        FIELD_CAP,
    )
    .raw("</p>\n");
    footer(&mut h, "Posted", now);
    h.finish(BODY_MAX)
}

/// The case the flush files when the incident's case was closed or gone (or
/// its creator died) and no failure event is at hand: the stored Subject
/// and the occurrences waiting.
pub fn continuation(
    subject: &str,
    note: &IncidentNote<'_>,
    cfg: &RenderConfig,
    now: OffsetDateTime,
    key: &str,
) -> Ticket {
    let r = &cfg.redactor;
    let subject = crate::text::clip(&one_line(&r.text(subject)), SUBJECT_MAX).into_owned();
    let mut h = Html::new(BODY_TARGET);
    h.raw("<p><strong>This failure keeps happening</strong>.</p>\n<p>");
    h.text(
        match (note.previous_case, note.waiting) {
            (Some(_), Some(_)) => "Its occurrences since the last update are listed below; the full ticket of its first occurrence is on the previous case.",
            (Some(_), None) => "Its occurrences follow as replies; the full ticket of its first occurrence is on the previous case.",
            (None, _) => "The first report of this failure could not be filed (its notifier stopped before the case was created); its occurrences follow as replies.",
        },
        FIELD_CAP,
    )
    .raw("</p>\n");
    incident_note(&mut h, note, r);
    if let Some(batch) = note.waiting {
        occurrences(&mut h, batch, note.first_reason, r);
    }
    footer(&mut h, "Filed", now);
    // Like every case: found again by its marker if the record is lost.
    h.raw("<p><small>")
        .text(&super::marker_of(key), FIELD_CAP)
        .raw("</small></p>\n");
    Ticket {
        subject,
        body: h.finish(BODY_MAX),
        ..Ticket::default()
    }
}

/// The execution's name, linked to its console page when it is an ARN.
pub(super) fn execution_link(h: &mut Html, o: &Occurrence, r: &Redactor) {
    let name = execution_name(&o.execution);
    match links::execution(&o.execution) {
        Some(url) => {
            h.link(&url, &r.text(name));
        }
        None => {
            shown(h, r, name, FIELD_CAP);
        }
    }
}

/// `arn:aws:states:R:A:execution:MACHINE:NAME` → `NAME` (an express run
/// keeps its run id after it); anything else as it is.
fn execution_name(execution: &str) -> &str {
    let parts: Vec<&str> = execution.splitn(8, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", _, _, "execution" | "express", _, name] => name,
        _ => execution,
    }
}

pub(super) fn at(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map(timestamp)
        .unwrap_or_else(|_| ms.to_string())
}

pub(super) fn footer(h: &mut Html, verb: &str, now: OffsetDateTime) {
    h.raw("<p><small>")
        .text(
            &format!(
                "{verb} by the Step Functions ticket bridge at {}.",
                timestamp(now)
            ),
            FIELD_CAP,
        )
        .raw("</small></p>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:nightly:run-";

    fn occ(n: u64, reason: &str) -> Occurrence {
        Occurrence {
            number: n,
            execution: format!("{ARN}{n}"),
            at_ms: 1_763_719_200_000 + n * 1000,
            reason: Some(reason.to_owned()),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_763_719_300).unwrap()
    }

    #[test]
    fn a_reply_names_each_execution_with_link_time_number_and_a_new_reason() {
        let batch = Batch {
            occurrences: vec![
                occ(3, "boom"),
                occ(2, "boom"),
                occ(4, "Lambda timed out <5s>"),
            ],
            count: 3,
        };
        let html = reply_comment(&batch, Some("boom"), &Redactor::default(), now());
        for needle in [
            "3 more times",
            "Occurrence 2: <a href=\"https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:nightly:run-2\">run-2</a> at 2025-11-21T10:00:02.000Z",
            "reason: Lambda timed out &lt;5s&gt;",
        ] {
            assert!(html.contains(needle), "missing {needle} in {html}");
        }
        assert_eq!(html.matches("reason:").count(), 1, "{html}");
        // Sorted by occurrence number.
        assert!(html.find("run-2<").unwrap() < html.find("run-3<").unwrap());
    }

    #[test]
    fn past_twenty_the_rest_are_named_and_beyond_the_kept_ones_counted() {
        let batch = Batch {
            occurrences: (2..=30).map(|n| occ(n, "boom")).collect(),
            count: 35,
        };
        let html = reply_comment(&batch, Some("boom"), &Redactor::default(), now());
        assert_eq!(html.matches("<li>").count(), LISTED, "{html}");
        assert!(html.contains("And 9 more: "), "{html}");
        assert!(html.contains(">run-30</a> (occurrence 30)"), "{html}");
        assert!(html.contains("And 6 more, only counted"), "{html}");
    }

    #[test]
    fn stored_text_goes_through_the_redactor_again() {
        let batch = Batch {
            occurrences: vec![occ(2, "token=abc123 CANARY-9")],
            count: 1,
        };
        let r = Redactor::default().with_known_secrets(["CANARY-9"]);
        let html = reply_comment(&batch, None, &r, now());
        assert!(
            !html.contains("abc123") && !html.contains("CANARY-9"),
            "{html}"
        );
        let note = recovery_note(
            &format!("{ARN}ok"),
            1_763_719_250_000,
            4,
            1_763_719_000_000,
            &r,
            now(),
        );
        assert!(
            note.contains(">run-ok</a> of this state machine succeeded"),
            "{note}"
        );
        assert!(note.contains("after 4 failures"), "{note}");
    }

    #[test]
    fn execution_names_come_from_arns() {
        assert_eq!(execution_name(&format!("{ARN}7")), "run-7");
        assert_eq!(
            execution_name("arn:aws:states:us-east-1:1:express:m:name:run-id"),
            "name:run-id"
        );
        assert_eq!(execution_name("plain"), "plain");
    }
}
