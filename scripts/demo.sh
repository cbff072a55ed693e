#!/usr/bin/env bash
# The demo: builds (or, built before, lets ninja bring the binaries up to date), starts the bundled upstream
# (1 s per call) and the aggregator on its embedded default config, shows the async endpoint against
# the sync baseline for ten upstream calls (about 1 s versus 10 s), then keeps both running until
# Ctrl-C.
#   --once                 stop both after the comparison (what CI runs)
#   --port N               the aggregator's data plane (default 8080; or AGGREGATOR_PORT)
#   --admin-port N         its control plane (default 8081; or AGGREGATOR_ADMIN_PORT)
#   --upstream-port N      the bundled upstream (default 9008; or UPSTREAM_PORT)
#   --build / --no-build   always run the whole build script / never build (default: the build
#                          script the first time, then ninja, which rebuilds only what changed)
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
build=auto
port=${AGGREGATOR_PORT:-8080}
admin_port=${AGGREGATOR_ADMIN_PORT:-8081}
upstream_port=${UPSTREAM_PORT:-9008}
while [ $# -gt 0 ]; do
  case "$1" in
    --once) once=true ;;
    --build) build=yes ;;
    --no-build) build=no ;;
    --port) port=${2:?--port needs a number}; shift ;;
    --admin-port) admin_port=${2:?--admin-port needs a number}; shift ;;
    --upstream-port) upstream_port=${2:?--upstream-port needs a number}; shift ;;
    *) echo "demo: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
  shift
done
for p in "$port" "$admin_port" "$upstream_port"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || { echo "demo: $p is no port (1-65535)" >&2; exit 2; }
done

binaries=(build/aggregator/aggregator build/upstream/upstream)
if [ "$build" = no ]; then
  [ -x "${binaries[0]}" ] && [ -x "${binaries[1]}" ] || { echo "demo: --no-build, but the binaries are missing" >&2; exit 1; }
elif [ "$build" = auto ] && [ -f build/build.ninja ] && command -v ninja > /dev/null; then
  # Built before: ninja rebuilds only what changed (nothing, in a second or two, when it is current).
  echo "== bringing the binaries up to date (ninja; --build runs the whole build script)"
  ninja -C build aggregator upstream > build.log 2>&1 || { tail -40 build.log; exit 1; }
  rm -f build.log
else
  echo "== building (first time: a few minutes)"
  ./scripts/build.sh > build.log 2>&1 || { tail -40 build.log; exit 1; }
  rm -f build.log
fi

pids=()
config=""
stop_all() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null || true
  [ -z "$config" ] || rm -f "$config"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# The embedded default calls 127.0.0.1:9008; another upstream port takes a copy of it that says so.
config_args=()
if [ "$upstream_port" != 9008 ]; then
  config=$(mktemp --suffix=.json)
  sed "s/127\.0\.0\.1:9008/127.0.0.1:$upstream_port/g" configs/default.json > "$config"
  config_args=(--config "$config")
fi
./build/upstream/upstream --listen "127.0.0.1:$upstream_port" --delay-ms 1000 &
pids+=($!)
# --log-level warn: access lines would interleave with the comparison
./build/aggregator/aggregator "${config_args[@]}" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" \
  --log-level warn &
pids+=($!)

for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2> /dev/null &&
    curl -fsS -o /dev/null "http://127.0.0.1:$upstream_port/health" 2> /dev/null && break
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2> /dev/null || {
      echo "demo: a service exited (is port $port, $admin_port or $upstream_port in use? --port, --admin-port and" \
        "--upstream-port choose others)" >&2
      exit 1
    }
  done
  sleep 0.1
done

body=$(mktemp)
show() {  # mode path
  local meta
  meta=$(curl -sS -o "$body" -w '%{http_code} %{time_total}' "http://127.0.0.1:$port$2")
  printf '%-5s  GET %-30s  HTTP %s  %6.2f s  %2d bodies  %s\n' "$1" "$2" "${meta% *}" "${meta#* }" \
    "$(grep -o '"task_id"' "$body" | wc -l)" "$(grep -o '"debug_message":"[^"]*"' "$body" | cut -d'"' -f4)"
}
echo "== ten upstream calls of 1 s each, through the aggregator"
show async "/api/aggregated?num=10"
show sync "/api/aggregated_sync?num=10"
rm -f "$body"
echo
echo "== one async response, three calls:  curl 'http://127.0.0.1:$port/api/aggregated?num=3'"
curl -sS "http://127.0.0.1:$port/api/aggregated?num=3"
echo

$once && exit 0
echo
echo "Both services keep running; try:  curl 'http://127.0.0.1:$port/api/aggregated?num=10'"
echo "or open http://127.0.0.1:$port/ui to see the calls drawn as they arrive, async against sync."
echo "Ctrl-C stops them."
wait
