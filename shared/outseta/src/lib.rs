//! The Outseta desk: the one place that knows Outseta's support API, its
//! paths, JSON and status numbers (public clients, e.g. outseta/outseta-js,
//! document them):
//!
//! - create: `POST /api/v1/support/cases?sendAutoResponder=` with
//!   `{"FromPerson", "Subject", "Body", "Source"}`, answered with the case
//!   and its `Uid`;
//! - reply: `POST /api/v1/support/cases/{Uid}/replies` with
//!   `{"AgentName", "Case": {"Uid"}, "Comment"}`, answered 200 with an
//!   empty body;
//! - read: `GET /api/v1/support/cases/{Uid}?fields=*,CaseTags.Tag.*`,
//!   whose `Status` is 1 (open) or 2 (closed), and whose `CaseTags` name
//!   their `Tag` only when `fields` asks for it;
//! - search: `GET /api/v1/support/cases?q=`, the cases whose text holds
//!   the query, as a page (`{"metadata", "items"}`);
//! - update: `PUT /api/v1/support/cases/{Uid}`, a partial update of
//!   `Status`, `AssignedToPersonClientIdentifier` and `CaseTags`.
//!
//! Everything else (credentials, retries, deadlines) is the generic
//! executor's (`ticket_bridge_http`), over the EventBridge connection.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};
use ticket_bridge::BoxFuture;
use ticket_bridge::desk::{
    Attempts, CaseRead, CaseState, CaseStatus, CaseUpdate, Desk, DeskSettings, Filing, Found,
    FromPerson, Reply,
};
use ticket_bridge::error::NotifierError;
use ticket_bridge::redact::{Gate, Redactor};
use ticket_bridge::secrets::SecretSource;
use ticket_bridge::ticket::Ticket;
use ticket_bridge_http::{Answer, Call, Executor};
use url::Url;

mod routing;

/// API messages quoted in errors are cut to this many characters.
const MESSAGE_MAX: usize = 500;
/// `Status` of an open case.
const OPEN: u64 = 1;
/// `Status` of a closed case.
const CLOSED: u64 = 2;

/// The Outseta adapter of the desk port; built once per container.
pub struct OutsetaDesk {
    executor: Executor,
    /// The cases endpoint (`TICKET_API_URL`).
    url: Url,
    filing: Filing,
    send_auto_responder: bool,
    /// Who the bridge's own notes on a case are from.
    agent_name: String,
    tags: routing::CaseTags,
}

impl OutsetaDesk {
    /// On `http`, the process's one client (shared with the AWS SDK); the
    /// connection secret comes from `secrets`, and `gate` learns every
    /// credential before it is sent.
    pub fn new(
        settings: &DeskSettings,
        secrets: Arc<dyn SecretSource>,
        gate: Gate,
        http: reqwest::Client,
    ) -> Self {
        OutsetaDesk {
            executor: Executor::new(settings, secrets, gate, http, api_message),
            url: settings.url.clone(),
            filing: settings.filing.clone(),
            send_auto_responder: settings.send_auto_responder,
            agent_name: settings.agent_name.clone(),
            tags: routing::CaseTags::default(),
        }
    }

