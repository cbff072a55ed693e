// What the service answers when upstreams misbehave and clients send garbage, over HTTP.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::eventually;
using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

/// A route named `name` at /api/<name> with these upstream entries (JSON) and extra route fields.
std::string route(const std::string &name, const std::string &upstreams, const std::string &extra = "") {
  return R"({"name":")" + name + R"(","path":"/api/)" + name + R"(","upstreams":)" + upstreams +
         (extra.empty() ? "" : "," + extra) + "}";
}

std::string url(const std::string &u) { return R"({"url":")" + u + R"("})"; }

struct failure_fixture {
  local_upstream upstream;
  std::string refused = "http://127.0.0.1:" + std::to_string(agg::testing::refused_port()) + "/api/";
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0","threads":32},"routes":[)" +
      route("kinds",
            "[" + url(upstream.api("task_id=ok")) + "," + url(upstream.api("delay_ms=5000")) + "," + url(refused) +
                "," + url(upstream.api("status=503")) + "," + url(upstream.api("fault=garbage")) + "," +
                url(upstream.api("fault=oversized&size=100000")) + "," +
                url(upstream.api("fault=reset_before_headers")) + "," + url(upstream.api("fault=reset_after_headers")) +
                "," + url(upstream.api("fault=stall")) + "," + url(upstream.api("fault=endless_body")) + "," +
                url(upstream.api("status=204")) + "]",
            R"("timeout_ms":300,"deadline_ms":5000,"max_body_bytes":10000)") +
      "," + route("down", "[" + url(refused) + "," + url(refused) + "]") + "," +
      route("slow", "[" + url(upstream.api("delay_ms=5000")) + "]", R"("deadline_ms":200)") + "," +
      route("strict", "[" + url(upstream.api("task_id=a")) + R"(,{"url":")" + upstream.api("status=500") +
                          R"(","required":true}])") +
      "," +
      route("partial", "[" + url(upstream.api("task_id=a")) + "," + url(upstream.api("status=500")) + "]",
            R"("partial_status":206)") +
      "," + route("lenient", "[" + url(upstream.api("fault=garbage")) + "]", R"("accept_non_json":true)") + "," +
      route("headers", "[" + url(upstream.base() + "/echo") + "]", R"("forward_headers":["X-User"])") + "," +
      route("search", "[" + url(upstream.base() + "/echo?q={q}") + "]", R"("params":{"q":{"default":""}})") + "," +
      route("capped", R"([{"url":")" + upstream.api("task_id={i}&key=capped") + R"(","repeat":true}])",
            R"("num":{"default":10,"max":10},"max_response_bytes":100)") +
      "," +
      route("hang",
            "[" + url(upstream.api("delay_ms=60000")) + "," + url(upstream.api("delay_ms=60000")) + "," +
                url(upstream.api("delay_ms=60000")) + "]",
            R"("timeout_ms":120000,"deadline_ms":120000)") +
      "]}")};

  struct answer {
    int status;
    httplib::Headers headers;
    boost::json::object doc;
  };
  answer get(const std::string &path, const httplib::Headers &headers = {}) const {
    auto http = service.http();
    const auto r = http.Get(path, headers);
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->get_header_value("Content-Type") == "application/json");
    return {r->status, r->headers, boost::json::parse(r->body).as_object()};
  }
};

std::string_view kind_of(const boost::json::object &doc, std::size_t i) {
  const auto &error = doc.at("upstreams").as_array().at(i).at("error");
  return error.is_null() ? std::string_view{"ok"} : std::string_view{error.at("kind").as_string()};
}

/// Opens a raw connection, sends a GET and returns the socket without reading the answer.
int start_request(std::uint16_t port, const std::string &path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  return fd;
}

}  // namespace

