#!/usr/bin/env bash
# The call-stage benchmarks of issue 13 (bench/RESULTS.md): each route of bench/stages-config.json
# under aggregator-bench load, with what /metrics counted meanwhile. Starts the bundled upstream
# (127.0.0.1:9008) and the aggregator (8080, admin 8081) from BUILD (default: build).
#   bench/stages-bench.sh [ROUTE[:CLIENTS[:SECONDS]] ...]   (default: every route, 50 clients, 10 s)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
routes=("$@")
[ ${#routes[@]} -gt 0 ] || routes=(plain hedge_off hedge_on hedge_two hedge_p95 retry_off retry_on down_plain down_retry
                                  breaker coalesce:200 nocoalesce:200 cache)
"$build/upstream/upstream" --listen 127.0.0.1:9008 > /dev/null 2>&1 &
up=$!
"$build/aggregator/aggregator" --config bench/stages-config.json &
agg=$!
trap 'kill $agg $up 2> /dev/null || true' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:8080/health && break; sleep 0.1; done
metrics() { curl -s http://127.0.0.1:8081/metrics | grep -v '^#' | grep -v '_bucket'; }
cpu() { awk '{print $14 + $15}' "/proc/$agg/stat"; }  # clock ticks (1/100 s)
for spec in "${routes[@]}"; do
  IFS=: read -r route clients seconds <<< "$spec"
  clients=${clients:-50}
  seconds=${seconds:-10}
  echo "== $route, $clients clients, $seconds s"
  before=$(metrics)
  cpu0=$(cpu)
  "$build/bench/aggregator-bench" load --target "http://127.0.0.1:8080/api/$route" --pid "$agg" \
    --clients "$clients" --duration "$seconds" 2> /dev/null | tail -2 || true  # non-zero when calls failed
  cpu1=$(cpu)
  after=$(metrics)
  python3 - "$route" "$((cpu1 - cpu0))" <<PY
import sys
route, ticks = sys.argv[1], int(sys.argv[2])
def parse(text):
    out = {}
    for line in text.splitlines():
        key, _, value = line.rpartition(' ')
        out[key] = float(value)
    return out
a, b = parse("""$before"""), parse("""$after""")
answered = sum(v - a.get(k, 0) for k, v in b.items() if k.startswith(f'aggregator_requests_total{{route="{route}"'))
if answered:
    print(f"  CPU per aggregation, answered or not: {ticks * 10 / answered:.3f} ms ({answered:.0f} aggregations)")
for k in sorted(b):
    d = b[k] - a.get(k, 0)
    if d and (f'route="{route}"' in k or k.startswith(('aggregator_origin_calls_total', 'aggregator_upstream_calls_total',
                                                       'aggregator_upstream_breaker'))):
        print(f"  {k} +{d:g}")
PY
done
