//! The `IncidentStore` suite: each primitive's conditions and effects as
//! the port documents them (`read`, `create`, `next_number`, `append`,
//! `update`, `take`, the indexes), the outbox (`take` into the batch in
//! flight, `retake`, `release`, `settle`, in `incidents/outbox.rs`), then
//! `incident::record` over the store (one creator per storm, takeover of a
//! lapsed creator, a new incident once the window passed carrying what
//! waited, the kept list), in `incidents/record.rs`.
//!
//! The incident store takes its clock from its caller, so windows and
//! lapses are tested at their exact edges; times are near the real clock
//! all the same, as a table's TTL reads `expiration` against it.

use std::future::Future;
use std::sync::Arc;

use super::{Case, cases, now_ms};
use crate::incident::index::{CURSOR_KEY, SHARDS, index_key, shard_of};
use crate::incident::{
    Batch, Change, Creation, Cursor, Fingerprint, Guard, InFlight, Incident, IncidentStore, Live,
    Occurrence, PENDING_KEPT, Status, Take, completed, machine_key,
};

mod outbox;
mod record;

/// Runs every case, each on a fresh store from `fresh`.
pub async fn run<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn IncidentStore>>,
{
    let all: Vec<Case<dyn IncidentStore>> = CASES
        .iter()
        .chain(outbox::CASES)
        .chain(record::CASES)
        .copied()
        .collect();
    super::run("IncidentStore", &all, fresh).await;
}

const CASES: &[Case<dyn IncidentStore>] = cases![
    only_incidents_read_as_incidents,
    an_incident_reads_back_as_it_was_written,
    create_writes_only_where_there_is_none_or_over_the_version_it_replaces,
    next_number_numbers_live_incidents_only,
    append_adds_to_live_incidents_only,
    past_the_kept_list_an_append_is_only_counted,
    update_applies_a_change_only_where_its_guard_holds,
    update_removes_what_a_change_clears,
    take_gives_the_pending_list_to_one_taker,
    the_indexes_list_incidents_for_the_flush_and_for_recovery,
    the_flush_index_pages_through_every_key_from_a_saved_cursor,
];

const MACHINE: &str = "arn:aws:states:eu-west-1:1:stateMachine:m";
const KEY: &str = "incident#conformance";
const WINDOW_MS: u64 = 600_000;

fn fp(name: &str) -> Fingerprint {
    Fingerprint {
        key: format!("incident#{name}"),
        machine: MACHINE.to_owned(),
    }
}

fn expires_s(now: u64) -> u64 {
    now / 1000 + 3600
}

fn live(now: u64) -> Live {
    Live {
        now_ms: now,
        window_start_ms: now - WINDOW_MS,
        expires_s: expires_s(now),
    }
}

/// Occurrence `number` of execution `name`, redacted and cut as stored.
fn occurrence(number: u64, name: &str) -> Occurrence {
    Occurrence {
        number,
        ..Occurrence::new(
            &format!("arn:aws:states:eu-west-1:1:execution:m:{name}"),
            now_ms(),
            Some("boom"),
        )
    }
}

fn numbers(occurrences: &[Occurrence]) -> Vec<u64> {
    occurrences.iter().map(|o| o.number).collect()
}

/// An incident whose case `creator` is filing until 30 s from `now`.
fn creating(now: u64) -> Incident {
    Incident::creating(&fp("conformance"), "creator", now + 30_000, now, "S", None)
}

/// The open incident of case `C1`, last replied to at `now`, with
/// occurrences 2.. pending.
fn open(now: u64, pending: Vec<Occurrence>) -> Incident {
    let count = pending.len() as u64;
    Incident {
        version: 2,
        status: Status::Open,
        owner: None,
        creating_until_ms: 0,
        case_uid: Some("C1".to_owned()),
        first_reason: Some("boom".to_owned()),
        seq: 1 + count,
        last_reply_ms: Some(now),
        pending,
        pending_count: count,
        ..creating(now)
    }
}

