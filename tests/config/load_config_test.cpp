#include "aggregator/config/load_config.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

using agg::config::config_errors;
using agg::config::parse_config;
using agg::config::service_config;

namespace {

/// The errors of a config that must be rejected, as "path: message" lines.
std::vector<std::string> problems(const std::string &json) {
  const auto parsed = parse_config(json);
  REQUIRE(std::holds_alternative<config_errors>(parsed));
  std::vector<std::string> lines;
  for (const auto &e : std::get<config_errors>(parsed)) lines.push_back(to_string(e));
  return lines;
}

bool mentions(const std::vector<std::string> &lines, const std::string &needle) {
  for (const auto &l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

const std::string good_route =
    R"({"name":"r","path":"/api/r","upstreams":[{"url":"http://127.0.0.1:9008/api/?task_id={i}","repeat":true}]})";

}  // namespace

TEST_CASE("the embedded default config is configs/default.json, byte for byte") {
  std::ifstream file{AGG_SOURCE_DIR "/configs/default.json", std::ios::binary};
  std::ostringstream text;
  text << file.rdbuf();
  CHECK(agg::config::default_config_json() == text.str());
}

TEST_CASE("the default config defines the demo route: num calls to the bundled upstream") {
  const auto parsed = parse_config(agg::config::default_config_json());
  REQUIRE(std::holds_alternative<service_config>(parsed));
  const auto &config = std::get<service_config>(parsed);
  CHECK(config.server.host == "127.0.0.1");
  CHECK(config.server.port == 8080);
  REQUIRE(config.routes.size() == 1);
  const auto &route = *config.routes[0];
  CHECK(route.path == "/api/aggregated");
  CHECK(route.sync_path() == "/api/aggregated_sync");
  REQUIRE(route.num);
  CHECK(route.num->default_count == 10);
  REQUIRE(route.upstreams.size() == 1);
  CHECK(route.upstreams[0].repeat);
  CHECK(route.upstreams[0].url.text() == "http://127.0.0.1:9008/api/?task_id={i}");
}

TEST_CASE("a minimal config takes defaults for everything but its routes") {
  const auto parsed = parse_config(R"({"routes":[)" + good_route + "]}");
  REQUIRE(std::holds_alternative<service_config>(parsed));
  const auto &config = std::get<service_config>(parsed);
  CHECK(config.client.shards_per_loop == 64);
  CHECK(config.routes[0]->num->max_count == 1000);
}

TEST_CASE("invalid JSON is reported with its line and column") {
  const auto lines = problems("{\n  \"routes\": [,]\n}");
  REQUIRE(lines.size() == 1);
  CHECK(mentions(lines, "line 2, column"));
}

TEST_CASE("config errors name the JSON path of the problem") {
  CHECK(mentions(problems(R"({"routes":[{"name":"r","path":"/r","upstreams":[{"url":"ftp://x/y"}]}]})"),
                 "routes[0].upstreams[0].url: not an http(s) URL"));
  CHECK(mentions(problems(R"({"routes":[)" + good_route + R"(],"sever":{}})"), "sever: unknown key"));
  CHECK(mentions(problems(R"({"server":{"listen":"nowhere"},"routes":[)" + good_route + "]}"),
                 "server.listen: must be HOST:PORT"));
  CHECK(mentions(problems(R"({"server":{"threads":0},"routes":[)" + good_route + "]}"),
                 "server.threads: must be an integer from 1"));
  CHECK(mentions(problems(R"({"client":{"loops":"two"},"routes":[)" + good_route + "]}"),
                 "client.loops: must be an integer"));
  CHECK(mentions(problems(R"({})"), "routes: is required"));
  CHECK(mentions(problems(R"({"routes":[]})"), "routes: must define at least one route"));
  CHECK(mentions(problems(R"({"routes":[{"name":"r","path":"/r","upstreams":[]}]})"),
                 "routes[0].upstreams: must list at least one upstream"));
  CHECK(mentions(problems(R"({"routes":[{"name":"r","path":"r","upstreams":[{"url":"http://h/"}]}]})"),
                 "routes[0].path: must start with '/'"));
  CHECK(mentions(
      problems(
          R"({"routes":[{"name":"r","path":"/r","num":{"default":20,"max":10},"upstreams":[{"url":"http://h/{i}","repeat":true}]}]})"),
      "routes[0].num.default: must not exceed max"));
}

TEST_CASE("every problem is reported, not just the first") {
  const auto lines = problems(
      R"({"server":{"listen":"x"},"routes":[{"name":"Bad Name","path":"/r","upstreams":[{"url":"nope"},{"url":"http://h/{i}"}]}]})");
  CHECK(lines.size() >= 4);
  CHECK(mentions(lines, "server.listen"));
  CHECK(mentions(lines, "routes[0].name"));
  CHECK(mentions(lines, "routes[0].upstreams[0].url"));
  CHECK(mentions(lines, "routes[0].upstreams[1].url: {i} is only defined in an entry with \"repeat\": true"));
}

TEST_CASE("two routes may not share a name or a path") {
  const auto lines = problems(R"({"routes":[)" + good_route + "," + good_route + "]}");
  CHECK(mentions(lines, "routes[1].name: duplicate route name"));
  CHECK(mentions(lines, "routes[1].path: path already served"));
}

TEST_CASE("template slots must be known and stay out of the host") {
  CHECK(mentions(problems(R"({"routes":[{"name":"r","path":"/r","upstreams":[{"url":"http://h/{city}"}]}]})"),
                 "slot {city} is neither i, num nor a parameter"));
  CHECK(mentions(
      problems(R"({"routes":[{"name":"r","path":"/r","params":{"h":{}},"upstreams":[{"url":"http://{h}/x"}]}]})"),
      "slots may only stand in the path or query"));
  CHECK(mentions(
      problems(R"({"routes":[{"name":"r","path":"/r","params":{"p":{}},"upstreams":[{"url":"http://h:{p}/x"}]}]})"),
      "slots may only stand in the path or query"));
}

TEST_CASE("an unreadable config file is an error, not a crash") {
  const auto loaded = agg::config::load_config_file("/nonexistent/aggregator.json");
  REQUIRE(std::holds_alternative<config_errors>(loaded));
  CHECK(to_string(std::get<config_errors>(loaded).at(0)).find("cannot read") != std::string::npos);
}

TEST_CASE("listen addresses are HOST:PORT") {
  CHECK(agg::config::parse_listen_address("127.0.0.1:8080") ==
        std::pair<std::string, std::uint16_t>{"127.0.0.1", 8080});
  CHECK(agg::config::parse_listen_address("localhost:0")->second == 0);
  CHECK_FALSE(agg::config::parse_listen_address("127.0.0.1"));
  CHECK_FALSE(agg::config::parse_listen_address(":80"));
  CHECK_FALSE(agg::config::parse_listen_address("h:65536"));
  CHECK_FALSE(agg::config::parse_listen_address("h:80x"));
}

TEST_CASE("failure settings are validated with their paths") {
  const std::string base = R"({"name":"r","path":"/r","upstreams":[{"url":"http://h/x","required":"yes"}],)";
  const auto lines = problems(
      R"({"routes":[)" + base +
      R"("partial_status":201,"deadline_ms":0,"accept_non_json":1,"forward_headers":["X-Ok","Host","bad header"]}]})");
  CHECK(mentions(lines, "routes[0].upstreams[0].required: must be true or false"));
  CHECK(mentions(lines, "routes[0].partial_status: must be 200, 206, 207 or 502"));
  CHECK(mentions(lines, "routes[0].deadline_ms: must be an integer from 1"));
  CHECK(mentions(lines, "routes[0].accept_non_json: must be true or false"));
  CHECK(mentions(lines, "routes[0].forward_headers[1]: cannot forward the hop-by-hop header Host"));
  CHECK(mentions(lines, "routes[0].forward_headers[2]: must be a header name"));
  CHECK(mentions(
      problems(R"({"routes":[{"name":"r","path":"/r","params":{"timeout_ms":{}},"upstreams":[{"url":"http://h/"}]}]})"),
      "routes[0].params.timeout_ms"));
}
