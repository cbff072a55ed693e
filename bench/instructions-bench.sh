#!/usr/bin/env bash
# Instructions per aggregation, and where they go by library (issue 29's A/B without this VM's
# ±20 % timing noise): each BINARY runs one event loop under callgrind against the bundled
# upstream at 0 ms, `GET /api/agg?num=10` (ten calls); wrk (1 thread, 8 connections) for SECONDS
# after a warm-up with the counters zeroed; instructions / aggregations answered, ROUNDS times.
#   bench/instructions-bench.sh [SECONDS] [ROUNDS] [BINARY...]   (default: 8 2 build/aggregator/aggregator)
set -euo pipefail
cd "$(dirname "$0")/.."
listen_port=19400 up_port=19408 DEFAULT_ROUNDS=2
# shellcheck source=bench/ab-common.sh
source bench/ab-common.sh "$@"
build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
for round in $(seq "$rounds"); do
  for bin in "${bins[@]}"; do
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$bin" --config "$dir/config.json" > "$dir/agg.log" 2>&1 &
    agg=$!
    for _ in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:$listen_port/health && break; sleep 0.1; done
    wrk -t1 -c8 -d2s http://127.0.0.1:$listen_port/api/agg > /dev/null  # warm-up: pools, caches, handles
    callgrind_control -z $agg > /dev/null 2>&1
    out=$(wrk -t1 -c8 -d"${seconds}s" http://127.0.0.1:$listen_port/api/agg)
    rm -f "$dir"/cg.$agg.*
    callgrind_control -d $agg > /dev/null 2>&1
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    [ -n "${KEEP:-}" ] && cp "$dir"/cg.$agg.* "$KEEP"
    if echo "$out" | grep -q 'Non-2xx'; then echo "$bin: non-2xx answers" >&2; exit 1; fi
    # Self instructions by object: callgrind_annotate names each function's object in brackets. The
    # loop thread's entry frames, still running at the dump, are listed with the whole count: skipped.
    callgrind_annotate --inclusive=no --auto=no --threshold=100 "$dir"/cg.$agg.* 2> /dev/null |
      awk -v n="$requests" -v bin="$bin" -v round="$round" '
        /PROGRAM TOTALS/ { totaltext = $1; gsub(",", "", $1); total = $1 }
        /\[.*\]$/ && $1 != totaltext { ir = $1; gsub(",", "", ir); obj = $NF; gsub(/.*\/|\]/, "", obj); sub(/\.so.*/, "", obj); by[obj] += ir }
        END {
          printf "round %d  %-40s %8.0f instructions/aggr (%d aggregations):", round, bin, total / n, n
          for (o in by) if (by[o] / total >= 0.01) printf "  %s %.1f%%", o, 100 * by[o] / total
          printf "\n" }'
    kill $agg; wait $agg 2> /dev/null || true
  done
done
