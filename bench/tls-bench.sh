#!/usr/bin/env bash
# TLS toward clients (issue 26): handshakes per second per core, full and resumed, on our data plane
# beside nginx's in the same run, and requests over kept-alive TLS against cleartext.
# The server under test runs on CPU 0 (our aggregator with one event loop; nginx with one worker),
# the client (openssl s_time, h2load --h1) on CPU 1. Per run: handshakes (or requests) per second,
# and per second of the server's CPU (utime + stime from /proc over the run): the per-core figure.
# Both servers present the same P-256 certificate (tests/support/make_test_certs.sh) at TLS 1.3;
# "resumed" runs make s_time reuse one session (TLS 1.3 ticket).
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

tls_port=19410 plain_port=19411 nginx_port=19412 up_port=19413
mkdir -p "$dir/www"
head -c 2048 /dev/zero | tr '\0' 'x' | sed 's/^/{"pad":"/; s/$/"}/' > "$dir/www/small.json"
for plane in tls plain; do
  port=$tls_port tls=",\"tls\": {\"cert_file\": \"$dir/certs/server.pem\", \"key_file\": \"$dir/certs/server.key\"}"
  [ $plane = plain ] && port=$plain_port tls=
  cat > "$dir/$plane.json" << JSON
{
  "server": {"listen": "127.0.0.1:$port", "admin_listen": "127.0.0.1:0"$tls},
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
handshakes() {  # name, pid, port, s_time mode (-new | -reuse)
  local before after out count
  before=$(cpu_ticks "$2")
  out=$(taskset -c 1 openssl s_time -connect "127.0.0.1:$3" -tls1_3 "$4" -time "$seconds" 2>&1 || true)
  after=$(cpu_ticks "$2")
  count=$(echo "$out" | awk '/connections in .* real seconds/ {print $1; exit}')
  awk -v n="$1" -v m="$4" -v c="${count:-0}" -v s="$seconds" -v t=$((after - before)) -v hz="$hz" \
    'BEGIN { cpu = t / hz; printf "%-10s %-7s %8.0f handshakes/s  %8.0f per CPU-second of the server (%.2f s CPU)\n", n, m, c / s, (cpu > 0 ? c / cpu : 0), cpu }'
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
  echo "== round $round: handshakes (openssl s_time, TLS 1.3, ${seconds}s each)"
  handshakes aggregator $agg $tls_port -new
  handshakes nginx "$ngx" $nginx_port -new
  handshakes aggregator $agg $tls_port -reuse
  handshakes nginx "$ngx" $nginx_port -reuse
done
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
