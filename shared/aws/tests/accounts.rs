//! History read across accounts: moto's STS maps the credentials
//! AssumeRole returns to the role's account, so one moto server holds two
//! accounts, and an execution that exists only in the second is readable
//! only through the role. A local stub answers STS's own refusal
//! (AccessDenied, in its XML error shape) and counts AssumeRole calls.

use aws_config::retry::RetryConfig;
use aws_sdk_sfn::config::Credentials;
use serde_json::json;
use ticket_bridge::history::{HistoryLimits, HistorySource, enrich};
use ticket_bridge::intake::{Failure, Intake, intake};
use ticket_bridge_aws::Accounts;
use wiremock::matchers::{body_string_contains, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/moto.rs"]
mod moto;

use moto::{failed_execution, moto_with, sdk_loader};

const ROLE: &str = "TicketBridgeHistoryReader";
const SPOKE: &str = "222222222222";

/// The EventBridge event for a failed execution, as the hub receives it.
fn status_change(arn: &str) -> Failure {
    let account = arn.split(':').nth(4).unwrap_or_default();
    let ev = json!({"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "region": "us-east-1", "account": account,
        "detail": {"executionArn": arn, "status": "FAILED", "error": null, "cause": null,
                   "startDate": 1_700_000_000_000_i64, "stopDate": 1_700_000_060_000_i64,
                   "input": "{}"}});
    match intake(&ev, None) {
        Ok(Intake::Failure(f)) => *f,
        other => panic!("{other:?}"),
    }
}

/// An SFN client acting in `account`, through moto's AssumeRole.
async fn client_in(endpoint: &str, account: &str) -> aws_sdk_sfn::Client {
    let sdk = sdk_loader(endpoint).load().await;
    let creds = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/setup"))
        .role_session_name("setup")
        .send()
        .await
        .expect("moto assumes any role")
        .credentials
        .expect("credentials");
    let config = aws_sdk_sfn::config::Builder::from(&sdk)
        .credentials_provider(Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            None,
            "setup",
        ))
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

#[tokio::test]
async fn another_accounts_history_is_read_through_its_reader_role() {
    let moto = moto_with("SF_EXECUTION_HISTORY_TYPE=FAILURE");
    let spoke = client_in(&moto.endpoint, SPOKE).await;
    let (_, run) = failed_execution(&spoke, "orders").await;
    assert!(run.contains(&format!(":{SPOKE}:")), "{run}");
    let sdk = sdk_loader(&moto.endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await;

    // The hub's own credentials cannot see it: moto has no such execution
    // in the hub's account.
    let own_only = aws_sdk_sfn::Client::new(&sdk);
    let denied = ticket_bridge_aws::SfnHistory::new(own_only)
        .page(&run, None, 10)
        .await;
    assert!(denied.is_err(), "read without the role: {denied:?}");

    let source = Accounts::new(&sdk, Some(ROLE.to_owned()));
    let (f, extra) = enrich(&source, status_change(&run), &HistoryLimits::default()).await;
    assert_eq!(extra.note, None);
    assert_eq!(f.failed_state.as_deref(), Some("A State"));
    assert_eq!(f.error.as_deref(), Some("AnError"));

    // The hub's own executions are still read with its own credentials.
    let (_, own_run) = failed_execution(&aws_sdk_sfn::Client::new(&sdk), "orders").await;
    let (f, extra) = enrich(&source, status_change(&own_run), &HistoryLimits::default()).await;
    assert_eq!(extra.note, None);
    assert_eq!(f.failed_state.as_deref(), Some("A State"));
}

#[tokio::test]
async fn without_a_role_name_a_foreign_execution_gets_a_note_not_a_read() {
    let moto = moto_with("SF_EXECUTION_HISTORY_TYPE=FAILURE");
    let spoke = client_in(&moto.endpoint, SPOKE).await;
    let (_, run) = failed_execution(&spoke, "orders").await;
    let sdk = sdk_loader(&moto.endpoint).load().await;
    let source = Accounts::new(&sdk, None);
    let (f, extra) = enrich(&source, status_change(&run), &HistoryLimits::default()).await;
    let note = extra.note.expect("a note");
    assert!(
        note.contains(SPOKE) && note.contains("HISTORY_ROLE_NAME"),
        "{note}"
    );
    assert_eq!(f.failed_state, None);
}

/// STS answering for the hub account `111111111111`: its identity, and
/// AssumeRole with `assume`.
async fn sts_stub(assume: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::111111111111:assumed-role/notifier/fn</Arn><UserId>AROAHUB:fn</UserId><Account>111111111111</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole"))
        .respond_with(assume)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            "AWSStepFunctions.GetExecutionHistory",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"events": []})))
        .mount(&server)
        .await;
    server
}

