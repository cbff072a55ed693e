#include "bench/flood_command.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "aggregator/text/json_writer.hpp"
#include "bench/flood_run.hpp"
#include "bench/h2_flood.hpp"
#include "bench/load_run.hpp"

namespace agg::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Host and port of an http:// URL.
std::pair<std::string, std::uint16_t> host_and_port(const std::string &url) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http") throw std::invalid_argument("not an http:// URL: " + url);
  return {parsed->host(), static_cast<std::uint16_t>(parsed->port_number() == 0 ? 80 : parsed->port_number())};
}

/// One phase of a flood run: the clients' load with a health probe beside it.
struct flood_phase {
  load_result load;
  probe_result health;
  process_usage usage;
};

flood_phase run_phase(const target &t, const load_settings &settings, const std::string &host, std::uint16_t port,
                      const char *label) {
  flood_phase phase;
  std::thread prober{[&] {
    phase.health = probe(host, port, "/health", settings.ramp + settings.duration, std::chrono::milliseconds{100});
  }};
  phase.load = run_load(settings, [label](double elapsed, std::size_t ok, std::size_t failed) {
    std::fprintf(stderr, "\r[flood: %s] %5.1f s  %8zu ok  %6zu errors   ", label, elapsed, ok, failed);
  });
  prober.join();
  std::fprintf(stderr, "\r%80s\r", "");
  if (t.pid) phase.usage = usage_of(t.pid);
  return phase;
}

/// The kinds of flood a run puts beside the clients, one phase each.
struct flood_kinds {
  std::size_t idle = 0, drip = 0, slow = 0, pipelined = 0, storm = 0;
  std::size_t control = 0;  ///< idle connections against the control plane (its /health probed)
  std::size_t h2_rapid_reset = 0, h2_streams = 0, h2_zero_window = 0;  ///< HTTP/2 connections (h2c)
  bool full = false;  ///< the data plane's whole server.max_connections and more, idle and reconnecting
};

/// One row of the flood report: a phase, and what the flood itself counted meanwhile.
struct phase_row {
  std::string name;
  flood_phase p;
  std::string flood_said;
};

/// Waits until `hostile` holds its connections open (or as many as the server keeps, or 30 s).
template <typename Flood>
std::size_t settle(const Flood &hostile) {
  const auto settle_by = clock_type::now() + std::chrono::seconds{30};
  std::size_t seen = 0;
  for (auto still_since = clock_type::now();
       hostile.open() < hostile.size() && clock_type::now() < settle_by &&
       clock_type::now() - still_since < std::chrono::seconds{1};) {  // a server at its cap keeps no more
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    if (hostile.open() != seen) still_since = clock_type::now();
    seen = hostile.open();
  }
  return hostile.open();
}

/// A rate a flood's counter went at over a phase: "<per second> <what>".
std::string rate(std::size_t before, std::size_t after, double seconds, const char *what) {
  return ", " + fixed(static_cast<double>(after - before) / seconds, 0) + " " + what;
}

/// Runs the clients beside `f` (once its connections are open, or as many as the server keeps):
/// the phase, probed at `f`'s port, and what the flood said.
phase_row flooded_phase(const target &t, const load_settings &settings, const std::string &name, flood_settings f) {
  flood hostile{f};
  const std::size_t open_at_start = settle(hostile);
  const std::size_t answers_before = hostile.pipelined_answers(), stormed_before = hostile.storm_connections();
  const auto started = clock_type::now();
  phase_row row{name, run_phase(t, settings, f.host, f.port, name.c_str()), ""};
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  row.flood_said =
      std::to_string(open_at_start) + " open, " + std::to_string(hostile.closed_by_server()) + " closed by the server";
  if (f.pipelined > 0)
    row.flood_said += rate(answers_before, hostile.pipelined_answers(), seconds, "pipelined answers/s");
  if (f.storm > 0) row.flood_said += rate(stormed_before, hostile.storm_connections(), seconds, "connects/s");
  return row;
}

