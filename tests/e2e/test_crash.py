"""Nothing is lost, proven by killing it: a real notifier process under
`cargo lambda watch --concurrency 3` is killed with SIGKILL while a batch of
occurrences it took from its incident is on its way to the case, and the
next flush (or the next occurrence) still puts every occurrence on the case.

The notifier reaches mock-api through a small proxy (support.StallingProxy)
that holds one kind of request unanswered: the test knows what the notifier
is waiting for when it kills it, and which process that is (the one holding
the proxied connection's client socket, found in the process tree of
`cargo lambda watch`). Held requests are never forwarded, so what the killed
process was sending never reaches mock-api.

Three moments are killed: while the reply is in flight, while the case is
being read before the reply, and while the follow-up case of a closed case
is being filed (the incident is then left in its creating state)."""

import contextlib
import http.client as http_client
import os
import signal
import threading
import time

import pytest
from test_incidents import failure, start

from localrun import exe_name, free_port, process_tree, socket_owner
from support import StallingProxy

INTERVAL_S = 2
# No Lambda deadline under cargo lambda watch: each invocation gets this
# budget, which is also how long its lease on a taken batch lasts.
BUDGET_MS = 4000


@pytest.fixture
def proxied(svc):
    """The bridge with the notifier's ticket API behind a stalling proxy."""
    svc.api_port = free_port()  # mock-api's port, so the proxy can point there first
    proxy = StallingProxy(f"http://127.0.0.1:{svc.api_port}")
    extra = {
        "TICKET_API_URL": proxy.url("/lambda-url/mock-api/api/v1/support/cases"),
        "INCIDENT_REPLY_INTERVAL_SECONDS": str(INTERVAL_S),
        "DEFAULT_BUDGET_MS": str(BUDGET_MS),
    }
    # Above 1: cargo lambda watch does not restart a killed instance, so the
    # next invocation needs another one.
    desk = start(svc, extra, concurrency=3)
    yield desk, proxy
    proxy.close()


def kill_sender(desk, held):
    """SIGKILLs the notifier process that sent the held request."""
    tree = process_tree(desk.svc.watch.pid)
    pid = socket_owner(held["port"], tree)
    assert pid is not None, f"no process of cargo lambda watch holds client port {held['port']}"
    assert exe_name(pid) == "notifier", f"pid {pid} is {exe_name(pid)}, not the notifier"
    os.kill(pid, signal.SIGKILL)
    return pid


def invoke_quietly(desk, event):
    """An invocation whose process is killed: watch drops its connection."""
    with contextlib.suppress(OSError, http_client.HTTPException):
        desk.send(event, ok=False)


def send_and_kill(desk, proxy, event, method, path):
    """Sends `event` to the notifier in the background, waits until it makes
    the request `method path`, and kills it there. When it was sent."""
    proxy.stall(method, path)
    sent = time.time()
    threading.Thread(target=invoke_quietly, args=(desk, event), daemon=True).start()
    held = proxy.stalled(timeout=30)
    pid = kill_sender(desk, held)
    proxy.release()
    print(f"killed notifier pid {pid} during {held['method']} {held['path']}")
    return sent


def lapse(sent):
    """Waits until the killed invocation's lease (its budget) has passed."""
    time.sleep(max(0.0, sent + BUDGET_MS / 1000 + 0.5 - time.time()))


def storm(desk, state):
    """A case, then two occurrences coalesced, then the interval passes."""
    first = desk.send(failure(f"{state}-1", state))[1]
    assert first["incident"] == "new_case", first
    for n in (2, 3):
        out = desk.send(failure(f"{state}-{n}", state))[1]
        assert out["incident"] == "reply_coalesced", out
    time.sleep(INTERVAL_S + 0.2)
    return first["caseUid"]


def on_case(desk, uid):
    case = desk.case(uid)
    return case["Body"] + "\n".join(h["Comment"] for h in case["CaseHistories"])


def test_killed_while_its_reply_is_in_flight_the_flush_posts_the_batch(proxied):
    desk, proxy = proxied
    started = time.time()
    uid = storm(desk, "CrashReply")
    sent = send_and_kill(desk, proxy, failure("CrashReply-4", "CrashReply"), "POST", r"/replies$")
    lapse(sent)
    flushed = desk.flush()["flush"]
    assert flushed["replies"] >= 1, flushed
    text = on_case(desk, uid)
    missing = [n for n in (2, 3, 4) if f">CrashReply-{n}</a>" not in text]
    assert not missing, f"occurrences {missing} lost: {text}"
    print(f"reply-in-flight kill recovered in {time.time() - started:.1f}s")


def test_killed_while_reading_the_case_the_next_occurrence_posts_the_batch(proxied):
    desk, proxy = proxied
    uid = storm(desk, "CrashRead")
    sent = send_and_kill(desk, proxy, failure("CrashRead-4", "CrashRead"), "GET", rf"/cases/{uid}$")
    lapse(sent)
    out = desk.send(failure("CrashRead-5", "CrashRead"))[1]
    assert out["caseUid"] == uid, out
    time.sleep(INTERVAL_S + 0.2)
    desk.flush()
    text = on_case(desk, uid)
    missing = [n for n in (2, 3, 4, 5) if f">CrashRead-{n}</a>" not in text]
    assert not missing, f"occurrences {missing} lost: {text}"


def test_killed_while_filing_the_follow_up_of_a_closed_case_the_flush_files_it_with_the_batch(proxied):
    desk, proxy = proxied
    uid = storm(desk, "CrashReopen")
    desk.close(uid)
    sent = send_and_kill(desk, proxy, failure("CrashReopen-4", "CrashReopen"), "POST", r"/api/v1/support/cases$")
    lapse(sent)
    flushed = desk.flush()["flush"]
    assert flushed["newCases"] == 1, flushed
    new = [c["Uid"] for c in desk.cases() if c["Uid"] != uid]
    assert len(new) == 1, new
    text = on_case(desk, new[0])
    assert f"Previous case: <strong>{uid}</strong>" in text, text
    missing = [n for n in (2, 3, 4) if f">CrashReopen-{n}</a>" not in text]
    assert not missing, f"occurrences {missing} lost: {text}"