async fn assume_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("Action=AssumeRole"))
        .count()
}

const RUN: &str = "arn:aws:states:us-east-1:222222222222:execution:orders:run-1";

#[tokio::test]
async fn a_refused_role_is_one_line_on_the_ticket_naming_role_account_and_code() {
    let denied = ResponseTemplate::new(403).set_body_string(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::111111111111:assumed-role/notifier/fn is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/TicketBridgeHistoryReader</Message></Error><RequestId>r-2</RequestId></ErrorResponse>"#,
    );
    let stub = sts_stub(denied).await;
    let sdk = sdk_loader(&stub.uri())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let source = Accounts::new(&sdk, Some(ROLE.to_owned()));
    let (_, extra) = enrich(&source, status_change(RUN), &HistoryLimits::default()).await;
    let note = extra.note.expect("a note");
    assert!(
        note.contains(
            "history unavailable: could not assume TicketBridgeHistoryReader in 222222222222: AccessDenied"
        ),
        "{note}"
    );
}

#[tokio::test]
async fn assumed_credentials_are_cached_per_account_until_near_expiry() {
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let expiration = expires
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a date");
    let granted = ResponseTemplate::new(200).set_body_string(format!(
        r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIASPOKE</AccessKeyId><SecretAccessKey>CanarySpokeSecret1234</SecretAccessKey><SessionToken>CanarySpokeToken5678</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::222222222222:assumed-role/TicketBridgeHistoryReader/ticket-bridge-history</Arn><AssumedRoleId>AROASPOKE:ticket-bridge-history</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></AssumeRoleResponse>"#
    ));
    let stub = sts_stub(granted).await;
    let sdk = sdk_loader(&stub.uri())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let source = Accounts::new(&sdk, Some(ROLE.to_owned()));
    for _ in 0..3 {
        let page = source.page(RUN, None, 10).await.expect("a page");
        assert!(page.events.is_empty());
    }
    assert_eq!(assume_calls(&stub).await, 1, "one AssumeRole per account");
    // Another region of the same account reuses the credentials' account
    // but needs its own client: still no second AssumeRole beyond one per
    // (account, region).
    let other_region = RUN.replace("us-east-1", "eu-west-1");
    source.page(&other_region, None, 10).await.expect("a page");
    assert_eq!(assume_calls(&stub).await, 2);
}

#[tokio::test]
async fn the_functions_arn_names_its_own_account_so_no_sts_call_asks() {
    let stub = sts_stub(ResponseTemplate::new(500)).await;
    let sdk = sdk_loader(&stub.uri())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let source = Accounts::new(&sdk, Some(ROLE.to_owned()));
    // What Lambda hands every invocation: the function's ARN, in the hub.
    source.know_own_account("arn:aws:lambda:us-east-1:222222222222:function:notifier");
    let page = source.page(RUN, None, 10).await.expect("a page");
    assert!(page.events.is_empty());
    let asked: Vec<String> = stub
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("Action="))
        .collect();
    assert!(
        asked.is_empty(),
        "the execution is the function's own account's: no STS call, got {asked:?}"
    );
}
