//! Masks credentials before anything leaves the process.
//!
//! Everything that came from an event (input, cause, error messages) passes
//! through a [`Redactor`] before it reaches a ticket or a log line. Three
//! layers, because each catches what the others miss:
//! 1. values of sensitive *keys* at any depth of JSON;
//! 2. `key=value` / `"key": "value"` pairs and `Bearer`/`Basic`/`Outseta`
//!    credentials inside free text (a Cause is often prose with JSON in it);
//! 3. the exact secret values we hold (connection secret, OAuth token), so a
//!    pipeline that echoes our own key back still cannot leak it.
//!
//! The [`Gate`] is the one way out: it learns every secret the process reads
//! (the secret cache and the token cache feed it the moment they get one) and
//! seals text into [`Redacted`], the only type log lines and the fallback
//! accept. It also cuts what it seals to a size, visibly.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

/// What replaces a masked value.
pub const MASK: &str = "[REDACTED]";

/// Key fragments that mark a value as sensitive, compared after lowercasing
/// and dropping separators, so `API-Key`, `api_key` and `apiKey` all match.
const DEFAULT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "privatekey",
    "cookie",
];

/// Keys (one or two words) up to this many ASCII letters and digits are
/// checked without allocating.
const NORMALISED_MAX: usize = 128;

/// Schemes whose following word is a credential.
const SCHEMES: &[&str] = &["bearer", "basic", "outseta"];

/// Secret values shorter than this are not scrubbed verbatim: masking every
/// `"1"` in a ticket would destroy it and protect nothing.
const MIN_KNOWN_SECRET_LEN: usize = 4;

/// Rotating credentials the gate keeps at most, beside the pinned ones: the
/// current and earlier tokens (a token revoked a minute ago is still a
/// credential), and a rotated connection's old values. Each token rotation
/// adds two (the token, and its `Bearer` header value).
const KNOWN_MAX: usize = 64;

/// Text that went through the [`Gate`]: redacted and cut to size. It can
/// only be built there, so a log field or a fallback message of this type
/// cannot carry a secret by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted(String);

impl Redacted {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The process-wide redaction gate. Cloning shares it: what one part learns,
/// every part masks.
#[derive(Debug, Clone)]
pub struct Gate {
    base: Redactor,
    known: Arc<RwLock<Known>>,
}

/// The values a gate masks: the connection's own, pinned for as long as
/// that connection is current, and a bounded set of rotating credentials
/// beside them, oldest evicted first. Tokens can rotate any number of times
/// in a warm container; they never push the connection's secrets out.
#[derive(Debug, Default)]
struct Known {
    pinned: Vec<String>,
    rotating: VecDeque<String>,
}

impl Known {
    fn holds(&self, v: &str) -> bool {
        self.pinned.iter().chain(&self.rotating).any(|k| k == v)
    }

    fn rotate_in(&mut self, v: String) {
        if self.rotating.len() >= KNOWN_MAX {
            self.rotating.pop_front();
        }
        self.rotating.push_back(v);
    }
}

impl Gate {
    /// `base` holds the key rules (`REDACT_KEYS`); it knows no values yet.
    pub fn new(base: Redactor) -> Self {
        Gate {
            base,
            known: Arc::new(RwLock::new(Known::default())),
        }
    }

    /// Remembers rotating secret values (tokens, header values made from
    /// them) to mask wherever they appear from now on, the oldest forgotten
    /// first once [`KNOWN_MAX`] are held.
    pub fn learn<'a>(&self, values: impl IntoIterator<Item = &'a str>) {
        let Ok(mut known) = self.known.write() else {
            return;
        };
        for v in values {
            if v.len() < MIN_KNOWN_SECRET_LEN || known.holds(v) {
                continue;
            }
            known.rotate_in(v.to_owned());
        }
    }

