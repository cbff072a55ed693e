#!/usr/bin/env bash
# HTTP/2 toward clients (issue 26): h2load against our data plane over h2c (prior knowledge), h2
# (TLS, ALPN) and HTTP/1.1 with keep-alive, and against nginx serving a static 2 KiB JSON file over
# the same three (the floor), in the same run. Requests per second, and microseconds of the server's
# CPU per request (utime + stime from /proc over the run), for /health and for an aggregation of 10
# calls to an upstream answering at once (the bundled upstream, 0 ms).
# Servers on CPU 0 (our aggregator with one event loop; nginx with one worker); h2load and the
# upstream on CPU 1. "-c16 -m1": 16 connections, one request at a time on each (as HTTP/1.1);
# "-c2 -m8": the same 16 requests in flight multiplexed on 2 connections.
#   bench/h2-bench.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-2}
bin=build/aggregator/aggregator
tls= plain= up= ngx=
# shellcheck source=bench/h2load-lib.sh
. bench/h2load-lib.sh
trap 'kill $tls $plain $up 2> /dev/null || true; [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2> /dev/null; rm -rf "$dir"' EXIT

tls_port=19420 plain_port=19421 ngx_tls=19422 ngx_h2c=19423 ngx_h1=19424 up_port=19425
write_aggregator_configs $tls_port $plain_port 19426 $up_port
taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
start_nginx << CONF
  keepalive_requests 100000000;  # else an h2 connection ends after 1000 requests (GOAWAY) and h2load stops
  server {
    listen 127.0.0.1:$ngx_tls ssl http2;
    ssl_certificate $dir/certs/server.pem;
    ssl_certificate_key $dir/certs/server.key;
  }
  server { listen 127.0.0.1:$ngx_h2c http2; }
  server { listen 127.0.0.1:$ngx_h1; }
CONF
start_aggregators $tls_port $plain_port
tls=$tls_pid plain=$plain_pid

for round in $(seq "$rounds"); do
  echo "== round $round (${seconds}s each)"
  for target in /health "/api/agg?num=10"; do
    h2load_row "$target h1.1 cleartext -c16" $plain --h1 -c 16 "http://127.0.0.1:$plain_port$target"
    h2load_row "$target h2c -c16 -m1" $plain -c 16 -m 1 "http://127.0.0.1:$plain_port$target"
    h2load_row "$target h2c -c2 -m8" $plain -c 2 -m 8 "http://127.0.0.1:$plain_port$target"
    h2load_row "$target h1.1 TLS -c16" $tls --h1 -c 16 "https://127.0.0.1:$tls_port$target"
    h2load_row "$target h2 TLS -c16 -m1" $tls -c 16 -m 1 "https://127.0.0.1:$tls_port$target"
    h2load_row "$target h2 TLS -c2 -m8" $tls -c 2 -m 8 "https://127.0.0.1:$tls_port$target"
  done
  h2load_row "nginx small.json h1.1 cleartext -c16" "$ngx" --h1 -c 16 "http://127.0.0.1:$ngx_h1/small.json"
  h2load_row "nginx small.json h2c -c16 -m1" "$ngx" -c 16 -m 1 "http://127.0.0.1:$ngx_h2c/small.json"
  h2load_row "nginx small.json h2 TLS -c16 -m1" "$ngx" -c 16 -m 1 "https://127.0.0.1:$ngx_tls/small.json"
  h2load_row "nginx small.json h2 TLS -c2 -m8" "$ngx" -c 2 -m 8 "https://127.0.0.1:$ngx_tls/small.json"
done
echo "HTTP/2 connections and GOAWAYs the aggregators counted:"
curl -s http://127.0.0.1:19426/metrics http://127.0.0.1:19427/metrics | grep -E '^aggregator_http2_(connections|goaways)_total'
