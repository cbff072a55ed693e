#pragma once

#include "bench/bench_command.hpp"

namespace agg::bench {

/// `aggregator-bench compare`: the same N calls through the async endpoint and the sync baseline,
/// K times each; the p50s and the speed-up.
subcommand add_compare(CLI::App &app, common_options &o);
/// `aggregator-bench sweep`: compare at each fan-out width of a list, with a latency-vs-N chart.
subcommand add_sweep(CLI::App &app, common_options &o);

}  // namespace agg::bench
