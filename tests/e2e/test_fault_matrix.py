"""The fault matrix against the real parts: the notifier under cargo lambda
watch, the real mock-api (faults injected through the connection's own
invocation headers, exactly as a user could configure them), the real
mock-auth, and moto. Each row: the typed outcome, the number of API
attempts, the time (inside the budget), and no secret in any log line.
Faults only a raw socket can produce are in functions/notifier/tests/faults.rs."""

import email.utils
import json
import os
import time

import pytest

from localrun import Services, field, free_port, http
from support import load_event

EVENT = load_event("catch-lambda.json")
# Under cargo lambda watch the invocation carries no deadline, so the budget
# is DEFAULT_BUDGET_MS; in Lambda it is the deadline minus DEADLINE_MARGIN_MS
# (500 ms), which is the time each row must finish inside.
BUDGET_MS = 4000
DEADLINE_MS = BUDGET_MS + 500
KEY, SECRET = "MATRIXKEY", "MatrixSecret-2f9c41"


def apikey_secret(**headers):
    params = [{"key": k.replace("_", "-"), "value": str(v), "is_value_secret": False} for k, v in headers.items()]
    s = {"api_key_name": "Authorization", "api_key_value": f"Outseta {KEY}:{SECRET}"}
    if params:
        s["invocation_http_parameters"] = {"header_parameters": params}
    return s


def oauth_secret(svc, token_url, client_secret=None, method="POST", api_headers=None, token_headers=None):
    s = {
        "client_id": "ticket-bridge-demo",
        "client_secret": client_secret or svc.client_secret,
        "authorization_endpoint": token_url,
        "http_method": method,
    }
    if token_headers:
        s["oauth_http_parameters"] = {
            "header_parameters": [{"key": k, "value": v, "is_value_secret": False} for k, v in token_headers.items()]
        }
    if api_headers:
        s["invocation_http_parameters"] = {
            "header_parameters": [{"key": k, "value": v, "is_value_secret": False} for k, v in api_headers.items()]
        }
    return s


def unique_event():
    """A distinct failure each time: the notifier rightly answers a repeat
    of a filed failure from its dedupe memory instead of filing again."""
    ev = json.loads(json.dumps(EVENT))
    ev["execution"] = ev["execution"] + "-" + os.urandom(4).hex()
    return ev


def http_date(seconds_from_now):
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def run_row(svc, arn, secret, expect, attempts, min_ms=0):
    svc.secrets().put_secret_value(SecretId=arn, SecretString=json.dumps(secret))
    before = len(svc.log_records())
    status, _, out = svc.invoke("notifier", unique_event())
    new = svc.log_records()[before:]
    posts = [r for r in new if field(r, "path") == "/api/v1/support/cases" and field(r, "method") == "POST"]
    ends = [r for r in new if field(r, "outcome") in ("delivered", "not_delivered")]
    assert len(ends) == 1, new
    took = field(ends[0], "duration_ms")
    if expect == "ok":
        assert status == 200, out
    else:
        err_type, fragment = expect
        assert status == 500 and out["errorType"] == err_type, out
        assert fragment in out["errorMessage"], out
    assert attempts(len(posts)), f"{len(posts)} API attempts"
    assert min_ms <= took < DEADLINE_MS, f"took {took} ms"
    return out


@pytest.fixture(scope="module")
def api_session():
    with Services() as svc:
        svc.start_moto()
        svc.reserve_watch_port()
        arn = svc.seed("apikey", "--key-name", "Authorization", "--key-value", f"Outseta {KEY}:{SECRET}")["secretArn"]
        svc.start_watch(
            arn,
            {
                "API_KEY": KEY,
                "API_SECRET": SECRET,
                "SECRET_CACHE_TTL_SECONDS": "0",
                "DEFAULT_BUDGET_MS": str(BUDGET_MS),
                "MAX_ATTEMPTS": "4",
                "ATTEMPT_TIMEOUT_MS": "2000",
            },
        )
        yield svc, arn
        text = svc.log_text()
        for canary in (SECRET, svc.client_secret):
            assert canary not in text, "a secret reached the logs"
        svc.cleanup()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_typed(api_session, status):
    svc, arn = api_session
    run_row(
        svc, arn, apikey_secret(X_Mock_Status=status), ("TicketDeliveryFailed", f"HTTP {status}"), lambda n: 2 <= n <= 4
    )


@pytest.mark.parametrize(
    ("retry_after", "expected", "attempts", "min_ms"),
    [
        # Seconds and an HTTP-date (made when the row runs) are both
        # honoured...
        (lambda: 1, "HTTP 429", lambda n: 2 <= n <= 4, 1000),
        # (a 429 spends time, not attempts: once the date has passed, the
        # backoff alone spaces the tries, doubling each time)
        (lambda: http_date(2), "HTTP 429", lambda n: 2 <= n <= 8, 500),
        # ...and a wait past the budget stops at once.
        (lambda: 60, "would not fit", lambda n: n == 1, 0),
    ],
    ids=["seconds", "http-date", "beyond-the-budget"],
)
def test_429_retry_after(api_session, retry_after, expected, attempts, min_ms):
    svc, arn = api_session
    run_row(
        svc,
        arn,
        apikey_secret(X_Mock_Status=429, X_Mock_Retry_After=retry_after()),
        ("TicketDeliveryFailed", expected),
        attempts,
        min_ms=min_ms,
    )


