// The OTLP/HTTP JSON a span becomes, and the client spans an aggregate makes.
#include "aggregator/telemetry/call_spans.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "aggregator/telemetry/span.hpp"

namespace json = boost::json;

namespace {

json::value attribute_of(const json::value &span_json, std::string_view key) {
  for (const auto &a : span_json.at("attributes").as_array())
    if (a.at("key").as_string() == key) return a.at("value");
  return nullptr;
}

}  // namespace

TEST_CASE("spans as OTLP JSON: hex ids, times and integers as strings, text escaped", "[telemetry]") {
  std::string spans;
  agg::telemetry::span_writer w{spans};
  w.begin({.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
           .span_id = "00f067aa0ba902b7",
           .parent_span_id = {},
           .name = "GET /api/\"x\"",
           .kind = agg::telemetry::span_kind::server,
           .start_unix_nanos = 1'700'000'000'000'000'001ULL,
           .end_unix_nanos = 1'700'000'000'000'000'002ULL});
  w.text("url.path", "/a\nb\xff").integer("http.response.status_code", 502).integer("x.negative", -7);
  w.boolean("x.ok", true).plain("aggregator.mode", "async");
  w.event("retry", 1'700'000'000'000'000'002ULL, "aggregator.attempts", 2).event("breaker open", 5);
  w.end(agg::telemetry::span_status::error, "upstream said \"no\"");
  w.begin({.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
           .span_id = "00f067aa0ba902b8",
           .parent_span_id = "00f067aa0ba902b7",
           .name = "GET",
           .kind = agg::telemetry::span_kind::client});
  w.end(agg::telemetry::span_status::unset);
  const auto envelope = agg::telemetry::envelope_of({"edge \"one\"", "1.2.3"});
  const json::value doc = json::parse(envelope.before + spans + envelope.after);
  const json::value &resource = doc.at("resourceSpans").at(0);
  CHECK(resource.at("resource").at("attributes").at(0).at("value").at("stringValue") == "edge \"one\"");
  const json::value &scope = resource.at("scopeSpans").at(0);
  CHECK(scope.at("scope").at("version") == "1.2.3");
  const json::value &first = scope.at("spans").at(0);
  CHECK(first.at("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(first.at("spanId") == "00f067aa0ba902b7");
  CHECK_FALSE(first.as_object().contains("parentSpanId"));  // a root span
  CHECK(first.at("name") == "GET /api/\"x\"");
  CHECK(first.at("kind") == 2);
  CHECK(first.at("startTimeUnixNano") == "1700000000000000001");
  CHECK(attribute_of(first, "url.path").at("stringValue") == "/a\nb\xEF\xBF\xBD");  // not UTF-8: U+FFFD
  CHECK(attribute_of(first, "http.response.status_code").at("intValue") == "502");
  CHECK(attribute_of(first, "x.negative").at("intValue") == "-7");
  CHECK(attribute_of(first, "x.ok").at("boolValue") == true);
  CHECK(attribute_of(first, "aggregator.mode").at("stringValue") == "async");
  CHECK(first.at("status").at("code") == 2);
  CHECK(first.at("status").at("message") == "upstream said \"no\"");
  CHECK(first.at("events").at(0).at("name") == "retry");
  CHECK(attribute_of(first.at("events").at(0), "aggregator.attempts").at("intValue") == "2");
  CHECK(first.at("events").at(1).at("attributes").as_array().empty());
  const json::value &second = scope.at("spans").at(1);
  CHECK(second.at("parentSpanId") == "00f067aa0ba902b7");
  CHECK(second.at("attributes").as_array().empty());
  CHECK(second.at("status").at("code") == 0);
}

TEST_CASE("an aggregate's client spans: one per call, under the request's span, with what the call did",
          "[telemetry]") {
  const auto trace = agg::http::start_trace();
  agg::fanout::aggregate result;
  result.started = std::chrono::steady_clock::now();
  agg::fanout::upstream_result ok;
  ok.url = "https://user:pw@api.example.com/v1/items?token=s3cret#x";
  ok.status = 200;
  ok.entry = 1;
  ok.item = 3;
  ok.attempts = 3;
  ok.duration = std::chrono::milliseconds{5};
  agg::fanout::upstream_result refused;
  refused.url = "http://127.0.0.1:9/down";
  refused.kind = agg::calls::outcome_kind::circuit_open;
  refused.detail = "the breaker is open";
  refused.attempts = 0;
  agg::fanout::upstream_result hedged = ok;
  hedged.url = "https://api.example.com/v1/other";
  hedged.item = 4;
  hedged.hedged = 1;
  hedged.attempts = 2;
  result.results = {ok, refused, hedged};
  std::string spans;
  REQUIRE(agg::telemetry::write_call_spans(spans, trace, result) == 3);
  const auto envelope = agg::telemetry::envelope_of({});
  const json::value doc = json::parse(envelope.before + spans + envelope.after);
  const json::array &out = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array();
  CHECK(out[0].at("spanId").as_string() == trace.call_span_id(1, 3));
  CHECK(out[0].at("parentSpanId").as_string() == trace.span_id);
  CHECK(out[0].at("kind") == 3);
  CHECK(attribute_of(out[0], "url.full").at("stringValue") == "https://REDACTED:REDACTED@api.example.com/v1/items");
  CHECK(attribute_of(out[0], "server.address").at("stringValue") == "api.example.com");
  CHECK(attribute_of(out[0], "server.port").at("intValue") == "443");
  CHECK(attribute_of(out[0], "http.request.resend_count").at("intValue") == "2");
  CHECK(out[0].at("events").at(0).at("name") == "retry");
  CHECK(out[0].at("status").at("code") == 0);
  CHECK(attribute_of(out[1], "error.type").at("stringValue") == "circuit_open");
  CHECK(attribute_of(out[1], "server.port").at("intValue") == "9");
  CHECK(out[1].at("status").at("code") == 2);
  CHECK(out[1].at("status").at("message") == "the breaker is open");
  CHECK(out[1].at("events").at(0).at("name") == "breaker open");
  CHECK(out[2].at("events").at(0).at("name") == "hedge won");
  CHECK(attribute_of(out[2], "url.full").at("stringValue") == "https://api.example.com/v1/other");
  CHECK(attribute_of(out[2], "http.request.resend_count").is_null());  // a hedge is no resend
}
