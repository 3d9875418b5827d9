//! The DynamoDB adapter, in the dedupe table (`IDEMPOTENCY_TABLE`): same
//! partition key `id`, same TTL attribute `expiration`, so the table's
//! schema does not change. Incidents are `incident#<sha256>` items, beside
//! the claims' bare hashes; `incident-index#00` to `#63` list the live
//! incidents for the flush (a shard each, read a page at a time instead of a
//! Scan; `incident-index#cursor` keeps where the last flush stopped), and
//! `machine#<sha256>` lists a machine's incidents for recovery notes.
//!
//! Only `PutItem` (create), `GetItem` (read), and `UpdateItem` (everything
//! else) are called: every change is one conditional update expression, so
//! concurrent occurrences never overwrite each other. A batch taken for a
//! reply moves from `pending` to `flight` in the one UpdateItem that takes
//! it, with its holder and lease (`flight_owner`, `flight_until`), and stays
//! there until its holder (or whoever takes it over) clears it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::dynamo::{Item, PK, condition_failed, failed, get, n, s};
use ticket_bridge::incident::index::{CURSOR_KEY, SHARDS, index_key, shard_of};
use ticket_bridge::incident::{
    Batch, Change, Creation, Cursor, Guard, InFlight, Incident, IncidentStore, KEPT_BESIDE_FLIGHT,
    Live, Occurrence, Own, PENDING_KEPT, Page, Release, Retake, Status, StoreError, Stored, Take,
    machine_key,
};

const STATUS: &str = "status";
const OWNER: &str = "owner";
const CREATING_UNTIL: &str = "creating_until";
const CASE_UID: &str = "case_uid";
const PREVIOUS_CASE: &str = "previous_case";
const SUBJECT: &str = "subject";
const FIRST_REASON: &str = "first_reason";
const MACHINE: &str = "machine";
const SEQ: &str = "seq";
const FIRST_SEEN: &str = "first_seen";
const LAST_SEEN: &str = "last_seen";
const LAST_REPLY: &str = "last_reply";
const PENDING: &str = "pending";
const PENDING_COUNT: &str = "pending_count";
const RECOVERED: &str = "recovered";
const SUCCESSES: &str = "successes";
const RESOLVED: &str = "resolved";
const MUTED: &str = "muted";
const VERSION: &str = "version";
const EXPIRATION: &str = "expiration";
const FLIGHT: &str = "flight";
const FLIGHT_COUNT: &str = "flight_count";
const FLIGHT_OWNER: &str = "flight_owner";
const FLIGHT_UNTIL: &str = "flight_until";
const FLIGHT_TRIES: &str = "flight_tries";
/// The string set of incident keys in the index items.
const KEYS: &str = "keys";
/// The one flush index item of earlier versions; its keys move to the
/// shards when a flush starts at the top.
const LEGACY_INDEX_KEY: &str = "incident-index";
/// The cursor item's attributes.
const CURSOR_SHARD: &str = "shard";
const CURSOR_AFTER: &str = "after";
const CREATING: &str = "CREATING";
const OPEN: &str = "OPEN";

/// Seen inside the window, and open or created by a creator still alive.
const LIVE: &str =
    "#last_seen >= :ws AND (#status = :open OR (#status = :creating AND #creating_until >= :now))";

/// Also the desk budget's adapter (`budget.rs`): its one item lives in the
/// same table.
pub struct DynamoDb {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
}

/// One conditional update expression, with the names and values it uses
/// (DynamoDB refuses unused ones).
#[derive(Default)]
struct Update {
    expression: String,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn new(expression: impl Into<String>, condition: impl Into<String>) -> Self {
        Update {
            expression: expression.into(),
            condition: condition.into(),
            ..Update::default()
        }
    }

    fn name(mut self, attr: &str) -> Self {
        self.names.insert(format!("#{attr}"), attr.to_owned());
        self
    }

    fn value(mut self, placeholder: &str, v: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), v);
        self
    }

    /// Adds to the condition that the incident is in `status` with `attr`
    /// at `v`: the creator's guard (`CREATING`, its owner) and the open
    /// case's (`OPEN`, its case), which may both apply.
    fn guard_status(mut self, status: &str, attr: &str, v: &str) -> Self {
        let st = format!(":guard_{}", status.to_ascii_lowercase());
        let val = format!(":guard_{attr}");
        self.condition
            .push_str(&format!(" AND #status = {st} AND #{attr} = {val}"));
        self.name(STATUS)
            .name(attr)
            .value(&st, s(status))
            .value(&val, s(v))
    }

    /// The names and values of [`LIVE`].
    fn live(self, live: &Live) -> Self {
        self.name(LAST_SEEN)
            .name(STATUS)
            .name(CREATING_UNTIL)
            .value(":ws", n(live.window_start_ms))
            .value(":now", n(live.now_ms))
            .value(":open", s(OPEN))
            .value(":creating", s(CREATING))
    }
}

