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
dir=$(mktemp -d)
agg= ngx= up=
trap 'kill $agg $up 2> /dev/null || true; [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2> /dev/null; rm -rf "$dir"' EXIT
tests/support/make_test_certs.sh "$dir/certs"

tls_port=19410 plain_port=19411 nginx_port=19412 up_port=19413 admin_port=19414
mkdir -p "$dir/www"
chmod 755 "$dir"  # nginx's worker reads the file as another user
echo '{"status":"ok"}' > "$dir/www/health"  # what nginx answers for /health
head -c 2048 /dev/zero | tr '\0' 'x' | sed 's/^/{"pad":"/; s/$/"}/' > "$dir/www/small.json"
for plane in tls plain; do
  port=$tls_port tls=",\"tls\": {\"cert_file\": \"$dir/certs/server.pem\", \"key_file\": \"$dir/certs/server.key\"}"
  [ $plane = plain ] && port=$plain_port tls= admin_port=19415
  cat > "$dir/$plane.json" << JSON
{
  "server": {"listen": "127.0.0.1:$port", "admin_listen": "127.0.0.1:$admin_port"$tls},
  "client": {"loops": 1},
  "log": {"level": "warn"},
  "routes": [{"name": "agg", "path": "/api/agg", "num": {"default": 10, "max": 10},
              "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id={i}&delay_ms=0", "repeat": true}]}]
}
JSON
done
cat > "$dir/nginx.conf" << CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port ssl http2;
    ssl_certificate $dir/certs/server.pem;
    ssl_certificate_key $dir/certs/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    root $dir/www;
  }
}
CONF
taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
taskset -c 0 nginx -c "$dir/nginx.conf"
for _ in $(seq 100); do [ -s "$dir/nginx.pid" ] && break; sleep 0.05; done
ngx=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)  # the worker
taskset -c 0 "$bin" --config "$dir/tls.json" > "$dir/agg.log" 2>&1 &
agg=$!
for _ in $(seq 300); do curl -sf -o /dev/null --cacert "$dir/certs/ca.pem" https://127.0.0.1:$tls_port/health && break; sleep 0.1; done

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
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
requests() {  # name, pid, url
  local before after out done_
  before=$(cpu_ticks "$2")
  out=$(taskset -c 1 h2load --h1 -c 16 -D "$seconds" "$3" 2>&1)
  after=$(cpu_ticks "$2")
  done_=$(echo "$out" | awk '/^requests:/ {print $8; exit}')
  echo "$out" | grep -q ' 0 failed' || { echo "$1: failed requests" >&2; echo "$out" >&2; }
  awk -v n="$1" -v d="${done_:-0}" -v s="$seconds" -v t=$((after - before)) -v hz="$hz" \
    'BEGIN { cpu = t / hz; printf "%-28s %8.0f req/s  %7.1f us CPU per request\n", n, d / s, (d > 0 ? cpu * 1e6 / d : 0) }'
}

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
taskset -c 0 "$bin" --config "$dir/plain.json" > "$dir/agg-plain.log" 2>&1 &
plain=$!
taskset -c 0 "$bin" --config "$dir/tls.json" > "$dir/agg.log" 2>&1 &
agg=$!
for _ in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:$plain_port/health && break; sleep 0.1; done
for _ in $(seq 300); do curl -skf -o /dev/null https://127.0.0.1:$tls_port/health && break; sleep 0.1; done
for round in $(seq "$rounds"); do
  echo "== round $round: kept-alive requests (h2load --h1 -c16, ${seconds}s each)"
  requests "/health cleartext" $plain "http://127.0.0.1:$plain_port/health"
  requests "/health TLS" $agg "https://127.0.0.1:$tls_port/health"
  requests "/api/agg num=10 cleartext" $plain "http://127.0.0.1:$plain_port/api/agg?num=10"
  requests "/api/agg num=10 TLS" $agg "https://127.0.0.1:$tls_port/api/agg?num=10"
  requests "nginx small.json TLS" "$ngx" "https://127.0.0.1:$nginx_port/small.json"
done
kill $plain 2> /dev/null || true
