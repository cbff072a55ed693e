#pragma once

// What every aggregator-bench command shares: where its requests go, its common options, and how
// it reports.

#include <sys/types.h>

#include <CLI/CLI.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_services.hpp"
#include "bench/html_report.hpp"

namespace agg::bench {

/// Where requests go: a service this tool started, or one given with --target.
struct target {
  std::optional<bench_services> services;
  std::string base;  // with --target
  pid_t pid = 0;     // for RSS and CPU figures; 0 when unknown

  /// The endpoint with `num` (none when 0: a route without repeated entries); a query in --target
  /// stays, after the sync baseline's path.
  [[nodiscard]] std::string url(std::size_t num, bool sync) const {
    if (services) return services->url(num, sync);
    const std::size_t question = base.find('?');
    std::string query = question == std::string::npos ? std::string{} : base.substr(question + 1);
    if (num != 0) query += (query.empty() ? "num=" : "&num=") + std::to_string(num);
    return base.substr(0, question) + (sync ? "_sync" : "") + (query.empty() ? "" : "?" + query);
  }
};

struct common_options {
  std::string binaries = build_dir_of_self();
  std::string target_url;
  pid_t pid = 0;
  long long delay_ms = 1000;
  std::string json_file;
  std::string svg_file;
  std::string html_file;
  std::string command;  ///< the command line, for the HTML report
};

/// `value` with `digits` decimals, for a table cell.
std::string fixed(double value, int digits);
/// A report of this run with what every report says (the command, the target).
html_report report_of(const common_options &o, std::string title);
/// Starts the bundled upstream and an aggregator for `t`, or points it at --target.
void start(target &t, const common_options &o, std::size_t max_connections, std::size_t max_aggregations);
/// Writes `text` to `file` (nothing when it is empty) and says so.
void save(const std::string &file, const std::string &text, const char *what);
/// The numbers of a comma-separated list ("1,10,100").
std::vector<std::size_t> numbers(const std::string &list);

/// One aggregator-bench command: its CLI11 subcommand, the upstream delay it starts the bundled
/// upstream with (each command has a default of its own), and what runs it once the line is parsed.
struct subcommand {
  CLI::App *app = nullptr;
  std::shared_ptr<long long> delay_ms;
  std::function<int(const common_options &)> run;
};
/// Adds command `name` to `app` with the options every command takes (into `o`; --delay-ms into the
/// subcommand's own, `delay_ms` by default). The caller adds its options and sets `run`.
subcommand add_subcommand(CLI::App &app, common_options &o, const char *name, const char *description,
                          long long delay_ms);

}  // namespace agg::bench