async fn create(store: &dyn IncidentStore, key: &str, i: &Incident, replaces: Option<u64>) -> bool {
    let new = Creation {
        incident: i,
        replaces,
        expires_s: expires_s(i.last_seen_ms),
    };
    store.create(key, new).await.expect("create")
}

async fn read(store: &dyn IncidentStore, key: &str) -> Option<Incident> {
    store.read(key).await.expect("read")
}

async fn only_incidents_read_as_incidents(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    assert_eq!(read(s, KEY).await, None, "nothing written yet");
    let i = open(now_ms(), Vec::new());
    assert!(create(s, KEY, &i, None).await);
    s.index(KEY, MACHINE).await.expect("index");
    s.save_flush_cursor(&Cursor::after(KEY))
        .await
        .expect("save cursor");
    assert_eq!(read(s, KEY).await, Some(i));
    let shard = index_key(shard_of(KEY));
    assert_eq!(read(s, &shard).await, None, "the flush index");
    assert_eq!(read(s, CURSOR_KEY).await, None, "the flush cursor");
    assert_eq!(
        read(s, &machine_key(MACHINE)).await,
        None,
        "a machine index"
    );
}

async fn an_incident_reads_back_as_it_was_written(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let mut quiet = occurrence(3, "e3");
    quiet.reason = None;
    let flying = Batch {
        occurrences: vec![occurrence(5, "e5")],
        count: 3,
    };
    let full = Incident {
        in_flight: Some(InFlight {
            batch: flying,
            owner: "holder".to_owned(),
            until_ms: now + 9,
            tries: 4,
        }),
        version: 7,
        owner: Some("stays-while-open".to_owned()),
        creating_until_ms: now + 1,
        previous_case: Some("C0".to_owned()),
        subject: "[Step Functions] m: Ünïcode — ✓ <b>&amp;".to_owned(),
        seq: 12,
        first_seen_ms: now - 5_000,
        last_seen_ms: now - 1,
        last_reply_ms: Some(now - 2),
        pending_count: 9,
        recovered: true,
        successes: 2,
        resolved_ms: Some(now - 3),
        muted: 11,
        ..open(now, vec![occurrence(2, "e2"), quiet])
    };
    assert!(create(s, "incident#full", &full, None).await);
    assert_eq!(read(s, "incident#full").await, Some(full));
    // Every optional field absent, nothing pending.
    let sparse = Incident {
        owner: None,
        ..creating(now)
    };
    assert!(create(s, "incident#sparse", &sparse, None).await);
    assert_eq!(read(s, "incident#sparse").await, Some(sparse));
}

async fn create_writes_only_where_there_is_none_or_over_the_version_it_replaces(
    store: Arc<dyn IncidentStore>,
) {
    let s = store.as_ref();
    let first = creating(now_ms());
    assert!(create(s, KEY, &first, None).await);
    let second = Incident {
        version: first.version + 1,
        subject: "second".to_owned(),
        previous_case: Some("C1".to_owned()),
        ..first.clone()
    };
    assert!(!create(s, KEY, &second, None).await, "one is there");
    assert!(
        !create(s, KEY, &second, Some(first.version + 1)).await,
        "not the version there"
    );
    assert_eq!(read(s, KEY).await.as_ref(), Some(&first));
    assert!(create(s, KEY, &second, Some(first.version)).await);
    assert_eq!(read(s, KEY).await.as_ref(), Some(&second));
    let third = Incident {
        version: second.version + 1,
        subject: "third".to_owned(),
        ..first.clone()
    };
    assert!(
        !create(s, KEY, &third, Some(first.version)).await,
        "a second replacer that read the first one loses"
    );
    assert_eq!(read(s, KEY).await, Some(second));
    // Replacing what is not there (the TTL deleted it meanwhile) is refused
    // too: the caller reads again and creates afresh.
    assert!(!create(s, "incident#gone", &third, Some(first.version)).await);
    assert_eq!(read(s, "incident#gone").await, None);
}

