#!/usr/bin/env bash
# What OpenTelemetry export costs (issue 28's figures). The aggregator runs one event loop pinned to
# CPU 0; the bundled upstream (0 ms), wrk and the collector share CPU 1. A route of 10 calls, under
# wrk (1 thread, 32 connections) for SECONDS per run, ROUNDS rounds; each run starts the aggregator
# with one `telemetry` setting:
#   off       no telemetry section
#   ratio0    sample_ratio 0 (spans of no trace started here are recorded)
#   ratio1    sample_ratio 1, to a collector that takes every export at once (nginx: 200 to each POST)
#   stalled   sample_ratio 1, to a collector that accepts connections and never answers
#   absent    sample_ratio 1, to a port nobody listens on
# Per run: aggregations/s, the aggregator's CPU per aggregation from /proc (utime + stime over the
# run / requests answered), wrk's p50 and p99, the aggregator's peak RSS, and the spans the service
# counted (/metrics).
# PERF_OUT=FILE records each run with perf (FILE.<mode>) for `perf report`. With --callgrind the
# aggregator runs under callgrind and each run reports instructions per aggregation too (counters
# zeroed before, dumped after): this VM's timings move ±20 % from run to run, instruction counts do not.
#   bench/telemetry-bench.sh [--callgrind] [SECONDS] [ROUNDS] [MODES...]
set -euo pipefail
cd "$(dirname "$0")/.."
callgrind=0
if [ "${1:-}" = "--callgrind" ]; then
  callgrind=1
  shift
fi
seconds=${1:-10}
rounds=${2:-2}
shift 2 2> /dev/null || shift $#
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(off ratio0 ratio1 stalled absent)
bin=build/aggregator/aggregator
dir=$(mktemp -d)
agg=""
trap 'kill $agg $up $sink $stall 2> /dev/null || true; rm -rf "$dir"' EXIT

up_port=19408
sink_port=19418
stall_port=19428
absent_port=19438
port=19400
admin=19401

taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
mkdir -p "$dir/nginx/logs"
cat > "$dir/nginx/nginx.conf" << CONF
worker_processes 1;
error_log $dir/nginx/logs/error.log;
pid $dir/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_buffer_size 4m;
  client_max_body_size 64m;
  server { listen 127.0.0.1:$sink_port; location = /v1/traces { return 200 '{}'; } }
}
CONF
taskset -c 1 nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' > /dev/null 2>&1 &
sink=$!
# A collector that hangs: accepts, reads nothing, answers nothing.
taskset -c 1 python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $stall_port)); s.listen(1024)
held = []
while True:
    c, _ = s.accept(); held.append(c)
" &
stall=$!

config() {  # mode
  local telemetry=""
  case $1 in
    off) ;;
    ratio0) telemetry="\"telemetry\": {\"otlp_endpoint\": \"http://127.0.0.1:$sink_port\", \"sample_ratio\": 0}," ;;
    ratio1) telemetry="\"telemetry\": {\"otlp_endpoint\": \"http://127.0.0.1:$sink_port\", \"sample_ratio\": 1}," ;;
    stalled) telemetry="\"telemetry\": {\"otlp_endpoint\": \"http://127.0.0.1:$stall_port\", \"sample_ratio\": 1}," ;;
    absent) telemetry="\"telemetry\": {\"otlp_endpoint\": \"http://127.0.0.1:$absent_port\", \"sample_ratio\": 1}," ;;
  esac
  cat << JSON
{
  "server": {"listen": "127.0.0.1:$port", "admin_listen": "127.0.0.1:$admin"},
  "client": {"loops": 1},
  "log": {"level": "error"},
  $telemetry
  "routes": [{"name": "ten", "path": "/api/ten", "num": {"default": 10, "max": 10},
              "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id={i}&delay_ms=0", "repeat": true}]}]
}
JSON
}

cpu_ticks() { awk '{print $14 + $15}' /proc/$agg/stat; }
hz=$(getconf CLK_TCK)
spans() { curl -s http://127.0.0.1:$admin/metrics | sed -n 's/^aggregator_otlp_spans_total{outcome="\([a-z]*\)"} \([0-9]*\)/\1=\2/p' | tr '\n' ' '; }
run() {  # mode
  local mode=$1 before after out rps requests p50 p99
  config "$mode" > "$dir/config.json"
  if [ $callgrind = 1 ]; then
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$bin" --config "$dir/config.json" \
      > "$dir/agg.log" 2>&1 &
  else
    taskset -c 0 "$bin" --config "$dir/config.json" > "$dir/agg.log" 2>&1 &
  fi
  agg=$!
  for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:$port/health && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c32 -d2s "http://127.0.0.1:$port/api/ten" > /dev/null  # warm up: connections, caches
  [ -z "${PERF_OUT:-}" ] || perf record -q -F 499 -g -o "$PERF_OUT.$mode" -p $agg -- sleep "$seconds" 2> /dev/null &
  [ $callgrind = 0 ] || callgrind_control -z $agg > /dev/null 2>&1
  before=$(cpu_ticks)
  out=$(taskset -c 1 wrk -t1 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$port/api/ten")
  after=$(cpu_ticks)
  local instructions=0
  if [ $callgrind = 1 ]; then
    sleep 1  # the last spans' export (interval 1 s) falls in the counted window
    rm -f "$dir"/cg.$agg.*
    callgrind_control -d $agg > /dev/null 2>&1
    instructions=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dir"/cg.$agg.*)
    [ -z "${CG_OUT:-}" ] || cp "$dir"/cg.$agg.* "$CG_OUT.$mode"
  fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  if echo "$out" | grep -q 'Non-2xx'; then echo "$mode: non-2xx answers" >&2; exit 1; fi
  awk -v m="$mode" -v rps="$rps" -v t=$((after - before)) -v hz="$hz" -v n="$requests" -v p50="$p50" -v p99="$p99" \
    -v s="$(spans)" -v ir="$instructions" -v rss="$(awk '/VmHWM/ {print $2}' /proc/$agg/status)" \
    'BEGIN { printf "%-8s %7.0f aggr/s  %6.1f us CPU/aggr  p50 %-8s p99 %-8s peak RSS %4.0f MB", m, rps, t / hz / n * 1e6, p50, p99, rss / 1024;
      if (ir > 0) printf "  %8.0f instructions/aggr", ir / n; printf "  %s\n", s }'
  kill $agg
  wait $agg 2> /dev/null || true
}
echo "aggregator pinned to CPU 0 (1 loop); upstream, wrk (1 thread, 32 connections) and the collector on CPU 1;"
echo "10 calls per aggregation, 0 ms upstream, ${seconds} s per run"
for _ in $(seq "$rounds"); do
  for mode in "${modes[@]}"; do run "$mode"; done
done
