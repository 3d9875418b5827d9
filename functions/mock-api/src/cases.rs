//! Outseta-style support cases: validation, the created case, agent replies, updates
//! (`update.rs`), and this instance's list.
//!
//! Validation mirrors what Outseta checks and answers in Outseta's error shape, so the
//! notifier's handling of a rejected ticket or reply (a non-retryable 4xx) is tested
//! against the real thing's format. Every problem is reported at once, as Outseta does.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::query::ListQuery;
use crate::tags::{CaseTag, Catalog};
use crate::update;
use crate::validation::{ValidationError, check_text, json_object};

/// Cases kept per instance; the oldest go first. Bounds memory of a warm instance
/// that a load test keeps busy.
pub(crate) const MAX_STORED_CASES: usize = 1000;

/// History entries kept per case; the oldest go first. Incident grouping replies to
/// one open case for as long as a failure repeats, so a load test could otherwise
/// grow a single case without bound.
pub(crate) const MAX_HISTORIES_PER_CASE: usize = 1000;

/// `Status` of an open case, as Outseta numbers it.
pub(crate) const STATUS_OPEN: u8 = 1;
/// `Status` of a closed case.
pub(crate) const STATUS_CLOSED: u8 = 2;

/// `Type` of a history entry, as Outseta numbers them (outseta-js
/// `SupportCaseHistoryType`: 1 PersonReply, 2 Note, 3 Closed, 4 Reopened, 5 Assigned,
/// 6 AgentReply, 7 AutoReply, 8 ContactChange). The mock writes these three:
/// a reply (`POST .../replies`) is an AgentReply.
pub(crate) const HISTORY_TYPE_AGENT_REPLY: u8 = 6;
/// A `PUT` that moved the case from open to closed.
pub(crate) const HISTORY_TYPE_CLOSED: u8 = 3;
/// A `PUT` that moved the case from closed to open.
pub(crate) const HISTORY_TYPE_REOPENED: u8 = 4;

/// A created case, in Outseta's field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Case {
    pub uid: String,
    pub submitted_date_time: String,
    pub from_person: Value,
    pub subject: String,
    pub body: String,
    pub source: u64,
    pub status: u8,
    pub created: String,
    pub updated: String,
    /// A person's Uid, or null when the case is assigned to nobody.
    pub assigned_to_person_client_identifier: Option<String>,
    /// Replies and status changes, oldest first.
    pub case_histories: VecDeque<CaseHistory>,
    /// Shown by [`Case::view`], whose `fields` decide how much of each tag shows.
    #[serde(skip)]
    pub case_tags: Vec<CaseTag>,
}

impl Case {
    /// The case as Outseta answers it. A CaseTag's `Tag` is an object below the
    /// first level, so, as Outseta does, it is null unless `expand_tags` (the
    /// request's `fields` named it).
    pub(crate) fn view(&self, expand_tags: bool) -> Value {
        let case_tags = self
            .case_tags
            .iter()
            .map(|case_tag| case_tag.view(expand_tags))
            .collect();
        match serde_json::to_value(self) {
            Ok(Value::Object(mut fields)) => {
                fields.insert("CaseTags".to_owned(), Value::Array(case_tags));
                Value::Object(fields)
            }
            // Not reached: a struct of strings and numbers always serialises to an
            // object. Answer null rather than panic if that ever changes.
            _ => Value::Null,
        }
    }

    pub(crate) fn add_history(&mut self, history: CaseHistory) {
        if self.case_histories.len() >= MAX_HISTORIES_PER_CASE {
            self.case_histories.pop_front();
        }
        self.updated.clone_from(&history.history_date_time);
        self.case_histories.push_back(history);
    }

    fn close(&mut self, now_secs: u64) {
        self.status = STATUS_CLOSED;
        self.updated = rfc3339(now_secs);
    }

    pub(crate) fn person_field(&self, name: &str) -> Option<&str> {
        self.from_person.get(name).and_then(Value::as_str)
    }
}

/// One entry of a case's history, in Outseta's field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CaseHistory {
    pub uid: String,
    pub agent_name: String,
    pub comment: String,
    #[serde(rename = "Type")]
    pub kind: u8,
    pub history_date_time: String,
}

/// Checks the `sendAutoResponder` query value; absent is fine (Outseta defaults it).
pub(crate) fn check_send_auto_responder(value: Option<&str>) -> Option<ValidationError> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => None,
        Some(v) if v == "true" || v == "false" => None,
        Some(_) => Some(ValidationError::new(
            "InvalidValue",
            Some("sendAutoResponder"),
            "sendAutoResponder must be true or false",
        )),
    }
}

