#!/usr/bin/env bash
# What a rate limit shared through Redis costs (issue 27), same run, two aggregators side by side:
# `local` limits on its own, `shared` has store.redis_url and asks Redis for every decision (one
# EVALSHA). One route, one upstream call, a limit high enough to admit everything.
#
#   bench/redis-bench.sh [SECONDS] [ROUNDS]             one core: latency and CPU per request
#   bench/redis-bench.sh --capacity [SECONDS] [ROUNDS]  1000 clients x 1 s upstream, three replicas
#                                                      behind nginx, with and without Redis
#   bench/redis-bench.sh --cache [N] [ROUNDS]          cache.shared: N distinct calls on replica A
#                                                      (misses), then on B (shared hits), then on B
#                                                      again (local hits); latency of each, one
#                                                      connection, and B's CPU per request
#   bench/redis-bench.sh --coalesce [SECONDS] [ROUNDS] two replicas, wrk on both at once, every
#                                                      request the same call (upstream DELAY ms,
#                                                      200): upstream calls made with coalesce
#                                                      per replica vs across_replicas
#
# One core: each aggregator runs one event loop pinned to CPU 0 (one at a time); the upstream
# (0 ms), redis-server and wrk (1 thread, 32 connections) share CPU 1. Per run: requests/s, p50 and
# p99 (wrk --latency), the aggregator's CPU per request from /proc, and Redis commands per request
# (INFO's total_commands_processed over the run).
# Capacity: three replicas (one loop each) behind nginx round robin, upstream delay 1000 ms, wrk
# with 1000 connections; p50/p99, errors and non-2xx, with Redis (shared limit) and without.
set -euo pipefail
cd "$(dirname "$0")/.."
capacity=0
cache=0
coalesce=0
if [ "${1:-}" = "--capacity" ]; then
  capacity=1
  shift
elif [ "${1:-}" = "--coalesce" ]; then
  coalesce=1
  shift
elif [ "${1:-}" = "--cache" ]; then
  cache=1
  shift
fi
seconds=${1:-10}
conns=${CONNS:-32}  # wrk connections in the one-core runs (CONNS=1: the latency a decision adds alone)
rounds=${2:-3}
bin=build/aggregator/aggregator
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true; rm -rf "$dir"' EXIT

redis_port=19401
up_port=19408
redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --loglevel warning > "$dir/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
taskset -p -c 1 $redis_pid > /dev/null
delay=0
[ $capacity = 1 ] && delay=1000
taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms $delay > /dev/null 2>&1 &
pids+=($!)

config() {  # name, port, store (true/false), loops
  local store=""
  [ "$3" = true ] && store="\"store\": {\"redis_url\": \"redis://127.0.0.1:$redis_port/0\"},"
  cat > "$dir/$1.json" << JSON
{
  "server": {"listen": "127.0.0.1:$2", "admin_listen": "127.0.0.1:0", "max_connections": 20000},
  "client": {"loops": $4},
  "log": {"level": "warn"},
  $store
  "routes": [
    {"name": "limited", "path": "/api/limited",
     "rate_limit": {"key": "client", "requests_per_s": 1000000, "burst": 1000000},
     "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id=1&delay_ms=$delay"}]}
  ]
}
JSON
}
wait_up() { for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$1/api/limited" && return; sleep 0.1; done; exit 1; }
commands() { redis-cli -p $redis_port info stats | awk -F: '/total_commands_processed/ {print $2+0}'; }
hz=$(getconf CLK_TCK)

if [ $cache = 1 ]; then
  n=${1:-2000}
  for name in a:19460 b:19461; do
    cat > "$dir/${name%:*}.json" << JSON
{
  "server": {"listen": "127.0.0.1:${name#*:}", "admin_listen": "127.0.0.1:0"},
  "client": {"loops": 1}, "log": {"level": "warn"},
  "store": {"redis_url": "redis://127.0.0.1:$redis_port/0"},
  "routes": [{"name": "kept", "path": "/api/kept", "params": {"q": {"default": "0", "max_length": 16}},
              "cache": {"ttl_ms": 600000, "shared": true},
              "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id={q}&delay_ms=0"}]}]
}
JSON
    taskset -c 0 "$bin" --config "$dir/${name%:*}.json" > "$dir/${name%:*}.log" 2>&1 &
    pids+=($!)
  done
  b_pid=$!
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:19461/health" && curl -sf -o /dev/null "http://127.0.0.1:19460/health" && break; sleep 0.1; done
  pass() {  # label, port, first q
    local urls=() before after
    for q in $(seq "$3" $(($3 + n - 1))); do urls+=("http://127.0.0.1:$2/api/kept?q=$q"); done
    before=$(awk '{print $14 + $15}' /proc/$b_pid/stat)
    # One curl, one connection: each answer's body, then its time on a line of its own.
    taskset -c 1 curl -s -w '\n%{time_total}\n' "${urls[@]}" | grep -E '^[0-9]+\.[0-9]+$' | sort -n | awk -v name="$1" \
      '{ t[NR] = $1 } END { printf "%-26s p50 %6.0f us  p99 %6.0f us", name, t[int(NR * 0.5)] * 1e6, t[int(NR * 0.99)] * 1e6 }'
    after=$(awk '{print $14 + $15}' /proc/$b_pid/stat)
    if [ "$2" = 19461 ]; then
      awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "  B: %6.1f us CPU/req\n", t / hz / n * 1e6 }'
    else
      echo
    fi
  }
  echo "A and B (one loop each) on CPU 0, curl (one connection, $n calls in a row), upstream (0 ms) and redis-server on CPU 1"
  for round in $(seq "$rounds"); do
    first=$((round * 1000000))
    pass "A: miss (upstream call)" 19460 $first
    pass "B: shared hit (Redis)" 19461 $first
    pass "B: local hit" 19461 $first
  done
  exit 0
