# One command runs the bridge locally (`make demo`), one runs every test
# (`make test`). Both install what they need first (scripts/setup.sh).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

.PHONY: setup build demo test lint test-rust test-e2e test-infra lambda-build bench fmt

setup:
	scripts/setup.sh

build: setup
	cargo build --workspace

demo: build
	python3 scripts/demo.py

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test-rust:
	cargo test --workspace

# The three real binaries under cargo lambda watch, with moto.
test-e2e: build
	python3 -m pytest -q tests/e2e

test-infra:
	infra/scripts/test.sh

# The Lambda artifacts exactly as CDK bundles them (ARM64, release), so a
# bundling break shows in CI and not at deploy time.
lambda-build: setup
	cargo lambda build --release --arm64 --bin notifier --bin mock-auth --bin mock-api
	ls -l target/lambda/*/bootstrap

# infra before e2e: the local state machine run needs the synthesized template.
test: setup lint test-rust test-infra test-e2e lambda-build
	@echo "make test: all suites passed"