/// Validates a create-case body and builds the case it describes.
pub(crate) fn new_case(body: &[u8], now_secs: u64) -> Result<Case, Vec<ValidationError>> {
    let object = json_object(body)?;
    let mut errors = Vec::new();
    let from_person = check_from_person(&object, &mut errors);
    let subject = check_text(&object, "Subject", &mut errors);
    let body = check_text(&object, "Body", &mut errors);
    let source = check_source(&object, &mut errors);
    let (Some(from_person), Some(subject), Some(body), Some(source), true) =
        (from_person, subject, body, source, errors.is_empty())
    else {
        return Err(errors);
    };

    let now = rfc3339(now_secs);
    Ok(Case {
        uid: new_uid(),
        submitted_date_time: now.clone(),
        from_person,
        subject,
        body,
        source,
        status: STATUS_OPEN,
        created: now.clone(),
        updated: now,
        assigned_to_person_client_identifier: None,
        case_histories: VecDeque::new(),
        case_tags: Vec::new(),
    })
}

/// Validates an agent reply to the case `case_uid` and builds its history entry.
/// `Case.Uid` must repeat the path's Uid, as Outseta's clients send it: a mismatch
/// means the client built the request for another case.
pub(crate) fn new_reply(
    body: &[u8],
    case_uid: &str,
    now_secs: u64,
) -> Result<CaseHistory, Vec<ValidationError>> {
    let object = json_object(body)?;
    let mut errors = Vec::new();
    let agent_name = check_text(&object, "AgentName", &mut errors);
    check_case_uid(&object, case_uid, &mut errors);
    let comment = check_text(&object, "Comment", &mut errors);
    let (Some(agent_name), Some(comment), true) = (agent_name, comment, errors.is_empty()) else {
        return Err(errors);
    };
    Ok(CaseHistory {
        uid: new_uid(),
        agent_name,
        comment,
        kind: HISTORY_TYPE_AGENT_REPLY,
        history_date_time: rfc3339(now_secs),
    })
}

fn check_case_uid(object: &Map<String, Value>, case_uid: &str, errors: &mut Vec<ValidationError>) {
    const PROPERTY: Option<&str> = Some("Case.Uid");
    let uid = match object.get("Case") {
        None | Some(Value::Null) => None,
        Some(Value::Object(case)) => case.get("Uid"),
        Some(_) => {
            errors.push(ValidationError::new(
                "InvalidType",
                Some("Case"),
                "Case must be an object",
            ));
            return;
        }
    };
    let error = match uid {
        Some(Value::String(uid)) if uid == case_uid => return,
        Some(Value::String(uid)) if !uid.trim().is_empty() => ValidationError::new(
            "InvalidValue",
            PROPERTY,
            format!("Case.Uid must be the Uid in the path ({case_uid})"),
        ),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            ValidationError::new("Required", PROPERTY, "Case.Uid is required")
        }
        Some(_) => ValidationError::new("InvalidType", PROPERTY, "Case.Uid must be a string"),
    };
    errors.push(error);
}

fn check_from_person(
    object: &Map<String, Value>,
    errors: &mut Vec<ValidationError>,
) -> Option<Value> {
    const PROPERTY: Option<&str> = Some("FromPerson");
    let person = match object.get("FromPerson") {
        None | Some(Value::Null) => {
            errors.push(ValidationError::new(
                "Required",
                PROPERTY,
                "FromPerson is required",
            ));
            return None;
        }
        Some(Value::Object(person)) => person,
        Some(_) => {
            errors.push(ValidationError::new(
                "InvalidType",
                PROPERTY,
                "FromPerson must be an object",
            ));
            return None;
        }
    };
    let non_empty = |name: &str| {
        person
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    match (non_empty("Uid"), non_empty("Email")) {
        (Some(_), _) => {}
        (None, Some(email)) if email.contains('@') => {}
        (None, Some(_)) => {
            errors.push(ValidationError::new(
                "InvalidEmail",
                Some("FromPerson.Email"),
                "FromPerson.Email is not a valid email address",
            ));
            return None;
        }
        (None, None) => {
            errors.push(ValidationError::new(
                "Required",
                PROPERTY,
                "FromPerson must have a Uid or an Email",
            ));
            return None;
        }
    }
    Some(Value::Object(person.clone()))
}

fn check_source(object: &Map<String, Value>, errors: &mut Vec<ValidationError>) -> Option<u64> {
    const PROPERTY: Option<&str> = Some("Source");
    match object.get("Source") {
        None | Some(Value::Null) => {
            errors.push(ValidationError::new(
                "Required",
                PROPERTY,
                "Source is required",
            ));
            None
        }
        Some(value) => match value.as_u64().filter(|source| (1..=5).contains(source)) {
            Some(source) => Some(source),
            None => {
                errors.push(ValidationError::new(
                    "OutOfRange",
                    PROPERTY,
                    "Source must be an integer from 1 to 5",
                ));
                None
            }
        },
    }
}

/// Outseta-like uid: 8 random alphanumerics.
pub(crate) fn new_uid() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(8)
        .map(char::from)
        .collect()
}

