//! The flush index: which incidents the flush looks at, without scanning.
//!
//! One item cannot list them all: a DynamoDB item holds 400 KB, about 5,000
//! keys, and a flush that always starts at the top reaches the same few
//! hundred every time. So the index is [`SHARDS`] items, a key hashed to
//! one of them ([`shard_of`]); a page lists keys in (shard, key) order from
//! a [`Cursor`]; and the flush saves the cursor where it stopped, so the
//! next flush carries on from there and successive flushes go round every
//! listed incident, however many there are (up to about 5,000 per shard,
//! 320,000 live incidents, before an item fills).

/// How many items the flush index is spread over.
pub const SHARDS: u32 = 64;

/// The key of shard `shard` of the flush index.
pub fn index_key(shard: u32) -> String {
    format!("incident-index#{shard:02}")
}

/// The item that keeps where the last flush stopped.
pub const CURSOR_KEY: &str = "incident-index#cursor";

/// Which shard lists `key`: FNV-1a of the key, so every adapter (and every
/// version of the code) puts a key in the same shard.
pub fn shard_of(key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % SHARDS
}

/// A place in the flush index: before every key of `shard` (`after:
/// None`), or just after `after`, one of its keys. Ordered as the index is
/// read: by shard, then by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub shard: u32,
    pub after: Option<String>,
}

impl Cursor {
    /// The start of the index.
    pub fn start() -> Self {
        Cursor::default()
    }

    /// Just after `key`.
    pub fn after(key: &str) -> Self {
        Cursor {
            shard: shard_of(key),
            after: Some(key.to_owned()),
        }
    }

    /// Whether `key` comes after this place (a page from here lists it).
    pub fn precedes(&self, key: &str) -> bool {
        Cursor::after(key) > *self
    }
}

/// Keys of the flush index from a cursor on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// In (shard, key) order.
    pub keys: Vec<String>,
    /// Where the next page starts: after the last key of a full page;
    /// `None` when the page is not full, so the index ended (a full page
    /// at the very end is followed by an empty one).
    pub next: Option<Cursor>,
}

impl Page {
    /// The page of `keys`, read from `from` with room for `limit`.
    pub fn of(keys: Vec<String>, from: &Cursor, limit: usize) -> Self {
        let next = (keys.len() >= limit).then(|| match keys.last() {
            Some(last) => Cursor::after(last),
            None => from.clone(),
        });
        Page { keys, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_every_shard_and_cursors_order_as_the_index_is_read() {
        let mut seen = [0_u32; SHARDS as usize];
        for i in 0..6_400 {
            seen[shard_of(&format!("incident#{i:064x}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50 && n < 150), "{seen:?}");
        assert_eq!(shard_of("incident#a"), shard_of("incident#a"));
        assert_eq!(index_key(7), "incident-index#07");

        let k = "incident#a";
        let at = Cursor::after(k);
        assert!(!at.precedes(k), "a key is not after itself");
        assert!(Cursor::start().precedes(k));
        let shard_start = Cursor {
            shard: shard_of(k),
            after: None,
        };
        assert!(shard_start.precedes(k) && shard_start < at);
        let later = Cursor {
            shard: shard_of(k) + 1,
            after: None,
        };
        assert!(!later.precedes(k) && later > at);
    }
}
