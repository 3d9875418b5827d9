//! One HTTP stack per process: one rustls configuration with one root
//! store, one `reqwest::Client` (one connection pool), serving the ticket
//! API, the token endpoint and, through `ticket_bridge_aws::sdk_http_client`,
//! every AWS SDK client.
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

pub use ticket_bridge::desk::Roots;

/// The one rustls client configuration: ring (the workspace Cargo.toml says
/// why), TLS 1.2 and 1.3, the chosen root store, no client certificate.
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_build_without_reading_the_system() {
        let config = tls_config(Roots::Bundled).expect("bundled roots");
        assert!(config.alpn_protocols.is_empty());
        assert!(http_client(Roots::Bundled, Duration::from_secs(1)).is_ok());
    }
}
