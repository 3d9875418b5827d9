#!/usr/bin/env bash
# Times `make test` on a fresh clone of HEAD, with its own empty target dir
# (no cached builds), and records it in target/bench/make-test.json, which
# `make bench` reads for the "make test on a fresh clone ≤ 12 min" target.
# CARGO_INCREMENTAL=0 as in .ci/run. Takes as long as it measures; run it on a quiet machine. Downloads come
# from the machine's caches (~/.cargo, pip, npm) as on any developer box.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
commit="$(git -C "$root" rev-parse --short HEAD)"
git clone --quiet --no-hardlinks "$root" "$tmp/clone"
# make test's prerequisites, run one by one in its order (the Makefile's
# `test:` line), so the record says where the minutes go.
phases=$(sed -n 's/^test: *//p' "$root/Makefile")
start=$(date +%s)
timings=""
for phase in $phases; do
  t0=$(date +%s)
  (cd "$tmp/clone" && CARGO_INCREMENTAL=0 make "$phase") >> "$tmp/make-test.log" 2>&1 || {
    tail -40 "$tmp/make-test.log" >&2
    echo "make test ($phase) failed on a fresh clone of $commit" >&2
    exit 1
  }
  timings="$timings${timings:+, }[\"$phase\", $(( $(date +%s) - t0 ))]"
  echo "  $phase: $(( $(date +%s) - t0 )) s"
done
secs=$(( $(date +%s) - start ))
mkdir -p "$root/target/bench"
printf '{"seconds": %d, "commit": "%s", "date": "%s", "cores": %d, "load_after": "%s", "phases": [%s]}\n' \
  "$secs" "$commit" "$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$timings" \
  > "$root/target/bench/make-test.json"
echo "make test on a fresh clone of $commit: $((secs / 60)) min $((secs % 60)) s"
