#include "aggregator/config/load_config.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/routes.hpp"

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
  CHECK(config.client.receive_buffer_bytes == 4'096);
  CHECK(config.routes[0]->num->max_count == 1000);
}

TEST_CASE("listen addresses: IPv4, names, and IPv6 in brackets, which the config keeps without them") {
  using agg::config::parse_listen_address;
  CHECK(parse_listen_address("127.0.0.1:8080") == std::pair<std::string, std::uint16_t>{"127.0.0.1", 8080});
  CHECK(parse_listen_address("localhost:0") == std::pair<std::string, std::uint16_t>{"localhost", 0});
  CHECK(parse_listen_address("[::1]:8080") == std::pair<std::string, std::uint16_t>{"::1", 8080});
  CHECK(parse_listen_address("[::]:80") == std::pair<std::string, std::uint16_t>{"::", 80});
  CHECK(parse_listen_address("[fe80::1:2]:1") == std::pair<std::string, std::uint16_t>{"fe80::1:2", 1});
  for (const char *bad : {"::1:8080", "[::1]", "[::1:8080", "[zz::1]:80", "[127.0.0.1]:80", "[]:80", "[::1]:65536",
                          "host:", ":80", "a b:80"}) {
    INFO(bad);
    CHECK_FALSE(parse_listen_address(bad));
  }
  CHECK(agg::config::address_text("::1", 8080) == "[::1]:8080");
  CHECK(agg::config::address_text("127.0.0.1", 8080) == "127.0.0.1:8080");
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
  CHECK(mentions(problems(R"({"server":{"admin_listen":"::1:8081"},"routes":[)" + good_route + "]}"),
                 "server.admin_listen: must be HOST:PORT: an IPv4 address, a host name, or an IPv6 address in "
                 "brackets, e.g. 127.0.0.1:8080 or [::1]:8080 (::1:8081 looks like an IPv6 address without its "
                 "brackets)"));
  CHECK(mentions(problems(R"({"server":{"threads":0},"routes":[)" + good_route + "]}"),
                 "server.threads: must be an integer from 1"));
  CHECK(mentions(problems(R"({"client":{"loops":"two"},"routes":[)" + good_route + "]}"),
                 "client.loops: must be an integer"));
  CHECK(mentions(problems(R"({"client":{"receive_buffer_bytes":512},"routes":[)" + good_route + "]}"),
                 "client.receive_buffer_bytes: must be an integer from 1024 to 524288"));
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
                 "slot {city} is neither i, num, item, a parameter"));
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

TEST_CASE("call behaviours are read per route and per entry, an entry's own replacing its route's") {
  const auto parsed = parse_config(
      R"({"client":{"max_connections_per_origin":32},"routes":[{"name":"r","path":"/r","concurrency":4,
      "retry":{"attempts":4,"backoff_ms":20,"on":["http_429"],"budget":{"ratio":0.1,"min_per_second":2,"window_ms":5000}},
      "hedge":{"after":"p95","after_ms":5,"max_extra":2},"breaker":{"failures":7,"open_ms":100},
      "cache":{"ttl_ms":500,"max_bytes":4096,"honor_cache_control":true,"stale_if_error_ms":1000},"coalesce":true,
      "upstreams":[{"url":"http://h/a"},{"url":"http://h/b","retry":false,"hedge":{"after_ms":9},"coalesce":false}]}]})");
  REQUIRE(std::holds_alternative<service_config>(parsed));
  const auto &config = std::get<service_config>(parsed);
  CHECK(config.client.max_connections_per_origin == 32);
  const auto &route = *config.routes.at(0);
  CHECK(route.concurrency == 4);
  const auto &a = route.upstreams.at(0).policy;
  REQUIRE(a.retry);
  CHECK(a.retry->attempts == 4);
  CHECK(a.retry->backoff == std::chrono::milliseconds{20});
  CHECK(a.retry->answers(agg::config::retry_on::http_429));
  CHECK_FALSE(a.retry->answers(agg::config::retry_on::http_5xx));
  REQUIRE(a.budget);
  CHECK(a.budget->ratio == Approx(0.1));
  CHECK(a.budget->floor == 2);
  REQUIRE(a.hedge);
  CHECK(a.hedge->after_percentile == Approx(0.95));
  CHECK(a.hedge->max_extra == 2);
  REQUIRE(a.breaker);
  CHECK(a.breaker->failures == 7);
  REQUIRE(a.cache);
  CHECK(a.cache->honor_cache_control);
  CHECK(a.cache->stale_if_error == std::chrono::milliseconds{1000});
  CHECK(a.coalesce);
  const auto &b = route.upstreams.at(1).policy;
  CHECK_FALSE(b.retry);
  REQUIRE(b.hedge);
  CHECK(b.hedge->after == std::chrono::milliseconds{9});
  CHECK_FALSE(b.hedge->after_percentile);
  CHECK(b.breaker);  // not set on the entry: the route's
  CHECK_FALSE(b.coalesce);
}