pub(crate) fn rfc3339(epoch_secs: u64) -> String {
    i64::try_from(epoch_secs)
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Cases this instance accepted. Per instance on purpose: it lets a test read back
/// what the notifier sent when it talks to one instance (`cargo lambda watch`, or a
/// warm function), without a database the mock would then need.
#[derive(Default)]
pub(crate) struct Store {
    cases: Mutex<VecDeque<Case>>,
}

impl Store {
    pub(crate) fn insert(&self, case: Case) {
        // A panic elsewhere while holding the lock leaves the list itself intact.
        let mut cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        if cases.len() >= MAX_STORED_CASES {
            cases.pop_front();
        }
        cases.push_back(case);
    }

    #[cfg(test)]
    pub(crate) fn list(&self) -> Vec<Case> {
        self.page(&ListQuery::default())
    }

    /// The cases `query` selects, oldest first.
    pub(crate) fn page(&self, query: &ListQuery) -> Vec<Case> {
        let cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        cases
            .iter()
            .filter(|case| query.selects(case))
            .skip(query.offset)
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    pub(crate) fn get(&self, uid: &str) -> Option<Case> {
        let cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        cases.iter().find(|case| case.uid == uid).cloned()
    }

    /// Appends a reply to the case `uid`, validated against it; `None` when this
    /// instance holds no such case. One lock for both, so a case dropped past the cap
    /// meanwhile is a clean 404, never a reply to nothing.
    pub(crate) fn reply(
        &self,
        uid: &str,
        body: &[u8],
        now_secs: u64,
    ) -> Option<Result<(), Vec<ValidationError>>> {
        self.update(uid, |case| {
            let history = new_reply(body, &case.uid, now_secs)?;
            case.add_history(history);
            Ok(())
        })
    }

    /// Marks the case `uid` closed and returns it; `None` when this instance holds
    /// no such case. The `/mock/cases/{Uid}/close` control: unlike a `PUT` of
    /// `Status` 2 it writes no history entry, so tests that count a case's replies
    /// as its `CaseHistories` keep counting replies only.
    pub(crate) fn close(&self, uid: &str, now_secs: u64) -> Option<Case> {
        self.update(uid, |case| {
            case.close(now_secs);
            case.clone()
        })
    }

    /// Applies a `PUT` body to the case `uid` and returns the case as it is now;
    /// `None` when this instance holds no such case, whatever the body.
    pub(crate) fn apply_update(
        &self,
        uid: &str,
        body: &[u8],
        tags: &Catalog,
        now_secs: u64,
    ) -> Option<Result<Case, Vec<ValidationError>>> {
        self.update(uid, |case| {
            let change = update::parse(body)?;
            update::apply(case, change, tags, now_secs);
            Ok(case.clone())
        })
    }

    fn update<R>(&self, uid: &str, change: impl FnOnce(&mut Case) -> R) -> Option<R> {
        let mut cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        cases.iter_mut().find(|case| case.uid == uid).map(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn errors_of(body: Value) -> Vec<(Option<&'static str>, &'static str)> {
        new_case(body.to_string().as_bytes(), NOW)
            .expect_err("invalid")
            .into_iter()
            .map(|e| (e.property_name, e.error_code))
            .collect()
    }

    fn valid() -> Value {
        json!({ "FromPerson": { "Email": "ops@example.com" }, "Subject": "S", "Body": "<p>B</p>", "Source": 1 })
    }

    #[test]
    fn valid_case_is_built() {
        let case = new_case(valid().to_string().as_bytes(), NOW).expect("valid");
        assert_eq!(case.uid.len(), 8);
        assert!(case.uid.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(case.from_person, json!({ "Email": "ops@example.com" }));
        assert_eq!(case.subject, "S");
        assert_eq!(case.body, "<p>B</p>");
        assert_eq!(case.source, 1);
        assert_eq!(case.status, 1);
        assert_eq!(case.created, "2023-11-14T22:13:20Z");
        assert_eq!(case.submitted_date_time, case.created);
        assert_eq!(case.updated, case.created);
    }

    #[test]
    fn uid_alone_identifies_the_person() {
        let mut body = valid();
        body["FromPerson"] = json!({ "Uid": "abcd1234" });
        assert!(new_case(body.to_string().as_bytes(), NOW).is_ok());
    }

    #[test]
    fn each_problem_is_reported() {
        let mut body = valid();
        body["FromPerson"] = json!({ "Uid": " ", "Email": "" });
        assert_eq!(errors_of(body), [(Some("FromPerson"), "Required")]);

        let mut body = valid();
        body["FromPerson"] = json!({ "Email": "not-an-email" });
        assert_eq!(
            errors_of(body),
            [(Some("FromPerson.Email"), "InvalidEmail")]
        );

        let mut body = valid();
        body["FromPerson"] = json!("ops@example.com");
        assert_eq!(errors_of(body), [(Some("FromPerson"), "InvalidType")]);

        let mut body = valid();
        body["Subject"] = json!("   ");
        assert_eq!(errors_of(body), [(Some("Subject"), "Required")]);

        let mut body = valid();
        body["Body"] = json!(42);
        assert_eq!(errors_of(body), [(Some("Body"), "InvalidType")]);

        for source in [json!(0), json!(6), json!(2.5), json!("1"), json!(-1)] {
            let mut body = valid();
            body["Source"] = source;
            assert_eq!(errors_of(body), [(Some("Source"), "OutOfRange")]);
        }
    }

    #[test]
    fn all_problems_at_once() {
        assert_eq!(
            errors_of(json!({})),
            [
                (Some("FromPerson"), "Required"),
                (Some("Subject"), "Required"),
                (Some("Body"), "Required"),
                (Some("Source"), "Required"),
            ]
        );
    }

    #[test]
    fn non_json_and_non_object_bodies() {
        for body in [&b"not json"[..], b"", b"[1,2]", b"\"text\""] {
            let errors = new_case(body, NOW).expect_err("invalid");
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].error_code, "InvalidJson");
            assert_eq!(errors[0].property_name, None);
        }
    }

    #[test]
    fn send_auto_responder_values() {
        assert_eq!(check_send_auto_responder(None), None);
        assert_eq!(check_send_auto_responder(Some("false")), None);
        assert_eq!(check_send_auto_responder(Some("TRUE")), None);
        let err = check_send_auto_responder(Some("nope")).expect("invalid");
        assert_eq!(err.property_name, Some("sendAutoResponder"));
    }

    #[test]
    fn store_keeps_order_and_drops_the_oldest_past_the_cap() {
        let store = Store::default();
        let mut uids = Vec::new();
        for _ in 0..MAX_STORED_CASES + 2 {
            let case = new_case(valid().to_string().as_bytes(), NOW).expect("valid");
            uids.push(case.uid.clone());
            store.insert(case);
        }
        let listed: Vec<String> = store.list().into_iter().map(|c| c.uid).collect();
        assert_eq!(listed, uids[2..]);
        assert!(store.get(&uids[0]).is_none());
        assert_eq!(store.get(&uids[5]).map(|c| c.uid), Some(uids[5].clone()));
    }

    fn stored_case(store: &Store) -> String {
        let case = new_case(valid().to_string().as_bytes(), NOW).expect("valid");
        let uid = case.uid.clone();
        store.insert(case);
        uid
    }

    fn reply(uid: &str, comment: &str) -> Vec<u8> {
        json!({ "AgentName": "A", "Case": { "Uid": uid }, "Comment": comment })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn reply_and_close_move_updated_but_not_created() {
        let store = Store::default();
        let uid = stored_case(&store);
        assert_eq!(store.reply(&uid, &reply(&uid, "x"), NOW + 60), Some(Ok(())));
        let case = store.get(&uid).expect("stored");
        assert_eq!(case.updated, "2023-11-14T22:14:20Z");
        assert_eq!(case.created, "2023-11-14T22:13:20Z");
        assert_eq!(case.case_histories[0].history_date_time, case.updated);

        let closed = store.close(&uid, NOW + 120).expect("stored");
        assert_eq!(closed.status, STATUS_CLOSED);
        assert_eq!(closed.updated, "2023-11-14T22:15:20Z");
        assert_eq!(store.get(&uid), Some(closed));
        assert_eq!(store.close("unknown", NOW), None);
        assert_eq!(store.reply("unknown", &reply("unknown", "x"), NOW), None);
    }

    #[test]
    fn history_keeps_the_newest_past_the_cap() {
        let store = Store::default();
        let uid = stored_case(&store);
        for n in 0..MAX_HISTORIES_PER_CASE + 2 {
            let body = reply(&uid, &n.to_string());
            assert_eq!(store.reply(&uid, &body, NOW), Some(Ok(())));
        }
        let histories = store.get(&uid).expect("stored").case_histories;
        assert_eq!(histories.len(), MAX_HISTORIES_PER_CASE);
        assert_eq!(histories.front().map(|h| h.comment.as_str()), Some("2"));
        let last = (MAX_HISTORIES_PER_CASE + 1).to_string();
        assert_eq!(
            histories.back().map(|h| h.comment.as_str()),
            Some(last.as_str())
        );
    }
}
