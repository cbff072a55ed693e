#!/usr/bin/env bash
# Builds and runs the test suite. With --sanitizers it also runs it under AddressSanitizer +
# UndefinedBehaviorSanitizer (all tests) and ThreadSanitizer (the concurrency tests).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# Every pass builds as a unity build: each batch of files parses Boost once (batch size and build
# times: CMakeLists.txt).
run_suite() {  # build dir, cmake args... (TARGETS: what to build; all when unset)
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DAGG_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON "$@" > "$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; exit 1; }
  rm -f "$dir.cmake.log"
  # shellcheck disable=SC2086
  ninja -C "$dir" ${TARGETS:-}
}

"$(dirname "$0")/install-deps.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON > /dev/null
ninja -C build
ctest --test-dir build -j "$jobs" --output-on-failure
# Benchmarks never run here; one tiny smoke iteration each keeps them from rotting.
./build/bench/aggregator_micro_bench --benchmark_min_time=0.01 --benchmark_filter='BM_when_all_settled/8$' > /dev/null
./build/bench/aggregator-bench compare --num 2 --repeat 1 --delay-ms 10 --html build/compare-smoke.html > /dev/null
grep -q '<svg' build/compare-smoke.html  # the report's chart inline
./build/bench/aggregator-bench sweep --ns 1,2 --repeat 1 --html build/sweep-smoke.html > /dev/null
grep -q '<svg' build/sweep-smoke.html
# Small floods of every kind and faults under load: they fail on an error, a failed probe, a
# malformed response, an error of another kind than injected, or something left in flight.
./build/bench/aggregator-bench flood --idle 200 --drip 20 --slow 20 --pipelined 4 --storm 1 --control 100 --full --h2-rapid-reset 1 --h2-streams 2 --h2-zero-window 2 --clients 10 --duration 1 > /dev/null
./build/bench/aggregator-bench chaos --clients 20 --duration 2 > /dev/null

# Sanitizer instrumentation prevents the tail calls of symmetric transfer (see CMakeLists.txt), so
# the stack-depth test runs in the release suite above only. So do the browser tests: they test the
# page (JavaScript no sanitizer sees); what they ask of the service, the other tests ask too.
release_only='do not grow the stack|^browser '
if [ "${1:-}" = "--sanitizers" ]; then
  # Line tables only (-g1): ASan's reports keep their file:line; the build is ~10 % faster than -g.
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DAGG_SANITIZE=address,undefined
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure -E "$release_only"
  # -O1 with line tables only: TSan's reports keep their file:line, the build is ~40 % faster than -O2 -g.
  # TSan for the concurrency code: every test binary with threads, loops or shared state; the
  # single-threaded parsers' and filters' tests (http, text, filters) run under ASan above only.
  concurrent='coro_tests client_tests config_tests loop_tests runtime_tests fanout_tests stages_tests front_tests
              endpoints_tests auth_tests control_tests e2e_tests'
  TARGETS="$concurrent" run_suite build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DAGG_SANITIZE=thread
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build-tsan -j "$jobs" --output-on-failure -E "$release_only" \
    -R "^($(echo $concurrent | tr ' ' '|')):"
fi
