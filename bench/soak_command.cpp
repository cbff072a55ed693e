#include "bench/soak_command.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/text/json_writer.hpp"
#include "bench/load_run.hpp"
#include "bench/svg_chart.hpp"

namespace agg::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Least-squares slope of y over x.
double slope(const std::vector<std::pair<double, double>> &points) {
  if (points.size() < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto &[x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const auto n = static_cast<double>(points.size());
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

}  // namespace

int soak_command(const common_options &o, std::size_t clients, std::size_t num, double duration_s, double sample_s,
                 double warmup_s) {
  target t;
  start(t, o, clients + 256, 2'000);
  if (t.pid == 0) throw std::invalid_argument("soak samples the aggregator's memory: give --pid with --target");
  load_settings settings;
  settings.url = t.url(num, false);
  settings.clients = clients;
  settings.duration = std::chrono::milliseconds{static_cast<long long>(duration_s * 1000)};
  struct sample {
    double t_s;
    process_usage usage;
    std::size_t completed;
  };
  std::vector<sample> samples;
  std::atomic<std::size_t> completed{0};
  std::atomic<bool> running{true};
  const auto began = clock_type::now();
  std::thread sampler{[&] {
    for (auto next = began; running.load();
         next += std::chrono::milliseconds{static_cast<long long>(sample_s * 1000)}) {
      while (running.load() && clock_type::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds{50});
      if (!running.load()) break;
      samples.push_back(
          {std::chrono::duration<double>(clock_type::now() - began).count(), usage_of(t.pid), completed.load()});
    }
  }};
  const auto result = run_load(settings, [&](double elapsed, std::size_t ok, std::size_t failed) {
    completed.store(ok);
    std::fprintf(stderr, "\r[soak] %6.0f s  %9zu ok  %6zu errors   ", elapsed, ok, failed);
  });
  running.store(false);
  sampler.join();
  std::fprintf(stderr, "\r%80s\r", "");
  std::size_t errors = 0;
  for (const auto &[kind, count] : result.errors) errors += count;

  std::vector<std::pair<double, double>> rss_after_warmup;
  chart_series rss{"RSS (MB)", "#1f77b4", {}}, fds{"descriptors / 10", "#2ca02c", {}},
      threads{"threads", "#d62728", {}};
  std::printf("soak: %zu clients, N=%zu, %.0f s; a sample every %.0f s\n", clients, num, duration_s, sample_s);
  std::printf("%8s %10s %8s %8s %12s\n", "t s", "RSS MB", "fds", "threads", "aggregations");
  auto report = report_of(o, "Soak: " + std::to_string(clients) + " clients for " + fixed(duration_s, 0) + " s");
  report.columns = {"t s", "RSS MB", "fds", "threads", "aggregations so far"};
  std::string json = R"({"command":"soak","clients":)" + std::to_string(clients) + R"(,"samples":[)";
  for (const auto &s : samples) {
    const double mb = static_cast<double>(s.usage.rss_bytes) / 1e6;
    std::printf("%8.0f %10.1f %8zu %8zu %12zu\n", s.t_s, mb, s.usage.descriptors, s.usage.threads, s.completed);
    report.rows.push_back({fixed(s.t_s, 0), fixed(mb, 1), std::to_string(s.usage.descriptors),
                           std::to_string(s.usage.threads), std::to_string(s.completed)});
    rss.points.emplace_back(s.t_s, mb);
    fds.points.emplace_back(s.t_s, static_cast<double>(s.usage.descriptors) / 10);
    threads.points.emplace_back(s.t_s, static_cast<double>(s.usage.threads));
    if (s.t_s >= warmup_s) rss_after_warmup.emplace_back(s.t_s / 60.0, mb);
    agg::text::json_writer w{json};
    w.raw(json.back() == '[' ? "{" : ",{").key("t_s").number(s.t_s, 1).raw(",").key("rss_bytes");
    w.number(static_cast<long long>(s.usage.rss_bytes)).raw(",").key("descriptors");
    w.number(static_cast<long long>(s.usage.descriptors)).raw(",").key("threads");
    w.number(static_cast<long long>(s.usage.threads)).raw("}");
  }
  const double mb_per_min = slope(rss_after_warmup);
  std::printf("%.1f aggregations/s, %zu errors; RSS slope after %.0f s: %+.3f MB/min\n", result.throughput(), errors,
              warmup_s, mb_per_min);
  json += R"(],"errors":)" + std::to_string(errors) + R"(,"rss_slope_mb_per_min":)" + fixed(mb_per_min, 4) + "}\n";
  save(o.json_file, json, "JSON");
  const std::string chart = line_chart("Soak: the aggregator's RSS, descriptors and threads", "seconds", "MB / count",
                                       {rss, fds, threads}, false);
  save(o.svg_file, chart, "SVG chart");
  report.charts.push_back(chart);
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  const bool flat = errors == 0 && mb_per_min <= 1.0;
  if (!flat) std::printf("soak: FAILED (errors, or RSS growing faster than 1 MB/min)\n");
  return flat ? 0 : 1;
}

subcommand add_soak(CLI::App &app, common_options &o) {
  auto command =
      add_subcommand(app, o, "soak", "moderate load for a long time, sampling RSS, descriptors and threads", 50);
  struct options {
    std::size_t clients = 50;
    std::size_t num = 10;
    double duration = 600, sample = 10, warmup = 60;
  };
  auto given = std::make_shared<options>();
  CLI::App *sub = command.app;
  sub->add_option("--clients", given->clients, "concurrent clients")->capture_default_str();
  sub->add_option("--num", given->num, "upstream calls per aggregation")->capture_default_str();
  sub->add_option("--duration", given->duration, "seconds")->capture_default_str();
  sub->add_option("--sample", given->sample, "seconds between samples")->capture_default_str();
  sub->add_option("--warmup", given->warmup, "seconds left out of the RSS slope")->capture_default_str();
  sub->add_option("--svg", o.svg_file, "write the RSS/descriptors/threads chart (SVG)");
  command.run = [given](const common_options &common) {
    return soak_command(common, given->clients, given->num, given->duration, given->sample, given->warmup);
  };
  return command;
}

}  // namespace agg::bench
