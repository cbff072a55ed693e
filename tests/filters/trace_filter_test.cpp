#include "aggregator/filters/trace_filter.hpp"

#include <catch2/catch.hpp>

#include "tests/support/recording_responder.hpp"

using namespace agg;

namespace {

struct traced {
  std::optional<http::trace_context> trace;
  std::optional<std::string> traceresponse;
};

traced trace_of(bool start_traces, std::vector<http::header_field> headers) {
  const auto chain = testing::chain_of(std::make_unique<filters::trace_filter>(start_traces));
  const auto to = std::make_shared<testing::recording_responder>();
  auto x = testing::exchange_for(chain, to, testing::request_for("GET", "/", std::move(headers)));
  const filters::trace_filter filter{start_traces};
  REQUIRE_FALSE(filter.on_request(x));
  traced out{x.request().trace, std::nullopt};
  x.respond(http::response::json(200, "{}"));
  for (const auto &h : to->answers.at(0).headers)
    if (h.name == "traceresponse") out.traceresponse = h.value;
  return out;
}

constexpr const char *caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

}  // namespace

TEST_CASE("a valid traceparent is continued with a span of the request's own, named in traceresponse") {
  const auto t = trace_of(true, {{"traceparent", caller}, {"tracestate", "k=v"}});
  REQUIRE(t.trace);
  CHECK(t.trace->trace_id == "0af7651916cd43dd8448eb211c80319c");
  CHECK(t.trace->parent_id == "b7ad6b7169203331");
  CHECK(t.trace->tracestate == "k=v");
  CHECK(t.traceresponse == t.trace->traceparent());
}

TEST_CASE("a malformed traceparent is dropped: a trace starts here, or none when traces are not started") {
  const auto started = trace_of(true, {{"traceparent", "00-zz-b7ad6b7169203331-01"}});
  REQUIRE(started.trace);
  CHECK(started.trace->parent_id.empty());
  const auto none = trace_of(false, {{"traceparent", "garbage"}});
  CHECK_FALSE(none.trace);
  CHECK_FALSE(none.traceresponse);
}

TEST_CASE("two traceparents are no trace to continue, tracestate lines are one list") {
  const auto twice = trace_of(true, {{"traceparent", caller}, {"traceparent", caller}});
  REQUIRE(twice.trace);
  CHECK(twice.trace->parent_id.empty());  // a trace of its own
  const auto split = trace_of(true, {{"traceparent", caller}, {"tracestate", "a=1"}, {"tracestate", "b=2"}});
  REQUIRE(split.trace);
  CHECK(split.trace->tracestate == "a=1, b=2");
}
