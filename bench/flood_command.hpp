#pragma once

#include "bench/bench_command.hpp"

namespace agg::bench {

/// `aggregator-bench flood`: well-behaved clients and /health probes, alone and then beside each
/// kind of flood in turn (idle, drip-fed heads, slow readers, pipelining, connect/close storms);
/// RSS and descriptors per phase. Fails on an error or a failed probe.
subcommand add_flood(CLI::App &app, common_options &o);

}  // namespace agg::bench
