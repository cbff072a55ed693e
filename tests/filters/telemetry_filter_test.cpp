// The server span a request becomes: what it says of how the request came.
#include "aggregator/filters/telemetry_filter.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "aggregator/telemetry/span.hpp"

namespace {

/// The string attribute `key` of the server span `r` becomes.
std::string span_attribute(const agg::filters::request_context &r, std::string_view key) {
  std::string span;
  agg::filters::write_server_span(span, r, 200, 2);
  const auto envelope = agg::telemetry::envelope_of({"aggregator", "test"});
  const auto doc = boost::json::parse(envelope.before + span + envelope.after);
  for (const auto &a :
       doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("attributes").as_array())
    if (a.at("key").as_string() == key) return std::string{a.at("value").at("stringValue").as_string()};
  return {};
}

agg::filters::request_context health_request() {
  agg::filters::request_context r;
  r.request.method = "GET";
  r.path = "/health";
  r.started = std::chrono::steady_clock::now();
  r.trace = agg::http::trace_context{"4bf92f3577b34da6a3ce929d0e0e4736", "", "00f067aa0ba902b7", "01", ""};
  return r;
}

}  // namespace

TEST_CASE("a server span says the scheme the request came over: https over TLS", "[telemetry]") {
  for (const bool secure : {false, true}) {
    INFO("secure: " << secure);
    auto r = health_request();
    r.secure = secure;
    CHECK(span_attribute(r, "url.scheme") == (secure ? "https" : "http"));
  }
}

TEST_CASE("a server span says the HTTP version the request came in: 2 over HTTP/2", "[telemetry]") {
  for (const auto &[version, said] : {std::pair{10, "1.0"}, std::pair{11, "1.1"}, std::pair{20, "2"}}) {
    auto r = health_request();
    r.request.version = version;
    CHECK(span_attribute(r, "network.protocol.version") == said);
  }
}
