//! The desk's budget: how many requests a second every container together
//! may send the support desk for incidents (`DESK_REQUESTS_PER_SECOND`).
//!
//! The desk limits requests per API key, not per container. A storm of many
//! incidents makes every incident due for a reply at once; each container
//! waiting out its own `429` still sends the desk several times what it
//! takes, and every reply queued behind a 429 makes its failure wait. So
//! the containers count what they send in one shared counter per second
//! (an item of the incident table, or memory for one container), and:
//!
//! - a reply is sent only if the second has room for it ([`Budget::try_spend`]);
//!   otherwise its occurrences wait in their incident, and the next
//!   occurrence or the flush posts them, all in one reply;
//! - a new case waits for room while its invocation has time, then is filed
//!   whatever the budget says ([`Budget::make_room`]): a failure nobody has
//!   seen is never held back, and waiting here beats a 429's round trip;
//! - the flush waits for room ([`Budget::wait`]), within its deadline;
//! - what is sent anyway (a batch taken over, a close) is counted
//!   ([`Budget::charge`]).
//!
//! So the desk's requests grow with incidents and time, not with
//! occurrences. A budget store that fails lets the request through: the
//! desk's own 429 is still the last word, and nothing waits on the table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::BoxFuture;

#[derive(Debug, thiserror::Error)]
#[error("desk budget: {0}")]
pub struct BudgetError(pub String);

/// Where the per-second count lives: a port, so every container of the
/// notifier shares one (DynamoDB), and tests run on memory.
pub trait BudgetStore: Send + Sync {
    /// Adds `cost` to the count of second `second`, starting it at 0 when
    /// the stored second is older, if the count stays within `limit`
    /// (`None`: always); whether it was added.
    fn spend(
        &self,
        second: u64,
        cost: u32,
        limit: Option<u32>,
    ) -> BoxFuture<'_, Result<bool, BudgetError>>;
}

/// One container's count: the budget of a notifier without a table.
#[derive(Debug, Default)]
pub struct MemoryBudget {
    /// (second, spent in it)
    count: Mutex<(u64, u32)>,
}

impl MemoryBudget {
    pub fn new() -> Self {
        Self::default()
    }
}

impl BudgetStore for MemoryBudget {
    fn spend(
        &self,
        second: u64,
        cost: u32,
        limit: Option<u32>,
    ) -> BoxFuture<'_, Result<bool, BudgetError>> {
        Box::pin(async move {
            let mut count = self
                .count
                .lock()
                .map_err(|_| BudgetError("poisoned".to_owned()))?;
            if count.0 < second {
                *count = (second, 0);
            }
            if count.0 > second {
                // A container whose clock is behind: its second is over.
                return Ok(false);
            }
            let spent = count.1.saturating_add(cost);
            if limit.is_some_and(|l| spent > l) {
                return Ok(false);
            }
            count.1 = spent;
            Ok(true)
        })
    }
}

/// The requests one reply takes: the case read that tells open, closed and
/// muted apart, then the reply.
pub const REPLY_COST: u32 = 2;

/// A budget of `per_second` desk requests, over a store shared by every
/// container. `per_second` 0 is no budget: nothing is counted.
pub struct Budget {
    store: Arc<dyn BudgetStore>,
    per_second: u32,
    /// The last second this container found full, so the occurrences of
    /// that second coalesce without asking the store again.
    full: AtomicU64,
}

impl Budget {
    pub fn new(store: Arc<dyn BudgetStore>, per_second: u32) -> Self {
        Budget {
            store,
            per_second,
            full: AtomicU64::new(0),
        }
    }

    /// The same limit over another store.
    pub fn on(self, store: Arc<dyn BudgetStore>) -> Self {
        Budget::new(store, self.per_second)
    }

    /// Spends `cost` if this second has room for it; whether it did. An
    /// occurrence that gets `false` leaves its reply to a later one.
    pub async fn try_spend(&self, cost: u32) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let second = now_second();
        if self.full.load(Ordering::Relaxed) == second {
            return false;
        }
        // A reply that costs more than a whole second's budget still goes,
        // alone in its second.
        let limit = self.per_second.max(cost);
        match self.store.spend(second, cost, Some(limit)).await {
            Ok(true) => true,
            Ok(false) => {
                self.full.store(second, Ordering::Relaxed);
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "desk budget unavailable; sending anyway (the desk's 429 still paces it)");
                true
            }
        }
    }

    /// Counts `cost` requests this second that are sent whatever the
    /// budget says (a new case).
    pub async fn charge(&self, cost: u32) {
        if self.per_second == 0 || cost == 0 {
            return;
        }
        if let Err(e) = self.store.spend(now_second(), cost, None).await {
            tracing::warn!(error = %e, "desk budget unavailable; this case is not counted in it");
        }
    }

    /// Waits for room for `cost` until `until`, then spends it whatever the
    /// budget says: for a new case, which is never held back.
    pub async fn make_room(&self, cost: u32, until: Instant) {
        if !self.wait(cost, until).await {
            self.charge(cost).await;
        }
    }

    /// Spends `cost` as soon as a second has room for it, waiting for the
    /// next second while one is full; `false` when none has before `until`.
    pub async fn wait(&self, cost: u32, until: Instant) -> bool {
        loop {
            if self.try_spend(cost).await {
                return true;
            }
            let next = Instant::now() + to_next_second();
            if next >= until {
                return false;
            }
            tokio::time::sleep_until(next.into()).await;
        }
    }
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The second of the epoch it is now: the key of the shared count.
fn now_second() -> u64 {
    since_epoch().as_secs()
}

fn to_next_second() -> Duration {
    Duration::from_secs(1).saturating_sub(Duration::from_nanos(u64::from(
        since_epoch().subsec_nanos(),
    )))
}
