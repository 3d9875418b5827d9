"""The case follows the failure's life (issue 21), against the real parts:
the notifier under `cargo lambda watch`, moto holding a tagged state machine
whose executions have failed histories (`SF_EXECUTION_HISTORY_TYPE=FAILURE`)
and the incident table, and the real mock-api as the desk. Failures and
successes arrive as EventBridge status changes, so each failure is read from
its execution's history, as in production. A person's actions at the desk
are the API calls their desk makes: `PUT` on the case.

Each test is one line of the issue's "Done when": routing, N successes
closing the case, a failure reopening it, a person's close giving a new
linked case, the mute tag, and a lost incident record."""

import os
import time

import pytest

from localrun import field, http, status_change

KEY = "LIFEKEY"
PERSON = "dpWp6Lmn"
MUTE = "muted"


@pytest.fixture
def life(failing):
    """moto serving failed histories for every execution it starts."""
    return failing


class Bridge:
    """The running notifier, its machine in moto, and the desk as a person sees it."""

    def __init__(self, svc, extra=None):
        self.svc = svc
        sfn = svc.client("stepfunctions")
        self.sfn = sfn
        self.machine = sfn.create_state_machine(
            name="nightly-load",
            # moto's failed history (its SF_EXECUTION_HISTORY_TYPE=FAILURE
            # page) is this: `A State` fails with `AnError`.
            definition='{"StartAt":"A State","States":{"A State":{"Type":"Fail","Error":"AnError"}}}',
            roleArn="arn:aws:iam::123456789012:role/sfn",
            tags=[
                {"key": "ticket-bridge:assignee", "value": PERSON},
                {"key": "ticket-bridge:tags", "value": "pipelines/data"},
            ],
        )["stateMachineArn"]
        secret = "LifeSecret-" + os.urandom(6).hex()
        self.table = svc.seed("table")["tableName"]
        arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
        env = {
            "API_KEY": KEY,
            "API_SECRET": secret,
            "MOCK_CASE_TAGS": f"pipelines,data,{MUTE}",
            "IDEMPOTENCY_TABLE": self.table,
            "INCIDENT_REPLY_INTERVAL_SECONDS": "0",
            # Each failure's reply at once; the desk budget is
            # test_desk_budget.py's.
            "DESK_REQUESTS_PER_SECOND": "0",
            **(extra or {}),
        }
        svc.start_watch(arn, env)
        self.auth = {"Authorization": f"Outseta {KEY}:{secret}"}

    def fail(self):
        """A new failed execution of the machine, reported by EventBridge."""
        run = self.sfn.start_execution(stateMachineArn=self.machine)["executionArn"]
        return self.send(status_change(self.machine, run))

    def succeed(self, name):
        """A SUCCEEDED status change of the machine, now."""
        event = status_change(self.machine, f"{self.machine.replace(':stateMachine:', ':execution:')}:{name}")
        now = int(time.time() * 1000)
        event["detail"].update(status="SUCCEEDED", startDate=now - 1000, stopDate=now)
        return self.send(event)

    def send(self, event):
        status, _, out = self.svc.invoke("notifier", event, timeout=120)
        assert status == 200, out
        return out

    def case(self, uid):
        status, _, case = http("GET", f"{self.svc.cases_url()}/{uid}?fields=*,CaseTags.Tag.*", headers=self.auth)
        assert status == 200, case
        return case

    def comments(self, uid):
        """The agent replies on the case (CaseHistories of Type 6), oldest first."""
        return [h["Comment"] for h in self.case(uid)["CaseHistories"] if h["Type"] == 6]

    def put(self, uid, body):
        """What a person's desk sends when they change the case."""
        status, _, case = http("PUT", f"{self.svc.cases_url()}/{uid}", body=body, headers=self.auth)
        assert status == 200, case
        return case

    def tag_uid(self, name):
        url = self.svc.cases_url().replace("/support/cases", "/attribute/tags") + "?entityType=Case"
        status, _, page = http("GET", url, headers=self.auth)
        assert status == 200, page
        return next(t["Uid"] for t in page["items"] if t["Name"] == name)

    def all_cases(self):
        status, _, cases = http("GET", f"{self.svc.cases_url()}?limit=100", headers=self.auth)
        assert status == 200, cases
        return cases


