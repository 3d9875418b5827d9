#!/usr/bin/env python3
"""`make demo`: the whole bridge on this machine, no AWS account.

1. moto plays AWS: its EventBridge CreateConnection writes an OAuth
   client-credentials connection secret whose token endpoint is mock-auth
   (with `--auth apikey`: an Outseta API-key connection built by the
   EventBridge-valid recipe, `moto_seed.py outseta`), and a DynamoDB table
   holds the dedupe claims and the incidents.
2. `cargo lambda watch` serves the notifier, mock-auth and mock-api.
3. A Step Functions Catch payload (events/catch-lambda.json) is sent to the
   notifier: it reads the connection, fetches a token, files the case.
4. The same failure again (a retry) is answered from its dedupe claim.
5. The same state fails again in another execution: a recurrence, so no new
   case but an agent reply on the open one (an incident).
6. OAuth only: the cached token is revoked; the next recurrence gets a 401,
   a new token and its reply anyway.
7. The case's life: the state machine (in moto, tagged
   `ticket-bridge:assignee` and `ticket-bridge:tags`) routed the case to its
   owner; two SUCCEEDED executions close it (RESOLVE_AFTER_SUCCESSES=2), and
   the next failure reopens the same case.
8. The cases mock-api holds are listed, with their replies. Everything
   started is stopped, also on Ctrl-C or error.
"""

import argparse
import html
import json
import os
import re
import time

from localrun import ROOT, Services, field, http, status_change

# The demo's Outseta API key (mock-api accepts exactly this pair).
API_KEY, API_SECRET = "demo-key", "demo-secret-" + os.urandom(6).hex()


def say(msg=""):
    print(msg, flush=True)


def token_ids(svc, path, **match):
    """mock-api/mock-auth log rows of `path` (None: every cases API path)."""
    if path is None:
        rows = [r for r in svc.log_records() if (field(r, "path") or "").startswith("/api/v1/support/cases")]
    else:
        rows = [r for r in svc.log_records() if field(r, "path") == path]
    return [r for r in rows if all(field(r, k) == v for k, v in match.items())]


def text_of(html, limit=400):
    flat = re.sub(r"<[^>]+>", " ", html)
    flat = re.sub(r"\s+", " ", flat).replace("&quot;", '"').replace("&amp;", "&").strip()
    return flat[:limit] + ("…" if len(flat) > limit else "")


def write_case_page(case):
    """The case exactly as mock-api holds it, as a page a browser opens: the
    Body and each reply's Comment are the HTML the notifier sent."""
    out = os.path.join(ROOT, "target", "demo")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"case-{case['Uid']}.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(case['Subject'])}</title>\n</head>\n<body>\n"
            f"<h1>{html.escape(case['Subject'])}</h1>\n{case['Body']}\n"
        )
        for h in case.get("CaseHistories", []):
            f.write(
                f"<hr>\n<h2>Reply by {html.escape(h['AgentName'])} at {html.escape(h['HistoryDateTime'])}</h2>\n"
                f"{h['Comment']}\n"
            )
        f.write("</body>\n</html>\n")
    return path


# The owner the demo's state machine names in its tags, and its case tags.
OWNER = "dpWp6Lmn"
OWNER_TAGS = "pipelines/payments"


def authorization(svc, auth):
    header = f"Outseta {API_KEY}:{API_SECRET}" if auth == "apikey" else f"Bearer {svc.fetch_token()}"
    return {"Authorization": header}


def list_cases(svc, auth):
    status, _, cases = http("GET", svc.cases_url(), headers=authorization(svc, auth))
    if status != 200:
        raise SystemExit(f"mock-api did not list the cases (HTTP {status}): {cases}")
    return cases


def read_case(svc, auth, uid):
    url = f"{svc.cases_url()}/{uid}?fields=*,CaseTags.Tag.*"
    status, _, case = http("GET", url, headers=authorization(svc, auth))
    if status != 200:
        raise SystemExit(f"mock-api did not return case {uid} (HTTP {status}): {case}")
    return case


def tagged_machine(svc, event):
    """The event's state machine in moto, tagged with where its cases go."""
    arn = event["execution"].replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    region = arn.split(":")[3]
    svc.client("stepfunctions", region).create_state_machine(
        name=arn.rsplit(":", 1)[1],
        definition='{"StartAt":"ChargeCard","States":{"ChargeCard":{"Type":"Pass","End":true}}}',
        roleArn="arn:aws:iam::123456789012:role/sfn",
        tags=[
            {"key": "ticket-bridge:assignee", "value": OWNER},
            {"key": "ticket-bridge:tags", "value": OWNER_TAGS},
        ],
    )
    return arn


