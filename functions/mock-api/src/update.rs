//! `PUT /api/v1/support/cases/{Uid}`: a partial update, as Outseta takes it.
//!
//! A property the body leaves out keeps its value, so a client sends only what
//! changes. The mock acts on `Status`, `AssignedToPersonClientIdentifier` and
//! `CaseTags`; any other property (a `Uid` in the body too, as in Outseta) is ignored.
//! Problems are reported all at once in Outseta's shape, and a refused body changes
//! nothing.

use serde_json::{Map, Value};

use crate::cases::{
    Case, CaseHistory, HISTORY_TYPE_CLOSED, HISTORY_TYPE_REOPENED, STATUS_CLOSED, STATUS_OPEN,
    new_uid, rfc3339,
};
use crate::tags::{CaseTag, Catalog};
use crate::validation::{ValidationError, json_object};

/// Outseta's limit on `AssignedToPersonClientIdentifier`.
pub(crate) const MAX_ASSIGNEE_CHARS: usize = 50;

/// `AgentName` of the history entry a status change writes. The request names no
/// agent, so the mock's own name for a change made through the API.
pub(crate) const STATUS_CHANGE_AGENT: &str = "API";

/// What a valid `PUT` body asks for; `None` keeps the current value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CaseChange {
    status: Option<u8>,
    /// `Some(None)` unassigns the case.
    assignee: Option<Option<String>>,
    /// The full set of tags the case ends with, as the body lists them.
    tags: Option<Vec<TagEntry>>,
}

/// One `CaseTags` entry: the Uid of a CaseTag the case carries (keep it), and/or
/// the Uid of a tag (add it). Either may be absent.
#[derive(Debug, Default, PartialEq, Eq)]
struct TagEntry {
    case_tag_uid: Option<String>,
    tag_uid: Option<String>,
}

/// Validates a `PUT` body.
pub(crate) fn parse(body: &[u8]) -> Result<CaseChange, Vec<ValidationError>> {
    let object = json_object(body)?;
    let mut errors = Vec::new();
    let change = CaseChange {
        status: check_status(&object, &mut errors),
        assignee: check_assignee(&object, &mut errors),
        tags: check_case_tags(&object, &mut errors),
    };
    if errors.is_empty() {
        Ok(change)
    } else {
        Err(errors)
    }
}

/// Applies a valid change. A status that changes writes a Closed or Reopened history
/// entry; the same status again writes none. `Updated` moves to now on every update.
pub(crate) fn apply(case: &mut Case, change: CaseChange, tags: &Catalog, now_secs: u64) {
    let now = rfc3339(now_secs);
    if let Some(status) = change.status
        && status != case.status
    {
        let (kind, comment) = if status == STATUS_CLOSED {
            (HISTORY_TYPE_CLOSED, "Case closed")
        } else {
            (HISTORY_TYPE_REOPENED, "Case reopened")
        };
        case.status = status;
        case.add_history(CaseHistory {
            uid: new_uid(),
            agent_name: STATUS_CHANGE_AGENT.to_owned(),
            comment: comment.to_owned(),
            kind,
            history_date_time: now.clone(),
        });
    }
    if let Some(assignee) = change.assignee {
        case.assigned_to_person_client_identifier = assignee;
    }
    if let Some(entries) = change.tags {
        case.case_tags = retag(&case.case_tags, &entries, tags, &now);
    }
    case.updated = now;
}

/// The case's new set of tags, in the order the body lists them. An entry naming a
/// CaseTag the case carries keeps it (its Uid and `Created` too); otherwise its tag
/// Uid adds that tag, or keeps it when the case already carries it. An unknown tag
/// Uid, or an entry that names neither, is skipped, and each tag counts once.
fn retag(current: &[CaseTag], entries: &[TagEntry], tags: &Catalog, now: &str) -> Vec<CaseTag> {
    let mut next: Vec<CaseTag> = Vec::new();
    for entry in entries {
        let kept = entry
            .case_tag_uid
            .as_deref()
            .and_then(|uid| current.iter().find(|case_tag| case_tag.uid == uid));
        let case_tag = match kept {
            Some(case_tag) => Some(case_tag.clone()),
            None => entry
                .tag_uid
                .as_deref()
                .and_then(|uid| tags.get(uid))
                .map(|tag| {
                    current
                        .iter()
                        .find(|case_tag| case_tag.tag.uid == tag.uid)
                        .cloned()
                        .unwrap_or_else(|| CaseTag {
                            uid: new_uid(),
                            tag: tag.clone(),
                            created: now.to_owned(),
                            updated: now.to_owned(),
                        })
                }),
        };
        if let Some(case_tag) = case_tag
            && !next.iter().any(|known| known.tag.uid == case_tag.tag.uid)
        {
            next.push(case_tag);
        }
    }
    next
}

