#pragma once

#include "bench/bench_command.hpp"

namespace agg::bench {

/// `aggregator-bench load`: closed-loop load at one or more concurrencies: throughput, latency
/// percentiles, errors by kind, peak RSS and CPU per aggregation, with a chart.
subcommand add_load(CLI::App &app, common_options &o);

}  // namespace agg::bench
