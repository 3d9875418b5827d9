//! The per-container adapter: without a table, a warm container still stops
//! repeats that land on it. Also the store of the notifier's unit tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::{Claim, ClaimStore, Filed, Lease, Owner, Settled, StoreError, Stored};

/// Failures the per-container guard remembers at most.
pub(super) const MEMORY_MAX: usize = 1024;

#[derive(Debug, Clone)]
struct Record {
    /// The holder's token: complete and release only by it.
    owner: Owner,
    done: Option<(String, String)>,
    in_progress_until: SystemTime,
    expires: SystemTime,
}

#[derive(Default)]
pub struct Memory {
    records: Mutex<HashMap<String, Record>>,
}

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, HashMap<String, Record>>, StoreError> {
        self.records
            .lock()
            .map_err(|_| StoreError("memory guard poisoned".into()))
    }

    /// Records held now (tests check the bound).
    pub fn len(&self) -> usize {
        self.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn holds(&self, key: &str) -> bool {
        self.lock().is_ok_and(|m| m.contains_key(key))
    }

    /// The record at `key` that `owner` holds in progress, if any.
    fn held<'m>(
        map: &'m mut HashMap<String, Record>,
        key: &str,
        owner: &Owner,
    ) -> Option<&'m mut Record> {
        let now = SystemTime::now();
        map.get_mut(key)
            .filter(|r| r.expires > now && r.done.is_none() && r.owner == *owner)
    }

    fn state(r: Option<&Record>, now: SystemTime) -> Claim {
        // An expired record is gone, as in the table (whose TTL may not
        // have deleted it yet, but whose reads and writes treat it so).
        match r.filter(|r| r.expires > now) {
            Some(Record {
                done: Some((case_uid, subject)),
                ..
            }) => Claim::Done {
                case_uid: case_uid.clone(),
                subject: subject.clone(),
            },
            Some(r) if r.in_progress_until > now => Claim::InProgress,
            // Absent, or its holder's deadline passed: free to claim.
            _ => Claim::New,
        }
    }
}

impl ClaimStore for Memory {
    fn claim<'a>(&'a self, key: &'a str, lease: &'a Lease) -> Stored<'a, Claim> {
        Box::pin(async move {
            let now = SystemTime::now();
            let mut map = self.lock()?;
            map.retain(|_, r| r.expires > now);
            // A warm container only needs recent failures; past the cap,
            // forget the oldest rather than grow without bound.
            while map.len() >= MEMORY_MAX {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, r)| r.expires)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => map.remove(&k),
                    None => break,
                };
            }
            match Self::state(map.get(key), now) {
                Claim::New => {}
                other => return Ok(other),
            }
            map.insert(
                key.to_owned(),
                Record {
                    owner: lease.owner.clone(),
                    done: None,
                    in_progress_until: lease.in_progress_until,
                    expires: lease.expires,
                },
            );
            Ok(Claim::New)
        })
    }

    fn existing<'a>(&'a self, key: &'a str) -> Stored<'a, Claim> {
        Box::pin(async move { Ok(Self::state(self.lock()?.get(key), SystemTime::now())) })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        owner: &'a Owner,
        filed: Filed<'a>,
    ) -> Stored<'a, Settled> {
        Box::pin(async move {
            let mut map = self.lock()?;
            let Some(r) = Self::held(&mut map, key, owner) else {
                return Ok(Settled::NotOwner);
            };
            r.done = Some((filed.case_uid.to_owned(), filed.subject.to_owned()));
            r.in_progress_until = SystemTime::now();
            r.expires = filed.expires;
            Ok(Settled::Applied)
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a Owner) -> Stored<'a, Settled> {
        Box::pin(async move {
            let mut map = self.lock()?;
            // Only a claim in progress: a result stays for later copies.
            if Self::held(&mut map, key, owner).is_none() {
                return Ok(Settled::NotOwner);
            }
            map.remove(key);
            Ok(Settled::Applied)
        })
    }

    fn describe(&self) -> &'static str {
        "memory"
    }
}
