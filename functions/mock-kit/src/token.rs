//! Issuing and checking the mock access tokens.
//!
//! mock-auth issues and mock-api checks, on any number of Lambda instances with no
//! shared store, so a token has to prove itself: its claims travel inside it and an
//! HMAC-SHA256 under a key both functions share shows that mock-auth made them.
//!
//! Format: `base64url(JSON {"iat","exp","jti"}) "." base64url(HMAC-SHA256(key, first part))`,
//! base64url without padding. The MAC covers the encoded text rather than re-serialised
//! claims, so verification never depends on how JSON happens to be re-encoded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far in the future `iat` may lie before a token is refused: Lambda hosts' clocks
/// drift a little, and a refused fresh token would look like a broken refresh.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Anything longer is not one of ours; refusing early bounds the work a caller can force.
const MAX_TOKEN_LEN: usize = 1024;

/// The claims a token carries: epoch seconds and a random id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Issued at (epoch seconds); compared with the revocation cut-off.
    pub iat: u64,
    /// First second at which the token is no longer accepted.
    pub exp: u64,
    /// Random id (32 hex digits), so two tokens issued in one second still differ.
    pub jti: String,
}

impl Claims {
    /// An id short enough for a log line, long enough to tell tokens apart.
    pub fn short_id(&self) -> &str {
        short_id(&self.jti)
    }
}

/// A freshly issued token and what it says, so the issuer can log and answer
/// `expires_in` without parsing its own output.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
}

/// Why a token was refused. Distinct variants so logs and tests can tell a stale
/// token (what a refresh fixes) from a forged or broken one (what it doesn't).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature does not match")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is issued in the future")]
    NotYetValid,
    #[error("token was issued before the revocation cut-off")]
    Revoked,
}

impl TokenError {
    /// A stable snake_case label for structured logs.
    pub fn label(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::Revoked => "revoked",
        }
    }
}

/// First eight characters of a token id (or all of it when shorter).
pub fn short_id(jti: &str) -> &str {
    match jti.char_indices().nth(8) {
        Some((end, _)) => &jti[..end],
        None => jti,
    }
}

/// Issues a token valid from `now_secs` for `ttl_secs` seconds.
pub fn issue(key: &[u8], now_secs: u64, ttl_secs: u64) -> IssuedToken {
    let random: [u8; 16] = rand::random();
    let jti: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let claims = Claims {
        iat: now_secs,
        exp: now_secs.saturating_add(ttl_secs),
        jti,
    };
    let json = serde_json::json!({ "iat": claims.iat, "exp": claims.exp, "jti": claims.jti });
    let payload = URL_SAFE_NO_PAD.encode(json.to_string());
    let signature = URL_SAFE_NO_PAD.encode(sign(key, &payload));
    IssuedToken {
        token: format!("{payload}.{signature}"),
        claims,
    }
}

/// Checks a token and returns its claims.
///
/// The signature is checked before the claims are even decoded, so nothing an attacker
/// wrote is trusted. `revoked_before` (epoch seconds) refuses tokens issued earlier:
/// it is how a test makes a cached token stale without any server-side memory.
/// A token issued in the cut-off second itself is still accepted, so a client that
/// refreshes after the cut-off is set gets a working token.
pub fn verify(
    key: &[u8],
    token: &str,
    now_secs: u64,
    revoked_before: Option<u64>,
) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    mac(key)
        .chain_update(payload.as_bytes())
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;

    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;

    if claims.iat > now_secs.saturating_add(CLOCK_SKEW_SECS) {
        return Err(TokenError::NotYetValid);
    }
    if now_secs >= claims.exp {
        return Err(TokenError::Expired);
    }
    if revoked_before.is_some_and(|cutoff| claims.iat < cutoff) {
        return Err(TokenError::Revoked);
    }
    Ok(claims)
}

