#!/usr/bin/env bash
# Aggregations per second on one core with a route's access `jwt` and a rate limit on, against the
# same route with neither, at 0 ms upstream (issue 25's figure). The aggregator runs one event loop
# pinned to CPU 0; the bundled upstream (0 ms) and wrk share CPU 1. Each route gets ROUNDS runs of
# SECONDS each, alternating; per run: requests/s, and the aggregator's CPU per aggregation from
# /proc (utime + stime over the run / requests answered).
# With --callgrind, the aggregator runs under callgrind instead and each run reports instructions
# per aggregation (counters zeroed before, dumped after): this VM's timings move ±20 % from run to
# run (steal time; no hardware counters), instruction counts do not.
#   bench/identity-bench.sh [--callgrind] [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
callgrind=0
if [ "${1:-}" = "--callgrind" ]; then
  callgrind=1
  shift
fi
seconds=${1:-10}
rounds=${2:-3}
bin=build/aggregator/aggregator
dir=$(mktemp -d)
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT

# A key pair, its JWKS and a token, as docs/identity.md mints them.
b64url() { basenc --base64url -w0 | tr -d '='; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/issuer.key" 2> /dev/null
n=$(openssl rsa -in "$dir/issuer.key" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
printf '{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","e":"AQAB","n":"%s"}]}\n' "$n" > "$dir/jwks.json"
header=$(printf '{"alg":"RS256","kid":"k1"}' | b64url)
payload=$(printf '{"iss":"https://issuer.example","aud":"aggregator","sub":"bench","scope":"bench","exp":%d}' \
  $(($(date +%s) + 3600)) | b64url)
token="$header.$payload.$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$dir/issuer.key" -binary | b64url)"

up_port=19308
cat > "$dir/config.json" << JSON
{
  "server": {"listen": "127.0.0.1:19300", "admin_listen": "127.0.0.1:0"},
  "client": {"loops": 1},
  "log": {"level": "warn"},
  "auth": {"jwt": {"issuer": "https://issuer.example", "audiences": ["aggregator"], "jwks_file": "jwks.json"}},
  "routes": [
    {"name": "open", "path": "/api/open", "access": {"require": "none"},
     "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id=1&delay_ms=0"}]},
    {"name": "guarded", "path": "/api/guarded",
     "access": {"require": "jwt", "claims": {"scope": "bench"}},
     "rate_limit": {"key": "client", "requests_per_s": 1000000, "burst": 1000000, "calls_per_s": 1000000, "burst_calls": 1000000},
     "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id=1&delay_ms=0"}]}
  ]
}
JSON
taskset -c 1 build/upstream/upstream --listen 127.0.0.1:$up_port --delay-ms 0 > /dev/null 2>&1 &
up=$!
if [ $callgrind = 1 ]; then
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$bin" --config "$dir/config.json" \
    > "$dir/agg.log" 2>&1 &
else
  taskset -c 0 "$bin" --config "$dir/config.json" > "$dir/agg.log" 2>&1 &
fi
agg=$!
for _ in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:19300/health && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" http://127.0.0.1:19300/api/guarded)" = 200 ]

cpu_ticks() { awk '{print $14 + $15}' /proc/$agg/stat; }
hz=$(getconf CLK_TCK)
run() {  # route, extra wrk args...
  local route=$1; shift
  local before after out rps requests instructions=0
  [ $callgrind = 1 ] && callgrind_control -z $agg > /dev/null 2>&1
  before=$(cpu_ticks)
  out=$(taskset -c 1 wrk -t1 -c32 -d"${seconds}s" "$@" "http://127.0.0.1:19300/api/${route%+}")
  after=$(cpu_ticks)
  if [ $callgrind = 1 ]; then
    rm -f "$dir"/cg.$agg.*
    callgrind_control -d $agg > /dev/null 2>&1
    instructions=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dir"/cg.$agg.*)
  fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  if echo "$out" | grep -q 'Non-2xx'; then echo "$route: non-2xx answers" >&2; exit 1; fi
  awk -v r="$route" -v rps="$rps" -v t=$((after - before)) -v hz="$hz" -v n="$requests" -v ir="$instructions" \
    'BEGIN { printf "%-8s %9.0f aggr/s  %6.1f us CPU/aggr", r, rps, t / hz / n * 1e6;
             if (ir > 0) printf "  %8.0f instructions/aggr", ir / n; printf "\n" }'
}
echo "aggregator pinned to CPU 0 (1 loop); upstream and wrk (1 thread, 32 connections) on CPU 1; ${seconds} s per run"
# `open+` sends a header as long as the token (a JWT is ~0.6 KB the parser reads either way), so
# open+ vs guarded is what checking it costs.
padding=$(printf '%*s' ${#token} '' | tr ' ' x)
for i in $(seq "$rounds"); do
  run open
  run open+ -H "X-Padding: $padding"
  run guarded -H "Authorization: Bearer $token"
done
