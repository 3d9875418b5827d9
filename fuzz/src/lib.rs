//! The fuzz harness: one function per target, each taking raw bytes and
//! panicking when the hostile-input contract breaks, not only on crashes.
//!
//! It lives here rather than in `fuzz_targets/` so that
//! `shared/core/tests/corpus.rs` can include this very file and replay
//! `fuzz/corpus/*` on stable in `cargo test`: the regression run uses the
//! checks the fuzzer used and cannot drift from them. For that reason it
//! uses only crates `ticket-bridge` already depends on.

use std::sync::OnceLock;

use serde_json::Value;
use ticket_bridge::cause;
use ticket_bridge::cause::http::HttpFailure;
use ticket_bridge::cause::plain::{Empty, Text};
use ticket_bridge::cause::sdk::SdkError;
use ticket_bridge::cause::states::StatesError;
use ticket_bridge::intake::ErrorPath;
use ticket_bridge::intake::{self, Intake};
use ticket_bridge::redact::{MASK, Redactor};
use ticket_bridge::ticket::{self, BODY_MAX, SUBJECT_MAX, Ticket};
use ticket_bridge::{Failure, RenderConfig};
use time::OffsetDateTime;

/// A connection secret value the notifier would hold; the event may echo it
/// back, and rendering with it known must remove it.
pub const KNOWN_SECRET: &str = "CanaryConnectionSecret9f8e7d";

/// `cargo fuzz run intake`: bytes → JSON → `intake` (default and with an
/// `ERROR_PATH`), plus the redacted copy of the event that the
/// invalid-event log line prints.
pub fn intake(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let path = ErrorPath::parse("$.Payload.error").expect("a valid path");
    for error_path in [None, Some(&path)] {
        match intake::intake(&event, error_path) {
            Ok(Intake::Failure(f)) => check_failure(&f),
            Ok(Intake::Skipped { .. }) => {}
            Err(reason) => assert!(!reason.is_empty(), "an empty InvalidFailureEvent reason"),
        }
    }
    let redactor = Redactor::default();
    check_redacted_json(&redactor.json(&event), &redactor);
}

/// `cargo fuzz run decode`: the bytes as text, `Error\0Cause` when there is
/// a NUL (else all of it is the Cause), through `decode`, `headline`,
/// `message`, and through `Redactor::text`.
pub fn decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (error, cause) = match text.split_once('\0') {
        Some((e, c)) => (Some(e), c),
        None => (None, &*text),
    };
    let decoded = cause::decode(error, Some(cause));
    let trimmed = cause.trim();
    let status_only = decoded
        .get::<HttpFailure>()
        .is_some_and(|h| h.status_text.is_none() && h.response_body.is_none());
    if decoded.is::<Empty>() {
        assert!(trimmed.is_empty(), "non-empty cause decoded as Empty");
    } else if trimmed.is_empty() {
        assert!(status_only, "empty cause decoded as {decoded:?}");
    }
    if let Some(Text(t)) = decoded.get::<Text>() {
        assert_eq!(t, trimmed, "Text must keep the cause verbatim");
    }
    if let Some(s) = decoded.get::<StatesError>() {
        assert_eq!(s.text, trimmed, "States.* prose must be kept verbatim");
    }
    if let Some(SdkError { message, .. }) = decoded.get::<SdkError>() {
        assert!(
            trimmed.starts_with(message.as_str()) && trimmed.contains("(Service: "),
            "SDK message {message:?} is not the prefix of {trimmed:?}"
        );
    }
    let _ = decoded.message();
    for status in [None, Some("FAILED")] {
        let _ = decoded.headline(error, status);
    }

    let redactor = Redactor::default();
    let _ = redactor.text(&text);
    // Any value we hold as a secret is masked wherever it appears. Only a
    // plain alphanumeric word is a fair test: masking cannot create it anew.
    if let Some(secret) = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() >= 8 && !MASK.contains(*w))
    {
        let out = redactor.with_known_secrets([secret]).text(&text);
        assert!(
            !out.contains(secret),
            "known secret {secret:?} survived: {out:?}"
        );
    }
}

