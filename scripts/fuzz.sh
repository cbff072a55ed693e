#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz/ and runs each for SECONDS
# (default 60), all at once, from its committed seed corpus (tests/fuzz/corpus/<target>/) plus what
# earlier runs found (build-fuzz/corpus/<target>/). Exits 1 when a target found a crash: its input
# is kept as build-fuzz/crash-<target>-*, to become a regression seed and a test.
# FUZZ_OPT sets the optimisation (default -O1, for runs that are long; CI's short run builds at
# -O0, which clang compiles in about 40 % of the time and which still makes thousands of runs).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config_fuzz route_patch_fuzz plan_fuzz upstream_body_fuzz data_plane_fuzz upstream_fuzz token_fuzz jwks_fuzz h2_frames_fuzz)

CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_UNITY_BUILD=ON -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="${FUZZ_OPT:--O1} -gline-tables-only" -DAGG_FUZZ=ON -DAGG_WERROR=OFF > /dev/null
ninja -C build-fuzz "${targets[@]}"

failed=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  # -rss_limit_mb: the in-process services keep their threads and pools; leaks are checked at exit.
  ASAN_OPTIONS=detect_leaks=0 "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
      -rss_limit_mb=4096 -timeout=20 -artifact_prefix="build-fuzz/crash-$t-" \
      "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" > "build-fuzz/$t.log" 2>&1 &
done
for t in "${targets[@]}"; do
  wait -n || failed=1
done
for t in "${targets[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/$t.log")
  cov=$(grep -o 'cov: [0-9]*' "build-fuzz/$t.log" | tail -1)
  if grep -q -E '^==[0-9]+==ERROR|invariant broken|deadly signal' "build-fuzz/$t.log"; then
    echo "fuzz: $t FOUND A CRASH after ${runs:-?} runs (build-fuzz/$t.log):"
    grep -m 5 -E 'ERROR|invariant broken|SUMMARY' "build-fuzz/$t.log"
    failed=1
  else
    echo "fuzz: $t ${seconds} s, ${runs:-?} runs, ${cov:-cov: ?}, 0 crashes"
  fi
done
exit $failed
