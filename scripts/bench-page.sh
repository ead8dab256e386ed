#!/usr/bin/env bash
# Patient summary page: server time on the demo practice (5,000 patients), from the server's own
# request log (latency measured inside the server, from request to response), over 200 requests.
#   scripts/bench-page.sh [CONCORD_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/concord-target}/release/concord}
work=$(mktemp -d /tmp/concord-page-bench.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" --database "sqlite://$work/demo.db" demo --no-serve --patients 5000 >/dev/null
CONCORD_LOG=info "$bin" --database "sqlite://$work/demo.db" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/out")
jar=$work/cookies
page=$(curl -s -c "$jar" -b "$jar" "$base/sign-in")
token=$(printf '%s' "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
curl -s -c "$jar" -b "$jar" -H "Origin: $base" -o /dev/null \
  --data-urlencode "csrf_token=$token" --data-urlencode "username=demo.gp" --data-urlencode "password=concord-demo-password" "$base/sign-in"
home=$(curl -s -c "$jar" -b "$jar" "$base/patients")
token=$(printf '%s' "$home" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
results=$(curl -s -c "$jar" -b "$jar" -H "Origin: $base" --data-urlencode "csrf_token=$token" --data-urlencode "name=a" "$base/patients/search")
refs=$(printf '%s' "$results" | grep -o '/patients/record/[A-Za-z0-9_-]*' | sort -u | head -n 20)
[ -n "$refs" ] || { echo "no patient found to open" >&2; exit 1; }
for round in $(seq 10); do
  for ref in $refs; do curl -s -b "$jar" -o /dev/null "$base$ref"; done
done
grep -o 'path=/patients/record/[^ ]* status=200 latency_ms=[0-9.]*' "$work/log" | sed 's/.*latency_ms=//' | sort -n > "$work/latencies"
count=$(wc -l < "$work/latencies")
median=$(awk -v n="$count" 'NR==int((n+1)/2){print}' "$work/latencies")
p95=$(awk -v n="$count" 'NR==int(n*0.95){print}' "$work/latencies")
printf 'patient summary page, demo practice of 5000: %d requests, server time median %.2f ms, p95 %.2f ms\n' "$count" "$median" "$p95"
