"""The desk's budget (issue 24's storm): every container of the notifier
spends desk requests from one count per second in the incident table, so a
storm of many incidents, all due for a reply at once, sends the desk what
it takes and no more. The notifier runs under `cargo lambda watch
--concurrency 4` with the table in moto; the real mock-api enforces 4
requests a second per key. The budget is 3 a second here, one short of the
desk's limit, so a reply budgeted at the end of one second and landing in
the next still fits: the desk never answers 429.
Nothing is lost: the flush posts what waited, second by second."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from localrun import http

KEY = "BUDGETKEY"
STATES = ["Extract", "Load", "Index", "Publish"]
REPEATS = 10
CONCURRENCY = 4


def failure(run, state):
    return {
        "error": {"Error": "States.TaskFailed", "Cause": f"{state} failed in {run}"},
        "execution": f"arn:aws:states:us-east-1:123456789012:execution:paced:{run}",
        "stateMachine": "paced",
        "failedState": state,
    }


def test_incidents_due_at_once_keep_to_one_budget_across_containers_and_lose_nothing(svc):
    secret = "BudgetSecret-" + os.urandom(6).hex()
    table = svc.seed("table")["tableName"]
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    mocks = {"API_KEY": KEY, "API_SECRET": secret, "RATE_LIMIT_PER_SECOND": "4"}
    svc.start_api_watch(mocks)
    svc.start_watch(
        arn,
        {
            **mocks,
            "IDEMPOTENCY_TABLE": table,
            "INCIDENT_REPLY_INTERVAL_SECONDS": "0",
            "DESK_REQUESTS_PER_SECOND": "3",
            "ROUTING": "off",
        },
        concurrency=CONCURRENCY,
    )

    def send(event):
        status, _, out = svc.invoke("notifier", event, timeout=120)
        assert status == 200 and "errorType" not in out, out
        return out

    # One case per incident: each waits for room (a search and the case),
    # then is filed.
    firsts = [send(failure(f"first-{s}", s)) for s in STATES]
    assert [o["incident"] for o in firsts] == ["new_case"] * len(STATES), firsts

    # Every later failure is due for a reply at once (interval 0), in four
    # containers: the budget lets one reply a second through, the rest wait.
    runs = [(f"run-{s}-{i}", s) for i in range(REPEATS) for s in STATES]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        outs = list(pool.map(lambda r: send(failure(*r)), runs))
    kinds = [o["incident"] for o in outs]
    assert set(kinds) <= {"reply_posted", "reply_coalesced"}, kinds
    assert kinds.count("reply_coalesced") > len(runs) // 2, f"the budget held nothing back: {kinds}"

    # The flush waits for room and posts what waited, until nothing does.
    for _ in range(10):
        if send({"ticketBridge": "flush"})["flush"]["occurrences"] == 0:
            break
    assert not limited(svc), "the desk answered 429: the budget let too much through"

    auth = {"Authorization": f"Outseta {KEY}:{secret}"}
    listed = read(f"{svc.cases_url()}?limit=100", auth)
    assert len(listed) == len(STATES), [c["Subject"] for c in listed]
    text = ""
    for uid in (c["Uid"] for c in listed):
        case = read(f"{svc.cases_url()}/{uid}", auth)
        text += case["Body"] + "".join(h.get("Comment") or "" for h in case["CaseHistories"])
    missing = [run for run, _ in runs if f">{run}</a>" not in text]
    assert not missing, f"not on any case after the flush: {missing}"


def limited(svc):
    """mock-api's answers of 429 so far."""
    return [r for r in svc.log_records() if r.get("fields", {}).get("outcome") == "rate_limited"]


def read(url, auth):
    """A GET on the desk with the bridge's key, which the desk's limit counts
    too: a 429 waits a second, as the bridge would."""
    for _ in range(10):
        status, _, body = http("GET", url, headers=auth)
        if status != 429:
            assert status == 200, body
            return body
        time.sleep(1)
    raise AssertionError(f"{url}: still 429 after 10 s")
