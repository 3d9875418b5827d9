//! The in-memory adapter: the store of the notifier's unit tests, and of a
//! notifier built without the SDK (`Notifier::new`). Every method mirrors
//! the DynamoDB adapter's conditional writes under one lock, using the same
//! `Live`, `Guard` and `Change` rules.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::index::{Cursor, Page, shard_of};
use super::{
    Batch, Change, Creation, Guard, InFlight, Incident, IncidentStore, KEPT_BESIDE_FLIGHT, Live,
    Occurrence, Own, PENDING_KEPT, Release, Retake, Status, StoreError, Stored, Take, machine_key,
};

#[derive(Default)]
struct State {
    incidents: HashMap<String, Incident>,
    /// The flush index, as (shard, key): the order its pages list keys in.
    index: BTreeSet<(u32, String)>,
    cursor: Option<Cursor>,
    machines: HashMap<String, BTreeSet<String>>,
}

#[derive(Default)]
pub struct Memory {
    state: Mutex<State>,
}

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError("memory incidents poisoned".into()))
    }

    /// Every incident held (tests look inside).
    pub fn incidents(&self) -> Vec<(String, Incident)> {
        self.lock()
            .map(|s| {
                s.incidents
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl IncidentStore for Memory {
    fn describe(&self) -> &'static str {
        "memory"
    }

    fn read<'a>(&'a self, key: &'a str) -> Stored<'a> {
        Box::pin(async move { Ok(self.lock()?.incidents.get(key).cloned()) })
    }

    fn create<'a>(&'a self, key: &'a str, new: Creation<'a>) -> Stored<'a, bool> {
        Box::pin(async move {
            let mut s = self.lock()?;
            let free = match (s.incidents.get(key), new.replaces) {
                (None, None) => true,
                (Some(old), Some(v)) => old.version == v,
                // Nothing to replace (gone since it was read), or one there
                // that this creation does not replace.
                (None, Some(_)) | (Some(_), None) => false,
            };
            if free {
                s.incidents.insert(key.to_owned(), new.incident.clone());
            }
            Ok(free)
        })
    }

    fn next_number<'a>(&'a self, key: &'a str, live: Live) -> Stored<'a, Option<u64>> {
        Box::pin(async move {
            let mut s = self.lock()?;
            Ok(match s.incidents.get_mut(key) {
                Some(i) if live.holds(i) => {
                    i.seq += 1;
                    Some(i.seq)
                }
                _ => None,
            })
        })
    }

    fn append<'a>(&'a self, key: &'a str, occurrence: &'a Occurrence, live: Live) -> Stored<'a> {
        Box::pin(async move {
            let mut s = self.lock()?;
            Ok(match s.incidents.get_mut(key) {
                Some(i) if live.holds(i) => {
                    let room = match i.in_flight {
                        None => PENDING_KEPT,
                        Some(_) => KEPT_BESIDE_FLIGHT,
                    };
                    if i.pending.len() < room {
                        i.pending.push(occurrence.clone());
                    }
                    i.pending_count += 1;
                    i.last_seen_ms = live.now_ms;
                    i.successes = 0;
                    Some(i.clone())
                }
                _ => None,
            })
        })
    }

    fn update<'a>(&'a self, key: &'a str, guard: &'a Guard, change: &'a Change) -> Stored<'a> {
        Box::pin(async move {
            let mut s = self.lock()?;
            Ok(match s.incidents.get_mut(key) {
                Some(i) if guard.holds(i) => {
                    change.apply(i);
                    Some(i.clone())
                }
                _ => None,
            })
        })
    }

    fn take<'a>(&'a self, key: &'a str, take: Take<'a>) -> Stored<'a, Option<Batch>> {
        Box::pin(async move {
            let mut s = self.lock()?;
            Ok(match s.incidents.get_mut(key) {
                Some(i)
                    if i.status == Status::Open
                        && i.case_uid.as_deref() == Some(take.case_uid)
                        && i.last_reply_ms == take.seen_last_reply
                        && i.pending_count > 0
                        && i.in_flight.is_none() =>
                {
                    let batch = Batch {
                        occurrences: std::mem::take(&mut i.pending),
                        count: std::mem::take(&mut i.pending_count),
                    };
                    i.last_reply_ms = Some(take.now_ms);
                    i.in_flight = Some(InFlight {
                        batch: batch.clone(),
                        owner: take.owner.to_owned(),
                        until_ms: take.until_ms,
                        tries: 1,
                    });
                    Some(batch)
                }
                _ => None,
            })
        })
    }

    fn retake<'a>(&'a self, key: &'a str, r: Retake<'a>) -> Stored<'a, Option<InFlight>> {
        Box::pin(async move {
            let mut s = self.lock()?;
            let Some(i) = s.incidents.get_mut(key) else {
                return Ok(None);
            };
            if i.status != Status::Open || i.case_uid.as_deref() != Some(r.case_uid) {
                return Ok(None);
            }
            let held = match &mut i.in_flight {
                Some(f) if f.owner == r.seen_owner && f.lapsed(r.now_ms) => {
                    f.owner = r.owner.to_owned();
                    f.until_ms = r.until_ms;
                    f.tries = f.tries.saturating_add(1);
                    Some(f.clone())
                }
                _ => None,
            };
            if held.is_some() {
                i.last_reply_ms = Some(r.now_ms);
            }
            Ok(held)
        })
    }

    fn release<'a>(&'a self, key: &'a str, r: Release<'a>) -> Stored<'a, bool> {
        Box::pin(async move {
            let mut s = self.lock()?;
            let flight = s.incidents.get_mut(key).and_then(|i| i.in_flight.as_mut());
            Ok(match flight {
                Some(f) if f.owner == r.owner => {
                    f.until_ms = r.until_ms;
                    match r.own {
                        Some(Own::Kept(at)) if at < f.batch.occurrences.len() => {
                            f.batch.occurrences.remove(at);
                            f.batch.count = f.batch.count.saturating_sub(1);
                        }
                        Some(Own::Counted) => f.batch.count = f.batch.count.saturating_sub(1),
                        _ => {}
                    }
                    true
                }
                _ => false,
            })
        })
    }

    fn settle<'a>(&'a self, key: &'a str, owner: &'a str) -> Stored<'a, bool> {
        Box::pin(async move {
            let mut s = self.lock()?;
            Ok(match s.incidents.get_mut(key) {
                Some(i) if i.in_flight.as_ref().is_some_and(|f| f.owner == owner) => {
                    i.in_flight = None;
                    true
                }
                _ => false,
            })
        })
    }

    fn index<'a>(&'a self, key: &'a str, machine: &'a str) -> Stored<'a, ()> {
        Box::pin(async move {
            let mut s = self.lock()?;
            s.index.insert((shard_of(key), key.to_owned()));
            s.machines
                .entry(machine_key(machine))
                .or_default()
                .insert(key.to_owned());
            Ok(())
        })
    }

    fn indexed<'a>(&'a self, from: &'a Cursor, limit: usize) -> Stored<'a, Page> {
        Box::pin(async move {
            let s = self.lock()?;
            let keys: Vec<String> = s
                .index
                .iter()
                .filter(|(_, key)| from.precedes(key))
                .take(limit)
                .map(|(_, key)| key.clone())
                .collect();
            Ok(Page::of(keys, from, limit))
        })
    }

    fn flush_cursor(&self) -> Stored<'_, Cursor> {
        Box::pin(async move { Ok(self.lock()?.cursor.clone().unwrap_or_default()) })
    }

    fn save_flush_cursor<'a>(&'a self, at: &'a Cursor) -> Stored<'a, ()> {
        Box::pin(async move {
            self.lock()?.cursor = Some(at.clone());
            Ok(())
        })
    }

    fn unindex<'a>(&'a self, key: &'a str, machine: Option<&'a str>) -> Stored<'a, ()> {
        Box::pin(async move {
            let mut s = self.lock()?;
            s.index.remove(&(shard_of(key), key.to_owned()));
            if let Some(m) = machine
                && let Some(keys) = s.machines.get_mut(&machine_key(m))
            {
                keys.remove(key);
            }
            Ok(())
        })
    }

    fn of_machine<'a>(&'a self, machine: &'a str) -> Stored<'a, Vec<String>> {
        Box::pin(async move {
            Ok(self
                .lock()?
                .machines
                .get(&machine_key(machine))
                .map(|k| k.iter().cloned().collect())
                .unwrap_or_default())
        })
    }
}