async fn next_number_numbers_live_incidents_only(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let next = |key: &'static str, live: Live| {
        let s = store.clone();
        async move { s.next_number(key, live).await.expect("next_number") }
    };
    assert_eq!(next("incident#none", live(now)).await, None);
    assert_eq!(read(s, "incident#none").await, None, "no item made");
    let i = creating(now);
    assert!(create(s, KEY, &i, None).await);
    assert_eq!(next(KEY, live(now)).await, Some(2));
    assert_eq!(next(KEY, live(now)).await, Some(3));
    // Its creator's deadline is still live at its very end, not after.
    let at_deadline = live(i.creating_until_ms);
    assert_eq!(next(KEY, at_deadline).await, Some(4));
    let lapsed = live(i.creating_until_ms + 1);
    assert_eq!(next(KEY, lapsed).await, None, "its creator lapsed");
    // Seen at the window's first millisecond: in it; before: not.
    let edge = Live {
        window_start_ms: i.last_seen_ms,
        ..live(now)
    };
    assert_eq!(next(KEY, edge).await, Some(5));
    let outside = Live {
        window_start_ms: i.last_seen_ms + 1,
        ..live(now)
    };
    assert_eq!(next(KEY, outside).await, None, "the window passed");
    let after = read(s, KEY).await.expect("incident");
    assert_eq!(
        (after.seq, after.version, after.pending_count),
        (5, i.version, 0),
        "numbering is not a change of state"
    );
    // An open case has no creator to lapse.
    let o = open(now, Vec::new());
    assert!(create(s, "incident#open", &o, None).await);
    let much_later = live(now + WINDOW_MS);
    assert_eq!(next("incident#open", much_later).await, Some(o.seq + 1));
}

async fn append_adds_to_live_incidents_only(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let e2 = occurrence(2, "e2");
    let absent = s.append("incident#none", &e2, live(now)).await;
    assert_eq!(absent.expect("append"), None);
    assert_eq!(read(s, "incident#none").await, None, "no item made");
    let i = Incident {
        last_seen_ms: now - 1_000,
        ..creating(now)
    };
    assert!(create(s, KEY, &i, None).await);
    let after = s.append(KEY, &e2, live(now)).await.expect("append");
    let want = Incident {
        pending: vec![e2.clone()],
        pending_count: 1,
        last_seen_ms: now,
        ..i.clone()
    };
    assert_eq!(after.as_ref(), Some(&want), "the incident after the append");
    let e3 = occurrence(3, "e3");
    let after = s.append(KEY, &e3, live(now + 5)).await.expect("append");
    let want = Incident {
        pending: vec![e2, e3.clone()],
        pending_count: 2,
        last_seen_ms: now + 5,
        ..want
    };
    assert_eq!(after.as_ref(), Some(&want));
    let lapsed = live(i.creating_until_ms + 1);
    assert_eq!(s.append(KEY, &e3, lapsed).await.expect("append"), None);
    let outside = Live {
        window_start_ms: now + 6,
        ..live(now + 6)
    };
    assert_eq!(s.append(KEY, &e3, outside).await.expect("append"), None);
    assert_eq!(
        read(s, KEY).await,
        Some(want),
        "refused appends change nothing"
    );
    // An open incident takes appends whatever its old creating deadline,
    // and a failure ends its run of successes (whatever else it carries).
    let o = Incident {
        successes: 2,
        resolved_ms: Some(now - 1),
        muted: 4,
        ..open(now, Vec::new())
    };
    assert!(create(s, "incident#open", &o, None).await);
    let appended = s.append("incident#open", &e3, live(now + WINDOW_MS)).await;
    let appended = appended.expect("append").expect("an open incident is live");
    assert_eq!(
        (numbers(&appended.pending), appended.pending_count),
        (vec![3], 1)
    );
    assert_eq!(
        (appended.successes, appended.resolved_ms, appended.muted),
        (0, Some(now - 1), 4),
        "an append sets successes back to 0 and keeps the rest"
    );
}

