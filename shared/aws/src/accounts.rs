//! Step Functions clients per execution: one hub notifier serves failures
//! from every account and region of an organization, and Step Functions
//! has no resource policies, so reading another account's history means
//! assuming a role there (`HISTORY_ROLE_NAME`, which `FailureTicketSpoke`
//! creates). The notifier's own account uses its own credentials, in the
//! execution's region.
//!
//! Assumed credentials are cached per account until shortly before they
//! expire; clients per account and region. A role that is missing or
//! refuses gives the ticket one line, `could not assume <role> in
//! <account>: <code>`, never a failed ticket; the credentials never appear
//! in any message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use ticket_bridge::BoxFuture;
use ticket_bridge::history::{HistoryError, HistoryPage, HistorySource};
use ticket_bridge::links::Arn;
use ticket_bridge::routing::{TagError, TagSource};
use tokio::sync::OnceCell;

use crate::SfnHistory;

/// Assumed credentials are replaced this long before they expire, so a
/// history read never starts on credentials about to lapse.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// The session name the spoke's CloudTrail shows for the hub's reads.
const SESSION_NAME: &str = "ticket-bridge-history";

/// Step Functions in each execution's own account and region: the history
/// source of the EventBridge path, and the machines' routing tags.
pub struct Accounts {
    sdk: aws_config::SdkConfig,
    sts: aws_sdk_sts::Client,
    /// `HISTORY_ROLE_NAME`; `None`: foreign executions get no history.
    role_name: Option<String>,
    /// The notifier's own account, asked of STS once.
    own_account: OnceCell<Option<String>>,
    clients: Mutex<HashMap<(String, String), Cached>>,
}

/// A client for one account and region; `until` is when its assumed
/// credentials need replacing (`None`: the notifier's own, never).
#[derive(Clone)]
struct Cached {
    history: SfnHistory,
    until: Option<SystemTime>,
}

