//! What the `Notifier::handle` tests on in-memory adapters share: the
//! recipe's connection, configuration from an environment as `main` builds
//! it, a notifier on memory stores, and a stateful Outseta stand-in (cases,
//! replies, status, faults). The few tests that need real AWS APIs start
//! moto through `shared/aws/tests/support/moto.rs`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use ticket_bridge::dedupe::Memory;
use ticket_bridge::fallback::Recording;
use ticket_bridge::secrets::StaticSecret;
use ticket_bridge::{Config, Notifier};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const CASES: &str = "/api/v1/support/cases";

/// The recipe's connection: a harmless API-key header, the Outseta
/// credential as a secret invocation header parameter.
pub fn recipe() -> Value {
    json!({
        "api_key_name": "X-Outseta-Connection",
        "api_key_value": "header-parameter",
        "invocation_http_parameters": {"header_parameters": [
            {"key": "Authorization", "value": "Outseta K1:S1", "is_value_secret": true}
        ]}
    })
}

/// Configuration as `main` builds it, from the ticket API URL and `extra`
/// (later pairs win).
pub fn config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env = vec![
        ("TICKET_API_URL", url),
        ("CONNECTION_SECRET_ID", "events!connection/outseta/1"),
        ("FROM_PERSON_EMAIL", "oncall@example.com"),
        ("MAX_ATTEMPTS", "2"),
    ];
    env.extend_from_slice(extra);
    Config::from_lookup(&|k: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("test configuration is valid")
}

/// A notifier on the recipe's connection and in-memory adapters: `claims`
/// for dedupe, `fallback` for what cannot be delivered. The caller keeps
/// both to look into, and adds more adapters (`with_incidents`) itself.
pub fn memory_notifier(
    config: Config,
    claims: &Arc<Memory>,
    fallback: &Arc<Recording>,
) -> Notifier {
    outseta_notifier(config, StaticSecret(Ok(recipe().to_string())))
        .with_store(claims.clone())
        .with_fallback(fallback.clone())
}

/// A notifier filing on the Outseta adapter, its connection from `secret`,
/// on the in-memory adapters for everything else.
pub fn outseta_notifier(config: Config, secret: StaticSecret) -> Notifier {
    let http = ticket_bridge_http::http_client(&config.desk).expect("an HTTP client");
    ticket_bridge_outseta::notifier(config, Arc::new(secret), http)
}

pub fn deadline() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(5))
}

/// One case the stand-in holds.
#[derive(Debug, Clone)]
pub struct Case {
    pub uid: String,
    pub subject: String,
    pub body: String,
    pub status: u8,
    /// `(AgentName, Comment)` of each reply, oldest first.
    pub replies: Vec<(String, String)>,
    /// Deleted: reads and replies get 404.
    pub gone: bool,
}

#[derive(Default)]
struct State {
    cases: Vec<Case>,
    /// Statuses to answer the next replies with, before answering normally.
    reply_faults: VecDeque<u16>,
    /// The same for case creation.
    case_faults: VecDeque<u16>,
}

/// An Outseta stand-in that keeps what it is sent, like mock-api: cases
/// (`C1`, `C2`, … in order), replies (200, empty body), reads with
/// `Status`, and faults queued per kind of request.
#[derive(Clone)]
pub struct Outseta {
    pub server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

struct Create(Arc<Mutex<State>>);
struct Read(Arc<Mutex<State>>);
struct Reply(Arc<Mutex<State>>);

impl Respond for Create {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        if let Some(status) = s.case_faults.pop_front() {
            return ResponseTemplate::new(status);
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let uid = format!("C{}", s.cases.len() + 1);
        s.cases.push(Case {
            uid: uid.clone(),
            subject: body["Subject"].as_str().unwrap_or_default().to_owned(),
            body: body["Body"].as_str().unwrap_or_default().to_owned(),
            status: 1,
            replies: Vec::new(),
            gone: false,
        });
        ResponseTemplate::new(200).set_body_json(json!({"Uid": uid, "Status": 1}))
    }
}

fn uid_in(req: &Request) -> String {
    let rest = req
        .url
        .path()
        .trim_start_matches(CASES)
        .trim_start_matches('/');
    rest.split('/').next().unwrap_or_default().to_owned()
}

impl Respond for Read {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let s = self.0.lock().unwrap();
        let uid = uid_in(req);
        match s.cases.iter().find(|c| c.uid == uid && !c.gone) {
            Some(c) => ResponseTemplate::new(200)
                .set_body_json(json!({"Uid": c.uid, "Status": c.status, "CaseHistories": []})),
            None => ResponseTemplate::new(404).set_body_json(json!({"Message": "Case not found"})),
        }
    }
}

impl Respond for Reply {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        if let Some(status) = s.reply_faults.pop_front() {
            return ResponseTemplate::new(status);
        }
        let uid = uid_in(req);
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(
            body["Case"]["Uid"],
            uid.as_str(),
            "Case.Uid is the path's Uid"
        );
        match s.cases.iter_mut().find(|c| c.uid == uid && !c.gone) {
            Some(c) => {
                c.replies.push((
                    body["AgentName"].as_str().unwrap_or_default().to_owned(),
                    body["Comment"].as_str().unwrap_or_default().to_owned(),
                ));
                ResponseTemplate::new(200)
            }
            None => ResponseTemplate::new(404).set_body_json(json!({"Message": "Case not found"})),
        }
    }
}

impl Outseta {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(method("POST"))
            .and(path(CASES))
            .respond_with(Create(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/v1/support/cases/[^/]+$"))
            .respond_with(Read(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/api/v1/support/cases/[^/]+/replies$"))
            .respond_with(Reply(state.clone()))
            .mount(&server)
            .await;
        Outseta {
            server: Arc::new(server),
            state,
        }
    }

    /// The cases endpoint, for `TICKET_API_URL`.
    pub fn url(&self) -> String {
        format!("{}{CASES}", self.server.uri())
    }

    pub fn cases(&self) -> Vec<Case> {
        self.state.lock().unwrap().cases.clone()
    }

    pub fn case(&self, uid: &str) -> Case {
        self.cases()
            .into_iter()
            .find(|c| c.uid == uid)
            .unwrap_or_else(|| panic!("no case {uid}"))
    }

    /// Every reply comment of every case, in order.
    pub fn comments(&self) -> Vec<String> {
        self.cases()
            .into_iter()
            .flat_map(|c| c.replies.into_iter().map(|(_, comment)| comment))
            .collect()
    }

    /// As an agent closing the case in Outseta's UI.
    pub fn close(&self, uid: &str) {
        let mut s = self.state.lock().unwrap();
        if let Some(c) = s.cases.iter_mut().find(|c| c.uid == uid) {
            c.status = 2;
        }
    }

    /// As deleting the case.
    pub fn delete(&self, uid: &str) {
        let mut s = self.state.lock().unwrap();
        if let Some(c) = s.cases.iter_mut().find(|c| c.uid == uid) {
            c.gone = true;
        }
    }

    /// The next replies get these statuses, in order, then normal answers.
    pub fn fail_replies(&self, statuses: &[u16]) {
        self.state.lock().unwrap().reply_faults.extend(statuses);
    }

    /// The next case creations get these statuses, in order.
    pub fn fail_cases(&self, statuses: &[u16]) {
        self.state.lock().unwrap().case_faults.extend(statuses);
    }

    /// Requests received, as `METHOD path`.
    pub async fn requests(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }
}
