#!/usr/bin/env bash
# Latency and CPU of two (or more) aggregator binaries, alternating, same upstream: the bundled
# upstream at DELAY_MS (100), `aggregator-bench load` with CLIENTS (200) x 10 calls for SECONDS
# (8, the first second left out of the percentiles), ROUNDS (3) times. A direct A/B for a
# latency difference the peers harness shows between two builds (whose order there is fixed).
#   bench/latency-ab.sh [SECONDS] [ROUNDS] BINARY...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
rounds=${2:-3}
shift $(($# < 2 ? $# : 2))
[ $# -gt 0 ] || set -- build/aggregator/aggregator
ulimit -n "$(ulimit -Hn)"
dir=$(mktemp -d)
up='' agg=''
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT
build/upstream/upstream --listen 127.0.0.1:19730 --delay-ms "${DELAY_MS:-100}" > /dev/null 2>&1 &
up=$!
cat > "$dir/config.json" << JSON
{"server": {"max_aggregations": 4000, "max_connections": 8000}, "client": {"max_connections": 12000},
 "routes": [{"name": "agg", "path": "/api/agg", "num": {"default": 10, "max": 10},
             "upstreams": [{"url": "http://127.0.0.1:19730/api/?task_id={i}", "repeat": true}]}]}
JSON
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    "$bin" --config "$dir/config.json" --listen 127.0.0.1:19731 --admin-listen 127.0.0.1:19732 --log-level warn \
      > "$dir/agg.log" 2>&1 &
    agg=$!
    for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:19731/health && break; sleep 0.05; done
    echo "round $round  $bin"
    build/bench/aggregator-bench load --target http://127.0.0.1:19731/api/agg --pid "$agg" \
      --clients "${CLIENTS:-200}" --num 10 --duration "$seconds" --warmup 1 2>&1 | tr '\r' '\n' |
      grep -A1 'clients  *aggr/s'
    kill $agg
    wait $agg 2> /dev/null || true
  done
done
