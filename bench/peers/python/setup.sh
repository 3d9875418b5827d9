#!/usr/bin/env bash
# Installs what the Python peer needs, from PyPI, into target/bench/ (never
# into the system Python), and builds its deployment package the way a team
# would zip it: handler.py plus `pip install --target` of requirements.txt.
# Re-running is cheap: nothing is reinstalled while the requirements are
# unchanged.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${BENCH_OUT:-$root/target/bench}"
venv="$out/venv"
stamp="$(cat "$here/requirements.txt" "$here/requirements-runner.txt" | sha256sum | cut -c1-16)"

if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "bench: installing the Python peer's runtime (awslambdaric, boto3, requests) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-runner.txt"
  echo "$stamp" > "$venv/.stamp"
fi

pkg="$out/python-package"
if [ "$(cat "$pkg/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "bench: building the Python peer's deployment package in $pkg"
  rm -rf "$pkg" "$pkg-with-boto3"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile \
    --target "$pkg" -r "$here/requirements.txt"
  # Teams that pin their own boto3 bundle it too; measured as a second size.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile \
    --target "$pkg-with-boto3" -r "$here/requirements.txt" "$(grep '^boto3' "$here/requirements-runner.txt")"
  echo "$stamp" > "$pkg/.stamp"
fi
cp "$here/handler.py" "$pkg/handler.py"
cp "$here/handler.py" "$pkg-with-boto3/handler.py"