fn check_status(object: &Map<String, Value>, errors: &mut Vec<ValidationError>) -> Option<u8> {
    let value = object.get("Status")?;
    match value.as_u64() {
        Some(1) => Some(STATUS_OPEN),
        Some(2) => Some(STATUS_CLOSED),
        _ => {
            errors.push(ValidationError::new(
                "OutOfRange",
                Some("Status"),
                "Status must be 1 (open) or 2 (closed)",
            ));
            None
        }
    }
}

/// Null or a blank string unassigns the case.
fn check_assignee(
    object: &Map<String, Value>,
    errors: &mut Vec<ValidationError>,
) -> Option<Option<String>> {
    const PROPERTY: Option<&str> = Some("AssignedToPersonClientIdentifier");
    match object.get("AssignedToPersonClientIdentifier")? {
        Value::Null => Some(None),
        Value::String(uid) if uid.trim().is_empty() => Some(None),
        Value::String(uid) if uid.chars().count() > MAX_ASSIGNEE_CHARS => {
            errors.push(ValidationError::new(
                "MaxLength",
                PROPERTY,
                format!(
                    "AssignedToPersonClientIdentifier must be at most {MAX_ASSIGNEE_CHARS} characters"
                ),
            ));
            None
        }
        Value::String(uid) => Some(Some(uid.clone())),
        _ => {
            errors.push(ValidationError::new(
                "InvalidType",
                PROPERTY,
                "AssignedToPersonClientIdentifier must be a string (a person's Uid) or null",
            ));
            None
        }
    }
}

/// Absent or null keeps the tags; an array is the full set the case ends with.
fn check_case_tags(
    object: &Map<String, Value>,
    errors: &mut Vec<ValidationError>,
) -> Option<Vec<TagEntry>> {
    const PROPERTY: Option<&str> = Some("CaseTags");
    let entries = match object.get("CaseTags")? {
        Value::Null => return None,
        Value::Array(entries) => entries,
        _ => {
            errors.push(ValidationError::new(
                "InvalidType",
                PROPERTY,
                "CaseTags must be an array",
            ));
            return None;
        }
    };
    let mut parsed = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match tag_entry(entry) {
            Some(entry) => parsed.push(entry),
            None => {
                errors.push(ValidationError::new(
                    "InvalidType",
                    PROPERTY,
                    format!(
                        "CaseTags[{index}] must be an object with a string Uid and/or a Tag object with a string Uid"
                    ),
                ));
                return None;
            }
        }
    }
    Some(parsed)
}

/// `None` when the entry is not the shape Outseta reads.
fn tag_entry(entry: &Value) -> Option<TagEntry> {
    let entry = entry.as_object()?;
    let case_tag_uid = optional_string(entry.get("Uid"))?;
    let tag_uid = match entry.get("Tag") {
        None | Some(Value::Null) => None,
        Some(Value::Object(tag)) => optional_string(tag.get("Uid"))?,
        Some(_) => return None,
    };
    Some(TagEntry {
        case_tag_uid,
        tag_uid,
    })
}

/// `Some(None)` for absent or null, `Some(Some(text))` for a string, `None` otherwise.
fn optional_string(value: Option<&Value>) -> Option<Option<String>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(body: Value) -> Result<CaseChange, Vec<(Option<&'static str>, &'static str)>> {
        parse(body.to_string().as_bytes()).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| (e.property_name, e.error_code))
                .collect()
        })
    }

    #[test]
    fn absent_properties_change_nothing() {
        assert_eq!(parsed(json!({})), Ok(CaseChange::default()));
        assert_eq!(
            parsed(json!({ "Uid": "other", "Subject": "ignored", "CaseTags": null })),
            Ok(CaseChange::default())
        );
    }

    #[test]
    fn each_property_is_read() {
        let change = parsed(json!({
            "Status": 2,
            "AssignedToPersonClientIdentifier": "person01",
            "CaseTags": [{ "Tag": { "Uid": "t1" } }, { "Uid": "ct1" }, {}],
        }))
        .expect("valid");
        assert_eq!(change.status, Some(STATUS_CLOSED));
        assert_eq!(change.assignee, Some(Some("person01".to_owned())));
        assert_eq!(
            change.tags,
            Some(vec![
                TagEntry {
                    case_tag_uid: None,
                    tag_uid: Some("t1".to_owned())
                },
                TagEntry {
                    case_tag_uid: Some("ct1".to_owned()),
                    tag_uid: None
                },
                TagEntry::default(),
            ])
        );
        for unassigned in [Value::Null, json!(""), json!("  ")] {
            let change = parsed(json!({ "AssignedToPersonClientIdentifier": unassigned }));
            assert_eq!(change.map(|c| c.assignee), Ok(Some(None)));
        }
    }

    #[test]
    fn every_problem_at_once() {
        assert_eq!(
            parsed(json!({
                "Status": 3,
                "AssignedToPersonClientIdentifier": 7,
                "CaseTags": { "Tag": { "Uid": "t1" } },
            })),
            Err(vec![
                (Some("Status"), "OutOfRange"),
                (Some("AssignedToPersonClientIdentifier"), "InvalidType"),
                (Some("CaseTags"), "InvalidType"),
            ])
        );
    }
}
