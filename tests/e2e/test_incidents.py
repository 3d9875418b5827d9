"""Incidents, not ticket storms, against the real parts: the notifier under
`cargo lambda watch --concurrency 8` (up to eight notifier processes sharing
only moto's DynamoDB table, as Lambda scales), the real mock-api in a watch
of its own (one instance: it keeps cases in memory per instance), moto for
the connection secret, the table and the SNS fallback.

The storm test writes its numbers to target/incident-storm-report.json; the
README's Reliability section quotes them."""

import collections
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from localrun import ROOT, field, http
from support import load_event

KEY = "INCIDENTKEY"
CONCURRENCY = 8
MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:order-pipeline"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:order-pipeline:"
STORM = 50
REPORT = os.environ.get("INCIDENT_REPORT", os.path.join(ROOT, "target", "incident-storm-report.json"))


def failure(name, state="ChargeCard"):
    """events/catch-lambda.json as execution `name` of order-pipeline, failed in `state`."""
    ev = load_event("catch-lambda.json")
    ev["execution"] = EXECUTION + name
    ev["failedState"] = state
    return ev


def succeeded(name):
    """EventBridge's SUCCEEDED status change for execution `name`, now."""
    ev = load_event("eventbridge-succeeded.json")
    now = int(time.time() * 1000)
    ev["detail"].update(
        executionArn=EXECUTION + name,
        stateMachineArn=MACHINE_ARN,
        name=name,
        startDate=now - 1000,
        stopDate=now,
    )
    return ev


class Desk:
    """The running bridge and what mock-api holds."""

    def __init__(self, svc, auth, secret_arn, topic):
        self.svc, self.auth, self.secret_arn, self.topic = svc, auth, secret_arn, topic
        # This test's own case reads, so api_requests counts the notifier's only.
        self.own_reads = 0

    def send(self, event, ok=True):
        status, _, out = self.svc.invoke("notifier", event, timeout=300)
        if ok:
            assert status == 200, out
        return status, out

    def flush(self):
        return self.send({"ticketBridge": "flush"})[1]

    def cases(self):
        status, _, cases = http("GET", self.svc.cases_url(), headers={"Authorization": self.auth})
        assert status == 200, cases
        return cases

    def case(self, uid):
        self.own_reads += 1
        status, _, case = http("GET", f"{self.svc.cases_url()}/{uid}", headers={"Authorization": self.auth})
        assert status == 200, case
        return case

    def comments(self, uid):
        return [h["Comment"] for h in self.case(uid)["CaseHistories"]]

    def close(self, uid):
        url = self.svc.url("mock-api", f"/mock/cases/{uid}/close")
        status, _, case = http("POST", url, headers={"Authorization": self.auth})
        assert status == 200 and case["Status"] == 2, case

    def api_requests(self):
        """The notifier's requests mock-api answered, by kind: `case`, `read` or `reply`."""
        out = collections.Counter({"read": -self.own_reads})
        for r in self.svc.log_records():
            path, method = field(r, "path") or "", field(r, "method")
            if not path.startswith("/api/v1/support/cases"):
                continue
            kind = "reply" if path.endswith("/replies") else "read" if method == "GET" else "case"
            if not (kind == "read" and path == "/api/v1/support/cases"):
                out[kind] += 1
        return out


def start(svc, extra=None, concurrency=CONCURRENCY):
    secret = "IncidentSecret-" + os.urandom(6).hex()
    table = svc.seed("table")["tableName"]
    topic = svc.seed("topic")
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    mocks = {"API_KEY": KEY, "API_SECRET": secret}
    svc.start_api_watch(mocks)
    env = {
        **mocks,
        "IDEMPOTENCY_TABLE": table,
        "FALLBACK_TOPIC_ARN": topic["topicArn"],
        # Fault headers are added to and removed from the connection mid-test.
        "SECRET_CACHE_TTL_SECONDS": "0",
        "MAX_ATTEMPTS": "2",
        # Every reply due goes out at once; the shared desk budget has its
        # own test (test_desk_budget.py).
        "DESK_REQUESTS_PER_SECOND": "0",
        **(extra or {}),
    }
    svc.start_watch(arn, env, concurrency=concurrency)
    return Desk(svc, f"Outseta {KEY}:{secret}", arn, topic)


