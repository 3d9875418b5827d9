"""Nothing lost, nothing duplicated, under load: 200 distinct failures plus
50 redelivered copies, concurrently, through the real notifier under cargo
lambda watch, against the real mock-api failing a third of all requests
with 503, with DynamoDB dedupe and the SNS fallback on moto. Every failure
must end as exactly one case, or as a typed error with its ticket in SNS."""

import collections
import json
import os
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

from localrun import Services, field, http
from support import load_event

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BASE = load_event("catch-lambda.json")
FAILURES, REDELIVERED = 200, 50
REPORT = os.environ.get("LOAD_REPORT", os.path.join(ROOT, "target", "load-report.json"))


def failure(i):
    ev = json.loads(json.dumps(BASE))
    ev["execution"] = f"arn:aws:states:eu-west-1:123456789012:execution:order-pipeline:load-{i:03d}"
    return ev


def executions_in(text):
    return re.findall(r"execution:order-pipeline:(load-\d{3})", text)


def test_two_hundred_flaky_deliveries_lose_and_duplicate_nothing():
    with Services() as svc:
        svc.start_moto()
        table = svc.seed("table")["tableName"]
        topic = svc.seed("topic")
        key, secret = "LOADKEY", "LOADSECRET-" + svc.client_secret
        arn = svc.seed(
            "apikey",
            "--key-name",
            "Authorization",
            "--key-value",
            f"Outseta {key}:{secret}",
            "--header",
            "X-Mock-Status=503",
            "--header",
            "X-Mock-Fail-Percent=33",
        )["secretArn"]
        svc.start_watch(
            arn,
            {
                "API_KEY": key,
                "API_SECRET": secret,
                "IDEMPOTENCY_TABLE": table,
                # Per-failure dedupe under load: with incident grouping (on
                # by default with a table) these 200 failures of one state
                # would be one case and its replies (test_incidents.py).
                "INCIDENT_GROUPING": "off",
                "FALLBACK_TOPIC_ARN": topic["topicArn"],
                "MAX_ATTEMPTS": "3",
            },
        )

        jobs = list(range(FAILURES)) + random.Random(7).sample(range(FAILURES), REDELIVERED)
        random.Random(11).shuffle(jobs)
        started = time.time()
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda i: (i, svc.invoke("notifier", failure(i), timeout=300)), jobs))
        elapsed = time.time() - started

        outcomes = collections.Counter()
        errored = set()
        for i, (status, _, out) in results:
            if status == 200:
                outcomes["duplicate" if out.get("duplicate") else "filed"] += 1
            else:
                assert out.get("errorType") == "TicketDeliveryFailed", out
                assert (
                    "published to the fallback topic" in out["errorMessage"]
                    or "another invocation" in out["errorMessage"]
                ), out
                outcomes["typed_error"] += 1
                errored.add(i)

        _, _, cases = http("GET", svc.cases_url(), headers={"Authorization": f"Outseta {key}:{secret}"})
        per_case = collections.Counter(e for c in cases for e in set(executions_in(c["Body"])))
        fallback = collections.Counter()
        for m in svc.seed("drain", "--queue-url", topic["queueUrl"]):
            fallback.update(set(executions_in(m["message"]["ticket"]["Body"])))
        api_posts = [
            r for r in svc.log_records() if field(r, "path") == "/api/v1/support/cases" and field(r, "method") == "POST"
        ]
        injected = sum(1 for r in api_posts if field(r, "status") == 503)

        names = {f"load-{i:03d}" for i in range(FAILURES)}
        duplicated = {e for e, n in per_case.items() if n > 1}
        lost = {e for e in names if per_case[e] == 0 and fallback[e] == 0}
        report = {
            "failures": FAILURES,
            "invocations": len(jobs),
            "elapsed_s": round(elapsed, 1),
            "api_posts": len(api_posts),
            "injected_503": injected,
            "cases": len(cases),
            "failures_with_a_case": sum(1 for e in names if per_case[e] == 1),
            "failures_only_in_fallback": sum(1 for e in names if per_case[e] == 0 and fallback[e] > 0),
            "fallback_messages": sum(fallback.values()),
            "outcomes": dict(outcomes),
            "lost": len(lost),
            "duplicated": len(duplicated),
        }
        os.makedirs(os.path.dirname(REPORT), exist_ok=True)
        with open(REPORT, "w") as f:
            json.dump(report, f, indent=2)
        print("load report:", json.dumps(report))
        assert not duplicated, f"duplicated: {sorted(duplicated)}"
        assert not lost, f"lost: {sorted(lost)}"
        assert len(cases) == sum(per_case.values()) == report["failures_with_a_case"], "a case for no known failure"
        assert injected > 0, "the fault injection did not fire"
        assert outcomes["duplicate"] > 0, "redelivered copies were not recognised as duplicates"
        svc.cleanup()
