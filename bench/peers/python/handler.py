"""The Python peer: the notifier as teams typically write it today.

boto3 reads the EventBridge connection secret and, for an EventBridge
status change, the execution history; `requests` POSTs the case. It does
the same job as the Rust notifier, so the benchmark compares runtimes and
not features: the same event shapes, the failed state read from the
history (GetExecutionHistory newest first, pages of 200, at most 3 pages,
as the notifier reads it), a decoded Lambda cause, an escaped HTML body
with a summary, console links and redacted input, the same OAuth
client-credentials flow, and one JSON log line per invocation.

It is written the *good* way (clients, the parsed secret and the token are
cached at module scope for the warm container, with the same TTLs as the
notifier), so the comparison is not won by a strawman that re-reads the
secret on every call.
"""

import base64
import html
import json
import os
import re
import time

import boto3
import requests

TICKET_API_URL = os.environ["TICKET_API_URL"]
SECRET_ID = os.environ["CONNECTION_SECRET_ID"]
FROM_EMAIL = os.environ.get("FROM_PERSON_EMAIL", "oncall@example.com")
SECRET_TTL = int(os.environ.get("SECRET_CACHE_TTL_SECONDS", "300"))
SUBJECT_PREFIX = os.environ.get("SUBJECT_PREFIX", "[Step Functions]")
REGION = os.environ.get("AWS_REGION", "us-east-1")

SENSITIVE = re.compile(
    r"pass(word|wd)?|secret|token|api[-_ ]?key|authori[sz]ation|credential|private[-_ ]?key|cookie", re.I
)
CREDENTIAL_TEXT = re.compile(r"\b(Bearer|Basic|Outseta)\s+[A-Za-z0-9._~+/:=-]+")
CONTEXT_KEYS = ("execution", "stateMachine", "failedState", "startTime", "input")
# The notifier's history limits (shared/core/src/history.rs, HistoryLimits).
HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 3
WRAPPER_ERRORS = ("", "States.TaskFailed", "States.Runtime")
EMPTY = (None, "")

secrets = boto3.client("secretsmanager")
sfn = boto3.client("stepfunctions")
http = requests.Session()
_secret = {"value": None, "at": 0.0}
_token = {"value": None, "refresh_at": 0.0}


def log(**fields):
    print(json.dumps(fields), flush=True)


