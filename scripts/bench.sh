#!/usr/bin/env bash
# `make bench` / `make bench-region`: release-build benchmarks with floors measured in the same run.
#   scripts/bench.sh PATIENTS [postgres] [concord-bench options…]
# e.g. scripts/bench.sh 100000 "" --cycle-only   (the cycle questions only, on a 20k practice)
# Starts a throwaway PostgreSQL cluster unless CONCORD_BENCH_POSTGRES_URL is set.
#
# 1. Import throughput against floors (PATIENTS people, both engines; `postgres`: PostgreSQL only).
# 2. The cycle's questions (worklist, NDA care-process completeness) through Concord and through
#    DuckDB (PyPI, pinned below, in its own venv) over the same rows exported to Parquet, with the
#    ratio and a check that the answers agree; plus the status upkeep during import. `make bench`
#    asks them of one practice of 20,000 people (generated once, imported afresh on each engine);
#    `make bench-region` of the region's database from part 1.
# 3. The patient summary page's server time (not with `postgres`).
#
# Disk: about 1.1 GB per 100k patients for the extract plus the databases (bench-region: ~18 GB
# for 1.6M). The cycle part adds ~1.1 GB for the 20k practice (extract 360 MB, SQLite 300 MB,
# PostgreSQL 380 MB, CSV + Parquet exports 20 MB) and, for bench-region, ~0.8 GB of exports
# (estimated, not yet measured); the DuckDB venv is ~95 MB.
# Time on 2 cores: the cycle part takes ~2 min (generating and importing the practice twice is
# most of it; measured 1m43s on a quiet machine); for bench-region, an estimated 15 min more
# (each worklist read checks every person's status first, and the region's export).
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-100000}
only_postgres=${2:-}
extra=("${@:3}")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/concord-target}
cargo build --release -p concord-bench -p concord-cli
work=${CONCORD_BENCH_DIR:-$HOME/.cache/concord-bench}
mkdir -p "$work"

# DuckDB for the comparison, pinned, in a venv of its own (as scripts/synthea.sh makes its own).
duckdb_version=2.0.0
venv=${CONCORD_CACHE:-$HOME/.cache}/concord-duckdb-venv
if [ "$("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)' 2>/dev/null)" != "$duckdb_version" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$duckdb_version"
fi

url=${CONCORD_BENCH_POSTGRES_URL:-}
if [ -z "$url" ]; then
  pgdir=$(mktemp -d /tmp/concord-bench-pg.XXXXXX)
  url=$(scripts/pg-throwaway.sh start "$pgdir")
  trap 'scripts/pg-throwaway.sh stop "$pgdir"' EXIT
fi
args=(--patients "$patients" --work "$work" --postgres "$url" --duckdb-python "$venv/bin/python")
[ "$only_postgres" = postgres ] && args+=(--skip-sqlite)
"$CARGO_TARGET_DIR/release/concord-bench" "${args[@]}" "${extra[@]}"
[ "$only_postgres" = postgres ] || scripts/bench-page.sh "$CARGO_TARGET_DIR/release/concord"
