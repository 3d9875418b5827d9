//! Form and query parameters, each allowed once.
//!
//! When a parameter repeats there is no right value to pick: RFC 6749 §3.2 forbids
//! repeats outright, and a mock that silently took the first or last one would pass a
//! client that a strict server refuses. So a repeat is an error naming the parameter.

use std::collections::HashSet;

/// Names longer than this are cut in error messages: the name comes from the client,
/// and an answer should not echo an arbitrarily long string back.
const MAX_NAME_IN_ERROR: usize = 64;

/// Decoded `name=value` pairs in request order, each name present once.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// A parameter that appeared more than once, by name (never its values, which may be
/// secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter {0} is given more than once")]
pub struct RepeatedParam(pub String);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text (a body or a query string).
    pub fn parse(form: &[u8]) -> Result<Self, RepeatedParam> {
        let mut seen = HashSet::new();
        let mut pairs = Vec::new();
        for (name, value) in form_urlencoded::parse(form) {
            if !seen.insert(name.clone()) {
                return Err(RepeatedParam::named(&name));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Params(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `name` as a whole number, if given; an error naming it otherwise.
    pub fn whole(&self, name: &str) -> Result<Option<usize>, String> {
        self.get(name)
            .map(|raw| {
                raw.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("{name} must be a whole number"))
            })
            .transpose()
    }
}

impl RepeatedParam {
    /// The error for `name`, cut to a bounded length on a character boundary.
    pub fn named(name: &str) -> Self {
        RepeatedParam(name[..name.floor_char_boundary(MAX_NAME_IN_ERROR)].to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded() {
        let params =
            Params::parse(b"grant_type=client_credentials&scope=a+b%21&empty=").expect("unique");
        assert_eq!(params.get("grant_type"), Some("client_credentials"));
        assert_eq!(params.get("scope"), Some("a b!"));
        assert_eq!(params.get("empty"), Some(""));
        assert_eq!(params.get("missing"), None);
    }

    #[test]
    fn a_repeat_names_the_parameter_not_its_values() {
        let cases: [(&[u8], &str); 4] = [
            (b"grant_type=a&grant_type=b", "grant_type"),
            (b"client_secret=s1&x=1&client_secret=s2", "client_secret"),
            (b"client_id=&client_id=", "client_id"),
            // Encoded and plain spellings are the same parameter.
            (b"client%5Fid=a&client_id=b", "client_id"),
        ];
        for (form, name) in cases {
            let err = Params::parse(form).expect_err("repeated");
            assert_eq!(err, RepeatedParam(name.to_owned()));
            assert_eq!(
                err.to_string(),
                format!("parameter {name} is given more than once")
            );
        }
    }

    #[test]
    fn a_long_name_is_cut_on_a_character_boundary() {
        let name = "é".repeat(40);
        let form = format!("{name}=1&{name}=2");
        let RepeatedParam(shown) = Params::parse(form.as_bytes()).expect_err("repeated");
        assert_eq!(shown, "é".repeat(32));
    }
}
