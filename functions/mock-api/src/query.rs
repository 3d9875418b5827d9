//! The query strings of the case endpoints: the list's paging and filters.
//!
//! Each parameter the mock acts on is allowed once and must make sense, so a test
//! never reads an unfiltered list it believes filtered; parameters the mock has no
//! use for are ignored, as they change nothing it stores.

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
}

impl ListQuery {
    /// Reads the query string. Other parameters (Outseta's `fields`, `orderBy`, ...)
    /// are ignored, as they change nothing the mock stores; a bad or repeated one of
    /// these four is an error naming it, so a test never reads an unfiltered list it
    /// believes filtered.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, String> {
        let params =
            Params::parse(query.unwrap_or_default().as_bytes()).map_err(|err| err.to_string())?;
        let whole = |name: &str| -> Result<Option<usize>, String> {
            params
                .get(name)
                .map(|raw| {
                    raw.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("{name} must be a whole number"))
                })
                .transpose()
        };
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
        })
    }

    /// Email addresses match whatever their case, as mail systems treat them; Uids
    /// are exact.
    pub(crate) fn selects(&self, case: &Case) -> bool {
        let uid_matches = self
            .person_uid
            .as_deref()
            .is_none_or(|uid| case.person_field("Uid") == Some(uid));
        let email_matches = self.person_email.as_deref().is_none_or(|email| {
            case.person_field("Email")
                .is_some_and(|stored| stored.trim().eq_ignore_ascii_case(email))
        });
        uid_matches && email_matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_reads_paging_and_filters() {
        let query = ListQuery::parse(Some(
            "limit=5&offset=2&FromPerson.Uid=p1&FromPerson.Email=a%40b.c&fields=*",
        ))
        .expect("valid");
        assert_eq!(
            query,
            ListQuery {
                limit: Some(5),
                offset: 2,
                person_uid: Some("p1".to_owned()),
                person_email: Some("a@b.c".to_owned()),
            }
        );
        assert_eq!(ListQuery::parse(None), Ok(ListQuery::default()));
        assert_eq!(ListQuery::parse(Some("")), Ok(ListQuery::default()));
    }
}
