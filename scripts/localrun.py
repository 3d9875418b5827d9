"""Local services for the demo, `make dev` and the end-to-end tests: moto, and
the three functions under `cargo lambda watch`, on free loopback ports.

`Services` is a context manager that stops everything it started (each
process with its whole tree), also on Ctrl-C, SIGTERM or an exception. Logs
and env files go to a directory outside the crates, because a file written
inside a crate makes `cargo lambda watch` rebuild forever.
"""

import base64
import contextlib
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

REGION = "us-east-1"
CLIENT_ID = "ticket-bridge-demo"
SIGNING_KEY = "local-signing-key-not-a-secret-in-prod"
FROM_EMAIL = "oncall@example.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path, chars=2000):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()[-chars:]


def wait_port(port, timeout, what, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before opening port {port}:\n{tail(log)}")
        if port_open(port):
            return
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


def write_env_file(path, env):
    """A dotenv file for `cargo lambda watch --env-file`. Values are quoted:
    dotenv parsing rejects bare values holding `=` or `,`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.writelines(f"{k}={json.dumps(str(v))}\n" for k, v in env.items())


def read_env_file(path):
    """KEY=VALUE lines (blank lines and # comments skipped, quotes removed)."""
    out = {}
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.removeprefix("export ").partition("=")
            if not sep:
                raise ValueError(f"{path}: not KEY=VALUE: {line!r}")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = json.loads(value) if value[0] == '"' else value[1:-1]
            out[key.strip()] = value
    return out


# -- process trees (Linux /proc) -------------------------------------------
def _stat(pid):
    """(state, ppid, start time) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def process_tree(pid):
    """{pid: start time} of pid and all its descendants, as they are now."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st:
                children.setdefault(st[1], []).append((int(name), st[2]))
    root = _stat(pid)
    tree = {pid: root[2]} if root else {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            if child not in tree:
                tree[child] = started
                todo.append(child)
    return tree


def alive(tree):
    """The processes of a process_tree snapshot still running (zombies and
    recycled pids do not count)."""
    out = []
    for pid, started in tree.items():
        st = _stat(pid)
        if st and st[0] != "Z" and st[2] == started:
            out.append(pid)
    return out


def socket_owner(local_port, pids):
    """The pid among `pids` that holds the TCP socket bound to local port
    `local_port` (a client's end of a connection a server saw coming from
    that port), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
    return None


def exe_name(pid):
    """The file name of a process's executable, or None."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def _signal_all(tree, sig):
    for pid in alive(tree):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_tree(proc, timeout=10):
    """Stops a process started in its own session, and everything below it,
    even what moved to another process group (SIGTERM, then SIGKILL)."""
    tree = process_tree(proc.pid)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    _signal_all(tree, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and (proc.poll() is None or alive(tree)):
        time.sleep(0.05)
    if proc.poll() is None or alive(tree):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _signal_all(tree, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class Services:
    def __init__(self, logdir=None):
        self.logdir = logdir or tempfile.mkdtemp(prefix="ticket-bridge-")
        os.makedirs(self.logdir, exist_ok=True)
        self.procs = []
        self.moto = None
        self.watch = None
        self.watch_port = None
        self.watch_log = None
        # The mocks in a watch of their own (start_api_watch), or None: then
        # the one watch serves all three functions.
        self.api_watch = None
        self.api_port = None
        self.api_log = None
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
        # Unwind to __exit__, which stops everything. Not from here: the main
        # thread may be inside Popen.wait(), whose lock would keep poll() from
        # ever seeing a child exit. A second Ctrl-C must not cut the stop short.
        for s in self._old:
            signal.signal(s, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    def _spawn(self, args, log_name=None, env=None):
        """Starts a process in its own session. Its output goes to a log file
        in logdir, or with log_name=None to this process's own stdout."""
        kw = {"cwd": ROOT, "stdin": subprocess.DEVNULL, "env": env, "start_new_session": True}
        if log_name is None:
            p = subprocess.Popen(args, **kw)
        else:
            with open(os.path.join(self.logdir, log_name), "ab") as log:
                p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def _stop(self, p):
        stop_tree(p)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self._stop(p)

    # -- moto --------------------------------------------------------------
    def start_moto(self, port=None, env=None):
        """moto on `port` (a free one by default), with `env` added to its
        environment (e.g. SF_EXECUTION_HISTORY_TYPE, MOTO_ACCOUNT_ID)."""
        port = port or free_port()
        if port_open(port):
            raise RuntimeError(f"port {port} is already in use: cannot start moto there")
        # moto_server's application, one request at a time: DynamoDB's
        # per-item atomicity, which the storm tests depend on (see the script).
        launcher = os.path.join(ROOT, "scripts", "moto_atomic.py")
        p = self._spawn(
            [sys.executable, launcher, "-H", "127.0.0.1", "-p", str(port)],
            "moto.log",
            env=dict(os.environ, **env) if env else None,
        )
        wait_port(port, 30, "moto (scripts/moto_atomic.py)", p, os.path.join(self.logdir, "moto.log"))
        self.moto = f"http://127.0.0.1:{port}"
        return self.moto

    def seed_oauth(self, *options):
        """An OAuth connection whose token endpoint is the local mock-auth, with
        this run's client credentials; `options` go before the kind (`--name`)."""
        return self.seed(
            *options,
            "oauth",
            "--token-url",
            self.token_url(),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            self.client_secret,
        )

    def seed(self, *args):
        out = subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "scripts/moto_seed.py"),
                "--endpoint",
                self.moto,
                "--region",
                REGION,
                *list(args),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return json.loads(out.stdout)

    def client(self, service, region=REGION):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.moto,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def client_in(self, service, account):
        """A boto3 client acting in `account`: moto's STS maps the credentials
        AssumeRole returns to the role's account, so one moto holds many."""
        import boto3

        creds = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup")[
            "Credentials"
        ]
        return boto3.client(
            service,
            endpoint_url=self.moto,
            region_name=REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def secrets(self):
        return self.client("secretsmanager")

    def secret_json(self, secret_arn):
        return json.loads(self.secrets().get_secret_value(SecretId=secret_arn)["SecretString"])

    def set_invocation_header(self, secret_arn, key, value):
        """Adds or replaces an invocation header in a connection secret, the
        way updating the EventBridge connection would."""
        secret = self.secret_json(secret_arn)
        params = secret.setdefault("invocation_http_parameters", {}).setdefault("header_parameters", [])
        params[:] = [p for p in params if p.get("key") != key]
        params.append({"key": key, "value": value, "is_value_secret": False})
        self.secrets().put_secret_value(SecretId=secret_arn, SecretString=json.dumps(secret))

    def remove_invocation_header(self, secret_arn, key):
        """Drops an invocation header from a connection secret again."""
        secret = self.secret_json(secret_arn)
        params = secret.get("invocation_http_parameters", {}).get("header_parameters", [])
        params[:] = [p for p in params if p.get("key") != key]
        self.secrets().put_secret_value(SecretId=secret_arn, SecretString=json.dumps(secret))

    # -- cargo lambda watch ------------------------------------------------
    def token_url(self):
        return self.url("mock-auth", "/token")

    def cases_url(self):
        return self.url("mock-api", "/api/v1/support/cases")

    def fetch_token(self):
        """A fresh access token from mock-auth, as the demo's client."""
        basic = base64.b64encode(f"{CLIENT_ID}:{self.client_secret}".encode()).decode()
        status, _, body = http(
            "POST",
            self.token_url(),
            b"grant_type=client_credentials",
            {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 200:
            raise RuntimeError(f"mock-auth issued no token (HTTP {status}): {body}")
        return body["access_token"]

    def url(self, function, path):
        port = self.api_port if self.api_port and function != "notifier" else self.watch_port
        return f"http://127.0.0.1:{port}/lambda-url/{function}{path}"

    def invoke_url(self, function="notifier"):
        return f"http://127.0.0.1:{self.watch_port}/2015-03-31/functions/{function}/invocations"

    def reserve_watch_port(self, port=None):
        """Connection secrets name the token URL, so the port comes first."""
        self.watch_port = self.watch_port or port or free_port()
        return self.watch_port

    def watch_env(self, secret_arn, extra=None):
        """One environment for the notifier, mock-auth and mock-api."""
        env = {
            "TICKET_API_URL": self.cases_url(),
            "CONNECTION_SECRET_ID": secret_arn,
            "FROM_PERSON_EMAIL": FROM_EMAIL,
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
        return env

    def _watch(self, port, env, env_file, foreground=False, hot_reload=False, concurrency=None):
        """Starts one cargo lambda watch on `port`; (process, log path)."""
        if port_open(port):
            raise RuntimeError(f"port {port} is already in use: cannot start cargo lambda watch there")
        write_env_file(env_file, env)
        args = ["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(port), "--env-file", env_file]
        if not hot_reload:
            args.append("--ignore-changes")
        if concurrency:
            args += ["--concurrency", str(concurrency)]
        if foreground:
            proc, log = self._spawn(args), None
        else:
            log = os.path.join(self.logdir, f"watch-{port}-{len(os.listdir(self.logdir))}.log")
            proc_env = dict(os.environ, CARGO_TERM_COLOR="never", NO_COLOR="1")
            proc = self._spawn(args, os.path.basename(log), env=proc_env)
        wait_port(port, 300, "cargo lambda watch", proc, log)
        return proc, log

    def start_watch(self, secret_arn, extra=None, env_file=None, foreground=False, hot_reload=False, concurrency=None):
        """Serves notifier, mock-auth and mock-api with one environment.

        By default its output goes to a log in logdir and changes to the
        sources are ignored (the tests must not rebuild under other people's
        edits). `foreground=True` leaves its output on this terminal;
        `hot_reload=True` rebuilds and restarts a function when its sources
        change. `concurrency=N` lets watch run up to N instances of each
        function: separate notifier processes sharing only moto, as Lambda
        scales. Start the mocks with start_api_watch first then: mock-api
        keeps its cases per instance."""
        port = self.reserve_watch_port()
        env_file = env_file or os.path.join(self.logdir, f"watch-{port}.env")
        env = self.watch_env(secret_arn, extra)
        self.watch, self.watch_log = self._watch(port, env, env_file, foreground, hot_reload, concurrency)
        # The first call to each function spawns it; make that happen now.
        for fn in ("mock-auth", "mock-api"):
            http("GET", self.url(fn, "/health"), timeout=300)
        return port

    def start_api_watch(self, extra=None):
        """mock-auth and mock-api in a watch of their own, one instance each,
        for a notifier served with --concurrency: mock-api keeps its cases in
        memory per instance, so it must not scale with the notifier. Call
        before start_watch; their URLs then point here."""
        self.api_port = self.api_port or free_port()
        env_file = os.path.join(self.logdir, f"api-{self.api_port}.env")
        env = self.watch_env("unused-by-the-mocks", extra)
        self.api_watch, self.api_log = self._watch(self.api_port, env, env_file)
        for fn in ("mock-auth", "mock-api"):
            http("GET", self.url(fn, "/health"), timeout=300)
        return self.api_port

    def restart_api_watch(self, extra=None):
        """Stops the mocks' watch and starts it again on the same port:
        mock-api forgets every case (as if they were deleted)."""
        self._stop(self.api_watch)
        deadline = time.time() + 30
        while port_open(self.api_port) and time.time() < deadline:
            time.sleep(0.1)
        return self.start_api_watch(extra)

    def stop_watch(self):
        self._stop(self.watch)

    def invoke(self, function, payload, timeout=120):
        return http("POST", self.invoke_url(function), payload, timeout=timeout)

    def log_text(self):
        """The output of every watch started (the mocks' one too)."""
        text = ""
        mocks = sorted(n for n in os.listdir(self.logdir) if n.startswith(f"watch-{self.api_port}-"))
        logs = [self.watch_log, *(os.path.join(self.logdir, n) for n in mocks)]
        for log in logs:
            if log and os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as f:
                    text += f.read()
        return text

    def log_records(self):
        """JSON log lines of all three functions (other lines are skipped)."""
        out = []
        for line in self.log_text().splitlines():
            line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def cleanup(self):
        shutil.rmtree(self.logdir, ignore_errors=True)


def status_change(machine_arn, run):
    """The EventBridge status change of a FAILED execution `run`, as a hub bus
    receives it: no failed state, no error, no cause."""
    return {
        "version": "0",
        "id": os.urandom(8).hex(),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": run.split(":")[4],
        "time": "2026-12-01T10:00:00Z",
        "region": run.split(":")[3],
        "resources": [run],
        "detail": {
            "executionArn": run,
            "stateMachineArn": machine_arn,
            "name": run.rsplit(":", 1)[1],
            "status": "FAILED",
            "startDate": 1795255092345,
            "stopDate": 1795255350123,
            "input": "{}",
            "error": None,
            "cause": None,
        },
    }


def field(record, name):
    """A tracing JSON field, wherever the formatter put it."""
    for where in (record.get("fields") or {}, record):
        if name in where:
            return where[name]
    return None
