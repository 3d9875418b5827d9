//! The OAuth client-credentials grant as EventBridge performs it, and the
//! per-container token cache that lets most invocations skip it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::connection::{HttpParameters, OAuthClient, Secret, TokenMethod};
use crate::endpoint::{display_endpoint, endpoint_url, headers, pairs, transport_problem};
use ticket_bridge::error::NotifierError;

/// The longest a token is cached, whatever `expires_in` says.
const MAX_LIFETIME: Duration = Duration::from_secs(86_400);

/// The OAuth access token of a warm container, reused until shortly before
/// it expires so most invocations make no token call at all.
#[derive(Default)]
pub(crate) struct TokenCache {
    entry: Mutex<Option<CachedToken>>,
    fetches: AtomicU64,
}

/// Keyed by everything that obtained it: a connection whose endpoint or
/// client credentials changed must not keep using the old client's token.
struct CachedToken {
    endpoint: String,
    client_id: String,
    client_secret: Secret,
    token: Secret,
    refresh_at: Instant,
}

impl TokenCache {
    pub(crate) fn invalidate(&self) {
        if let Ok(mut e) = self.entry.lock() {
            *e = None;
        }
    }

    pub(crate) async fn bearer(
        &self,
        http: &reqwest::Client,
        client: &OAuthClient,
        timeout: Duration,
    ) -> Result<(Secret, bool), NotifierError> {
        if let Ok(guard) = self.entry.lock()
            && let Some(c) = guard.as_ref()
        {
            let same = c.endpoint == client.authorization_endpoint
                && c.client_id == client.client_id
                && c.client_secret == client.client_secret;
            if same && Instant::now() < c.refresh_at {
                return Ok((c.token.clone(), false));
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (token, lifetime) = fetch_token(http, client, timeout).await?;
        // A server may answer any number: a lifetime beyond a day is taken
        // as a day (a container lives less), so the arithmetic below cannot
        // overflow and no panic can poison this cache's lock.
        let lifetime = lifetime.min(MAX_LIFETIME);
        // Refresh a little early: a token that expires in flight costs a 401.
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let now = Instant::now();
        let refresh_at = now
            .checked_add(lifetime.saturating_sub(margin))
            .unwrap_or(now);
        if let Ok(mut guard) = self.entry.lock() {
            *guard = Some(CachedToken {
                endpoint: client.authorization_endpoint.clone(),
                client_id: client.client_id.clone(),
                client_secret: client.client_secret.clone(),
                token: token.clone(),
                refresh_at,
            });
        }
        Ok((token, true))
    }

    /// Access tokens fetched since cold start (benchmarks count them).
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

/// The client-credentials grant as EventBridge performs it: client id and
/// secret as HTTP Basic, `grant_type=client_credentials`, plus the
/// connection's `oauth_http_parameters`. RFC 6749 §3.2 forbids repeating a
/// parameter, and strict servers refuse it, so each is sent once and the
/// connection's own value (its `grant_type` too) wins.
async fn fetch_token(
    http: &reqwest::Client,
    client: &OAuthClient,
    timeout: Duration,
) -> Result<(Secret, Duration), NotifierError> {
    let url = endpoint_url(&client.authorization_endpoint).map_err(|e| {
        NotifierError::ConnectionSecret(format!(
            "the connection's authorization_endpoint is unusable: {e}"
        ))
    })?;
    let shown = display_endpoint(&url);
    let fail = |what: String| NotifierError::Auth(format!("token endpoint {shown} {what}"));
    let extra = &client.oauth_http_parameters;
    let method = match client.http_method {
        TokenMethod::Get => Method::GET,
        TokenMethod::Post => Method::POST,
        TokenMethod::Put => Method::PUT,
    };
    let (query, form) = token_parameters(extra, method == Method::GET);
    let mut req = http
        .request(method, url)
        .timeout(timeout)
        .headers(headers(extra)?)
        .basic_auth(&client.client_id, Some(client.client_secret.expose()))
        .query(&query);
    if !form.is_empty() {
        req = req.form(&form);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| fail(format!("unreachable: {}", transport_problem(&e))))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| fail(format!("response unreadable: {}", transport_problem(&e))))?;
    let json: Option<Value> = serde_json::from_str(&body).ok();
    if !status.is_success() {
        let oauth_error = json
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str);
        let what = match (status.as_u16(), oauth_error) {
            (400 | 401, Some("invalid_client")) | (401, _) => "rejected the client credentials",
            (400, _) => "refused the token request",
            (500..=599, _) => "failed",
            _ => "refused the token request",
        };
        let code = oauth_error
            .map(|e| format!(": {}", ticket_bridge::text::clip(e, 100)))
            .unwrap_or_default();
        return Err(fail(format!("{what} (HTTP {}{code})", status.as_u16())));
    }
    let json = json.ok_or_else(|| {
        fail(format!(
            "answered HTTP {} with a body that is not JSON",
            status.as_u16()
        ))
    })?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("answered without an access_token".to_owned()))?;
    let expires_in = match json.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    // No expiry given: assume a short life rather than caching forever.
    .unwrap_or(300);
    Ok((Secret::new(token), Duration::from_secs(expires_in)))
}

