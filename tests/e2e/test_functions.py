"""The three real function binaries over HTTP under `cargo lambda watch`,
with moto holding EventBridge connection secrets: each auth mode creates
exactly one case, an OAuth token revoked while cached is refreshed once,
wrong client credentials end as AuthError inside the deadline, and no
secret or token shows up in any log line of any function."""

import base64
import json
import os
import subprocess
import time

from localrun import field, http
from support import load_event

EVENT = load_event("catch-lambda.json")


def cases(s, auth):
    status, _, body = http("GET", s.cases_url(), headers={"Authorization": auth})
    assert status == 200, body
    return body


def assert_no_leaks(s, *canaries):
    text = s.log_text()
    for c in canaries:
        assert c not in text, f"log leaks {c[:6]}…"


def distinct(event, tag):
    """The same failure in another execution: a new failure, not a repeat."""
    ev = json.loads(json.dumps(event))
    ev["execution"] = f"{ev['execution']}-{tag}"
    return ev


def delivered(s, event=EVENT):
    status, _, out = s.invoke("notifier", event)
    assert status == 200, out
    return out


def test_api_key_mode_creates_exactly_one_case(svc):
    key, secret = "KEY-" + svc.client_secret[-6:], "APISECRET-" + svc.client_secret
    arn = svc.seed("apikey", "--key-name", "Authorization", "--key-value", f"Outseta {key}:{secret}")["secretArn"]
    svc.start_watch(arn, {"API_KEY": key, "API_SECRET": secret})
    out = delivered(svc)
    held = cases(svc, f"Outseta {key}:{secret}")
    assert [c["Uid"] for c in held] == [out["caseUid"]]
    assert held[0]["Subject"] == "[Step Functions] order-pipeline: PaymentDeclined in ChargeCard"
    assert held[0]["FromPerson"] == {"Email": "oncall@example.com"}
    assert "card ending 4242 was declined" in held[0]["Body"]
    assert_no_leaks(svc, secret)


def test_basic_mode_creates_exactly_one_case(svc):
    password = "pw-" + svc.client_secret
    arn = svc.seed("basic", "--username", "bridge", "--password", password)["secretArn"]
    svc.start_watch(arn, {"BASIC_USER": "bridge", "BASIC_PASSWORD": password})
    out = delivered(svc)
    auth = "Basic " + base64.b64encode(f"bridge:{password}".encode()).decode()
    assert [c["Uid"] for c in cases(svc, auth)] == [out["caseUid"]]
    assert_no_leaks(svc, password, auth.split()[1])


def test_oauth_mode_refreshes_a_revoked_token_once(svc):
    svc.reserve_watch_port()
    arn = svc.seed_oauth()["secretArn"]
    # TTL 0: the notifier re-reads the connection each time, so the revoke
    # header added below reaches it; the token itself stays cached.
    svc.start_watch(arn, {"SECRET_CACHE_TTL_SECONDS": "0"})
    first = delivered(svc, distinct(EVENT, "run-1"))
    assert first["attempts"] == 1
    second = delivered(svc, distinct(EVENT, "run-2"))  # cached token, no new fetch
    time.sleep(1.1)  # revocation has one-second resolution
    svc.set_invocation_header(arn, "X-Mock-Revoke-Before", str(int(time.time())))
    third = delivered(svc, distinct(EVENT, "run-3"))
    assert third["attempts"] == 2, third

    api_lines = [
        r for r in svc.log_records() if field(r, "path") == "/api/v1/support/cases" and field(r, "method") == "POST"
    ]
    statuses = [(field(r, "status"), field(r, "reason"), field(r, "token_id")) for r in api_lines]
    assert [(st, why) for st, why, _ in statuses] == [(200, "-"), (200, "-"), (401, "revoked"), (200, "-")], statuses
    tokens = [t for _, _, t in statuses]
    assert tokens[0] == tokens[1] != tokens[3] and "-" not in (tokens[0], tokens[3]), tokens
    issued = [r for r in svc.log_records() if field(r, "path") == "/token"]
    assert [field(r, "status") for r in issued] == [200, 200], "expected exactly two token fetches"
    notifier_lines = [r for r in svc.log_records() if field(r, "outcome") == "delivered"]
    assert [field(r, "token_fetches") for r in notifier_lines] == [1, 0, 1]

    token = svc.fetch_token()
    held = cases(svc, f"Bearer {token}")
    assert sorted(c["Uid"] for c in held) == sorted([first["caseUid"], second["caseUid"], third["caseUid"]])
    assert_no_leaks(svc, svc.client_secret, token)


