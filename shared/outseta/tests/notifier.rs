//! `Notifier::handle` on in-memory adapters (a fixed connection secret, the
//! memory claim store, a recording publisher) and a local HTTP ticket API
//! behind the Outseta adapter:
//! the invocation's decisions, without AWS or moto. The moto-backed tests in
//! functions/notifier/tests are the integration layer above these.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use ticket_bridge::dedupe::{Claim, ClaimStore, Filed, Lease, Memory, Owner, Settled, Stored};
use ticket_bridge::fallback::Recording;
use ticket_bridge::incident;
use ticket_bridge::secrets::StaticSecret;
use ticket_bridge::{Notifier, NotifierError, Outcome};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod support;

use support::{CASES, config, deadline, memory_notifier, outseta_notifier};

struct Setup {
    api: MockServer,
    notifier: Notifier,
    store: Arc<Memory>,
    fallback: Arc<Recording>,
}

async fn setup(answer: ResponseTemplate, fallback: Recording) -> Setup {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CASES))
        .and(header("Authorization", "Outseta K1:S1"))
        .respond_with(answer)
        .mount(&api)
        .await;
    let config = config(&format!("{}{CASES}", api.uri()), &[]);
    let store = Arc::new(Memory::new());
    let fallback = Arc::new(fallback);
    let notifier = memory_notifier(config, &store, &fallback);
    Setup {
        api,
        notifier,
        store,
        fallback,
    }
}

fn created(uid: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"Uid": uid}))
}

fn failed(execution: &str, redrive: u32) -> Value {
    json!({
        "version": "0", "id": "e1", "source": "aws.states", "account": "123456789012",
        "time": "2026-11-21T10:00:00Z", "region": "eu-west-1", "resources": [],
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": format!("arn:aws:states:eu-west-1:123456789012:execution:nightly:{execution}"),
            "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:nightly",
            "name": execution, "status": "FAILED", "error": "States.TaskFailed", "cause": "boom",
            "redriveCount": redrive, "startDate": 1_763_719_000_000_u64, "stopDate": 1_763_719_200_000_u64,
            "input": "{}", "inputDetails": {"included": true}
        }
    })
}

