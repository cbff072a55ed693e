#!/usr/bin/env bash
# Installs what building and testing need on Debian 12: compiler, CMake, Ninja and the libraries;
# Node.js, chromium and Firefox ESR for the tests of the /ui page in real browsers; clang 14 and
# its runtime for the libFuzzer targets (scripts/fuzz.sh); redis-server for the tests of state
# shared across replicas (each test starts its own, on a free port; the service never needs one).
# Uses apt-get as root (through sudo when run as a user); does nothing when all is there.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libcurl4-openssl-dev libcpp-httplib-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcli11-dev catch2 libbenchmark-dev
  libcjose-dev libjansson-dev libssl-dev zlib1g-dev libbrotli-dev libzstd-dev libnghttp2-dev libhiredis-dev
  libmimalloc-dev
  curl clang-format nginx-light redis-server python3-jsonschema
  nodejs chromium firefox-esr
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "install-deps: missing ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
