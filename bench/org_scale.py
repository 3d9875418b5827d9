#!/usr/bin/env python3
"""What one hub costs per failure across an organization (issue 22): a
simulated organization, ACCOUNTS spoke accounts x MACHINES state machines,
each machine failing RUNS times, through the real notifier under `cargo
lambda watch --concurrency 4` with the hub's settings (HISTORY_ROLE_NAME,
routing by tags, incidents in a DynamoDB table), moto holding every account
(its STS maps assumed-role credentials to the role's account;
SF_EXECUTION_HISTORY_TYPE=FAILURE serves failed histories), and the real
mock-api as the desk.

It counts the calls each failure makes: AWS calls by operation (counted by
scripts/moto_atomic.py), and desk requests by kind (mock-api's log). Writes
target/bench/org-scale.json and prints a table; the README's "One hub for an
organization" section quotes it.

Usage: python3 bench/org_scale.py [--accounts 50] [--machines 4] [--runs 2]
"""

import argparse
import collections
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))


from localrun import Services, field, http, status_change  # noqa: E402

KEY = "ORGSCALEKEY"
ROLE = "TicketBridgeHistoryReader"


def desk_requests(svc):
    """The notifier's requests to mock-api, by kind."""
    out = collections.Counter()
    for r in svc.log_records():
        path, method = field(r, "path") or "", field(r, "method")
        if not path.startswith("/api/v1/"):
            continue
        if path.endswith("/replies"):
            out["reply"] += 1
        elif path.startswith("/api/v1/attribute/tags"):
            out["tags list"] += 1
        elif method == "POST":
            out["case"] += 1
        elif method == "PUT":
            out["case update"] += 1
        else:
            out["case read"] += 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--machines", type=int, default=4)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    with Services() as svc:
        svc.start_moto(env={"SF_EXECUTION_HISTORY_TYPE": "FAILURE"})
        secret = "OrgScale-" + os.urandom(6).hex()
        table = svc.seed("table")["tableName"]
        arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
        mocks = {"API_KEY": KEY, "API_SECRET": secret, "MOCK_CASE_TAGS": "pipelines"}
        svc.start_api_watch(mocks)
        svc.start_watch(arn, {**mocks, "IDEMPOTENCY_TABLE": table, "HISTORY_ROLE_NAME": ROLE}, concurrency=4)

        events = []
        for a in range(args.accounts):
            account = f"2{a + 1:011d}"
            sfn = svc.client_in("stepfunctions", account)
            for m in range(args.machines):
                machine = sfn.create_state_machine(
                    name=f"pipeline-{m}",
                    definition='{"StartAt":"A State","States":{"A State":{"Type":"Fail","Error":"AnError"}}}',
                    roleArn="arn:aws:iam::123456789012:role/sfn",
                    tags=[{"key": "ticket-bridge:tags", "value": "pipelines"}],
                )["stateMachineArn"]
                for _ in range(args.runs):
                    run = sfn.start_execution(stateMachineArn=machine)["executionArn"]
                    events.append(status_change(machine, run))
        failures = len(events)
        http("DELETE", f"{svc.moto}/_calls")
        started = time.time()
        with ThreadPoolExecutor(4) as pool:
            outs = list(pool.map(lambda e: svc.invoke("notifier", e, timeout=120), events))
        wall = time.time() - started
        flush = svc.invoke("notifier", {"ticketBridge": "flush"}, timeout=300)
        bad = [o for o in outs if o[0] != 200 or "errorType" in o[2]]
        _, _, aws = http("GET", f"{svc.moto}/_calls")
        desk = desk_requests(svc)
        incidents = collections.Counter(o[2].get("incident") for o in outs if o[0] == 200)

    report = {
        "accounts": args.accounts,
        "machines_per_account": args.machines,
        "runs_per_machine": args.runs,
        "failures": failures,
        "not_filed": len(bad),
        "wall_seconds": round(wall, 1),
        "incident_outcomes": dict(incidents),
        "flush": flush[2],
        "aws_calls": dict(sorted(aws.items())),
        "aws_calls_per_failure": {k: round(v / failures, 3) for k, v in sorted(aws.items())},
        "desk_requests": dict(desk),
        "desk_requests_per_failure": {k: round(v / failures, 3) for k, v in desk.items()},
    }
    out = os.path.join(ROOT, "target", "bench", "org-scale.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))
    if bad:
        print(f"org-scale: {len(bad)} failures not filed: {bad[:3]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
