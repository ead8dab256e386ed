#!/usr/bin/env bash
# `make test`: every test, in stages, printing how long each took.
#   1. tools: npm packages for assets and browser tests, Debian's chromium and poppler-utils if missing
#   2. PostgreSQL: a throwaway cluster unless CONCORD_TEST_POSTGRES_URL is set
#   3. Rust tests (unit, storage on SQLite and PostgreSQL, HTTP) with cargo-nextest, dev profile
#   4. browser tests: Playwright driving Debian's chromium, axe-core on every page
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/concord-target}
started=$(date +%s)
stage_start=$started
stage() {
  local now; now=$(date +%s)
  [ -n "${stage_name:-}" ] && printf '==> %-28s %4ds\n' "$stage_name done" "$((now - stage_start))"
  stage_name=$1; stage_start=$now
  echo "==> $stage_name"
}

stage "tools"
scripts/assets.sh
(cd e2e && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; })
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null || missing+=(poppler-utils)  # reads generated PDFs back in tests
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stage "postgresql"
pgdir=""
if [ -z "${CONCORD_TEST_POSTGRES_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/concord-pg.XXXXXX)
  CONCORD_TEST_POSTGRES_URL=$(scripts/pg-throwaway.sh start "$pgdir")
  trap 'scripts/pg-throwaway.sh stop "$pgdir"' EXIT
fi
export CONCORD_TEST_POSTGRES_URL
echo "storage tests will also run on $CONCORD_TEST_POSTGRES_URL"

stage "rust tests"
cargo nextest run --workspace --no-fail-fast --failure-output final

stage "synthea bundles"
scripts/synthea.sh

stage "browser and command-line tests"
cargo build -p concord-cli
export CONCORD_BIN=$CARGO_TARGET_DIR/debug/concord
psql "$CONCORD_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS concord_e2e_synthea" -c "CREATE DATABASE concord_e2e_synthea"
export CONCORD_E2E_POSTGRES_URL=${CONCORD_TEST_POSTGRES_URL%/*}/concord_e2e_synthea
(cd e2e && node --test --test-concurrency=1 tests/*.test.mjs)

stage "finished"
printf '==> all stages took %ds\n' "$(( $(date +%s) - started ))"