impl DynamoDb {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoDb {
            client,
            table: table.into(),
        }
    }

    /// Runs a conditional update of `key`; `Ok(None)` when its condition did
    /// not hold, else the attributes `returns` asks for.
    async fn conditional(
        &self,
        key: &str,
        u: Update,
        returns: ReturnValue,
    ) -> Result<Option<Item>, StoreError> {
        let values = (!u.values.is_empty()).then_some(u.values);
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .update_expression(u.expression)
            .condition_expression(u.condition)
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(values)
            .return_values(returns)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(StoreError(failed(&e))),
        }
    }

    async fn keys_of(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let item = get(&self.client, &self.table, key)
            .await
            .map_err(StoreError)?;
        Ok(item
            .and_then(|mut i| i.remove(KEYS))
            .and_then(|v| v.as_ss().ok().cloned())
            .unwrap_or_default())
    }

    /// Adds `keys` to (or deletes them from) the string set of an index item.
    async fn set_keys(&self, index: &str, keys: &[String], add: bool) -> Result<(), StoreError> {
        let expression = if add {
            "ADD #keys :k"
        } else {
            "DELETE #keys :k"
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(index))
            .update_expression(expression)
            .expression_attribute_names("#keys", KEYS)
            .expression_attribute_values(":k", AttributeValue::Ss(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError(failed(&e)))
    }

    /// Moves the keys of the one index item of earlier versions into the
    /// shards, so an incident listed before an upgrade is still flushed.
    async fn migrate_legacy_index(&self) -> Result<(), StoreError> {
        let legacy = self.keys_of(LEGACY_INDEX_KEY).await?;
        if legacy.is_empty() {
            return Ok(());
        }
        let mut by_shard: HashMap<u32, Vec<String>> = HashMap::new();
        for key in &legacy {
            by_shard.entry(shard_of(key)).or_default().push(key.clone());
        }
        for (shard, keys) in by_shard {
            self.set_keys(&index_key(shard), &keys, true).await?;
        }
        self.set_keys(LEGACY_INDEX_KEY, &legacy, false).await?;
        tracing::info!(
            keys = legacy.len(),
            "flush index of an earlier version moved to its shards"
        );
        Ok(())
    }
}