fn sign(key: &[u8], payload: &str) -> Vec<u8> {
    mac(key)
        .chain_update(payload.as_bytes())
        .finalize()
        .into_bytes()
        .to_vec()
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length (long keys are hashed, short ones padded),
    // so this constructor cannot fail; its Result exists for other MACs.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length") // ok: infallible for HMAC
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-signing-key-0123456789abcdef";
    const NOW: u64 = 1_700_000_000;

    fn parts(token: &str) -> (String, String) {
        let (p, s) = token.split_once('.').expect("token has two parts");
        (p.to_owned(), s.to_owned())
    }

    #[test]
    fn roundtrip_returns_the_issued_claims() {
        let issued = issue(KEY, NOW, 300);
        assert_eq!(issued.claims.iat, NOW);
        assert_eq!(issued.claims.exp, NOW + 300);
        assert_eq!(issued.claims.jti.len(), 32);
        let claims = verify(KEY, &issued.token, NOW + 10, None).expect("valid token");
        assert_eq!(claims, issued.claims);
    }

    #[test]
    fn token_is_two_unpadded_base64url_parts_with_json_claims() {
        let issued = issue(KEY, NOW, 300);
        let (payload, signature) = parts(&issued.token);
        assert!(!issued.token.contains('='));
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("json");
        assert_eq!(json["iat"], NOW);
        assert_eq!(json["exp"], NOW + 300);
        assert_eq!(json["jti"], issued.claims.jti.as_str());
        assert_eq!(
            URL_SAFE_NO_PAD.decode(signature).expect("base64url").len(),
            32
        );
    }

    #[test]
    fn two_tokens_in_one_second_differ() {
        let a = issue(KEY, NOW, 300);
        let b = issue(KEY, NOW, 300);
        assert_ne!(a.token, b.token);
        assert_ne!(a.claims.jti, b.claims.jti);
    }

    #[test]
    fn tampered_payload_is_a_bad_signature() {
        let issued = issue(KEY, NOW, 300);
        let (_, signature) = parts(&issued.token);
        let forged =
            serde_json::json!({ "iat": NOW, "exp": NOW + 999_999, "jti": issued.claims.jti });
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(forged.to_string()));
        assert_eq!(
            verify(KEY, &forged, NOW, None),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampered_signature_is_a_bad_signature() {
        let issued = issue(KEY, NOW, 300);
        let (payload, signature) = parts(&issued.token);
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        bytes[0] ^= 0x01;
        let tampered = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            verify(KEY, &tampered, NOW, None),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn truncated_signature_is_a_bad_signature() {
        let issued = issue(KEY, NOW, 300);
        let (payload, signature) = parts(&issued.token);
        let bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&bytes[..16]));
        assert_eq!(
            verify(KEY, &short, NOW, None),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn wrong_key_is_a_bad_signature() {
        let issued = issue(b"another-key", NOW, 300);
        assert_eq!(
            verify(KEY, &issued.token, NOW, None),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expired_at_exp_and_after() {
        let issued = issue(KEY, NOW, 300);
        assert!(verify(KEY, &issued.token, NOW + 299, None).is_ok());
        assert_eq!(
            verify(KEY, &issued.token, NOW + 300, None),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(KEY, &issued.token, NOW + 10_000, None),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn future_dated_beyond_skew_is_not_yet_valid() {
        let issued = issue(KEY, NOW + CLOCK_SKEW_SECS + 1, 300);
        assert_eq!(
            verify(KEY, &issued.token, NOW, None),
            Err(TokenError::NotYetValid)
        );
        let within_skew = issue(KEY, NOW + CLOCK_SKEW_SECS, 300);
        assert!(verify(KEY, &within_skew.token, NOW, None).is_ok());
    }

    #[test]
    fn revoked_when_issued_before_the_cutoff() {
        let issued = issue(KEY, NOW, 300);
        assert_eq!(
            verify(KEY, &issued.token, NOW + 5, Some(NOW + 1)),
            Err(TokenError::Revoked)
        );
        // Issued in the cut-off second or later: a refreshed token must work.
        assert!(verify(KEY, &issued.token, NOW + 5, Some(NOW)).is_ok());
        assert!(verify(KEY, &issued.token, NOW + 5, Some(NOW - 100)).is_ok());
    }

    #[test]
    fn garbage_is_malformed_and_never_panics() {
        let valid = issue(KEY, NOW, 300).token;
        let (payload, signature) = parts(&valid);
        let unsigned_json = URL_SAFE_NO_PAD.encode("not json");
        let signed_not_json = format!(
            "{unsigned_json}.{}",
            URL_SAFE_NO_PAD.encode(sign(KEY, &unsigned_json))
        );
        let wrong_fields = URL_SAFE_NO_PAD.encode(r#"{"iat":"x","exp":1,"jti":"a"}"#);
        let signed_wrong_fields = format!(
            "{wrong_fields}.{}",
            URL_SAFE_NO_PAD.encode(sign(KEY, &wrong_fields))
        );
        let inputs = [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "no-dot-at-all".to_owned(),
            format!("{payload}.{signature}.extra"),
            format!("{payload}.!!!notbase64!!!"),
            format!("{payload}.{signature}="),
            "é.ü".to_owned(),
            "a".repeat(MAX_TOKEN_LEN + 1),
            signed_not_json,
            signed_wrong_fields,
        ];
        for input in &inputs {
            let result = verify(KEY, input, NOW, None);
            assert!(
                matches!(
                    result,
                    Err(TokenError::Malformed | TokenError::BadSignature)
                ),
                "{input:?} gave {result:?}"
            );
        }
        assert_eq!(verify(KEY, "", NOW, None), Err(TokenError::Malformed));
        assert_eq!(
            verify(KEY, &inputs[9], NOW, None),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            verify(KEY, &inputs[10], NOW, None),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn short_id_is_the_first_eight_characters() {
        assert_eq!(short_id("0123456789abcdef"), "01234567");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id("ééééééééé"), "éééééééé");
        let issued = issue(KEY, NOW, 300);
        assert_eq!(issued.claims.short_id(), &issued.claims.jti[..8]);
    }
}
