# One command runs the bridge locally (`make demo`), one runs every test
# (`make test`). Both install what they need first (scripts/setup.sh).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

.PHONY: setup build demo dev test lint test-rust test-e2e test-infra lambda-build test-package dist bench bench-smoke org-scale fmt

setup:
	scripts/setup.sh

build: setup
	cargo build --workspace

demo: build
	python3 scripts/demo.py

# The development loop: moto (a connection and an idempotency table), the env
# in .run/dev.env, cargo lambda watch with hot reload in the foreground; it
# prints the invoke command and the URL of the filed cases. Ctrl-C stops all.
# Options: make dev DEV_ARGS="--port 9100 --auth oauth --env FILE" (--help).
dev: setup
	python3 scripts/dev.py $(DEV_ARGS)

fmt:
	cargo fmt --all

lint: setup
	ruff check
	ruff format --check
	cargo fmt --all -- --check
	# The cause shapes are declared by the `shapes!` table, which cargo fmt
	# does not follow: check them by name.
	rustfmt --edition 2024 --check shared/core/src/cause/*.rs
	# A target directory of its own, so clippy's check build runs beside
	# test-rust's debug build instead of waiting on its lock.
	cargo clippy --workspace --all-targets --target-dir target/clippy -- -D warnings
	# The core builds without the AWS SDK, an HTTP client or TLS (issue 19),
	# and the fuzz crate's own lockfile is current.
	if cargo tree -p ticket-bridge -e normal --prefix none | grep -E '^(aws-|reqwest|hyper|rustls)'; then
	  echo "lint: the core crate (ticket-bridge) depends on the crates above" >&2; exit 1
	fi
	(cd fuzz && cargo tree --locked --prefix none >/dev/null)
	# Small files: no Rust source under shared/ over 800 lines.
	long=$$(find shared -name '*.rs' -not -path '*/target/*' -exec wc -l {} + | awk '$$2 != "total" && $$1 > 800')
	if [ -n "$$long" ]; then echo "lint: files over 800 lines:" >&2; echo "$$long" >&2; exit 1; fi
	(cd infra && { [ -d node_modules ] || npm ci --loglevel=error --no-audit --no-fund; } && npx eslint --max-warnings 0 .)
	@echo "$@: $$SECONDS s"

# The render benchmark runs once as a test here (criterion's test mode), so
# its build shares this suite's lock and CPU rather than bench-smoke's.
test-rust:
	cargo test --workspace
	cargo test -q -p ticket-bridge --bench render
	@echo "$@: $$SECONDS s"

# The three real binaries under cargo lambda watch, with moto.
test-e2e: build
	python3 -m pytest -q tests/e2e
	@echo "$@: $$SECONDS s"

test-infra:
	infra/scripts/test.sh
	@echo "$@: $$SECONDS s"

# The real CDK bundling: cdk synth of the demo, whose three functions
# cargo-lambda-cdk builds with `cargo lambda build --release --arm64` (the
# notifier through the bridge's `fromSource`, the mocks as RustFunctions), so
# a bundling break shows in CI and not at deploy time. Needs test-infra's npm
# ci. What it checks is the bundling (cargo lambda, zig, the arm64 target, the
# three bootstraps), not the optimiser: so it relaxes the release profile
# (no LTO, opt-level 0, parallel codegen), which takes minutes off make test
# on 2 cores. `make lambda-build LAMBDA_PROFILE=deploy` bundles with the
# deployed profile; `make bench` builds and measures that binary too.
# The same arm64 build then feeds the package test: the notifier's bootstrap
# is zipped into infra/assets as `make dist` zips it (labelled with its
# profile, which `npm publish` refuses unless it is release).
LAMBDA_PROFILE ?= check
lambda-build: setup
	cd infra
	export AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true
	if [ "$(LAMBDA_PROFILE)" = check ]; then
	  export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
	fi
	# A target directory of its own: the arm64 build shares nothing with the
	# debug one, and cargo's lock on a shared directory would stall the
	# `cargo run` each `cargo lambda watch` instance of test-e2e starts.
	export CARGO_TARGET_DIR="$$(cd .. && pwd)/target/lambda-build"
	rm -rf cdk.out.bundled
	npx cdk synth --app 'node dist/bin/app.js' --no-notices --quiet -o cdk.out.bundled
	n=$$(find cdk.out.bundled -name bootstrap | wc -l)
	find cdk.out.bundled -name bootstrap -exec ls -l {} +
	test "$$n" -eq 3 || { echo "expected 3 bundled Lambda binaries, found $$n" >&2; exit 1; }
	cd ..
	python3 scripts/package_notifier.py --profile $$([ "$(LAMBDA_PROFILE)" = check ] && echo check || echo release) \
	  arm64=$$(node infra/scripts/bundled-notifier.cjs infra/cdk.out.bundled)
	@echo "$@: $$SECONDS s"

# The npm package as a user gets it (infra/scripts/test-package.sh): npm pack,
# the tarball installed into a scratch CDK app in a temporary folder, the
# README's usage snippet compiled and synthesized with no Rust toolchain on
# PATH, the notifier's code checked to be the packaged zip with the SHA-256 of
# its SHA256SUMS. Packs whatever infra/assets holds: lambda-build's arm64 test
# build under make test, both release builds after make dist.
test-package:
	infra/scripts/test-package.sh
	@echo "$@: $$SECONDS s"

# The release assets of the npm package step-functions-ticket-bridge
# (infra/): the notifier for arm64 and x86_64 with the deployed release
# profile, each bootstrap zipped as Lambda expects (scripts/package_notifier.py:
# `bootstrap` at the root), infra/assets/SHA256SUMS and BUILD.json, then the
# tarball in target/npm/. Two LTO builds: not part of make test.
dist: setup
	unset CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_CODEGEN_UNITS
	cargo lambda build --release --arm64 --bin notifier --lambda-dir target/lambda-dist/arm64
	cargo lambda build --release --x86-64 --bin notifier --lambda-dir target/lambda-dist/x86_64
	python3 scripts/package_notifier.py --profile release \
	  arm64=target/lambda-dist/arm64/notifier/bootstrap x86_64=target/lambda-dist/x86_64/notifier/bootstrap
	(cd infra && { [ -d node_modules ] || npm ci --loglevel=error --no-audit --no-fund; })
	mkdir -p target/npm
	(cd infra && npm pack --pack-destination ../target/npm)

# The suites run two at a time, as two chains, because on 2 cores the Rust
# builds keep the CPU busy while the infra, end-to-end and bench suites mostly
# wait on processes they started:
#   test-rust ──────────────────────────────── test-e2e
#   lint ─ test-infra ─┬─ lambda-build ─ test-package ─ bench-smoke
#                      └──────────────────────────────── (test-e2e)
# lint beside test-rust (clippy has a target directory of its own, so the two
# Rust builds share the CPU instead of one waiting on the other's lock, and
# the second slot is not idle while lint runs alone); lint before infra (its
# eslint reads infra/node_modules, which test-infra reinstalls);
# e2e after test-rust (their `cargo run`s would wait on its build's lock) and
# infra (the local state machine run needs the synthesized template); infra
# before lambda-build (both write infra/dist and cdk.out*), which then runs
# beside the rest of test-rust (its own target directory, so no lock: the
# two chains end about together, where waiting for test-rust left the
# arm64 build the last thing running); the package
# test after lambda-build (it packs the arm64 bootstrap that one built; its
# npm pack rebuilds infra/dist/lib, which the e2e run does not read); the
# bench smoke after the package test, beside the end of the e2e run (both
# mostly wait on processes they started, and the smoke builds nothing that
# `build` has not: the render benchmark's test build is test-rust's). Each suite's
# output is printed whole when it ends. `make test SUITE_JOBS=1` runs them one
# after another. The order applies only under make test: `make test-rust`
# alone runs just that suite.
SUITE_JOBS ?= 2
SUITES := lint test-rust test-infra lambda-build test-package test-e2e bench-smoke
ifeq ($(IN_MAKE_TEST),1)
test-infra: | lint
test-e2e: | test-infra test-rust
lambda-build: | test-infra
test-package: | lambda-build
bench-smoke: | test-package
endif
test: setup
	$(MAKE) --no-print-directory -j$(SUITE_JOBS) --output-sync=target IN_MAKE_TEST=1 $(SUITES)
	@echo "make test: all suites passed"

# The notifier against Node.js and Python peers and a bare lambda_runtime
# floor, side by side in one run: cold start, warm latency and CPU per path
# (Catch, EventBridge), memory, size, scaling and cost, then the notifier
# through storms of 10 to 10,000 failures (each storm at most 300 s of
# sending: --storm-budget), with the targets table (bench/README.md). Installs
# the peers' packages into target/bench/ first and builds the arm64
# bootstrap of this commit for its size; results land in
# target/bench/results.{json,md}, the TLS handshake numbers in
# target/bench/tls-handshake.json.
bench: setup
	bench/peers/python/setup.sh
	bench/peers/node/setup.sh
	cargo build --release -p notifier -p mock-api -p mock-auth -p bench
	cargo lambda build --release --arm64 --bin notifier
	cargo bench -p ticket-bridge --bench render -- --warm-up-time 1 --measurement-time 3
	target/release/bench
	# Client CPU per full TLS 1.3 handshake, aws-lc-rs (with and without
	# X25519MLKEM768) against ring, in memory (bench/tls: its own lockfile,
	# outside the workspace, since it links both providers).
	cargo run -q --release --locked --manifest-path bench/tls/Cargo.toml --target-dir target \
	  -- 2000 100 > target/bench/tls-handshake.json
	cat target/bench/tls-handshake.json

# What one hub costs per failure across a simulated organization (50 accounts
# x 4 machines x 2 failures): AWS calls by operation and desk requests, through
# the real notifier on moto and mock-api (bench/org_scale.py); writes
# target/bench/org-scale.json. The README's scale table quotes it.
org-scale: build
	python3 bench/org_scale.py

# The same harness with a few invocations and the smallest storm (10
# failures), so it cannot rot. It fails only when the harness or a function
# breaks (a storm occurrence missing from the desk included), never on a timing. It claims no
# timings, so it runs the debug builds `make test` already has (the harness
# takes the notifier and the mocks from its own profile): no release build.
bench-smoke: setup
	bench/peers/python/setup.sh
	bench/peers/node/setup.sh
	cargo build -p notifier -p mock-api -p mock-auth -p bench
	target/debug/bench --smoke
	@echo "$@: $$SECONDS s"