    /// Pins the current connection's secret values: masked for as long as
    /// that connection is current, whatever rotates beside them. The values
    /// of the connection it replaces become rotating ones, masked a while
    /// longer (a rotated secret is still a credential).
    pub fn pin<'a>(&self, values: impl IntoIterator<Item = &'a str>) {
        let Ok(mut known) = self.known.write() else {
            return;
        };
        let mut pinned: Vec<String> = Vec::new();
        for v in values {
            if v.len() >= MIN_KNOWN_SECRET_LEN && !pinned.iter().any(|p| p == v) {
                pinned.push(v.to_owned());
            }
        }
        let previous = std::mem::replace(&mut known.pinned, pinned);
        for v in previous {
            if !known.holds(&v) {
                known.rotate_in(v);
            }
        }
        let Known { pinned, rotating } = &mut *known;
        rotating.retain(|v| !pinned.contains(v));
    }

    /// How many secret values the gate masks (the log line says it).
    pub fn known(&self) -> usize {
        self.known
            .read()
            .map_or(0, |k| k.pinned.len() + k.rotating.len())
    }

    /// The key rules plus every value learnt so far.
    pub fn redactor(&self) -> Redactor {
        match self.known.read() {
            Ok(known) => self.base.with_known_secrets(
                known
                    .pinned
                    .iter()
                    .chain(&known.rotating)
                    .map(String::as_str),
            ),
            Err(_) => self.base.clone(),
        }
    }

    /// Redacts text and cuts it so that, written as a JSON string, it takes
    /// at most `max` bytes, saying how much was left out.
    pub fn seal(&self, text: &str, max: usize) -> Redacted {
        Redacted(cut_for_json(&self.redactor().text(text), max))
    }

    /// [`Gate::seal`] for JSON: redacted by key and value first, then cut.
    pub fn seal_json(&self, value: &Value, max: usize) -> Redacted {
        let text = self.redactor().json(value).to_string();
        Redacted(cut_for_json(&text, max))
    }

    /// Redacts without cutting, for text with a bound of its own (an error
    /// message the caller must see whole).
    pub fn text(&self, text: &str) -> String {
        self.redactor().text(text)
    }
}

/// The bytes `c` takes inside a JSON string (log lines are JSON).
fn json_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Cuts `s` so its JSON-escaped form plus the truncation note fits `max`.
fn cut_for_json(s: &str, max: usize) -> String {
    let mut used = 0;
    let mut end = s.len();
    let total: usize = s.chars().map(json_len).sum();
    if total <= max {
        return s.to_owned();
    }
    // Room for the note; its number has at most 20 digits.
    let budget = max.saturating_sub(48);
    for (i, c) in s.char_indices() {
        let n = json_len(c);
        if used + n > budget {
            end = i;
            break;
        }
        used += n;
    }
    format!("{} [truncated: {} more bytes]", &s[..end], s.len() - end)
}

#[derive(Debug, Clone)]
pub struct Redactor {
    keys: Vec<String>,
    /// The first bytes of `keys` and the shortest key's length: most words
    /// followed by `:` are rejected by these two without a comparison.
    key_starts: [bool; 256],
    shortest_key: usize,
    known: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(std::iter::empty::<&str>())
    }
}

