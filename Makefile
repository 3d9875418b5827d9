# One command runs the bridge locally (`make demo`), one runs every test
# (`make test`). Both install what they need first (scripts/setup.sh).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

.PHONY: setup build demo dev test lint test-rust test-e2e test-infra lambda-build bench bench-smoke fmt

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
	cargo clippy --workspace --all-targets -- -D warnings
	(cd infra && { [ -d node_modules ] || npm ci --loglevel=error --no-audit --no-fund; } && npx eslint --max-warnings 0 .)

test-rust:
	cargo test --workspace

# The three real binaries under cargo lambda watch, with moto.
test-e2e: build
	python3 -m pytest -q tests/e2e

test-infra:
	infra/scripts/test.sh

# The real CDK bundling: cdk synth with cargo-lambda-cdk's RustFunction, which
# runs `cargo lambda build --release --arm64` for the three functions, so a
# bundling break shows in CI and not at deploy time. Needs test-infra's npm ci.
lambda-build: setup
	cd infra
	export AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true
	rm -rf cdk.out.bundled
	npx cdk synth --app 'node dist/bin/app.js' --no-notices --quiet -o cdk.out.bundled
	n=$$(find cdk.out.bundled -name bootstrap | wc -l)
	find cdk.out.bundled -name bootstrap -exec ls -l {} +
	test "$$n" -eq 3 || { echo "expected 3 bundled Lambda binaries, found $$n" >&2; exit 1; }

# infra before e2e: the local state machine run needs the synthesized template.
test: setup lint test-rust test-infra lambda-build test-e2e bench-smoke
	@echo "make test: all suites passed"

# The notifier against a Python peer, side by side in one run: cold start,
# warm latency, memory, CPU, size and cost (bench/README.md). Installs the
# peer's Python packages into target/bench/ first; results land in
# target/bench/results.{json,md}.
bench: setup
	bench/peers/python/setup.sh
	cargo build --release -p notifier -p mock-api -p mock-auth -p bench
	cargo bench -p ticket-bridge --bench render -- --warm-up-time 1 --measurement-time 3
	target/release/bench

# The same harness with a few invocations, so it cannot rot. It fails only
# when the harness or a function breaks, never on a timing.
bench-smoke: setup
	bench/peers/python/setup.sh
	cargo build --release -p notifier -p mock-api -p mock-auth -p bench
	cargo test -q -p ticket-bridge --bench render
	target/release/bench --smoke
