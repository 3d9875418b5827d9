//! The AWS SDK's clients on the process's one HTTP stack
//! (`ticket_bridge_http::transport`): every SDK client then shares its TLS
//! configuration, root store and connection pool instead of building a
//! second hyper/rustls stack with its own copy of the roots.

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