impl Redactor {
    /// `extra` are additional key fragments (from `REDACT_KEYS`).
    pub fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        let mut keys: Vec<String> = DEFAULT_KEYS.iter().map(|k| k.to_string()).collect();
        keys.extend(extra.into_iter().map(normalise).filter(|k| !k.is_empty()));
        let mut key_starts = [false; 256];
        for k in &keys {
            if let Some(&b) = k.as_bytes().first() {
                key_starts[b as usize] = true;
            }
        }
        let shortest_key = keys.iter().map(String::len).min().unwrap_or(0);
        Redactor {
            keys,
            key_starts,
            shortest_key,
            known: Vec::new(),
        }
    }

    /// A copy that also masks these exact values wherever they appear.
    pub fn with_known_secrets<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut known = self.known.clone();
        known.extend(
            secrets
                .into_iter()
                .filter(|s| s.len() >= MIN_KNOWN_SECRET_LEN)
                .map(str::to_owned),
        );
        // Longest first, so a secret that contains another is masked whole.
        known.sort_by_key(|s| std::cmp::Reverse(s.len()));
        known.dedup();
        Redactor {
            keys: self.keys.clone(),
            key_starts: self.key_starts,
            shortest_key: self.shortest_key,
            known,
        }
    }

    pub fn is_sensitive_key(&self, key: &str) -> bool {
        self.is_sensitive_words(&[key])
    }

    /// Whether the words, joined, name a secret: the same answer as
    /// `normalise(words.concat())` containing a key fragment, without
    /// allocating for the usual short ASCII key. Called for every word
    /// followed by `=` or `:` in every text that leaves the process.
    fn is_sensitive_words(&self, words: &[&str]) -> bool {
        let mut buf = [0u8; NORMALISED_MAX];
        let mut n = 0;
        for w in words {
            for &b in w.as_bytes() {
                if !b.is_ascii() || n == NORMALISED_MAX {
                    // Unicode case rules or a very long key: the slow path.
                    let k = normalise(&words.concat());
                    return !k.is_empty()
                        && self.keys.iter().any(|needle| k.contains(needle.as_str()));
                }
                if b.is_ascii_alphanumeric() {
                    buf[n] = b.to_ascii_lowercase();
                    n += 1;
                }
            }
        }
        let k = &buf[..n];
        // Every key fragment is normalised, so non-empty; a non-ASCII one
        // can never occur in an ASCII key.
        if n == 0 || n < self.shortest_key {
            return false;
        }
        (0..n).any(|i| {
            self.key_starts[k[i] as usize]
                && self.keys.iter().any(|needle| {
                    let needle = needle.as_bytes();
                    k[i..].len() >= needle.len() && k[i..].iter().zip(needle).all(|(a, b)| a == b)
                })
        })
    }

    /// A redacted copy of a JSON value. Strings inside are scrubbed as text
    /// too, since a harmless key can still hold `"Bearer abc..."`.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    let masked = if self.is_sensitive_key(k) && !v.is_null() {
                        Value::String(MASK.to_owned())
                    } else {
                        self.json(v)
                    };
                    out.insert(self.text(k), masked);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::String(s) => Value::String(self.text(s)),
            other => other.clone(),
        }
    }

    /// Scrubs credentials out of free text.
    pub fn text(&self, s: &str) -> String {
        self.text_cow(s).into_owned()
    }

    /// [`Redactor::text`], borrowing `s` when there is nothing to mask (the
    /// usual case): each pass copies only when it masks something.
    pub fn text_cow<'s>(&self, s: &'s str) -> Cow<'s, str> {
        let mut out = Cow::Borrowed(s);
        for secret in &self.known {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        let out = match mask_scheme_credentials(&out) {
            Cow::Borrowed(_) => out,
            Cow::Owned(masked) => Cow::Owned(masked),
        };
        match self.mask_key_values(&out) {
            Cow::Borrowed(_) => out,
            Cow::Owned(masked) => Cow::Owned(masked),
        }
    }

    /// Masks the value after a sensitive `key=` or `key:` (quotes optional).
    fn mask_key_values<'s>(&self, s: &'s str) -> Cow<'s, str> {
        let bytes = s.as_bytes();
        // Only a word followed by `=` or `:` can be masked.
        if !bytes.iter().any(|&b| b == b'=' || b == b':') {
            return Cow::Borrowed(s);
        }
        let mut out = String::new();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            if !is_ident(bytes[i]) || (i > 0 && is_ident(bytes[i - 1])) {
                i += 1;
                continue;
            }
            let key_start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let key = &s[key_start..i];
            // Cheap tests first: most words are not followed by `=` or `:`.
            let mut j = i;
            if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                j += 1;
            }
            j = skip_spaces(bytes, j);
            if j >= bytes.len() || (bytes[j] != b'=' && bytes[j] != b':') {
                continue;
            }
            // `arn:aws:secretsmanager:...:secret:name` is an identifier, not a
            // key: a key never directly follows `:` or `/`.
            if key_start > 0 && matches!(bytes[key_start - 1], b':' | b'/') {
                continue;
            }
            // Two-word keys in prose: "api key: …", "client secret = …".
            let key_sensitive = self.is_sensitive_key(key);
            let previous = previous_word(s, key_start);
            let pair_sensitive =
                !key_sensitive && previous.is_some_and(|w| self.is_sensitive_words(&[w, key]));
            if !key_sensitive && !pair_sensitive {
                continue;
            }
            j = skip_spaces(bytes, j + 1);
            let quote = match bytes.get(j) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    j += 1;
                    Some(q)
                }
                _ => None,
            };
            let mut value_start = j;
            // Already masked (redacting twice must change nothing).
            if s[j..].starts_with(MASK) {
                i = j + MASK.len();
                continue;
            }
            j = value_end(bytes, j, quote);
            let value = &s[value_start..j];
            // `key: key: value`: the "value" is the next key, whose own value
            // is the one to judge; scan on from it rather than past it.
            if quote.is_none()
                && value.len() > 1
                && value
                    .strip_suffix(':')
                    .is_some_and(|k| k.bytes().all(is_ident))
            {
                i = value_start;
                continue;
            }
            let is_scheme = SCHEMES.iter().any(|p| value.eq_ignore_ascii_case(p));
            let header = is_authorization(key);
            if is_scheme && header {
                // `Authorization: Bearer <token>` is a header: the word after
                // the scheme is the credential whatever it looks like (the
                // scheme pass masks only credential-looking words, for prose).
                value_start = skip_spaces(bytes, j);
                if s[value_start..].starts_with(MASK) {
                    i = value_start + MASK.len();
                    continue;
                }
                j = value_end(bytes, value_start, quote);
            } else {
                // "Authorization failed: access denied" names no credential
                // either: the key is sensitive only through the word before it.
                let about_authorization =
                    header || (pair_sensitive && previous.is_some_and(is_authorization));
                let is_prose = quote.is_none() && about_authorization && prose_after(s, j, value);
                if value == MASK || is_scheme || is_prose {
                    i = j.max(i);
                    continue;
                }
            }
            if j == value_start {
                i = j.max(i);
                continue;
            }
            if copied == 0 {
                out.reserve(s.len());
            }
            out.push_str(&s[copied..value_start]);
            out.push_str(MASK);
            copied = j;
            i = j;
        }
        if copied == 0 {
            return Cow::Borrowed(s);
        }
        out.push_str(&s[copied..]);
        Cow::Owned(out)
    }
}

