"""Routing by the state machine's own tags (issue 21), against the real
parts: a tagged state machine in moto (the notifier reads its tags with
ListTagsForResource), the notifier under `cargo lambda watch`, and the real
mock-api as the desk, with its case tags seeded by MOCK_CASE_TAGS. The case
is read back as a person's desk would, naming the tags' objects in
`fields`, since Outseta returns objects below the first level only then."""

import os

from localrun import REGION, http
from support import load_event

KEY = "ROUTEKEY"
PERSON = "dpWp6Lmn"


def tagged_machine(svc, name, tags):
    sfn = svc.client("stepfunctions")
    return sfn.create_state_machine(
        name=name,
        definition='{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E"}}}',
        roleArn="arn:aws:iam::123456789012:role/sfn",
        tags=[{"key": k, "value": v} for k, v in tags.items()],
    )["stateMachineArn"]


def caught(machine, run):
    """events/catch-lambda.json as run `run` of `machine` in moto's account."""
    ev = load_event("catch-lambda.json")
    ev["execution"] = f"arn:aws:states:{REGION}:123456789012:execution:{machine}:{run}"
    ev["stateMachine"] = machine
    return ev


def start(svc):
    secret = "RouteSecret-" + os.urandom(6).hex()
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    svc.start_watch(arn, {"API_KEY": KEY, "API_SECRET": secret, "MOCK_CASE_TAGS": "pipelines,data,muted"})
    return {"Authorization": f"Outseta {KEY}:{secret}"}


def read(svc, auth, uid):
    url = f"{svc.cases_url()}/{uid}?fields=*,CaseTags.Tag.*"
    status, _, case = http("GET", url, headers=auth)
    assert status == 200, case
    return case


def test_assignee_tags_severity_and_runbook_come_from_the_machines_tags(svc):
    tagged_machine(
        svc,
        "routed",
        {
            "ticket-bridge:assignee": PERSON,
            "ticket-bridge:tags": "pipelines/data/no-such-tag",
            "ticket-bridge:severity": "critical",
            "ticket-bridge:runbook": "https://wiki.example.com/runbooks/routed",
        },
    )
    auth = start(svc)
    status, _, out = svc.invoke("notifier", caught("routed", "run-1"))
    assert status == 200, out
    case = read(svc, auth, out["caseUid"])
    assert case["AssignedToPersonClientIdentifier"] == PERSON, case
    assert sorted(t["Tag"]["Name"] for t in case["CaseTags"]) == ["data", "pipelines"], case["CaseTags"]
    assert case["Subject"].startswith("[Step Functions] [critical] routed: "), case["Subject"]
    assert '<a href="https://wiki.example.com/runbooks/routed">Runbook</a>' in case["Body"]
    # What the desk does not know is left out, and said.
    assert "tag no-such-tag not set: the desk has no case tag of that name" in case["Body"], case["Body"]
    assert "ticket-bridge-fingerprint: " in case["Body"]


def test_an_assignee_the_desk_refuses_is_dropped_and_said_while_the_tags_stay(svc):
    # mock-api refuses a person id over 50 characters, as Outseta refuses
    # an unknown one; the bridge's own check lets up to 64 through.
    refused = "p" * 60
    tagged_machine(svc, "refusing", {"ticket-bridge:assignee": refused, "ticket-bridge:tags": "data"})
    auth = start(svc)
    status, _, out = svc.invoke("notifier", caught("refusing", "run-1"))
    assert status == 200, out
    case = read(svc, auth, out["caseUid"])
    assert not case.get("AssignedToPersonClientIdentifier"), case
    assert [t["Tag"]["Name"] for t in case["CaseTags"]] == ["data"], case["CaseTags"]
    notes = [h["Comment"] for h in case["CaseHistories"]]
    assert any(f"assignee {refused} not set" in n for n in notes), notes


def test_a_machine_without_tags_is_filed_unrouted(svc):
    tagged_machine(svc, "plain", {"team": "payments"})
    auth = start(svc)
    status, _, out = svc.invoke("notifier", caught("plain", "run-1"))
    assert status == 200, out
    case = read(svc, auth, out["caseUid"])
    assert not case.get("AssignedToPersonClientIdentifier") and not case.get("CaseTags"), case
    assert "Routing:" not in case["Body"]
