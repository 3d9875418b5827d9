#!/usr/bin/env bash
# Installs botocore, pinned, into infra/.cache/botocore-<version> (git-ignored):
# its data/ folder holds the AWS API models (events, dynamodb, secretsmanager,
# sns, stepfunctions) that the infra tests check templates and IAM against.
# Idempotent: does nothing when that version is already there. Prints the folder.
set -euo pipefail
cd "$(dirname "$0")/.."

BOTOCORE_VERSION=1.44.8
target=".cache/botocore-${BOTOCORE_VERSION}"
if [ ! -f "$target/botocore/data/events/2015-10-07/service-2.json.gz" ] && [ ! -f "$target/botocore/data/events/2015-10-07/service-2.json" ]; then
  rm -rf "$target"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --target "$target" "botocore==${BOTOCORE_VERSION}" >&2
fi
echo "$PWD/$target/botocore"
