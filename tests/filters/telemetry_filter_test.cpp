// The server span a request becomes: what it says of how the request came.
#include "aggregator/filters/telemetry_filter.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "aggregator/telemetry/span.hpp"

TEST_CASE("a server span says the scheme the request came over: https over TLS", "[telemetry]") {
  for (const bool secure : {false, true}) {
    INFO("secure: " << secure);
    agg::filters::request_context r;
    r.request.method = "GET";
    r.path = "/health";
    r.started = std::chrono::steady_clock::now();
    r.trace = agg::http::trace_context{"4bf92f3577b34da6a3ce929d0e0e4736", "", "00f067aa0ba902b7", "01", ""};
    r.secure = secure;
    std::string span;
    agg::filters::write_server_span(span, r, 200, 2);
    const auto envelope = agg::telemetry::envelope_of({"aggregator", "test"});
    const auto doc = boost::json::parse(envelope.before + span + envelope.after);
    std::string scheme;
    for (const auto &a :
         doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).at("attributes").as_array())
      if (a.at("key").as_string() == "url.scheme") scheme = a.at("value").at("stringValue").as_string();
    CHECK(scheme == (secure ? "https" : "http"));
  }
}
