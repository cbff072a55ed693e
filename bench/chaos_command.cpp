#include "bench/chaos_command.hpp"

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

/// A gauge's value in a Prometheus text page; -1 when it is not there.
double gauge(const std::string &page, const std::string &name) {
  const std::size_t at = page.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(page.substr(at + name.size() + 2));
}

/// The aggregator's /metrics page (its control plane), or empty when it did not answer.
std::string metrics_page(int admin_port) {
  const auto reply = agg::client::fetch_blocking(
      {"http://127.0.0.1:" + std::to_string(admin_port) + "/metrics", std::chrono::seconds{5}, 16 << 20}, {});
  return reply.kind == calls::outcome_kind::ok && reply.status == 200 ? reply.body : std::string{};
}

}  // namespace

/// What the chaos run's responses said: how many, which were not whole, and the error kinds each
/// upstream's calls ended with.
struct chaos_tally {
  const std::vector<chaos_fault> &faults;
  std::vector<std::map<std::string, std::size_t>> kinds =
      std::vector<std::map<std::string, std::size_t>>(faults.size());
  std::size_t responses = 0, malformed = 0, unexpected = 0, not_200 = 0;

  void count(const calls::upstream_reply &reply) {
    if (reply.kind != calls::outcome_kind::ok || reply.status != 200) {
      ++not_200;
      return;
    }
    ++responses;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(reply.body, ec);
    const auto *upstreams = ec || !doc.is_object() ? nullptr : doc.as_object().if_contains("upstreams");
    if (upstreams == nullptr || !upstreams->is_array() || upstreams->as_array().size() != faults.size()) {
      ++malformed;
      return;
    }
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const auto &error = upstreams->as_array()[i].as_object().at("error");
      const std::string kind = error.is_null() ? "ok" : std::string{error.at("kind").as_string()};
      ++kinds[i][kind];
      if (std::find(faults[i].kinds.begin(), faults[i].kinds.end(), kind) == faults[i].kinds.end()) ++unexpected;
    }
  }
};

/// Each upstream's expected and seen error kinds, in the table, the report and the JSON.
void report_entries(const chaos_tally &tally, html_report &report, std::string &json) {
  const auto &faults = tally.faults;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    std::string expected, seen;
    for (const auto &k : faults[i].kinds) expected += (expected.empty() ? "" : "|") + k;
    for (const auto &[k, n] : tally.kinds[i]) seen += (seen.empty() ? "" : ", ") + k + " " + std::to_string(n);
    std::printf("%-34s %-22s %s\n", faults[i].query.c_str(), expected.c_str(), seen.c_str());
    report.rows.push_back({faults[i].query, expected, seen});
    text::json_writer w{json};
    w.raw(i == 0 ? "{" : ",{").key("query").string(faults[i].query).raw(",").key("seen").raw("{");
    bool first = true;
    for (const auto &[k, n] : tally.kinds[i]) {
      w.raw(first ? "" : ",").key(k).number(static_cast<long long>(n));
      first = false;
    }
    w.raw("}}");
  }
}

