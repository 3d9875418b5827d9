#![allow(dead_code)]
//! moto for the tests that need real AWS APIs: a server of a test's own, the
//! SDK pointed at it (or at any local stub), and an execution its Step
//! Functions serves a failed history for. The notifier's test support
//! includes this support module (`#[path]`), so both crates start moto and
//! build the SDK one way.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_sfn::config::{Credentials, Region};

pub struct Moto {
    pub endpoint: String,
    /// moto runs under a shell that kills it when this pipe closes, i.e.
    /// when the test process exits, however it exits.
    _lifeline: Option<Mutex<(Child, ChildStdin)>>,
}

impl Moto {
    /// A server someone else started and stops (`make test`'s).
    pub fn at(endpoint: String) -> Self {
        Moto {
            endpoint,
            _lifeline: None,
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// The repository's scripts, found from whichever crate includes this file.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("scripts"))
        .find(|dir| dir.join("moto_atomic.py").is_file())
        .expect("scripts/moto_atomic.py above the crate")
}

/// A moto server of this test process's own, started with `env` (shell
/// assignments, e.g. `SF_EXECUTION_HISTORY_TYPE=FAILURE`); it lives until
/// the process exits.
pub fn moto_with(env: &str) -> Moto {
    let port = free_port();
    // moto_server's application with DynamoDB's per-item atomicity (see the
    // script): the concurrency tests depend on it.
    let launcher = scripts().join("moto_atomic.py");
    let script = format!(
        "{env} python3 '{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; trap 'kill $pid' EXIT; read _",
        launcher.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot start moto_server: run `make test` or scripts/setup.sh to install it");
    let stdin = child.stdin.take().expect("piped stdin");
    let lifeline = Some(Mutex::new((child, stdin)));
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not start on port {port} (installed? scripts/setup.sh)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _lifeline: lifeline,
    }
}

/// SDK configuration for a local endpoint (moto, a stub) with dummy
/// credentials, on the notifier's own HTTP stack as `notifier::wiring::load` wires
/// it; the caller adds what its test needs (no retries) and loads it.
pub fn sdk_loader(endpoint: &str) -> aws_config::ConfigLoader {
    let http = ticket_bridge_http::transport::http_client(
        ticket_bridge::desk::Roots::Bundled,
        Duration::from_secs(2),
    )
    .expect("HTTP client");
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(ticket_bridge_aws::sdk_http_client(http))
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
}

/// A state machine `name` whose one state, `A State`, fails with `AnError`,
/// and an execution of it: (machine ARN, execution ARN). moto started with
/// `SF_EXECUTION_HISTORY_TYPE=FAILURE` serves the execution a failed
/// history (state `A State`, error `AnError`, cause `An error occurred!`).
pub async fn failed_execution(sfn: &aws_sdk_sfn::Client, name: &str) -> (String, String) {
    let machine = sfn
        .create_state_machine()
        .name(name)
        .definition(
            r#"{"StartAt":"A State","States":{"A State":{"Type":"Fail","Error":"AnError"}}}"#,
        )
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .expect("create_state_machine");
    let run = sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .send()
        .await
        .expect("start_execution");
    (
        machine.state_machine_arn().to_owned(),
        run.execution_arn().to_owned(),
    )
}