async fn past_the_kept_list_an_append_is_only_counted(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let kept: Vec<Occurrence> = (2..PENDING_KEPT as u64 + 1)
        .map(|n| occurrence(n, &format!("e{n}")))
        .collect();
    assert_eq!(kept.len(), PENDING_KEPT - 1);
    assert!(create(s, KEY, &open(now, kept), None).await);
    for n in 0..3 {
        let o = occurrence(PENDING_KEPT as u64 + 1 + n, "late");
        s.append(KEY, &o, live(now)).await.expect("append");
    }
    let i = read(s, KEY).await.expect("incident");
    assert_eq!(i.pending.len(), PENDING_KEPT, "the last room is used");
    assert_eq!(
        i.pending.last().map(|o| o.number),
        Some(PENDING_KEPT as u64 + 1)
    );
    assert_eq!(i.pending_count, PENDING_KEPT as u64 + 2);
    let take = Take {
        case_uid: "C1",
        seen_last_reply: i.last_reply_ms,
        now_ms: now + 1,
        owner: "taker",
        until_ms: now + 30_000,
    };
    let batch = s.take(KEY, take).await.expect("take").expect("taken");
    assert_eq!(
        (batch.occurrences.len(), batch.unlisted()),
        (PENDING_KEPT, 2)
    );
    let o = occurrence(PENDING_KEPT as u64 + 4, "after");
    let after = s.append(KEY, &o, live(now + 2)).await.expect("append");
    let after = after.expect("appended");
    assert_eq!(
        (numbers(&after.pending), after.pending_count),
        (vec![o.number], 1),
        "a take makes room again"
    );
}

async fn update_applies_a_change_only_where_its_guard_holds(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let i = creating(now);
    assert!(create(s, KEY, &i, None).await);
    let done = completed("C1", "S1", Some("boom".to_owned()), now + 1);
    let refused = [
        Guard {
            version: Some(i.version + 1),
            ..Guard::default()
        },
        Guard::owned_by("another-creator"),
        Guard {
            open_case: Some("C1".to_owned()),
            ..Guard::default()
        },
        Guard {
            version: Some(i.version),
            ..Guard::owned_by("another-creator")
        },
    ];
    for guard in &refused {
        let got = s.update(KEY, guard, &done).await.expect("update");
        assert_eq!(got, None, "{guard:?}");
    }
    let nowhere = s.update("incident#none", &Guard::default(), &done).await;
    assert_eq!(nowhere.expect("update"), None, "no incident to change");
    assert_eq!(read(s, "incident#none").await, None, "no item made");
    assert_eq!(read(s, KEY).await.as_ref(), Some(&i), "refused: unchanged");

    let owner = Guard {
        version: Some(i.version),
        ..Guard::owned_by("creator")
    };
    let got = s.update(KEY, &owner, &done).await.expect("update");
    let mut want = i.clone();
    done.apply(&mut want);
    assert_eq!(
        want.version,
        i.version + 1,
        "every change bumps the version"
    );
    assert_eq!(got.as_ref(), Some(&want), "the incident after the change");
    assert_eq!(read(s, KEY).await.as_ref(), Some(&want));

    // Open now: the creator's guard no longer holds, the case's does.
    let note = Change {
        recovered: Some(true),
        last_seen_ms: Some(now + 2),
        bump_seq: true,
        ..Change::default()
    };
    let late = s.update(KEY, &Guard::owned_by("creator"), &note).await;
    assert_eq!(late.expect("update"), None);
    let other_case = Guard {
        open_case: Some("C2".to_owned()),
        ..Guard::default()
    };
    let got = s.update(KEY, &other_case, &note).await.expect("update");
    assert_eq!(got, None);
    let this_case = Guard {
        open_case: Some("C1".to_owned()),
        version: Some(want.version),
        ..Guard::default()
    };
    let got = s.update(KEY, &this_case, &note).await.expect("update");
    note.apply(&mut want);
    assert_eq!(got.as_ref(), Some(&want));
    assert_eq!(read(s, KEY).await, Some(want));
}

