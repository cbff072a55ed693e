# shellcheck shell=bash
# Sourced by the scripts that load one aggregator at a time with aggregator-bench (rss-after-load.sh,
# latency-ab.sh), with the upstream delay in ms as its argument: raises the descriptor limit, makes
# `$dir` (removed at exit, with the processes `$agg` and `$up`), starts the bundled upstream on
# 127.0.0.1:19630 and writes `$dir/config.json`: `GET /api/agg` of ten calls to it, room for
# 1000 clients x 10 calls. Then:
#   start_aggregator BINARY          on 127.0.0.1:19631 (admin 19632); sets `$agg` once it answers
#   load_aggregator LOAD_OPTIONS...  aggregator-bench load of it (--num 10): the result's header and row
ulimit -n "$(ulimit -Hn)"
dir=$(mktemp -d)
up='' agg=''
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT
build/upstream/upstream --listen 127.0.0.1:19630 --delay-ms "$1" > /dev/null 2>&1 &
up=$!
cat > "$dir/config.json" << JSON
{"server": {"max_aggregations": 4000, "max_connections": 8000}, "client": {"max_connections": 12000},
 "routes": [{"name": "agg", "path": "/api/agg", "num": {"default": 10, "max": 10},
             "upstreams": [{"url": "http://127.0.0.1:19630/api/?task_id={i}", "repeat": true}]}]}
JSON

start_aggregator() {
  "$1" --config "$dir/config.json" --listen 127.0.0.1:19631 --admin-listen 127.0.0.1:19632 --log-level warn \
    > "$dir/agg.log" 2>&1 &
  agg=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:19631/health && break; sleep 0.05; done
}

load_aggregator() {
  build/bench/aggregator-bench load --target http://127.0.0.1:19631/api/agg --pid "$agg" --num 10 "$@" 2>&1 |
    tr '\r' '\n' | grep -A1 'clients  *aggr/s'
}
