//! What an invocation returns to its caller (the state machine's next
//! state, or the flush schedule): a contract other tools read as JSON. Its
//! own module, below both the notifier and the incident service, because
//! both build it and the notifier depends on the service.

use serde::Serialize;

/// What an invocation returns to its caller (the state machine's next state).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Delivered {
        case_uid: String,
        subject: String,
        attempts: u32,
        /// True when an earlier invocation already filed this failure's
        /// ticket: this one returns that result and files nothing.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    Skipped {
        skipped: bool,
        status: String,
    },
    /// A failure that belongs to an incident (grouping on).
    #[serde(rename_all = "camelCase")]
    Incident {
        /// `None` only while another invocation is still filing the case.
        case_uid: Option<String>,
        subject: String,
        attempts: u32,
        /// `new_case`, `reply_posted`, `reply_coalesced`, `reopened`,
        /// `muted` or `adopted`.
        incident: &'static str,
        /// This failure's occurrence number in its incident.
        occurrence: u64,
        /// Occurrences the reply (or the new case) carried besides this one.
        #[serde(skip_serializing_if = "is_zero")]
        carried: u64,
        /// The closed, gone or expired case a new case follows.
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_case_uid: Option<String>,
    },
    /// The flush event's report.
    Flushed {
        flush: FlushReport,
    },
    /// A SUCCEEDED execution that added recovery notes.
    #[serde(rename_all = "camelCase")]
    Recovered {
        status: String,
        /// The cases that got their recovery note.
        recovery_notes: Vec<String>,
        /// The cases closed because the machine recovered
        /// (`RESOLVE_AFTER_SUCCESSES`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        resolved: Vec<String>,
        /// Incidents this success counted towards closing, not yet closed.
        #[serde(skip_serializing_if = "is_zero")]
        counted: u64,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one flush did (`{"ticketBridge": "flush"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlushReport {
    /// Incidents the index listed and this flush looked at.
    pub incidents: u64,
    /// Replies posted.
    pub replies: u64,
    /// Occurrences those replies (and new cases) carried.
    pub occurrences: u64,
    /// Cases filed because the earlier one was closed or gone, or its
    /// creator died.
    pub new_cases: u64,
    /// Incidents whose reply could not be delivered (kept for the next).
    pub failed: u64,
    /// Index entries dropped (incident expired or gone).
    pub pruned: u64,
    /// Batches given up on and sent to the fallback topic (refused with a
    /// 4xx, or out of attempts); absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub fallback: u64,
    /// Cases the bridge had closed as recovered, reopened by these replies;
    /// absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub reopened: u64,
    /// Occurrences held back because their case is muted; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub muted: u64,
}