async fn update_removes_what_a_change_clears(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let i = Incident {
        owner: Some("tok".to_owned()),
        previous_case: Some("C0".to_owned()),
        resolved_ms: Some(now - 5),
        ..open(now, Vec::new())
    };
    assert!(create(s, KEY, &i, None).await);
    // Reopening as a new creation: every field a transition may set.
    let change = Change {
        status: Some(Status::Creating),
        owner: Some(None),
        creating_until_ms: Some(now + 9),
        case_uid: Some("C2".to_owned()),
        previous_case: Some(None),
        subject: Some("S2".to_owned()),
        first_reason: Some(None),
        last_reply_ms: Some(now + 8),
        last_seen_ms: Some(now + 7),
        recovered: Some(true),
        successes: Some(3),
        resolved_ms: Some(None),
        muted: Some(6),
        bump_seq: true,
    };
    let got = s.update(KEY, &Guard::default(), &change).await;
    let mut want = i;
    change.apply(&mut want);
    assert_eq!(
        (&want.owner, &want.previous_case, &want.first_reason),
        (&None, &None, &None)
    );
    assert_eq!((want.successes, want.resolved_ms, want.muted), (3, None, 6));
    assert_eq!(got.expect("update").as_ref(), Some(&want));
    assert_eq!(read(s, KEY).await, Some(want));
}

async fn take_gives_the_pending_list_to_one_taker(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let now = now_ms();
    let i = open(now, vec![occurrence(2, "e2"), occurrence(3, "e3")]);
    assert!(create(s, KEY, &i, None).await);
    let take = Take {
        case_uid: "C1",
        seen_last_reply: Some(now),
        now_ms: now + 10,
        owner: "taker",
        until_ms: now + 30_000,
    };
    let refused = [
        Take {
            case_uid: "C2",
            ..take
        },
        Take {
            seen_last_reply: Some(now - 1),
            ..take
        },
        Take {
            seen_last_reply: None,
            ..take
        },
    ];
    for t in refused {
        assert_eq!(s.take(KEY, t).await.expect("take"), None, "{t:?}");
    }
    let batch = s.take(KEY, take).await.expect("take");
    let want = Batch {
        occurrences: i.pending.clone(),
        count: 2,
    };
    assert_eq!(batch.as_ref(), Some(&want), "the first taker wins the list");
    let second = Take {
        owner: "second",
        ..take
    };
    assert_eq!(
        s.take(KEY, second).await.expect("take"),
        None,
        "the second saw a last reply that is no more"
    );
    let after = read(s, KEY).await.expect("incident");
    let in_flight = Incident {
        pending: Vec::new(),
        pending_count: 0,
        last_reply_ms: Some(now + 10),
        in_flight: Some(InFlight {
            batch: want,
            owner: "taker".to_owned(),
            until_ms: now + 30_000,
            tries: 1,
        }),
        ..i
    };
    assert_eq!(
        after, in_flight,
        "taken into the batch in flight in the same write; not a change of state (version)"
    );
    let nothing = Take {
        seen_last_reply: Some(now + 10),
        now_ms: now + 20,
        ..take
    };
    assert_eq!(s.take(KEY, nothing).await.expect("take"), None, "none left");

    // Never replied to: the taker saw no last reply.
    let fresh = Incident {
        last_reply_ms: None,
        ..open(now, vec![occurrence(2, "e2")])
    };
    assert!(create(s, "incident#fresh", &fresh, None).await);
    assert_eq!(s.take("incident#fresh", take).await.expect("take"), None);
    let first = Take {
        seen_last_reply: None,
        ..take
    };
    let batch = s.take("incident#fresh", first).await.expect("take");
    assert_eq!(batch.map(|b| b.count), Some(1));
    // A case still being filed has no replies to take for.
    let mut filing = creating(now);
    filing.pending = vec![occurrence(2, "e2")];
    filing.pending_count = 1;
    assert!(create(s, "incident#filing", &filing, None).await);
    let t = s.take("incident#filing", first).await;
    assert_eq!(t.expect("take"), None);
}

