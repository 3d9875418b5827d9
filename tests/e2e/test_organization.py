"""One hub for an organization (issue 22), against the real parts: the
notifier under `cargo lambda watch` running as the hub account, moto holding
two accounts (its STS maps the credentials AssumeRole returns to the role's
account, and `SF_EXECUTION_HISTORY_TYPE=FAILURE` makes it serve failed
histories), the real mock-api as the desk.

A failed execution in the spoke account reaches the hub as an EventBridge
status change without its failed state or error: the ticket names them only
if the hub read the spoke's history through the reader role."""

import os

import pytest

from localrun import http, status_change

HUB = "123456789012"
SPOKE = "222222222222"
ROLE = "TicketBridgeHistoryReader"
KEY = "ORGKEY"


@pytest.fixture
def org(failing):
    """moto as two accounts (the hub is moto's default one), serving failed histories."""
    return failing


def failed_run(sfn, machine="orders"):
    """A machine whose one state `A State` fails with `AnError`, and a run."""
    arn = sfn.create_state_machine(
        name=machine,
        definition='{"StartAt":"A State","States":{"A State":{"Type":"Fail","Error":"AnError"}}}',
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    return arn, run


def start_hub(svc, extra):
    secret = "OrgSecret-" + os.urandom(6).hex()
    table = svc.seed("table")["tableName"]
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    env = {"API_KEY": KEY, "API_SECRET": secret, "IDEMPOTENCY_TABLE": table, "INCIDENT_REPLY_INTERVAL_SECONDS": "0"}
    env.update(extra)
    svc.start_watch(arn, env)
    return {"Authorization": f"Outseta {KEY}:{secret}"}


def case(svc, auth, uid):
    status, _, body = http("GET", f"{svc.cases_url()}/{uid}", headers=auth)
    assert status == 200, body
    return body


def test_a_spoke_failure_is_filed_with_the_spokes_history_and_each_account_is_its_own_incident(org):
    spoke_machine, spoke_run = failed_run(org.client_in("stepfunctions", SPOKE))
    hub_machine, hub_run = failed_run(org.client("stepfunctions"))
    assert f":{SPOKE}:" in spoke_run and f":{HUB}:" in hub_run, (spoke_run, hub_run)
    auth = start_hub(org, {"HISTORY_ROLE_NAME": ROLE, "ACCOUNT_NAMES": f'{{"{SPOKE}": "staging"}}'})

    status, _, out = org.invoke("notifier", status_change(spoke_machine, spoke_run))
    assert status == 200, out
    spoke_case = case(org, auth, out["caseUid"])
    assert spoke_case["Subject"].startswith("[Step Functions] orders (staging): "), spoke_case["Subject"]
    assert "in A State" in spoke_case["Subject"], spoke_case["Subject"]
    assert "AnError" in spoke_case["Body"], "the error read from the spoke's history"
    assert f"{SPOKE} (staging)" in spoke_case["Body"]
    assert "history unavailable" not in spoke_case["Body"]

    # The same machine name in the hub's own account: another incident.
    status, _, own = org.invoke("notifier", status_change(hub_machine, hub_run))
    assert status == 200, own
    assert own["caseUid"] != out["caseUid"], (own, out)
    assert own.get("incident") == "new_case", own
    assert "in A State" in case(org, auth, own["caseUid"])["Subject"]


def test_without_the_reader_role_the_ticket_still_files_and_says_why(org):
    spoke_machine, spoke_run = failed_run(org.client_in("stepfunctions", SPOKE))
    auth = start_hub(org, {})
    status, _, out = org.invoke("notifier", status_change(spoke_machine, spoke_run))
    assert status == 200, out
    body = case(org, auth, out["caseUid"])["Body"]
    assert "history unavailable" in body and SPOKE in body and "HISTORY_ROLE_NAME" in body, body
