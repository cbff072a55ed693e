# Sourced by the benchmark scripts that drive h2load against a server pinned to CPU 0 (tls-bench.sh,
# h2-bench.sh): a scratch directory with the test certificates and a 2 KiB JSON file for nginx, the
# server's CPU from /proc, and one h2load row. Needs `seconds` set.
dir=$(mktemp -d)
tests/support/make_test_certs.sh "$dir/certs"
mkdir -p "$dir/www"
chmod 755 "$dir"  # nginx's worker reads the files as another user
head -c 2048 /dev/zero | tr '\0' 'x' | sed 's/^/{"pad":"/; s/$/"}/' > "$dir/www/small.json"
hz=$(getconf CLK_TCK)

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Starts nginx on CPU 0, one worker, with `http` block contents from stdin, and sets `ngx` to its
# worker's pid.
start_nginx() {
  {
    printf 'worker_processes 1;\ndaemon on;\npid %s/nginx.pid;\nerror_log %s/nginx.err;\n' "$dir" "$dir"
    printf 'events { worker_connections 4096; }\nhttp {\n  access_log off;\n  root %s/www;\n' "$dir"
    cat
    printf '}\n'
  } > "$dir/nginx.conf"
  taskset -c 0 nginx -c "$dir/nginx.conf"
  for _ in $(seq 100); do [ -s "$dir/nginx.pid" ] && break; sleep 0.05; done
  ngx=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)  # the worker
}

# Waits until `curl ARGS...` succeeds (a server started in the background is up).
wait_for() { for _ in $(seq 300); do curl -sf -o /dev/null "$@" && return; sleep 0.1; done; }

# One row: NAME, the server's PID, h2load's arguments (the URL last), run for `seconds` on CPU 1:
# requests per second and microseconds of the server's CPU per request.
h2load_row() {
  local name=$1 pid=$2 before after out done_
  shift 2
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 h2load -D "$seconds" "$@" 2>&1)
  after=$(cpu_ticks "$pid")
  done_=$(echo "$out" | awk '/^requests:/ {print $8; exit}')
  echo "$out" | grep -q ' 0 failed' || { echo "$name: failed requests" >&2; echo "$out" | grep -E '^requests|^status' >&2; }
  awk -v n="$name" -v d="${done_:-0}" -v s="$seconds" -v t=$((after - before)) -v hz="$hz" \
    'BEGIN { cpu = t / hz; printf "%-40s %8.0f req/s  %7.1f us CPU per request\n", n, d / s, (d > 0 ? cpu * 1e6 / d : 0) }'
}

# Writes $dir/tls.json and $dir/plain.json: the aggregator on one loop, listening with TLS on
# TLS_PORT or cleartext on PLAIN_PORT (control planes on ADMIN_PORT and the one after), route
# /api/agg with 10 calls to the upstream on UP_PORT at 0 ms.
write_aggregator_configs() {  # TLS_PORT PLAIN_PORT ADMIN_PORT UP_PORT
  local plane port section admin=$3
  for plane in tls plain; do
    port=$1 section=",\"tls\": {\"cert_file\": \"$dir/certs/server.pem\", \"key_file\": \"$dir/certs/server.key\"}"
    [ $plane = plain ] && port=$2 section=
    cat > "$dir/$plane.json" << JSON
{
  "server": {"listen": "127.0.0.1:$port", "admin_listen": "127.0.0.1:$admin"$section},
  "client": {"loops": 1},
  "log": {"level": "warn"},
  "routes": [{"name": "agg", "path": "/api/agg", "num": {"default": 10, "max": 10},
              "upstreams": [{"url": "http://127.0.0.1:$4/api/?task_id={i}&delay_ms=0", "repeat": true}]}]
}
JSON
    admin=$((admin + 1))
  done
}

# Starts the aggregator on CPU 0 with each of the two configs (write_aggregator_configs) and waits
# until both answer: their pids in `tls_pid` and `plain_pid`.
start_aggregators() {  # TLS_PORT PLAIN_PORT
  taskset -c 0 "$bin" --config "$dir/plain.json" > "$dir/agg-plain.log" 2>&1 &
  plain_pid=$!
  taskset -c 0 "$bin" --config "$dir/tls.json" > "$dir/agg-tls.log" 2>&1 &
  tls_pid=$!
  wait_for "http://127.0.0.1:$2/health"
  wait_for -k "https://127.0.0.1:$1/health"
}
