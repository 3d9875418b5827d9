//! The query strings of the case endpoints: the list's paging and filters, and the
//! `fields` that decide how deep a case shows.
//!
//! Each parameter the mock acts on is allowed once and must make sense, so a test
//! never reads an unfiltered list it believes filtered; parameters the mock has no
//! use for are ignored, as they change nothing it stores.
//!
//! `fields` follows Outseta's rule that objects below a case's first level (a
//! CaseTag's `Tag`) come back as null unless `fields` names a path to them, such as
//! `fields=*,CaseTags.Tag.*` or `fields=Uid,CaseTags.Tag.Uid`. The mock only deepens:
//! it never trims a case down to the fields named, so naming any `CaseTags.Tag` path
//! brings the whole tag, and everything else in `fields` is ignored.

use mock_kit::Params;

use crate::cases::Case;

/// Paging and filters of `GET /api/v1/support/cases`, as Outseta's list takes them.
/// No `limit` means every case: the mock holds at most [`MAX_STORED_CASES`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub limit: Option<usize>,
    pub offset: usize,
    pub person_uid: Option<String>,
    pub person_email: Option<String>,
    /// `q`, lowercased: a case matches when its Subject or Body contains it.
    pub search: Option<String>,
    /// `fields` names a CaseTag's `Tag`.
    pub expand_tags: bool,
}

impl ListQuery {
    /// Reads the query string. Other parameters (Outseta's `orderBy`, ...) are
    /// ignored, as they change nothing the mock stores; a bad one of these is an
    /// error naming it, and so is any repeated parameter, so a test never reads an
    /// unfiltered list it believes filtered.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, String> {
        let params =
            Params::parse(query.unwrap_or_default().as_bytes()).map_err(|err| err.to_string())?;
        let whole = |name: &str| params.whole(name);
        let text = |name: &str| -> Result<Option<String>, String> {
            match params.get(name).map(str::trim) {
                Some("") => Err(format!("{name} must not be empty")),
                other => Ok(other.map(str::to_owned)),
            }
        };
        let limit = whole("limit")?;
        if limit == Some(0) {
            return Err("limit must be at least 1".to_owned());
        }
        Ok(ListQuery {
            limit,
            offset: whole("offset")?.unwrap_or(0),
            person_uid: text("FromPerson.Uid")?,
            person_email: text("FromPerson.Email")?,
            search: text("q")?.map(|q| q.to_lowercase()),
            expand_tags: expands_tags(&params),
        })
    }

    /// Email addresses match whatever their case, as mail systems treat them; Uids
    /// are exact. `q` is a substring of the Subject or the Body (its HTML as stored),
    /// in any letter case.
    pub(crate) fn selects(&self, case: &Case) -> bool {
        let uid_matches = self
            .person_uid
            .as_deref()
            .is_none_or(|uid| case.person_field("Uid") == Some(uid));
        let email_matches = self.person_email.as_deref().is_none_or(|email| {
            case.person_field("Email")
                .is_some_and(|stored| stored.trim().eq_ignore_ascii_case(email))
        });
        let text_matches = self.search.as_deref().is_none_or(|q| {
            case.subject.to_lowercase().contains(q) || case.body.to_lowercase().contains(q)
        });
        uid_matches && email_matches && text_matches
    }
}

/// The query of `GET` and `PUT /api/v1/support/cases/{Uid}`: only `fields` matters.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CaseQuery {
    pub expand_tags: bool,
}

impl CaseQuery {
    /// A repeated parameter is an error naming it, as on the list.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, String> {
        let params =
            Params::parse(query.unwrap_or_default().as_bytes()).map_err(|err| err.to_string())?;
        Ok(CaseQuery {
            expand_tags: expands_tags(&params),
        })
    }
}

/// Whether `fields` names a path through a CaseTag's `Tag`: `CaseTags.Tag` itself or
/// anything below it. Outseta's property names are matched in any letter case.
fn expands_tags(params: &Params) -> bool {
    const PATH: &str = "casetags.tag";
    params.get("fields").is_some_and(|fields| {
        fields.split(',').any(|field| {
            let field = field.trim().to_ascii_lowercase();
            field == PATH
                || field
                    .strip_prefix(PATH)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_reads_paging_and_filters() {
        let query = ListQuery::parse(Some(
            "limit=5&offset=2&FromPerson.Uid=p1&FromPerson.Email=a%40b.c&fields=*&q=+Fail+Ed+",
        ))
        .expect("valid");
        assert_eq!(
            query,
            ListQuery {
                limit: Some(5),
                offset: 2,
                person_uid: Some("p1".to_owned()),
                person_email: Some("a@b.c".to_owned()),
                search: Some("fail ed".to_owned()),
                expand_tags: false,
            }
        );
        assert_eq!(ListQuery::parse(None), Ok(ListQuery::default()));
        assert_eq!(ListQuery::parse(Some("")), Ok(ListQuery::default()));
    }

    #[test]
    fn only_a_path_through_case_tags_tag_expands_it() {
        let expands = |query: &str| CaseQuery::parse(Some(query)).map(|q| q.expand_tags);
        for query in [
            "fields=*,CaseTags.Tag.*",
            "fields=Uid,CaseTags.Uid,CaseTags.Tag.Uid,CaseTags.Tag.Name",
            "fields=casetags.tag",
            "fields=%2A%2CCaseTags.Tag.%2A",
            "fields=+CaseTags.Tag.Name+",
        ] {
            assert_eq!(expands(query), Ok(true), "{query}");
        }
        for query in [
            "",
            "fields=*",
            "fields=CaseTags.*",
            "fields=CaseTags",
            "fields=CaseTags.Tags.Uid",
            "Fields=CaseTags.Tag.*",
            "fields=",
        ] {
            assert_eq!(expands(query), Ok(false), "{query}");
        }
        assert_eq!(
            CaseQuery::parse(Some("fields=*&fields=CaseTags.Tag.*")),
            Err("parameter fields is given more than once".to_owned())
        );
    }
}
