// The built binaries as a user runs them: `upstream`, `aggregator`, `aggregator --check`.

#include <catch2/catch.hpp>

#include <httplib.h>

#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "aggregator/process/child_process.hpp"

using agg::process::child_process;

namespace {

/// The port from a "... listening on http://127.0.0.1:PORT ..." line.
std::string write_temp(const std::string &name, const std::string &text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream{path} << text;
  return path;
}

}  // namespace

TEST_CASE("aggregator --check names every problem with its JSON path and exits 2") {
  const auto file = write_temp("agg_bad_config.json",
                               R"({"routes":[{"name":"r","path":"/r","upstreams":[{"url":"ftp://x"}]}],"extra":1})");
  child_process check{{AGG_AGGREGATOR_BINARY, "--check", file}};
  const std::string output = check.rest();
  CHECK(check.wait() == 2);
  CHECK(output.find("routes[0].upstreams[0].url: not an http(s) URL") != std::string::npos);
  CHECK(output.find("extra: unknown key") != std::string::npos);
}

TEST_CASE("aggregator --check accepts the shipped configs") {
  for (const char *config : {AGG_SOURCE_DIR "/configs/default.json", AGG_SOURCE_DIR "/configs/behaviours.json",
                             AGG_SOURCE_DIR "/configs/bff.json", AGG_SOURCE_DIR "/bench/compose-config.json",
                             AGG_SOURCE_DIR "/bench/stages-config.json"}) {
    INFO(config);
    child_process check{{AGG_AGGREGATOR_BINARY, "--check", config}};
    CHECK(check.rest().find("ok") != std::string::npos);
    CHECK(check.wait() == 0);
  }
}

TEST_CASE("aggregator --version names its version and its libraries'") {
  child_process version{{AGG_AGGREGATOR_BINARY, "--version"}};
  const std::string output = version.rest();
  CHECK(version.wait() == 0);
  for (const char *name : {"aggregator 0.", "libcurl 7.", "OpenSSL 3.", "Boost 1.", "cpp-httplib 0."}) {
    INFO(name << " in " << output);
    CHECK(output.find(name) != std::string::npos);
  }
}

TEST_CASE("aggregator --check checks what start-up would: the flags beside it, the --config file, the environment") {
  ::setenv("AGG_CHECK_UPSTREAM", "127.0.0.1:9", 1);
  const auto file = write_temp("agg_check_flags.json", R"({
    "server": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:19741"},
    "client": {"origins": {"https://nobody.example": {"tls": {"verify": true}}}},
    "routes": [{"name": "r", "path": "/r", "upstreams": [{"url": "http://${AGG_CHECK_UPSTREAM}/a"},
                                                        {"url": "http://127.0.0.1:9/${AGG_CHECK_PATH:-b}"}]}]})");
  {
    child_process check{{AGG_AGGREGATOR_BINARY, "--check", file}};
    const std::string output = check.rest();
    CHECK(check.wait() == 0);
    INFO(output);
    CHECK(output.find("warning: client.origins[\"https://nobody.example\"]: no route's upstream URL") !=
          std::string::npos);
    CHECK(output.find("reads ${AGG_CHECK_UPSTREAM}: set") != std::string::npos);
    CHECK(output.find("reads ${AGG_CHECK_PATH}: not set, its default taken") != std::string::npos);
    CHECK(output.find("127.0.0.1:9") == std::string::npos);  // names, never values
  }
  {
    // --listen on the control plane's address: start-up would fail to bind; --check says so.
    child_process check{{AGG_AGGREGATOR_BINARY, "--check", file, "--listen", "127.0.0.1:19741"}};
    const std::string output = check.rest();
    CHECK(check.wait() == 2);
    CHECK(output.find("server.admin_listen: 127.0.0.1:19741 is where server.listen (127.0.0.1:19741) listens too") !=
          std::string::npos);
  }
  {
    child_process start{{AGG_AGGREGATOR_BINARY, "--config", file, "--listen", "0.0.0.0:19741"}};
    CHECK(start.rest().find("the data plane and the control plane need a port each") != std::string::npos);
    CHECK(start.wait() == 2);
  }
  {
    // --check without a file checks the --config file.
    const auto bad = write_temp("agg_check_config_flag.json", R"({"routes":[{"name":"r","path":"/r",
      "upstreams":[{"url":"http://${AGG_CHECK_UNSET}/"}]}]})");
    child_process check{{AGG_AGGREGATOR_BINARY, "--config", bad, "--check"}};
    const std::string output = check.rest();
    CHECK(check.wait() == 2);
    CHECK(output.find("routes[0].upstreams[0].url: the environment variable AGG_CHECK_UNSET is not set") !=
          std::string::npos);
    child_process both{{AGG_AGGREGATOR_BINARY, "--config", bad, "--check", file}};
    CHECK(both.rest().find("name two configs") != std::string::npos);
    CHECK(both.wait() == 2);
  }
}

