//! One HTTP stack per process: one rustls configuration with one root
//! store, one `reqwest::Client` (one connection pool), serving the ticket
//! API, the token endpoint and, through [`sdk_http_client`], every AWS SDK
//! client.
//!
//! Why: each HTTP client used to build its own TLS configuration from the
//! system certificate store at start-up (reqwest's platform verifier at
//! `build()`, the SDK's connector at its first request), reading and parsing
//! the ~290 files of a Debian `/etc/ssl/certs` twice: 93 % of the notifier's
//! init instructions. The default root store is now Mozilla's, compiled in
//! (`webpki-roots`: trust anchors as static data, nothing to read or parse).
//! `TLS_ROOTS=system` (parsed by `config`) loads the system store instead,
//! once, for private CAs or a corporate proxy (`SSL_CERT_FILE` and
//! `SSL_CERT_DIR` are honoured then).

use std::sync::Arc;
use std::time::Duration;

/// What `aws_config::ConfigLoader::http_client` takes.
pub use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// Which certificate authorities the process trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Roots {
    /// Mozilla's root program, compiled into the binary (`webpki-roots`).
    #[default]
    Bundled,
    /// The operating system's store (and `SSL_CERT_FILE` / `SSL_CERT_DIR`),
    /// read once at cold start.
    System,
}

impl Roots {
    pub fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "bundled" | "webpki" | "mozilla" => Some(Roots::Bundled),
            "system" | "native" => Some(Roots::System),
            _ => None,
        }
    }
}

/// The one rustls client configuration: aws-lc-rs, TLS 1.2 and 1.3, the
/// chosen root store, no client certificate.
pub fn tls_config(roots: Roots) -> Result<rustls::ClientConfig, String> {
    let store = match roots {
        Roots::Bundled => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        Roots::System => {
            let loaded = rustls_native_certs::load_native_certs();
            let mut store = rustls::RootCertStore::empty();
            store.add_parsable_certificates(loaded.certs);
            if store.is_empty() {
                return Err(
                    "is system, but no certificate could be loaded from the system \
                     store (SSL_CERT_FILE, SSL_CERT_DIR or the OS default)"
                        .to_owned(),
                );
            }
            store
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth())
}

/// The process's HTTP client over [`tls_config`]. Redirects are not
/// followed (a redirected POST silently becomes a GET; the SDK does not
/// follow them either).
pub fn http_client(roots: Roots, connect_timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(roots)?)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "step-functions-ticket-bridge/",
            env!("CARGO_PKG_VERSION")
        ))
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|_| "could not build the HTTP client".to_owned())
}

/// The AWS SDK's HTTP client on top of `http`: every SDK client then shares
/// the process's TLS configuration, root store and connection pool instead
/// of building a second hyper/rustls stack with its own copy of the roots.
pub fn sdk_http_client(http: reqwest::Client) -> SharedHttpClient {
    SharedHttpClient::new(SdkHttp { http })
}

#[derive(Debug, Clone)]
struct SdkHttp {
    http: reqwest::Client,
}

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(SdkConnector {
            http: self.http.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug, Clone)]
struct SdkConnector {
    http: reqwest::Client,
    /// The SDK's read timeout; applied to the whole exchange.
    read_timeout: Option<Duration>,
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            // The SDK operations used here (Secrets Manager, Step Functions,
            // DynamoDB, SNS) all send in-memory JSON or query bodies.
            let body = body.bytes().map(<[u8]>::to_vec).ok_or_else(|| {
                ConnectorError::user("streaming request bodies are not supported".into())
            })?;
            let url = parts.uri.to_string();
            let mut builder = http
                .request(parts.method, url)
                .headers(parts.headers)
                .body(body);
            if let Some(t) = read_timeout {
                builder = builder.timeout(t);
            }
            let response = builder.send().await.map_err(connector_error)?;
            // Streamed, as the SDK's own client hands it over: the SDK
            // trace-logs the response it receives, and an in-memory body
            // would print there whole, a secret value included (the canary
            // tests catch it).
            let response =
                http::Response::<reqwest::Body>::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Kinds the SDK's retry classifier understands: timeouts and I/O are
/// transient and retried, a request the client could not build is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() {
        ConnectorError::io(e.into()).never_connected()
    } else if e.is_builder() {
        ConnectorError::user(e.into())
    } else {
        ConnectorError::io(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_names() {
        assert_eq!(Roots::parse("system"), Some(Roots::System));
        assert_eq!(Roots::parse("SYSTEM"), Some(Roots::System));
        assert_eq!(Roots::parse("bundled"), Some(Roots::Bundled));
        assert_eq!(Roots::parse("both"), None);
    }

    #[test]
    fn bundled_roots_build_without_reading_the_system() {
        let config = tls_config(Roots::Bundled).expect("bundled roots");
        assert!(config.alpn_protocols.is_empty());
        assert!(http_client(Roots::Bundled, Duration::from_secs(1)).is_ok());
    }
}
