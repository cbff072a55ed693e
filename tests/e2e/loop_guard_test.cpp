// A route that calls the service itself ends at once with 508 Loop Detected, not in ~2 000 nested
// aggregations.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

#include "aggregator/process/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"
#include "tests/support/scratch_dir.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {
constexpr const char *admin_token = "admin-token-0123456789abcdef";
}  // namespace

TEST_CASE("upstream calls carry Via, a request back with it or past max_hops is refused with 508") {
  local_upstream upstream;
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0","max_hops":3},"routes":[{"name":"echo","path":"/api/echo","upstreams":[{"url":")" +
      upstream.base() + R"(/echo"}]}]})")};
  const auto r = service.http().Get("/api/echo", {{"Via", "1.1 edge"}, {"X-Aggregator-Hops", "1"}});
  REQUIRE(r);
  const auto headers = boost::json::parse(r->body).at("responses").at(0).at("headers").as_object();
  const std::string via{headers.at("via").as_string()};
  CHECK(via.starts_with("1.1 edge, 1.1 aggregator-"));
  CHECK_FALSE(headers.contains("x-aggregator-hops"));  // the Via entries count the hops

  const auto again = service.http().Get("/api/echo", {{"Via", via}});
  REQUIRE(again);
  CHECK(again->status == 508);
  CHECK(boost::json::parse(again->body).at("error").at("code") == "loop_detected");
  const auto far = service.http().Get("/api/echo", {{"X-Aggregator-Hops", "3"}});  // as earlier versions send
  REQUIRE(far);
  CHECK(far->status == 508);
  const auto chained = service.http().Get("/api/echo", {{"Via", "1.1 aggregator-a1, 1.1 aggregator-b2"}});
  REQUIRE(chained);
  CHECK(chained->status == 200);  // two before this one: its calls go out as the third
  const auto past =
      service.http().Get("/api/echo", {{"Via", "1.1 aggregator-a1, 1.1 aggregator-b2, 1.1 aggregator-c3"}});
  REQUIRE(past);
  CHECK(past->status == 508);
  CHECK(service.http().Get("/health")->status == 200);  // probes are never refused
}

TEST_CASE("a route whose upstream is the service itself ends at once: the inner call is refused") {
  local_upstream upstream;
  running_service service{
      agg::testing::config_from(
          R"({"server":{"listen":"127.0.0.1:0"},"routes":[{"name":"demo","path":"/api/demo","upstreams":[{"url":")" +
          upstream.api("x=1") + R"("}]}]})"),
      agg::config::access_tokens{admin_token, std::nullopt}};
  auto admin = service.admin();
  admin.set_bearer_token_auth(admin_token);
  const std::string self = "http://127.0.0.1:" + std::to_string(service.port()) + "/api/loop";
  const auto created = admin.Post(
      "/admin/routes",
      R"({"name":"loop","path":"/api/loop","upstreams":[{"url":")" + self + R"("},{"url":")" + self + R"("}]})",
      "application/json");
  REQUIRE(created);
  REQUIRE(created->status == 201);
  auto client = service.http();
  client.set_bearer_token_auth(admin_token);
  const auto r = client.Get("/api/loop");
  REQUIRE(r);
  const auto doc = boost::json::parse(r->body);
  INFO(r->body);
  for (const auto &entry : doc.at("upstreams").as_array()) {
    CHECK(entry.at("status") == 508);
    CHECK(entry.at("error").at("kind") == "http_status");
  }
  // The aggregation leaves the books just after its answer is written.
  CHECK(agg::testing::eventually([&] { return service.aggregations_in_flight() == 0; }));
}

TEST_CASE("aggregator --check warns of an upstream URL at the service's own listen address") {
  agg::testing::scratch_dir dir;
  const std::string file = dir.file(
      "config.json", R"({"server":{"listen":"127.0.0.1:8088"},"routes":[{"name":"l","path":"/l","upstreams":[)"
                     R"({"url":"http://localhost:8088/l?x={i}","repeat":true},{"url":"http://127.0.0.1:8089/x"}]}]})");
  agg::process::child_process check{{AGG_AGGREGATOR_BINARY, "--check", file}};
  const std::string output = check.rest();
  CHECK(check.wait() == 0);  // a warning: the config is valid, and the guard refuses such calls at run time
  CHECK_THAT(output,
             Catch::Contains("warning: routes[0].upstreams[0].url: points at this service's own listen address"));
  CHECK_THAT(output, !Catch::Contains("upstreams[1]"));
}
