//! Routing a new case as the machine's tags say: its tags by name (Outseta
//! takes them by Uid, listed by `GET /api/v1/attribute/tags?entityType=Case`,
//! kept per container) and its assignee, set with one `PUT` after the case
//! exists (Outseta's create takes neither). What Outseta does not know or
//! refuses is left out and said: an unknown tag name in the Body before it
//! is filed, a refused assignee in a reply after.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use ticket_bridge::desk::Attempts;
use ticket_bridge::error::NotifierError;
use ticket_bridge::text::escape_html;
use ticket_bridge_http::{Answer, Call, Executor};
use url::Url;

/// How long the desk's list of case tags is kept.
const TAGS_TTL: Duration = Duration::from_secs(300);

/// Case tags by name, read from Outseta and kept for [`TAGS_TTL`].
#[derive(Default)]
pub(crate) struct CaseTags {
    known: Mutex<Option<(Instant, HashMap<String, String>)>>,
}

impl CaseTags {
    /// The Uids of `names`, and the names Outseta does not know. A list
    /// that cannot be read leaves every name unknown, saying why.
    pub(crate) async fn resolve(
        &self,
        executor: &Executor,
        cases_url: &Url,
        names: &[String],
        end: Instant,
        stats: &mut Attempts,
    ) -> (Vec<String>, Vec<String>) {
        let known = match self.known(executor, cases_url, end, stats).await {
            Ok(known) => known,
            Err(why) => {
                let skipped = names
                    .iter()
                    .map(|n| format!("tag {n} not set: the desk's tags could not be read ({why})"))
                    .collect();
                return (Vec::new(), skipped);
            }
        };
        let mut uids = Vec::new();
        let mut skipped = Vec::new();
        for name in names {
            match known.get(&name.to_lowercase()) {
                Some(uid) => uids.push(uid.clone()),
                None => skipped.push(format!(
                    "tag {name} not set: the desk has no case tag of that name"
                )),
            }
        }
        (uids, skipped)
    }

    async fn known(
        &self,
        executor: &Executor,
        cases_url: &Url,
        end: Instant,
        stats: &mut Attempts,
    ) -> Result<HashMap<String, String>, String> {
        if let Ok(known) = self.known.lock()
            && let Some((at, tags)) = known.as_ref()
            && at.elapsed() < TAGS_TTL
        {
            return Ok(tags.clone());
        }
        let url = tags_url(cases_url);
        let call = Call {
            method: Method::GET,
            url,
            body: None,
            what: "tags read",
            gone_on_404: true,
        };
        let resp = match executor.call(&call, end, stats).await {
            Ok(Answer::Success(resp)) => resp,
            Ok(Answer::Gone) => return Err("HTTP 404".to_owned()),
            Err(e) => return Err(e.to_string()),
        };
        let body: Value = resp
            .json()
            .await
            .map_err(|_| "the answer is not JSON".to_owned())?;
        // Outseta pages lists as {"metadata", "items"}; a bare array too.
        let items = body
            .get("items")
            .and_then(Value::as_array)
            .or_else(|| body.as_array())
            .ok_or_else(|| "the answer lists no tags".to_owned())?;
        let tags: HashMap<String, String> = items
            .iter()
            .filter_map(|t| {
                let name = t.get("Name")?.as_str()?;
                let uid = t.get("Uid")?.as_str()?;
                Some((name.to_lowercase(), uid.to_owned()))
            })
            .collect();
        if let Ok(mut known) = self.known.lock() {
            *known = Some((Instant::now(), tags.clone()));
        }
        Ok(tags)
    }
}

/// The tags list beside the cases endpoint: `…/support/cases` becomes
/// `…/attribute/tags`, whatever prefix the API sits under (a gateway, a
/// Function URL).
fn tags_url(cases_url: &Url) -> Url {
    let mut url = cases_url.clone();
    let path = cases_url.path().trim_end_matches('/');
    let base = path.strip_suffix("/support/cases").unwrap_or("/api/v1");
    url.set_path(&format!("{base}/attribute/tags"));
    url.set_query(Some("entityType=Case&limit=100"));
    url
}

/// Appends what routing left out to a Body, as the core writes its notes.
pub(crate) fn with_skipped(body: &str, skipped: &[String]) -> String {
    let mut out = body.to_owned();
    for line in skipped {
        out.push_str("<p><em>Routing: ");
        out.push_str(&escape_html(line));
        out.push_str("</em></p>\n");
    }
    out
}

/// Whether an error is the desk refusing what was sent (not being down).
pub(crate) fn refused(e: &NotifierError) -> bool {
    matches!(e, NotifierError::TicketRejected(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tags_list_sits_beside_the_cases_endpoint() {
        for (cases, tags) in [
            (
                "https://acme.outseta.com/api/v1/support/cases",
                "https://acme.outseta.com/api/v1/attribute/tags?entityType=Case&limit=100",
            ),
            (
                "http://127.0.0.1:9000/lambda-url/mock-api/api/v1/support/cases/",
                "http://127.0.0.1:9000/lambda-url/mock-api/api/v1/attribute/tags?entityType=Case&limit=100",
            ),
        ] {
            let url = Url::parse(cases).expect("url");
            assert_eq!(tags_url(&url).as_str(), tags);
        }
    }
}
