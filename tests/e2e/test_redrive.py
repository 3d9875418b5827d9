"""Redrive: a redriven execution keeps its ARN, and its failure after the
redrive is a new failure (DESIGN.md, "Redrive and dedupe": the dedupe key
includes `detail.redriveCount`). A redelivered copy of that event is still a
repeat. The real notifier under `cargo lambda watch`, the idempotency table
in DynamoDB on moto, the cases counted in the real mock-api."""

import copy
import os

from localrun import http
from support import load_event

KEY = "REDRIVEKEY"


def failed(redrive_count, event_id, stop_date):
    """events/eventbridge-failed.json as EventBridge sends it for the given
    run of the same execution (ARN unchanged)."""
    ev = copy.deepcopy(load_event("eventbridge-failed.json"))
    ev["id"] = event_id
    ev["detail"]["redriveCount"] = redrive_count
    ev["detail"]["stopDate"] = stop_date
    if redrive_count:
        ev["detail"]["redriveDate"] = stop_date - 60_000
        ev["detail"]["redriveStatus"] = "REDRIVABLE"
    return ev


def start(svc, grouping):
    secret = "RedriveSecret-" + os.urandom(6).hex()
    table = svc.seed("table")["tableName"]
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    env = {"API_KEY": KEY, "API_SECRET": secret, "IDEMPOTENCY_TABLE": table, "INCIDENT_GROUPING": grouping}
    if grouping != "off":
        env["INCIDENT_REPLY_INTERVAL_SECONDS"] = "0"
    svc.start_watch(arn, env)
    return secret, table


def test_a_failure_after_a_redrive_is_a_new_case_and_its_copy_is_not(svc):
    # Incident grouping off: what the dedupe key alone decides.
    secret, table = start(svc, "off")

    base = load_event("eventbridge-failed.json")
    first = failed(0, base["id"], base["detail"]["stopDate"])
    redriven = failed(1, "9b0e6c2d-5a41-4f1e-8d53-2f7c1e0a9b17", base["detail"]["stopDate"] + 3_600_000)
    assert first["detail"]["executionArn"] == redriven["detail"]["executionArn"]

    outs = []
    for label, event in (("redriveCount 0", first), ("redriveCount 1", redriven), ("redriveCount 1 again", redriven)):
        status, _, out = svc.invoke("notifier", event)
        assert status == 200, f"{label}: {out}"
        outs.append(out)
    original, after_redrive, copy_of_it = outs

    assert not original.get("duplicate"), original
    assert not after_redrive.get("duplicate"), (
        f"the failure after the redrive was taken for a repeat of the original (case {original['caseUid']}): "
        "the dedupe key must include detail.redriveCount"
    )
    assert after_redrive["caseUid"] != original["caseUid"], outs
    assert copy_of_it.get("duplicate") is True, f"the redelivered copy was filed again: {copy_of_it}"
    assert copy_of_it["caseUid"] == after_redrive["caseUid"], outs

    status, _, held = http("GET", svc.cases_url(), headers={"Authorization": f"Outseta {KEY}:{secret}"})
    assert status == 200, held
    assert sorted(c["Uid"] for c in held) == sorted([original["caseUid"], after_redrive["caseUid"]]), (
        f"expected exactly 2 cases in mock-api, found {len(held)}: {[c['Subject'] for c in held]}"
    )
    claims = svc.client("dynamodb").scan(TableName=table)["Items"]
    assert len(claims) >= 2, f"the idempotency table holds {len(claims)} claims: dedupe did not go through DynamoDB"


def test_with_incident_grouping_a_failure_after_a_redrive_is_a_reply_on_the_open_case(svc):
    """DESIGN.md: with grouping on, the failure after a redrive is a new
    occurrence of its incident (a reply on the open case), never a silent
    duplicate; its redelivered copy still is a duplicate."""
    secret, _ = start(svc, "state")
    base = load_event("eventbridge-failed.json")
    first = failed(0, base["id"], base["detail"]["stopDate"])
    redriven = failed(1, "9b0e6c2d-5a41-4f1e-8d53-2f7c1e0a9b17", base["detail"]["stopDate"] + 3_600_000)
    outs = []
    for event in (first, redriven, redriven):
        status, _, out = svc.invoke("notifier", event)
        assert status == 200, out
        outs.append(out)
    original, after_redrive, copy_of_it = outs
    assert original["incident"] == "new_case", original
    assert after_redrive["incident"] == "reply_posted" and after_redrive["occurrence"] == 2, after_redrive
    assert after_redrive["caseUid"] == original["caseUid"]
    assert copy_of_it.get("duplicate") is True, copy_of_it
    auth = {"Authorization": f"Outseta {KEY}:{secret}"}
    status, _, held = http("GET", svc.cases_url(), headers=auth)
    assert [c["Uid"] for c in held] == [original["caseUid"]], held
    status, _, case = http("GET", f"{svc.cases_url()}/{original['caseUid']}", headers=auth)
    assert len(case["CaseHistories"]) == 1, case["CaseHistories"]
