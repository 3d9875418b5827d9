//! HTTP plumbing shared by delivery and the OAuth token request: which
//! endpoints may be called, how they are named in messages (never with their
//! query, which may hold secrets), and the connection's extra parameters.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::connection::HttpParameters;
use crate::error::NotifierError;

/// Parses an endpoint and refuses cleartext HTTP except to this machine:
/// tickets and tokens must not cross a network unencrypted, but local
/// emulators and tests speak plain HTTP on loopback.
pub fn endpoint_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("plain http is only allowed to loopback hosts; use https".to_owned()),
        other => Err(format!("unsupported scheme `{other}`; use https")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Scheme, host and path: enough to identify an endpoint, never its query.
pub(crate) fn display_endpoint(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or("?"),
        url.path()
    )
}

/// Transport errors without the URL: it may carry secret query parameters.
pub(crate) fn transport_problem(e: &reqwest::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(endpoint_url("http://127.0.0.1:9000/x").is_ok());
        assert!(endpoint_url("http://localhost/x").is_ok());
        assert!(endpoint_url("http://[::1]:80/").is_ok());
        assert!(endpoint_url("http://10.0.0.1/").is_err());
        assert!(endpoint_url("ftp://localhost/").is_err());
    }
}
