//! Reading the mocks' environment variables, once, at cold start.
//!
//! Both mocks refuse a bad configuration before the first request, naming the
//! variable, so a mis-deployed function fails loudly in its init log instead of
//! answering 500s later. The lookup is a function so tests need not touch the
//! process environment.

/// A variable whose value doesn't parse; each mock's `ConfigError` wraps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} is invalid: {reason}")]
pub struct InvalidVar {
    pub name: &'static str,
    pub reason: &'static str,
}

/// A variable source in which an empty value counts as unset: deployment templates
/// often pass `""` for "not configured".
pub struct Vars<F> {
    lookup: F,
}

impl Vars<fn(&str) -> Option<String>> {
    /// The process environment. A value that isn't UTF-8 is read lossily: it then
    /// fails the parse with the variable named, rather than looking unset.
    pub fn process() -> Self {
        Vars::new(|name| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned()))
    }
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    pub fn new(lookup: F) -> Self {
        Vars { lookup }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.is_empty())
    }

    /// A boolean (`true`/`false`, `1`/`0`, `yes`/`no`, any case); unset is `false`.
    pub fn flag(&self, name: &'static str) -> Result<bool, InvalidVar> {
        match self.get(name) {
            None => Ok(false),
            Some(raw) => parse_bool(&raw).ok_or(InvalidVar {
                name,
                reason: "expected true or false",
            }),
        }
    }

    /// A whole number, refused with `reason` when it doesn't parse.
    pub fn number(
        &self,
        name: &'static str,
        reason: &'static str,
    ) -> Result<Option<u64>, InvalidVar> {
        self.get(name)
            .map(|raw| {
                raw.trim()
                    .parse::<u64>()
                    .map_err(|_| InvalidVar { name, reason })
            })
            .transpose()
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Makes a configuration error's `Debug` print its `Display` sentence: `main` returns
/// the error and Rust prints a returned error with `Debug`, and the init log should
/// read "environment variable X is invalid", not the enum's structure.
#[macro_export]
macro_rules! debug_as_display {
    ($error:ty) => {
        impl ::std::fmt::Debug for $error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    };
}

/// The environment plumbing every mock's `Config` shares, over its own
/// `from_vars`: `from_env` at cold start, `from_lookup` for tests (so they
/// need not touch the process environment), and `Debug` as `Display` for
/// the init log.
#[macro_export]
macro_rules! config_from_env {
    ($config:ty, $error:ident) => {
        impl $config {
            pub fn from_env() -> Result<Self, $error> {
                Self::from_vars(&$crate::Vars::process())
            }

            /// Builds the configuration from any variable source. Empty
            /// values count as unset.
            pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, $error> {
                Self::from_vars(&$crate::Vars::new(lookup))
            }
        }

        $crate::debug_as_display!($error);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(
        pairs: &'static [(&'static str, &'static str)],
    ) -> Vars<impl Fn(&str) -> Option<String>> {
        Vars::new(move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn empty_counts_as_unset() {
        let vars = vars(&[("A", ""), ("B", "b")]);
        assert_eq!(vars.get("A"), None);
        assert_eq!(vars.get("B").as_deref(), Some("b"));
        assert_eq!(vars.get("C"), None);
    }

    #[test]
    fn flags_read_common_spellings_and_name_a_bad_one() {
        let vars = vars(&[("T", " TRUE "), ("Y", "yes"), ("Z", "0"), ("BAD", "maybe")]);
        assert_eq!(vars.flag("T"), Ok(true));
        assert_eq!(vars.flag("Y"), Ok(true));
        assert_eq!(vars.flag("Z"), Ok(false));
        assert_eq!(vars.flag("UNSET"), Ok(false));
        assert_eq!(
            vars.flag("BAD"),
            Err(InvalidVar {
                name: "BAD",
                reason: "expected true or false"
            })
        );
    }

    #[test]
    fn numbers_are_trimmed_and_a_bad_one_is_named_with_the_reason() {
        let vars = vars(&[("N", " 42 "), ("BAD", "-1")]);
        assert_eq!(vars.number("N", "r"), Ok(Some(42)));
        assert_eq!(vars.number("UNSET", "r"), Ok(None));
        assert_eq!(
            vars.number("BAD", "expected seconds"),
            Err(InvalidVar {
                name: "BAD",
                reason: "expected seconds"
            })
        );
    }

    #[test]
    fn debug_prints_the_sentence() {
        struct Oops;
        impl std::fmt::Display for Oops {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("environment variable X is invalid")
            }
        }
        debug_as_display!(Oops);
        assert_eq!(format!("{Oops:?}"), "environment variable X is invalid");
    }
}