int chaos_command(const common_options &o, std::size_t clients, double duration_s) {
  if (!o.target_url.empty()) throw std::invalid_argument("chaos starts its own aggregator and upstream: no --target");
  target t;
  start(t, o, clients + 2'000, 2'000);
  const auto &faults = chaos_faults();
  load_settings settings;
  settings.url = t.services->chaos_url();
  settings.clients = clients;
  settings.request_timeout = std::chrono::seconds{30};

  // A warm-up at the same concurrency fills the connection pools (idle upstream connections stay
  // open up to curl's 118 s): the descriptor baseline, which the run must not end above by more
  // than 2 % (the pools' own variation; a leak per fault would be tens of thousands).
  settings.duration = std::chrono::seconds{10};
  run_load(settings);
  std::this_thread::sleep_for(std::chrono::seconds{1});
  metrics_page(t.services->admin_port());  // its control-plane connection is part of the baseline too
  const auto baseline = usage_of(t.pid);

  chaos_tally tally{faults};
  settings.on_reply = [&tally](const calls::upstream_reply &reply) { tally.count(reply); };
  settings.duration = std::chrono::milliseconds{static_cast<long long>(duration_s * 1000)};
  const auto result = run_load(settings, [](double elapsed, std::size_t ok, std::size_t failed) {
    std::fprintf(stderr, "\r[chaos] %5.1f s  %8zu answered  %6zu errors   ", elapsed, ok, failed);
  });
  std::fprintf(stderr, "\r%80s\r", "");
  const auto under_load = usage_of(t.pid);

  // Then the service must come back to rest: nothing in flight, no descriptor more than before.
  double aggregations = -1, transfers = -1;
  process_usage after;
  const auto settle_by = clock_type::now() + std::chrono::seconds{15};
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    const std::string page = metrics_page(t.services->admin_port());
    aggregations = gauge(page, "aggregator_aggregations_in_flight");
    transfers = gauge(page, "aggregator_upstream_transfers_in_flight");
    after = usage_of(t.pid);
  } while ((aggregations != 0 || transfers != 0 || after.descriptors > baseline.descriptors) &&
           clock_type::now() < settle_by);
  const std::size_t descriptor_bound = baseline.descriptors + baseline.descriptors / 50;

  std::printf("chaos: %zu clients for %.0f s against /chaos (%zu upstream calls per aggregation)\n", clients,
              duration_s, faults.size());
  std::printf("%zu responses (%.1f/s), %zu not 200, %zu malformed, %zu calls of an unexpected kind\n", tally.responses,
              result.throughput(), tally.not_200, tally.malformed, tally.unexpected);
  for (const auto &[kind, count] : result.errors) std::printf("  not 200: %s %zu\n", kind.c_str(), count);
  std::printf("%-34s %-22s %s\n", "upstream (injected)", "expected", "error kinds seen");
  auto report = report_of(o, "Faults under load: " + std::to_string(clients) + " clients");
  report.columns = {"upstream (injected)", "expected", "seen"};
  std::string json = R"({"command":"chaos","clients":)" + std::to_string(clients) + R"(,"responses":)" +
                     std::to_string(tally.responses) + R"(,"malformed":)" + std::to_string(tally.malformed) +
                     R"(,"unexpected":)" + std::to_string(tally.unexpected) + R"(,"entries":[)";
  report_entries(tally, report, json);
  std::printf(
      "in flight after: %.0f aggregations, %.0f transfers; descriptors %zu before, %zu under load, %zu after; "
      "RSS %.1f MB before, %.1f MB under load, %.1f MB after\n",
      aggregations, transfers, baseline.descriptors, under_load.descriptors, after.descriptors,
      static_cast<double>(baseline.rss_bytes) / 1e6, static_cast<double>(under_load.rss_bytes) / 1e6,
      static_cast<double>(after.rss_bytes) / 1e6);
  json += R"(],"aggregations_in_flight_after":)" + fixed(aggregations, 0) + R"(,"transfers_in_flight_after":)" +
          fixed(transfers, 0) + R"(,"descriptors_before":)" + std::to_string(baseline.descriptors) +
          R"(,"descriptors_after":)" + std::to_string(after.descriptors) + "}\n";
  save(o.json_file, json, "JSON");
  if (!o.html_file.empty()) save(o.html_file, report.render(), "HTML report");
  const bool clean = tally.responses > 0 && tally.not_200 == 0 && tally.malformed == 0 && tally.unexpected == 0 &&
                     aggregations == 0 && transfers == 0 && after.descriptors <= descriptor_bound;
  if (!clean) std::printf("chaos: FAILED\n");
  return clean ? 0 : 1;
}

subcommand add_chaos(CLI::App &app, common_options &o) {
  auto command = add_subcommand(app, o, "chaos",
                                "closed-loop load on a route whose 20 upstreams mix every fault the upstream "
                                "injects: every response well-formed, every error of its injected kind, then "
                                "nothing in flight and no descriptor more than before",
                                0);
  auto clients = std::make_shared<std::size_t>(200);
  auto duration = std::make_shared<double>(60);
  command.app->add_option("--clients", *clients, "concurrent clients")->capture_default_str();
  command.app->add_option("--duration", *duration, "seconds, after a 1 s ramp")->capture_default_str();
  command.run = [clients, duration](const common_options &given) { return chaos_command(given, *clients, *duration); };
  return command;
}

}  // namespace agg::bench