TEST_CASE("call behaviours are validated with their JSON paths") {
  const auto lines = problems(
      R"({"client":{"max_connections_per_origin":-1},"routes":[{"name":"r","path":"/r","concurrency":0,
      "retry":{"attempts":0,"on":["http_5xx","sometimes"],"budget":{"ratio":-1},"tries":3},
      "hedge":{"after":"p100"},"breaker":{"ratio":2,"open_ms":0},"cache":{"ttl_ms":0,"max_bytes":"big"},
      "coalesce":"yes","upstreams":[{"url":"http://h/a","retry":{"backoff_ms":-5},"cache":7}]}]})");
  CHECK(mentions(lines, "client.max_connections_per_origin: must be an integer"));
  CHECK(mentions(lines, "routes[0].concurrency: must be an integer from 1"));
  CHECK(mentions(lines, "routes[0].retry.attempts: must be an integer from 1 to 10"));
  CHECK(mentions(lines, "routes[0].retry.on[1]: must be connect, timeout, http_5xx, http_429 or transport"));
  CHECK(mentions(lines, "routes[0].retry.budget.ratio"));
  CHECK(mentions(lines, "routes[0].retry.tries"));
  CHECK(mentions(lines, "routes[0].hedge.after: must be a percentile of the origin's latency, e.g. p95"));
  CHECK(mentions(lines, "routes[0].breaker.ratio"));
  CHECK(mentions(lines, "routes[0].breaker.open_ms"));
  CHECK(mentions(lines, "routes[0].cache.ttl_ms"));
  CHECK(mentions(lines, "routes[0].cache.max_bytes"));
  CHECK(mentions(lines, "routes[0].coalesce: must be true or false"));
  CHECK(mentions(lines, "routes[0].upstreams[0].retry.backoff_ms"));
  CHECK(mentions(lines, "routes[0].upstreams[0].cache: must be an object"));
}

TEST_CASE("the hostile-client bounds are read and checked: max_unsent_bytes, admin_max_connections, max_per_client") {
  const auto parsed = parse_config(
      R"({"server":{"max_unsent_bytes":1048576,"admin_max_connections":8},"jobs":{"max_per_client":5},"routes":[)" +
      good_route + "]}");
  REQUIRE(std::holds_alternative<service_config>(parsed));
  const auto &config = std::get<service_config>(parsed);
  CHECK(config.server.max_unsent_bytes == 1048576);
  CHECK(config.server.admin_max_connections == 8);
  CHECK(config.jobs.max_per_client == 5);
  const auto lines = problems(
      R"({"server":{"max_unsent_bytes":100,"admin_max_connections":0},"jobs":{"max_per_client":0},"routes":[)" +
      good_route + "]}");
  CHECK(mentions(lines, "server.max_unsent_bytes"));
  CHECK(mentions(lines, "server.admin_max_connections"));
  CHECK(mentions(lines, "jobs.max_per_client"));
}

