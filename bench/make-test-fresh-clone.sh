#!/usr/bin/env bash
# Times `make test` on a fresh clone of HEAD, with its own empty target dir
# (no cached builds), and records it in target/bench/make-test.json, which
# `make bench` reads for the "make test on a fresh clone ≤ 12 min" target.
# CARGO_INCREMENTAL=0 as in .ci/run. Takes as long as it measures; run it on a quiet machine. Downloads come
# from the machine's caches (~/.cargo, pip, npm) as on any developer box.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
mkdir -p "$root/target/bench"
# The run's whole log stays in target/bench/make-test.log, pass or fail.
trap 'cp "$tmp/make-test.log" "$root/target/bench/make-test.log" 2>/dev/null; rm -rf "$tmp"' EXIT
commit="$(git -C "$root" rev-parse --short HEAD)"
git clone --quiet --no-hardlinks "$root" "$tmp/clone"
start=$(date +%s)
(cd "$tmp/clone" && CARGO_INCREMENTAL=0 make test) > "$tmp/make-test.log" 2>&1 || {
  tail -40 "$tmp/make-test.log" >&2
  echo "make test failed on a fresh clone of $commit" >&2
  exit 1
}
secs=$(( $(date +%s) - start ))
printf '{"seconds": %d, "commit": "%s", "date": "%s", "cores": %d, "load_after": "%s"}\n' \
  "$secs" "$commit" "$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  > "$root/target/bench/make-test.json"
echo "make test on a fresh clone of $commit: $((secs / 60)) min $((secs % 60)) s"
