// compare and sweep: one request at a time, timed, against both endpoints.

#include "bench/timed_commands.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/text/json_writer.hpp"
#include "bench/svg_chart.hpp"

namespace agg::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Wall time of one GET, or nullopt when it did not answer 200.
std::optional<double> timed_get(const std::string &url) {
  const auto sent = clock_type::now();
  const auto reply = agg::client::fetch_blocking({url, std::chrono::hours{1}, 256 << 20}, {});
  if (reply.kind != agg::calls::outcome_kind::ok || reply.status != 200) return std::nullopt;
  return std::chrono::duration<double>(clock_type::now() - sent).count();
}

struct summary {
  std::size_t runs = 0;
  std::size_t failures = 0;
  double p50 = 0, p95 = 0, max = 0;
  std::vector<double> in_order;  ///< each run's seconds, as they were measured
  double cpu_ms = 0;             ///< the aggregator's CPU per request (with its pid), else 0
};

summary summarize(std::vector<double> seconds, std::size_t failures) {
  summary s;
  s.failures = failures;
  s.runs = seconds.size();
  s.in_order = seconds;
  if (seconds.empty()) return s;
  std::sort(seconds.begin(), seconds.end());
  const auto at = [&](double p) {
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(seconds.size())));
    return seconds[std::min(seconds.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  s.p50 = seconds.size() % 2 == 1 ? seconds[seconds.size() / 2]
                                  : (seconds[seconds.size() / 2 - 1] + seconds[seconds.size() / 2]) / 2;
  s.p95 = at(0.95);
  s.max = seconds.back();
  return s;
}

summary measure(const target &t, std::size_t num, bool sync, std::size_t repeat, const char *label) {
  const auto before = t.pid ? usage_of(t.pid) : process_usage{};
  std::vector<double> seconds;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < repeat; ++i) {
    std::fprintf(stderr, "\r[%s N=%zu] run %zu of %zu   ", label, num, i + 1, repeat);
    if (const auto s = timed_get(t.url(num, sync)))
      seconds.push_back(*s);
    else
      ++failures;
  }
  std::fprintf(stderr, "\r%60s\r", "");
  summary s = summarize(std::move(seconds), failures);
  if (t.pid && repeat > 0)
    s.cpu_ms = (usage_of(t.pid).cpu_seconds - before.cpu_seconds) * 1000.0 / static_cast<double>(repeat);
  return s;
}

void write_summary(agg::text::json_writer &w, const summary &s) {
  w.raw("{").key("runs").number(static_cast<long long>(s.runs)).raw(",").key("failures");
  w.number(static_cast<long long>(s.failures)).raw(",").key("p50_s").number(s.p50, 6).raw(",").key("p95_s");
  w.number(s.p95, 6).raw(",").key("max_s").number(s.max, 6).raw("}");
}

int compare(const common_options &o, std::size_t num, std::size_t repeat) {
  target t;
  start(t, o, 256, 2000);
  timed_get(t.url(num, false));  // warm the connection pools
  const summary async = measure(t, num, false, repeat, "async");
  const summary sync = measure(t, num, true, repeat, "sync");
  const double speedup = async.p50 > 0 ? sync.p50 / async.p50 : 0;
  std::printf("%-6s %6s %5s %10s %10s %10s %8s\n", "mode", "N", "runs", "p50 (s)", "p95 (s)", "max (s)", "failed");
  for (const auto &[name, s] : {std::pair{"async", async}, std::pair{"sync", sync}})
    std::printf("%-6s %6zu %5zu %10.4f %10.4f %10.4f %8zu\n", name, num, s.runs, s.p50, s.p95, s.max, s.failures);
  std::printf("speed-up (p50 sync / p50 async): %.2fx\n", speedup);
  const auto usage = t.pid ? usage_of(t.pid) : process_usage{};
  if (t.pid)
    std::printf("aggregator (pid %d): peak RSS %.1f MB; CPU per request %.3f ms async, %.3f ms sync\n",
                static_cast<int>(t.pid), static_cast<double>(usage.peak_rss_bytes) / 1e6, async.cpu_ms, sync.cpu_ms);
  std::string json;
  agg::text::json_writer w{json};
  w.raw("{").key("command").string("compare").raw(",").key("num").number(static_cast<long long>(num));
  w.raw(",").key("async");
  write_summary(w, async);
  w.raw(",").key("sync");
  write_summary(w, sync);
  w.raw(",").key("speedup").number(speedup, 3);
  if (t.pid) {
    w.raw(",").key("peak_rss_bytes").number(static_cast<long long>(usage.peak_rss_bytes));
    w.raw(",").key("cpu_ms_per_request").raw("{").key("async").number(async.cpu_ms, 4);
    w.raw(",").key("sync").number(sync.cpu_ms, 4).raw("}");
  }
  w.raw("}\n");
  save(o.json_file, json, "JSON");
  if (!o.html_file.empty()) {
    auto report = report_of(o, "Async against sync, N=" + std::to_string(num));
    report.facts.emplace_back("speed-up (p50 sync / p50 async)", fixed(speedup, 2) + "x");
    report.columns = {"mode", "N", "runs", "p50 (s)", "p95 (s)", "max (s)", "failed"};
    for (const auto &[name, s] : {std::pair{"async", async}, std::pair{"sync", sync}})
      report.rows.push_back({name, std::to_string(num), std::to_string(s.runs), fixed(s.p50, 4), fixed(s.p95, 4),
                             fixed(s.max, 4), std::to_string(s.failures)});
    if (t.pid) {
      report.facts.emplace_back("aggregator peak RSS",
                                fixed(static_cast<double>(usage.peak_rss_bytes) / 1e6, 1) + " MB");
      report.facts.emplace_back("CPU per request (async, sync)",
                                fixed(async.cpu_ms, 3) + " ms, " + fixed(sync.cpu_ms, 3) + " ms");
    }
    chart_series async_runs{"async", "#2b6cb0", {}}, sync_runs{"sync", "#c05621", {}};
    for (std::size_t i = 0; i < async.in_order.size(); ++i)
      async_runs.points.emplace_back(static_cast<double>(i + 1), async.in_order[i]);
    for (std::size_t i = 0; i < sync.in_order.size(); ++i)
      sync_runs.points.emplace_back(static_cast<double>(i + 1), sync.in_order[i]);
    report.charts.push_back(
        line_chart("Each run's time, N=" + std::to_string(num), "run", "seconds", {async_runs, sync_runs}, false));
    save(o.html_file, report.render(), "HTML report");
  }
  return async.failures + sync.failures == 0 ? 0 : 1;
}

