#!/usr/bin/env bash
# The package as a user gets it. `npm pack` (its file list checked), then the
# tarball installed into a scratch CDK app in a temporary folder outside the
# repository, next to aws-cdk-lib and constructs (its peers) and nothing else;
# the README's usage snippet compiled as that app's stack (TypeScript with
# `cdk init`'s NodeNext settings) and synthesized with no cargo, rustc,
# rustup, cargo-lambda or zig on PATH. Then scripts/consumer/check.cjs: the
# notifier's code is the packaged zip, whose SHA-256 is the one in the
# package's SHA256SUMS, and so on.
#
# Needs infra's npm ci and infra/assets: `make lambda-build` writes the arm64
# bootstrap it built (relaxed profile, packed with TICKET_BRIDGE_TEST_PACK=1),
# `make dist` both architectures with the release profile.
set -euo pipefail
cd "$(dirname "$0")/.."
infra=$PWD
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }

if [ ! -f assets/SHA256SUMS ]; then
  echo "test-package: no infra/assets/SHA256SUMS: run make lambda-build (or make dist) first" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/infra-package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
case "$work" in "$(cd .. && pwd)"/*) echo "test-package: $work is inside the repository" >&2; exit 1 ;; esac

step "npm pack"
TICKET_BRIDGE_TEST_PACK=1 npm pack --loglevel=warn --pack-destination "$work" --json > "$work/pack.json"
node scripts/consumer/check-pack.cjs "$work/pack.json"
tarball="$work/$(node -e 'console.log(require(process.argv[1])[0].filename)' "$work/pack.json")"

step "scratch app: the tarball and its peers from the registry"
app="$work/app"
mkdir -p "$app/bin" "$app/lib"
version() { node -p "require('$infra/node_modules/$1/package.json').version"; }
cat > "$app/package.json" <<JSON
{
  "name": "consumer",
  "version": "0.1.0",
  "private": true,
  "dependencies": {
    "aws-cdk-lib": "$(version aws-cdk-lib)",
    "constructs": "$(version constructs)",
    "step-functions-ticket-bridge": "file:$tarball"
  },
  "devDependencies": {
    "@types/node": "$(version @types/node)",
    "typescript": "$(version typescript)"
  }
}
JSON
(cd "$app" && npm install --prefer-offline --loglevel=error)

step "the README's usage snippet as the app's stack"
# The first TypeScript block after the marker in the packaged README.
node -e '
  const fs = require("node:fs");
  const text = fs.readFileSync(process.argv[1], "utf8");
  const at = text.indexOf("<!-- usage: lib/pipeline-stack.ts -->");
  if (at < 0) throw new Error("README: no usage marker");
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  fs.writeFileSync(process.argv[2], block[1]);
' "$app/node_modules/step-functions-ticket-bridge/README.md" "$app/lib/pipeline-stack.ts"
cat > "$app/bin/app.ts" <<'TS'
import { App } from 'aws-cdk-lib';
import { PipelineStack } from '../lib/pipeline-stack';

const app = new App();
new PipelineStack(app, 'Pipeline');
app.synth();
TS
# cdk init's compiler settings (aws-cdk's init template), emitting JavaScript instead of running tsx.
cat > "$app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "lib": ["es2022"],
    "declaration": true, "strict": true, "noImplicitAny": true, "strictNullChecks": true, "noImplicitThis": true,
    "alwaysStrict": true, "noImplicitReturns": true, "experimentalDecorators": true,
    "strictPropertyInitialization": false, "skipLibCheck": true, "isolatedModules": true,
    "types": ["node"], "outDir": "dist"
  },
  "include": ["bin/**/*.ts", "lib/**/*.ts"]
}
JSON
(cd "$app" && node node_modules/typescript/bin/tsc -p .)

step "cdk synth without a Rust toolchain"
clean_path=""
IFS=: read -r -a dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
  skip=""
  for tool in cargo rustc rustup cargo-lambda zig docker; do [ -x "$dir/$tool" ] && skip=1; done
  [ -n "$skip" ] || clean_path="${clean_path:+$clean_path:}$dir"
done
for tool in cargo rustc rustup cargo-lambda zig; do
  if PATH="$clean_path" command -v "$tool" >/dev/null 2>&1; then echo "test-package: $tool is still on PATH" >&2; exit 1; fi
done
node_bin=$(command -v node)
(cd "$app" && PATH="$clean_path" CDK_OUTDIR=cdk.out "$node_bin" dist/bin/app.js)
cp scripts/consumer/check.cjs "$app/"
(cd "$app" && PATH="$clean_path" "$node_bin" check.cjs "$infra/assets")

step "test-package: the packed library works in a fresh app"