impl IncidentStore for DynamoDb {
    fn describe(&self) -> &'static str {
        "dynamodb"
    }

    fn read<'a>(&'a self, key: &'a str) -> Stored<'a> {
        Box::pin(async move {
            let item = get(&self.client, &self.table, key)
                .await
                .map_err(StoreError)?;
            Ok(item.as_ref().and_then(incident_of))
        })
    }

    fn create<'a>(&'a self, key: &'a str, new: Creation<'a>) -> Stored<'a, bool> {
        Box::pin(async move {
            let mut names = HashMap::from([("#id".to_owned(), PK.to_owned())]);
            let (condition, values) = match new.replaces {
                None => ("attribute_not_exists(#id)", None),
                Some(v) => {
                    names.insert("#version".to_owned(), VERSION.to_owned());
                    (
                        "attribute_exists(#id) AND #version = :v",
                        Some(HashMap::from([(":v".to_owned(), n(v))])),
                    )
                }
            };
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item_of(key, new.incident, new.expires_s)))
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(values)
                .send()
                .await;
            match put {
                Ok(_) => Ok(true),
                Err(e) if condition_failed(&e) => Ok(false),
                Err(e) => Err(StoreError(failed(&e))),
            }
        })
    }

    fn next_number<'a>(&'a self, key: &'a str, live: Live) -> Stored<'a, Option<u64>> {
        Box::pin(async move {
            let u = Update::new("ADD #seq :one", LIVE)
                .name(SEQ)
                .value(":one", n(1_u64))
                .live(&live);
            Ok(self
                .conditional(key, u, ReturnValue::UpdatedNew)
                .await?
                .and_then(|a| number(&a, SEQ)))
        })
    }

    fn append<'a>(&'a self, key: &'a str, occurrence: &'a Occurrence, live: Live) -> Stored<'a> {
        Box::pin(async move {
            let entry = serde_json::to_string(occurrence)
                .map_err(|_| StoreError("could not serialise an occurrence".to_owned()))?;
            // Kept while there is room (less of it beside a batch in
            // flight), else only counted; a take may empty the list between
            // the two, so alternate a few times.
            for kept in [true, false, true, false] {
                let u = if kept {
                    Update::new(
                        "SET #pending = list_append(if_not_exists(#pending, :empty), :entry), \
                         #last_seen = :now, #expiration = :exp, #successes = :zero \
                         ADD #pending_count :one",
                        format!(
                            "{LIVE} AND (attribute_not_exists(#pending) OR (size(#pending) < :kept \
                             AND (attribute_not_exists(#flight_owner) OR size(#pending) < :beside)))"
                        ),
                    )
                    .value(":empty", AttributeValue::L(Vec::new()))
                    .value(":entry", AttributeValue::L(vec![s(&entry)]))
                } else {
                    Update::new(
                        "SET #last_seen = :now, #expiration = :exp, #successes = :zero \
                         ADD #pending_count :one",
                        format!(
                            "{LIVE} AND attribute_exists(#pending) AND (size(#pending) >= :kept \
                             OR (attribute_exists(#flight_owner) AND size(#pending) >= :beside))"
                        ),
                    )
                };
                let u = u
                    .name(PENDING)
                    .name(PENDING_COUNT)
                    .name(EXPIRATION)
                    .name(FLIGHT_OWNER)
                    .name(SUCCESSES)
                    .value(":zero", n(0_u64))
                    .value(":one", n(1_u64))
                    .value(":kept", n(PENDING_KEPT as u64))
                    .value(":beside", n(KEPT_BESIDE_FLIGHT as u64))
                    .value(":exp", n(live.expires_s))
                    .live(&live);
                if let Some(attrs) = self.conditional(key, u, ReturnValue::AllNew).await? {
                    return Ok(incident_of(&attrs));
                }
            }
            Ok(None)
        })
    }

    fn update<'a>(&'a self, key: &'a str, guard: &'a Guard, change: &'a Change) -> Stored<'a> {
        Box::pin(async move {
            let mut u = Update::new("", "attribute_exists(#id)")
                .name(VERSION)
                .value(":one", n(1_u64));
            u.names.insert("#id".to_owned(), PK.to_owned());
            let mut set: Vec<String> = Vec::new();
            let mut remove: Vec<String> = Vec::new();
            let mut add = vec!["#version :one".to_owned()];
            let fields: [(&str, Option<Option<AttributeValue>>); 13] = [
                (STATUS, change.status.map(|st| Some(s(status_name(st))))),
                (OWNER, change.owner.as_ref().map(|o| o.as_deref().map(s))),
                (CREATING_UNTIL, change.creating_until_ms.map(|t| Some(n(t)))),
                (CASE_UID, change.case_uid.as_deref().map(|c| Some(s(c)))),
                (
                    PREVIOUS_CASE,
                    change.previous_case.as_ref().map(|p| p.as_deref().map(s)),
                ),
                (SUBJECT, change.subject.as_deref().map(|x| Some(s(x)))),
                (
                    FIRST_REASON,
                    change.first_reason.as_ref().map(|r| r.as_deref().map(s)),
                ),
                (LAST_REPLY, change.last_reply_ms.map(|t| Some(n(t)))),
                (LAST_SEEN, change.last_seen_ms.map(|t| Some(n(t)))),
                (
                    RECOVERED,
                    change.recovered.map(|r| Some(AttributeValue::Bool(r))),
                ),
                (SUCCESSES, change.successes.map(|c| Some(n(c)))),
                (RESOLVED, change.resolved_ms.map(|r| r.map(n))),
                (MUTED, change.muted.map(|m| Some(n(m)))),
            ];
            for (attr, value) in fields {
                match value {
                    None => continue,
                    Some(Some(v)) => {
                        set.push(format!("#{attr} = :{attr}"));
                        u = u.name(attr).value(&format!(":{attr}"), v);
                    }
                    Some(None) => {
                        remove.push(format!("#{attr}"));
                        u = u.name(attr);
                    }
                }
            }
            if change.bump_seq {
                add.push("#seq :one".to_owned());
                u = u.name(SEQ);
            }
            let mut expression = String::new();
            if !set.is_empty() {
                expression.push_str(&format!("SET {} ", set.join(", ")));
            }
            if !remove.is_empty() {
                expression.push_str(&format!("REMOVE {} ", remove.join(", ")));
            }
            expression.push_str(&format!("ADD {}", add.join(", ")));
            u.expression = expression;
            if let Some(v) = guard.version {
                u.condition.push_str(" AND #version = :guard_version");
                u = u.value(":guard_version", n(v));
            }
            if let Some(o) = &guard.owner {
                u = u.guard_status(CREATING, OWNER, o);
            }
            if let Some(c) = &guard.open_case {
                u = u.guard_status(OPEN, CASE_UID, c);
            }
            Ok(self
                .conditional(key, u, ReturnValue::AllNew)
                .await?
                .as_ref()
                .and_then(incident_of))
        })
    }

    fn take<'a>(&'a self, key: &'a str, take: Take<'a>) -> Stored<'a, Option<Batch>> {
        Box::pin(async move {
            let seen = match take.seen_last_reply {
                Some(_) => "#last_reply = :seen",
                None => "attribute_not_exists(#last_reply)",
            };
            // The list and its count become the batch in flight in the same
            // write that empties them: no moment holds them nowhere.
            let mut u = Update::new(
                "SET #flight = if_not_exists(#pending, :empty), #flight_count = #pending_count, \
                 #flight_owner = :owner, #flight_until = :until, #flight_tries = :one, \
                 #last_reply = :now, #pending = :empty, #pending_count = :zero",
                format!(
                    "#status = :open AND #case_uid = :case AND #pending_count > :zero AND {seen} \
                     AND attribute_not_exists(#flight_owner)"
                ),
            )
            .name(LAST_REPLY)
            .name(PENDING)
            .name(PENDING_COUNT)
            .name(STATUS)
            .name(CASE_UID)
            .name(FLIGHT)
            .name(FLIGHT_COUNT)
            .name(FLIGHT_OWNER)
            .name(FLIGHT_UNTIL)
            .name(FLIGHT_TRIES)
            .value(":now", n(take.now_ms))
            .value(":empty", AttributeValue::L(Vec::new()))
            .value(":zero", n(0_u64))
            .value(":one", n(1_u64))
            .value(":open", s(OPEN))
            .value(":case", s(take.case_uid))
            .value(":owner", s(take.owner))
            .value(":until", n(take.until_ms));
            if let Some(t) = take.seen_last_reply {
                u = u.value(":seen", n(t));
            }
            Ok(self
                .conditional(key, u, ReturnValue::AllNew)
                .await?
                .as_ref()
                .and_then(incident_of)
                .and_then(|i| i.in_flight)
                .map(|f| f.batch))
        })
    }

    fn retake<'a>(&'a self, key: &'a str, r: Retake<'a>) -> Stored<'a, Option<InFlight>> {
        Box::pin(async move {
            let u = Update::new(
                "SET #flight_owner = :owner, #flight_until = :until, #last_reply = :now \
                 ADD #flight_tries :one",
                "#status = :open AND #case_uid = :case AND #flight_owner = :seen \
                 AND #flight_until < :now",
            )
            .name(STATUS)
            .name(CASE_UID)
            .name(FLIGHT_OWNER)
            .name(FLIGHT_UNTIL)
            .name(FLIGHT_TRIES)
            .name(LAST_REPLY)
            .value(":open", s(OPEN))
            .value(":case", s(r.case_uid))
            .value(":seen", s(r.seen_owner))
            .value(":now", n(r.now_ms))
            .value(":owner", s(r.owner))
            .value(":until", n(r.until_ms))
            .value(":one", n(1_u64));
            Ok(self
                .conditional(key, u, ReturnValue::AllNew)
                .await?
                .as_ref()
                .and_then(incident_of)
                .and_then(|i| i.in_flight))
        })
    }

    fn release<'a>(&'a self, key: &'a str, r: Release<'a>) -> Stored<'a, bool> {
        Box::pin(async move {
            let mut expression = "SET #flight_until = :until".to_owned();
            let mut u = Update::new("", "#flight_owner = :owner")
                .name(FLIGHT_OWNER)
                .name(FLIGHT_UNTIL)
                .value(":owner", s(r.owner))
                .value(":until", n(r.until_ms));
            if let Some(own) = r.own {
                expression.push_str(", #flight_count = #flight_count - :one");
                u = u.name(FLIGHT_COUNT).value(":one", n(1_u64));
                u.condition.push_str(" AND #flight_count > :zero");
                u = u.value(":zero", n(0_u64));
                if let Own::Kept(at) = own {
                    // The holder took this list; nobody else changes it.
                    expression.push_str(&format!(" REMOVE #flight[{at}]"));
                    u = u.name(FLIGHT);
                }
            }
            u.expression = expression;
            Ok(self.conditional(key, u, ReturnValue::None).await?.is_some())
        })
    }

    fn settle<'a>(&'a self, key: &'a str, owner: &'a str) -> Stored<'a, bool> {
        Box::pin(async move {
            let u = Update::new(
                "REMOVE #flight, #flight_count, #flight_owner, #flight_until, #flight_tries",
                "#flight_owner = :owner",
            )
            .name(FLIGHT)
            .name(FLIGHT_COUNT)
            .name(FLIGHT_OWNER)
            .name(FLIGHT_UNTIL)
            .name(FLIGHT_TRIES)
            .value(":owner", s(owner));
            Ok(self.conditional(key, u, ReturnValue::None).await?.is_some())
        })
    }

    fn index<'a>(&'a self, key: &'a str, machine: &'a str) -> Stored<'a, ()> {
        Box::pin(async move {
            let shard = index_key(shard_of(key));
            self.set_keys(&shard, &[key.to_owned()], true).await?;
            self.set_keys(&machine_key(machine), &[key.to_owned()], true)
                .await
        })
    }

    fn indexed<'a>(&'a self, from: &'a Cursor, limit: usize) -> Stored<'a, Page> {
        Box::pin(async move {
            if *from == Cursor::start() {
                self.migrate_legacy_index().await?;
            }
            let mut keys = Vec::new();
            if limit == 0 {
                return Ok(Page::of(keys, from, limit));
            }
            for shard in from.shard..SHARDS {
                let mut listed = self.keys_of(&index_key(shard)).await?;
                listed.sort_unstable();
                for key in listed.into_iter().filter(|k| from.precedes(k)) {
                    keys.push(key);
                    if keys.len() == limit {
                        return Ok(Page::of(keys, from, limit));
                    }
                }
            }
            Ok(Page::of(keys, from, limit))
        })
    }

    fn flush_cursor(&self) -> Stored<'_, Cursor> {
        Box::pin(async move {
            let item = get(&self.client, &self.table, CURSOR_KEY)
                .await
                .map_err(StoreError)?;
            Ok(item
                .map(|i| Cursor {
                    shard: number(&i, CURSOR_SHARD)
                        .and_then(|v| u32::try_from(v).ok())
                        .filter(|v| *v < SHARDS)
                        .unwrap_or(0),
                    after: i.get(CURSOR_AFTER).and_then(|v| v.as_s().ok()).cloned(),
                })
                .unwrap_or_default())
        })
    }

    fn save_flush_cursor<'a>(&'a self, at: &'a Cursor) -> Stored<'a, ()> {
        Box::pin(async move {
            let expression = match at.after {
                Some(_) => "SET #shard = :shard, #after = :after",
                None => "SET #shard = :shard REMOVE #after",
            };
            let mut u = Update::new(expression, "attribute_not_exists(#status)")
                .name(CURSOR_SHARD)
                .name(CURSOR_AFTER)
                .name(STATUS)
                .value(":shard", n(at.shard));
            if let Some(after) = &at.after {
                u = u.value(":after", s(after));
            }
            self.conditional(CURSOR_KEY, u, ReturnValue::None)
                .await
                .map(|_| ())
        })
    }

    fn unindex<'a>(&'a self, key: &'a str, machine: Option<&'a str>) -> Stored<'a, ()> {
        Box::pin(async move {
            let shard = index_key(shard_of(key));
            self.set_keys(&shard, &[key.to_owned()], false).await?;
            match machine {
                Some(m) => {
                    self.set_keys(&machine_key(m), &[key.to_owned()], false)
                        .await
                }
                None => Ok(()),
            }
        })
    }

    fn of_machine<'a>(&'a self, machine: &'a str) -> Stored<'a, Vec<String>> {
        Box::pin(async move { self.keys_of(&machine_key(machine)).await })
    }
}

