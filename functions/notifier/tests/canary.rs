//! Secrets never leave the process, on any exit path. Canary values sit in
//! the connection (an API key and secret in a secret header parameter, a
//! second secret header, the OAuth client secret) and in what the token
//! endpoint issues (two tokens: the current and the previous one), and every
//! event echoes all of them in places the key rules do not catch. Each exit
//! path's whole output (logs at TRACE, the response or the typed error, the
//! fallback message, and the ticket the API received) must contain none.
//!
//! In-memory adapters and local HTTP servers only: this is about what the
//! notifier writes, not about AWS.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use support::*;
use ticket_bridge::dedupe::{ClaimStore, Lease, Memory};
use ticket_bridge::fallback::Recording;
use ticket_bridge::{Notifier, NotifierError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const API_KEY: &str = "CanaryApiKey7391";
const API_SECRET: &str = "CanaryApiSecret8264";
const HEADER_SECRET: &str = "CanaryHeaderValue5518";
const CLIENT_SECRET: &str = "CanaryClientSecret4402";
const TOKENS: [&str; 2] = ["CanaryTokenFirst9917", "CanaryTokenSecond3306"];
const CANARIES: [&str; 6] = [
    API_KEY,
    API_SECRET,
    HEADER_SECRET,
    CLIENT_SECRET,
    TOKENS[0],
    TOKENS[1],
];

/// An OAuth connection that also carries the Outseta credential and another
/// secret as invocation header parameters (the recipe's shape).
fn connection(token_url: &str) -> Value {
    json!({
        "client_id": "bridge-client",
        "client_secret": CLIENT_SECRET,
        "authorization_endpoint": token_url,
        "http_method": "POST",
        "invocation_http_parameters": {"header_parameters": [
            {"key": "X-Outseta-Auth", "value": format!("Outseta {API_KEY}:{API_SECRET}"), "is_value_secret": true},
            {"key": "X-Tenant-Key", "value": HEADER_SECRET, "is_value_secret": true},
        ]}
    })
}

/// Every canary, where the key rules cannot see it: prose, innocent keys,
/// the Cause, the error message, the state name.
/// The tokens it echoes are those the container holds: the first one, and
/// after a refresh (`with_refreshed`) the second as well. A token issued
/// after the ticket was written cannot have been in the event.
fn echoing_event(execution: &str) -> Value {
    echo(execution, &CANARIES[..5])
}

fn with_refreshed(execution: &str) -> Value {
    echo(execution, &CANARIES)
}

fn echo(execution: &str, canaries: &[&str]) -> Value {
    let all = canaries.join(" and ");
    json!({
        "execution": format!("arn:aws:states:eu-west-1:123456789012:execution:canary-machine:{execution}"),
        "stateMachine": "canary-machine",
        "failedState": format!("Charge {}", TOKENS[0]),
        "error": {
            "Error": "Lambda.Unknown",
            "Cause": json!({"errorType": "Boom", "errorMessage": format!("upstream said {all}"),
                            "stackTrace": [format!("at {}", canaries[canaries.len() - 1])]}).to_string(),
        },
        "orderId": 42,
        "note": all,
        "nested": {"list": canaries},
    })
}

/// JSON nested past serde's recursion limit, echoing the canaries: what the
/// runtime hands over but the notifier cannot parse.
fn too_deep(canaries: &[&str]) -> String {
    format!(
        "{{\"note\":\"{}\",\"x\":{}{}}}",
        canaries.join(" "),
        "[".repeat(200),
        "]".repeat(200)
    )
}

/// Issues `TOKENS[0]`, then `TOKENS[1]` (a refresh), then `TOKENS[1]` again.
struct TokenIssuer(AtomicUsize);

impl Respond for TokenIssuer {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst).min(1);
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKENS[n], "token_type": "Bearer", "expires_in": 3600}),
        )
    }
}

struct Harness {
    api: MockServer,
    notifier: Result<Notifier, NotifierError>,
    fallback: Arc<Recording>,
    store: Arc<Memory>,
}

/// A ticket API answering `answer` for cases (echoing every canary in its
/// own error text), a token endpoint, and a notifier wired to them.
async fn harness(answer: ResponseTemplate, fallback: Recording, env: &[(&str, &str)]) -> Harness {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(TokenIssuer(AtomicUsize::new(0)))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/support/cases"))
        .respond_with(answer)
        .mount(&api)
        .await;
    let cases = format!("{}/api/v1/support/cases", api.uri());
    let token = format!("{}/token", api.uri());
    let mut all_env = vec![("MAX_ATTEMPTS", "2"), ("DEFAULT_BUDGET_MS", "3000")];
    all_env.extend_from_slice(env);
    let fallback = Arc::new(fallback);
    let store = Arc::new(Memory::new());
    let notifier = memory_notifier(&connection(&token), &cases, &all_env).map(|n| {
        n.with_fallback(fallback.clone())
            .with_store(store.clone() as Arc<dyn ClaimStore>)
    });
    Harness {
        api,
        notifier,
        fallback,
        store,
    }
}

