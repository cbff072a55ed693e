// aggregator-bench: compares the async endpoint with the sync baseline, puts closed-loop load on the
// service, floods it, injects faults under load, soaks it and sweeps the fan-out width. Starts the
// bundled upstream and an aggregator itself, or measures a running one (--target). One file per
// command.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <vector>

#include "aggregator/process/process_setup.hpp"
#include "bench/bench_command.hpp"
#include "bench/chaos_command.hpp"
#include "bench/flood_command.hpp"
#include "bench/load_command.hpp"
#include "bench/soak_command.hpp"
#include "bench/timed_commands.hpp"

int main(int argc, char **argv) {
  agg::process::raise_fd_limit();  // a flood or a thousand clients hold a descriptor each
  CLI::App app{
      "aggregator-bench: async vs sync, load, floods, faults under load, soaks and fan-out sweeps against the "
      "aggregator.\n"
      "Starts the bundled upstream and an aggregator from the build tree unless --target is given."};
  app.require_subcommand(1);
  agg::bench::common_options o;
  o.command = agg::bench::command_line(argc, argv);
  const std::vector<agg::bench::subcommand> commands{agg::bench::add_compare(app, o), agg::bench::add_load(app, o),
                                                     agg::bench::add_flood(app, o),   agg::bench::add_chaos(app, o),
                                                     agg::bench::add_soak(app, o),    agg::bench::add_sweep(app, o)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto &command : commands) {
      if (!*command.app) continue;
      o.delay_ms = *command.delay_ms;
      return command.run(o);
    }
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "aggregator-bench: %s\n", e.what());
    return 1;
  }
}