fn status_name(st: Status) -> &'static str {
    match st {
        Status::Creating => CREATING,
        Status::Open => OPEN,
    }
}

fn item_of(key: &str, i: &Incident, expires_s: u64) -> Item {
    let mut item = HashMap::from([
        (PK.to_owned(), s(key)),
        (STATUS.to_owned(), s(status_name(i.status))),
        (CREATING_UNTIL.to_owned(), n(i.creating_until_ms)),
        (SUBJECT.to_owned(), s(&i.subject)),
        (MACHINE.to_owned(), s(&i.machine)),
        (SEQ.to_owned(), n(i.seq)),
        (FIRST_SEEN.to_owned(), n(i.first_seen_ms)),
        (LAST_SEEN.to_owned(), n(i.last_seen_ms)),
        (PENDING_COUNT.to_owned(), n(i.pending_count)),
        (RECOVERED.to_owned(), AttributeValue::Bool(i.recovered)),
        (SUCCESSES.to_owned(), n(i.successes)),
        (MUTED.to_owned(), n(i.muted)),
        (VERSION.to_owned(), n(i.version)),
        (EXPIRATION.to_owned(), n(expires_s)),
        (PENDING.to_owned(), AttributeValue::L(entries(&i.pending))),
    ]);
    if let Some(f) = &i.in_flight {
        item.insert(
            FLIGHT.to_owned(),
            AttributeValue::L(entries(&f.batch.occurrences)),
        );
        item.insert(FLIGHT_COUNT.to_owned(), n(f.batch.count));
        item.insert(FLIGHT_OWNER.to_owned(), s(&f.owner));
        item.insert(FLIGHT_UNTIL.to_owned(), n(f.until_ms));
        item.insert(FLIGHT_TRIES.to_owned(), n(f.tries));
    }
    let optional = [
        (OWNER, i.owner.as_deref().map(s)),
        (CASE_UID, i.case_uid.as_deref().map(s)),
        (PREVIOUS_CASE, i.previous_case.as_deref().map(s)),
        (FIRST_REASON, i.first_reason.as_deref().map(s)),
        (LAST_REPLY, i.last_reply_ms.map(n)),
        (RESOLVED, i.resolved_ms.map(n)),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            item.insert(k.to_owned(), v);
        }
    }
    item
}