impl Accounts {
    pub fn new(sdk: &aws_config::SdkConfig, role_name: Option<String>) -> Self {
        Accounts {
            sdk: sdk.clone(),
            sts: aws_sdk_sts::Client::new(sdk),
            role_name,
            own_account: OnceCell::new(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Learns the notifier's own account from the function's ARN, which
    /// Lambda hands every invocation, so no cold start pays for an STS call
    /// to ask it. The first one counts; an ARN without a 12-digit account
    /// changes nothing (STS is then asked when an execution needs it).
    pub fn know_own_account(&self, invoked_function_arn: &str) {
        if self.own_account.initialized() {
            return;
        }
        let account = invoked_function_arn
            .split(':')
            .nth(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        if let Some(account) = account {
            let _ = self.own_account.set(Some(account.to_owned()));
        }
    }

    /// The account whose executions are read with the notifier's own
    /// credentials (from the function's ARN, else asked of STS once);
    /// `None` when neither can say (then every one is).
    async fn own_account(&self) -> Option<&str> {
        self.own_account
            .get_or_init(|| async {
                match self.sts.get_caller_identity().send().await {
                    Ok(out) => out.account,
                    Err(e) => {
                        tracing::warn!(
                            code = e.code().unwrap_or("unknown"),
                            "could not learn the notifier's own account; every execution is read with its own credentials"
                        );
                        None
                    }
                }
            })
            .await
            .as_deref()
    }

    /// The client for `arn`'s account and region (an execution's or a
    /// state machine's).
    async fn source_for(&self, execution_arn: &str) -> Result<SfnHistory, HistoryError> {
        let Some(arn) = Arn::parse(execution_arn) else {
            return Ok(SfnHistory::new(aws_sdk_sfn::Client::new(&self.sdk)));
        };
        let key = (arn.account.to_owned(), arn.region.to_owned());
        if let Some(c) = self.cached(&key) {
            return Ok(c);
        }
        let own = self.own_account().await;
        let foreign = own.is_some_and(|own| own != arn.account);
        let region = Region::new(arn.region.to_owned());
        let cached = if !foreign {
            let config = aws_sdk_sfn::config::Builder::from(&self.sdk)
                .region(region)
                .build();
            Cached {
                history: SfnHistory::new(aws_sdk_sfn::Client::from_conf(config)),
                until: None,
            }
        } else {
            let Some(role_name) = &self.role_name else {
                return Err(HistoryError(format!(
                    "the execution is in account {}, and HISTORY_ROLE_NAME is not set, so the notifier may not read it",
                    arn.account
                )));
            };
            self.assume(&arn, role_name, region).await?
        };
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(key, cached.clone());
        }
        Ok(cached.history)
    }

    fn cached(&self, key: &(String, String)) -> Option<SfnHistory> {
        let clients = self.clients.lock().ok()?;
        let c = clients.get(key)?;
        match c.until {
            Some(until) if SystemTime::now() >= until => None,
            _ => Some(c.history.clone()),
        }
    }

    /// Assumes the reader role in the execution's account.
    async fn assume(
        &self,
        arn: &Arn<'_>,
        role_name: &str,
        region: Region,
    ) -> Result<Cached, HistoryError> {
        let role_arn = format!(
            "arn:{}:iam::{}:role/{role_name}",
            arn.partition, arn.account
        );
        let refused = |code: &str| {
            HistoryError(format!(
                "could not assume {role_name} in {}: {code}",
                arn.account
            ))
        };
        let out = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .map_err(|e| refused(e.code().unwrap_or("no answer from STS")))?;
        let c = out.credentials.ok_or_else(|| refused("no credentials"))?;
        let expires = SystemTime::try_from(c.expiration).ok();
        let credentials = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expires,
            "ticket-bridge-assumed-role",
        );
        let config = aws_sdk_sfn::config::Builder::from(&self.sdk)
            .region(region)
            .credentials_provider(credentials)
            .build();
        Ok(Cached {
            history: SfnHistory::new(aws_sdk_sfn::Client::from_conf(config)),
            until: Some(
                expires
                    .and_then(|e| e.checked_sub(REFRESH_BEFORE))
                    .unwrap_or_else(|| SystemTime::now() + REFRESH_BEFORE),
            ),
        })
    }
}

impl HistorySource for Accounts {
    fn page<'a>(
        &'a self,
        execution_arn: &'a str,
        next_token: Option<&'a str>,
        max_results: i32,
    ) -> BoxFuture<'a, Result<HistoryPage, HistoryError>> {
        Box::pin(async move {
            let source = self.source_for(execution_arn).await?;
            source.page(execution_arn, next_token, max_results).await
        })
    }
}

impl TagSource for Accounts {
    fn tags<'a>(
        &'a self,
        machine_arn: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, TagError>> {
        Box::pin(async move {
            let source = self
                .source_for(machine_arn)
                .await
                .map_err(|e| TagError(e.0))?;
            let out = source
                .client()
                .list_tags_for_resource()
                .resource_arn(machine_arn)
                .send()
                .await
                .map_err(|e| TagError(describe_tags_error(&e)))?;
            Ok(out
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect())
        })
    }
}

/// One line per failure kind, for the ticket's routing note.
fn describe_tags_error<E: aws_sdk_sfn::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_sfn::error::SdkError<E, R>,
) -> String {
    match e {
        aws_sdk_sfn::error::SdkError::ServiceError(se) => {
            match se.err().code().unwrap_or("unknown") {
                c if c.contains("Throttl") || c.contains("TooManyRequests") => {
                    format!("throttled ({c})")
                }
                c if c.contains("AccessDenied") => format!(
                    "access denied ({c}): the notifier's role needs states:ListTagsForResource"
                ),
                c => format!("ListTagsForResource failed ({c})"),
            }
        }
        other => crate::sdk::describe_sdk_error("Step Functions", other),
    }
}
