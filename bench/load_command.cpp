#include "bench/load_command.hpp"

#include <cstdio>

#include "aggregator/text/json_writer.hpp"
#include "bench/load_run.hpp"
#include "bench/svg_chart.hpp"

namespace agg::bench {

namespace {

/// One concurrency's run as the JSON results list it.
void write_run(std::string &json, std::size_t clients, std::size_t num, bool sync, const load_result &r,
               std::size_t peak_rss_bytes, double cpu_ms) {
  text::json_writer w{json};
  if (json.back() != '[') w.raw(",");
  w.raw("{").key("clients").number(static_cast<long long>(clients));
  w.raw(",").key("num").number(static_cast<long long>(num));
  w.raw(",").key("mode").string(sync ? "sync" : "async").raw(",").key("seconds").number(r.seconds, 3);
  w.raw(",").key("aggregations_per_s").number(r.throughput(), 2).raw(",").key("completed");
  w.number(static_cast<long long>(r.completed)).raw(",").key("p50_s").number(r.percentile(50), 6);
  w.raw(",").key("p90_s").number(r.percentile(90), 6).raw(",").key("p99_s").number(r.percentile(99), 6);
  w.raw(",").key("max_s").number(r.latencies_s.empty() ? 0 : r.latencies_s.back(), 6);
  w.raw(",").key("peak_rss_bytes").number(static_cast<long long>(peak_rss_bytes));
  w.raw(",").key("cpu_ms_per_aggregation").number(cpu_ms, 4).raw(",").key("errors").raw("{");
  bool first = true;
  for (const auto &[kind, count] : r.errors) {
    w.raw(first ? "" : ",").key(kind).number(static_cast<long long>(count));
    first = false;
  }
  w.raw("}}");
}

int load(const common_options &o, const std::string &levels, std::size_t num, double duration_s, bool sync,
         std::size_t max_aggregations, double warmup_s) {
  std::string json = R"({"command":"load","runs":[)";
  chart_series p50{"p50", "#1f77b4", {}}, p90{"p90", "#2ca02c", {}}, p99{"p99", "#d62728", {}},
      worst{"max", "#999", {}};
  std::printf("%8s %10s %8s %8s %8s %8s %8s %10s %12s  %s\n", "clients", "aggr/s", "p50 s", "p90 s", "p99 s", "max s",
              "ok", "peak RSS", "CPU/aggr", "errors");
  auto report = report_of(
      o, std::string{"Closed-loop load, "} + (sync ? "sync baseline" : "async") + ", N=" + std::to_string(num));
  report.columns = {"clients", "aggr/s", "p50 s",         "p90 s",         "p99 s",
                    "max s",   "ok",     "peak RSS (MB)", "CPU/aggr (ms)", "errors"};
  bool clean = true;
  for (const std::size_t clients : numbers(levels)) {
    target t;
    start(t, o, clients + 64, max_aggregations);
    const auto before = t.pid ? usage_of(t.pid) : process_usage{};
    load_settings settings;
    settings.url = t.url(num, sync);
    settings.clients = clients;
    settings.duration = std::chrono::milliseconds{static_cast<long long>(duration_s * 1000)};
    settings.warmup = std::chrono::milliseconds{static_cast<long long>(warmup_s * 1000)};
    const load_result r = run_load(settings, [clients](double elapsed, std::size_t ok, std::size_t failed) {
      std::fprintf(stderr, "\r[load clients=%zu] %5.1f s  %8zu ok  %6zu errors  %8.1f/s   ", clients, elapsed, ok,
                   failed, elapsed > 0 ? static_cast<double>(ok) / elapsed : 0.0);
    });
    std::fprintf(stderr, "\r%80s\r", "");
    const auto after = t.pid ? usage_of(t.pid) : process_usage{};
    const double cpu_ms =
        r.completed ? (after.cpu_seconds - before.cpu_seconds) * 1000.0 / static_cast<double>(r.completed) : 0;
    std::string errors;
    std::size_t error_count = 0;
    for (const auto &[kind, count] : r.errors) {
      errors += kind + "=" + std::to_string(count) + " ";
      error_count += count;
    }
    clean = clean && error_count == 0;
    std::printf("%8zu %10.1f %8.4f %8.4f %8.4f %8.4f %8zu %8.1f MB %9.3f ms  %s\n", clients, r.throughput(),
                r.percentile(50), r.percentile(90), r.percentile(99), r.latencies_s.empty() ? 0 : r.latencies_s.back(),
                r.completed, static_cast<double>(after.peak_rss_bytes) / 1e6, cpu_ms,
                errors.empty() ? "none" : errors.c_str());
    std::fflush(stdout);
    report.rows.push_back({std::to_string(clients), fixed(r.throughput(), 1), fixed(r.percentile(50), 4),
                           fixed(r.percentile(90), 4), fixed(r.percentile(99), 4),
                           fixed(r.latencies_s.empty() ? 0 : r.latencies_s.back(), 4), std::to_string(r.completed),
                           fixed(static_cast<double>(after.peak_rss_bytes) / 1e6, 1), fixed(cpu_ms, 3),
                           errors.empty() ? "none" : errors});
    const auto c = static_cast<double>(clients);
    p50.points.emplace_back(c, r.percentile(50));
    p90.points.emplace_back(c, r.percentile(90));
    p99.points.emplace_back(c, r.percentile(99));
    worst.points.emplace_back(c, r.latencies_s.empty() ? 0 : r.latencies_s.back());
    write_run(json, clients, num, sync, r, after.peak_rss_bytes, cpu_ms);
  }
  json += "]}\n";
  save(o.json_file, json, "JSON");
  const std::string chart = line_chart("Latency vs concurrent clients (N=" + std::to_string(num) + ")",
                                       "concurrent clients", "seconds", {p50, p90, p99, worst}, false);
  save(o.svg_file, chart, "SVG chart");
  report.charts.push_back(chart);
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  return clean ? 0 : 1;
}

}  // namespace

subcommand add_load(CLI::App &app, common_options &o) {
  auto command = add_subcommand(app, o, "load", "closed-loop load at one or more concurrencies", 1000);
  struct options {
    std::string clients = "100,1000";
    std::size_t num = 10;
    double duration = 30;
    std::size_t max_aggregations = 2000;
    bool sync = false;
    double warmup = 0;
  };
  auto given = std::make_shared<options>();
  CLI::App *sub = command.app;
  sub->add_option("--clients", given->clients, "comma-separated concurrencies")->capture_default_str();
  sub->add_option("--num", given->num, "upstream calls per aggregation")->capture_default_str();
  sub->add_option("--duration", given->duration, "seconds per concurrency, after a 1 s ramp")->capture_default_str();
  sub->add_option("--max-aggregations", given->max_aggregations, "the started aggregator's server.max_aggregations")
      ->capture_default_str();
  sub->add_flag("--sync", given->sync, "load the sync baseline instead");
  sub->add_option("--warmup", given->warmup, "seconds from the start whose requests stay out of the percentiles")
      ->capture_default_str();
  sub->add_option("--svg", o.svg_file, "write a latency-percentiles-vs-concurrency chart (SVG)");
  command.run = [given](const common_options &common) {
    return load(common, given->clients, given->num, given->duration, given->sync, given->max_aggregations,
                given->warmup);
  };
  return command;
}

}  // namespace agg::bench
