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
bins=("$@")
# shellcheck source=bench/load-common.sh
source bench/load-common.sh "${DELAY_MS:-100}"
for round in $(seq "$rounds"); do
  for bin in "${bins[@]}"; do
    start_aggregator "$bin"
    echo "round $round  $bin"
    load_aggregator --clients "${CLIENTS:-200}" --duration "$seconds" --warmup 1
    kill $agg
    wait $agg 2> /dev/null || true
  done
done
