// aggregator-bench: compares the async endpoint with the sync baseline, puts closed-loop load on
// the service, and sweeps the fan-out width. Starts the bundled upstream and an aggregator itself,
// or measures a running one (--target).

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/fanout/json_writer.hpp"
#include "bench/bench_services.hpp"
#include "bench/load_run.hpp"
#include "bench/svg_chart.hpp"

namespace {

using agg::bench::bench_services;
using agg::bench::chart_series;
using agg::bench::load_result;
using clock_type = std::chrono::steady_clock;

/// Where requests go: a service this tool started, or one given with --target.
struct target {
  std::optional<bench_services> services;
  std::string base;  // with --target
  pid_t pid = 0;     // for RSS and CPU figures; 0 when unknown

  [[nodiscard]] std::string url(std::size_t num, bool sync) const {
    if (services) return services->url(num, sync);
    return base + (sync ? "_sync" : "") + "?num=" + std::to_string(num);
  }
};

struct common_options {
  std::string binaries = agg::bench::build_dir_of_self();
  std::string target_url;
  pid_t pid = 0;
  long long delay_ms = 1000;
  std::string json_file;
  std::string svg_file;
};

void start(target &t, const common_options &o, std::size_t max_connections, std::size_t max_aggregations) {
  if (!o.target_url.empty()) {
    t.base = o.target_url;
    t.pid = o.pid;
    return;
  }
  t.services.emplace(o.binaries, std::chrono::milliseconds{o.delay_ms}, max_connections, max_aggregations);
  t.pid = t.services->aggregator_pid();
}

/// Wall time of one GET, or nullopt when it did not answer 200.
std::optional<double> timed_get(const std::string &url) {
  const auto sent = clock_type::now();
  const auto reply = agg::client::fetch_blocking({url, std::chrono::hours{1}, 256 << 20}, {});
  if (reply.error != agg::client::transfer_error::none || reply.status != 200) return std::nullopt;
  return std::chrono::duration<double>(clock_type::now() - sent).count();
}

struct summary {
  std::size_t runs = 0;
  std::size_t failures = 0;
  double p50 = 0, p95 = 0, max = 0;
};

summary summarize(std::vector<double> seconds, std::size_t failures) {
  summary s;
  s.failures = failures;
  s.runs = seconds.size();
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
  return summarize(std::move(seconds), failures);
}

void write_summary(agg::fanout::json_writer &w, const summary &s) {
  w.raw("{").key("runs").number(static_cast<long long>(s.runs)).raw(",").key("failures");
  w.number(static_cast<long long>(s.failures)).raw(",").key("p50_s").number(s.p50, 6).raw(",").key("p95_s");
  w.number(s.p95, 6).raw(",").key("max_s").number(s.max, 6).raw("}");
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
  std::string json;
  agg::fanout::json_writer w{json};
  w.raw("{").key("command").string("compare").raw(",").key("num").number(static_cast<long long>(num));
  w.raw(",").key("async");
  write_summary(w, async);
  w.raw(",").key("sync");
  write_summary(w, sync);
  w.raw(",").key("speedup").number(speedup, 3).raw("}\n");
  save(o.json_file, json, "JSON");
  return async.failures + sync.failures == 0 ? 0 : 1;
}

int load(const common_options &o, const std::string &levels, std::size_t num, double duration_s, bool sync,
         std::size_t max_aggregations, double warmup_s) {
  std::string json = R"({"command":"load","runs":[)";
  chart_series p50{"p50", "#1f77b4", {}}, p90{"p90", "#2ca02c", {}}, p99{"p99", "#d62728", {}},
      worst{"max", "#999", {}};
  std::printf("%8s %10s %8s %8s %8s %8s %8s %10s %12s  %s\n", "clients", "aggr/s", "p50 s", "p90 s", "p99 s", "max s",
              "ok", "peak RSS", "CPU/aggr", "errors");
  bool clean = true;
  for (const std::size_t clients : numbers(levels)) {
    target t;
    start(t, o, clients + 64, max_aggregations);
    const auto before = t.pid ? agg::bench::usage_of(t.pid) : agg::bench::process_usage{};
    agg::bench::load_settings settings;
    settings.url = t.url(num, sync);
    settings.clients = clients;
    settings.duration = std::chrono::milliseconds{static_cast<long long>(duration_s * 1000)};
    settings.warmup = std::chrono::milliseconds{static_cast<long long>(warmup_s * 1000)};
    const load_result r = agg::bench::run_load(settings, [clients](double elapsed, std::size_t ok, std::size_t failed) {
      std::fprintf(stderr, "\r[load clients=%zu] %5.1f s  %8zu ok  %6zu errors  %8.1f/s   ", clients, elapsed, ok,
                   failed, elapsed > 0 ? static_cast<double>(ok) / elapsed : 0.0);
    });
    std::fprintf(stderr, "\r%80s\r", "");
    const auto after = t.pid ? agg::bench::usage_of(t.pid) : agg::bench::process_usage{};
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
    const auto c = static_cast<double>(clients);
    p50.points.emplace_back(c, r.percentile(50));
    p90.points.emplace_back(c, r.percentile(90));
    p99.points.emplace_back(c, r.percentile(99));
    worst.points.emplace_back(c, r.latencies_s.empty() ? 0 : r.latencies_s.back());
    agg::fanout::json_writer w{json};
    if (json.back() != '[') w.raw(",");
    w.raw("{")
        .key("clients")
        .number(static_cast<long long>(clients))
        .raw(",")
        .key("num")
        .number(static_cast<long long>(num));
    w.raw(",").key("mode").string(sync ? "sync" : "async").raw(",").key("seconds").number(r.seconds, 3);
    w.raw(",").key("aggregations_per_s").number(r.throughput(), 2).raw(",").key("completed");
    w.number(static_cast<long long>(r.completed)).raw(",").key("p50_s").number(r.percentile(50), 6);
    w.raw(",").key("p90_s").number(r.percentile(90), 6).raw(",").key("p99_s").number(r.percentile(99), 6);
    w.raw(",").key("max_s").number(r.latencies_s.empty() ? 0 : r.latencies_s.back(), 6);
    w.raw(",").key("peak_rss_bytes").number(static_cast<long long>(after.peak_rss_bytes));
    w.raw(",").key("cpu_ms_per_aggregation").number(cpu_ms, 4).raw(",").key("errors").raw("{");
    bool first = true;
    for (const auto &[kind, count] : r.errors) {
      w.raw(first ? "" : ",").key(kind).number(static_cast<long long>(count));
      first = false;
    }
    w.raw("}}");
  }
  json += "]}\n";
  save(o.json_file, json, "JSON");
  save(o.svg_file,
       agg::bench::line_chart("Latency vs concurrent clients (N=" + std::to_string(num) + ")", "concurrent clients",
                              "seconds", {p50, p90, p99, worst}, false),
       "SVG chart");
  return clean ? 0 : 1;
}

int sweep(const common_options &o, const std::string &ns, std::size_t repeat) {
  target t;
  start(t, o, 256, 2000);
  timed_get(t.url(1, false));
  chart_series async{"async", "#1f77b4", {}}, sync{"sync", "#d62728", {}};
  std::string json = R"({"command":"sweep","delay_ms":)" + std::to_string(o.delay_ms) + R"(,"points":[)";
  std::printf("%6s %12s %12s %10s\n", "N", "async p50 s", "sync p50 s", "speed-up");
  for (const std::size_t n : numbers(ns)) {
    const summary a = measure(t, n, false, repeat, "async");
    const summary s = measure(t, n, true, repeat, "sync");
    std::printf("%6zu %12.4f %12.4f %9.2fx\n", n, a.p50, s.p50, a.p50 > 0 ? s.p50 / a.p50 : 0);
    std::fflush(stdout);
    async.points.emplace_back(static_cast<double>(n), a.p50);
    sync.points.emplace_back(static_cast<double>(n), s.p50);
    agg::fanout::json_writer w{json};
    if (json.back() != '[') w.raw(",");
    w.raw("{").key("num").number(static_cast<long long>(n)).raw(",").key("async");
    write_summary(w, a);
    w.raw(",").key("sync");
    write_summary(w, s);
    w.raw("}");
  }
  json += "]}\n";
  save(o.json_file, json, "JSON");
  save(o.svg_file,
       agg::bench::line_chart("Latency vs fan-out width (upstream delay " + std::to_string(o.delay_ms) + " ms)",
                              "N upstream calls", "seconds (p50)", {async, sync}, true),
       "SVG chart");
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{
      "aggregator-bench: async vs sync, load, and fan-out sweeps against the aggregator.\n"
      "Starts the bundled upstream and an aggregator from the build tree unless --target is given."};
  app.require_subcommand(1);
  common_options o;
  long long compare_delay = 1000, load_delay = 1000, sweep_delay = 10;  // each command's own default
  const auto common = [&o](CLI::App *sub, long long &delay) {
    sub->add_option("--binaries", o.binaries, "build folder with aggregator/aggregator and upstream/upstream");
    sub->add_option("--target", o.target_url,
                    "a running aggregator's async endpoint, e.g. http://127.0.0.1:8080/api/aggregated "
                    "(the sync one is the same path + _sync)");
    sub->add_option("--pid", o.pid, "with --target: the aggregator's pid, for its RSS and CPU figures");
    sub->add_option("--delay-ms", delay, "upstream delay of the started upstream")->capture_default_str();
    sub->add_option("--json", o.json_file, "also write the results as JSON to this file");
  };

  std::size_t num = 10, repeat = 5, max_aggregations = 2000;
  double duration = 30;
  double warmup = 0;
  std::string clients = "100,1000", ns = "1,10,100,1000";
  bool sync = false;
  CLI::App *cmp = app.add_subcommand("compare", "the same N calls through the async and the sync endpoint");
  common(cmp, compare_delay);
  cmp->add_option("--num", num, "upstream calls per aggregation")->capture_default_str();
  cmp->add_option("--repeat", repeat, "requests per endpoint")->capture_default_str();

  CLI::App *ld = app.add_subcommand("load", "closed-loop load at one or more concurrencies");
  ld->add_option("--clients", clients, "comma-separated concurrencies")->capture_default_str();
  ld->add_option("--num", num, "upstream calls per aggregation")->capture_default_str();
  ld->add_option("--duration", duration, "seconds per concurrency, after a 1 s ramp")->capture_default_str();
  ld->add_option("--max-aggregations", max_aggregations, "the started aggregator's server.max_aggregations")
      ->capture_default_str();
  ld->add_flag("--sync", sync, "load the sync baseline instead");
  ld->add_option("--warmup", warmup, "seconds from the start whose requests stay out of the percentiles")
      ->capture_default_str();
  ld->add_option("--svg", o.svg_file, "write a latency-percentiles-vs-concurrency chart (SVG)");

  CLI::App *sw = app.add_subcommand("sweep", "N from 1 to 1000 for both modes");
  sw->add_option("--ns", ns, "comma-separated fan-out widths")->capture_default_str();
  sw->add_option("--repeat", repeat, "requests per point and mode")->capture_default_str();
  sw->add_option("--svg", o.svg_file, "write a latency-vs-N chart (SVG)");
  common(ld, load_delay);
  common(sw, sweep_delay);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.delay_ms = *cmp ? compare_delay : (*ld ? load_delay : sweep_delay);
  try {
    if (*cmp) return compare(o, num, repeat);
    if (*ld) return load(o, clients, num, duration, sync, max_aggregations, warmup);
    return sweep(o, ns, repeat);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "aggregator-bench: %s\n", e.what());
    return 1;
  }
}