/// What an exit path wrote anywhere: logs, result, fallback, tickets sent.
async fn everything(
    h: &Harness,
    logs: &Logs,
    result: &Result<Value, lambda_runtime::Diagnostic>,
) -> String {
    let mut out = logs.text();
    out.push_str(&format!("{result:?}"));
    for (subject, message) in h.fallback.published() {
        out.push_str(&subject);
        out.push_str(&message);
    }
    for r in h.api.received_requests().await.unwrap_or_default() {
        if r.url.path() != "/token" {
            out.push_str(&String::from_utf8_lossy(&r.body));
        }
    }
    out
}

fn assert_clean(path: &str, output: &str) {
    for canary in CANARIES {
        assert!(
            !output.contains(canary),
            "{path}: canary {canary} leaked:\n{}",
            &output[output.find(canary).map_or(0, |i| i.saturating_sub(300))..]
                .chars()
                .take(700)
                .collect::<String>()
        );
    }
}

/// The one log line that says how the invocation ended.
fn outcome(logs: &Logs) -> String {
    logs.lines()
        .iter()
        .rev()
        .find_map(|l| l["fields"]["outcome"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test]
async fn delivered_and_duplicate() {
    let h = harness(created("CASE-1"), Recording::default(), &[]).await;
    let (logs, _g) = capture_logs();
    let first = invoke(&h.notifier, echoing_event("delivered"), 5_000).await;
    assert_eq!(first.as_ref().unwrap()["caseUid"], "CASE-1");
    assert_eq!(outcome(&logs), "delivered");
    let again = invoke(&h.notifier, echoing_event("delivered"), 5_000).await;
    assert_eq!(again.as_ref().unwrap()["duplicate"], true);
    assert_eq!(outcome(&logs), "duplicate");
    let all = everything(&h, &logs, &first).await + &format!("{again:?}");
    assert_clean("delivered/duplicate", &all);
    // The ticket did go out, with the masks where the canaries were.
    assert!(all.contains("[REDACTED]"));
}

#[tokio::test]
async fn in_progress_elsewhere_and_a_lapsed_holder_taken_over() {
    let h = harness(created("CASE-1"), Recording::default(), &[]).await;
    let n = h.notifier.as_ref().unwrap();
    let key = |name: &str| {
        let ev = echoing_event(name);
        let ticket_bridge::Intake::Failure(f) = ticket_bridge::intake::intake(&ev, None).unwrap()
        else {
            panic!()
        };
        ticket_bridge::dedupe::key(&f, n.config().dedupe_scope)
    };
    let later = SystemTime::now() + Duration::from_secs(600);
    // Another invocation holds the claim and is alive the whole time.
    h.store
        .claim(&key("held"), &Lease::new(later, later))
        .await
        .unwrap();
    // And one whose holder stopped mid-delivery: its deadline is 1 s away.
    let soon = SystemTime::now() + Duration::from_secs(1);
    h.store
        .claim(&key("lapsed"), &Lease::new(soon, later))
        .await
        .unwrap();

    let (logs, _g) = capture_logs();
    let held = invoke(&h.notifier, echoing_event("held"), 1_200).await;
    expect_error(
        held.as_ref().unwrap_err(),
        "TicketDeliveryFailed",
        "still delivering",
    );
    assert_eq!(outcome(&logs), "in_progress_elsewhere");
    let taken = invoke(&h.notifier, echoing_event("lapsed"), 5_000).await;
    assert_eq!(taken.as_ref().unwrap()["caseUid"], "CASE-1", "{taken:?}");
    assert_eq!(outcome(&logs), "delivered");
    let all = everything(&h, &logs, &held).await + &format!("{taken:?}");
    assert_clean("in progress elsewhere / taken over", &all);
}

#[tokio::test]
async fn in_progress_timeout_when_the_api_is_slower_than_the_budget() {
    let h = harness(
        created("CASE-1").set_delay(Duration::from_secs(5)),
        Recording::default(),
        &[],
    )
    .await;
    let (logs, _g) = capture_logs();
    let r = invoke(&h.notifier, echoing_event("slow"), 1_500).await;
    expect_error(r.as_ref().unwrap_err(), "TicketDeliveryFailed", "timed out");
    assert_eq!(outcome(&logs), "not_delivered");
    assert_clean("timeout", &everything(&h, &logs, &r).await);
}

#[tokio::test]
async fn rejected_with_an_api_message_that_echoes_every_canary() {
    let echo = format!("bad request from {}", CANARIES[..5].join(" "));
    let h = harness(
        ResponseTemplate::new(400).set_body_json(json!({"ErrorMessage": echo})),
        Recording::default(),
        &[],
    )
    .await;
    let (logs, _g) = capture_logs();
    let r = invoke(&h.notifier, echoing_event("rejected"), 5_000).await;
    expect_error(
        r.as_ref().unwrap_err(),
        "TicketRejected",
        "bad request from",
    );
    assert_clean("rejected", &everything(&h, &logs, &r).await);
}

#[tokio::test]
async fn auth_failure_after_a_refresh_masks_both_tokens() {
    let h = harness(ResponseTemplate::new(401), Recording::default(), &[]).await;
    let (logs, _g) = capture_logs();
    let r = invoke(&h.notifier, echoing_event("auth"), 5_000).await;
    expect_error(
        r.as_ref().unwrap_err(),
        "AuthError",
        "refused the credentials",
    );
    let tokens = h
        .api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(tokens, 2, "a refresh happened, so both tokens were in play");
    // The next invocation of this container: the event echoes the previous
    // token and the current one; both stay masked.
    let again = invoke(&h.notifier, with_refreshed("auth-2"), 5_000).await;
    expect_error(
        again.as_ref().unwrap_err(),
        "AuthError",
        "refused the credentials",
    );
    assert_clean(
        "auth failure",
        &(everything(&h, &logs, &r).await + &format!("{again:?}")),
    );
}

#[tokio::test]
async fn fallback_published_and_fallback_failed() {
    for (fallback, note, path) in [
        (
            Recording::default(),
            "published to the fallback topic",
            "fallback published",
        ),
        (
            Recording::refusing(),
            "fallback topic failed too",
            "fallback failed",
        ),
    ] {
        let h = harness(ResponseTemplate::new(503), fallback, &[]).await;
        let (logs, _g) = capture_logs();
        let r = invoke(&h.notifier, echoing_event("fallback"), 5_000).await;
        expect_error(r.as_ref().unwrap_err(), "TicketDeliveryFailed", note);
        let published = h.fallback.published();
        assert_eq!(published.len(), usize::from(!h.fallback.refuse), "{path}");
        assert_clean(path, &everything(&h, &logs, &r).await);
    }
}

#[tokio::test]
async fn invalid_and_unparseable_events_after_the_secret_was_read() {
    let h = harness(created("CASE-1"), Recording::default(), &[]).await;
    let (logs, _g) = capture_logs();
    // A cold container: the first event it sees is not a failure. The gate
    // reads the connection through the cache before it logs anything.
    let mut invalid = echoing_event("invalid");
    invalid.as_object_mut().unwrap().remove("error");
    let r = invoke(&h.notifier, invalid, 5_000).await;
    expect_error(
        r.as_ref().unwrap_err(),
        "InvalidFailureEvent",
        "no {Error, Cause} object",
    );
    assert_eq!(outcome(&logs), "invalid_event");
    let line = &logs.lines()[logs.lines().len() - 1];
    assert_eq!(
        line["fields"]["redaction"],
        "connection values, current and earlier credentials, and key rules"
    );

    let raw = invoke_raw(&h.notifier, &too_deep(&CANARIES[..5])).await;
    expect_error(
        raw.as_ref().unwrap_err(),
        "InvalidFailureEvent",
        "not usable JSON",
    );
    assert_clean(
        "invalid / unparseable",
        &(everything(&h, &logs, &r).await + &format!("{raw:?}")),
    );
}

#[tokio::test]
async fn config_error_never_echoes_the_event() {
    let h = harness(
        created("CASE-1"),
        Recording::default(),
        &[("FROM_PERSON_EMAIL", "not-an-email")],
    )
    .await;
    let (logs, _g) = capture_logs();
    let r = invoke(&h.notifier, echoing_event("config"), 5_000).await;
    expect_error(r.as_ref().unwrap_err(), "ConfigError", "FROM_PERSON_EMAIL");
    let raw = invoke_raw(&h.notifier, &too_deep(&CANARIES)).await;
    expect_error(
        raw.as_ref().unwrap_err(),
        "InvalidFailureEvent",
        "not usable JSON",
    );
    // Without configuration there is no connection to learn its values
    // from, so the event's content is withheld from the log altogether.
    let out = everything(&h, &logs, &r).await + &format!("{raw:?}");
    assert_clean("config error", &out);
    assert!(logs.text().contains("withheld"));
}

/// Incidents: the case, a reply whose reason differs from the first (so it
/// is shown), the recovery note of an execution whose name echoes a
/// canary, and the flush. Every reply the API received and every log line
/// of these paths stays clean.
#[tokio::test]
async fn replies_recovery_notes_and_the_flush() {
    let h = harness(
        created("CASE-1"),
        Recording::default(),
        &[
            ("IDEMPOTENCY_TABLE", "canary-claims"),
            ("INCIDENT_REPLY_INTERVAL_SECONDS", "0"),
            ("RECOVERY_NOTES", "true"),
        ],
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/support/cases/CASE-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Uid": "CASE-1", "Status": 1})),
        )
        .mount(&h.api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/support/cases/CASE-1/replies"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&h.api)
        .await;
    let (logs, _g) = capture_logs();
    let first = invoke(&h.notifier, echoing_event("incident-1"), 5_000).await;
    assert_eq!(first.as_ref().unwrap()["incident"], "new_case", "{first:?}");
    // Another reason this time (still echoing every canary), so the reply shows it.
    let mut other = echoing_event("incident-2");
    other["error"]["Cause"] = json!(
        json!({"errorType": "Timeout",
        "errorMessage": format!("downstream timed out for {}", CANARIES[..5].join(" and "))})
        .to_string()
    );
    let second = invoke(&h.notifier, other, 5_000).await;
    assert_eq!(
        second.as_ref().unwrap()["incident"],
        "reply_posted",
        "{second:?}"
    );
    assert_eq!(outcome(&logs), "reply_posted");
    let success = json!({
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "detail": {
            "status": "SUCCEEDED",
            "executionArn": format!("arn:aws:states:eu-west-1:123456789012:execution:canary-machine:ok-{API_KEY}"),
            "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:canary-machine",
        }
    });
    let recovered = invoke(&h.notifier, success, 5_000).await;
    assert_eq!(
        recovered.as_ref().unwrap()["recoveryNotes"],
        json!(["CASE-1"]),
        "{recovered:?}"
    );
    assert_eq!(outcome(&logs), "recovery_noted");
    let flushed = invoke(&h.notifier, json!({"ticketBridge": "flush"}), 5_000).await;
    assert!(flushed.is_ok(), "{flushed:?}");
    assert_eq!(outcome(&logs), "flushed");

    let replies: Vec<String> = h
        .api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/replies"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(replies.len(), 2, "a reply and a recovery note");
    assert!(
        replies[0].contains("reason: ") && replies[0].contains("[REDACTED]"),
        "{}",
        replies[0]
    );
    let all = everything(&h, &logs, &first).await + &format!("{second:?}{recovered:?}{flushed:?}");
    assert_clean("incident replies / recovery / flush", &all);
}

/// Issues a new token on every grant, each already expired (`expires_in`
/// 0), so every invocation of a warm container rotates it.
struct RotatingIssuer(AtomicUsize);

impl Respond for RotatingIssuer {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("RotatedToken{n:04}x"), "token_type": "Bearer", "expires_in": 0
        }))
    }
}

