//! The in-memory adapter: the store of the notifier's unit tests, and of a
//! notifier built without the SDK (`Notifier::new`). Every method mirrors
//! the DynamoDB adapter's conditional writes under one lock, using the same
//! `Live`, `Guard` and `Change` rules.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    Batch, Change, Creation, Guard, Incident, IncidentStore, Live, Occurrence, PENDING_KEPT,
    Status, StoreError, Stored, Take, machine_key,
};

#[derive(Default)]
struct State {
    incidents: HashMap<String, Incident>,
    index: BTreeSet<String>,
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
                    if i.pending.len() < PENDING_KEPT {
                        i.pending.push(occurrence.clone());
                    }
                    i.pending_count += 1;
                    i.last_seen_ms = live.now_ms;
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
                        && i.pending_count > 0 =>
                {
                    let batch = Batch {
                        occurrences: std::mem::take(&mut i.pending),
                        count: std::mem::take(&mut i.pending_count),
                        previous_reply_ms: i.last_reply_ms,
                    };
                    i.last_reply_ms = Some(take.now_ms);
                    Some(batch)
                }
                _ => None,
            })
        })
    }

    fn restore<'a>(&'a self, key: &'a str, batch: &'a Batch) -> Stored<'a, ()> {
        Box::pin(async move {
            let mut s = self.lock()?;
            if let Some(i) = s.incidents.get_mut(key) {
                let newer = std::mem::take(&mut i.pending);
                i.pending = batch.occurrences.iter().cloned().chain(newer).collect();
                i.pending_count += batch.count;
                i.last_reply_ms = batch.previous_reply_ms;
            }
            Ok(())
        })
    }

    fn index<'a>(&'a self, key: &'a str, machine: &'a str) -> Stored<'a, ()> {
        Box::pin(async move {
            let mut s = self.lock()?;
            s.index.insert(key.to_owned());
            s.machines
                .entry(machine_key(machine))
                .or_default()
                .insert(key.to_owned());
            Ok(())
        })
    }

    fn indexed(&self, limit: usize) -> Stored<'_, Vec<String>> {
        Box::pin(async move { Ok(self.lock()?.index.iter().take(limit).cloned().collect()) })
    }

    fn unindex<'a>(&'a self, key: &'a str, machine: Option<&'a str>) -> Stored<'a, ()> {
        Box::pin(async move {
            let mut s = self.lock()?;
            s.index.remove(key);
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