/// `cargo fuzz run render`: bytes → JSON → `intake` → `render` → the checks
/// every case body must pass, rendered without and with a known secret.
pub fn render(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let cfg = config();
    let Ok(Intake::Failure(failure)) = intake::intake(&event, None) else {
        return;
    };
    let case = ticket::render(&failure, cfg, now());
    check_case(&case);
    check_no_secret_values(&event, &case, &cfg.redactor);

    // As the notifier renders once it has read the connection: with the
    // secret's values known to the redactor. Same caps, no leak.
    let mut known = cfg.clone();
    known.redactor = cfg.redactor.with_known_secrets([KNOWN_SECRET]);
    let masked = ticket::render(&failure, &known, now());
    check_case(&masked);
    assert!(
        !masked.subject.contains(KNOWN_SECRET) && !masked.body.contains(KNOWN_SECRET),
        "the known secret survived rendering"
    );
}

/// The render configuration the targets use: a sender, a region for console
/// links and one extra redaction key, like a typical deployment.
pub fn config() -> &'static RenderConfig {
    static CFG: OnceLock<RenderConfig> = OnceLock::new();
    CFG.get_or_init(|| {
        RenderConfig::from_lookup(&|k: &str| match k {
            "FROM_PERSON_EMAIL" => Some("oncall@example.com".into()),
            "AWS_REGION" => Some("eu-west-1".into()),
            "REDACT_KEYS" => Some("ssn".into()),
            _ => None,
        })
        .expect("a valid render config")
    })
}

/// A fixed report time, so a failing input reproduces exactly.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_255_290).expect("a valid timestamp")
}

/// What intake promises about any failure it returns.
pub fn check_failure(f: &Failure) {
    match f.origin {
        intake::Origin::Catch => assert!(f.error.is_some(), "a Catch failure without Error"),
        intake::Origin::EventBridge => assert!(
            matches!(
                f.status.as_deref(),
                Some("FAILED" | "TIMED_OUT" | "ABORTED")
            ),
            "EventBridge failure with status {:?}",
            f.status
        ),
    }
}

/// What every rendered case must satisfy, whatever the event held.
pub fn check_case(case: &Ticket) {
    let chars = case.subject.chars().count();
    assert!(chars <= SUBJECT_MAX, "Subject has {chars} characters");
    assert!(
        !case.subject.chars().any(|c| c.is_whitespace() && c != ' '),
        "Subject is not one line: {:?}",
        case.subject
    );
    assert!(
        case.body.len() <= BODY_MAX,
        "Body has {} bytes",
        case.body.len()
    );
    if let Err(e) = check_html(&case.body) {
        panic!("Body markup is unescaped or broken: {e}\n{}", case.body);
    }
    let json = serde_json::to_string(case).expect("a case serialises");
    let back: Value = serde_json::from_str(&json).expect("the case JSON parses back");
    assert_eq!(back["Subject"].as_str(), Some(case.subject.as_str()));
    assert_eq!(back["Body"].as_str(), Some(case.body.as_str()));
}

