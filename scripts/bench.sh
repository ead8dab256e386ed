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
# 4. The FHIR API under load (wrk, scripts/bench-fhir.sh) beside the same server's /healthz (not
#    with `postgres`).
# 5. Documents: 1,000 preparation letters and 1,000 care and support plans to PDF by Concord, per
#    document, beside a warm headless
#    Chromium printing the same documents from the print view (not with `postgres`).
#
# Disk (measured on 30k): `make bench` needs about 1.1 GB per 100k patients for the extract plus
# the databases, and ~1.1 GB more for the 20k practice of the cycle part; the DuckDB venv ~95 MB.
# `make bench-region` never has the region's extract (19 KB of NDJSON per person, 30 GB) on disk
# whole: it is generated and imported 100k people at a time (1.9 GB per slice), and each slice's
# observations are copied into the floor database right after. Measured peak: the import
# database (30.7 GB) plus the floor database (16.1 GB, dropped once measured) plus one slice:
# about 50 GB free.
# Time on 2 cores (measured): `make bench` 10.5 min (its cycle part ~2.5 min); `make bench-region`
# 61 min (45 min of import with statuses kept, the floor's COPY 8 min, the cycle part 4 min). Machines
# of this size differ: on a slower one, 100k slices took 280-420 s each (`scripts/bench.sh 300000
# postgres`, the region mode on 300k people, 22 min in all), so allow up to two hours for 1.6M.
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-100000}
only_postgres=${2:-}
extra=("${@:3}")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/concord-target}
cargo build --release -p concord-bench -p concord-cli  # both benchmark binaries
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
[ "$only_postgres" = postgres ] || scripts/bench-fhir.sh "$CARGO_TARGET_DIR/release/concord"
if [ "$only_postgres" != postgres ]; then
  (cd e2e && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; })
  "$CARGO_TARGET_DIR/release/concord-bench-documents" --count "${CONCORD_BENCH_DOCUMENTS:-1000}" --work "$work" \
    --assets assets/node_modules/nhsuk-frontend/dist/nhsuk --peer e2e/bench/chromium-pdf.mjs
fi
