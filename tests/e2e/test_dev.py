"""`make dev` as a developer uses it: started on free ports, it prints a
`cargo lambda invoke` command and a command that lists the cases; running
exactly those files a case that mock-api lists; Ctrl-C (SIGINT to the
foreground process group, as a terminal sends it) stops make, the script,
moto, cargo lambda watch and every function it spawned.

It runs with --ignore-changes: other people edit the crates in this working
tree while the suite runs, and a rebuild in the middle would be their change
under test, not make dev's."""

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import time

from localrun import ROOT, alive, free_port, port_open, process_tree, read_env_file, tail

READY = "== make dev: ready"


def wait_for(condition, timeout, what, proc, log):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        assert proc.poll() is None, f"make dev exited ({proc.returncode}) before {what}:\n{tail(log, 4000)}"
        time.sleep(0.2)
    raise AssertionError(f"make dev: no {what} within {timeout}s:\n{tail(log, 4000)}")


def printed(log, label):
    """The command make dev printed after `label:`."""
    with open(log, errors="replace") as f:
        text = f.read()
    if READY not in text:
        return None
    m = re.search(rf"^\s*{re.escape(label)}:\s*(.+)$", text.split(READY, 1)[1], re.M)
    return m.group(1).strip() if m else None


def test_make_dev_serves_files_a_case_and_stops_everything_on_ctrl_c(tmp_path):
    port, moto_port = free_port(), free_port()
    log = str(tmp_path / "make-dev.log")
    dev_args = f"--port {port} --moto-port {moto_port} --run-dir {tmp_path / 'run'} --ignore-changes"
    with open(log, "wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "dev", f"DEV_ARGS={dev_args}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    tree = {}
    try:
        wait_for(lambda: printed(log, "list cases"), 900, "ready banner", make, log)
        env_file = tmp_path / "run" / "dev.env"
        assert env_file.exists(), "make dev wrote no env file in its run directory"
        env = env_file.read_text()
        for var in ("TICKET_API_URL", "CONNECTION_SECRET_ID", "IDEMPOTENCY_TABLE", "AWS_ENDPOINT_URL"):
            assert f"{var}=" in env, f"{var} missing from {env_file}"

        invoke = printed(log, "send a failure")
        assert invoke.startswith("cargo lambda invoke notifier ") and f"-P {port}" in invoke, invoke
        run = subprocess.run(shlex.split(invoke), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, f"{invoke}\n{run.stdout}{run.stderr}"
        filed = json.loads(run.stdout[run.stdout.index("{") :])
        assert filed.get("caseUid"), filed

        listing = printed(log, "list cases")
        assert f"127.0.0.1:{port}/lambda-url/mock-api/api/v1/support/cases" in listing, listing
        run = subprocess.run(listing, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 0, f"{listing}\n{run.stderr}"
        cases = json.loads(run.stdout)
        assert [c["Uid"] for c in cases] == [filed["caseUid"]], cases

        tree = process_tree(make.pid)
        running = "\n".join(cmdline(pid) for pid in tree)
        for part in ("scripts/dev.py", "moto_atomic.py", "lambda watch", "/notifier", "/mock-api", "/mock-auth"):
            assert part in running, f"no {part!r} under make dev:\n{running}"
        assert port_open(port) and port_open(moto_port)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        make.wait(timeout=60)
        # Everything the run had started, including what moved to another
        # process group (moto, watch and the functions do), is gone.
        deadline = time.time() + 30
        while alive(tree) and time.time() < deadline:
            time.sleep(0.1)
        assert not alive(tree), "left running after Ctrl-C:\n" + "\n".join(
            f"{pid}: {cmdline(pid)}" for pid in alive(tree)
        )
        assert not port_open(port), f"port {port} (cargo lambda watch) still open"
        assert not port_open(moto_port), f"port {moto_port} (moto) still open"
        assert "Traceback" not in tail(log, 100_000), tail(log, 4000)
    finally:
        tree = {**process_tree(make.pid), **tree}
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        for pid in alive(tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def test_dev_env_example_documents_every_notifier_variable(tmp_path):
    """dev.env.example names every variable the notifier's configuration
    reads (shared/core/src/config.rs), each as a `# NAME="value"` line that
    parses once uncommented."""
    with open(os.path.join(ROOT, "shared", "core", "src", "config.rs")) as f:
        source = f.read().split("#[cfg(test)]")[0]
    read = set(re.findall(r'(?:get, |get\()"([A-Z][A-Z0-9_]+)"', source))
    assert {"TICKET_API_URL", "CONNECTION_SECRET_ID", "FROM_PERSON_EMAIL"} <= read, "config.rs parsing broke"
    with open(os.path.join(ROOT, "dev.env.example")) as f:
        example = f.read()
    uncommented = re.findall(r'^# ([A-Z][A-Z0-9_]+="[^"]*")$', example, re.M)
    documented = {line.split("=", 1)[0] for line in uncommented}
    assert not read - documented, f"dev.env.example does not document {sorted(read - documented)}"
    with_values = tmp_path / "uncommented.env"
    with_values.write_text("\n".join(uncommented) + "\n")
    assert set(read_env_file(with_values)) == documented
