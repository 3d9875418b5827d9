//! HTTP plumbing shared by the executor and the OAuth token request: which
//! endpoints may be called (`endpoint_url`, which `config` checks too), how they are named in messages (never with their
//! query, which may hold secrets), and the connection's extra parameters.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

pub use ticket_bridge::config::endpoint_url;
use ticket_bridge::error::NotifierError;

use crate::connection::HttpParameters;

/// Scheme, host and path: enough to identify an endpoint, never its query.
pub fn display_endpoint(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or("?"),
        url.path()
    )
}

/// Transport errors without the URL: it may carry secret query parameters.
pub fn transport_problem(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection broke while reading the response"
    } else if e.is_request() {
        "request failed (connection reset?)"
    } else {
        "HTTP error"
    };
    kind.to_owned()
}

pub(crate) fn pairs(params: &[crate::connection::Param]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|p| (p.key.as_str(), p.value.expose()))
        .collect()
}

pub(crate) fn headers(params: &HttpParameters) -> Result<HeaderMap, NotifierError> {
    let mut map = HeaderMap::new();
    for p in &params.headers {
        insert_header(&mut map, &p.key, p.value.expose())?;
    }
    Ok(map)
}

pub(crate) fn insert_header(
    map: &mut HeaderMap,
    name: &str,
    value: &str,
) -> Result<(), NotifierError> {
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        NotifierError::ConnectionSecret(format!(
            "header name `{name}` in the connection is not valid"
        ))
    })?;
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        NotifierError::ConnectionSecret(format!(
            "the value of header `{name}` in the connection is not valid"
        ))
    })?;
    v.set_sensitive(true);
    map.insert(n, v);
    Ok(())
}
