#!/usr/bin/env bash
# Resident memory of the aggregator (issue 29): idle, at the peak of 1000 clients x 10 calls x 1 s
# for 12 s (aggregator-bench load), and 1 s, 6 s and 40 s after the load ends.
#   bench/rss-after-load.sh [AGGREGATOR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/load-common.sh
source bench/load-common.sh 1000
start_aggregator "${1:-build/aggregator/aggregator}"
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$agg/status"; }
echo "idle: $(rss)"
load_aggregator --clients 1000 --duration 12
echo "peak: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$agg/status")"
sleep 1
echo "1 s after: $(rss)"
sleep 5
echo "6 s after: $(rss)"
sleep 34
echo "40 s after: $(rss)"
