#include "bench/bench_command.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace agg::bench {

/// `value` with `digits` decimals, for a table cell.
std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

/// A report of this run with what every report says (the command, the target).
html_report report_of(const common_options &o, std::string title) {
  html_report report;
  report.title = std::move(title);
  report.command = o.command;
  report.facts.emplace_back("target", o.target_url.empty()
                                          ? "an aggregator and upstream started by this tool, upstream delay " +
                                                std::to_string(o.delay_ms) + " ms"
                                          : o.target_url);
  return report;
}

void start(target &t, const common_options &o, std::size_t max_connections, std::size_t max_aggregations) {
  if (!o.target_url.empty()) {
    t.base = o.target_url;
    t.pid = o.pid;
    return;
  }
  t.services.emplace(o.binaries, std::chrono::milliseconds{o.delay_ms}, max_connections, max_aggregations);
  t.pid = t.services->aggregator_pid();
}

void save(const std::string &file, const std::string &text, const char *what) {
  if (file.empty()) return;
  std::ofstream{file} << text;
  std::printf("%s written to %s\n", what, file.c_str());
}

std::vector<std::size_t> numbers(const std::string &list) {
  std::vector<std::size_t> out;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoul(item));
  return out;
}

subcommand add_subcommand(CLI::App &app, common_options &o, const char *name, const char *description,
                          long long delay_ms) {
  subcommand command{app.add_subcommand(name, description), std::make_shared<long long>(delay_ms), {}};
  CLI::App *sub = command.app;
  sub->add_option("--binaries", o.binaries, "build folder with aggregator/aggregator and upstream/upstream");
  sub->add_option("--target", o.target_url,
                  "a running aggregator's async endpoint, e.g. http://127.0.0.1:8080/api/aggregated "
                  "(the sync one is the same path + _sync; a query stays; --num 0 adds no num)");
  sub->add_option("--pid", o.pid, "with --target: the aggregator's pid, for its RSS and CPU figures");
  sub->add_option("--delay-ms", *command.delay_ms, "upstream delay of the started upstream")->capture_default_str();
  sub->add_option("--json", o.json_file, "also write the results as JSON to this file");
  sub->add_option("--html", o.html_file, "also write one HTML file with the table and the charts");
  return command;
}

}  // namespace agg::bench
