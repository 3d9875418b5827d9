#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh machine, and nothing
# that is already there: moto (local AWS), boto3 (seeding), pytest (end-to-end
# tests), ruff (Python lint and format, pinned: its rules change between
# releases) and cargo-lambda (which ships its own binary and zig) from PyPI;
# Chromium from Debian.
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
# Headless Chromium renders `notifier render --html` in the CLI tests; a
# missing browser fails that test, so it is installed here (Debian's
# package: a test tool's own browser download is blocked on this network).
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (Debian)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } ||
    { echo "setup: could not install chromium (apt-get install -y chromium)" >&2; exit 1; }
fi
for c in clippy rustfmt; do
  cargo $c --version >/dev/null 2>&1 || rustup component add $c
done
command -v moto_server >/dev/null || { echo "setup: moto_server not on PATH after install" >&2; exit 1; }
cargo lambda --version >/dev/null || { echo "setup: cargo lambda not usable after install" >&2; exit 1; }
echo "setup: ok ($(cargo lambda --version), moto $($py -c "import moto; print(moto.__version__)"), $(ruff --version), $(chromium --version 2>/dev/null | head -1))"
