//! Environment -> configuration, read once at cold start.
//!
//! Each auth mode is switched on by its variables, so one deployment can stand in for
//! an OAuth-protected API, Outseta's key/secret header, or a Basic-auth endpoint. A
//! half-configured mode, or none at all, is refused at start-up with the variable
//! named: a mock that silently accepts nothing (or everything) would make a notifier
//! test pass or fail for the wrong reason.

use mock_kit::{InvalidVar, Vars};

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
        })
    }
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
        ] {
            let err = load(&[("SIGNING_KEY", "k"), (name, value)])
                .err()
                .expect("must fail");
            assert!(err.to_string().contains(name), "{err}");
            assert_eq!(format!("{err:?}"), err.to_string());
        }
    }
}
