//! A small HTML writer with a byte budget, so a ticket Body stays under the
//! API's limit whatever the event holds: every piece of text is escaped and
//! cut while it is written, not after (escaping can grow text sixfold, so
//! cutting the raw text first would not bound the result).

/// Left free for the structure that follows the last text.
const RESERVE: usize = 4 * 1024;
/// Longest link target kept, escaped.
const LINK_MAX: usize = 2048;

pub(crate) struct Html {
    buf: String,
    limit: usize,
}

impl Html {
    pub(crate) fn new(limit: usize) -> Self {
        Html {
            buf: String::with_capacity(4096),
            limit,
        }
    }

    /// Structure we write ourselves: never escaped.
    pub(crate) fn raw(&mut self, s: &str) -> &mut Self {
        self.buf.push_str(s);
        self
    }

    /// Escaped text, at most `cap` bytes once escaped (less when the body
    /// budget is nearly spent), with a visible note when cut.
    pub(crate) fn text(&mut self, s: &str, cap: usize) -> &mut Self {
        self.text_of(s, cap, None)
    }

    /// As [`Html::text`], for `s` that is already the start of a longer text
    /// of `total_chars` characters: the note counts what the reader misses
    /// of the whole, not of the start.
    pub(crate) fn text_of(&mut self, s: &str, cap: usize, total_chars: Option<usize>) -> &mut Self {
        let room = self.limit.saturating_sub(self.buf.len() + RESERVE);
        let cap = cap.min(room);
        // Copies runs of plain text whole and escapes the five special
        // bytes (all ASCII, so never inside a multi-byte character); the
        // cut lands on the last character that fits, as one character at a
        // time would.
        let bytes = s.as_bytes();
        let mut used = 0usize;
        let mut at = 0usize;
        while at < bytes.len() {
            let run_end = bytes[at..]
                .iter()
                .position(|&b| SPECIAL[b as usize])
                .map_or(bytes.len(), |p| at + p);
            if used + (run_end - at) > cap {
                let cut = s.floor_char_boundary(at + (cap - used));
                self.buf.push_str(&s[at..cut]);
                return self.cut_at(s, cut, total_chars);
            }
            self.buf.push_str(&s[at..run_end]);
            used += run_end - at;
            at = run_end;
            if let Some(e) = bytes.get(at).and_then(|&b| escape_byte(b)) {
                if used + e.len() > cap {
                    return self.cut_at(s, at, total_chars);
                }
                self.buf.push_str(e);
                used += e.len();
                at += 1;
            }
        }
        match total_chars.map(|t| t.saturating_sub(s.chars().count())) {
            Some(left) if left > 0 => self.truncated(left),
            _ => self,
        }
    }

    /// The note for text cut at byte `cut` of `s`.
    fn cut_at(&mut self, s: &str, cut: usize, total_chars: Option<usize>) -> &mut Self {
        let left = total_chars.map_or_else(
            || s[cut..].chars().count(),
            |t| t.saturating_sub(s[..cut].chars().count()),
        );
        self.truncated(left)
    }

    fn truncated(&mut self, left: usize) -> &mut Self {
        self.buf
            .push_str(&format!(" … <em>[truncated: {left} more characters]</em>"));
        self
    }

    /// A table row of label and escaped value.
    pub(crate) fn row(&mut self, label: &str, value: &str, cap: usize) -> &mut Self {
        self.raw("<tr><th align=\"left\">")
            .text(label, 200)
            .raw("</th><td>")
            .text(value, cap)
            .raw("</td></tr>")
    }

    /// A link whose target and text are both escaped. A target too long to
    /// keep whole is left out rather than cut: a cut URL points somewhere
    /// else, and a truncation note inside `href` would break the markup.
    pub(crate) fn link(&mut self, href: &str, label: &str) -> &mut Self {
        let escaped_len: usize = href
            .chars()
            .map(|c| escape(c).map_or(c.len_utf8(), str::len))
            .sum();
        if escaped_len > LINK_MAX {
            return self
                .text(label, 200)
                .raw(" (link left out: its address is too long)");
        }
        self.raw("<a href=\"")
            .text(href, LINK_MAX)
            .raw("\">")
            .text(label, 200)
            .raw("</a>")
    }

    /// The finished HTML. The cut below only fires if the budget arithmetic
    /// above is wrong; it keeps the API limit a hard guarantee regardless.
    pub(crate) fn finish(mut self, hard_max: usize) -> String {
        if self.buf.len() > hard_max {
            let note = "<p><em>[truncated]</em></p>";
            let cut = self
                .buf
                .floor_char_boundary(hard_max.saturating_sub(note.len()));
            self.buf.truncate(cut);
            self.buf.push_str(note);
        }
        self.buf
    }
}

/// The bytes [`escape_byte`] escapes, as a table for the scan.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

fn escape_byte(b: u8) -> Option<&'static str> {
    Some(match b {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        b'\'' => "&#39;",
        _ => return None,
    })
}

pub(crate) fn escape(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_cuts_on_the_escaped_size() {
        let mut h = Html::new(100_000);
        h.text("<b>\"x\" & 'y'</b>", 1000);
        assert_eq!(
            h.finish(100_000),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
        let mut h = Html::new(100_000);
        h.text(&"\"".repeat(100), 60);
        let out = h.finish(100_000);
        assert!(out.starts_with(&"&quot;".repeat(10)), "{out}");
        assert!(out.contains("[truncated: 90 more characters]"), "{out}");
    }

    #[test]
    fn an_overlong_link_is_left_out_not_cut() {
        let mut h = Html::new(100_000);
        h.link(&format!("https://x/{}", "'".repeat(500)), "Execution");
        let out = h.finish(100_000);
        assert_eq!(out, "Execution (link left out: its address is too long)");
        let mut h = Html::new(100_000);
        h.link("https://x/a?b=1&c=2", "go");
        assert_eq!(
            h.finish(100_000),
            "<a href=\"https://x/a?b=1&amp;c=2\">go</a>"
        );
    }

    #[test]
    fn respects_the_body_budget_and_char_boundaries() {
        let mut h = Html::new(RESERVE + 10);
        h.text(&"é".repeat(50), 1000);
        let out = h.finish(usize::MAX);
        assert!(out.starts_with("ééééé"), "{out}");
        assert!(out.contains("[truncated: 45 more characters]"), "{out}");
        let mut h = Html::new(usize::MAX);
        h.raw(&"ü".repeat(100));
        let out = h.finish(51);
        assert!(
            out.len() <= 51 && out.ends_with("<p><em>[truncated]</em></p>"),
            "{out}"
        );
    }
}
