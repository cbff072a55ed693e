#!/bin/sh
# CPP_ALT_BIN for ../shared/peers: this build's aggregator on bench/peers-config.json, but with one
# event loop (client.loops 1). ctl.sh calls it with `--check FILE`, then with `--config FILE ...`.
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../build/aggregator/aggregator
[ "$1" = "--check" ] && exec "$bin" "$@"
shift 2  # ctl.sh's --config FILE: replaced by the one-loop variant
config=${TMPDIR:-/tmp}/peers-one-loop.json
sed 's/"loops": 0/"loops": 1/' "$here/peers-config.json" > "$config"
exec "$bin" --config "$config" "$@"
