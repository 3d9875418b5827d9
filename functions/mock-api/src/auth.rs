//! Deciding whether a request is authorised, in whichever modes are configured.
//!
//! Bearer tokens are checked from their own contents (signature, expiry, issue time,
//! revocation cut-off), never against remembered state, so every Lambda instance
//! agrees on every token and a test can force a refresh just by moving the cut-off.
//! Secrets are compared in constant time, with both halves of a pair always compared.

use lambda_http::http::HeaderMap;
use lambda_http::http::header::{AUTHORIZATION, PROXY_AUTHORIZATION};
use mock_kit::{constant_time_eq, decode_basic, split_scheme};

use crate::config::{Config, Credentials};

/// Who got in, for the log line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authorised {
    pub scheme: &'static str,
    /// Short id of the bearer token, so a log shows when a client switched tokens.
    pub token_id: Option<String>,
}

/// Why a request was refused, as a stable label for the log line (never echoed to
/// the client, which only learns "Unauthorized").
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Denied {
    pub reason: &'static str,
}

/// Checks `Authorization` (and, in proxy mode, `Proxy-Authorization`); the request
/// passes if any supplied credential is valid. `revoke_before` is the effective
/// cut-off for bearer tokens (epoch seconds).
pub(crate) fn authenticate(
    config: &Config,
    headers: &HeaderMap,
    now_secs: u64,
    revoke_before: Option<u64>,
) -> Result<Authorised, Denied> {
    let mut values: Vec<_> = headers.get_all(AUTHORIZATION).iter().collect();
    if config.require_proxy_auth {
        values.extend(headers.get_all(PROXY_AUTHORIZATION).iter());
    }
    let mut first_denial = None;
    for value in values {
        let result = match value.to_str() {
            Ok(value) => check(config, value, now_secs, revoke_before),
            Err(_) => Err(Denied {
                reason: "malformed",
            }),
        };
        match result {
            Ok(authorised) => return Ok(authorised),
            Err(denied) => {
                first_denial.get_or_insert(denied);
            }
        }
    }
    Err(first_denial.unwrap_or(Denied { reason: "missing" }))
}

fn check(
    config: &Config,
    value: &str,
    now_secs: u64,
    revoke_before: Option<u64>,
) -> Result<Authorised, Denied> {
    let (scheme, credentials) = split_scheme(value);
    let deny = |reason| Err(Denied { reason });

    if scheme.eq_ignore_ascii_case("bearer") {
        let Some(key) = &config.signing_key else {
            return deny("bearer_not_enabled");
        };
        match mock_kit::verify(key, credentials, now_secs, revoke_before) {
            Ok(claims) => Ok(Authorised {
                scheme: "bearer",
                token_id: Some(claims.short_id().to_owned()),
            }),
            Err(err) => deny(err.label()),
        }
    } else if scheme.eq_ignore_ascii_case("outseta") {
        let Some(expected) = &config.outseta else {
            return deny("outseta_not_enabled");
        };
        let Some((key, secret)) = credentials.split_once(':') else {
            return deny("malformed");
        };
        pair_matches(expected, key, secret, "outseta")
    } else if scheme.eq_ignore_ascii_case("basic") {
        let Some(expected) = &config.basic else {
            return deny("basic_not_enabled");
        };
        let Some((user, password)) = decode_basic(credentials) else {
            return deny("malformed");
        };
        pair_matches(expected, &user, &password, "basic")
    } else {
        deny("unsupported_scheme")
    }
}

fn pair_matches(
    expected: &Credentials,
    user: &str,
    secret: &str,
    scheme: &'static str,
) -> Result<Authorised, Denied> {
    let matches = constant_time_eq(user.as_bytes(), expected.user.as_bytes())
        & constant_time_eq(secret.as_bytes(), expected.secret.as_bytes());
    if matches {
        Ok(Authorised {
            scheme,
            token_id: None,
        })
    } else {
        Err(Denied {
            reason: "wrong_credentials",
        })
    }
}
