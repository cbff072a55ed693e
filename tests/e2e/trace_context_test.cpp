// W3C trace context through the service: what upstreams receive, what the client gets back, what
// the access log writes.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <set>
#include <string>

#include "tests/support/aggregator_binary.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string caller_span_id = "00f067aa0ba902b7";

/// Three calls to the upstream's /echo, which answers with the headers that reached it.
std::string echo_routes(const local_upstream &upstream, const std::string &forward = "[]") {
  return R"([{"name":"echo","path":"/api/echo","num":{"default":3,"max":10},"forward_headers":)" + forward +
         R"(,"upstreams":[{"url":")" + upstream.base() + R"(/echo?i={i}","repeat":true}]}])";
}

running_service service_for(const local_upstream &upstream, const std::string &server = "{}",
                            const std::string &forward = "[]") {
  std::string server_section = server;
  server_section.insert(1, std::string{R"("listen":"127.0.0.1:0")"} + (server == "{}" ? "" : ","));
  return running_service{agg::testing::config_from(R"({"server":)" + server_section + R"(,"routes":)" +
                                                   echo_routes(upstream, forward) + "}")};
}

struct echoed {
  std::string traceresponse;
  std::vector<boost::json::object> headers;  // what each call's upstream received
};

echoed call(running_service &service, const httplib::Headers &headers) {
  const auto r = service.http().Get("/api/echo", headers);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  echoed out{r->get_header_value("traceresponse"), {}};
  const auto doc = boost::json::parse(r->body);
  for (const auto &body : doc.at("responses").as_array()) out.headers.push_back(body.at("headers").as_object());
  return out;
}

std::string header_of(const boost::json::object &headers, const char *name) {
  const auto *v = headers.if_contains(name);
  return v ? std::string{v->as_string()} : std::string{};
}

}  // namespace

TEST_CASE("each upstream call gets a child span of the caller's trace, the response names the request's span") {
  local_upstream upstream;
  auto service = service_for(upstream);
  const auto got = call(
      service, {{"traceparent", "00-" + trace + "-" + caller_span_id + "-01"}, {"tracestate", "congo=t61rcWkgMzE"}});
  REQUIRE(got.traceresponse.size() == 55);
  CHECK(got.traceresponse.substr(0, 36) == "00-" + trace + "-");
  const std::string own_span = got.traceresponse.substr(36, 16);
  CHECK(own_span != caller_span_id);
  std::set<std::string> spans;
  for (const auto &headers : got.headers) {
    const std::string parent = header_of(headers, "traceparent");
    REQUIRE(parent.size() == 55);
    CHECK(parent.substr(0, 36) == "00-" + trace + "-");
    CHECK(parent.substr(52) == "-01");
    spans.insert(parent.substr(36, 16));
    CHECK(header_of(headers, "tracestate") == "congo=t61rcWkgMzE");
  }
  CHECK(spans.size() == 3);  // a span per call
  CHECK_FALSE(spans.contains(own_span));
  CHECK_FALSE(spans.contains(caller_span_id));
}

TEST_CASE("a malformed traceparent never reaches an upstream: the request starts a trace of its own") {
  local_upstream upstream;
  auto service = service_for(upstream, "{}", R"(["traceparent","tracestate","X-Tenant"])");
  const std::string forged = "00-" + trace + "-0000000000000000-01";  // an all-zero parent is invalid
  const auto got = call(service, {{"traceparent", forged}, {"tracestate", "congo=t61rcWkgMzE"}, {"X-Tenant", "t1"}});
  REQUIRE(got.traceresponse.size() == 55);
  const std::string started = got.traceresponse.substr(3, 32);
  CHECK(started != trace);
  for (const auto &headers : got.headers) {
    CHECK(header_of(headers, "traceparent").substr(3, 32) == started);
    CHECK(header_of(headers, "traceparent") != forged);
    CHECK(header_of(headers, "tracestate").empty());  // it belonged to the dropped traceparent
    CHECK(header_of(headers, "x-tenant") == "t1");    // forwarding the others still works
  }
}

TEST_CASE("with start_traces off, a request without a trace sends none and gets none back") {
  local_upstream upstream;
  auto service = service_for(upstream, R"({"start_traces":false})");
  const auto got = call(service, {});
  CHECK(got.traceresponse.empty());
  for (const auto &headers : got.headers) CHECK_FALSE(headers.contains("traceparent"));
  // A caller's trace is still continued.
  CHECK(call(service, {{"traceparent", "00-" + trace + "-" + caller_span_id + "-01"}}).traceresponse.size() == 55);
}

TEST_CASE("the access log writes the trace and span ids, in text and in JSON") {
  local_upstream upstream;
  for (const std::string format : {"text", "json"}) {
    INFO(format);
    agg::testing::aggregator_binary service{echo_routes(upstream), {"--log-format", format}};
    httplib::Client http{"127.0.0.1", service.port()};
    const auto r = http.Get("/api/echo", {{"traceparent", "00-" + trace + "-" + caller_span_id + "-01"}});
    REQUIRE(r);
    const std::string span = r->get_header_value("traceresponse").substr(36, 16);
    service.program().signal(SIGTERM);
    const std::string log = service.program().rest();
    if (format == "text") {
      CHECK_THAT(log, Catch::Contains("trace=" + trace + " span=" + span + " parent=" + caller_span_id));
    } else {
      CHECK_THAT(log, Catch::Contains(R"("trace_id":")" + trace + R"(","span_id":")" + span +
                                      R"(","parent_span_id":")" + caller_span_id + R"(")"));
    }
  }
}
