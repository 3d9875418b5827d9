//! What the storm's desk holds, read back: every failure must be named on
//! its incident's case (the case itself or a reply) or, beyond what a reply
//! lists, counted by one ("And N more, only counted").

use std::time::Duration;

use serde_json::Value;

use crate::services::Services;

/// The execution name of failure `i` of storm `n`: all the same length, so
/// one name is never a part of another.
pub fn execution_name(n: usize, i: usize) -> String {
    format!("s{n:02}-{i:06}")
}

/// How the desk proxy counts a request: by what it does to the desk.
pub fn request_kind(method: &hyper::Method, path: &str, _: &hyper::HeaderMap) -> String {
    let api = path.split_once("/api/v1/").map_or("", |(_, rest)| rest);
    let kind = match (
        method.as_str(),
        api.split('/').collect::<Vec<_>>().as_slice(),
    ) {
        ("POST", ["support", "cases"]) => "case",
        ("GET", ["support", "cases"]) => "case search",
        ("POST", ["support", "cases", _, "replies"]) => "reply",
        ("GET", ["support", "cases", _]) => "case read",
        ("PUT", ["support", "cases", _]) => "case update",
        ("GET", ["attribute", "tags"]) => "tags list",
        _ => "other",
    };
    kind.to_owned()
}

/// What the desk holds for one storm.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub cases: usize,
    pub replies: usize,
    pub named: u64,
    pub counted: u64,
    pub missing: u64,
}

/// Reads the storm's cases (those of `machine`) straight from mock-api, not
/// through the proxy (this is not the notifier's traffic), waiting out the
/// rate limit like any client.
pub async fn read_back(
    s: &Services,
    desk_url: &str,
    machine: &str,
    names: &[String],
) -> Result<Found, String> {
    let url = format!("{desk_url}/lambda-url/mock-api/api/v1/support/cases");
    let token = s.direct_token().await?;
    for _ in 0..30 {
        let r = s
            .http
            .get(&url)
            .query(&[("q", machine)])
            .bearer_auth(&token)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|e| format!("reading the storm's cases: {e}"))?;
        if r.status().as_u16() == 429 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            continue;
        }
        let status = r.status();
        let body = r
            .text()
            .await
            .map_err(|e| format!("reading the storm's cases: {e}"))?;
        if !status.is_success() {
            return Err(format!("reading the storm's cases: HTTP {status}: {body}"));
        }
        let cases: Value =
            serde_json::from_str(&body).map_err(|e| format!("the storm's cases: {e}"))?;
        return Ok(tally(&cases, machine, names));
    }
    Err("reading the storm's cases: rate limited for 30 s".to_owned())
}

/// Which of `names` the cases of `machine` name, and how many occurrences
/// their replies only count.
fn tally(cases: &Value, machine: &str, names: &[String]) -> Found {
    let subject_mark = format!(" {machine}: ");
    let mut texts = Vec::new();
    let mut found = Found::default();
    for case in cases.as_array().into_iter().flatten() {
        let subject = case.get("Subject").and_then(Value::as_str).unwrap_or("");
        if !subject.contains(&subject_mark) {
            continue;
        }
        found.cases += 1;
        texts.push(
            case.get("Body")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        );
        for h in case
            .get("CaseHistories")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.replies += 1;
            texts.push(
                h.get("Comment")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    found.counted = texts.iter().map(|t| only_counted(t)).sum();
    found.named = names
        .iter()
        .filter(|n| texts.iter().any(|t| t.contains(n.as_str())))
        .count() as u64;
    found.missing = (names.len() as u64).saturating_sub(found.named + found.counted);
    found
}

/// The N of every "And N more, only counted" in a reply.
fn only_counted(text: &str) -> u64 {
    const TAIL: &str = " more, only counted";
    let mut total = 0;
    let mut rest = text;
    while let Some(at) = rest.find(TAIL) {
        let head = &rest[..at];
        if let Some(digits) = head.rsplit("And ").next() {
            total += digits.trim().parse::<u64>().unwrap_or(0);
        }
        rest = &rest[at + TAIL.len()..];
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_fixed_width() {
        assert_eq!(execution_name(3, 42), "s03-000042");
        assert_eq!(
            execution_name(3, 42).len(),
            execution_name(12, 999_999).len()
        );
    }

    #[test]
    fn desk_requests_are_counted_by_kind() {
        use hyper::Method;
        let h = hyper::HeaderMap::new();
        let p = "/lambda-url/mock-api/api/v1/support/cases";
        assert_eq!(request_kind(&Method::POST, p, &h), "case");
        assert_eq!(
            request_kind(&Method::POST, &format!("{p}/abc/replies"), &h),
            "reply"
        );
        assert_eq!(
            request_kind(&Method::GET, &format!("{p}/abc"), &h),
            "case read"
        );
        assert_eq!(
            request_kind(&Method::PUT, &format!("{p}/abc"), &h),
            "case update"
        );
        assert_eq!(request_kind(&Method::GET, p, &h), "case search");
        assert_eq!(
            request_kind(
                &Method::GET,
                "/lambda-url/mock-api/api/v1/attribute/tags",
                &h
            ),
            "tags list"
        );
        assert_eq!(request_kind(&Method::DELETE, p, &h), "other");
    }

    #[test]
    fn every_failure_is_named_or_counted_or_missing() {
        let names: Vec<String> = (0..6).map(|i| execution_name(1, i)).collect();
        let cases = json!([
            {"Subject": "[Step Functions] storm-01-6x1: PaymentDeclined in Step000",
             "Body": format!("<td>{}</td>", names[0]),
             "CaseHistories": [
                {"Comment": format!("<li>Occurrence 2: <a>{}</a></li><p>And 1 more: <a>{}</a> (occurrence 3).</p>", names[1], names[2])},
                {"Comment": "<p>And 2 more, only counted: more than 200 occurred between two updates.</p>"}
             ]},
            // Another storm's case names failure 5 of this one's: not counted.
            {"Subject": "[Step Functions] storm-02-6x1: PaymentDeclined in Step000",
             "Body": names[5].clone(), "CaseHistories": []}
        ]);
        let found = tally(&cases, "storm-01-6x1", &names);
        assert_eq!(
            found,
            Found {
                cases: 1,
                replies: 2,
                named: 3,
                counted: 2,
                missing: 1
            }
        );
        assert_eq!(
            only_counted("x And 12 more, only counted. y And 3 more, only counted"),
            15
        );
        assert_eq!(only_counted("nothing here"), 0);
    }
}