def redact(value):
    if isinstance(value, dict):
        return {k: "[REDACTED]" if SENSITIVE.search(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return CREDENTIAL_TEXT.sub(r"\1 [REDACTED]", value)
    return value


def intake(event):
    if event.get("detail-type") == "Step Functions Execution Status Change":
        d = event.get("detail") or {}
        if d.get("status") not in ("FAILED", "TIMED_OUT", "ABORTED"):
            return None
        arn = d.get("executionArn") or ""
        raw = d.get("input")
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw
        return {
            "error": d.get("error"),
            "cause": d.get("cause"),
            "status": d.get("status"),
            "execution": arn,
            "stateMachine": arn.split(":")[6] if arn.count(":") >= 7 else None,
            "failedState": None,
            "startTime": d.get("startDate"),
            "input": data,
        }
    err = event.get("error") if isinstance(event.get("error"), dict) else event
    if "Error" not in err:
        raise ValueError("no {Error, Cause} object at $.error or at the root")
    data = event.get("input", {k: v for k, v in event.items() if k not in CONTEXT_KEYS and k != "error"})
    return {
        "error": err.get("Error"),
        "cause": err.get("Cause"),
        "status": None,
        "execution": event.get("execution"),
        "stateMachine": event.get("stateMachine"),
        "failedState": event.get("failedState"),
        "startTime": event.get("startTime"),
        "input": data,
    }


def is_state_failure(kind):
    failed = kind.endswith("Failed") and not kind.startswith("MapIteration")
    return (failed or kind.endswith("TimedOut")) and not kind.startswith("Execution")


def outcome(event):
    """Error and cause from a failure event's `...EventDetails`."""
    d = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    return {"error": d.get("error"), "cause": d.get("cause")}


def entered(event):
    d = event["stateEnteredEventDetails"]
    return {"state": d["name"], "input": d.get("input")}


def scheduled_resource(events):
    for e in events:
        if e["type"] == "TaskScheduled":
            t = e["taskScheduledEventDetails"]
            return f"arn:aws:states:::{t['resourceType']}:{t['resource']}"
        if e["type"] == "LambdaFunctionScheduled":
            return e["lambdaFunctionScheduledEventDetails"]["resource"]
    return None


def locate(events):
    """The failed state in a history, newest first: the newest state-level
    failure and the state entered before it, with the resource scheduled for
    it and the retries it spent; a Fail state, with the execution's error;
    for a timeout or an abort, the newest state entered and never exited."""
    terminal = next((e for e in events if e["type"].startswith("Execution") and e["type"] != "ExecutionStarted"), {})
    found = outcome(terminal)
    at = next((i for i, e in enumerate(events) if is_state_failure(e["type"]) or e["type"] == "FailStateEntered"), None)
    start = None
    if at is not None and events[at]["type"] == "FailStateEntered":
        return {**entered(events[at]), **found}
    if at is not None:
        found = outcome(events[at])
        start = next((j for j in range(at, len(events)) if events[j]["type"].endswith("StateEntered")), None)
    else:
        exited = set()
        for j, e in enumerate(events):
            if e["type"].endswith("StateExited"):
                exited.add(e["stateExitedEventDetails"]["name"])
            elif e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] not in exited:
                start = j
                break
    if start is None:
        return found if found["error"] else None
    within = events[:start]
    failures = sum(1 for e in within if is_state_failure(e["type"]))
    return {**entered(events[start]), **found, "resource": scheduled_resource(within), "retries": max(failures - 1, 0)}


def enrich(failure):
    """What the execution history adds on the EventBridge path; a note when
    it cannot be read (the ticket still goes out)."""
    events, found = [], None
    try:
        pages = sfn.get_paginator("get_execution_history").paginate(
            executionArn=failure["execution"],
            reverseOrder=True,
            PaginationConfig={"PageSize": HISTORY_PAGE_SIZE, "MaxItems": HISTORY_PAGE_SIZE * HISTORY_MAX_PAGES},
        )
        for page in pages:
            events.extend(page["events"])
            # Newest first by id: moto ignores reverseOrder.
            events.sort(key=lambda e: -e["id"])
            found = locate(events)
            if found and found.get("state"):
                break
    except Exception as e:  # throttled, denied, gone: the ticket says so
        failure["note"] = f"execution history unavailable: {e}"
        return failure
    if not found:
        failure["note"] = f"execution history unavailable: no failed or running state in the last {len(events)} events"
        return failure
    failure["failedState"] = failure["failedState"] or found.get("state")
    if found.get("error") and (failure["error"] or "") in WRAPPER_ERRORS:
        failure["error"] = found["error"]
    if found.get("cause") and not failure["cause"]:
        failure["cause"] = found["cause"]
    failure["resource"] = found.get("resource")
    failure["retries"] = found.get("retries")
    raw = found.get("input")
    if raw:
        try:
            failure["stateInput"] = json.loads(raw)
        except ValueError:
            failure["stateInput"] = raw
    return failure


def decode(cause):
    try:
        c = json.loads(cause) if cause else {}
    except ValueError:
        return {"message": cause}
    if not isinstance(c, dict):
        return {"message": cause}
    if "errorMessage" in c or "errorType" in c:
        trace = c.get("stackTrace")
        return {
            "type": c.get("errorType"),
            "message": c.get("errorMessage"),
            "request": c.get("requestId"),
            "trace": "\n".join(trace) if isinstance(trace, list) else trace,
        }
    if "StoppedReason" in c or "Containers" in c:
        parts = [f"{x.get('Name')}: exit {x.get('ExitCode')} {x.get('Reason') or ''}" for x in c.get("Containers", [])]
        return {"type": c.get("StopCode"), "message": c.get("StoppedReason"), "trace": "\n".join(parts)}
    return {"message": json.dumps(c, indent=2)}


def render(f):
    d = decode(f["cause"])
    error = f["error"] or f["status"] or "Failed"
    machine = f["stateMachine"] or "unknown state machine"
    subject = f"{SUBJECT_PREFIX} {machine}: {error}" + (f" in {f['failedState']}" if f["failedState"] else "")

    def e(v):
        return html.escape(redact(str(v)))[:4096]

    rows = [
        ("State machine", machine),
        ("Execution ARN", f["execution"]),
        ("Status", f["status"]),
        ("Failed state", f["failedState"]),
        ("Task resource", f.get("resource")),
        ("Retries spent", f.get("retries")),
        ("Started", f["startTime"]),
        ("Error", error),
        ("Error type", d.get("type")),
        ("Message", d.get("message")),
        ("Request ID", d.get("request")),
    ]
    body = [
        f"<h2>Step Functions failure: {e(machine)}</h2>",
        f"<p><em>{e(f['note'])}</em></p>" if f.get("note") else "",
        f"<p><strong>{e(error)}</strong>: {e(d.get('message') or '')}</p>",
        "<table>" + "".join(f"<tr><th>{k}</th><td>{e(v)}</td></tr>" for k, v in rows if v not in EMPTY) + "</table>",
    ]
    if d.get("trace"):
        body.append(f"<pre>{e(d['trace'])[:20480]}</pre>")
    if f["execution"]:
        body.append(
            f'<a href="https://{REGION}.console.aws.amazon.com/states/home?region={REGION}'
            f'#/v2/executions/details/{html.escape(f["execution"])}">Execution in the AWS console</a>'
        )
    body.append(f"<pre>{html.escape(json.dumps(redact(f['input']), indent=2, sort_keys=True))[:16384]}</pre>")
    if "stateInput" in f:
        state_input = json.dumps(redact(f["stateInput"]), indent=2, sort_keys=True)
        body.append(f"<h3>Failed state input (redacted)</h3><pre>{html.escape(state_input)[:16384]}</pre>")
    return {
        "FromPerson": {"Email": FROM_EMAIL},
        "Subject": " ".join(subject.split())[:200],
        "Body": "\n".join(body)[:61440],
        "Source": 1,
    }


def connection(force=False):
    now = time.monotonic()
    if force or _secret["value"] is None or now - _secret["at"] >= SECRET_TTL:
        _secret["value"] = json.loads(secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
        _secret["at"] = now
    return _secret["value"]


def bearer(conn, stats):
    if _token["value"] and time.monotonic() < _token["refresh_at"]:
        return _token["value"]
    client = conn.get("client_parameters") or {}
    cid = conn.get("client_id") or client.get("client_id")
    csecret = conn.get("client_secret") or client.get("client_secret")
    r = http.post(
        conn["authorization_endpoint"], data={"grant_type": "client_credentials"}, auth=(cid, csecret), timeout=10
    )
    r.raise_for_status()
    tok = r.json()
    life = float(tok.get("expires_in", 300))
    _token["value"] = tok["access_token"]
    _token["refresh_at"] = time.monotonic() + life - min(max(life / 10, 1), 60)
    stats["token_fetches"] += 1
    return _token["value"]


def auth_headers(conn, stats):
    if "api_key_name" in conn:
        return {conn["api_key_name"]: conn["api_key_value"]}
    if "username" in conn:
        raw = f"{conn['username']}:{conn['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {"Authorization": "Bearer " + bearer(conn, stats)}


def handler(event, context):
    started = time.monotonic()
    failure = intake(event)
    if failure is None:
        return {"skipped": True, "status": event["detail"]["status"]}
    if failure["status"]:  # an EventBridge status change: no failed state in it
        failure = enrich(failure)
    case = render(failure)
    stats = {"token_fetches": 0, "attempts": 0}
    conn = connection()
    for refreshed in (False, True):
        stats["attempts"] += 1
        r = http.post(
            TICKET_API_URL,
            params={"sendAutoResponder": "false"},
            json=case,
            headers=auth_headers(conn, stats),
            timeout=10,
        )
        if r.status_code in (401, 403, 407) and not refreshed:
            # As EventBridge does: a new token for OAuth, else re-read the
            # secret once in case it rotated.
            _token["value"] = None
            if "authorization_endpoint" not in conn:
                conn = connection(force=True)
            continue
        r.raise_for_status()
        break
    uid = r.json()["Uid"]
    log(
        outcome="delivered",
        case_uid=uid,
        attempts=stats["attempts"],
        token_fetches=stats["token_fetches"],
        duration_ms=round((time.monotonic() - started) * 1000, 3),
        subject=case["Subject"],
    )
    return {"caseUid": uid, "subject": case["Subject"], "attempts": stats["attempts"]}