def life_scenario(svc, auth, event, machine, uid, step):
    say(f"\n== {step}. the case's life: routed by the machine's tags, closed on recovery, reopened")
    case = read_case(svc, auth, uid)
    tags = sorted(t["Tag"]["Name"] for t in case["CaseTags"])
    say(f"   {machine.rsplit(':', 1)[1]} is tagged ticket-bridge:assignee={OWNER}, ticket-bridge:tags={OWNER_TAGS}:")
    say(f"   case {uid} is assigned to {case['AssignedToPersonClientIdentifier']} and tagged {', '.join(tags)}")
    executions = machine.replace(":stateMachine:", ":execution:")
    for n in (1, 2):
        ok = status_change(machine, f"{executions}:nightly-ok-{n}")
        now = int(time.time() * 1000)
        ok["detail"].update(status="SUCCEEDED", startDate=now - 1000, stopDate=now)
        status, _, out = svc.invoke("notifier", ok)
        if status != 200:
            raise SystemExit(f"notifier failed on a success: {out}")
        if out.get("resolved"):
            closed = ", ".join(out["resolved"])
            say(f"   success {n} of 2 in a row: case {closed} closed (a Resolved reply, then PUT Status 2)")
        else:
            say(f"   success {n} of 2 in a row: counted on {out.get('counted', 0)} open incident(s)")
    say(f"   case {uid} status: {read_case(svc, auth, uid)['Status']} (2 = closed)")
    status, _, back = svc.invoke("notifier", another_run(event, 9))
    if status != 200:
        raise SystemExit(f"notifier failed on the new failure: {back}")
    now = read_case(svc, auth, uid)["Status"]
    say(f"   it fails again: {back.get('incident')} case {back.get('caseUid')}, status now {now} (1 = open)")


def another_run(event, n):
    """The same failure in another execution of the same state machine."""
    ev = json.loads(json.dumps(event))
    if "execution" in ev:
        ev["execution"] += f"-run-{n}"
    elif isinstance(ev.get("detail"), dict) and ev["detail"].get("executionArn"):
        ev["detail"]["executionArn"] += f"-run-{n}"
    else:
        ev["demoRun"] = n
    return ev


def describe(out):
    """One line for the notifier's answer: a case, a reply, or coalesced."""
    if out.get("incident") == "reply_posted":
        return f"reply posted on case {out['caseUid']} (occurrence {out['occurrence']} of this failure)"
    if out.get("incident") == "reopened":
        return f"case {out['caseUid']} reopened with a reply (occurrence {out['occurrence']})"
    if out.get("incident") == "reply_coalesced":
        return f"coalesced into the next reply on case {out['caseUid']} (occurrence {out['occurrence']})"
    return f"case {out['caseUid']}"


def refresh_scenario(svc, conn, event):
    say("\n== 4. refresh: the cached token is revoked at mock-api, then the failure recurs once more")
    time.sleep(1.1)  # tokens carry whole seconds: the cut-off must be after the cached token's
    svc.set_invocation_header(conn["secretArn"], "X-Mock-Revoke-Before", str(int(time.time())))
    status, _, out = svc.invoke("notifier", another_run(event, 3))
    if status != 200:
        raise SystemExit(f"notifier failed after revocation: {out}")
    api = token_ids(svc, None)
    refused = [i for i, r in enumerate(api) if field(r, "status") == 401][-1]
    tokens = token_ids(svc, "/token", status=200)
    # The refused request's row names no token (it was revoked): the earlier one mock-auth issued.
    old, new = field(tokens[-2] if len(tokens) > 1 else tokens[0], "token_id"), field(tokens[-1], "token_id")
    after = api[refused + 1]
    say(
        f"   {field(api[refused], 'method')} {field(api[refused], 'path')} with cached token {old} -> "
        f"{field(api[refused], 'status')} ({field(api[refused], 'reason')})"
    )
    say(f"   new token fetched: id {new}")
    say(f"   {field(after, 'method')} {field(after, 'path')} with token {new} -> {field(after, 'status')}")
    say(f"   {describe(out)}, in {out['attempts']} API calls")