fi

if [ $coalesce = 1 ]; then
  delay=${DELAY:-200}
  for name in a:19470 b:19471; do
    cat > "$dir/${name%:*}.json" << JSON
{
  "server": {"listen": "127.0.0.1:${name#*:}", "admin_listen": "127.0.0.1:0", "max_connections": 20000},
  "client": {"loops": 1}, "log": {"level": "warn"},
  "store": {"redis_url": "redis://127.0.0.1:$redis_port/0"},
  "routes": [{"name": "here", "path": "/api/here", "coalesce": true,
              "params": {"r": {"default": "0", "max_length": 16}},
              "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id=1&delay_ms=$delay&key=here{r}"}]},
             {"name": "across", "path": "/api/across", "coalesce": {"across_replicas": true},
              "params": {"r": {"default": "0", "max_length": 16}},
              "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id=1&delay_ms=$delay&key=across{r}"}]}]
}
JSON
    taskset -c 0 "$bin" --config "$dir/${name%:*}.json" > "$dir/${name%:*}.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:19470/health" && curl -sf -o /dev/null "http://127.0.0.1:19471/health" && break; sleep 0.1; done
  coalesce_run() {  # route, round
    local c0 c1 calls
    c0=$(commands)
    taskset -c 1 wrk -t1 -c50 -d"${seconds}s" --latency "http://127.0.0.1:19470/api/$1?r=$2" > "$dir/wrk-a" &
    taskset -c 1 wrk -t1 -c50 -d"${seconds}s" --latency "http://127.0.0.1:19471/api/$1?r=$2" > "$dir/wrk-b"
    wait %%
    c1=$(commands)
    calls=$(curl -s "http://127.0.0.1:$up_port/calls?key=$1$2" | grep -oE '[0-9]+' | tail -1)
    cat "$dir/wrk-a" "$dir/wrk-b" | awk -v name="$1" -v calls="$calls" -v ops=$((c1 - c0 - 1)) -v s="$seconds" '
      / 50%/ {p50 = p50 " " $2} / 99%/ {p99 = p99 " " $2} /requests in/ {n += $1} /Non-2xx/ {bad += $NF}
      END { printf "%-7s %6d requests  %5d upstream calls (%5.1f/s)  p50%s  p99%s  non-2xx %d  %5.2f Redis commands/req\n",
                   name, n, calls, calls / s, p50, p99, bad, ops / n }'
  }
  echo "A and B (one loop each) on CPU 0; wrk (1 thread, 50 conns) on each at once, upstream (${delay} ms), redis-server on CPU 1; ${seconds} s"
  for round in $(seq "$rounds"); do
    coalesce_run here "$round"
    coalesce_run across "$round"
  done
  exit 0
fi