/// An incident from a stored item; `None` when it is not one (an index
/// item, a claim, or one written by a version that stored otherwise).
fn incident_of(item: &Item) -> Option<Incident> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let status = match text(STATUS)?.as_str() {
        CREATING => Status::Creating,
        OPEN => Status::Open,
        _ => return None,
    };
    let pending = occurrences(item, PENDING);
    let in_flight = text(FLIGHT_OWNER).map(|owner| InFlight {
        batch: Batch {
            occurrences: occurrences(item, FLIGHT),
            count: number(item, FLIGHT_COUNT).unwrap_or(0),
        },
        owner,
        until_ms: number(item, FLIGHT_UNTIL).unwrap_or(0),
        tries: number(item, FLIGHT_TRIES)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(1),
    });
    Some(Incident {
        version: number(item, VERSION).unwrap_or(0),
        status,
        owner: text(OWNER),
        creating_until_ms: number(item, CREATING_UNTIL).unwrap_or(0),
        case_uid: text(CASE_UID),
        previous_case: text(PREVIOUS_CASE),
        subject: text(SUBJECT).unwrap_or_default(),
        first_reason: text(FIRST_REASON),
        machine: text(MACHINE).unwrap_or_default(),
        seq: number(item, SEQ).unwrap_or(0),
        first_seen_ms: number(item, FIRST_SEEN).unwrap_or(0),
        last_seen_ms: number(item, LAST_SEEN).unwrap_or(0),
        last_reply_ms: number(item, LAST_REPLY),
        pending,
        pending_count: number(item, PENDING_COUNT).unwrap_or(0),
        recovered: item
            .get(RECOVERED)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        in_flight,
        successes: number(item, SUCCESSES)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0),
        resolved_ms: number(item, RESOLVED),
        muted: number(item, MUTED).unwrap_or(0),
    })
}

/// A list of occurrences as stored: each one JSON string.
fn entries(list: &[Occurrence]) -> Vec<AttributeValue> {
    list.iter()
        .filter_map(|o| serde_json::to_string(o).ok())
        .map(|e| s(&e))
        .collect()
}

/// The occurrences of the list attribute `k` (unreadable entries skipped).
fn occurrences(item: &Item, k: &str) -> Vec<Occurrence> {
    item.get(k)
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|e| e.as_s().ok())
                .filter_map(|e| serde_json::from_str::<Occurrence>(e).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn number(item: &Item, k: &str) -> Option<u64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}
