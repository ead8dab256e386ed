#!/usr/bin/env bash
# `make bench` / `make bench-region`: release-build benchmarks with floors measured in the same run.
#   scripts/bench.sh PATIENTS [postgres]
# Starts a throwaway PostgreSQL cluster unless CONCORD_BENCH_POSTGRES_URL is set.
# Disk: about 1.1 GB per 100k patients for the extract plus the databases (bench-region: ~18 GB for 1.6M).
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-100000}
only_postgres=${2:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/concord-target}
cargo build --release -p concord-bench -p concord-cli
work=${CONCORD_BENCH_DIR:-$HOME/.cache/concord-bench}
mkdir -p "$work"
url=${CONCORD_BENCH_POSTGRES_URL:-}
if [ -z "$url" ]; then
  pgdir=$(mktemp -d /tmp/concord-bench-pg.XXXXXX)
  url=$(scripts/pg-throwaway.sh start "$pgdir")
  trap 'scripts/pg-throwaway.sh stop "$pgdir"' EXIT
fi
args=(--patients "$patients" --work "$work" --postgres "$url")
[ "$only_postgres" = postgres ] && args+=(--skip-sqlite)
"$CARGO_TARGET_DIR/release/concord-bench" "${args[@]}"
[ "$only_postgres" = postgres ] || scripts/bench-page.sh "$CARGO_TARGET_DIR/release/concord"
