// aggregator-bench: compares the async endpoint with the sync baseline, puts closed-loop load on
// the service, floods it, and sweeps the fan-out width (chaos and soak: chaos_command.cpp,
// soak_command.cpp). Starts the bundled upstream and an aggregator itself,
// or measures a running one (--target).

#include <CLI/CLI.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/process/process_setup.hpp"
#include "aggregator/text/json_writer.hpp"
#include "bench/bench_command.hpp"
#include "bench/bench_services.hpp"
#include "bench/chaos_command.hpp"
#include "bench/flood_run.hpp"
#include "bench/html_report.hpp"
#include "bench/load_run.hpp"
#include "bench/soak_command.hpp"
#include "bench/svg_chart.hpp"

namespace {

using agg::bench::bench_services;
using agg::bench::chart_series;
using agg::bench::common_options;
using agg::bench::fixed;
using agg::bench::load_result;
using agg::bench::report_of;
using agg::bench::save;
using agg::bench::target;
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

void write_summary(agg::text::json_writer &w, const summary &s) {
  w.raw("{").key("runs").number(static_cast<long long>(s.runs)).raw(",").key("failures");
  w.number(static_cast<long long>(s.failures)).raw(",").key("p50_s").number(s.p50, 6).raw(",").key("p95_s");
  w.number(s.p95, 6).raw(",").key("max_s").number(s.max, 6).raw("}");
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
  agg::text::json_writer w{json};
  w.raw("{").key("command").string("compare").raw(",").key("num").number(static_cast<long long>(num));
  w.raw(",").key("async");
  write_summary(w, async);
  w.raw(",").key("sync");
  write_summary(w, sync);
  w.raw(",").key("speedup").number(speedup, 3).raw("}\n");
  save(o.json_file, json, "JSON");
  if (!o.html_file.empty()) {
    auto report = report_of(o, "Async against sync, N=" + std::to_string(num));
    report.facts.emplace_back("speed-up (p50 sync / p50 async)", fixed(speedup, 2) + "x");
    report.columns = {"mode", "N", "runs", "p50 (s)", "p95 (s)", "max (s)", "failed"};
    for (const auto &[name, s] : {std::pair{"async", async}, std::pair{"sync", sync}})
      report.rows.push_back({name, std::to_string(num), std::to_string(s.runs), fixed(s.p50, 4), fixed(s.p95, 4),
                             fixed(s.max, 4), std::to_string(s.failures)});
    save(o.html_file, report.render(), "HTML report");
  }
  return async.failures + sync.failures == 0 ? 0 : 1;
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
    agg::text::json_writer w{json};
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
  const std::string chart = agg::bench::line_chart("Latency vs concurrent clients (N=" + std::to_string(num) + ")",
                                                   "concurrent clients", "seconds", {p50, p90, p99, worst}, false);
  save(o.svg_file, chart, "SVG chart");
  report.charts.push_back(chart);
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  return clean ? 0 : 1;
}

/// Host and port of an http:// URL.
std::pair<std::string, std::uint16_t> host_and_port(const std::string &url) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http") throw std::invalid_argument("not an http:// URL: " + url);
  return {parsed->host(), static_cast<std::uint16_t>(parsed->port_number() == 0 ? 80 : parsed->port_number())};
}

/// One phase of a flood run: the clients' load with a health probe beside it.
struct flood_phase {
  load_result load;
  agg::bench::probe_result health;
  agg::bench::process_usage usage;
};

flood_phase run_phase(const target &t, const agg::bench::load_settings &settings, const std::string &host,
                      std::uint16_t port, const char *label) {
  flood_phase phase;
  std::thread prober{[&] {
    phase.health =
        agg::bench::probe(host, port, "/health", settings.ramp + settings.duration, std::chrono::milliseconds{100});
  }};
  phase.load = agg::bench::run_load(settings, [label](double elapsed, std::size_t ok, std::size_t failed) {
    std::fprintf(stderr, "\r[flood: %s] %5.1f s  %8zu ok  %6zu errors   ", label, elapsed, ok, failed);
  });
  prober.join();
  std::fprintf(stderr, "\r%80s\r", "");
  if (t.pid) phase.usage = agg::bench::usage_of(t.pid);
  return phase;
}