/// One warm container, 100 token rotations: every event echoes the
/// connection's own secrets, and none of them ever leaves, although each
/// rotation teaches the gate two new values and it keeps a bounded number.
#[tokio::test]
async fn the_connection_stays_masked_through_a_hundred_token_rotations() {
    let api = MockServer::start().await;
    let issuer = Arc::new(RotatingIssuer(AtomicUsize::new(0)));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ArcResponder(issuer.clone()))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/support/cases"))
        .respond_with(created("CASE-R"))
        .mount(&api)
        .await;
    let cases = format!("{}/api/v1/support/cases", api.uri());
    let token = format!("{}/token", api.uri());
    let notifier = memory_notifier(&connection(&token), &cases, &[("MAX_ATTEMPTS", "1")]);
    let (logs, _g) = capture_logs();
    let secrets = [API_KEY, API_SECRET, HEADER_SECRET, CLIENT_SECRET];
    for i in 0..100 {
        let event = echo(&format!("rotation-{i}"), &secrets);
        let out = invoke(&notifier, event, 5_000).await;
        assert_eq!(
            out.as_ref().map(|v| v["caseUid"].clone()),
            Ok(json!("CASE-R"))
        );
    }
    assert!(
        issuer.0.load(Ordering::SeqCst) >= 100,
        "a token per invocation"
    );
    let mut all = logs.text();
    for r in api.received_requests().await.unwrap_or_default() {
        if r.url.path() != "/token" {
            all.push_str(&String::from_utf8_lossy(&r.body));
        }
    }
    for secret in secrets {
        assert!(!all.contains(secret), "{secret} leaked after rotations");
    }
}

/// Serves a shared responder, so the test can read its count.
struct ArcResponder<R>(Arc<R>);

impl<R: Respond> Respond for ArcResponder<R> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.respond(req)
    }
}
