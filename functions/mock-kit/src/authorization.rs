//! Reading `Authorization`-style header values.
//!
//! mock-auth reads Basic client credentials and mock-api reads Basic, Bearer and
//! Outseta credentials; both must split and decode them the same way, or a header one
//! mock accepts could be refused by the other.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// Standard base64, padded or not: clients differ and both are unambiguous.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Splits `Scheme credentials` at the first space, trimming both parts. A value with
/// no space is all scheme, so `Basic` alone reads as Basic with empty credentials.
pub fn split_scheme(value: &str) -> (&str, &str) {
    let value = value.trim();
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    (scheme, credentials.trim())
}

/// Decodes Basic credentials, `base64(user:password)`, into the user and password.
/// `None` when they are not base64, not UTF-8, or have no `:`.
pub fn decode_basic(credentials: &str) -> Option<(String, String)> {
    let decoded = BASE64_ANY_PADDING.decode(credentials).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_and_credentials_are_split_and_trimmed() {
        assert_eq!(split_scheme(" Bearer  abc "), ("Bearer", "abc"));
        assert_eq!(split_scheme("Basic"), ("Basic", ""));
        assert_eq!(split_scheme(""), ("", ""));
    }

    #[test]
    fn basic_credentials_decode_with_or_without_padding() {
        let pair = Some(("user".to_owned(), "p@ss:word".to_owned()));
        assert_eq!(decode_basic("dXNlcjpwQHNzOndvcmQ="), pair);
        assert_eq!(decode_basic("dXNlcjpwQHNzOndvcmQ"), pair);
        assert_eq!(decode_basic("Ojo="), Some((String::new(), ":".to_owned())));
    }

    #[test]
    fn broken_basic_credentials_are_none() {
        for credentials in ["", "!!!", "bm8tY29sb24=", "/w=="] {
            assert_eq!(decode_basic(credentials), None, "{credentials}");
        }
    }
}
