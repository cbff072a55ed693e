# Sourced by the A/B scripts (instructions-bench.sh, pinned-cpu-bench.sh) with their arguments,
# [SECONDS] [ROUNDS] [BINARY...], after setting `listen_port` and `up_port`: sets `seconds`,
# `rounds` and `bins` (default: 8, DEFAULT_ROUNDS, build/aggregator/aggregator), makes `$dir`
# (removed at exit, with the processes `$agg` and `$up`) and `$dir/config.json`: one event loop
# on 127.0.0.1:$listen_port, `GET /api/agg` of ten calls to the bundled upstream at
# 127.0.0.1:$up_port, 0 ms.
seconds=${1:-8}
rounds=${2:-${DEFAULT_ROUNDS:-2}}
shift $(($# < 2 ? $# : 2))
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(build/aggregator/aggregator)
dir=$(mktemp -d)
up= agg=
trap 'kill $agg $up 2> /dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/config.json" << JSON
{"server": {"listen": "127.0.0.1:$listen_port", "admin_listen": "127.0.0.1:0"}, "client": {"loops": 1},
 "log": {"level": "warn"},
 "routes": [{"name": "agg", "path": "/api/agg", "num": {"default": 10, "max": 10},
             "upstreams": [{"url": "http://127.0.0.1:$up_port/api/?task_id={i}&delay_ms=0", "repeat": true}]}]}
JSON
