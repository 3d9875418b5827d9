//! Clipping text for people: by characters (what a reader counts, and what
//! the ticket's limits count), never inside one, with the cut marked.

use std::borrow::Cow;

/// `s` when it has at most `max` characters; otherwise its first `max - 1`
/// followed by `…`, so the result never has more than `max` characters.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.char_indices().nth(max).is_none() {
        return Cow::Borrowed(s);
    }
    let Some(keep) = max.checked_sub(1) else {
        return Cow::Borrowed("");
    };
    let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    let mut out = String::with_capacity(end + '…'.len_utf8());
    out.push_str(&s[..end]);
    out.push('…');
    Cow::Owned(out)
}

/// `s` as HTML text: the five characters HTML gives meaning escaped. For
/// the few places outside the ticket writer that put text into HTML (the
/// CLI's page title, a desk adapter's note).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match crate::html::escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clips_by_characters_with_an_ellipsis() {
        let cases = [
            ("", 3, ""),
            ("abc", 3, "abc"),
            ("abcd", 3, "ab…"),
            ("äöüß", 4, "äöüß"),
            ("äöüßx", 4, "äöü…"),
            ("日本語テキスト", 3, "日本…"),
            ("ab", 1, "…"),
            ("a", 1, "a"),
            ("abc", 0, ""),
        ];
        for (s, max, want) in cases {
            let got = clip(s, max);
            assert_eq!(got, want, "{s:?} to {max}");
            assert!(got.chars().count() <= max, "{s:?} to {max}");
        }
    }
}