    /// `{cases endpoint}/{Uid}` and below it; the Uid is one path segment,
    /// escaped, whatever it holds.
    fn case_url(&self, case_uid: &str, below: Option<&str>) -> Result<Url, NotifierError> {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|_| {
                NotifierError::TicketDeliveryFailed(
                    "the ticket API URL cannot take a case path".to_owned(),
                )
            })?
            .pop_if_empty()
            .push(case_uid)
            .extend(below);
        Ok(url)
    }

    /// Files the case, then routes it (tags and assignee) when the
    /// machine's tags asked for it.
    async fn create_case(
        &self,
        ticket: &Ticket,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<String, NotifierError> {
        let (tag_uids, skipped) = if ticket.tags.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.tags
                .resolve(&self.executor, &self.url, &ticket.tags, end, stats)
                .await
        };
        let uid = if skipped.is_empty() {
            self.post_case(ticket, end, stats).await?
        } else {
            let body = routing::with_skipped(&ticket.body, &skipped);
            let noted = Ticket {
                body,
                ..ticket.clone()
            };
            self.post_case(&noted, end, stats).await?
        };
        if ticket.assignee.is_some() || !tag_uids.is_empty() {
            self.route(&uid, ticket.assignee.as_deref(), tag_uids, end, stats)
                .await;
        }
        Ok(uid)
    }

    /// Sets the new case's assignee and tags. Never fails the case: a
    /// refused assignee is dropped (the tags still set) and said in a
    /// reply; a desk that is down leaves the case as filed, in the log.
    async fn route(
        &self,
        uid: &str,
        assignee: Option<&str>,
        tags: Vec<String>,
        end: Instant,
        stats: &mut Attempts,
    ) {
        let tags = (!tags.is_empty()).then_some(tags);
        let update = CaseUpdate {
            assignee: assignee.map(str::to_owned),
            tags: tags.clone(),
            ..CaseUpdate::default()
        };
        let refusal = match self.put_case(uid, &update, end, stats).await {
            Ok(_) => return,
            Err(e) if routing::refused(&e) && assignee.is_some() => e,
            Err(e) => {
                tracing::warn!(error = %e, "case filed but not routed (assignee, tags)");
                return;
            }
        };
        if tags.is_some() {
            let tags_only = CaseUpdate {
                tags,
                ..CaseUpdate::default()
            };
            if let Err(e) = self.put_case(uid, &tags_only, end, stats).await {
                tracing::warn!(error = %e, "case filed but its tags not set");
            }
        }
        let note = format!(
            "<p><em>Routing: assignee {} not set: {}</em></p>",
            ticket_bridge::text::escape_html(assignee.unwrap_or_default()),
            ticket_bridge::text::escape_html(&refusal.to_string())
        );
        let reply = Reply::new(&self.agent_name, uid, note);
        if let Err(e) = self.post_reply(&reply, end, stats).await {
            tracing::warn!(error = %e, "the refused assignee could not be noted on the case");
        }
    }

    async fn post_case(
        &self,
        ticket: &Ticket,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<String, NotifierError> {
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair(
            "sendAutoResponder",
            if self.send_auto_responder {
                "true"
            } else {
                "false"
            },
        );
        let body = case_body(ticket, &self.filing);
        let call = Call {
            method: Method::POST,
            url,
            body: Some(&body),
            what: "case",
            gone_on_404: false,
        };
        match self.executor.call(&call, end, stats).await? {
            Answer::Success(resp) => read_case_uid(resp, &self.executor.redactor()).await,
            Answer::Gone => Err(NotifierError::TicketDeliveryFailed(
                "ticket API answered the case with something else than a case".to_owned(),
            )),
        }
    }

    async fn post_reply(
        &self,
        reply: &Reply,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<bool, NotifierError> {
        let body = reply_body(reply);
        let call = Call {
            method: Method::POST,
            url: self.case_url(&reply.case_uid, Some("replies"))?,
            body: Some(&body),
            what: "reply",
            gone_on_404: true,
        };
        // Outseta answers a reply with an empty body.
        Ok(matches!(
            self.executor.call(&call, end, stats).await?,
            Answer::Success(_)
        ))
    }

    async fn read_case(
        &self,
        case_uid: &str,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<CaseRead, NotifierError> {
        let mut url = self.case_url(case_uid, None)?;
        // A CaseTag's Tag is below the first level: named, or it is null.
        url.set_query(Some("fields=*,CaseTags.Tag.*"));
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            what: "case read",
            gone_on_404: true,
        };
        Ok(match self.executor.call(&call, end, stats).await? {
            Answer::Success(resp) => read_case(resp).await,
            Answer::Gone => CaseRead {
                state: CaseState::Gone,
                tags: Vec::new(),
            },
        })
    }

    async fn search(
        &self,
        marker: &str,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<Vec<Found>, NotifierError> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("q", marker)
            .append_pair("limit", "25");
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            what: "case search",
            gone_on_404: false,
        };
        Ok(match self.executor.call(&call, end, stats).await? {
            Answer::Success(resp) => found(resp, marker).await,
            Answer::Gone => Vec::new(),
        })
    }

    async fn put_case(
        &self,
        case_uid: &str,
        update: &CaseUpdate,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<bool, NotifierError> {
        let body = update_body(update);
        let call = Call {
            method: Method::PUT,
            url: self.case_url(case_uid, None)?,
            body: Some(&body),
            what: "case update",
            gone_on_404: true,
        };
        Ok(matches!(
            self.executor.call(&call, end, stats).await?,
            Answer::Success(_)
        ))
    }
}

/// A notifier filing on Outseta, its connection from `secrets`, on `http`
/// (the process's one client), with the in-memory adapters for everything
/// else: the notifier and its desk share one redaction gate, so every
/// credential the desk sends is masked wherever the notifier writes.
pub fn notifier(
    config: ticket_bridge::Config,
    secrets: Arc<dyn SecretSource>,
    http: reqwest::Client,
) -> ticket_bridge::Notifier {
    let gate = ticket_bridge::Notifier::gate_for(&config);
    let desk = OutsetaDesk::new(&config.desk, secrets, gate.clone(), http);
    ticket_bridge::Notifier::new(config, gate, Arc::new(desk))
}

impl Desk for OutsetaDesk {
    fn ready<'a>(
        &'a self,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<(), NotifierError>> {
        Box::pin(self.executor.ready(end, stats))
    }

    fn create<'a>(
        &'a self,
        ticket: &'a Ticket,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<String, NotifierError>> {
        Box::pin(self.create_case(ticket, end, stats))
    }

    fn reply<'a>(
        &'a self,
        reply: &'a Reply,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<bool, NotifierError>> {
        Box::pin(self.post_reply(reply, end, stats))
    }

    fn read<'a>(
        &'a self,
        case_uid: &'a str,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<CaseRead, NotifierError>> {
        Box::pin(self.read_case(case_uid, end, stats))
    }

    fn find<'a>(
        &'a self,
        marker: &'a str,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<Vec<Found>, NotifierError>> {
        Box::pin(self.search(marker, end, stats))
    }

    fn update<'a>(
        &'a self,
        case_uid: &'a str,
        update: &'a CaseUpdate,
        end: Instant,
        stats: &'a mut Attempts,
    ) -> BoxFuture<'a, Result<bool, NotifierError>> {
        Box::pin(self.put_case(case_uid, update, end, stats))
    }

    fn know_secrets(&self, token: bool) -> BoxFuture<'_, &'static str> {
        Box::pin(self.executor.know_secrets(token))
    }

    fn token_fetches(&self) -> u64 {
        self.executor.token_fetches()
    }

    fn throttled(&self) -> bool {
        self.executor.throttled()
    }
}

