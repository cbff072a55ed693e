#!/usr/bin/env bash
# CPU per aggregation with less of this VM's scheduling noise (issue 29's A/B in time, beside
# bench/instructions-bench.sh's counts): each BINARY runs one event loop pinned to CPU 0, the
# bundled upstream (0 ms) and wrk (1 thread, 50 connections, `GET /api/agg`, ten calls) share
# CPU 1; after a 2 s warm-up, the aggregator's CPU time (utime + stime) over SECONDS ÷ the
# aggregations answered. Binaries alternate within each of ROUNDS.
#   bench/pinned-cpu-bench.sh [SECONDS] [ROUNDS] [BINARY...]   (default: 8 4 build/aggregator/aggregator)
set -euo pipefail
cd "$(dirname "$0")/.."
listen_port=19410 up_port=19418 DEFAULT_ROUNDS=4
# shellcheck source=bench/ab-common.sh
source bench/ab-common.sh "$@"
taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$rounds"); do
  for bin in "${bins[@]}"; do
    taskset -c 0 "$bin" --config "$dir/config.json" > "$dir/agg.log" 2>&1 &
    agg=$!
    for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:$listen_port/health && break; sleep 0.1; done
    taskset -c 1 wrk -t1 -c50 -d2s http://127.0.0.1:$listen_port/api/agg > /dev/null  # warm-up
    before=$(ticks $agg)
    out=$(taskset -c 1 wrk -t1 -c50 -d"${seconds}s" http://127.0.0.1:$listen_port/api/agg)
    after=$(ticks $agg)
    if echo "$out" | grep -q 'Non-2xx'; then echo "$bin: non-2xx answers" >&2; exit 1; fi
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    awk -v r="$round" -v b="$bin" -v n="$requests" -v t=$((after - before)) -v hz="$hz" -v s="$seconds" \
      'BEGIN { printf "round %d  %-40s %6.0f aggr/s  %.3f ms CPU/aggr\n", r, b, n / s, t / hz / n * 1e3 }'
    kill $agg; wait $agg 2> /dev/null || true
  done
done
