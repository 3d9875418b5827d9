//! Decodes a Step Functions `Cause` string into what a person needs to read,
//! and picks the most specific fact in it: the ticket's *reason*.
//!
//! `Cause` is whatever the failing integration wrote: Lambda's error JSON
//! (every runtime spells it a little differently), the stopped ECS task, the
//! AWS Batch job, the Glue job run, the CodeBuild build, the child execution
//! of a nested `startExecution.sync`, a PutEvents response, an API Gateway
//! body, an HTTP task's status, an SDK exception message, or prose. Decoding
//! never fails and never panics: anything unrecognised is kept verbatim,
//! because a ticket with raw text beats no ticket. Shapes are recognised by
//! their keys, not by the `Error` name, because the same integration reports
//! under several names (`States.TaskFailed`, `Batch.JobFailed`, ...).
//!
//! Each shape is one module that owns everything about it: how it is
//! recognised, its reason, the rows and sections it adds to the ticket and
//! the console links it knows. The ticket writer only calls [`Shape`], so a
//! shape's knowledge lives in one file, and `DECODERS` is the one place
//! that lists them.
//!
//! The shapes were checked against payloads AWS produced; see
//! `shared/core/tests/fixtures/aws/README.md` for each fixture and its source.
//!
//! # Adding a cause shape
//!
//! 1. Find a payload AWS produced (a LocalStack `*.snapshot.json` of an
//!    `@markers.aws.validated` test, or a third party's quote of a real
//!    failure) and save its `{"Error", "Cause"}` as
//!    `shared/core/tests/fixtures/aws/<name>.json`, with a provenance row in
//!    that folder's `README.md` (its rules say which kind and how to pin the
//!    source) and the ticket you expect in `<name>.expect.json` beside it
//!    (`reason`, `body_contains`): `tests/aws_causes.rs` renders it.
//! 2. Write `shared/core/src/cause/<shape>.rs`: a struct for what a reader
//!    needs, a `decode(&mut Input) -> Option<Box<dyn Shape>>` that recognises
//!    it by its keys (returning `None`, and leaving the input as it was, for
//!    anything else), and `impl Shape` (the reason, the message, rows,
//!    details, links: every method but `message` has a default). Put its
//!    unit tests in the same file. Console links are built with
//!    [`crate::links::Console::page`] from ARNs or ids in the payload,
//!    never from guesses.
//! 3. Add its name as one line to the `shapes!` table in this file, above
//!    the catch-alls and above any shape whose keys are a subset of the new
//!    one's: that declares the module and tries its `decode` in that order.
//!
//! Nothing else changes: the Subject, the Body's first line, its tables and
//! links all come from the trait.

use std::any::Any;
use std::fmt;

use serde_json::{Map, Value};

use crate::links::Console;

#[cfg(test)]
mod tests;

/// How deep nested `startExecution.sync` failures are followed. A child's
/// cause holds its own child's cause as an escaped string, so each level
/// multiplies the escaping; beyond a few levels the text is noise and a
/// hostile cause could make decoding quadratic.
pub const MAX_DEPTH: usize = 4;

/// Most characters of a reason taken from free text: it leads a Subject of
/// at most 200 characters.
const REASON_CHARS: usize = 160;

