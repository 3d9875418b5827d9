//! Environment -> configuration, read once at cold start.
//!
//! Each auth mode is switched on by its variables, so one deployment can stand in for
//! an OAuth-protected API, Outseta's key/secret header, or a Basic-auth endpoint. A
//! half-configured mode, or none at all, is refused at start-up with the variable
//! named: a mock that silently accepts nothing (or everything) would make a notifier
//! test pass or fail for the wrong reason.

use std::collections::HashMap;
use std::num::NonZeroU32;

use mock_kit::{InvalidVar, Vars};

use crate::tags::{MAX_TAG_NAME_CHARS, tag_uid};

/// A pair of expected credentials. No `Debug`: it holds a secret.
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) secret: String,
}

/// No `Debug`: it holds secrets.
pub struct Config {
    /// Key for `Authorization: Bearer` tokens issued by mock-auth.
    pub(crate) signing_key: Option<Vec<u8>>,
    /// `Authorization: Outseta KEY:SECRET`.
    pub(crate) outseta: Option<Credentials>,
    /// `Authorization: Basic base64(user:pass)`.
    pub(crate) basic: Option<Credentials>,
    /// Bearer tokens issued before this epoch second are refused.
    pub(crate) revoke_before: Option<u64>,
    /// Answer 407 instead of 401, and also read `Proxy-Authorization`.
    pub(crate) require_proxy_auth: bool,
    /// Names of the tags a case can carry (`MOCK_CASE_TAGS`), unique, in order.
    pub(crate) case_tags: Vec<String>,
    /// Requests per second each credential may make (`RATE_LIMIT_PER_SECOND`);
    /// `None`: no limit.
    pub(crate) rate_limit_per_second: Option<NonZeroU32>,
}

#[derive(thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "no authentication configured: set SIGNING_KEY, API_KEY and API_SECRET, or BASIC_USER and BASIC_PASSWORD"
    )]
    NoAuth,
    #[error("environment variable {missing} is required when {set} is set")]
    Incomplete {
        set: &'static str,
        missing: &'static str,
    },
    #[error(transparent)]
    Invalid(#[from] InvalidVar),
}

mock_kit::config_from_env!(Config, ConfigError);

impl Config {
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Self, ConfigError> {
        let pair =
            |user: &'static str, secret: &'static str| match (vars.get(user), vars.get(secret)) {
                (Some(user), Some(secret)) => Ok(Some(Credentials { user, secret })),
                (None, None) => Ok(None),
                (Some(_), None) => Err(ConfigError::Incomplete {
                    set: user,
                    missing: secret,
                }),
                (None, Some(_)) => Err(ConfigError::Incomplete {
                    set: secret,
                    missing: user,
                }),
            };

        let signing_key = vars.get("SIGNING_KEY").map(String::into_bytes);
        let outseta = pair("API_KEY", "API_SECRET")?;
        let basic = pair("BASIC_USER", "BASIC_PASSWORD")?;
        if signing_key.is_none() && outseta.is_none() && basic.is_none() {
            return Err(ConfigError::NoAuth);
        }

        Ok(Config {
            signing_key,
            outseta,
            basic,
            revoke_before: vars.number("REVOKE_TOKENS_BEFORE", "expected epoch seconds")?,
            require_proxy_auth: vars.flag("REQUIRE_PROXY_AUTH")?,
            case_tags: case_tags(vars.get("MOCK_CASE_TAGS").as_deref())?,
            rate_limit_per_second: rate_limit(vars)?,
        })
    }
}

/// `RATE_LIMIT_PER_SECOND`: a whole number from 1. Zero is refused rather than read
/// as "no limit" or "refuse everything": unset is how to turn the limit off.
fn rate_limit<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
) -> Result<Option<NonZeroU32>, InvalidVar> {
    const NAME: &str = "RATE_LIMIT_PER_SECOND";
    const REASON: &str = "expected a whole number of requests per second, at least 1";
    vars.number(NAME, REASON)?
        .map(|n| {
            u32::try_from(n)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or(InvalidVar {
                    name: NAME,
                    reason: REASON,
                })
        })
        .transpose()
}