TEST_CASE("both planes listen on IPv6 addresses, and --check takes them") {
  child_process check{{AGG_AGGREGATOR_BINARY, "--check", "--listen", "[::1]:8080", "--admin-listen", "[::1]:8081"}};
  CHECK(check.rest().find("ok") != std::string::npos);
  CHECK(check.wait() == 0);
  child_process refused{{AGG_AGGREGATOR_BINARY, "--check", "--listen", "::1:8080"}};
  CHECK(refused.rest().find("looks like an IPv6 address without its brackets") != std::string::npos);
  CHECK(refused.wait() == 2);

  child_process upstream{{AGG_UPSTREAM_BINARY, "--listen", "127.0.0.1:0", "--delay-ms", "1"}};
  const int upstream_port = upstream.listening_port();
  const auto config = write_temp("agg_ipv6.json", R"({"routes":[{"name":"r","path":"/api/r","upstreams":[
    {"url":"http://127.0.0.1:)" + std::to_string(upstream_port) +
                                                      R"(/api/?task_id=1"}]}]})");
  child_process service{{AGG_AGGREGATOR_BINARY, "--config", config, "--listen", "[::1]:0", "--admin-listen", "[::1]:0",
                         "--log-level", "warn"}};
  const int port = service.listening_port();
  const int admin_port = service.listening_port();
  httplib::Client data{"::1", port};
  const auto answer = data.Get("/api/r");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(boost::json::parse(answer->body).at("succeeded") == 1);
  httplib::Client control{"::1", admin_port};
  const auto health = control.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  // Not on IPv4: [::1] is the IPv6 loopback alone.
  httplib::Client v4{"127.0.0.1", port};
  CHECK_FALSE(v4.Get("/health"));
  service.signal(SIGTERM);
  CHECK(service.wait() == 0);
  upstream.signal(SIGTERM);
  CHECK(upstream.wait() == 0);
}

TEST_CASE("aggregator refuses to start on a bad config, with exit code 2") {
  const auto file = write_temp("agg_bad_start.json", R"({"routes":[]})");
  child_process start{
      {AGG_AGGREGATOR_BINARY, "--config", file, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}};
  CHECK(start.rest().find("routes: must define at least one route") != std::string::npos);
  CHECK(start.wait() == 2);
}

TEST_CASE("the upstream and aggregator binaries serve the demo and stop cleanly on SIGTERM") {
  child_process upstream{{AGG_UPSTREAM_BINARY, "--listen", "127.0.0.1:0", "--delay-ms", "50"}};
  const int upstream_port = upstream.listening_port();
  const auto config = write_temp(
      "agg_e2e_config.json",
      R"({"routes":[{"name":"demo","path":"/api/aggregated","num":{"default":10,"max":100},"upstreams":[{"url":"http://127.0.0.1:)" +
          std::to_string(upstream_port) + R"(/api/?task_id={i}","repeat":true}]}]})");
  child_process aggregator{
      {AGG_AGGREGATOR_BINARY, "--config", config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}};
  const int port = aggregator.listening_port();

  httplib::Client http{"127.0.0.1", port};
  const auto result = http.Get("/api/aggregated?num=4");
  REQUIRE(result);
  CHECK(result->status == 200);
  const auto doc = boost::json::parse(result->body);
  CHECK(doc.at("responses").as_array().size() == 4);
  CHECK(doc.at("responses").as_array()[3].at("task_id").as_string() == "3");

  aggregator.signal(SIGTERM);
  CHECK(aggregator.wait() == 0);
  upstream.signal(SIGTERM);
  CHECK(upstream.wait() == 0);
}

TEST_CASE("with --log-format json the start banner is JSON lines too, and it names each route's three endpoints") {
  const auto config =
      write_temp("agg_banner_config.json",
                 R"({"routes":[{"name":"demo","path":"/api/d","upstreams":[{"url":"http://127.0.0.1:9/api/"}]}]})");
  child_process aggregator{{AGG_AGGREGATOR_BINARY, "--config", config, "--listen", "127.0.0.1:0", "--admin-listen",
                            "127.0.0.1:0", "--log-format", "json"}};
  std::string messages;
  // data plane, control plane, upstream client, the route (and any warning on the way: JSON as well)
  for (int i = 0; i < 8 && messages.find("(stream)") == std::string::npos; ++i) {
    const std::string line = aggregator.line();
    INFO(line);
    const auto doc = boost::json::parse(line).as_object();  // throws on a plain-text line
    CHECK(doc.at("level").as_string() == "info");
    messages += std::string{doc.at("message").as_string()} + "\n";
  }
  CHECK(messages.find("aggregator listening on http://127.0.0.1:") != std::string::npos);
  CHECK(messages.find("GET /api/d  (async)   GET /api/d_sync  (sync baseline)   GET /api/d/stream  (stream)") !=
        std::string::npos);
  aggregator.signal(SIGTERM);
  CHECK(aggregator.wait() == 0);
}