/// The same beside HTTP/2 clients that misbehave (h2c).
phase_row flooded_phase(const target &t, const load_settings &settings, const std::string &name, h2_flood_settings f) {
  h2_flood hostile{f};
  const std::size_t open_at_start = settle(hostile);
  const std::size_t answers_before = hostile.answers();
  const auto started = clock_type::now();
  phase_row row{name, run_phase(t, settings, f.host, f.port, name.c_str()), ""};
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  row.flood_said =
      std::to_string(open_at_start) + " open, " + std::to_string(hostile.closed_by_server()) + " closed by the server";
  if (f.many_streams > 0) row.flood_said += rate(answers_before, hostile.answers(), seconds, "answers/s");
  return row;
}

/// Prints, saves and reports the phases; true when no phase had an error or a failed probe.
bool report_phases(const common_options &o, std::size_t clients, std::size_t num, double duration_s,
                   const std::vector<phase_row> &rows) {
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
  json += "]}\n";
  save(o.json_file, json, "JSON");
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  return clean;
}

int flood_command(const common_options &o, std::size_t clients, std::size_t num, double duration_s,
                  const flood_kinds &kinds, std::size_t max_aggregations) {
  target t;
  const std::size_t most = std::max({kinds.idle, kinds.drip, kinds.slow, kinds.pipelined});
  const std::size_t cap = most + clients + 2'000;  // room above the flood for the clients and probes
  start(t, o, cap, max_aggregations);
  const auto [host, port] =
      t.services ? std::pair<std::string, std::uint16_t>{"127.0.0.1", t.services->port()} : host_and_port(o.target_url);
  load_settings settings;
  settings.url = t.url(num, false);
  settings.clients = clients;
  settings.duration = std::chrono::milliseconds{static_cast<long long>(duration_s * 1000)};

  std::vector<phase_row> rows;
  rows.push_back({"without a flood", run_phase(t, settings, host, port, "without a flood"), ""});
  const auto baseline = rows.front().p.usage;
  const auto flooded = [&](const std::string &name, flood_settings f) {
    f.host = host;
    if (f.port == 0) f.port = port;
    rows.push_back(flooded_phase(t, settings, name, f));
  };
  if (kinds.idle > 0) flooded(std::to_string(kinds.idle) + " idle", {.idle = kinds.idle});
  if (kinds.drip > 0) flooded(std::to_string(kinds.drip) + " drip-fed heads", {.drip = kinds.drip});
  if (kinds.slow > 0) flooded(std::to_string(kinds.slow) + " slow readers", {.slow = kinds.slow});
  if (kinds.pipelined > 0) flooded(std::to_string(kinds.pipelined) + " pipelining x64", {.pipelined = kinds.pipelined});
  if (kinds.storm > 0) flooded(std::to_string(kinds.storm) + " connect/close storms", {.storm = kinds.storm});
  const auto flooded_h2 = [&](const std::string &name, h2_flood_settings f) {
    f.host = host;
    f.port = port;
    f.reset_target = boost::urls::parse_uri(settings.url)->encoded_target();
    rows.push_back(flooded_phase(t, settings, name, f));
  };
  if (kinds.h2_rapid_reset > 0)
    flooded_h2("h2 rapid reset x" + std::to_string(kinds.h2_rapid_reset), {.rapid_reset = kinds.h2_rapid_reset});
  if (kinds.h2_streams > 0)
    flooded_h2(std::to_string(kinds.h2_streams) + " h2 x100 streams", {.many_streams = kinds.h2_streams});
  if (kinds.h2_zero_window > 0)
    flooded_h2(std::to_string(kinds.h2_zero_window) + " h2 zero windows", {.zero_window = kinds.h2_zero_window});
  // The control plane beside its idle flood: its own /health is probed.
  if (kinds.control > 0 && t.services)
    flooded(std::to_string(kinds.control) + " idle, control plane",
            {.host = "127.0.0.1", .port = static_cast<std::uint16_t>(t.services->admin_port()), .idle = kinds.control});
  // Every connection the data plane takes, and 500 more, reconnecting as the server closes them.
  if (kinds.full && t.services)
    flooded("full data plane (" + std::to_string(cap + 500) + " idle)", {.idle = cap + 500});
  // After the floods: descriptors back where they were (the server closes what the storm left as
  // its request timeout passes), memory near it.
  process_usage after;
  for (const auto until = clock_type::now() + std::chrono::seconds{15}; t.pid && clock_type::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    after = usage_of(t.pid);
    if (after.descriptors <= baseline.descriptors) break;
  }
  const bool clean = report_phases(o, clients, num, duration_s, rows);
  if (t.pid)
    std::printf("after the floods: RSS %.1f MB (%.1f before), %zu descriptors (%zu before)\n",
                static_cast<double>(after.rss_bytes) / 1e6, static_cast<double>(baseline.rss_bytes) / 1e6,
                after.descriptors, baseline.descriptors);
  return clean ? 0 : 1;
}

}  // namespace

