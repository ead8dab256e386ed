# Concord: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/concord-target
CONCORD_RELEASE := $(CARGO_TARGET_DIR)/release/concord
DATABASE ?= sqlite://concord.db

.PHONY: demo build assets test test-unit test-e2e bench bench-region lint clean-demo

## Builds the release binary and the NHS.UK frontend assets, seeds the demo practice if absent, serves it.
demo: build
	$(CONCORD_RELEASE) --database $(DATABASE) demo

build: assets
	cargo build --release -p concord-cli

## Installs nhsuk-frontend from npm (pinned in assets/package-lock.json); never copied into the repo.
assets:
	scripts/assets.sh

## Every test: unit, storage on SQLite and PostgreSQL, HTTP, and browser tests with axe-core.
test:
	scripts/test.sh

## Benchmarks against floors measured in the same run (100k patients; bench-region: 1.6M on PostgreSQL).
bench: assets
	scripts/bench.sh 100000

bench-region:
	scripts/bench.sh 1600000 postgres

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