if [ $capacity = 0 ]; then
  config local 19400 false 1
  config shared 19410 true 1
  taskset -c 0 "$bin" --config "$dir/local.json" > "$dir/local.log" 2>&1 &
  pids+=($!)
  local_pid=$!
  taskset -c 0 "$bin" --config "$dir/shared.json" > "$dir/shared.log" 2>&1 &
  pids+=($!)
  shared_pid=$!
  wait_up 19400
  wait_up 19410
  run() {  # name, port, pid
    local before after out c0 c1
    c0=$(commands)
    before=$(awk '{print $14 + $15}' /proc/$3/stat)
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$2/api/limited")
    after=$(awk '{print $14 + $15}' /proc/$3/stat)
    c1=$(commands)
    if echo "$out" | grep -q 'Non-2xx'; then echo "$1: non-2xx answers" >&2; exit 1; fi
    echo "$out" | awk -v name="$1" -v t=$((after - before)) -v hz="$hz" -v ops=$((c1 - c0 - 1)) '
      / 50%/ {p50 = $2} / 99%/ {p99 = $2} /Requests\/sec/ {rps = $2} /requests in/ {n = $1}
      END { printf "%-7s %8.0f req/s  p50 %8s  p99 %8s  %6.1f us CPU/req  %5.2f Redis commands/req\n",
                   name, rps, p50, p99, t / hz / n * 1e6, ops / n }'
  }
  echo "one loop on CPU 0 (one aggregator at a time); upstream (0 ms), redis-server, wrk (1 thread, $conns conns) on CPU 1; ${seconds} s per run"
  for _ in $(seq "$rounds"); do
    run local 19400 $local_pid
    run shared 19410 $shared_pid
  done
  exit 0
fi

# Capacity: three replicas behind nginx, with a store and without.
cat > "$dir/nginx.conf" << CONF
daemon off; master_process off; worker_processes 1; pid $dir/nginx.pid; error_log $dir/nginx.err warn;
events { worker_connections 8192; }
http { access_log off; client_body_temp_path $dir/b; proxy_temp_path $dir/p; fastcgi_temp_path $dir/f;
  uwsgi_temp_path $dir/u; scgi_temp_path $dir/s;
  upstream local { server 127.0.0.1:19420; server 127.0.0.1:19421; server 127.0.0.1:19422; keepalive 512; }
  upstream shared { server 127.0.0.1:19430; server 127.0.0.1:19431; server 127.0.0.1:19432; keepalive 512; }
  server { listen 127.0.0.1:19450;
    location / { proxy_pass http://local; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:19451;
    location / { proxy_pass http://shared; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
ulimit -n 20000
for i in 0 1 2; do
  config "local$i" $((19420 + i)) false 1
  config "shared$i" $((19430 + i)) true 1
  "$bin" --config "$dir/local$i.json" > "$dir/local$i.log" 2>&1 &
  pids+=($!)
  "$bin" --config "$dir/shared$i.json" > "$dir/shared$i.log" 2>&1 &
  pids+=($!)
done
nginx -p "$dir" -c "$dir/nginx.conf" &
pids+=($!)
for i in 0 1 2; do wait_up $((19420 + i)); wait_up $((19430 + i)); done
capacity_run() {  # name, port
  local out c0 c1
  c0=$(commands)
  out=$(wrk -t2 -c1000 -d"${seconds}s" --timeout 10s --latency "http://127.0.0.1:$2/api/limited")
  c1=$(commands)
  echo "$out" | awk -v name="$1" -v ops=$((c1 - c0 - 1)) '
    / 50%/ {p50 = $2} / 99%/ {p99 = $2} /Requests\/sec/ {rps = $2} /requests in/ {n = $1}
    /Socket errors/ {errors = $0} /Non-2xx/ {non2xx = $NF}
    END { printf "%-7s %7.0f req/s  p50 %8s  p99 %8s  non-2xx %s  %s  %4.2f Redis commands/req\n",
                 name, rps, p50, p99, non2xx + 0, errors == "" ? "no socket errors" : errors, ops / n }'
}
echo "three replicas (one loop each) behind nginx; upstream 1000 ms; wrk 2 threads, 1000 connections, ${seconds} s"
for _ in $(seq "$rounds"); do
  capacity_run local 19450
  capacity_run shared 19451
done
