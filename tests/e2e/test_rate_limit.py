"""Outseta's rate limit (issue 21): 4 requests a second per API key, then
429 with `Retry-After`. The real mock-api keeps it (`RATE_LIMIT_PER_SECOND`,
in a watch of its own, one instance, so one budget), the notifier runs under
`cargo lambda watch --concurrency 8`, and a storm of 50 distinct failures
arrives 8 at a time. Every failure is filed, or, if it cannot make it within
its budget, published to the fallback topic and returned as a typed error:
none is lost, and the notifier honours `Retry-After` rather than hammering."""

import os
from concurrent.futures import ThreadPoolExecutor

from localrun import http

KEY = "LIMITKEY"
STORM = 50
CONCURRENCY = 8


def failure(n):
    return {
        "error": {"Error": "States.TaskFailed", "Cause": f"storm failure {n}"},
        "execution": f"arn:aws:states:us-east-1:123456789012:execution:limited:run-{n}",
        "stateMachine": "limited",
        "failedState": f"Step{n}",
    }


def test_a_storm_of_fifty_under_four_requests_a_second_loses_nothing(svc):
    secret = "LimitSecret-" + os.urandom(6).hex()
    topic = svc.seed("topic")
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    mocks = {"API_KEY": KEY, "API_SECRET": secret, "RATE_LIMIT_PER_SECOND": "4"}
    svc.start_api_watch(mocks)
    svc.start_watch(
        arn,
        {**mocks, "FALLBACK_TOPIC_ARN": topic["topicArn"], "INCIDENT_GROUPING": "off", "ROUTING": "off"},
        concurrency=CONCURRENCY,
    )

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        outs = list(pool.map(lambda n: svc.invoke("notifier", failure(n), timeout=120), range(STORM)))

    filed = {out["caseUid"] for status, _, out in outs if status == 200 and "caseUid" in out}
    refused = [out for status, _, out in outs if status != 200 or "errorType" in out]
    auth = {"Authorization": f"Outseta {KEY}:{secret}"}
    status, _, cases = http("GET", f"{svc.cases_url()}?limit=200", headers=auth)
    assert status == 200, cases
    subjects = {c["Subject"] for c in cases}
    # Every failure is a case, or its ticket is in the fallback topic.
    drained = svc.seed("drain", "--queue-url", topic["queueUrl"])
    fallback = [m["message"]["ticket"]["Subject"] for m in drained]
    for n in range(STORM):
        here = [s for s in subjects if s.endswith(f"in Step{n}")]
        there = [s for s in fallback if s.endswith(f"in Step{n}")]
        assert here or there, f"failure {n} was lost: neither a case nor in the fallback topic"
    assert len(filed) + len(refused) == STORM
    # The limit was met: mock-api answered 429 at least once, and the
    # notifier waited instead of giving up on it.
    limited = [r for r in svc.log_records() if r.get("fields", {}).get("outcome") == "rate_limited"]
    assert limited, "the storm never reached the limit: the test proves nothing"
    # 429s spend the invocation's time, not its attempts: at 4 a second, 50
    # cases take ~13 s, inside the 25 s budget, so every one is filed.
    assert len(filed) == STORM, f"only {len(filed)} of {STORM} filed within their budgets: {refused[:2]}"