/// Masks the word after `Bearer`, `Basic` or `Outseta` when it looks like a
/// credential (long enough, token characters, and a digit, a symbol or an
/// inner capital in it), so prose such as "basic authentication failed"
/// survives.
fn mask_scheme_credentials(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Every scheme starts with b or o: skip the rest with one compare.
        if !matches!(bytes[i], b'b' | b'B' | b'o' | b'O') {
            i += 1;
            continue;
        }
        let word_start = i == 0 || !is_ident(bytes[i - 1]);
        let Some(scheme) = SCHEMES.iter().filter(|_| word_start).find(|p| {
            bytes.len() - i >= p.len() && bytes[i..i + p.len()].eq_ignore_ascii_case(p.as_bytes())
        }) else {
            i += 1;
            continue;
        };
        let after = i + scheme.len();
        let start = skip_spaces(bytes, after);
        if start == after || start >= bytes.len() {
            i = after;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && is_credential_char(bytes[end]) {
            end += 1;
        }
        let word = s[start..end].trim_end_matches(['.', ',', ':']);
        let end = start + word.len();
        if looks_like_credential(word) {
            if copied == 0 {
                out.reserve(s.len());
            }
            out.push_str(&s[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        i = end.max(after);
    }
    if copied == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[copied..]);
    Cow::Owned(out)
}

/// `Authorization` and `Proxy-Authorization`, the keys whose value has a
/// known form: a scheme and its credential, or one opaque token.
fn is_authorization(key: &str) -> bool {
    key.len() >= 13 && key[key.len() - 13..].eq_ignore_ascii_case("authorization")
}

/// Whether an unquoted `authorization:` value is a word of a sentence
/// rather than a credential: a short lowercase word that prose goes on
/// after, as in ECS's image pull failures (containerd's "may require
/// authorization: server message: insufficient_scope: authorization failed").
/// A header value is a scheme (handled apart) or a token, and a token is
/// long or has digits, symbols or inner capitals; so this leaves real
/// credentials masked while the reason of a failed image pull stays legible.
fn prose_after(s: &str, end: usize, value: &str) -> bool {
    value.len() < 16
        && value.bytes().all(|b| b.is_ascii_lowercase())
        && s[end..]
            .strip_prefix(' ')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()))
}

/// The word just before `at`, when only one space separates them.
fn previous_word(s: &str, at: usize) -> Option<&str> {
    let before = s[..at].strip_suffix(' ')?;
    let start = before
        .bytes()
        .rposition(|b| !is_ident(b))
        .map_or(0, |p| p + 1);
    (start < before.len()).then(|| &before[start..])
}

fn looks_like_credential(word: &str) -> bool {
    word.len() >= 8
        && word != MASK
        && (word
            .bytes()
            .any(|b| b.is_ascii_digit() || b"=+/:._-~".contains(&b))
            || word.bytes().skip(1).any(|b| b.is_ascii_uppercase()))
}

fn is_credential_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=:".contains(&b)
}

fn is_ident(b: u8) -> bool {
    IDENT[b as usize]
}

/// `is_ident` as a table: the redactor asks it about every byte it scans.
const IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    t
};

/// Where a value that starts at `i` ends: at its closing quote, or unquoted
/// at whitespace or punctuation that closes a field.
fn value_end(bytes: &[u8], mut i: usize, quote: Option<u8>) -> usize {
    while i < bytes.len() && !ends_value(bytes[i], quote) {
        i += 1;
    }
    i
}

fn ends_value(b: u8, quote: Option<u8>) -> bool {
    match quote {
        Some(q) => b == q,
        None => b.is_ascii_whitespace() || b"&,;}])\"'".contains(&b),
    }
}

/// Spaces, tabs and line breaks: `key:\tvalue` in a log line or YAML is as
/// much a credential as `key: value`.
fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests;
