//! Every port of the core in one place, with its in-memory adapter. The
//! notifier holds each behind `Arc<dyn _>`, so the composition root (the
//! Lambda's `main`) picks the real adapter and tests pick the memory one.
//!
//! | Port | Real adapter | In memory |
//! |---|---|---|
//! | [`Desk`] | `ticket_bridge_outseta::OutsetaDesk` | [`MemoryDesk`] |
//! | [`ClaimStore`] | `ticket_bridge_aws::claims::DynamoDb` | [`MemoryClaims`] |
//! | [`IncidentStore`] | `ticket_bridge_aws::incidents::DynamoDb` | [`MemoryIncidents`] |
//! | [`BudgetStore`] | `ticket_bridge_aws::incidents::DynamoDb` (its `budget` module) | [`MemoryBudget`] |
//! | [`HistorySource`] | `ticket_bridge_aws::Accounts` (or `SfnHistory`) | [`MemoryHistory`] |
//! | [`SecretSource`] | `ticket_bridge_aws::SecretsManager` | [`StaticSecret`] |
//! | [`Publisher`] | `ticket_bridge_aws::Sns` | [`Recording`] |
//! | [`TagSource`] | `ticket_bridge_aws::Accounts` | [`MemoryTags`] |

pub use crate::budget::{BudgetStore, MemoryBudget};
pub use crate::dedupe::{ClaimStore, Memory as MemoryClaims};
pub use crate::desk::{Desk, MemoryDesk};
pub use crate::fallback::{Publisher, Recording};
pub use crate::history::{HistorySource, MemoryHistory};
pub use crate::incident::{IncidentStore, Memory as MemoryIncidents};
pub use crate::routing::{MemoryTags, TagSource};
pub use crate::secrets::{SecretSource, StaticSecret};
