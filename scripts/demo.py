#!/usr/bin/env python3
"""`make demo`: the whole bridge on this machine, no AWS account.

1. moto plays AWS: its EventBridge CreateConnection writes an OAuth
   client-credentials connection secret whose token endpoint is mock-auth.
2. `cargo lambda watch` serves the notifier, mock-auth and mock-api.
3. A Step Functions Catch payload (events/catch-lambda.json) is sent to the
   notifier: it reads the connection, fetches a token, files the case.
4. The same failure again (a retry) is answered from the dedupe memory.
5. The cached token is revoked; the next failure gets a 401, a new token and
   its case anyway.
6. The cases mock-api holds are listed. Everything started is stopped, also on
   Ctrl-C or error.
"""
import base64
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localrun import CLIENT_ID, ROOT, Services, field, http  # noqa: E402


def say(msg=""):
    print(msg, flush=True)


def token_ids(svc, path, **match):
    rows = [r for r in svc.log_records() if field(r, "path") == path]
    return [r for r in rows if all(field(r, k) == v for k, v in match.items())]


def text_of(html, limit=400):
    flat = re.sub(r"<[^>]+>", " ", html)
    flat = re.sub(r"\s+", " ", flat).replace("&quot;", '"').replace("&amp;", "&").strip()
    return flat[:limit] + ("…" if len(flat) > limit else "")


def main():
    event_file = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "events/catch-lambda.json")
    event = json.load(open(event_file))
    with Services() as svc:
        say("== starting moto (local Secrets Manager + EventBridge)")
        svc.start_moto()
        svc.reserve_watch_port()
        conn = svc.seed("--name", "outseta-demo", "oauth", "--token-url", svc.token_url(),
                        "--client-id", CLIENT_ID, "--client-secret", svc.client_secret)
        say(f"   connection: {conn['connectionArn']}")
        say(f"   its secret: {conn['secretArn']}")
        say("== starting cargo lambda watch (notifier, mock-auth, mock-api); first run compiles")
        # TTL 0 so step 4's change to the connection is seen at once.
        svc.start_watch(conn["secretArn"], {"SECRET_CACHE_TTL_SECONDS": "0"})
        say(f"   serving on 127.0.0.1:{svc.watch_port}; logs in {svc.logdir}")

        say(f"\n== 1. a failure arrives: {os.path.relpath(event_file, ROOT)}")
        status, _, out = svc.invoke("notifier", event)
        if status != 200:
            raise SystemExit(f"notifier failed: {out}")
        fetched = token_ids(svc, "/token", status=200)
        say(f"   token fetched from mock-auth: id {field(fetched[-1], 'token_id')}")
        say(f"   ticket created: Uid {out['caseUid']}  Subject: {out['subject']}")

        say("\n== 2. the same failure delivered again (a retry or redelivery)")
        status, _, dup = svc.invoke("notifier", event)
        say(f"   answered from the dedupe memory: duplicate={dup.get('duplicate')}, case {dup.get('caseUid')}, nothing filed")

        say("\n== 3. refresh: the cached token is revoked at mock-api, then another execution fails")
        time.sleep(1.1)
        svc.set_invocation_header(conn["secretArn"], "X-Mock-Revoke-Before", str(int(time.time())))
        second = json.loads(json.dumps(event))
        if "execution" in second:
            second["execution"] += "-next-run"
        else:
            second["demoRun"] = 2
        status, _, out2 = svc.invoke("notifier", second)
        if status != 200:
            raise SystemExit(f"notifier failed after revocation: {out2}")
        posts = token_ids(svc, "/api/v1/support/cases", method="POST")
        tokens = token_ids(svc, "/token", status=200)
        old, new = field(tokens[0], "token_id"), field(tokens[-1], "token_id")
        say(f"   POST with cached token {old} -> {field(posts[-2], 'status')} ({field(posts[-2], 'reason')})")
        say(f"   new token fetched: id {new}")
        say(f"   POST with token {new} -> {field(posts[-1], 'status')}: case {out2['caseUid']} in {out2['attempts']} attempts")

        say("\n== 4. cases held by mock-api")
        basic = base64.b64encode(f"{CLIENT_ID}:{svc.client_secret}".encode()).decode()
        _, _, tok = http("POST", svc.token_url(), b"grant_type=client_credentials",
                         {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        _, _, cases = http("GET", svc.cases_url(), headers={"Authorization": f"Bearer {tok['access_token']}"})
        for c in cases:
            say(f"   {c['Uid']}  {c['SubmittedDateTime']}  {c['Subject']}")
        say(f"\n   body of {cases[0]['Uid']} (as text): {text_of(cases[0]['Body'])}")
        say("\n== done: stopping everything")
        svc.cleanup()


if __name__ == "__main__":
    main()
