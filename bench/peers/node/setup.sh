#!/usr/bin/env bash
# Installs what the Node.js peer needs into target/bench/ (never globally):
# Node 22 (from the npm registry's `node` package, via `npx -y node@22`, as
# the machine's own node may be older), and the peer's packages pinned by
# package-lock.json (`npm ci`). Builds two trees, the way a team would zip
# the function:
#   node-package           handler.mjs alone (the nodejs22.x runtime provides
#                          AWS SDK v3, and fetch is built in)
#   node-package-with-sdk  handler.mjs + node_modules with the pinned SDK,
#                          which is also what the harness runs
# Re-running is cheap: nothing is reinstalled while the lockfile is unchanged.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${BENCH_OUT:-$root/target/bench}"
stamp="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)"

node="$out/node22/bin/node"
if ! "$node" --version 2>/dev/null | grep -q '^v22\.'; then
  echo "bench: installing Node.js 22 into $out/node22"
  real="$(cd "${TMPDIR:-/tmp}" && npx -y node@22 -e 'process.stdout.write(process.execPath)')"
  mkdir -p "$out/node22/bin"
  cp "$real" "$node.tmp" && mv "$node.tmp" "$node"
fi

pkg="$out/node-package"
sdk="$pkg-with-sdk"
if [ "$(cat "$sdk/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "bench: installing the Node peer's packages (npm ci) into $sdk"
  rm -rf "$pkg" "$sdk"
  mkdir -p "$pkg" "$sdk"
  cp "$here/package.json" "$here/package-lock.json" "$sdk/"
  # npm runs under the Node 22 just installed; --ignore-scripts: the SDK
  # needs none, and no install script runs on this machine.
  (cd "$sdk" && PATH="$out/node22/bin:$PATH" npm ci --omit=dev --ignore-scripts \
    --no-audit --no-fund --loglevel=error)
  echo "$stamp" > "$sdk/.stamp"
fi
for d in "$pkg" "$sdk"; do
  cp "$here/handler.mjs" "$here/package.json" "$d/"
done
