"""Local services for the demo and the end-to-end tests: moto, and the three
functions under `cargo lambda watch`, on free loopback ports.

`Services` is a context manager that stops everything it started, also on
Ctrl-C or an exception. Logs go to a directory outside the crates, because a
file written inside a crate makes `cargo lambda watch` rebuild forever.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

REGION = "us-east-1"
CLIENT_ID = "ticket-bridge-demo"
SIGNING_KEY = "local-signing-key-not-a-secret-in-prod"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout, what, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = open(log, errors="replace").read()[-2000:] if log else ""
            raise RuntimeError(f"{what} exited with {proc.returncode} before opening port {port}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port} within {timeout}s")


def http(method, url, body=None, headers=None, timeout=60):
    """(status, headers, parsed JSON or text). Never raises on HTTP errors."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


class Services:
    def __init__(self, logdir=None):
        self.logdir = logdir or tempfile.mkdtemp(prefix="ticket-bridge-")
        self.procs = []
        self.moto = None
        self.watch_port = None
        self.client_secret = "cs-" + os.urandom(9).hex()

    # -- lifecycle -------------------------------------------------------
    def __enter__(self):
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        self.stop_all()
        for s, h in self._old.items():
            signal.signal(s, h)
        return False

    def _on_signal(self, signum, _frame):
        self.stop_all()
        sys.exit(128 + signum)

    def _spawn(self, args, log_name, env=None):
        log = open(os.path.join(self.logdir, log_name), "ab")
        p = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        self.procs.append(p)
        return p

    def _stop(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self._stop(p)

    # -- moto --------------------------------------------------------------
    def start_moto(self):
        port = free_port()
        self._spawn(["moto_server", "-H", "127.0.0.1", "-p", str(port)], "moto.log")
        wait_port(port, 30, "moto_server", self.procs[-1], os.path.join(self.logdir, "moto.log"))
        self.moto = f"http://127.0.0.1:{port}"
        return self.moto

    def seed(self, *args):
        out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/moto_seed.py"), "--endpoint", self.moto,
                              "--region", REGION, *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return json.loads(out.stdout)

    def secrets(self):
        import boto3
        return boto3.client("secretsmanager", endpoint_url=self.moto, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")

    def set_invocation_header(self, secret_arn, key, value):
        """Adds or replaces an invocation header in a connection secret, the
        way updating the EventBridge connection would."""
        sm = self.secrets()
        secret = json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])
        params = secret.setdefault("invocation_http_parameters", {}).setdefault("header_parameters", [])
        params[:] = [p for p in params if p.get("key") != key]
        params.append({"key": key, "value": value, "is_value_secret": False})
        sm.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(secret))

    # -- cargo lambda watch ------------------------------------------------
    def token_url(self):
        return self.url("mock-auth", "/token")

    def cases_url(self):
        return self.url("mock-api", "/api/v1/support/cases")

    def url(self, function, path):
        return f"http://127.0.0.1:{self.watch_port}/lambda-url/{function}{path}"

    def reserve_watch_port(self):
        """Connection secrets name the token URL, so the port comes first."""
        self.watch_port = self.watch_port or free_port()
        return self.watch_port

    def start_watch(self, secret_arn, extra=None):
        """Serves notifier, mock-auth and mock-api with one environment."""
        port = self.reserve_watch_port()
        env = {
            "TICKET_API_URL": self.cases_url(),
            "CONNECTION_SECRET_ID": secret_arn,
            "FROM_PERSON_EMAIL": "oncall@example.com",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.moto,
            "AWS_ENDPOINT_URL": self.moto,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": self.client_secret,
            "SIGNING_KEY": SIGNING_KEY,
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "RUST_LOG": "info",
        }
        env.update(extra or {})
        env_file = os.path.join(self.logdir, f"watch-{port}.env")
        with open(env_file, "w") as f:
            # Quoted: dotenv parsing rejects bare values holding `=` or `,`.
            f.writelines(f"{k}={json.dumps(str(v))}\n" for k, v in env.items())
        self.watch_log = os.path.join(self.logdir, f"watch-{port}-{len(os.listdir(self.logdir))}.log")
        proc_env = dict(os.environ, CARGO_TERM_COLOR="never", NO_COLOR="1")
        self.watch = self._spawn(["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(port),
                                  "--ignore-changes", "--env-file", env_file],
                                 os.path.basename(self.watch_log), env=proc_env)
        wait_port(port, 300, "cargo lambda watch", self.watch, self.watch_log)
        # The first call to each function spawns it; make that happen now.
        for fn in ("mock-auth", "mock-api"):
            http("GET", self.url(fn, "/health"), timeout=300)
        return port

    def stop_watch(self):
        self._stop(self.watch)

    def invoke(self, function, payload, timeout=120):
        return http("POST", f"http://127.0.0.1:{self.watch_port}/2015-03-31/functions/{function}/invocations",
                    payload, timeout=timeout)

    def log_text(self):
        with open(self.watch_log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_records(self):
        """JSON log lines of all three functions (other lines are skipped)."""
        out = []
        for line in self.log_text().splitlines():
            line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def cleanup(self):
        shutil.rmtree(self.logdir, ignore_errors=True)


def field(record, name):
    """A tracing JSON field, wherever the formatter put it."""
    for where in (record.get("fields") or {}, record):
        if name in where:
            return where[name]
    return None
