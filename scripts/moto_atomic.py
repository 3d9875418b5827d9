#!/usr/bin/env python3
"""moto_server whose requests are applied one whole request at a time.

DynamoDB applies each write to an item atomically: a conditional write or
an `ADD` never interleaves with another client's write to that item. moto 5
has no locking in its DynamoDB backend, and `moto_server` is threaded, so two
concurrent UpdateItems on one item can read the same state and both write it
(a lost `list_append`, one counter value handed out twice). The tests of
conditional writes under concurrency (dedupe claims, incident storms) need
DynamoDB's guarantee, so they start moto through this: the same application
as `moto_server`, behind one lock. moto's throughput is bound by the GIL
anyway, so the lock costs little.

It also counts the calls it serves, by service and operation, for the
organization scale measurement (bench/org_scale.py): GET `/_calls` answers
the counts as JSON, DELETE `/_calls` sets them back to zero.

Usage: moto_atomic.py [-H HOST] [-p PORT]   (moto_server's two options)
"""

import argparse
import collections
import io
import json
import os
import threading
import urllib.parse

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class Serialised:
    """A WSGI application that runs `app` for one request at a time, body
    included (the iterable is consumed inside the lock)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.calls = collections.Counter()

    def __call__(self, environ, start_response):
        with self.lock:
            if environ.get("PATH_INFO") == "/_calls":
                if environ.get("REQUEST_METHOD") == "DELETE":
                    self.calls.clear()
                body = json.dumps(dict(self.calls)).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            self.calls[operation(environ)] += 1
            return list(self.app(environ, start_response))


def operation(environ):
    """`Service.Operation` of a request: the JSON protocol's X-Amz-Target,
    or the query protocol's Action (the body is read and put back)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        service, _, op = target.partition(".")
        return f"{service.split('_')[0]}.{op}"
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", ["?"])[0]
    service = environ.get("HTTP_AUTHORIZATION", "").split("/")[3:4] or ["?"]
    return f"{service[0]}.{action}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-H", "--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, default=5000)
    args = ap.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Serialised(app), threaded=True)


if __name__ == "__main__":
    main()
