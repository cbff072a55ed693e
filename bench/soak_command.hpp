#pragma once

#include <cstddef>

#include "bench/bench_command.hpp"

namespace agg::bench {

/// `aggregator-bench soak`: moderate load for `duration_s`, the aggregator's RSS, descriptors and
/// threads sampled every `sample_s`; 0 when there were no errors and the RSS slope after
/// `warmup_s` is at most 1 MB/min.
int soak_command(const common_options &o, std::size_t clients, std::size_t num, double duration_s, double sample_s,
                 double warmup_s);
/// Registers it (its --clients, --num, --duration, --sample, --warmup and --svg).
subcommand add_soak(CLI::App &app, common_options &o);

}  // namespace agg::bench