/// Name-value pairs of a query or form.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// The token request's query and form: the connection's parameters, each key
/// once (the first wins), and `grant_type=client_credentials` only when the
/// connection does not set it. A GET carries everything in its query.
fn token_parameters(extra: &HttpParameters, get: bool) -> (Pairs<'_>, Pairs<'_>) {
    let mut seen = std::collections::HashSet::new();
    let mut query = pairs(&extra.query);
    query.retain(|(k, _)| seen.insert(*k));
    let mut form = pairs(&extra.body);
    form.retain(|(k, _)| seen.insert(*k));
    if !seen.contains("grant_type") {
        form.push(("grant_type", "client_credentials"));
    }
    if get {
        query.append(&mut form);
    }
    (query, form)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Param;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A token endpoint answering every grant with `expires_in`.
    async fn token_server(expires_in: Value) -> (MockServer, OAuthClient) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "tok", "token_type": "Bearer", "expires_in": expires_in}),
            ))
            .mount(&server)
            .await;
        let client = OAuthClient {
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
            authorization_endpoint: format!("{}/token", server.uri()),
            http_method: TokenMethod::Post,
            oauth_http_parameters: HttpParameters::default(),
        };
        (server, client)
    }

    /// Lifetimes at both ends of u64: the largest is cached (for a day, not
    /// an overflow and a poisoned lock), zero is used once and fetched again.
    #[tokio::test]
    async fn any_token_lifetime_is_cached_without_panicking() {
        let timeout = Duration::from_secs(5);
        let http = crate::transport::http_client(crate::transport::Roots::Bundled, timeout)
            .expect("the HTTP client");
        for (expires_in, fetches) in [
            (serde_json::json!(u64::MAX), 1),
            (serde_json::json!(u64::MAX.to_string()), 1),
            (serde_json::json!(86_400 * 365), 1),
            (serde_json::json!(0), 2),
        ] {
            let (_server, client) = token_server(expires_in.clone()).await;
            let cache = TokenCache::default();
            for _ in 0..2 {
                let (token, _) = cache
                    .bearer(&http, &client, timeout)
                    .await
                    .expect("a token");
                assert_eq!(token.expose(), "tok");
            }
            assert_eq!(cache.fetches(), fetches, "expires_in {expires_in}");
        }
    }

    fn param(key: &str, value: &str) -> Param {
        Param {
            key: key.into(),
            value: Secret::new(value),
            is_value_secret: false,
        }
    }

    #[test]
    fn each_token_parameter_is_sent_once_and_the_connection_wins() {
        let none = HttpParameters::default();
        let own = HttpParameters {
            body: vec![
                param("grant_type", "client_credentials"),
                param("scope", "a"),
            ],
            ..Default::default()
        };
        let repeated = HttpParameters {
            query: vec![param("audience", "q")],
            body: vec![
                param("scope", "a"),
                param("scope", "b"),
                param("audience", "b"),
            ],
            ..Default::default()
        };
        let custom = HttpParameters {
            query: vec![param("grant_type", "urn:custom")],
            ..Default::default()
        };
        let cases: [(&HttpParameters, bool, Pairs<'static>, Pairs<'static>); 6] = [
            (
                &none,
                false,
                vec![],
                vec![("grant_type", "client_credentials")],
            ),
            (
                &none,
                true,
                vec![("grant_type", "client_credentials")],
                vec![],
            ),
            (
                &own,
                false,
                vec![],
                vec![("grant_type", "client_credentials"), ("scope", "a")],
            ),
            (
                &repeated,
                false,
                vec![("audience", "q")],
                vec![("scope", "a"), ("grant_type", "client_credentials")],
            ),
            (&custom, false, vec![("grant_type", "urn:custom")], vec![]),
            (&custom, true, vec![("grant_type", "urn:custom")], vec![]),
        ];
        for (params, get, query, form) in cases {
            let (q, f) = token_parameters(params, get);
            assert_eq!(
                (q, f),
                (query.clone(), if get { vec![] } else { form.clone() }),
                "{params:?} get={get}"
            );
        }
    }
}
