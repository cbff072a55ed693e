#!/usr/bin/env bash
# Upstream connections opened by requests made one after another (issue 29): the bundled upstream
# (0 ms) and the aggregator on the default client settings (2 loops x 64 shards); 100 requests over
# one kept-alive client connection, to a route of one call and to one of ten calls at once; then the
# aggregator's connection counters from /metrics, and the sockets the upstream holds open.
#   bench/pool-bench.sh [AGGREGATOR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/aggregator/aggregator}
dir=$(mktemp -d)
up= agg=
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT
up_port=19620 port=19621 admin_port=19622
build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
cat > "$dir/config.json" << JSON
{"routes": [
  {"name": "one", "path": "/api/one", "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id=1"}]},
  {"name": "ten", "path": "/api/ten", "num": {"default": 10, "max": 10},
   "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id={i}", "repeat": true}]}]}
JSON
for route in one ten; do
  "$bin" --config "$dir/config.json" --listen 127.0.0.1:$port --admin-listen 127.0.0.1:$admin_port \
    --log-level warn > /dev/null 2>&1 &
  agg=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:$port/health && break; sleep 0.05; done
  urls=()
  for _ in $(seq 100); do urls+=("http://127.0.0.1:$port/api/$route"); done
  curl -s "${urls[@]}" > /dev/null
  opened=$(curl -s http://127.0.0.1:$admin_port/metrics | awk '/^aggregator_upstream_connections_opened_total/ {print $2}')
  reused=$(curl -s http://127.0.0.1:$admin_port/metrics | awk '/^aggregator_upstream_connections_reused_total/ {print $2}')
  sockets=$(find /proc/$up/fd -lname 'socket:*' | wc -l)
  echo "/api/$route x100, one after another: $opened connections opened, $reused reused; the upstream holds $sockets sockets"
  kill $agg && wait $agg 2> /dev/null || true
done
