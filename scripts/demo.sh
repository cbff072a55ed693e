#!/usr/bin/env bash
# The demo: builds, starts the bundled upstream (1 s per call, 127.0.0.1:9008) and the aggregator on
# its embedded default config (127.0.0.1:8080), shows the async endpoint against the sync baseline
# for ten upstream calls (about 1 s versus 10 s), then keeps both running until Ctrl-C.
#   --once   stop both after the comparison (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
[ "${1:-}" = "--once" ] && once=true

echo "== building (first time: a few minutes)"
./scripts/build.sh > build.log 2>&1 || { tail -40 build.log; exit 1; }
rm -f build.log

pids=()
stop_all() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true; }
trap stop_all EXIT
trap 'exit 130' INT TERM

./build/upstream/upstream --listen 127.0.0.1:9008 --delay-ms 1000 &
pids+=($!)
./build/aggregator/aggregator --log-level warn &  # access lines would interleave with the comparison
pids+=($!)

for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:8080/health 2> /dev/null && curl -fsS -o /dev/null http://127.0.0.1:9008/health 2> /dev/null && break
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2> /dev/null || { echo "demo: a service exited (is port 8080 or 9008 in use?)" >&2; exit 1; }
  done
  sleep 0.1
done

body=$(mktemp)
show() {  # mode path
  local meta
  meta=$(curl -sS -o "$body" -w '%{http_code} %{time_total}' "http://127.0.0.1:8080$2")
  printf '%-5s  GET %-30s  HTTP %s  %6.2f s  %2d bodies  %s\n' "$1" "$2" "${meta% *}" "${meta#* }" \
    "$(grep -o '"task_id"' "$body" | wc -l)" "$(grep -o '"debug_message":"[^"]*"' "$body" | cut -d'"' -f4)"
}
echo "== ten upstream calls of 1 s each, through the aggregator"
show async "/api/aggregated?num=10"
show sync "/api/aggregated_sync?num=10"
rm -f "$body"
echo
echo "== one async response, three calls:  curl 'http://127.0.0.1:8080/api/aggregated?num=3'"
curl -sS "http://127.0.0.1:8080/api/aggregated?num=3"
echo

$once && exit 0
echo
echo "Both services keep running; try:  curl 'http://127.0.0.1:8080/api/aggregated?num=10'"
echo "or open http://127.0.0.1:8080/ui to see the calls drawn as they arrive, async against sync."
echo "Ctrl-C stops them."
wait
