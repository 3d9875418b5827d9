//! Outseta-style support cases: validation, the created case, and this instance's list.
//!
//! Validation mirrors what Outseta checks and answers in Outseta's error shape, so the
//! notifier's handling of a rejected ticket (a non-retryable 4xx) is tested against
//! the real thing's format. Every problem is reported at once, as Outseta does.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Cases kept per instance; the oldest go first. Bounds memory of a warm instance
/// that a load test keeps busy.
pub(crate) const MAX_STORED_CASES: usize = 1000;

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
}

/// One problem with a request, as Outseta reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ValidationError {
    pub error_code: &'static str,
    pub error_message: String,
    /// `None` (JSON null) when the problem is the body as a whole.
    pub property_name: Option<&'static str>,
}

impl ValidationError {
    fn new(code: &'static str, property: Option<&'static str>, message: impl Into<String>) -> Self {
        ValidationError {
            error_code: code,
            error_message: message.into(),
            property_name: property,
        }
    }
}

/// Outseta's 400 body for a list of problems with a case.
pub(crate) fn validation_failed_body(errors: &[ValidationError]) -> Value {
    json!({
        "ErrorMessage": "Validation failed",
        "EntityValidationErrors": [{
            "Entity": null,
            "TypeName": "Case",
            "ValidationErrors": errors,
        }],
    })
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
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        vec![ValidationError::new(
            "InvalidJson",
            None,
            format!("Request body is not valid JSON: {err}"),
        )]
    })?;
    let Value::Object(object) = value else {
        return Err(vec![ValidationError::new(
            "InvalidJson",
            None,
            "Request body must be a JSON object",
        )]);
    };

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
        status: 1,
        created: now.clone(),
        updated: now,
    })
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

fn check_text(
    object: &Map<String, Value>,
    property: &'static str,
    errors: &mut Vec<ValidationError>,
) -> Option<String> {
    match object.get(property) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            errors.push(ValidationError::new(
                "Required",
                Some(property),
                format!("{property} is required"),
            ));
            None
        }
        Some(_) => {
            errors.push(ValidationError::new(
                "InvalidType",
                Some(property),
                format!("{property} must be a string"),
            ));
            None
        }
    }
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
fn new_uid() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(8)
        .map(char::from)
        .collect()
}

fn rfc3339(epoch_secs: u64) -> String {
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

    pub(crate) fn list(&self) -> Vec<Case> {
        let cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        cases.iter().cloned().collect()
    }

    pub(crate) fn get(&self, uid: &str) -> Option<Case> {
        let cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        cases.iter().find(|case| case.uid == uid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
