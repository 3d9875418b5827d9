//! Environment -> configuration, read once at cold start.
//!
//! Everything is checked before the first request so a mis-deployed function fails
//! loudly in its init log, naming the variable, instead of answering 500s later.

use mock_kit::{InvalidVar, Vars};

/// Default lifetime of an issued token: short enough that a test sees expiry and
/// refresh within minutes.
const DEFAULT_TOKEN_TTL_SECS: u64 = 300;

/// Settings of the token endpoint. No `Debug`: it holds the client secret and key.
pub struct Config {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) signing_key: Vec<u8>,
    pub(crate) token_ttl_secs: u64,
    pub(crate) allow_get: bool,
}

#[derive(thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing required environment variable(s): {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error(transparent)]
    Invalid(#[from] InvalidVar),
}

mock_kit::config_from_env!(Config, ConfigError);

impl Config {
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Self, ConfigError> {
        let mut missing = Vec::new();
        let mut required = |name: &'static str| {
            let value = vars.get(name);
            if value.is_none() {
                missing.push(name);
            }
            value.unwrap_or_default()
        };
        let client_id = required("CLIENT_ID");
        let client_secret = required("CLIENT_SECRET");
        let signing_key = required("SIGNING_KEY");
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }

        const TTL: &str = "TOKEN_TTL_SECONDS";
        const TTL_REASON: &str = "expected a positive whole number of seconds";
        let token_ttl_secs = match vars.number(TTL, TTL_REASON)? {
            None => DEFAULT_TOKEN_TTL_SECS,
            Some(0) => {
                return Err(InvalidVar {
                    name: TTL,
                    reason: TTL_REASON,
                }
                .into());
            }
            Some(secs) => secs,
        };

        Ok(Config {
            client_id,
            client_secret,
            signing_key: signing_key.into_bytes(),
            token_ttl_secs,
            allow_get: vars.flag("ALLOW_GET")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(mock_kit::testing::vars(vars))
    }

    const BASE: [(&str, &str); 3] = [
        ("CLIENT_ID", "id"),
        ("CLIENT_SECRET", "secret"),
        ("SIGNING_KEY", "key"),
    ];

    #[test]
    fn defaults_apply_when_only_required_vars_are_set() {
        let config = load(&BASE).expect("valid");
        assert_eq!(config.client_id, "id");
        assert_eq!(config.client_secret, "secret");
        assert_eq!(config.signing_key, b"key");
        assert_eq!(config.token_ttl_secs, 300);
        assert!(!config.allow_get);
    }

    #[test]
    fn every_missing_or_empty_required_var_is_named() {
        let err = load(&[("CLIENT_SECRET", "")]).err().expect("must fail");
        assert_eq!(
            err,
            ConfigError::Missing(vec!["CLIENT_ID", "CLIENT_SECRET", "SIGNING_KEY"])
        );
        assert_eq!(
            err.to_string(),
            "missing required environment variable(s): CLIENT_ID, CLIENT_SECRET, SIGNING_KEY"
        );
        assert_eq!(format!("{err:?}"), err.to_string());
    }

    #[test]
    fn ttl_and_allow_get_are_read() {
        let mut vars = BASE.to_vec();
        vars.push(("TOKEN_TTL_SECONDS", "60"));
        vars.push(("ALLOW_GET", "TRUE"));
        let config = load(&vars).expect("valid");
        assert_eq!(config.token_ttl_secs, 60);
        assert!(config.allow_get);
    }

    #[test]
    fn bad_ttl_and_allow_get_are_named() {
        for ttl in ["0", "-5", "five"] {
            let mut vars = BASE.to_vec();
            vars.push(("TOKEN_TTL_SECONDS", ttl));
            let err = load(&vars).err().expect("must fail");
            assert!(err.to_string().contains("TOKEN_TTL_SECONDS"), "{err}");
        }
        let mut vars = BASE.to_vec();
        vars.push(("ALLOW_GET", "sometimes"));
        let err = load(&vars).err().expect("must fail");
        assert!(err.to_string().contains("ALLOW_GET"), "{err}");
    }
}
