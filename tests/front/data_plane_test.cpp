#include "aggregator/front/data_plane.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "aggregator/front/listening_socket.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

boost::json::object json_of(const httplib::Result &result) {
  REQUIRE(result);
  CHECK(result->get_header_value("Content-Type") == "application/json");
  return boost::json::parse(result->body).as_object();
}

void check_error(const httplib::Result &result, int status, std::string_view code) {
  REQUIRE(result);
  CHECK(result->status == status);
  const auto doc = json_of(result);
  CHECK(doc.at("error").at("code").as_string() == code);
  CHECK_FALSE(doc.at("error").at("message").as_string().empty());
}

}  // namespace

TEST_CASE("the front answers health, the endpoint index and an aggregation") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  CHECK(json_of(http.Get("/health")).at("status").as_string() == "ok");
  const auto index = json_of(http.Get("/"));
  CHECK(index.at("endpoints").as_array().size() == 7);

  const auto result = http.Get("/api/demo?num=3");
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(result->get_header_value("X-Aggregate-Complete") == "true");
  CHECK(result->get_header_value("Server-Timing").starts_with("total;dur="));
  const auto doc = json_of(result);
  CHECK(doc.at("responses").as_array().size() == 3);
  CHECK(doc.at("mode").as_string() == "async");
  CHECK(doc.at("elapsed").as_double() >= 0.0);
}

TEST_CASE("client mistakes get a 4xx with a JSON error body") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  check_error(http.Get("/api/demo?num=abc"), 400, "invalid_parameter");
  check_error(http.Get("/api/demo?num=-1"), 400, "invalid_parameter");
  check_error(http.Get("/api/demo?num=51"), 400, "invalid_parameter");
  check_error(http.Get("/api/demo?bogus=1"), 400, "invalid_parameter");
  check_error(http.Get("/api/demo_sync?num=0"), 400, "invalid_parameter");
  check_error(http.Get("/no/such/path"), 404, "not_found");
  const auto post = http.Post("/api/demo", "{}", "application/json");
  check_error(post, 405, "method_not_allowed");
  CHECK(post->get_header_value("Allow") == "GET, HEAD");
  CHECK(service.upstream().transfers_in_flight() == 0);
}

TEST_CASE("a request the reader refuses gets a JSON error body and its connection closes") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  const auto reply = agg::testing::raw_until_close(service.port(), "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(reply.closed_by_server);
  CHECK(reply.bytes.starts_with("HTTP/1.1 501"));
  CHECK(reply.bytes.find(R"({"error":{"code":"not_implemented")") != std::string::npos);
  CHECK(reply.bytes.find("X-Request-Id: ") != std::string::npos);
  CHECK(reply.bytes.find("\"elapsed\":") != std::string::npos);
}

TEST_CASE("a failing upstream is an error entry, not a failed request") {
  local_upstream upstream;
  const auto refused = std::to_string(agg::testing::refused_port());
  running_service service{agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"routes":[
    {"name":"mixed","path":"/api/mixed","upstreams":[
      {"url":")" + upstream.api("task_id=up") + R"("},
      {"url":"http://127.0.0.1:)" + refused + R"(/api/"}]},
    {"name":"down","path":"/api/down","upstreams":[{"url":"http://127.0.0.1:)" +
                                                    refused + R"(/api/"}]}]})")};
  auto http = service.http();
  const auto partial = http.Get("/api/mixed");
  REQUIRE(partial);
  CHECK(partial->status == 200);
  CHECK(partial->get_header_value("X-Aggregate-Complete") == "false");
  const auto doc = json_of(partial);
  CHECK_FALSE(doc.at("complete").as_bool());
  CHECK(doc.at("responses").as_array()[1].is_null());
  CHECK(doc.at("upstreams").as_array()[1].at("error").at("kind").as_string() == "connect");

  const auto down = http.Get("/api/down_sync");
  REQUIRE(down);
  CHECK(down->status == 502);
  CHECK(json_of(down).at("mode").as_string() == "sync");
}

TEST_CASE("the data plane does not serve the admin API or the metrics, the control plane does") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  for (const char *path : {"/admin/routes", "/admin", "/metrics"}) {
    INFO(path);
    const auto r = http.Get(path);
    check_error(r, 404, "not_found");
    CHECK(json_of(r).at("error").at("message").as_string().find("control plane") != std::string::npos);
  }
  auto admin = service.admin();
  const auto metrics = admin.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(admin.Get("/health")->status == 200);
  CHECK(admin.Get("/ready")->status == 200);
  check_error(admin.Get("/api/demo?num=1"), 404, "not_found");     // no aggregation on the control plane
  check_error(admin.Get("/admin/routes"), 404, "admin_disabled");  // no admin token in this config
}

TEST_CASE("a path with an encoded character is not the route it decodes to") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  auto http = service.http();
  for (const char *target : {"/api%2Fdemo?num=1", "/api/de%6Do?num=1", "/%61pi/demo_sync?num=1", "/heal%74h"}) {
    INFO(target);
    check_error(http.Get(target), 404, "not_found");
  }
  CHECK(upstream.stats().requests == 0);
}

TEST_CASE("the kernel holds a connection that sends nothing away from the loops for a second (TCP_DEFER_ACCEPT)") {
  const agg::front::listening_socket listening{"127.0.0.1", 0, 16};
  int seconds = 0;
  socklen_t length = sizeof seconds;
  REQUIRE(::getsockopt(listening.fd(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, &length) == 0);
  CHECK(seconds > 0);
  const agg::testing::raw_connection silent{listening.port()};
  pollfd ready{listening.fd(), POLLIN, 0};
  CHECK(::poll(&ready, 1, 300) == 0);  // nothing to accept yet
  // A client that speaks is accepted at once.
  agg::testing::raw_connection speaking{listening.port()};
  REQUIRE(speaking.send("GET / HTTP/1.1\r\n"));
  CHECK(::poll(&ready, 1, 500) == 1);
}