/// Recognises one shape, or leaves the input untouched for the next.
type Decoder = fn(&mut Input<'_>) -> Option<Box<dyn Shape>>;

/// Declares each shape's module and lists its `decode` in `DECODERS`, in
/// the same order: one line per shape, so adding one cannot forget half.
macro_rules! shapes {
    ($($shape:ident),* $(,)?) => {
        $(pub mod $shape;)*

        /// The shapes, tried in order; the first that recognises the cause
        /// wins.
        static DECODERS: &[Decoder] = &[$($shape::decode),*];
    };
}

// Specific keys come before generic ones (a Lambda error may also carry a
// `message`), and the catch-alls come last: an SDK suffix before an HTTP
// status named only by the error, `States.*` prose before plain text, and
// `plain` (unknown JSON, prose, nothing at all) at the very end.
shapes! {
    lambda,
    nested,
    glue,
    codebuild,
    batch,
    ecs,
    athena,
    putevents,
    sdk,
    http,
    apigw,
    states,
    plain,
}

/// One decoded cause: whichever shape recognised it, behind the questions
/// the ticket asks of every shape.
pub struct Decoded(Box<dyn Shape>);

/// What every cause shape answers. Only [`Shape::message`] has no default:
/// a shape that has nothing else to say still has a sentence for the
/// ticket's first line.
pub trait Shape: Any + fmt::Debug + Send + Sync {
    /// The most human sentence the cause has.
    fn message(&self) -> Option<String>;

    /// A fact specific enough to lead the ticket whatever the error name
    /// (an OOM-killed container, a child's own error, a Lambda timeout, a
    /// failed build phase).
    fn reason(&self) -> Option<String> {
        None
    }

    /// What leads instead of a generic error name: the message, prefixed
    /// by a type of the shape's own when that says more than the wrapper
    /// (`PaymentDeclined: card declined`).
    fn typed_message(&self) -> Option<String> {
        self.message().map(|m| clip(&m))
    }

    /// The error name the cause itself gives, for a failure reported
    /// without one.
    fn type_name(&self) -> Option<String> {
        None
    }

    /// The Lambda request id, wherever this shape keeps it: the key a log
    /// search filters on.
    fn request_id(&self) -> Option<&str> {
        None
    }

    /// Whether the cause itself shows `error` to be only a service's
    /// catch-all, where the name alone cannot (`EMR.AmazonElasticMapReduceException`
    /// under an SDK message from `Service: AmazonElasticMapReduce`).
    fn wraps(&self, _error: &str) -> bool {
        false
    }

    /// Rows for the open error table.
    fn rows(&self, _sheet: &mut dyn Sheet) {}

    /// What follows the error table (a stack trace, containers, a body).
    fn details(&self, _sheet: &mut dyn Sheet) {}

    /// Console and log links to the resource the cause names, as `(url,
    /// label)`. `context` is the execution's console (partition and region)
    /// for resources that carry only an id.
    fn links(&self, _context: Option<&Console>, _out: &mut Vec<(String, String)>) {}
}

/// Where a shape writes its part of the ticket. The writer owns markup,
/// sizes and redaction: every value a shape hands over may come from the
/// event, and is redacted, escaped and cut by the writer, so a shape can
/// neither leak a credential nor break the markup. Labels and titles are
/// the shape's own plain words.
pub trait Sheet {
    /// A row of event text; nothing when there is no value.
    fn row(&mut self, label: &str, value: Option<&str>);
    /// A row of event text that may be long (an SDK exception's message).
    fn long_row(&mut self, label: &str, value: &str);
    /// A row of the shape's own words or numbers: not redacted.
    fn fact(&mut self, label: &str, value: &str);
    /// A titled table, for rows until [`Sheet::end_table`].
    fn table(&mut self, title: &'static str);
    fn end_table(&mut self);
    /// Lines of event text (a stack trace), as many as the ticket has room
    /// for, then how many were left out.
    fn lines(&mut self, title: &'static str, lines: &[String]);
    /// A list of items, as many as the ticket has room for, then how many
    /// `what` were left out.
    fn list(&mut self, title: &'static str, what: &'static str, items: &[Item<'_>]);
    /// Event text shown as it is, preformatted.
    fn text(&mut self, title: &'static str, text: &str);
    /// JSON shown pretty-printed (redacted by key).
    fn json(&mut self, title: &'static str, value: &Value);
    /// Text that may hold JSON (a response body): pretty when it does.
    fn json_text(&mut self, title: &'static str, text: &str);
}

/// A list item: a name in bold, then its parts.
#[derive(Debug)]
pub struct Item<'a> {
    /// Event text.
    pub head: &'a str,
    pub parts: Vec<Part<'a>>,
}

#[derive(Debug)]
pub enum Part<'a> {
    /// Event text.
    Event(&'a str),
    /// The shape's own words or numbers.
    Ours(String),
    /// Punctuation between the others.
    Sep(&'static str),
}

/// What a decoder looks at: the error name, the cause, and the cause parsed
/// when it is a JSON object (parsed once for all decoders).
pub struct Input<'a> {
    /// The `Error` as the event gave it.
    pub error: Option<&'a str>,
    /// The cause, trimmed.
    pub text: &'a str,
    /// The cause as a JSON object. A decoder that recognises it may take
    /// it (to move big strings out instead of copying them); one that does
    /// not must leave it.
    pub json: Option<Map<String, Value>>,
    /// How many `startExecution.sync` levels are above this cause.
    pub depth: usize,
}

impl Input<'_> {
    /// The cause as a JSON object, if it is one.
    pub fn object(&self) -> Option<&Map<String, Value>> {
        self.json.as_ref()
    }

    /// The cause as text, when it is neither empty nor a JSON object.
    pub fn prose(&self) -> Option<&str> {
        (self.json.is_none() && !self.text.is_empty()).then_some(self.text)
    }
}

/// The failure's headline, for the subject and the top of the body (kept
/// for callers of the first API; [`Decoded::lead`] says more).
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub error: String,
    pub message: Option<String>,
}

/// What a ticket leads with: the most specific fact, and the error name it
/// was reported under (which stays visible: Retry/Catch match on it).
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// E.g. `OutOfMemoryError: exit code 137 of container report`.
    pub reason: String,
    /// The `Error` (or `Execution TIMED_OUT` when there is none).
    pub error: String,
    /// A message to show beside the reason when the reason is the error
    /// name itself (so the first line still says why).
    pub detail: Option<String>,
}

pub fn decode(error: Option<&str>, cause: Option<&str>) -> Decoded {
    decode_at(error, cause, 0)
}

/// [`decode`] for a cause `depth` child executions down.
pub(crate) fn decode_at(error: Option<&str>, cause: Option<&str>, depth: usize) -> Decoded {
    let text = cause.map(str::trim).unwrap_or_default();
    let json = match text
        .starts_with('{')
        .then(|| serde_json::from_str::<Value>(text))
    {
        Some(Ok(Value::Object(obj))) => Some(obj),
        _ => None,
    };
    let mut input = Input {
        error,
        text,
        json,
        depth,
    };
    DECODERS
        .iter()
        .find_map(|decoder| decoder(&mut input))
        .map_or_else(Decoded::default, Decoded)
}

impl Default for Decoded {
    /// No cause at all.
    fn default() -> Self {
        Decoded(Box::new(plain::Empty))
    }
}

impl fmt::Debug for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Decoded {
    /// What the ticket leads with. The reason is the most specific fact the
    /// cause holds; failing that, the error name, unless that is a wrapper
    /// (`States.TaskFailed`), a runtime's catch-all (`Exception`) or Rust
    /// type noise, and the cause has a message.
    pub fn lead(&self, error: Option<&str>, status: Option<&str>) -> Lead {
        let name = error
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .or_else(|| self.0.type_name())
            .or_else(|| status.map(|s| format!("Execution {s}")))
            .unwrap_or_else(|| "Unknown error".to_owned());
        let reason = self.0.reason().or_else(|| {
            if is_generic(&name) || self.0.wraps(&name) {
                self.0.typed_message()
            } else {
                None
            }
        });
        match reason {
            Some(r) if r != name => Lead {
                reason: r,
                error: name,
                detail: None,
            },
            _ => Lead {
                detail: self.0.message(),
                reason: name.clone(),
                error: name,
            },
        }
    }

    /// The first API: the lead as headline and second part.
    pub fn headline(&self, error: Option<&str>, status: Option<&str>) -> Headline {
        let lead = self.lead(error, status);
        if lead.reason == lead.error {
            Headline {
                error: lead.reason,
                message: lead.detail,
            }
        } else {
            Headline {
                error: lead.reason,
                message: Some(lead.error),
            }
        }
    }

    /// The most human sentence the cause has.
    pub fn message(&self) -> Option<String> {
        self.0.message()
    }

    /// See [`Shape::request_id`].
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id()
    }

    /// See [`Shape::rows`].
    pub fn rows(&self, sheet: &mut dyn Sheet) {
        self.0.rows(sheet);
    }

    /// See [`Shape::details`].
    pub fn details(&self, sheet: &mut dyn Sheet) {
        self.0.details(sheet);
    }

    /// See [`Shape::links`].
    pub fn links(&self, context: Option<&Console>, out: &mut Vec<(String, String)>) {
        self.0.links(context, out);
    }

    /// The shape, when it is a `T`: for tests and for a shape that looks
    /// into its own kind (a child execution's chain).
    pub fn get<T: Any>(&self) -> Option<&T> {
        let shape: &dyn Any = self.0.as_ref();
        shape.downcast_ref()
    }

    pub fn is<T: Any>(&self) -> bool {
        self.get::<T>().is_some()
    }
}

/// `"... Task timed out after 900.01 seconds"` (Lambda's timeout, whether
/// reported as `Sandbox.Timedout` JSON or as `Lambda.Unknown` prose with the
/// returned payload inside, so any shape's text may hold it) → `Task timed
/// out after 900.01 seconds`.
pub(crate) fn timed_out(text: &str) -> Option<String> {
    const MARK: &str = "Task timed out after ";
    // A memchr for the first letter, then a compare: `str::find` with a
    // long needle runs a byte-at-a-time two-way search over the whole
    // message, which is most of a 100 KB message's decoding.
    let mut from = 0;
    let at = loop {
        let p = from + text[from..].find('T')?;
        if text.as_bytes()[p..].starts_with(MARK.as_bytes()) {
            break p;
        }
        from = p + 1;
    };
    let rest = &text[at + MARK.len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .take(16)
        .collect();
    if number.is_empty() {
        return None;
    }
    Some(format!("{MARK}{number} seconds"))
}

/// Error names that say only that *something* failed: a ticket leads with
/// the cause's message instead, because a person triaging from an inbox sees
/// only the Subject (the name stays in the Body, for Retry/Catch).
pub(crate) fn is_generic(name: &str) -> bool {
    const GENERIC: &[&str] = &[
        "States.TaskFailed",
        "States.ALL",
        // Step Functions' own wrappers: the cause says which field, path or
        // object failed.
        "States.Runtime",
        "States.QueryEvaluationError",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "Lambda.Unknown",
        "Sandbox.Timedout",
        "Exception",
        "Error",
        "RuntimeError",
        "errorString",
        "*errors.errorString",
        "java.lang.Exception",
        "java.lang.RuntimeException",
        "System.Exception",
        "Runtime.ExitError",
        "Runtime.Unknown",
        "Unknown error",
    ];
    GENERIC.contains(&name)
        || name.starts_with("Execution ")
        || is_type_noise(name)
        || is_sdk_wrapper(name)
}

/// An AWS SDK integration's catch-all exception, named after the service
/// rather than the failure: `DynamoDB.AmazonDynamoDBException`,
/// `SQS.AmazonSQSException`, `SecretsManager.SecretsManagerException`,
/// `DynamoDb.DynamoDbException`, or the client's own `SQS.SdkClientException`.
/// The failure is in the cause (its `Error Code`, or the client's message);
/// a specific name (`S3.NoSuchKeyException`) is not a wrapper.
fn is_sdk_wrapper(name: &str) -> bool {
    const CLIENT: &[&str] = &[
        "SdkClientException",
        "SdkException",
        "SdkServiceException",
        "AwsServiceException",
        "AmazonServiceException",
        "AmazonClientException",
    ];
    let Some((service, exception)) = name.split_once('.') else {
        return false;
    };
    if service.is_empty() || exception.contains('.') {
        return false;
    }
    if CLIENT.contains(&exception) {
        return true;
    }
    let Some(stem) = exception.strip_suffix("Exception") else {
        return false;
    };
    // `AmazonDynamoDB`, `AWSLambda`, `SecretsManager`, `DynamoDb`.
    let stem = ["Amazon", "AWS", "Aws"]
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .unwrap_or(stem);
    stem.eq_ignore_ascii_case(service)
}

/// Rust handlers that return `Box<dyn Error>` report the type path as
/// `errorType`, e.g. `alloc::boxed::Box<dyn core::error::Error + Send + Sync>`:
/// true but useless in a subject line.
fn is_type_noise(name: &str) -> bool {
    name.contains("::") || name.contains('<') || name.starts_with('&')
}

/// One line of at most [`REASON_CHARS`] characters.
pub(crate) fn clip(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    crate::text::clip(line, REASON_CHARS).into_owned()
}

/// [`text`], moving the string out instead of copying it.
pub(crate) fn take_text(obj: &mut Map<String, Value>, key: &str) -> Option<String> {
    match obj.remove(key)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

/// A value as text: strings as they are, other JSON as JSON, nothing for
/// null or the empty string.
pub(crate) fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

/// Adds a link when there is one.
pub(crate) fn link(out: &mut Vec<(String, String)>, url: Option<String>, label: &str) {
    if let Some(url) = url {
        out.push((url, label.to_owned()));
    }
}

/// The last `:`-separated part of an ARN (an execution's name), if any.
pub(crate) fn last_segment(arn: &str) -> Option<String> {
    arn.rsplit(':')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