async fn the_indexes_list_incidents_for_the_flush_and_for_recovery(store: Arc<dyn IncidentStore>) {
    let s = store.as_ref();
    let (a, b) = (fp("index-a"), fp("index-b"));
    let other = Fingerprint {
        machine: "arn:aws:states:eu-west-1:1:stateMachine:other".to_owned(),
        ..fp("index-c")
    };
    assert!(listed(s).await.is_empty());
    for f in [&a, &b, &a, &other] {
        s.index(&f.key, &f.machine).await.expect("index");
    }
    let sorted = |mut keys: Vec<String>| {
        keys.sort();
        keys
    };
    assert_eq!(
        sorted(listed(s).await),
        vec![a.key.clone(), b.key.clone(), other.key.clone()]
    );
    let of_m = sorted(s.of_machine(MACHINE).await.expect("of_machine"));
    assert_eq!(of_m, vec![a.key.clone(), b.key.clone()]);
    s.unindex(&a.key, Some(&a.machine)).await.expect("unindex");
    assert_eq!(
        sorted(listed(s).await),
        vec![b.key.clone(), other.key.clone()]
    );
    assert_eq!(
        s.of_machine(MACHINE).await.expect("of_machine"),
        vec![b.key.clone()]
    );
    // Out of the flush index only: recovery still finds it.
    s.unindex(&other.key, None).await.expect("unindex");
    assert_eq!(listed(s).await, vec![b.key.clone()]);
    assert_eq!(
        s.of_machine(&other.machine).await.expect("of_machine"),
        vec![other.key.clone()]
    );
    s.unindex(&b.key, Some(&b.machine)).await.expect("unindex");
    s.unindex(&b.key, Some(&b.machine))
        .await
        .expect("unindex twice");
    assert!(listed(s).await.is_empty());
    assert!(s.of_machine(MACHINE).await.expect("of_machine").is_empty());
    assert!(
        s.of_machine("arn:aws:states:eu-west-1:1:stateMachine:none")
            .await
            .expect("of_machine")
            .is_empty()
    );
}

/// Every key of the flush index, page after page from the start.
async fn listed(s: &dyn IncidentStore) -> Vec<String> {
    let mut at = Cursor::start();
    let mut keys = Vec::new();
    loop {
        let page = s.indexed(&at, 7).await.expect("indexed");
        keys.extend(page.keys);
        match page.next {
            Some(next) => at = next,
            None => return keys,
        }
    }
}

async fn the_flush_index_pages_through_every_key_from_a_saved_cursor(
    store: Arc<dyn IncidentStore>,
) {
    let s = store.as_ref();
    assert_eq!(s.flush_cursor().await.expect("cursor"), Cursor::start());
    let keys: Vec<String> = (0..300).map(|i| format!("incident#page-{i:03}")).collect();
    for k in &keys {
        s.index(k, MACHINE).await.expect("index");
    }
    let shards: std::collections::BTreeSet<u32> = keys.iter().map(|k| shard_of(k)).collect();
    assert!(shards.len() > SHARDS as usize / 2, "spread: {shards:?}");
    // In (shard, key) order, each once, a page at most `limit` long.
    let mut want = keys.clone();
    want.sort_by_key(|k| (shard_of(k), k.clone()));
    let mut at = Cursor::start();
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = s.indexed(&at, 40).await.expect("indexed");
        assert!(page.keys.len() <= 40);
        assert!(
            page.keys.iter().all(|k| at.precedes(k)),
            "only after {at:?}"
        );
        pages += 1;
        got.extend(page.keys);
        match page.next {
            Some(next) => at = next,
            None => break,
        }
    }
    assert_eq!(got, want);
    assert!((8..=9).contains(&pages), "{pages} pages of 40 for 300");
    // From the middle of a shard: only what follows.
    let middle = Cursor::after(&want[150]);
    let rest = s.indexed(&middle, 1_000).await.expect("indexed");
    assert_eq!(rest.keys, want[151..].to_vec());
    assert_eq!(rest.next, None, "a page that is not full ends the index");
    let none = s.indexed(&middle, 0).await.expect("indexed");
    assert_eq!((none.keys.len(), none.next), (0, Some(middle.clone())));
    // The flush keeps where it stopped, for the next.
    s.save_flush_cursor(&middle).await.expect("save");
    assert_eq!(s.flush_cursor().await.expect("cursor"), middle);
    s.save_flush_cursor(&Cursor::start()).await.expect("save");
    assert_eq!(s.flush_cursor().await.expect("cursor"), Cursor::start());
}