/// The JSON body of `POST /api/v1/support/cases`: what `notifier render`
/// prints, and what the desk posts (plus the connection's body parameters).
pub fn case_body(ticket: &Ticket, filing: &Filing) -> Value {
    let from_person = match &filing.from_person {
        FromPerson::Uid(uid) => json!({"Uid": uid}),
        FromPerson::Email(email) => json!({"Email": email}),
    };
    json!({
        "FromPerson": from_person,
        "Subject": ticket.subject,
        "Body": ticket.body,
        "Source": filing.source,
    })
}

/// The JSON body of `POST /api/v1/support/cases/{Uid}/replies`.
pub fn reply_body(reply: &Reply) -> Value {
    json!({
        "AgentName": reply.agent_name,
        "Case": {"Uid": reply.case_uid},
        "Comment": reply.comment,
    })
}

/// The JSON body of `PUT /api/v1/support/cases/{Uid}`: only what changes.
pub fn update_body(update: &CaseUpdate) -> Value {
    let mut body = serde_json::Map::new();
    if let Some(status) = update.status {
        let n = match status {
            CaseStatus::Open => OPEN,
            CaseStatus::Closed => CLOSED,
        };
        body.insert("Status".to_owned(), json!(n));
    }
    if let Some(person) = &update.assignee {
        body.insert("AssignedToPersonClientIdentifier".to_owned(), json!(person));
    }
    if let Some(tags) = &update.tags {
        let tags: Vec<Value> = tags
            .iter()
            .map(|uid| json!({"Tag": {"Uid": uid}}))
            .collect();
        body.insert("CaseTags".to_owned(), Value::Array(tags));
    }
    Value::Object(body)
}

