// What operators rely on: request ids, Server-Timing, metrics, readiness, overload, shutdown.

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "aggregator/calls/upstream_call.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using namespace std::chrono_literals;
using agg::testing::eventually;
using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

/// The samples of a Prometheus text exposition, by full series name (`name{labels}`), checked for
/// the rules a scraper enforces: every sample's family has a TYPE, values are numbers, and
/// histogram buckets are cumulative and end in +Inf equal to _count.
std::map<std::string, double> parse_exposition(const std::string &text) {
  std::map<std::string, std::string> types;
  std::map<std::string, double> samples;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream words{line.substr(7)};
      std::string name, type;
      words >> name >> type;
      REQUIRE((type == "counter" || type == "gauge" || type == "histogram"));
      types[name] = type;
      continue;
    }
    if (line.starts_with("#")) continue;
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string series = line.substr(0, space);
    std::size_t used = 0;
    const double value = std::stod(line.substr(space + 1), &used);
    REQUIRE(used == line.size() - space - 1);
    const std::string name = series.substr(0, series.find('{'));
    std::string family = name;
    for (const char *suffix : {"_bucket", "_sum", "_count"})
      if (family.ends_with(suffix) && types.contains(family.substr(0, family.size() - std::strlen(suffix))))
        family.resize(family.size() - std::strlen(suffix));
    INFO(line);
    REQUIRE(types.contains(family));
    samples[series] = value;
  }
  return samples;
}

std::string metrics_of(const running_service &service) {
  auto http = service.admin();
  const auto r = http.Get("/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type").starts_with("text/plain"));
  return r->body;
}

}  // namespace

TEST_CASE("every response carries a request id and Server-Timing, JSON bodies carry elapsed") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  for (const char *path : {"/health", "/nope", "/api/demo?num=2", "/api/demo?num=x"}) {
    INFO(path);
    const auto r = http.Get(path);
    REQUIRE(r);
    CHECK(r->get_header_value("X-Request-Id").size() == 16);
    CHECK(r->get_header_value("Server-Timing").starts_with("total;dur="));
    CHECK(boost::json::parse(r->body).at("elapsed").as_double() >= 0);
  }
  const std::string malformed = agg::testing::raw_exchange(service.port(), "BREW / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(malformed.find("X-Request-Id: ") != std::string::npos);
  CHECK(malformed.find("\"elapsed\":") != std::string::npos);
}

TEST_CASE("a valid incoming request id is kept, an invalid one replaced") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  CHECK(http.Get("/health", {{"X-Request-Id", "trace-42.a:b"}})->get_header_value("X-Request-Id") == "trace-42.a:b");
  const auto replaced = http.Get("/health", {{"X-Request-Id", "bad id with spaces"}})->get_header_value("X-Request-Id");
  CHECK(replaced != "bad id with spaces");
  CHECK(replaced.size() == 16);
}

TEST_CASE("an aggregation's Server-Timing has the fetch and one entry per upstream") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  const auto r = service.http().Get("/api/demo?num=3");
  REQUIRE(r);
  const std::string timing = r->get_header_value("Server-Timing");
  CHECK(timing.find(", fetch;dur=") != std::string::npos);
  CHECK(timing.find(", u0;dur=") != std::string::npos);
  CHECK(timing.find(", u2;dur=") != std::string::npos);
  CHECK(timing.find(";desc=\"ok\"") != std::string::npos);
  CHECK(timing.find("u3;") == std::string::npos);
}