def main():
    ap = argparse.ArgumentParser(description="The whole bridge locally: moto, cargo lambda watch, tickets.")
    ap.add_argument("event", nargs="?", default=os.path.join(ROOT, "events/catch-lambda.json"))
    ap.add_argument(
        "--auth",
        choices=("oauth", "apikey"),
        default="oauth",
        help="oauth (default: shows a token refresh) or apikey (the EventBridge-valid Outseta recipe)",
    )
    args = ap.parse_args()
    with open(args.event) as f:
        event = json.load(f)
    with Services() as svc:
        say("== starting moto (local Secrets Manager + EventBridge)")
        svc.start_moto()
        svc.reserve_watch_port()
        if args.auth == "apikey":
            conn = svc.seed("--name", "outseta-demo", "outseta", "--key", API_KEY, "--secret", API_SECRET)
            extra = {"API_KEY": API_KEY, "API_SECRET": API_SECRET}
            say("   Outseta API-key connection: key X-Outseta-Connection: header-parameter, and")
            say("   Authorization: Outseta KEY:SECRET as a secret invocation header (EventBridge allows `:` there)")
        else:
            conn = svc.seed_oauth("--name", "outseta-demo")
            extra = {}
        say(f"   connection: {conn['connectionArn']}")
        say(f"   its secret: {conn['secretArn']}")
        table = svc.seed("table")["tableName"]
        say(f"   DynamoDB table {table}: dedupe claims and incidents")
        machine = tagged_machine(svc, event) if "execution" in event else None
        if machine:
            say(f"   state machine {machine}, tagged with its owner and case tags")
        say("== starting cargo lambda watch (notifier, mock-auth, mock-api); first run compiles")
        env = {
            # TTL 0 so the refresh step's change to the connection is seen at once.
            "SECRET_CACHE_TTL_SECONDS": "0",
            "IDEMPOTENCY_TABLE": table,
            # A reply per recurrence, so the demo shows it at once; the default
            # (60 s) coalesces a storm into one reply a minute, plus a flush.
            "INCIDENT_REPLY_INTERVAL_SECONDS": "0",
            # mock-api keeps Outseta's documented limit: 4 requests a second
            # per key, then 429 with Retry-After, which the notifier honours.
            "RATE_LIMIT_PER_SECOND": "4",
            # The desk's case tags, and the case closed after two successes.
            "MOCK_CASE_TAGS": "pipelines,payments,muted",
            "RESOLVE_AFTER_SUCCESSES": "2",
            **extra,
        }
        svc.start_watch(conn["secretArn"], env)
        say(f"   serving on 127.0.0.1:{svc.watch_port}; logs in {svc.logdir}")

        say(f"\n== 1. a failure arrives: {os.path.relpath(args.event, ROOT)}")
        status, _, out = svc.invoke("notifier", event)
        if status != 200:
            raise SystemExit(f"notifier failed: {out}")
        if args.auth == "oauth":
            fetched = token_ids(svc, "/token", status=200)
            say(f"   token fetched from mock-auth: id {field(fetched[-1], 'token_id')}")
        say(f"   ticket created: Uid {out['caseUid']}  Subject: {out['subject']}")

        say("\n== 2. the same failure delivered again (a retry or redelivery)")
        status, _, dup = svc.invoke("notifier", event)
        say(
            f"   answered from its dedupe claim: duplicate={dup.get('duplicate')}, "
            f"case {dup.get('caseUid')}, nothing filed"
        )

        say("\n== 3. the same state fails again, in another execution: a recurrence")
        status, _, again = svc.invoke("notifier", another_run(event, 2))
        if status != 200:
            raise SystemExit(f"notifier failed on the recurrence: {again}")
        say(f"   no new case: {describe(again)}")

        if args.auth == "oauth":
            refresh_scenario(svc, conn, event)

        step = 5 if args.auth == "oauth" else 4
        if machine:
            life_scenario(svc, args.auth, event, machine, out["caseUid"], step)
            step += 1
        say(f"\n== {step}. cases held by mock-api")
        cases = list_cases(svc, args.auth)
        for c in cases:
            say(f"   {c['Uid']}  {c['SubmittedDateTime']}  {c['Subject']}  ({len(c['CaseHistories'])} replies)")
        say(f"\n   body of {cases[0]['Uid']} (as text): {text_of(cases[0]['Body'])}")
        for h in cases[0]["CaseHistories"]:
            say(f"\n   reply by {h['AgentName']} at {h['HistoryDateTime']}: {text_of(h['Comment'], 300)}")
        page = write_case_page(cases[0])
        say(f"   as the support desk shows it: file://{page}")
        say("\n== done: stopping everything")
        svc.cleanup()


if __name__ == "__main__":
    main()