def test_three_failures_in_a_row_are_one_case_and_two_replies_naming_runs_two_and_three(svc):
    desk = start(svc, {"INCIDENT_REPLY_INTERVAL_SECONDS": "0"})
    outs = [desk.send(failure(f"seq-{n}"))[1] for n in (1, 2, 3)]
    seen = [(o["incident"], o["occurrence"]) for o in outs]
    assert seen == [("new_case", 1), ("reply_posted", 2), ("reply_posted", 3)], outs
    uid = outs[0]["caseUid"]
    assert {o["caseUid"] for o in outs} == {uid}
    assert [c["Uid"] for c in desk.cases()] == [uid]
    histories = desk.case(uid)["CaseHistories"]
    assert [h["AgentName"] for h in histories] == ["Step Functions ticket bridge"] * 2
    first, second = (h["Comment"] for h in histories)
    assert ">seq-2</a>" in first and "seq-3" not in first, first
    assert ">seq-3</a>" in second and "Occurrence 3: " in second, second
    # A redelivered copy is answered from its claim: no fourth occurrence.
    copy = desk.send(failure("seq-3"))[1]
    assert copy.get("duplicate") is True and copy["caseUid"] == uid, copy
    assert len(desk.comments(uid)) == 2


def test_a_closed_case_is_followed_by_a_new_case_that_links_it(svc):
    desk = start(svc, {"INCIDENT_REPLY_INTERVAL_SECONDS": "0"})
    old = desk.send(failure("closed-1"))[1]["caseUid"]
    desk.close(old)
    new = desk.send(failure("closed-2"))[1]
    assert new["incident"] == "new_case" and new["previousCaseUid"] == old, new
    assert new["caseUid"] != old
    body = desk.case(new["caseUid"])["Body"]
    assert f"Previous case: <strong>{old}</strong> (it was closed)" in body, body
    assert desk.comments(old) == []


def test_another_failed_state_of_the_machine_is_its_own_case(svc):
    desk = start(svc, {"INCIDENT_REPLY_INTERVAL_SECONDS": "0"})
    charge = desk.send(failure("state-1", "ChargeCard"))[1]
    ship = desk.send(failure("state-2", "ShipOrder"))[1]
    assert (charge["incident"], ship["incident"]) == ("new_case", "new_case")
    assert charge["caseUid"] != ship["caseUid"]
    assert len(desk.cases()) == 2
    assert desk.comments(charge["caseUid"]) == []


def test_a_success_adds_one_recovery_note_and_a_second_adds_nothing(svc):
    desk = start(svc, {"INCIDENT_REPLY_INTERVAL_SECONDS": "0", "RECOVERY_NOTES": "true"})
    uid = desk.send(failure("rec-1"))[1]["caseUid"]
    first = desk.send(succeeded("ok-1"))[1]
    assert first == {"status": "SUCCEEDED", "recoveryNotes": [uid]}, first
    second = desk.send(succeeded("ok-2"))[1]
    assert second == {"skipped": True, "status": "SUCCEEDED"}, second
    (note,) = desk.comments(uid)
    assert "<strong>Recovered</strong>" in note and ">ok-1</a>" in note, note