TEST_CASE("metrics count requests by route and status, upstream calls by outcome, and expose gauges") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  http.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) REQUIRE(http.Get("/api/demo?num=4")->status == 200);
  REQUIRE(http.Get("/api/demo?num=bad")->status == 400);
  REQUIRE(http.Get("/health")->status == 200);
  const auto samples = parse_exposition(metrics_of(service));
  CHECK(samples.at(R"(aggregator_requests_total{route="demo",status="200"})") == 3);
  CHECK(samples.at(R"(aggregator_requests_total{route="demo",status="400"})") == 1);
  CHECK(samples.at(R"(aggregator_requests_total{route="-",status="200"})") >= 1);
  CHECK(samples.at(R"(aggregator_upstream_calls_total{outcome="ok"})") == 12);
  CHECK(samples.at(R"(aggregator_request_duration_seconds_count{route="demo"})") == 4);
  CHECK(samples.at(R"(aggregator_request_duration_seconds_bucket{route="demo",le="+Inf"})") == 4);
  double previous = 0;
  for (const double le : agg::runtime::metrics::latency_buckets) {
    char key[128];
    std::snprintf(key, sizeof key, R"(aggregator_request_duration_seconds_bucket{route="demo",le="%.9g"})", le);
    const double cumulative = samples.at(key);
    CHECK(cumulative >= previous);
    previous = cumulative;
  }
  CHECK(samples.at("aggregator_aggregations_in_flight") == 0);
  CHECK(samples.at("aggregator_upstream_transfers_in_flight") == 0);
  CHECK(samples.at("aggregator_open_connections") == 1);  // `http`'s keep-alive connection
  CHECK(samples.contains("aggregator_upstream_loop_lag_seconds"));
}

TEST_CASE("ready answers 200 while the upstream loops run") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  const auto ready = http.Get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(boost::json::parse(ready->body).at("status").as_string() == "ready");
}

TEST_CASE("past the aggregation cap the service answers 503 with Retry-After at once") {
  local_upstream upstream;
  auto config = agg::testing::demo_config(upstream.api("delay_ms=60000&task_id={i}"));
  config.server.max_aggregations = 1;
  running_service service{std::move(config)};
  std::optional<httplib::Result> first;
  std::thread holder{[&] { first.emplace(service.http().Get("/api/demo?num=1&timeout_ms=20000")); }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));
  const auto refused = service.http().Get("/api/demo?num=1");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->get_header_value("Retry-After") == "1");
  CHECK(boost::json::parse(refused->body).at("error").at("code").as_string() == "overloaded");
  CHECK(upstream.stats().requests == 1);  // the refused one never reached an upstream
  service.plane().shut_down(0ms);         // cancels the held aggregation: it is answered, not dropped
  holder.join();
  REQUIRE(first);
  REQUIRE(*first);
  CHECK((*first)->status == 502);
  const auto error = boost::json::parse((*first)->body).at("upstreams").at(0).at("error");
  CHECK(error.at("kind").as_string() == "cancelled");
  CHECK(error.at("message").as_string() == agg::calls::cancelled_by_shutdown_grace);
}

TEST_CASE("shutting down lets requests in flight finish within the grace period") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("delay_ms=300&task_id={i}"))};
  std::optional<httplib::Result> answer;
  std::thread client{[&] { answer.emplace(service.http().Get("/api/demo?num=3")); }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 3; }));
  CHECK(service.plane().shut_down(30s));  // nothing had to be cancelled
  client.join();
  REQUIRE(answer);
  REQUIRE(*answer);
  CHECK((*answer)->status == 200);
  CHECK(boost::json::parse((*answer)->body).at("complete").as_bool());
  // Stopped: new connections are refused.
  httplib::Client late{"127.0.0.1", service.port()};
  CHECK_FALSE(late.Get("/health"));
}

TEST_CASE("idle connections cannot starve the control plane: they wait without a worker, and only so many") {
  local_upstream upstream;
  auto config = agg::testing::demo_config(upstream.api("task_id={i}"));
  config.server.threads = 2;
  config.server.admin_max_connections = 16;
  running_service service{std::move(config)};
  // Far more idle connections than workers and than the room holds: the oldest make room.
  std::vector<std::unique_ptr<agg::testing::raw_connection>> idle;
  for (int i = 0; i < 50; ++i) idle.push_back(std::make_unique<agg::testing::raw_connection>(service.admin_port()));
  for (int probe = 0; probe < 10; ++probe) {
    const std::string answer =
        agg::testing::raw_exchange(service.admin_port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    INFO(probe << ": " << answer);
    CHECK(answer.starts_with("HTTP/1.1 200"));
  }
  // At most 16 wait at once: the others were closed by the server (it says so with an end of file).
  std::size_t closed = 0;
  for (const auto &c : idle) closed += c->readable_within(std::chrono::milliseconds{2'000}) ? 1 : 0;
  CHECK(closed >= 50 - 16);
}
