#!/usr/bin/env bash
# CPU per aggregation when the upstream answers large bodies, per client.receive_buffer_bytes
# (issue 29): the bundled upstream at 0 ms answers SIZE bytes (fault=oversized), ten calls per
# aggregation, wrk with 20 connections for 4 s per run; the aggregator's utime + stime over the
# run / aggregations answered. ROUNDS rounds, the sizes alternating.
#   [BIN=aggregator] bench/receive-buffer-bench.sh [SIZE] [ROUNDS] [BUFFER_SIZES...]   (default: 65536 2 1024 4096 16384)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-65536}
rounds=${2:-2}
shift $(($# < 2 ? $# : 2))
buffers=("$@")
[ ${#buffers[@]} -gt 0 ] || buffers=(1024 4096 16384)
bin=${BIN:-build/aggregator/aggregator}
dir=$(mktemp -d)
up= agg=
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT
build/upstream/upstream --listen 127.0.0.1:19640 --delay-ms 0 > /dev/null 2>&1 &
up=$!
hz=$(getconf CLK_TCK)
for round in $(seq "$rounds"); do
  for buffer in "${buffers[@]}"; do
    cat > "$dir/config.json" << JSON
{"server": {"listen": "127.0.0.1:19641", "admin_listen": "127.0.0.1:0"}, "log": {"level": "error"},
 "client": {"receive_buffer_bytes": $buffer},
 "routes": [{"name": "big", "path": "/api/big", "num": {"default": 10, "max": 10}, "max_body_bytes": 16777216,
             "upstreams": [{"url": "http://127.0.0.1:19640/api/?task_id={i}&fault=oversized&size=$size", "repeat": true}]}]}
JSON
    "$bin" --config "$dir/config.json" > /dev/null 2>&1 &
    agg=$!
    for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:19641/health && break; sleep 0.05; done
    [ "$(curl -s http://127.0.0.1:19641/api/big | grep -o '"succeeded":[0-9]*')" = '"succeeded":10' ]
    before=$(awk '{print $14 + $15}' /proc/$agg/stat)
    requests=$(wrk -t1 -c20 -d4s http://127.0.0.1:19641/api/big | awk '/requests in/ {print $1}')
    after=$(awk '{print $14 + $15}' /proc/$agg/stat)
    awk -v r="$round" -v b="$buffer" -v s="$size" -v n="$requests" -v t=$((after - before)) -v hz="$hz" \
      'BEGIN { printf "round %d  receive_buffer_bytes %6d  body %d  %6d aggregations  %.3f ms CPU/aggr\n", r, b, s, n, t / hz / n * 1e3 }'
    kill $agg
    wait $agg 2> /dev/null || true
  done
done