int sweep(const common_options &o, const std::string &ns, std::size_t repeat) {
  target t;
  start(t, o, 256, 2000);
  timed_get(t.url(1, false));
  chart_series async{"async", "#1f77b4", {}}, sync{"sync", "#d62728", {}};
  std::string json = R"({"command":"sweep","delay_ms":)" + std::to_string(o.delay_ms) + R"(,"points":[)";
  std::printf("%6s %12s %12s %10s\n", "N", "async p50 s", "sync p50 s", "speed-up");
  auto report = report_of(o, "Fan-out sweep, upstream delay " + std::to_string(o.delay_ms) + " ms");
  report.columns = {"N", "async p50 s", "async p95 s", "sync p50 s", "sync p95 s", "speed-up", "failed"};
  for (const std::size_t n : numbers(ns)) {
    const summary a = measure(t, n, false, repeat, "async");
    const summary s = measure(t, n, true, repeat, "sync");
    std::printf("%6zu %12.4f %12.4f %9.2fx\n", n, a.p50, s.p50, a.p50 > 0 ? s.p50 / a.p50 : 0);
    std::fflush(stdout);
    report.rows.push_back({std::to_string(n), fixed(a.p50, 4), fixed(a.p95, 4), fixed(s.p50, 4), fixed(s.p95, 4),
                           fixed(a.p50 > 0 ? s.p50 / a.p50 : 0, 2) + "x", std::to_string(a.failures + s.failures)});
    async.points.emplace_back(static_cast<double>(n), a.p50);
    sync.points.emplace_back(static_cast<double>(n), s.p50);
    agg::text::json_writer w{json};
    if (json.back() != '[') w.raw(",");
    w.raw("{").key("num").number(static_cast<long long>(n)).raw(",").key("async");
    write_summary(w, a);
    w.raw(",").key("sync");
    write_summary(w, s);
    w.raw("}");
  }
  json += "]}\n";
  save(o.json_file, json, "JSON");
  const std::string chart =
      agg::bench::line_chart("Latency vs fan-out width (upstream delay " + std::to_string(o.delay_ms) + " ms)",
                             "N upstream calls", "seconds (p50)", {async, sync}, true);
  save(o.svg_file, chart, "SVG chart");
  report.charts.push_back(chart);
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  return 0;
}

}  // namespace

subcommand add_compare(CLI::App &app, common_options &o) {
  auto command = add_subcommand(app, o, "compare", "the same N calls through the async and the sync endpoint", 1000);
  auto num = std::make_shared<std::size_t>(10);
  auto repeat = std::make_shared<std::size_t>(5);
  command.app->add_option("--num", *num, "upstream calls per aggregation")->capture_default_str();
  command.app->add_option("--repeat", *repeat, "requests per endpoint")->capture_default_str();
  command.run = [num, repeat](const common_options &given) { return compare(given, *num, *repeat); };
  return command;
}

subcommand add_sweep(CLI::App &app, common_options &o) {
  auto command = add_subcommand(app, o, "sweep", "N from 1 to 1000 for both modes", 10);
  auto ns = std::make_shared<std::string>("1,10,100,1000");
  auto repeat = std::make_shared<std::size_t>(5);
  command.app->add_option("--ns", *ns, "comma-separated fan-out widths")->capture_default_str();
  command.app->add_option("--repeat", *repeat, "requests per point and mode")->capture_default_str();
  command.app->add_option("--svg", o.svg_file, "write a latency-vs-N chart (SVG)");
  command.run = [ns, repeat](const common_options &given) { return sweep(given, *ns, *repeat); };
  return command;
}

}  // namespace agg::bench
