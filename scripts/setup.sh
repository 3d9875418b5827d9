#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh machine, and nothing
# that is already there: moto (local AWS), boto3 (seeding), pytest (end-to-end
# tests), ruff (Python lint and format, pinned: its rules change between
# releases) and cargo-lambda (which ships its own binary and zig) from PyPI.
set -euo pipefail

py=python3
RUFF_VERSION=0.17.5
need=()
$py -c 'import moto, flask' 2>/dev/null && command -v moto_server >/dev/null || need+=('moto[server]>=5,<6')
$py -c 'import boto3' 2>/dev/null || need+=('boto3')
$py -c 'import pytest' 2>/dev/null || need+=('pytest')
[ "$(ruff --version 2>/dev/null)" = "ruff $RUFF_VERSION" ] || need+=("ruff==$RUFF_VERSION")
cargo lambda --version >/dev/null 2>&1 || need+=('cargo-lambda>=1.9,<2')
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $py -m pip install --quiet --disable-pip-version-check "${need[@]}"
  hash -r
fi
for c in clippy rustfmt; do
  cargo $c --version >/dev/null 2>&1 || rustup component add $c
done
command -v moto_server >/dev/null || { echo "setup: moto_server not on PATH after install" >&2; exit 1; }
cargo lambda --version >/dev/null || { echo "setup: cargo lambda not usable after install" >&2; exit 1; }
echo "setup: ok ($(cargo lambda --version), moto $($py -c "import moto; print(moto.__version__)"), $(ruff --version))"