/// The kinds of flood a run puts beside the clients, one phase each.
struct flood_kinds {
  std::size_t idle = 0, drip = 0, slow = 0, pipelined = 0, storm = 0;
};

int flood_command(const common_options &o, std::size_t clients, std::size_t num, double duration_s,
                  const flood_kinds &kinds, std::size_t max_aggregations) {
  target t;
  const std::size_t most = std::max({kinds.idle, kinds.drip, kinds.slow, kinds.pipelined});
  start(t, o, most + clients + 2'000, max_aggregations);  // room above the flood for the clients and probes
  const auto [host, port] =
      t.services ? std::pair<std::string, std::uint16_t>{"127.0.0.1", t.services->port()} : host_and_port(o.target_url);
  agg::bench::load_settings settings;
  settings.url = t.url(num, false);
  settings.clients = clients;
  settings.duration = std::chrono::milliseconds{static_cast<long long>(duration_s * 1000)};

  struct phase_row {
    std::string name;
    flood_phase p;
    std::string flood_said;  // what the flood itself counted
  };
  std::vector<phase_row> rows;
  rows.push_back({"without a flood", run_phase(t, settings, host, port, "without a flood"), ""});
  const auto baseline = rows.front().p.usage;
  const auto flood_phase_of = [&](const std::string &name, agg::bench::flood_settings f) {
    f.host = host;
    f.port = port;
    agg::bench::flood hostile{f};
    const auto settle_by = clock_type::now() + std::chrono::seconds{30};
    while (hostile.open() < hostile.size() && clock_type::now() < settle_by)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    const std::size_t open_at_start = hostile.open();
    const std::size_t answers_before = hostile.pipelined_answers(), stormed_before = hostile.storm_connections();
    const auto started = clock_type::now();
    phase_row row{name, run_phase(t, settings, host, port, name.c_str()), ""};
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    row.flood_said = std::to_string(open_at_start) + " open, " + std::to_string(hostile.closed_by_server()) +
                     " closed by the server";
    if (f.pipelined > 0)
      row.flood_said += ", " + fixed(static_cast<double>(hostile.pipelined_answers() - answers_before) / seconds, 0) +
                        " pipelined answers/s";
    if (f.storm > 0)
      row.flood_said +=
          ", " + fixed(static_cast<double>(hostile.storm_connections() - stormed_before) / seconds, 0) + " connects/s";
    rows.push_back(std::move(row));
  };
  if (kinds.idle > 0) flood_phase_of(std::to_string(kinds.idle) + " idle", {.idle = kinds.idle});
  if (kinds.drip > 0) flood_phase_of(std::to_string(kinds.drip) + " drip-fed heads", {.drip = kinds.drip});
  if (kinds.slow > 0) flood_phase_of(std::to_string(kinds.slow) + " slow readers", {.slow = kinds.slow});
  if (kinds.pipelined > 0)
    flood_phase_of(std::to_string(kinds.pipelined) + " pipelining x64", {.pipelined = kinds.pipelined});
  if (kinds.storm > 0) flood_phase_of(std::to_string(kinds.storm) + " connect/close storms", {.storm = kinds.storm});
  // After the floods: descriptors back where they were (the server closes what the storm left as
  // its request timeout passes), memory near it.
  agg::bench::process_usage after;
  for (const auto until = clock_type::now() + std::chrono::seconds{15}; t.pid && clock_type::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    after = agg::bench::usage_of(t.pid);
    if (after.descriptors <= baseline.descriptors) break;
  }

  std::printf("flood: %zu clients, N=%zu, %.0f s per phase\n", clients, num, duration_s);
  std::printf("%-26s %9s %8s %8s %8s %7s %10s %10s %10s %7s %9s %6s  %s\n", "phase", "aggr/s", "p50 s", "p99 s",
              "max s", "errors", "health p50", "health p99", "health max", "failed", "RSS", "fds", "the flood");
  std::string json = R"({"command":"flood","clients":)" + std::to_string(clients) + R"(,"phases":[)";
  auto report = report_of(o, "Floods beside " + std::to_string(clients) + " clients");
  report.columns = {"phase",      "aggr/s",     "p50 s",         "p99 s",    "max s", "errors",   "health p50",
                    "health p99", "health max", "health failed", "RSS (MB)", "fds",   "the flood"};
  bool clean = true;
  for (const auto &[name, p, said] : rows) {
    std::size_t errors = 0;
    for (const auto &[kind, count] : p.load.errors) errors += count;
    clean = clean && errors == 0 && p.health.failures == 0;
    const double max_s = p.load.latencies_s.empty() ? 0 : p.load.latencies_s.back();
    const double health_max = p.health.latencies_s.empty() ? 0 : p.health.latencies_s.back();
    std::printf("%-26s %9.1f %8.4f %8.4f %8.4f %7zu %9.2fms %9.2fms %9.2fms %7zu %6.1f MB %6zu  %s\n", name.c_str(),
                p.load.throughput(), p.load.percentile(50), p.load.percentile(99), max_s, errors,
                p.health.percentile(50) * 1e3, p.health.percentile(99) * 1e3, health_max * 1e3, p.health.failures,
                static_cast<double>(p.usage.rss_bytes) / 1e6, p.usage.descriptors, said.c_str());
    report.rows.push_back({name, fixed(p.load.throughput(), 1), fixed(p.load.percentile(50), 4),
                           fixed(p.load.percentile(99), 4), fixed(max_s, 4), std::to_string(errors),
                           fixed(p.health.percentile(50) * 1e3, 2) + " ms",
                           fixed(p.health.percentile(99) * 1e3, 2) + " ms", fixed(health_max * 1e3, 2) + " ms",
                           std::to_string(p.health.failures), fixed(static_cast<double>(p.usage.rss_bytes) / 1e6, 1),
                           std::to_string(p.usage.descriptors), said});
    agg::text::json_writer w{json};
    if (json.back() != '[') w.raw(",");
    w.raw("{").key("phase").string(name).raw(",").key("aggregations_per_s").number(p.load.throughput(), 2);
    w.raw(",").key("p50_s").number(p.load.percentile(50), 6).raw(",").key("p99_s").number(p.load.percentile(99), 6);
    w.raw(",").key("errors").number(static_cast<long long>(errors));
    w.raw(",").key("health_p50_s").number(p.health.percentile(50), 6);
    w.raw(",").key("health_p99_s").number(p.health.percentile(99), 6);
    w.raw(",").key("health_failures").number(static_cast<long long>(p.health.failures));
    w.raw(",").key("rss_bytes").number(static_cast<long long>(p.usage.rss_bytes));
    w.raw(",").key("descriptors").number(static_cast<long long>(p.usage.descriptors));
    w.raw(",").key("flood").string(said).raw("}");
  }
  if (t.pid)
    std::printf("after the floods: RSS %.1f MB (%.1f before), %zu descriptors (%zu before)\n",
                static_cast<double>(after.rss_bytes) / 1e6, static_cast<double>(baseline.rss_bytes) / 1e6,
                after.descriptors, baseline.descriptors);
  json += "]}\n";
  save(o.json_file, json, "JSON");
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  return clean ? 0 : 1;
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

int main(int argc, char **argv) {
  agg::process::raise_fd_limit();  // a flood or a thousand clients hold a descriptor each
  CLI::App app{
      "aggregator-bench: async vs sync, load, floods, faults under load, soaks and fan-out sweeps against the "
      "aggregator.\n"
      "Starts the bundled upstream and an aggregator from the build tree unless --target is given."};
  app.require_subcommand(1);
  common_options o;
  o.command = agg::bench::command_line(argc, argv);
  long long compare_delay = 1000, load_delay = 1000, sweep_delay = 10;  // each command's own default
  const auto common = [&o](CLI::App *sub, long long &delay) {
    sub->add_option("--binaries", o.binaries, "build folder with aggregator/aggregator and upstream/upstream");
    sub->add_option("--target", o.target_url,
                    "a running aggregator's async endpoint, e.g. http://127.0.0.1:8080/api/aggregated "
                    "(the sync one is the same path + _sync; a query stays; --num 0 adds no num)");
    sub->add_option("--pid", o.pid, "with --target: the aggregator's pid, for its RSS and CPU figures");
    sub->add_option("--delay-ms", delay, "upstream delay of the started upstream")->capture_default_str();
    sub->add_option("--json", o.json_file, "also write the results as JSON to this file");
    sub->add_option("--html", o.html_file, "also write one HTML file with the table and the charts");
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

  flood_kinds kinds{.idle = 10'000, .drip = 1'000, .slow = 1'000, .pipelined = 100, .storm = 2};
  std::size_t flood_clients = 100;
  long long flood_delay = 100;
  double flood_duration = 20;
  CLI::App *fl = app.add_subcommand("flood",
                                    "well-behaved clients and /health probes, first alone, then beside each kind of "
                                    "flood: idle, drip-fed, slow readers, pipelining, connect/close storms (0: none)");
  fl->add_option("--idle", kinds.idle, "connections that send nothing")->capture_default_str();
  fl->add_option("--drip", kinds.drip, "connections that send a request head one byte per second")
      ->capture_default_str();
  fl->add_option("--slow", kinds.slow, "connections that ask for /ui 64 times and never read")->capture_default_str();
  fl->add_option("--pipelined", kinds.pipelined, "connections sending 64 pipelined GET /health at a time")
      ->capture_default_str();
  fl->add_option("--storm", kinds.storm, "threads opening and closing connections (half with a reset)")
      ->capture_default_str();
  fl->add_option("--clients", flood_clients, "well-behaved clients running aggregations")->capture_default_str();
  fl->add_option("--num", num, "upstream calls per aggregation")->capture_default_str();
  fl->add_option("--duration", flood_duration, "seconds per phase, after a 1 s ramp")->capture_default_str();
  fl->add_option("--max-aggregations", max_aggregations, "the started aggregator's server.max_aggregations")
      ->capture_default_str();
  common(fl, flood_delay);

  std::size_t chaos_clients = 200;
  double chaos_duration = 60;
  long long chaos_delay = 0;
  CLI::App *ch = app.add_subcommand("chaos",
                                    "closed-loop load on a route whose 20 upstreams mix every fault the upstream "
                                    "injects: every response well-formed, every error of its injected kind, then "
                                    "nothing in flight and no descriptor more than before");
  ch->add_option("--clients", chaos_clients, "concurrent clients")->capture_default_str();
  ch->add_option("--duration", chaos_duration, "seconds, after a 1 s ramp")->capture_default_str();
  common(ch, chaos_delay);

  std::size_t soak_clients = 50;
  double soak_duration = 600, soak_sample = 10, soak_warmup = 60;
  long long soak_delay = 50;
  CLI::App *sk = app.add_subcommand("soak", "moderate load for a long time, sampling RSS, descriptors and threads");
  sk->add_option("--clients", soak_clients, "concurrent clients")->capture_default_str();
  sk->add_option("--num", num, "upstream calls per aggregation")->capture_default_str();
  sk->add_option("--duration", soak_duration, "seconds")->capture_default_str();
  sk->add_option("--sample", soak_sample, "seconds between samples")->capture_default_str();
  sk->add_option("--warmup", soak_warmup, "seconds left out of the RSS slope")->capture_default_str();
  sk->add_option("--svg", o.svg_file, "write the RSS/descriptors/threads chart (SVG)");
  common(sk, soak_delay);

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
  o.delay_ms = *cmp  ? compare_delay
               : *ld ? load_delay
               : *fl ? flood_delay
               : *ch ? chaos_delay
               : *sk ? soak_delay
                     : sweep_delay;
  try {
    if (*cmp) return compare(o, num, repeat);
    if (*ld) return load(o, clients, num, duration, sync, max_aggregations, warmup);
    if (*fl) return flood_command(o, flood_clients, num, flood_duration, kinds, max_aggregations);
    if (*ch) return chaos_command(o, chaos_clients, chaos_duration);
    if (*sk) return soak_command(o, soak_clients, num, soak_duration, soak_sample, soak_warmup);
    return sweep(o, ns, repeat);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "aggregator-bench: %s\n", e.what());
    return 1;
  }
}