def test_reply_faults_lose_nothing_and_a_gone_case_is_followed_by_a_new_one(svc):
    desk = start(svc, {"INCIDENT_REPLY_INTERVAL_SECONDS": "2"})
    uid = desk.send(failure("fault-1"))[1]["caseUid"]
    for name in ("fault-2", "fault-3"):
        assert desk.send(failure(name))[1]["incident"] == "reply_coalesced"
    time.sleep(2.2)
    # The API answers 503 to everything: fault-4 takes the waiting batch,
    # cannot post it, gives fault-2 and fault-3 back (they stay in flight),
    # and fails typed with its own ticket in the fallback topic, for its
    # caller to retry.
    desk.svc.set_invocation_header(desk.secret_arn, "X-Mock-Status", "503")
    status, err = desk.send(failure("fault-4"), ok=False)
    assert status != 200 and err["errorType"] == "TicketDeliveryFailed", err
    assert "published to the fallback topic" in err["errorMessage"], err
    desk.svc.remove_invocation_header(desk.secret_arn, "X-Mock-Status")
    # The batch stayed in the incident, in flight; its next attempt is one
    # reply interval after the failed one.
    time.sleep(2.2)
    flushed = desk.flush()
    assert flushed["flush"]["replies"] == 1 and flushed["flush"]["occurrences"] == 2, flushed
    retried = desk.send(failure("fault-4"))[1]
    assert retried["incident"] == "reply_coalesced" and retried["occurrence"] == 5, retried
    time.sleep(2.2)
    assert desk.flush()["flush"]["occurrences"] == 1
    comments = "\n".join(desk.comments(uid))
    for name in ("fault-2", "fault-3", "fault-4"):
        assert f">{name}</a>" in comments, f"{name} not on the case: {comments}"
    fallback = desk.svc.seed("drain", "--queue-url", desk.topic["queueUrl"])
    assert len(fallback) == 1 and "fault-4" in fallback[0]["message"]["ticket"]["Body"], fallback

    # The case is gone (mock-api restarted: it knows no case): the next
    # occurrence reads 404 and files a new case that links the old one.
    desk.svc.restart_api_watch({"API_KEY": KEY, "API_SECRET": desk.auth.split(":")[1]})
    time.sleep(2.2)
    gone = desk.send(failure("fault-5"))[1]
    assert gone["incident"] == "new_case" and gone["previousCaseUid"] == uid, gone
    assert f"Previous case: <strong>{uid}</strong> (it is gone)" in desk.case(gone["caseUid"])["Body"]


def test_fifty_concurrent_failures_are_one_case_a_few_replies_and_after_a_flush_every_execution(svc):
    interval = 5
    desk = start(svc, {"INCIDENT_REPLY_INTERVAL_SECONDS": str(interval)})
    names = [f"storm-{i:02d}" for i in range(STORM)]
    started = time.time()
    with ThreadPoolExecutor(max_workers=STORM) as pool:
        outs = list(pool.map(lambda n: desk.send(failure(n))[1], names))
    storm_s = time.time() - started

    outcomes = collections.Counter(o["incident"] for o in outs)
    assert outcomes["new_case"] == 1, outcomes
    cases = desk.cases()
    assert len(cases) == 1, f"{len(cases)} cases for one incident"
    uid = cases[0]["Uid"]
    assert {o["caseUid"] for o in outs} == {uid}, collections.Counter(o["caseUid"] for o in outs)
    assert sorted(o["occurrence"] for o in outs) == list(range(1, STORM + 1))
    replies_in_storm = len(desk.comments(uid))

    time.sleep(interval + 0.5)
    flushed = desk.flush()
    case = desk.case(uid)
    on_case = case["Body"] + "\n".join(h["Comment"] for h in case["CaseHistories"])
    missing = [n for n in names if n not in on_case]
    requests = desk.api_requests()
    report = {
        "failures": STORM,
        "notifier_concurrency": CONCURRENCY,
        "reply_interval_s": interval,
        "storm_s": round(storm_s, 1),
        "cases": len(desk.cases()),
        "replies_during_storm": replies_in_storm,
        "replies_after_flush": len(case["CaseHistories"]),
        "outcomes": dict(outcomes),
        "api_requests": dict(requests),
        "flush": flushed["flush"],
        "executions_on_case": STORM - len(missing),
        "missing": missing,
    }
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        json.dump(report, f, indent=2)
    print("incident storm report:", json.dumps(report))
    assert not missing, f"not on the case after the flush: {missing}"
    assert len(case["CaseHistories"]) <= 5, f"{len(case['CaseHistories'])} replies"
    assert requests["case"] == 1, requests
