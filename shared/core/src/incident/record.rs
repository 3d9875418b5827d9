//! Recording one occurrence: the conditional writes that make a storm one
//! creator and many appends, and the changes that finish a creation.

use super::fingerprint::hex;
use super::{
    Batch, Change, Creation, Fingerprint, Guard, InFlight, Incident, IncidentStore, Live,
    Occurrence, Status, StoreError, Timing,
};

/// How many times [`record`] re-reads an incident that changed under it.
const RECORD_TRIES: usize = 8;

/// How recording an occurrence went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// This invocation files the case (the incident is new, its window
    /// passed, or its creator lapsed), and completes or abandons it.
    Create {
        token: String,
        number: u64,
        /// The earlier case the new one links, if any.
        previous_case: Option<String>,
        first_seen_ms: u64,
        /// What the expired incident still had waiting (pending and in
        /// flight): the new case lists it. It is the new incident's batch
        /// in flight, held by this creator, so a creator that dies leaves
        /// it to be posted as a reply on whichever case is filed.
        carried: Option<Batch>,
    },
    /// Appended to an incident whose case another invocation is filing.
    Creating { number: u64 },
    /// Appended to an open incident (as it is after the append).
    Open {
        incident: Box<Incident>,
        number: u64,
    },
}

/// Records one occurrence of `fp`: appends it to the live incident, or
/// makes this invocation its creator. `occurrence.number` is filled in.
pub async fn record(
    store: &dyn IncidentStore,
    fp: &Fingerprint,
    occurrence: &Occurrence,
    subject: &str,
    t: Timing,
) -> Result<Recorded, StoreError> {
    let live = Live {
        now_ms: t.now_ms,
        window_start_ms: t.window_start_ms,
        expires_s: t.expires_s,
    };
    for _ in 0..RECORD_TRIES {
        if let Some(number) = store.next_number(&fp.key, live).await? {
            let occ = Occurrence {
                number,
                ..occurrence.clone()
            };
            if let Some(incident) = store.append(&fp.key, &occ, live).await? {
                return Ok(match incident.status {
                    Status::Open => Recorded::Open {
                        incident: Box::new(incident),
                        number,
                    },
                    Status::Creating => Recorded::Creating { number },
                });
            }
            // It changed between numbering and appending (closed, lapsed):
            // the number is spent; decide again from what is stored.
        }
        let token = new_token();
        match store.read(&fp.key).await? {
            None => {
                let fresh =
                    Incident::creating(fp, &token, t.creating_until_ms, t.now_ms, subject, None);
                let new = Creation {
                    incident: &fresh,
                    replaces: None,
                    expires_s: t.expires_s,
                };
                if store.create(&fp.key, new).await? {
                    return Ok(created(token, &fresh));
                }
            }
            Some(old) if !old.live(t.window_start_ms) => {
                // The window passed: a new incident, linking the old case
                // and carrying what waited for it.
                let previous = old.case_uid.clone().or(old.previous_case.clone());
                let carried = carried(&old).map(|batch| InFlight {
                    batch,
                    owner: token.clone(),
                    until_ms: t.creating_until_ms,
                    tries: 1,
                });
                let fresh = Incident {
                    in_flight: carried,
                    // Never the version replaced: a second replacer that
                    // read the old one must fail its condition.
                    version: old.version + 1,
                    ..Incident::creating(
                        fp,
                        &token,
                        t.creating_until_ms,
                        t.now_ms,
                        subject,
                        previous,
                    )
                };
                let new = Creation {
                    incident: &fresh,
                    replaces: Some(old.version),
                    expires_s: t.expires_s,
                };
                if store.create(&fp.key, new).await? {
                    return Ok(created(token, &fresh));
                }
            }
            Some(old) if old.lapsed(t.now_ms) => {
                // Its creator died mid-delivery: take it over, keeping
                // what was appended meanwhile.
                let change = Change {
                    owner: Some(Some(token.clone())),
                    creating_until_ms: Some(t.creating_until_ms),
                    last_seen_ms: Some(t.now_ms),
                    subject: Some(subject.to_owned()),
                    bump_seq: true,
                    ..Change::default()
                };
                let guard = Guard {
                    version: Some(old.version),
                    ..Guard::default()
                };
                if let Some(now) = store.update(&fp.key, &guard, &change).await? {
                    return Ok(created(token, &now));
                }
            }
            // Live again (another invocation just created or took it over).
            Some(_) => {}
        }
    }
    Err(StoreError(
        "the incident kept changing while this occurrence was recorded".to_owned(),
    ))
}

fn created(token: String, incident: &Incident) -> Recorded {
    Recorded::Create {
        number: incident.seq,
        previous_case: incident.previous_case.clone(),
        first_seen_ms: incident.first_seen_ms,
        carried: incident
            .in_flight
            .as_ref()
            .filter(|f| f.owner == token)
            .map(|f| f.batch.clone()),
        token,
    }
}

/// What an expired incident had not yet put on its case: its batch in
/// flight, then its pending occurrences, kept up to the list's size.
fn carried(old: &Incident) -> Option<Batch> {
    let flight = old
        .in_flight
        .as_ref()
        .map(|f| f.batch.clone())
        .unwrap_or_default();
    let pending = Batch {
        occurrences: old.pending.clone(),
        count: old.pending_count,
    };
    Some(flight.then(&pending)).filter(|b| !b.is_empty())
}

/// A token naming one creator; random, so two invocations never share one.
pub fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 12] = rand::rng().random();
    hex(&bytes)
}

/// The change that makes a created case the incident's case.
pub fn completed(
    case_uid: &str,
    subject: &str,
    first_reason: Option<String>,
    now_ms: u64,
) -> Change {
    Change {
        status: Some(Status::Open),
        owner: Some(None),
        creating_until_ms: Some(0),
        case_uid: Some(case_uid.to_owned()),
        subject: Some(subject.to_owned()),
        first_reason: Some(first_reason),
        last_reply_ms: Some(now_ms),
        recovered: Some(false),
        successes: Some(0),
        resolved_ms: Some(None),
        muted: Some(0),
        ..Change::default()
    }
}