/// `Status` 2 is closed; anything else, or a body that cannot be read, is
/// taken as open: the reply that follows then finds out (a 404 is gone),
/// and a reply to a case an agent closed a moment ago is still read there.
async fn read_case(resp: reqwest::Response) -> CaseRead {
    let body = resp.text().await.unwrap_or_default();
    case_read(&serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
}

fn case_read(case: &Value) -> CaseRead {
    let state = match case.get("Status").and_then(Value::as_u64) {
        Some(CLOSED) => CaseState::Closed,
        _ => CaseState::Open,
    };
    let tags = case
        .get("CaseTags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.get("Tag")?.get("Name")?.as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    CaseRead { state, tags }
}

/// The cases of a search whose Body really holds `marker` (a search may
/// match loosely), newest first. A page that cannot be read finds none.
async fn found(resp: reqwest::Response, marker: &str) -> Vec<Found> {
    let body = resp.text().await.unwrap_or_default();
    found_in(
        &serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
        marker,
    )
}

fn found_in(page: &Value, marker: &str) -> Vec<Found> {
    let items = page
        .get("items")
        .and_then(Value::as_array)
        .or_else(|| page.as_array())
        .cloned()
        .unwrap_or_default();
    let mut cases: Vec<(&str, Found)> = items
        .iter()
        .filter(|c| {
            c.get("Body")
                .and_then(Value::as_str)
                .is_some_and(|b| b.contains(marker))
        })
        .filter_map(|c| {
            let uid = c.get("Uid")?.as_str()?.to_owned();
            let created = c.get("Created").and_then(Value::as_str).unwrap_or("");
            let open = c.get("Status").and_then(Value::as_u64) != Some(CLOSED);
            Some((created, Found { uid, open }))
        })
        .collect();
    cases.sort_by(|a, b| b.0.cmp(a.0));
    cases.into_iter().map(|(_, f)| f).collect()
}

fn transport_problem(e: &reqwest::Error) -> String {
    ticket_bridge_http::endpoint::transport_problem(e)
}

async fn read_case_uid(
    resp: reqwest::Response,
    redactor: &Redactor,
) -> Result<String, NotifierError> {
    let status = resp.status().as_u16();
    // The case may exist now; retrying could file it twice, so these are final.
    let body = resp.text().await.map_err(|e| {
        NotifierError::TicketDeliveryFailed(format!(
            "ticket API answered HTTP {status} but the response could not be read ({}); the case may exist",
            transport_problem(&e)
        ))
    })?;
    let value: Value = serde_json::from_str(&body).map_err(|_| {
        NotifierError::TicketDeliveryFailed(format!(
            "ticket API answered HTTP {status} with a body that is not JSON: {}; the case may exist",
            api_message(&body, redactor)
        ))
    })?;
    match value
        .get("Uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        Some(uid) => Ok(uid.to_owned()),
        None => Err(NotifierError::TicketDeliveryFailed(format!(
            "ticket API answered HTTP {status} without a case Uid; the case may exist"
        ))),
    }
}

/// The API's own explanation: Outseta's `ErrorMessage` plus each validation
/// error, or a generic message field, or the start of the body.
fn api_message(body: &str, redactor: &Redactor) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let mut parts: Vec<String> = Vec::new();
            for key in [
                "ErrorMessage",
                "Message",
                "message",
                "error_description",
                "error",
            ] {
                if let Some(m) = v.get(key).and_then(Value::as_str) {
                    parts.push(m.to_owned());
                    break;
                }
            }
            let details = v
                .get("EntityValidationErrors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("ValidationErrors").and_then(Value::as_array))
                .flatten()
                .filter_map(|e| e.get("ErrorMessage").and_then(Value::as_str));
            parts.extend(details.map(str::to_owned));
            if parts.is_empty() {
                body.to_owned()
            } else {
                parts.join("; ")
            }
        }
        Err(_) => body.trim().to_owned(),
    };
    let text = if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text
    };
    ticket_bridge::text::clip(&redactor.text(&text), MESSAGE_MAX).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outseta_validation_errors_become_one_message() {
        let body = r#"{"ErrorMessage":"Validation failed","EntityValidationErrors":[{"Entity":null,"TypeName":"Case",
            "ValidationErrors":[{"ErrorCode":"required","ErrorMessage":"Subject is required","PropertyName":"Subject"},
                                {"ErrorCode":"range","ErrorMessage":"Source must be 1..5","PropertyName":"Source"}]}]}"#;
        assert_eq!(
            api_message(body, &Redactor::default()),
            "Validation failed; Subject is required; Source must be 1..5"
        );
        assert_eq!(api_message("", &Redactor::default()), "(empty body)");
        let long = "x".repeat(2000);
        let clipped = api_message(&long, &Redactor::default());
        assert_eq!(clipped.chars().count(), MESSAGE_MAX);
        assert!(clipped.ends_with('…'));
    }

    #[test]
    fn the_filing_comes_from_the_environment() {
        let env = |k: &str| match k {
            "FROM_PERSON_UID" => Some("dpWp6Lmn".to_owned()),
            "CASE_SOURCE" => Some("2".to_owned()),
            _ => None,
        };
        let filing = ticket_bridge::config::filing(&env).expect("valid");
        let ticket = Ticket {
            subject: "s".into(),
            body: "b".into(),
            ..Ticket::default()
        };
        let v = case_body(&ticket, &filing);
        assert_eq!(v["FromPerson"], json!({"Uid": "dpWp6Lmn"}));
        assert_eq!(v["Source"], 2);
    }

    #[test]
    fn a_read_case_says_its_state_and_the_names_of_its_tags() {
        let case = json!({"Uid": "C1", "Status": 2, "CaseTags": [
            {"Tag": {"Uid": "T1", "Name": "muted"}},
            {"Tag": null},
            {"Uid": "x"}
        ]});
        let read = case_read(&case);
        assert_eq!(read.state, CaseState::Closed);
        assert_eq!(read.tags, ["muted"]);
        assert!(read.tagged("MUTED"));
        // No Status, not an object: read as open, so the reply finds out.
        assert_eq!(case_read(&json!({})).state, CaseState::Open);
        assert_eq!(case_read(&Value::Null).tags, Vec::<String>::new());
    }

    #[test]
    fn a_search_keeps_the_cases_whose_body_holds_the_marker_newest_first() {
        let marker = "ticket-bridge-fingerprint: 0123456789abcdef";
        let case = |uid: &str, created: &str, status: u64, body: &str| json!({"Uid": uid, "Created": created, "Status": status, "Body": body});
        let items = vec![
            case(
                "old",
                "2026-01-01T00:00:00Z",
                2,
                &format!("<p>{marker}</p>"),
            ),
            case(
                "loose",
                "2026-03-01T00:00:00Z",
                1,
                "ticket-bridge-fingerprint: 0123",
            ),
            case("new", "2026-02-01T00:00:00Z", 1, &format!("x {marker} y")),
        ];
        let want = vec![
            Found {
                uid: "new".to_owned(),
                open: true,
            },
            Found {
                uid: "old".to_owned(),
                open: false,
            },
        ];
        let paged = json!({"metadata": {"total": 3}, "items": items.clone()});
        assert_eq!(found_in(&paged, marker), want);
        assert_eq!(found_in(&Value::Array(items), marker), want, "a bare array");
        assert!(found_in(&json!({"Message": "nope"}), marker).is_empty());
    }

    #[test]
    fn bodies_have_outseta_shape() {
        let ticket = Ticket {
            subject: "s".into(),
            body: "<p>b</p>".into(),
            ..Ticket::default()
        };
        let by_uid = Filing {
            from_person: FromPerson::Uid("P1".into()),
            source: 3,
        };
        assert_eq!(
            case_body(&ticket, &by_uid),
            json!({"FromPerson": {"Uid": "P1"}, "Subject": "s", "Body": "<p>b</p>", "Source": 3})
        );
        let reply = Reply::new("Bridge", "C1", "<p>again</p>".into());
        assert_eq!(
            reply_body(&reply),
            json!({"AgentName": "Bridge", "Case": {"Uid": "C1"}, "Comment": "<p>again</p>"})
        );
        let close = CaseUpdate {
            status: Some(CaseStatus::Closed),
            ..Default::default()
        };
        assert_eq!(update_body(&close), json!({"Status": 2}));
        let route = CaseUpdate {
            status: Some(CaseStatus::Open),
            assignee: Some("P2".into()),
            tags: Some(vec!["T1".into()]),
        };
        assert_eq!(
            update_body(&route),
            json!({"Status": 1, "AssignedToPersonClientIdentifier": "P2",
                   "CaseTags": [{"Tag": {"Uid": "T1"}}]})
        );
    }
}
