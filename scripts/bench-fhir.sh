#!/usr/bin/env bash
# FHIR API throughput and latency under load: wrk on loopback against the release server on the
# demo practice (5,000 patients, walked through the cycle, plans shared with the partners), beside
# the same server's trivial endpoint (/healthz) as the floor, in the same run, with ratios: CarePlan,
# Patient and Observation searches and reads, and Patient/$everything (one page of up to 500). Every
# FHIR read writes its audit event before answering (SQLite, synchronous=FULL).
#   scripts/bench-fhir.sh [CONCORD_BINARY]   (CONCORD_BENCH_FHIR_SECONDS, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/concord-target}/release/concord}
seconds=${CONCORD_BENCH_FHIR_SECONDS:-10}
command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq wrk >/dev/null; }
work=$(mktemp -d /tmp/concord-fhir-bench.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
db="sqlite://$work/demo.db"
"$bin" --database "$db" demo --no-serve --patients 5000 >/dev/null 2>&1
partner=$("$bin" --database "$db" report organisations --format json | python3 -c 'import json,sys; print([o["ods_code"] for o in json.load(sys.stdin) if o["kind"]=="partner"][0])')
client=$("$bin" --database "$db" client create --org "$partner" --name bench --scope "system/*.read")
id=$(printf '%s' "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
secret=$(printf '%s' "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
numbers=$("$bin" --database "$db" report plans --format json | python3 -c 'import json,sys; print(" ".join(p["nhs_number"] for p in json.load(sys.stdin)))')
CONCORD_LOG=warn "$bin" --database "$db" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/out")
bearer() {
  curl -s -d grant_type=client_credentials --data-urlencode "client_id=$id" --data-urlencode "client_secret=$secret" "$base/auth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
token=$(bearer)
patient=""
for number in $numbers; do
  patient=$(curl -s -H "Authorization: Bearer $token" --data-urlencode "identifier=https://fhir.nhs.uk/Id/nhs-number|$number" \
    "$base/fhir/Patient/_search" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["entry"][0]["resource"]["id"] if b.get("total") else "")')
  [ -n "$patient" ] && { shared_number=$number; break; }
done
[ -n "$patient" ] || { echo "no patient shares with $partner" >&2; exit 1; }
cat > "$work/search.lua" <<LUA
wrk.method = "POST"
wrk.body = "identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C$shared_number"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
# Tokens live 5 minutes: a fresh one per run.
run() {
  local label=$1; shift
  local out
  out=$(wrk -t1 -c"${connections:-32}" -d"${seconds}s" --latency "$@")
  local rate p50 p99
  rate=$(printf '%s\n' "$out" | sed -n 's/^Requests\/sec: *//p')
  p50=$(printf '%s\n' "$out" | awk '$1=="50%"{print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')
  errors=$(printf '%s\n' "$out" | sed -n 's/.*Non-2xx or 3xx responses: *//p')
  printf '%s|%s|%s|%s|%s\n' "$label" "$rate" "$p50" "$p99" "${errors:-0}"
}
{
  run "/healthz (floor)" "$base/healthz"
  token=$(bearer); run "CarePlan?patient=" -H "Authorization: Bearer $token" "$base/fhir/CarePlan?patient=Patient/$patient"
  token=$(bearer); run "Patient/{id}" -H "Authorization: Bearer $token" "$base/fhir/Patient/$patient"
  token=$(bearer); run "POST Patient/_search (NHS number)" -H "Authorization: Bearer $token" -s "$work/search.lua" "$base/fhir/Patient/_search"
  token=$(bearer); run "Observation?patient= (_count=500)" -H "Authorization: Bearer $token" "$base/fhir/Observation?patient=Patient/$patient&_count=500"
  token=$(bearer); run "Patient/{id}/\$everything" -H "Authorization: Bearer $token" "$base/fhir/Patient/$patient/\$everything?_count=500"
  token=$(bearer); connections=1 run "Patient/{id}/\$everything, 1 connection" -H "Authorization: Bearer $token" "$base/fhir/Patient/$patient/\$everything?_count=500"
} > "$work/results"
floor=$(head -n1 "$work/results" | cut -d'|' -f2)
echo "== FHIR API under load: wrk, 1 thread, 32 connections, ${seconds}s each, loopback, release build, SQLite"
while IFS='|' read -r label rate p50 p99 errors; do
  ratio=$(python3 -c "print(f'{float(\"$rate\")/float(\"$floor\"):.2f}')")
  printf '   %-40s %10s req/s  p50 %8s  p99 %8s  non-2xx %s  (%sx the floor)\n' "$label" "$rate" "$p50" "$p99" "$errors" "$ratio"
done < "$work/results"
echo "   reference (a Rust FHIR server measured on this kind of machine): CarePlan?patient= about 1,300 req/s, p99 53 ms at 32 connections; Patient/\$everything median 238 ms"
