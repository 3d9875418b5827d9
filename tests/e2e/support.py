"""Helpers the end-to-end tests share (fixtures are in conftest.py)."""

import http.client
import http.server
import json
import os
import queue
import re
import threading
import urllib.parse

EVENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "events")


def load_event(name):
    """A sample event from events/, as a fresh dict the test may change."""
    with open(os.path.join(EVENTS, name)) as f:
        return json.load(f)


class StallingProxy:
    """A reverse proxy in front of mock-api that can hold one kind of request:
    the notifier's request is received and never answered, so a test knows
    exactly what the notifier is waiting for when it kills it. Everything
    else is forwarded as it is. `stalled()` says which client port sent the
    held request, to find the process that sent it."""

    def __init__(self, upstream):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.rule = None
        self.held = queue.Queue()
        self.release_all = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                rule = proxy.rule
                if rule and rule[0] == self.command and re.search(rule[1], self.path.split("?")[0]):
                    proxy.held.put({"method": self.command, "path": self.path, "port": self.client_address[1]})
                    proxy.release_all.wait(120)
                    self.close_connection = True
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stall(self, method, path_pattern):
        """Holds every request of `method` whose path matches from now on."""
        self.release_all.clear()
        self.rule = (method, path_pattern)

    def stalled(self, timeout):
        """The first held request (`method`, `path`, client `port`), waiting for it."""
        return self.held.get(timeout=timeout)

    def release(self):
        """Stops holding; held requests are dropped unanswered."""
        self.rule = None
        self.release_all.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()
