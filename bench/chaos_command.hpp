#pragma once

#include <cstddef>

#include "bench/bench_command.hpp"

namespace agg::bench {

/// `aggregator-bench chaos`: closed-loop load on the `chaos` route, whose upstreams mix every fault
/// the bundled upstream injects. Checks every response parses, every call ends with the kind its
/// fault injects, and then that nothing stays in flight and no descriptor stays open. 0 when all
/// holds.
int chaos_command(const common_options &o, std::size_t clients, double duration_s);
/// Registers it (its --clients and --duration).
subcommand add_chaos(CLI::App &app, common_options &o);

}  // namespace agg::bench
