#!/usr/bin/env bash
# Times K calls of the async and the sync endpoint of a running aggregator and prints each median:
#   scripts/time-endpoints.sh [NUM=10] [K=10] [BASE=http://127.0.0.1:8080]
set -euo pipefail
num=${1:-10}
runs=${2:-10}
base=${3:-http://127.0.0.1:8080}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for path in "/api/aggregated?num=$num" "/api/aggregated_sync?num=$num"; do
  times=$(for _ in $(seq "$runs"); do curl -fsS -o /dev/null -w '%{time_total}\n' "$base$path"; done)
  printf '%-32s runs=%s  median=%.4f s  min=%.4f s  max=%.4f s\n' "$path" "$runs" \
    "$(median <<< "$times")" "$(sort -n <<< "$times" | head -1)" "$(sort -n <<< "$times" | tail -1)"
done