TEST_CASE("auth.jwt: none is never an algorithm, HMAC never beside public keys, keys from one source") {
  const auto with_jwt = [](const std::string &jwt) {
    return problems(R"({"auth":{"jwt":)" + jwt + R"(},"routes":[)" + good_route + "]}");
  };
  CHECK(with_jwt(R"({"jwks_file":"k.json","algorithms":["none"]})") ==
        std::vector<std::string>{"auth.jwt.algorithms[0]: none can never be allowed: tokens must be signed"});
  CHECK(mentions(with_jwt(R"({"jwks_file":"k.json","algorithms":["RS256","HS256"]})"), "key confusion"));
  CHECK(mentions(with_jwt(R"({"jwks_file":"k.json","algorithms":["XS1"]})"), "auth.jwt.algorithms[0]: must be one of"));
  CHECK(mentions(with_jwt(R"({"algorithms":["RS256"]})"), "auth.jwt: needs jwks_file or jwks_url"));
  CHECK(mentions(with_jwt(R"({"jwks_file":"k.json","algorithms":["HS256"]})"), "HMAC algorithms take secret_file"));
  CHECK(mentions(with_jwt(R"({"jwks_file":"k.json","jwks_url":"https://idp.test/jwks"})"), "not both"));
  CHECK(mentions(with_jwt(R"({"jwks_url":"http://idp.test/jwks"})"), "auth.jwt.jwks_url: must be an https:// URL"));
  CHECK(mentions(with_jwt(R"({"jwks_file":"k.json","leeway_s":-1})"), "auth.jwt.leeway_s"));
  CHECK(mentions(with_jwt(R"({"jwks_file":"k.json","audience":"x"})"), "auth.jwt.audience: unknown key"));
  const auto parsed = parse_config(
      R"({"auth":{"jwt":{"issuer":"https://idp.test","audiences":["a","b"],"jwks_file":"k.json","leeway_s":5},"api_keys_file":"keys.txt"},"routes":[)" +
      good_route + "]}");
  REQUIRE(std::holds_alternative<service_config>(parsed));
  const auto &auth = std::get<service_config>(parsed).auth;
  REQUIRE(auth.jwt);
  CHECK(auth.jwt->algorithms == std::vector<std::string>{"RS256", "ES256"});
  CHECK(auth.jwt->audiences == std::vector<std::string>{"a", "b"});
  CHECK(auth.jwt->leeway == std::chrono::seconds{5});
  CHECK(auth.api_keys_file == "keys.txt");
}

TEST_CASE("store: redis_url is split into host, port, user, password and db, and what is not one is refused by path") {
  const std::string route = R"("routes":[{"name":"r","path":"/r","upstreams":[{"url":"http://127.0.0.1:9/"}]}])";
  const auto bad = problems(R"({"store":{"redis_url":"http://127.0.0.1:6379","on_failure":"maybe"},)" + route + "}");
  CHECK(mentions(bad, "store.redis_url: must be redis://"));
  CHECK(mentions(bad, "store.on_failure: must be local"));
  CHECK(mentions(problems(R"({"store":{"redis_url":"redis://127.0.0.1/16"},)" + route + "}"), "store.redis_url"));
  CHECK(
      mentions(problems(R"({"store":{"redis_url":"redis://u:p@127.0.0.1:6379/2","password_file":"x"},)" + route + "}"),
               "store.password_file: redis_url carries a password already"));
  const auto config =
      agg::testing::config_from(R"({"store":{"redis_url":"redis://app:pw@127.0.0.1:7000/2"},)" + route + "}");
  CHECK(config.store.enabled());
  CHECK(config.store.host == "127.0.0.1");
  CHECK(config.store.port == 7000);
  CHECK(config.store.user == "app");
  CHECK(config.store.password == "pw");
  CHECK(config.store.db == 2);
  CHECK(config.store.timeout == std::chrono::milliseconds{250});
  CHECK_FALSE(agg::testing::config_from("{" + route + "}").store.enabled());
}
