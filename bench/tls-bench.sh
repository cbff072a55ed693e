#!/usr/bin/env bash
# TLS toward clients (issue 26): handshakes per second per core, full and resumed, on our data plane
# beside nginx's in the same run, and requests over kept-alive TLS against cleartext.
# The server under test runs on CPU 0 (our aggregator with one event loop; nginx with one worker),
# the client (openssl s_time, h2load --h1) on CPU 1. Per run: handshakes (or requests) per second,
# and per second of the server's CPU (utime + stime from /proc over the run): the per-core figure.
# Both servers present the same P-256 certificate (tests/support/make_test_certs.sh) at TLS 1.3;
# Each s_time connection asks for /health (nginx serves a static file of that name), so that it reads
# the TLS 1.3 tickets; "-reuse" resumes one session each time (TLS 1.3 ticket, or TLS 1.2).
#   bench/tls-bench.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-2}
bin=build/aggregator/aggregator
agg= ngx= up=
# shellcheck source=bench/h2load-lib.sh
. bench/h2load-lib.sh
trap 'kill $agg $up 2> /dev/null || true; [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2> /dev/null; rm -rf "$dir"' EXIT

tls_port=19410 plain_port=19411 nginx_port=19412 up_port=19413 admin_port=19414
echo '{"status":"ok"}' > "$dir/www/health"  # what nginx answers for /health
write_aggregator_configs $tls_port $plain_port $admin_port $up_port
taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
start_nginx << CONF
  server {
    listen 127.0.0.1:$nginx_port ssl http2;
    ssl_certificate $dir/certs/server.pem;
    ssl_certificate_key $dir/certs/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
  }
CONF
taskset -c 0 "$bin" --config "$dir/tls.json" > "$dir/agg.log" 2>&1 &
agg=$!
wait_for --cacert "$dir/certs/ca.pem" https://127.0.0.1:$tls_port/health
handshakes() {  # name, pid, port, version (-tls1_3 | -tls1_2), mode (-new | -reuse)
  local before after out count start end
  before=$(cpu_ticks "$2")
  start=$(date +%s.%N)
  out=$(taskset -c 1 openssl s_time -connect "127.0.0.1:$3" "$4" "$5" -www /health -time "$seconds" 2>&1 || true)
  end=$(date +%s.%N)
  after=$(cpu_ticks "$2")
  count=$(echo "$out" | awk '/connections in .* real seconds/ {print $1; exit}')
  awk -v n="$1" -v v="$4" -v m="$5" -v c="${count:-0}" -v s="$(echo "$end - $start" | bc)" -v t=$((after - before)) \
    -v hz="$hz" 'BEGIN { cpu = t / hz; printf "%-10s %-7s %-6s %6.0f handshakes/s  %6.0f per CPU-second of the server (%.2f s CPU)\n", n, v, m, c / s, (cpu > 0 ? c / cpu : 0), cpu }'
}
requests() { h2load_row "$1" "$2" --h1 -c 16 "$3"; }  # name, pid, url: kept alive, 16 connections

for round in $(seq "$rounds"); do
  echo "== round $round: a connection per request (openssl s_time -www /health, ${seconds}s each)"
  for mode in "-tls1_3 -new" "-tls1_3 -reuse" "-tls1_2 -reuse"; do
    # shellcheck disable=SC2086  # two words on purpose
    handshakes aggregator $agg $tls_port $mode
    # shellcheck disable=SC2086
    handshakes nginx "$ngx" $nginx_port $mode
  done
done
echo "aggregator's handshakes so far:"
curl -s http://127.0.0.1:19414/metrics | grep '^aggregator_tls_handshakes_total' 
kill $agg && wait $agg 2> /dev/null || true
start_aggregators $tls_port $plain_port
agg=$tls_pid plain=$plain_pid
for round in $(seq "$rounds"); do
  echo "== round $round: kept-alive requests (h2load --h1 -c16, ${seconds}s each)"
  requests "/health cleartext" $plain "http://127.0.0.1:$plain_port/health"
  requests "/health TLS" $agg "https://127.0.0.1:$tls_port/health"
  requests "/api/agg num=10 cleartext" $plain "http://127.0.0.1:$plain_port/api/agg?num=10"
  requests "/api/agg num=10 TLS" $agg "https://127.0.0.1:$tls_port/api/agg?num=10"
  requests "nginx small.json TLS" "$ngx" "https://127.0.0.1:$nginx_port/small.json"
done
kill $plain 2> /dev/null || true