def test_the_case_is_routed_closed_after_n_successes_and_reopened_by_a_failure(life):
    bridge = Bridge(life, {"RESOLVE_AFTER_SUCCESSES": "3"})
    first = bridge.fail()
    assert first["incident"] == "new_case", first
    uid = first["caseUid"]
    case = bridge.case(uid)
    # Routed by the machine's own tags; the failure named from its history.
    assert case["AssignedToPersonClientIdentifier"] == PERSON, case
    assert sorted(t["Tag"]["Name"] for t in case["CaseTags"]) == ["data", "pipelines"], case["CaseTags"]
    assert case["Subject"] == "[Step Functions] nightly-load: AnError in A State", case["Subject"]

    assert bridge.succeed("ok-1") == {"status": "SUCCEEDED", "recoveryNotes": [], "counted": 1}
    assert bridge.succeed("ok-2")["counted"] == 1
    assert bridge.case(uid)["Status"] == 1, "two successes are not three"
    third = bridge.succeed("ok-3")
    assert third == {"status": "SUCCEEDED", "recoveryNotes": [], "resolved": [uid]}, third
    closed = bridge.case(uid)
    assert closed["Status"] == 2, closed
    assert "<strong>Resolved</strong>" in bridge.comments(uid)[-1]
    assert [h["Type"] for h in closed["CaseHistories"]][-1] == 3, "a closed entry, as Outseta records"

    again = bridge.fail()
    assert (again["incident"], again["caseUid"]) == ("reopened", uid), again
    reopened = bridge.case(uid)
    assert reopened["Status"] == 1, reopened
    assert "Reopened: this failure came back" in bridge.comments(uid)[-1]
    assert len(bridge.all_cases()) == 1, "the same case, no new one"


def test_a_failure_between_successes_starts_the_count_again(life):
    bridge = Bridge(life, {"RESOLVE_AFTER_SUCCESSES": "2"})
    uid = bridge.fail()["caseUid"]
    assert bridge.succeed("ok-1")["counted"] == 1
    assert bridge.fail()["incident"] == "reply_posted"
    assert bridge.succeed("ok-2")["counted"] == 1, "the failure set the count back"
    assert bridge.case(uid)["Status"] == 1
    assert bridge.succeed("ok-3")["resolved"] == [uid]


def test_a_case_a_person_closed_is_followed_by_a_new_case_that_links_it(life):
    bridge = Bridge(life, {"RESOLVE_AFTER_SUCCESSES": "3"})
    uid = bridge.fail()["caseUid"]
    bridge.put(uid, {"Status": 2})
    after = bridge.fail()
    assert after["incident"] == "new_case" and after["previousCaseUid"] == uid, after
    assert after["caseUid"] != uid
    assert bridge.case(uid)["Status"] == 2, "a person's close stands"
    assert f"Previous case: <strong>{uid}</strong> (it was closed)" in bridge.case(after["caseUid"])["Body"]


def test_the_mute_tag_holds_occurrences_back_and_removing_it_names_the_count(life):
    bridge = Bridge(life)
    uid = bridge.fail()["caseUid"]
    kept = [t["Tag"]["Uid"] for t in bridge.case(uid)["CaseTags"]]
    mute = bridge.tag_uid(MUTE)
    bridge.put(uid, {"CaseTags": [{"Tag": {"Uid": u}} for u in [*kept, mute]]})
    for _ in range(2):
        out = bridge.fail()
        assert (out["incident"], out["caseUid"]) == ("muted", uid), out
    assert bridge.comments(uid) == [], "nothing posted while muted"
    muted_lines = [r for r in life.log_records() if field(r, "outcome") == "muted"]
    assert len(muted_lines) == 2, muted_lines

    bridge.put(uid, {"CaseTags": [{"Tag": {"Uid": u}} for u in kept]})
    out = bridge.fail()
    assert out["incident"] == "reply_posted", out
    (reply,) = bridge.comments(uid)
    assert f"while this case carried the tag {MUTE}, 2 occurrences of this failure were held back" in reply, reply


def test_after_the_incident_record_is_deleted_the_next_failure_replies_on_the_case_found_by_search(life):
    bridge = Bridge(life)
    uid = bridge.fail()["caseUid"]
    marker = next(line for line in bridge.case(uid)["Body"].split("<") if "ticket-bridge-fingerprint: " in line)
    dynamodb = life.client("dynamodb")
    items = dynamodb.scan(TableName=bridge.table)["Items"]
    incidents = [i["id"]["S"] for i in items if i["id"]["S"].startswith("incident#")]
    assert len(incidents) == 1, incidents
    dynamodb.delete_item(TableName=bridge.table, Key={"id": {"S": incidents[0]}})

    out = bridge.fail()
    assert (out["incident"], out["caseUid"]) == ("adopted", uid), out
    # mock-api's own log: the notifier listed cases (this test has not yet).
    searches = [
        r for r in life.log_records() if field(r, "path") == "/api/v1/support/cases" and field(r, "method") == "GET"
    ]
    assert searches, "the notifier searched the desk"
    (reply,) = bridge.comments(uid)
    assert "found this case again by its marker line" in reply, reply
    assert marker.split(": ")[1] in bridge.case(uid)["Body"]
    assert len(bridge.all_cases()) == 1, "no second case"
    # The record is rebuilt: the next failure is a plain reply on the case.
    assert bridge.fail()["incident"] == "reply_posted"
