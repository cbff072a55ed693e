#include "aggregator/fanout/render.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/support/routes.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::fanout::execution_mode;
using agg::stages::call_outcome;

namespace {

const auto config = agg::testing::demo_config("http://127.0.0.1:9008/api/?task_id={i}");

call_outcome reply(long status, std::string body, outcome_kind error = outcome_kind::ok) {
  call_outcome outcome;
  agg::calls::upstream_reply &r = outcome.reply;
  r.body = std::move(body);
  r.kind = error;
  if (error == outcome_kind::ok)
    agg::calls::set_response_status(r, status);
  else
    r.error_detail = "it broke";
  r.started = std::chrono::steady_clock::time_point{} + 1ms;
  r.finished = r.started + 5ms;
  return outcome;
}

/// Renders the replies as the response to a request with num = replies.size().
std::pair<agg::fanout::rendered_aggregate, boost::json::object> rendered(std::vector<call_outcome> replies) {
  auto planned = agg::fanout::make_plan(config.routes[0], {{"num", std::to_string(replies.size())}});
  const auto &plan = std::get<agg::fanout::fan_out_plan>(planned);
  const auto result =
      agg::fanout::settle(plan, execution_mode::async, std::move(replies), std::chrono::steady_clock::time_point{});
  auto out = agg::fanout::render(result);
  auto doc = boost::json::parse(out.body).as_object();
  return {std::move(out), std::move(doc)};
}

}  // namespace

TEST_CASE("a complete aggregate renders the Django-compatible shape plus per-upstream entries") {
  auto [out, doc] = rendered({reply(200, R"({"a":1})"), reply(200, R"([2])")});
  CHECK(out.status == 200);
  CHECK(out.complete);
  CHECK(doc.at("message").as_string() == "Aggregated upstream responses");
  CHECK(boost::json::serialize(doc.at("responses")) == R"([{"a":1},[2]])");
  CHECK(doc.at("debug_message").as_string().starts_with("fetch executed in "));
  CHECK(doc.at("mode").as_string() == "async");
  CHECK(doc.at("route").as_string() == "demo");
  CHECK(doc.at("complete").as_bool());
  CHECK(doc.at("succeeded").as_int64() == 2);
  const auto &first = doc.at("upstreams").as_array().at(0).as_object();
  CHECK(first.at("url").as_string() == "http://127.0.0.1:9008/api/?task_id=0");
  CHECK(first.at("ok").as_bool());
  CHECK(first.at("status").as_int64() == 200);
  CHECK(first.at("error").is_null());
  CHECK(first.at("start_ms").as_double() == Approx(1.0));
  CHECK(first.at("duration_ms").as_double() == Approx(5.0));
}

TEST_CASE("a failed upstream keeps its slot: null in responses, the reason in upstreams") {
  auto [out, doc] = rendered({reply(200, R"({"a":1})"), reply(0, "", outcome_kind::timeout), reply(503, "{}"),
                              reply(200, "not json"), reply(200, R"({"b":2})")});
  CHECK(out.status == 200);
  CHECK_FALSE(out.complete);
  CHECK_FALSE(doc.at("complete").as_bool());
  CHECK(doc.at("failed").as_int64() == 3);
  const auto &responses = doc.at("responses").as_array();
  REQUIRE(responses.size() == 5);
  CHECK(responses[1].is_null());
  CHECK(responses[2].is_null());
  CHECK(responses[3].is_null());
  CHECK(responses[4].at("b").as_int64() == 2);
  const auto &upstreams = doc.at("upstreams").as_array();
  CHECK(upstreams[1].at("error").at("kind").as_string() == "timeout");
  CHECK(upstreams[1].at("status").is_null());
  CHECK(upstreams[2].at("error").at("kind").as_string() == "http_status");
  CHECK(upstreams[2].at("status").as_int64() == 503);
  CHECK(upstreams[3].at("error").at("kind").as_string() == "invalid_json");
}

TEST_CASE("an aggregate where every upstream failed is a 502") {
  auto [out, doc] = rendered({reply(0, "", outcome_kind::connect), reply(0, "", outcome_kind::connect)});
  CHECK(out.status == 502);
  CHECK(doc.at("upstreams").as_array()[0].at("error").at("kind").as_string() == "connect");
}

TEST_CASE("any 2xx is a success and a 204 contributes null") {
  auto [out, doc] = rendered({reply(204, ""), reply(201, R"("made")")});
  CHECK(out.complete);
  CHECK(doc.at("responses").as_array()[0].is_null());
  CHECK(doc.at("responses").as_array()[1].as_string() == "made");
}

namespace {

/// An aggregate of `slots` for the status table: each slot is ok, failed, or cut by the deadline.
enum class slot { ok, failed, cut };

int status_of(std::vector<std::pair<slot, bool>> slots, int partial_status = 200) {
  auto route = *config.routes[0];
  route.partial_status = partial_status;
  agg::fanout::aggregate result;
  result.route = std::make_shared<const agg::config::route_config>(route);
  for (const auto &[s, required] : slots) {
    agg::fanout::upstream_result r;
    r.kind = s == slot::ok ? agg::calls::outcome_kind::ok
                           : (s == slot::cut ? agg::calls::outcome_kind::timeout : agg::calls::outcome_kind::connect);
    r.deadline_passed = s == slot::cut;
    r.required = required;
    result.results.push_back(std::move(r));
  }
  return agg::fanout::aggregate_status(result);
}

}  // namespace

TEST_CASE("the aggregate status table") {
  CHECK(status_of({{slot::ok, false}, {slot::ok, true}}) == 200);
  CHECK(status_of({{slot::ok, false}, {slot::failed, false}}) == 200);
  CHECK(status_of({{slot::ok, false}, {slot::failed, false}}, 206) == 206);
  CHECK(status_of({{slot::failed, false}, {slot::failed, false}}) == 502);
  CHECK(status_of({{slot::failed, false}, {slot::cut, false}}) == 504);
  CHECK(status_of({{slot::ok, false}, {slot::failed, true}}) == 502);
  CHECK(status_of({{slot::ok, false}, {slot::cut, true}}) == 504);
  CHECK(status_of({{slot::ok, false}, {slot::cut, false}}, 207) == 207);
}