TEST_CASE_METHOD(failure_fixture, "every failure kind lands in its own slot and the rest still arrive") {
  const auto a = get("/api/kinds");
  CHECK(a.status == 200);
  CHECK(a.headers.find("X-Aggregate-Complete")->second == "false");
  CHECK_FALSE(a.doc.at("complete").as_bool());
  CHECK(kind_of(a.doc, 0) == "ok");
  CHECK(kind_of(a.doc, 1) == "timeout");
  CHECK(kind_of(a.doc, 2) == "connect");
  CHECK(kind_of(a.doc, 3) == "http_status");
  CHECK(a.doc.at("upstreams").as_array()[3].at("status").as_int64() == 503);
  CHECK(kind_of(a.doc, 4) == "invalid_json");
  CHECK(kind_of(a.doc, 5) == "too_large");
  CHECK(kind_of(a.doc, 6) == "transport");
  CHECK(kind_of(a.doc, 7) == "transport");
  CHECK(kind_of(a.doc, 8) == "timeout");
  CHECK(kind_of(a.doc, 9) == "timeout");
  CHECK(kind_of(a.doc, 10) == "ok");
  const auto &responses = a.doc.at("responses").as_array();
  REQUIRE(responses.size() == 11);
  CHECK(responses[0].at("task_id").as_string() == "ok");
  for (std::size_t i = 1; i <= 10; ++i) CHECK(responses[i].is_null());
  CHECK(service.upstream().transfers_in_flight() == 0);
}

TEST_CASE_METHOD(failure_fixture, "the aggregate status follows the failure table") {
  CHECK(get("/api/down").status == 502);
  CHECK(get("/api/down_sync").status == 502);
  const auto slow = get("/api/slow");
  CHECK(slow.status == 504);
  CHECK(slow.doc.at("upstreams").as_array()[0].at("error").at("message").as_string().find("deadline") !=
        std::string::npos);
  CHECK(get("/api/strict").status == 502);
  CHECK(get("/api/partial").status == 206);
  const auto lenient = get("/api/lenient");
  CHECK(lenient.status == 200);
  CHECK(lenient.doc.at("responses").as_array()[0].as_string() == "<html>this is not JSON</html>");
}

TEST_CASE_METHOD(failure_fixture, "timeout_ms can only shorten the route's limits") {
  const auto cut = get("/api/hang?timeout_ms=100");
  CHECK(cut.status == 504);
  CHECK(kind_of(cut.doc, 0) == "timeout");
  CHECK(get("/api/hang?timeout_ms=999999999").status == 400);
  CHECK(get("/api/hang?timeout_ms=0").status == 400);
  CHECK(get("/api/hang?timeout_ms=soon").doc.at("error").at("code").as_string() == "invalid_parameter");
}

TEST_CASE_METHOD(failure_fixture, "only the headers a route names are forwarded") {
  const auto a = get("/api/headers", {{"X-User", "alice"}, {"Cookie", "secret=1"}, {"Authorization", "Bearer x"}});
  REQUIRE(a.status == 200);
  const auto &seen = a.doc.at("responses").as_array()[0].at("headers").as_object();
  CHECK(seen.at("x-user").as_string() == "alice");
  CHECK_FALSE(seen.contains("cookie"));
  CHECK_FALSE(seen.contains("authorization"));
}

TEST_CASE_METHOD(failure_fixture, "a forwarded header sent twice is forwarded as one list, both values kept") {
  // httplib::Headers is a multimap: both lines go out.
  const auto a = get("/api/headers", {{"X-User", "alice"}, {"X-User", "bob"}});
  REQUIRE(a.status == 200);
  CHECK(a.doc.at("responses").as_array()[0].at("headers").at("x-user").as_string() == "alice, bob");
}

TEST_CASE_METHOD(failure_fixture, "request parameters cannot move a call to another host or path") {
  for (const std::string attack : {"@evil.example", "//evil.example/x", "../../admin", "http://evil.example/",
                                   "%0d%0aHost:%20evil", "[::1]:80", "a%23frag", "x%26admin%3D1"}) {
    INFO(attack);
    const auto a = get("/api/search?q=" + attack);
    REQUIRE(a.status == 200);  // the call reached our own upstream's /echo, nothing else
    const std::string target{a.doc.at("responses").as_array()[0].at("target").as_string()};
    CHECK(target.starts_with("/echo?q="));
    CHECK(target.find_first_of("/?#&@:", 7) == std::string::npos);  // the value stayed one encoded value
  }
}

