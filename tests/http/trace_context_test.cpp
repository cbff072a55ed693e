#include "aggregator/http/trace_context.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using agg::http::continue_trace;
using agg::http::valid_tracestate;

namespace {
const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string parent = "00f067aa0ba902b7";
const std::string valid = "00-" + trace + "-" + parent + "-01";
}  // namespace

TEST_CASE("a valid traceparent continues its trace with a span of this request's own") {
  const auto context = continue_trace(valid, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  REQUIRE(context);
  CHECK(context->trace_id == trace);
  CHECK(context->parent_id == parent);
  CHECK(context->flags == "01");
  CHECK(context->span_id.size() == 16);
  CHECK(context->span_id != parent);
  CHECK(context->tracestate == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  CHECK(context->traceparent() == "00-" + trace + "-" + context->span_id + "-01");
  CHECK(continue_trace("00-" + trace + "-" + parent + "-00", std::nullopt)->flags == "00");
}

TEST_CASE("a malformed traceparent is dropped, and its tracestate with it") {
  for (const std::string &bad : std::vector<std::string>{
           "", "00", valid + "-", valid.substr(0, 54), "00-" + std::string(32, '0') + "-" + parent + "-01",
           "00-" + trace + "-" + std::string(16, '0') + "-01", "ff-" + trace + "-" + parent + "-01",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + parent + "-01", "00_" + trace + "-" + parent + "-01",
           "00-" + trace + "-" + parent + "-0g", "0x-" + trace + "-" + parent + "-01", valid + "\r\nX-Evil: 1"}) {
    INFO(bad);
    CHECK_FALSE(continue_trace(bad, "congo=t61rcWkgMzE"));
  }
  CHECK_FALSE(continue_trace(std::nullopt, "congo=t61rcWkgMzE"));
}

TEST_CASE("a later version's traceparent is read for its four known fields") {
  const auto context = continue_trace("cc-" + trace + "-" + parent + "-01-what-the-future-adds", std::nullopt);
  REQUIRE(context);
  CHECK(context->trace_id == trace);
  CHECK(context->traceparent().starts_with("00-"));  // we speak version 00
  CHECK_FALSE(continue_trace("cc-" + trace + "-" + parent + "-01x", std::nullopt));
}

TEST_CASE("a malformed tracestate alone is dropped, the trace goes on") {
  for (const std::string &bad : std::vector<std::string>{"no-equals", "UPPER=1", "k=v,,x", "k=va,lue=", "k=v=w",
                                                         "9start=1", "k=" + std::string(257, 'v'), "k=\x01"}) {
    INFO(bad);
    CHECK_FALSE(valid_tracestate(bad));
  }
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string{"k"} + std::to_string(i) + "=v";
  CHECK_FALSE(valid_tracestate(many));
  CHECK(valid_tracestate("k=v, tenant@vendor=x , ,a_b-c*d/e=f"));
  CHECK(valid_tracestate(""));
  const auto context = continue_trace(valid, "UPPER=1");
  REQUIRE(context);
  CHECK(context->tracestate.empty());
}

TEST_CASE("a started trace is new random ids, each call of it gets a span of its own, the same when asked again") {
  const auto started = agg::http::start_trace();
  CHECK(started.trace_id.size() == 32);
  CHECK(started.parent_id.empty());
  CHECK(started.sampled());
  std::set<std::string> spans{started.span_id};
  for (std::size_t entry = 0; entry < 10; ++entry)
    for (std::size_t item = 0; item < 10; ++item) {
      const std::string child = started.call_traceparent(entry, item);
      REQUIRE(child.size() == 55);
      CHECK(child.substr(0, 36) == "00-" + started.trace_id + "-");
      CHECK(child.substr(52) == "-01");
      CHECK(child.substr(36, 16) == started.call_span_id(entry, item));
      spans.insert(child.substr(36, 16));
      CHECK(continue_trace(child, std::nullopt));  // what we send is what we accept
    }
  CHECK(spans.size() == 101);
  CHECK(agg::http::start_trace().call_span_id(0, 0) != started.call_span_id(0, 0));
}

TEST_CASE("the sampled flag, and sampling by trace id ratio as OpenTelemetry does") {
  CHECK_FALSE(agg::http::start_trace(false).sampled());
  CHECK(agg::http::start_trace(false).flags == "00");
  CHECK(continue_trace("00-" + std::string(31, '0') + "1-00f067aa0ba902b7-03", std::nullopt)->sampled());
  CHECK_FALSE(continue_trace("00-" + std::string(31, '0') + "1-00f067aa0ba902b7-02", std::nullopt)->sampled());
  using agg::http::sampled_at_ratio;
  CHECK(sampled_at_ratio("4bf92f3577b34da6ffffffffffffffff", 1.0));
  CHECK_FALSE(sampled_at_ratio("4bf92f3577b34da60000000000000001", 0.0));
  CHECK(sampled_at_ratio("4bf92f3577b34da63fffffffff000000", 0.25));  // just under a quarter of 2^64
  CHECK_FALSE(sampled_at_ratio("4bf92f3577b34da64000000000000001", 0.25));
  int kept = 0;
  for (int i = 0; i < 4000; ++i) kept += sampled_at_ratio(agg::http::start_trace().trace_id, 0.25);
  CHECK(kept > 800);
  CHECK(kept < 1200);
}
