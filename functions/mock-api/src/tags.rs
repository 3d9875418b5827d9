//! The tags a case can carry: `GET /api/v1/attribute/tags?entityType=Case`.
//!
//! Outseta keeps its tags per entity type, each with a `Uid` its API uses to put a
//! tag on a case. The mock's tags come from `MOCK_CASE_TAGS` (names, read once at
//! cold start) and each tag's `Uid` is derived from its name: the first 8 hex digits
//! of SHA-256 of the name's UTF-8 bytes. So every instance, every cold start and
//! every test computes the same Uid for the same name with no shared state
//! (`hashlib.sha256(name.encode()).hexdigest()[:8]` in Python).

use mock_kit::Params;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Outseta's `EntityType` of a case (`0` None ... `12` Broadcast).
pub(crate) const ENTITY_TYPE_CASE: u8 = 4;

/// Outseta's `EntityType` names, by number (outseta-js `EntityType`).
const ENTITY_TYPES: [&str; 13] = [
    "None",
    "Account",
    "Person",
    "Deal",
    "Case",
    "Invoice",
    "EmailLog",
    "Plan",
    "DiscountCoupon",
    "AddOn",
    "Task",
    "Segment",
    "Broadcast",
];

/// `TagColor` of every mock tag: 10 is Gray in Outseta's palette.
pub(crate) const TAG_COLOR_GRAY: u8 = 10;

/// Outseta's limit on a tag's `Name`.
pub(crate) const MAX_TAG_NAME_CHARS: usize = 50;

/// Page size when `limit` is absent, and the most a page holds: Outseta's.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;

/// A tag, in Outseta's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    pub uid: String,
    pub name: String,
    /// Set by Outseta for its built-in tags only; always null here.
    pub system_name: Option<String>,
    pub system_description: Option<String>,
    pub tag_color: u8,
    pub entity_type: u8,
    pub created: String,
    pub updated: String,
}

/// The Uid of the tag named `name`: 8 hex digits of its SHA-256.
pub(crate) fn tag_uid(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The case tags this instance offers, in the order `MOCK_CASE_TAGS` names them.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    tags: Vec<Tag>,
}

impl Catalog {
    /// Tags for `names` (already checked by the configuration: unique, not blank,
    /// at most [`MAX_TAG_NAME_CHARS`]), created at `created` (RFC 3339).
    pub(crate) fn new(names: &[String], created: &str) -> Self {
        let tags = names
            .iter()
            .map(|name| Tag {
                uid: tag_uid(name),
                name: name.clone(),
                system_name: None,
                system_description: None,
                tag_color: TAG_COLOR_GRAY,
                entity_type: ENTITY_TYPE_CASE,
                created: created.to_owned(),
                updated: created.to_owned(),
            })
            .collect();
        Catalog { tags }
    }

    pub(crate) fn get(&self, uid: &str) -> Option<&Tag> {
        self.tags.iter().find(|tag| tag.uid == uid)
    }

    /// One page of the tags `query` asks for, in Outseta's list envelope.
    pub(crate) fn page(&self, query: &TagsQuery) -> Value {
        let matching: &[Tag] = if query.cases { &self.tags } else { &[] };
        let items: Vec<&Tag> = matching
            .iter()
            .skip(query.page.saturating_mul(query.limit))
            .take(query.limit)
            .collect();
        json!({
            "metadata": { "limit": query.limit, "offset": query.page, "total": matching.len() },
            "items": items,
        })
    }
}

/// A tag on a case: Outseta's CaseTag, with a Uid of its own (a client keeps the tag
/// in a `PUT` by sending this Uid back) and the tag it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseTag {
    pub uid: String,
    pub tag: Tag,
    pub created: String,
    pub updated: String,
}

impl CaseTag {
    /// As Outseta shows it inside a case. `Tag` (and `Case`) are objects below the
    /// case's first level: null unless `expand_tag`.
    pub(crate) fn view(&self, expand_tag: bool) -> Value {
        let tag = if expand_tag {
            json!(self.tag)
        } else {
            Value::Null
        };
        json!({
            "Uid": self.uid,
            "Case": null,
            "Tag": tag,
            "Created": self.created,
            "Updated": self.updated,
        })
    }
}

/// `GET /api/v1/attribute/tags` parameters, as Outseta takes them: `entityType` by
/// name or number, `limit` (default 25, at most 100) and `offset`, a zero-based
/// **page number** (not a record count, unlike the mock's case list).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TagsQuery {
    /// Whether the entity type asked for is Case (or none was named). Any other
    /// entity type is known to Outseta but has no tags in the mock.
    cases: bool,
    limit: usize,
    page: usize,
}

impl TagsQuery {
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, String> {
        let params =
            Params::parse(query.unwrap_or_default().as_bytes()).map_err(|err| err.to_string())?;
        let whole = |name: &str| params.whole(name);
        let cases = match params.get("entityType").map(str::trim) {
            None => true,
            Some("") => return Err("entityType must not be empty".to_owned()),
            Some(raw) => {
                entity_type(raw).ok_or_else(|| {
                    "entityType must be an Outseta entity type, by name or number (Case or 4)"
                        .to_owned()
                })? == ENTITY_TYPE_CASE
            }
        };
        let limit = match whole("limit")? {
            Some(0) => return Err("limit must be at least 1".to_owned()),
            Some(limit) => limit.min(MAX_LIMIT),
            None => DEFAULT_LIMIT,
        };
        Ok(TagsQuery {
            cases,
            limit,
            page: whole("offset")?.unwrap_or(0),
        })
    }
}

/// The number of an entity type given by name (any letter case) or number.
fn entity_type(raw: &str) -> Option<u8> {
    match raw.parse::<u8>() {
        Ok(number) => usize::from(number)
            .lt(&ENTITY_TYPES.len())
            .then_some(number),
        Err(_) => ENTITY_TYPES
            .iter()
            .position(|name| name.eq_ignore_ascii_case(raw))
            .and_then(|index| u8::try_from(index).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_the_first_8_hex_digits_of_sha256() {
        // printf muted | sha256sum
        assert_eq!(tag_uid("muted"), "8fdb32dd");
        assert_eq!(tag_uid("muted").len(), 8);
        assert_ne!(tag_uid("muted"), tag_uid("Muted"));
    }

    #[test]
    fn entity_types_by_name_or_number() {
        assert_eq!(entity_type("Case"), Some(4));
        assert_eq!(entity_type("case"), Some(4));
        assert_eq!(entity_type("4"), Some(4));
        assert_eq!(entity_type("Account"), Some(1));
        assert_eq!(entity_type("12"), Some(12));
        assert_eq!(entity_type("13"), None);
        assert_eq!(entity_type("Ticket"), None);
        assert_eq!(entity_type("-4"), None);
    }
}
