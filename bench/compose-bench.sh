#!/usr/bin/env bash
# The composition benchmarks of issue 14 (bench/RESULTS.md), on bench/compose-config.json: the
# 3-level chain (1 user -> 10 orders -> 10 products) async against sync at 50 ms per call, then CPU
# per call node under load at 0 ms, the chain against 21 plain calls. Starts the bundled upstream
# (127.0.0.1:9008) and the aggregator (8080, admin 8081) from BUILD (default: build).
#   bench/compose-bench.sh [CLIENTS [SECONDS]]   (default: 50 clients, 10 s per route)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
clients=${1:-50}
seconds=${2:-10}
"$build/upstream/upstream" --listen 127.0.0.1:9008 > /dev/null 2>&1 &
up=$!
"$build/aggregator/aggregator" --config bench/compose-config.json &
agg=$!
trap 'kill $agg $up 2> /dev/null || true' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:8080/health && break; sleep 0.1; done
bench="$build/bench/aggregator-bench"
echo "== the chain at 50 ms per call: async against sync (5 requests each)"
"$bench" compare --target http://127.0.0.1:8080/api/chain --pid "$agg" --num 0 --repeat 5 2> /dev/null | tail -4
echo "== the same 21 calls at once, no chain"
"$bench" compare --target http://127.0.0.1:8080/api/plain21 --pid "$agg" --num 0 --repeat 5 2> /dev/null | tail -4
requests() { curl -s http://127.0.0.1:8081/metrics | awk -v r="route=\"$1\"" 'index($0, "aggregator_requests_total{" r) { s += $NF } END { print s + 0 }'; }
cpu() { awk '{print $14 + $15}' "/proc/$agg/stat"; }  # clock ticks (1/100 s)
for route in chain plain21; do
  echo "== $route at 0 ms, $clients clients, $seconds s"
  n0=$(requests "$route"); c0=$(cpu)
  "$bench" load --target "http://127.0.0.1:8080/api/$route?delay_ms=0" --pid "$agg" --num 0 \
    --clients "$clients" --duration "$seconds" 2> /dev/null | tail -2 || true
  n1=$(requests "$route"); c1=$(cpu)
  awk -v t=$((c1 - c0)) -v n=$((n1 - n0)) 'BEGIN { if (n) printf "  CPU per aggregation %.3f ms, per call %.1f us (%d aggregations of 21 calls)\n", t * 10 / n, t * 10000 / n / 21, n }'
done
