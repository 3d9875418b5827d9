#!/usr/bin/env bash
# Every offline check of infra/, from a fresh checkout: installs its own tools,
# compiles, lints, synthesizes the demo stack in both auth modes and the
# organization example's hub and spoke stacks (Rust bundling skipped: no cargo
# build, no Docker, no AWS credentials), then runs the node
# tests (against AWS API models from a pinned botocore), cfn-lint and
# asl-validator. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# No credentials, no network beyond the registries: keep the CDK CLI from looking.
export AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true
export TICKET_BRIDGE_SKIP_BUNDLING=1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step() { printf '\n== %s\n' "$*"; }

step "npm ci"
npm ci --loglevel=error

step "tsc"
rm -rf dist
npx tsc -p .

step "eslint"
npx eslint --max-warnings 0 .

step "AWS API models (botocore from PyPI, pinned in scripts/fetch-api-models.sh)"
BOTOCORE_DIR=$(scripts/fetch-api-models.sh)
export BOTOCORE_DIR
echo "$BOTOCORE_DIR"

step "cdk synth (OAuth demo, API-key demo, and the organization's hub and spoke)"
rm -rf cdk.out cdk.out.apikey cdk.out.organization dist/asl
synth() { npx cdk synth --app 'node dist/bin/app.js' --no-notices --quiet "$@"; }
synth -o cdk.out
synth -o cdk.out.apikey -c auth=apikey -c outsetaDomain=example.outseta.com \
  -c outsetaSecretName=ticket-bridge/outseta-auth -c fromPersonEmail=ops@example.com
npx cdk synth --app 'node dist/bin/organization.js' --no-notices --quiet -o cdk.out.organization
templates=(cdk.out/*.template.json cdk.out.apikey/*.template.json cdk.out.organization/*.template.json)
ls -l "${templates[@]}"

step "node --test"
node --test dist/test/*.test.js test/local-sfn/*.test.mjs

step "cfn-lint"
cfn_lint=cfn-lint
if ! command -v cfn-lint >/dev/null 2>&1; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'cfn-lint>=1.51,<2'
  cfn_lint=.venv/bin/cfn-lint
fi
"$cfn_lint" --version
# W3005: CDK adds an explicit DependsOn next to a GetAtt; harmless and not ours.
"$cfn_lint" --non-zero-exit-code error --ignore-checks W3005 -- "${templates[@]}"
echo "cfn-lint: no errors in ${#templates[@]} templates"

step "asl-validator"
node scripts/extract-asl.cjs dist/asl "${templates[@]}"
asl_args=()
for file in dist/asl/*.asl.json; do asl_args+=(--json-path "$file"); done  # one flag per file
npx asl-validator "${asl_args[@]}"

step "infra: all checks passed"