def test_wrong_client_secret_is_an_auth_error_within_the_deadline(svc):
    svc.reserve_watch_port()
    arn = svc.seed(
        "oauth",
        "--token-url",
        svc.token_url(),
        "--client-id",
        "ticket-bridge-demo",
        "--client-secret",
        "wrong-" + svc.client_secret,
    )["secretArn"]
    svc.start_watch(arn)
    started = time.time()
    status, _, out = svc.invoke("notifier", EVENT)
    assert time.time() - started < 10
    assert status == 500
    assert out["errorType"] == "AuthError", out
    assert "rejected the client credentials" in out["errorMessage"] and "/token" in out["errorMessage"]
    assert "wrong-" not in json.dumps(out)
    failure = [r for r in svc.log_records() if field(r, "outcome") == "not_delivered"]
    assert len(failure) == 1 and "PaymentDeclined" in field(failure[0], "ticket")
    assert_no_leaks(svc, svc.client_secret)


def test_synthesized_state_machine_runs_locally_into_one_ticket(svc):
    """The CDK demo's real ASL definition, run by aws-local-stepfunctions: the
    demo step fails, its Catch calls the real notifier (Invoke API of cargo
    lambda watch), which files the case in the real mock-api."""
    template = os.path.join(os.path.dirname(__file__), "../../infra/cdk.out/TicketBridgeDemo.template.json")
    assert os.path.exists(template), "run infra/scripts/test.sh first (make test does): no synthesized template"
    svc.reserve_watch_port()
    arn = svc.seed_oauth()["secretArn"]
    svc.start_watch(arn)
    env = dict(
        os.environ,
        NOTIFIER_INVOKE_URL=f"http://127.0.0.1:{svc.watch_port}/2015-03-31/functions/notifier/invocations",
        MOCK_AUTH_TOKEN_URL=svc.token_url(),
        MOCK_API_BASE_URL=svc.url("mock-api", ""),
        CLIENT_ID="ticket-bridge-demo",
        CLIENT_SECRET=svc.client_secret,
    )
    run = subprocess.run(
        ["node", "infra/test/local-sfn/run.mjs"],
        cwd=os.path.join(os.path.dirname(__file__), "../.."),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "FAILED" and result["stateName"] == result["expectedStateName"], result

    held = cases(svc, f"Bearer {svc.fetch_token()}")
    assert len(held) == 1, [c["Subject"] for c in held]
    body = held[0]["Body"]
    message = result["input"]["message"]
    assert message in body, "the caught error's message is not in the ticket"
    assert "RunStep" in held[0]["Subject"] and "RunStep" in body, held[0]["Subject"]
    assert held[0]["Uid"] == result["ticket"]["caseUid"]
    print("local run ticket:", held[0]["Subject"])
    assert_no_leaks(svc, svc.client_secret)


def test_runtime_hands_hostile_events_to_the_notifier_as_typed_errors(svc):
    """Through the real runtime: 10,000-level nesting and a non-failure event
    both come back as InvalidFailureEvent, not as a runtime crash."""
    arn = svc.seed("apikey", "--key-name", "Authorization", "--key-value", "Outseta K:S")["secretArn"]
    svc.start_watch(arn, {"API_KEY": "K", "API_SECRET": "S"})
    deep = b'{"x":' + b"[" * 10000 + b"]" * 10000 + b"}"
    status, _, out = svc.invoke("notifier", deep)
    assert status == 500 and out["errorType"] == "InvalidFailureEvent", out
    assert "recursion limit" in out["errorMessage"]
    status, _, out = svc.invoke("notifier", {"hello": "world"})
    assert status == 500 and out["errorType"] == "InvalidFailureEvent", out
    status, _, out = svc.invoke("notifier", EVENT)
    assert status == 200 and out["attempts"] == 1, "the function survived both"
    status, _, again = svc.invoke("notifier", EVENT)
    assert status == 200 and again == {**out, "attempts": 0, "duplicate": True}, "a repeat files nothing"