/// The markup the renderer writes itself; anything else in a Body came from
/// the event unescaped.
const TAGS: &[&str] = &[
    "h2",
    "/h2",
    "h3",
    "/h3",
    "p",
    "/p",
    "strong",
    "/strong",
    "em",
    "/em",
    "small",
    "/small",
    "table",
    "/table",
    "tr",
    "/tr",
    "th align=\"left\"",
    "/th",
    "td",
    "/td",
    "pre",
    "code",
    "/code",
    "/pre",
    "ul",
    "/ul",
    "li",
    "/li",
    "/a",
];
const ENTITIES: &[&str] = &["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];

/// Checks that every `<` opens one of our own [`TAGS`] (or a link whose
/// target is escaped text), that no raw `>`, `"` or `'` stands in text, and
/// that every `&` starts one of the five entities the writer emits: so no
/// string from the event reached the Body unescaped. Tags must also nest
/// and close, so our own structure was not cut or eaten either.
pub fn check_html(body: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    check_markup(body, Some(&mut open))?;
    match open.last() {
        Some(tag) => Err(format!("<{tag}> is never closed")),
        None => Ok(()),
    }
}

/// [`check_html`]'s scan; `open` tracks nesting (`None` inside a link
/// target, where no markup may stand at all).
fn check_markup<'a>(body: &'a str, mut open: Option<&mut Vec<&'a str>>) -> Result<(), String> {
    let mut at = 0;
    while let Some(found) = body[at..].find(['<', '>', '"', '\'', '&']) {
        let i = at + found;
        let rest = &body[i..];
        at = match rest.as_bytes()[0] {
            b'<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("unclosed `<` at byte {i}"))?;
                let tag = &rest[1..end];
                let href = tag
                    .strip_prefix("a href=\"")
                    .and_then(|h| h.strip_suffix('"'));
                let Some(stack) = open.as_deref_mut() else {
                    return Err(format!("markup <{tag}> inside a link target"));
                };
                match href {
                    Some(h) => {
                        check_markup(h, None).map_err(|e| format!("in a link target: {e}"))?;
                        stack.push("a");
                    }
                    _ if TAGS.contains(&tag) => match tag.strip_prefix('/') {
                        Some(name) if stack.pop() != Some(name) => {
                            return Err(format!("</{name}> at byte {i} closes nothing open"));
                        }
                        Some(_) => {}
                        None => stack.push(tag.split(' ').next().unwrap_or(tag)),
                    },
                    _ => return Err(format!("unexpected markup <{tag}> at byte {i}")),
                }
                i + end + 1
            }
            b'&' => {
                let entity = ENTITIES
                    .iter()
                    .find(|e| rest.starts_with(*e))
                    .ok_or_else(|| format!("bare `&` at byte {i}"))?;
                i + entity.len()
            }
            c => return Err(format!("raw `{}` in text at byte {i}", c as char)),
        };
    }
    Ok(())
}

/// A redacted JSON value holds no value under a sensitive key but the mask
/// (or the `null` it leaves alone).
pub fn check_redacted_json(v: &Value, r: &Redactor) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if r.is_sensitive_key(k) {
                        assert!(
                            v.is_null() || v.as_str() == Some(MASK),
                            "sensitive key {k:?} kept {v}"
                        );
                    } else {
                        stack.push(v);
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

/// No string held under a sensitive key appears in the case, unless the
/// same text also appears somewhere legitimate in the event (then showing
/// it is not a leak of that value). Only distinctive values count: at least
/// 12 ASCII letters and digits with both kinds, so they cannot occur in the
/// renderer's own text by chance.
pub fn check_no_secret_values(event: &Value, case: &Ticket, r: &Redactor) {
    let mut secret = Vec::new();
    let mut open = Vec::new();
    let mut stack = vec![(event, false)];
    while let Some((v, hidden)) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    open.push(k.clone());
                    let sensitive = hidden || (r.is_sensitive_key(k) && !v.is_null());
                    stack.push((v, sensitive));
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, hidden))),
            Value::String(s) if hidden => secret.push(s.as_str()),
            Value::String(s) => open.push(s.clone()),
            other => open.push(other.to_string()),
        }
    }
    for s in secret {
        let distinctive = s.len() >= 12
            && s.bytes().all(|b| b.is_ascii_alphanumeric())
            && s.bytes().any(|b| b.is_ascii_digit())
            && s.bytes().any(|b| b.is_ascii_alphabetic());
        if distinctive && !open.iter().any(|o| o.contains(s)) {
            assert!(
                !case.subject.contains(s) && !case.body.contains(s),
                "value {s:?} under a sensitive key leaked into the case"
            );
        }
    }
}
