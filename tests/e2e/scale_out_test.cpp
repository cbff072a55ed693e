// Two aggregator replicas behind nginx (Debian's nginx-light), one config: requests reach both, and
// keep working when one replica stops. Also the access log of a real binary.

#include <catch2/catch.hpp>

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "aggregator/process/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/nginx_proxy.hpp"
#include "tests/support/scratch_dir.hpp"

using agg::process::child_process;
using agg::testing::eventually;
using agg::testing::scratch_dir;

namespace {

/// Requests answered with status 200 by the replica, from its own /metrics (on its control plane).
double answered_by(int port) {
  httplib::Client http{"127.0.0.1", port};
  const auto r = http.Get("/metrics");
  REQUIRE(r);
  static const std::regex sample{R"re(aggregator_requests_total\{route="demo",status="200"\} (\d+))re"};
  std::smatch m;
  return std::regex_search(r->body, m, sample) ? std::stod(m[1]) : 0;
}

}  // namespace

TEST_CASE("two replicas behind nginx share the load and survive one stopping") {
  INFO("nginx is missing: scripts/install-deps.sh installs it (Debian's nginx-light)");
  REQUIRE(std::filesystem::exists(agg::testing::nginx_proxy::binary));
  agg::testing::local_upstream upstream{std::chrono::milliseconds{20}};
  scratch_dir dir;
  const auto config =
      dir.file("aggregator.json", R"({"routes":[{"name":"demo","path":"/api/aggregated","num":{"default":3,"max":10},)"
                                  R"("upstreams":[{"url":")" +
                                      upstream.api("task_id={i}") + R"(","repeat":true}]}]})");
  const std::vector<std::string> replica_args{
      AGG_AGGREGATOR_BINARY, "--config",    config,        "--listen", "127.0.0.1:0",
      "--admin-listen",      "127.0.0.1:0", "--log-level", "warn"};
  child_process first{replica_args};
  child_process second{replica_args};
  const int first_port = first.listening_port();
  const int first_control = first.listening_port();
  const int second_port = second.listening_port();
  const int second_control = second.listening_port();

  agg::testing::nginx_proxy nginx{{first_port, second_port}};
  REQUIRE(nginx.started());
  httplib::Client front{"127.0.0.1", nginx.port()};

  const auto all_answered = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const auto r = front.Get("/api/aggregated?num=3");
      if (!r || r->status != 200) return false;
      if (boost::json::parse(r->body).at("responses").as_array().size() != 3) return false;
    }
    return true;
  };
  CHECK(all_answered(20));
  CHECK(answered_by(first_control) > 0);
  CHECK(answered_by(second_control) > 0);
  CHECK(answered_by(first_control) + answered_by(second_control) == 20);

  first.signal(SIGTERM);
  CHECK(first.wait() == 0);
  const double before = answered_by(second_control);
  CHECK(all_answered(20));  // nginx skips the stopped replica: nothing fails
  CHECK(answered_by(second_control) == before + 20);
}

TEST_CASE("the binary writes one JSON access line per request") {
  agg::testing::local_upstream upstream;
  scratch_dir dir;
  const auto config = dir.file("aggregator.json", R"({"routes":[{"name":"demo","path":"/api/aggregated","upstreams":[)"
                                                  R"({"url":")" +
                                                      upstream.api("task_id=a") + R"("}]}]})");
  child_process aggregator{{AGG_AGGREGATOR_BINARY, "--config", config, "--listen", "127.0.0.1:0", "--admin-listen",
                            "127.0.0.1:0", "--log-format", "json"}};
  const int port = aggregator.listening_port();
  httplib::Client http{"127.0.0.1", port};
  REQUIRE(http.Get("/api/aggregated", {{"X-Request-Id", "probe-1"}}));
  aggregator.signal(SIGTERM);
  bool found = false;
  for (std::string line = aggregator.line(); !line.empty(); line = aggregator.line()) {
    INFO(line);
    if (line.front() != '{') continue;                        // stdout's route listing shares the pipe
    const auto entry = boost::json::parse(line).as_object();  // every log line is JSON
    if (!entry.contains("request_id") || entry.at("request_id").as_string() != "probe-1") continue;
    found = true;
    CHECK(entry.at("method").as_string() == "GET");
    CHECK(entry.at("path").as_string() == "/api/aggregated");
    CHECK(entry.at("route").as_string() == "demo");
    CHECK(entry.at("status").as_int64() == 200);
    CHECK(entry.at("upstream_calls").as_int64() == 1);
    CHECK(entry.at("upstream_failures").as_int64() == 0);
    CHECK(entry.at("duration_ms").as_double() >= 0);
  }
  CHECK(found);
  CHECK(aggregator.wait() == 0);
}
