#include "bench/bench_command.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>

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

}  // namespace agg::bench
