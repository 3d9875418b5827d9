#!/usr/bin/env python3
"""`make dev`: the development loop. Runs until Ctrl-C.

1. moto plays AWS, seeded with an EventBridge connection (by default the
   Outseta API-key recipe, `moto_seed.py outseta`) and a DynamoDB
   idempotency table.
2. The environment of the three functions is written to .run/dev.env
   (outside the crates, git-ignored), plus any overrides from --env FILE
   (see dev.env.example).
3. `cargo lambda watch` serves the notifier, mock-auth and mock-api in the
   foreground, rebuilding a function when its sources change.
4. It prints the command that sends a sample event to the notifier and the
   one that lists the cases mock-api holds.

Ctrl-C (SIGINT) or SIGTERM stops watch, the functions and moto.

    make dev                                   # port 9000, API-key connection
    make dev DEV_ARGS="--port 9100 --auth oauth --env .run/my.env"
"""

import argparse
import json
import os
import shlex
import sys

from localrun import CLIENT_ID, ROOT, Services, read_env_file

API_KEY, API_SECRET = "dev-key", "dev-secret-not-for-prod"
TABLE = "ticket-bridge-dev-claims"
CONNECTION = "outseta-dev"


def load(path):
    with open(path) as f:
        return json.load(f)


def say(msg=""):
    print(msg, flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=9000, help="cargo lambda watch's port (default 9000)")
    ap.add_argument("--moto-port", type=int, default=0, help="moto's port (default: a free one)")
    ap.add_argument(
        "--auth",
        choices=("apikey", "oauth", "basic"),
        default="apikey",
        help="the connection: apikey (the Outseta recipe, default), oauth (mock-auth's token endpoint) or basic",
    )
    ap.add_argument("--run-dir", default=os.path.join(ROOT, ".run"), help="env file and logs (default .run/)")
    ap.add_argument("--env", help="a KEY=VALUE file whose values override the generated ones (dev.env.example)")
    ap.add_argument("--event", default="events/catch-lambda.json", help="the sample event the printed command sends")
    ap.add_argument("--ignore-changes", action="store_true", help="no hot reload (watch does not rebuild)")
    return ap.parse_args()


def seed_connection(svc, auth):
    """(connection secret ARN, env for mock-api, Authorization header that lists the cases)"""
    if auth == "apikey":
        conn = svc.seed("--name", CONNECTION, "outseta", "--key", API_KEY, "--secret", API_SECRET)
        return conn, {"API_KEY": API_KEY, "API_SECRET": API_SECRET}, f"Outseta {API_KEY}:{API_SECRET}"
    if auth == "basic":
        conn = svc.seed("--name", CONNECTION, "basic", "--username", "dev-user", "--password", API_SECRET)
        return conn, {"BASIC_USER": "dev-user", "BASIC_PASSWORD": API_SECRET}, None
    conn = svc.seed_oauth("--name", CONNECTION)
    return conn, {}, None


def cases_command(svc, auth, header):
    url = svc.cases_url()
    if auth == "apikey":
        return f"curl -s -H {shlex.quote('Authorization: ' + header)} {url}"
    if auth == "basic":
        return f"curl -s -u {shlex.quote('dev-user:' + API_SECRET)} {url}"
    token = (
        f"curl -s -u {shlex.quote(CLIENT_ID + ':' + svc.client_secret)} -d grant_type=client_credentials "
        f"{svc.token_url()} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    return f'curl -s -H "Authorization: Bearer $({token})" {url}'


def main():
    args = parse_args()
    run_dir = os.path.abspath(args.run_dir)
    os.makedirs(run_dir, exist_ok=True)
    env_file = os.path.join(run_dir, "dev.env")
    with Services(logdir=run_dir) as svc:
        svc.client_secret = "dev-client-secret-not-for-prod"
        svc.reserve_watch_port(args.port)
        say("== make dev: starting moto (Secrets Manager, EventBridge, DynamoDB)")
        moto = svc.start_moto(args.moto_port or None)
        table = svc.seed("--name", TABLE, "table")["tableName"]
        conn, mock_env, header = seed_connection(svc, args.auth)
        overrides = read_env_file(args.env) if args.env else {}
        # mock-api keeps Outseta's documented limit of 4 requests a second.
        extra = {"IDEMPOTENCY_TABLE": table, "RUST_LOG": "info", "RATE_LIMIT_PER_SECOND": "4", **mock_env, **overrides}
        say(f"   moto {moto}: {args.auth} connection {CONNECTION}, idempotency table {table}")
        say(f"== writing {os.path.relpath(env_file, ROOT)}; starting cargo lambda watch on 127.0.0.1:{args.port}")
        say("   (the first run compiles the three functions)")
        svc.start_watch(
            conn["secretArn"], extra, env_file=env_file, foreground=True, hot_reload=not args.ignore_changes
        )
        # Spawn the notifier now, so the first real invocation is quick: a
        # SUCCEEDED execution is acknowledged and files nothing.
        status, _, out = svc.invoke("notifier", load(os.path.join(ROOT, "events/eventbridge-succeeded.json")), 600)
        if not (status == 200 and isinstance(out, dict) and out.get("skipped")):
            say(f"   warning: the notifier answered the warm-up with HTTP {status}: {out}")
        event = os.path.relpath(os.path.join(ROOT, args.event), ROOT)
        invoke = f"cargo lambda invoke notifier -A 127.0.0.1 -P {args.port} --data-file {event}"
        say("")
        say("== make dev: ready. Edit a crate and watch rebuilds it; Ctrl-C stops everything.")
        say(f"   send a failure: {invoke}")
        say(f"   list cases:     {cases_command(svc, args.auth, header)}")
        say(f"   env file:       {os.path.relpath(env_file, ROOT)}   moto: {moto}")
        say("")
        code = svc.watch.wait()
        say(f"== cargo lambda watch exited ({code}); stopping moto")
    sys.exit(code)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:  # a port in use, moto or watch not starting: one clear message
        sys.exit(f"make dev: {e}")
