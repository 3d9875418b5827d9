//! The bridge's AWS adapters, each implementing a port of the core
//! (`ticket_bridge::ports`): DynamoDB claims, incidents and the desk budget
//! (one table, the layout in `claims`, `incidents` and `budget`; the
//! incident adapter also keeps the budget), Secrets Manager for the connection
//! secret, Step Functions execution history, and SNS for the fallback. The
//! SDK's clients run on the process's one HTTP stack (`transport`).

pub mod accounts;
mod budget;
pub mod claims;
mod dynamo;
pub mod history;
pub mod incidents;
mod sdk;
pub mod secrets;
pub mod sns;
pub mod transport;

pub use accounts::Accounts;
pub use history::SfnHistory;
pub use secrets::SecretsManager;
pub use sns::Sns;
pub use transport::sdk_http_client;