def test_slower_than_the_deadline_times_out_inside_it(api_session):
    svc, arn = api_session
    run_row(svc, arn, apikey_secret(X_Mock_Delay_Ms=5000), ("TicketDeliveryFailed", "timed out"), lambda n: n <= 2)
    # mock-api serves one request at a time under watch: let the abandoned
    # slow requests drain before the next row.
    http("GET", svc.url("mock-api", "/health"), timeout=30)


def test_client_error_is_rejected_with_the_api_message(api_session):
    svc, arn = api_session
    run_row(svc, arn, apikey_secret(X_Mock_Status=422), ("TicketRejected", "Injected"), lambda n: n == 1)


def test_healthy_api_files_exactly_one_case(api_session):
    svc, arn = api_session
    out = run_row(svc, arn, apikey_secret(), "ok", lambda n: n == 1)
    assert out["attempts"] == 1


def test_secret_not_json_and_unknown_layout(api_session):
    svc, arn = api_session
    for content, fragment in (("not json at all", "not JSON"), ({"grant": "x"}, "unknown connection secret layout")):
        svc.secrets().put_secret_value(
            SecretId=arn, SecretString=content if isinstance(content, str) else json.dumps(content)
        )
        status, _, out = svc.invoke("notifier", unique_event())
        assert status == 500 and out["errorType"] == "ConnectionSecretError" and fragment in out["errorMessage"], out


def test_oauth_faults(api_session):
    svc, arn = api_session
    far_future = str(int(time.time()) + 3600)
    # 401 even after a fresh token: every token counts as revoked.
    run_row(
        svc,
        arn,
        oauth_secret(svc, svc.token_url(), api_headers={"X-Mock-Revoke-Before": far_future}),
        ("AuthError", "even after refreshing"),
        lambda n: n == 2,
    )
    run_row(
        svc,
        arn,
        oauth_secret(svc, svc.token_url(), client_secret="wrong-secret"),
        ("AuthError", "rejected the client credentials"),
        lambda n: n == 0,
    )
    run_row(
        svc,
        arn,
        oauth_secret(svc, f"http://127.0.0.1:{free_port()}/token"),
        ("AuthError", "unreachable"),
        lambda n: n == 0,
    )
    # mock-api standing in for a broken token endpoint: a 500, and a 200 without access_token.
    run_row(
        svc,
        arn,
        oauth_secret(svc, svc.url("mock-api", "/api/v1/data"), token_headers={"X-Mock-Status": "500"}),
        ("AuthError", "failed (HTTP 500)"),
        lambda n: n == 0,
    )
    run_row(
        svc,
        arn,
        oauth_secret(svc, svc.url("mock-api", "/health"), method="GET"),
        ("AuthError", "without an access_token"),
        lambda n: n == 0,
    )


def test_secret_missing():
    with Services() as svc:
        svc.start_moto()
        svc.start_watch("events!connection/never-created/0", {"DEFAULT_BUDGET_MS": str(BUDGET_MS)})
        status, _, out = svc.invoke("notifier", EVENT)
        assert status == 500 and out["errorType"] == "ConnectionSecretError", out
        assert "events!connection/never-created/0" in out["errorMessage"] and "not found" in out["errorMessage"]
        svc.cleanup()


def test_secrets_manager_and_ticket_api_unreachable():
    with Services() as svc:
        svc.start_moto()
        arn = svc.seed("apikey", "--key-name", "Authorization", "--key-value", f"Outseta {KEY}:{SECRET}")["secretArn"]
        dead = f"http://127.0.0.1:{free_port()}"
        svc.start_watch(arn, {"AWS_ENDPOINT_URL_SECRETS_MANAGER": dead, "DEFAULT_BUDGET_MS": str(BUDGET_MS)})
        status, _, out = svc.invoke("notifier", EVENT)
        assert status == 500 and out["errorType"] == "ConnectionSecretError" and "unreachable" in out["errorMessage"], (
            out
        )
        svc.stop_watch()
        svc.start_watch(
            arn,
            {
                "TICKET_API_URL": f"{dead}/api/v1/support/cases",
                "MAX_ATTEMPTS": "3",
                "DEFAULT_BUDGET_MS": str(BUDGET_MS),
            },
        )
        started = time.time()
        status, _, out = svc.invoke("notifier", EVENT)
        assert status == 500 and out["errorType"] == "TicketDeliveryFailed", out
        assert "connection failed" in out["errorMessage"] and "3 attempts" in out["errorMessage"], out
        assert time.time() - started < DEADLINE_MS / 1000
        svc.cleanup()