async fn posts(api: &MockServer) -> usize {
    api.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn the_recipe_files_one_case_and_a_repeat_is_a_duplicate() {
    let s = setup(created("C1"), Recording::default()).await;
    let first = s
        .notifier
        .handle(failed("run-1", 0), deadline())
        .await
        .unwrap();
    assert!(
        matches!(&first, Outcome::Delivered { case_uid, duplicate: false, .. } if case_uid == "C1")
    );
    let again = s
        .notifier
        .handle(failed("run-1", 0), deadline())
        .await
        .unwrap();
    assert!(matches!(
        again,
        Outcome::Delivered {
            duplicate: true,
            attempts: 0,
            ..
        }
    ));
    assert_eq!(posts(&s.api).await, 1);
    // The harmless API-key header goes along; it authorises nothing.
    let sent = &s.api.received_requests().await.unwrap()[0];
    assert_eq!(sent.headers["x-outseta-connection"], "header-parameter");
}

#[tokio::test]
async fn redrive_zero_one_and_one_again_file_two_cases() {
    let s = setup(created("C1"), Recording::default()).await;
    for redrive in [0, 1, 1] {
        s.notifier
            .handle(failed("run-r", redrive), deadline())
            .await
            .unwrap();
    }
    assert_eq!(posts(&s.api).await, 2);
}

#[tokio::test]
async fn undeliverable_goes_to_the_fallback_and_releases_the_claim() {
    let s = setup(ResponseTemplate::new(503), Recording::default()).await;
    let err = s
        .notifier
        .handle(failed("run-f", 0), deadline())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TicketDeliveryFailed");
    assert!(
        err.to_string().contains("published to the fallback topic"),
        "{err}"
    );
    let published = s.fallback.published();
    assert_eq!(published.len(), 1);
    assert!(
        published[0].0.starts_with("UNDELIVERED "),
        "{}",
        published[0].0
    );
    let message: Value = serde_json::from_str(&published[0].1).unwrap();
    assert_eq!(message["error"]["errorType"], "TicketDeliveryFailed");
    assert!(
        message["ticket"]["Subject"]
            .as_str()
            .unwrap()
            .contains("nightly")
    );
    assert!(s.store.is_empty(), "a failed delivery gives its claim back");
}

#[tokio::test]
async fn a_copy_waits_for_a_live_holder_and_takes_over_a_lapsed_one() {
    let s = setup(created("C2"), Recording::default()).await;
    let ev = failed("run-t", 0);
    let ticket_bridge::Intake::Failure(f) = ticket_bridge::intake::intake(&ev, None).unwrap()
    else {
        panic!()
    };
    let key = ticket_bridge::dedupe::key(&f, s.notifier.config().dedupe_scope);
    let later = SystemTime::now() + Duration::from_secs(600);
    let holder = Lease::new(later, later);
    s.store.claim(&key, &holder).await.unwrap();
    let short = Some(SystemTime::now() + Duration::from_millis(1_200));
    let err = s.notifier.handle(ev.clone(), short).await.unwrap_err();
    assert!(
        matches!(err, NotifierError::TicketDeliveryFailed(ref m) if m.contains("still delivering"))
    );
    assert_eq!(posts(&s.api).await, 0);
    // The holder stopped mid-delivery: its claim lapses in 300 ms and the
    // waiting copy files the case inside its own budget.
    let released = s.store.release(&key, &holder.owner).await.unwrap();
    assert_eq!(released, Settled::Applied);
    let lapse = SystemTime::now() + Duration::from_millis(300);
    s.store
        .claim(&key, &Lease::new(lapse, later))
        .await
        .unwrap();
    let out = s.notifier.handle(ev, deadline()).await.unwrap();
    assert!(
        matches!(
            out,
            Outcome::Delivered {
                duplicate: false,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(posts(&s.api).await, 1);
}

#[tokio::test]
async fn an_unreadable_secret_is_a_typed_connection_error() {
    let config = config(
        "http://127.0.0.1:9/x",
        &[("CONNECTION_SECRET_ID", "events!connection/gone/1")],
    );
    let n = outseta_notifier(
        config,
        StaticSecret(Err("not found (ResourceNotFoundException)".into())),
    );
    let err = n.handle(failed("run-s", 0), deadline()).await.unwrap_err();
    assert_eq!(err.error_type(), "ConnectionSecretError");
    assert!(
        err.to_string().contains("events!connection/gone/1"),
        "{err}"
    );
}

/// The memory store, where another copy takes a claim over just before its
/// holder completes or releases it: as if the holder had run past its
/// deadline while a copy waited.
struct TakenOver(Memory);

impl TakenOver {
    async fn take_over(&self, key: &str) {
        let later = SystemTime::now() + Duration::from_secs(600);
        let copy = self.0.claim(key, &Lease::new(later, later)).await;
        assert_eq!(copy.unwrap(), Claim::New, "another copy takes it over");
    }
}

impl ClaimStore for TakenOver {
    fn describe(&self) -> &'static str {
        "memory"
    }

    /// Written with its deadline already passed: the claim lapses at once.
    fn claim<'a>(&'a self, key: &'a str, lease: &'a Lease) -> Stored<'a, Claim> {
        Box::pin(async move {
            let lapsing = Lease {
                in_progress_until: SystemTime::now() - Duration::from_millis(1),
                ..lease.clone()
            };
            self.0.claim(key, &lapsing).await
        })
    }

    fn existing<'a>(&'a self, key: &'a str) -> Stored<'a, Claim> {
        self.0.existing(key)
    }

    fn complete<'a>(&'a self, key: &'a str, owner: &'a Owner, f: Filed<'a>) -> Stored<'a, Settled> {
        Box::pin(async move {
            self.take_over(key).await;
            self.0.complete(key, owner, f).await
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a Owner) -> Stored<'a, Settled> {
        Box::pin(async move {
            self.take_over(key).await;
            self.0.release(key, owner).await
        })
    }
}

/// Log lines, as JSON, for the warnings a test expects.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn warnings(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["level"] == "WARN")
            .map(|l| {
                l["fields"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

/// A holder whose claim lapsed and was taken over cannot settle it: its
/// filed case is still its result (not a failed delivery), its failed
/// delivery still its error, and both only warn; the claim stays the new
/// holder's, so a third copy waits for it instead of filing again. The
/// same with incident grouping on, whose own path settles the claim.
#[tokio::test]
async fn a_holder_whose_claim_was_taken_over_warns_and_keeps_its_outcome() {
    let logs = Logs::default();
    let sub = tracing_subscriber::fmt()
        .json()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let _guard = tracing::subscriber::set_default(sub);
    for (grouped, filed) in [(false, true), (false, false), (true, true), (true, false)] {
        let answer = if filed {
            created("C1")
        } else {
            ResponseTemplate::new(503)
        };
        let api = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(CASES))
            .respond_with(answer)
            .mount(&api)
            .await;
        // A table's name turns grouping on by default; the stores are here.
        let env: &[(&str, &str)] = if grouped {
            &[("IDEMPOTENCY_TABLE", "unit-claims")]
        } else {
            &[]
        };
        let store = Arc::new(TakenOver(Memory::new()));
        let config = config(&format!("{}{CASES}", api.uri()), env);
        let notifier = outseta_notifier(config, StaticSecret(Ok(support::recipe().to_string())))
            .with_store(store.clone())
            .with_incidents(Arc::new(incident::Memory::new()))
            .with_fallback(Arc::new(Recording::default()));
        let ev = failed("run-late", 0);
        let out = notifier.handle(ev.clone(), deadline()).await;
        let warned = logs.warnings();
        let expected = match (filed, grouped) {
            (true, false) => "ticket filed after this invocation's dedupe claim lapsed",
            (true, true) => "occurrence filed after this invocation's dedupe claim lapsed",
            (false, _) => "dedupe claim not released",
        };
        assert!(
            warned.iter().any(|m| m.starts_with(expected)),
            "grouped {grouped}: {warned:?}"
        );
        match (&out, filed, grouped) {
            (Ok(Outcome::Delivered { case_uid, .. }), true, false) => assert_eq!(case_uid, "C1"),
            (
                Ok(Outcome::Incident {
                    case_uid, incident, ..
                }),
                true,
                true,
            ) => {
                assert_eq!((case_uid.as_deref(), *incident), (Some("C1"), "new_case"));
            }
            (Err(e), false, _) => assert_eq!(e.error_type(), "TicketDeliveryFailed"),
            _ => panic!("grouped {grouped}, filed {filed}: {out:?}"),
        }
        let ticket_bridge::Intake::Failure(f) = ticket_bridge::intake::intake(&ev, None).unwrap()
        else {
            panic!()
        };
        let key = ticket_bridge::dedupe::key(&f, notifier.config().dedupe_scope);
        assert_eq!(
            store.existing(&key).await.unwrap(),
            Claim::InProgress,
            "still the new holder's"
        );
    }
}
