#!/usr/bin/env bash
# Resident memory of the aggregator (issue 29): idle, at the peak of 1000 clients x 10 calls x 1 s
# for 12 s (aggregator-bench load), and 1 s, 6 s and 40 s after the load ends.
#   bench/rss-after-load.sh [AGGREGATOR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/aggregator/aggregator}
dir=$(mktemp -d)
up= agg=
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT
ulimit -n "$(ulimit -Hn)"
build/upstream/upstream --listen 127.0.0.1:19630 --delay-ms 1000 > /dev/null 2>&1 &
up=$!
cat > "$dir/config.json" << JSON
{"server": {"max_aggregations": 4000, "max_connections": 8000}, "client": {"max_connections": 12000},
 "routes": [{"name": "agg", "path": "/api/agg", "num": {"default": 10, "max": 10},
             "upstreams": [{"url": "http://127.0.0.1:19630/api/?task_id={i}", "repeat": true}]}]}
JSON
"$bin" --config "$dir/config.json" --listen 127.0.0.1:19631 --admin-listen 127.0.0.1:19632 --log-level warn \
  > "$dir/agg.log" 2>&1 &
agg=$!
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:19631/health && break; sleep 0.05; done
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$agg/status"; }
echo "idle: $(rss)"
build/bench/aggregator-bench load --target http://127.0.0.1:19631/api/agg --pid "$agg" --clients 1000 --num 10 \
  --duration 12 2>&1 | tr '\r' '\n' | grep -A1 'clients  *aggr/s'
echo "peak: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$agg/status")"
sleep 1
echo "1 s after: $(rss)"
sleep 5
echo "6 s after: $(rss)"
sleep 34
echo "40 s after: $(rss)"