/// `MOCK_CASE_TAGS`: comma-separated names, each trimmed. Empty items are skipped
/// and a repeated name counts once. A name longer than Outseta allows, or two names
/// whose derived Uids collide, is refused: a tag the mock could not serve as
/// Outseta would must not pass silently.
fn case_tags(raw: Option<&str>) -> Result<Vec<String>, InvalidVar> {
    const NAME: &str = "MOCK_CASE_TAGS";
    let mut names: Vec<String> = Vec::new();
    let mut uids = HashMap::new();
    for name in raw.unwrap_or_default().split(',').map(str::trim) {
        if name.is_empty() || names.iter().any(|known| known == name) {
            continue;
        }
        if name.chars().count() > MAX_TAG_NAME_CHARS {
            return Err(InvalidVar {
                name: NAME,
                reason: "a tag name is longer than 50 characters",
            });
        }
        if uids.insert(tag_uid(name), ()).is_some() {
            return Err(InvalidVar {
                name: NAME,
                reason: "two tag names derive the same Uid; rename one",
            });
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(mock_kit::testing::vars(vars))
    }

    #[test]
    fn signing_key_alone_enables_bearer_only() {
        let config = load(&[("SIGNING_KEY", "k")]).expect("valid");
        assert_eq!(config.signing_key.as_deref(), Some(&b"k"[..]));
        assert!(config.outseta.is_none());
        assert!(config.basic.is_none());
        assert_eq!(config.revoke_before, None);
        assert!(!config.require_proxy_auth);
        assert!(config.case_tags.is_empty());
        assert_eq!(config.rate_limit_per_second, None);
    }

    #[test]
    fn all_modes_and_options() {
        let config = load(&[
            ("API_KEY", "key"),
            ("API_SECRET", "secret"),
            ("BASIC_USER", "user"),
            ("BASIC_PASSWORD", "pass"),
            ("REVOKE_TOKENS_BEFORE", "1700000000"),
            ("REQUIRE_PROXY_AUTH", "true"),
            ("MOCK_CASE_TAGS", " muted, ,team-a,muted,Muted ,"),
            ("RATE_LIMIT_PER_SECOND", " 4 "),
        ])
        .expect("valid");
        assert!(config.signing_key.is_none());
        let outseta = config.outseta.expect("outseta on");
        assert_eq!(
            (outseta.user.as_str(), outseta.secret.as_str()),
            ("key", "secret")
        );
        let basic = config.basic.expect("basic on");
        assert_eq!(
            (basic.user.as_str(), basic.secret.as_str()),
            ("user", "pass")
        );
        assert_eq!(config.revoke_before, Some(1_700_000_000));
        assert!(config.require_proxy_auth);
        assert_eq!(config.case_tags, ["muted", "team-a", "Muted"]);
        assert_eq!(config.rate_limit_per_second.map(NonZeroU32::get), Some(4));
    }

    #[test]
    fn no_auth_at_all_is_refused() {
        let err = load(&[("SIGNING_KEY", ""), ("REQUIRE_PROXY_AUTH", "true")])
            .err()
            .expect("must fail");
        assert_eq!(err, ConfigError::NoAuth);
        assert!(err.to_string().contains("SIGNING_KEY"));
    }

    #[test]
    fn half_a_pair_names_the_missing_half() {
        let err = load(&[("SIGNING_KEY", "k"), ("API_KEY", "key")])
            .err()
            .expect("must fail");
        assert_eq!(
            err.to_string(),
            "environment variable API_SECRET is required when API_KEY is set"
        );
        let err = load(&[("SIGNING_KEY", "k"), ("BASIC_PASSWORD", "p")])
            .err()
            .expect("must fail");
        assert_eq!(
            err,
            ConfigError::Incomplete {
                set: "BASIC_PASSWORD",
                missing: "BASIC_USER"
            }
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (name, value) in [
            ("REVOKE_TOKENS_BEFORE", "yesterday"),
            ("REQUIRE_PROXY_AUTH", "maybe"),
            ("MOCK_CASE_TAGS", &"x".repeat(51)),
            ("RATE_LIMIT_PER_SECOND", "0"),
            ("RATE_LIMIT_PER_SECOND", "-1"),
            ("RATE_LIMIT_PER_SECOND", "4.5"),
            ("RATE_LIMIT_PER_SECOND", "4294967296"),
        ] {
            let err = load(&[("SIGNING_KEY", "k"), (name, value)])
                .err()
                .expect("must fail");
            assert!(err.to_string().contains(name), "{err}");
            assert_eq!(format!("{err:?}"), err.to_string());
        }
    }

    #[test]
    fn case_tags_whose_uids_collide_are_refused() {
        // Found by search: both names' SHA-256 start with 3b787b99.
        let err = load(&[("SIGNING_KEY", "k"), ("MOCK_CASE_TAGS", "t26821,t49091")])
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("MOCK_CASE_TAGS"), "{err}");
        assert!(err.to_string().contains("same Uid"), "{err}");
    }
}