subcommand add_flood(CLI::App &app, common_options &o) {
  auto command = add_subcommand(app, o, "flood",
                                "well-behaved clients and /health probes, first alone, then beside each kind of "
                                "flood: idle, drip-fed, slow readers, pipelining, connect/close storms, HTTP/2 rapid "
                                "resets, many streams, zero windows (0: none)",
                                100);
  struct options {
    flood_kinds kinds{.idle = 10'000,
                      .drip = 1'000,
                      .slow = 1'000,
                      .pipelined = 100,
                      .storm = 2,
                      .control = 1'000,
                      .h2_rapid_reset = 2,
                      .h2_streams = 20,
                      .h2_zero_window = 20};
    std::size_t clients = 100;
    std::size_t num = 10;
    double duration = 20;
    std::size_t max_aggregations = 2000;
  };
  auto given = std::make_shared<options>();
  CLI::App *sub = command.app;
  sub->add_option("--idle", given->kinds.idle, "connections that send nothing")->capture_default_str();
  sub->add_option("--drip", given->kinds.drip, "connections that send a request head one byte per second")
      ->capture_default_str();
  sub->add_option("--slow", given->kinds.slow, "connections that ask for /ui 64 times and never read")
      ->capture_default_str();
  sub->add_option("--pipelined", given->kinds.pipelined, "connections sending 64 pipelined GET /health at a time")
      ->capture_default_str();
  sub->add_option("--storm", given->kinds.storm, "threads opening and closing connections (half with a reset)")
      ->capture_default_str();
  sub->add_option("--h2-rapid-reset", given->kinds.h2_rapid_reset,
                  "h2c connections sending HEADERS + RST_STREAM pairs for the aggregation, 100 per write")
      ->capture_default_str();
  sub->add_option("--h2-streams", given->kinds.h2_streams, "h2c connections keeping 100 /health streams open at a time")
      ->capture_default_str();
  sub->add_option("--h2-zero-window", given->kinds.h2_zero_window,
                  "h2c connections with a zero window asking for /ui on 100 streams, never reading them")
      ->capture_default_str();
  sub->add_option("--control", given->kinds.control, "idle connections against the control plane (its /health probed)")
      ->capture_default_str();
  sub->add_flag("--full", given->kinds.full,
                "a phase with the data plane full: server.max_connections + 500 idle connections, reopened as closed");
  sub->add_option("--clients", given->clients, "well-behaved clients running aggregations")->capture_default_str();
  sub->add_option("--num", given->num, "upstream calls per aggregation")->capture_default_str();
  sub->add_option("--duration", given->duration, "seconds per phase, after a 1 s ramp")->capture_default_str();
  sub->add_option("--max-aggregations", given->max_aggregations, "the started aggregator's server.max_aggregations")
      ->capture_default_str();
  command.run = [given](const common_options &common) {
    return flood_command(common, given->clients, given->num, given->duration, given->kinds, given->max_aggregations);
  };
  return command;
}

}  // namespace agg::bench