TEST_CASE_METHOD(failure_fixture, "bad requests get a 4xx with a JSON error, never a 500") {
  CHECK(get("/api/kinds?num=3").status == 400);  // this route has no num
  CHECK(get("/api/search?q=1&q=2").status == 400);
  CHECK(get("/api/nowhere").status == 404);
  auto http = service.http();
  const auto big = http.Post("/api/kinds", std::string(2 << 20, 'x'), "application/json");
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(boost::json::parse(big->body).at("error").at("code").as_string() == "payload_too_large");
  const auto del = http.Delete("/api/kinds");
  REQUIRE(del);
  CHECK(del->status == 405);
}

TEST_CASE_METHOD(failure_fixture, "a client that disconnects cancels its async aggregation") {
  const int fd = start_request(service.port(), "/api/hang");
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 3; }));
  CHECK(service.upstream().transfers_in_flight() == 3);
  ::close(fd);
  CHECK(eventually([&] { return service.upstream().transfers_in_flight() == 0; }));
  CHECK(eventually([&] { return service.aggregations_in_flight() == 0; }));
  CHECK(eventually([&] { return upstream.stats().in_flight == 0; }));  // the upstream saw them go
}

TEST_CASE_METHOD(failure_fixture, "a client that leaves is counted as 499, not as an upstream failure") {
  const int fd = start_request(service.port(), "/api/hang");
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 3; }));
  ::close(fd);
  REQUIRE(eventually([&] { return service.aggregations_in_flight() == 0; }));
  const auto metrics = service.admin().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find(R"(aggregator_requests_total{route="hang",status="499"} 1)") != std::string::npos);
  CHECK(metrics->body.find(R"(aggregator_requests_total{route="hang",status="502"})") == std::string::npos);
}

TEST_CASE_METHOD(failure_fixture, "a client that disconnects stops its sync baseline before the next call") {
  const int fd = start_request(service.port(), "/api/hang_sync");
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));
  ::close(fd);
  REQUIRE(eventually([&] { return service.aggregations_in_flight() == 0; }));
  // The aborted call was the last: the baseline did not go on to the second upstream.
  CHECK(upstream.stats().requests == 1);
  CHECK(eventually([&] { return upstream.stats().in_flight == 0; }));
}

TEST_CASE_METHOD(failure_fixture, "an aggregation stops taking bodies at max_response_bytes: the rest end too_large") {
  // Each body is 39 bytes: two fit in 100, the third passes it, in either mode.
  for (const std::string &path : {std::string{"/api/capped"}, std::string{"/api/capped_sync"}}) {
    const long calls_before = upstream.calls("capped");
    const auto a = get(path);
    INFO(path);
    CHECK(a.status == 200);
    CHECK(a.doc.at("succeeded").as_int64() == 2);
    CHECK(a.doc.at("failed").as_int64() == 8);
    CHECK(a.doc.at("max_response_bytes_reached").as_bool());
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < 10; ++i) {
      const auto &entry = a.doc.at("upstreams").as_array().at(i).as_object();
      bytes += static_cast<std::size_t>(entry.at("bytes").as_int64());
      if (kind_of(a.doc, i) == "ok") continue;
      CHECK(kind_of(a.doc, i) == "too_large");
      CHECK(std::string{entry.at("error").at("message").as_string()}.find("max_response_bytes (100 bytes)") !=
            std::string::npos);
    }
    CHECK(bytes <= 100);
    // One after another, the calls after the one that passed the limit are never sent.
    if (path.ends_with("_sync")) CHECK(upstream.calls("capped") - calls_before == 3);
  }
  CHECK(get("/api/kinds").doc.if_contains("max_response_bytes_reached") == nullptr);
}
