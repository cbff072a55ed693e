#include "aggregator/filters/loop_guard_filter.hpp"

#include <catch2/catch.hpp>

#include "aggregator/http/loop_guard.hpp"
#include "tests/support/recording_responder.hpp"

using namespace agg;

namespace {

std::optional<http::response> guard(bool calls_upstreams, std::vector<http::header_field> headers,
                                    std::vector<std::string> *hop_lines = nullptr) {
  const auto chain = testing::chain_of(std::make_unique<filters::loop_guard_filter>(5));
  auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                 testing::request_for("GET", "/api/demo", std::move(headers)));
  x.request().match.calls_upstreams = calls_upstreams;
  auto answer = filters::loop_guard_filter{5}.on_request(x);
  if (hop_lines != nullptr) *hop_lines = x.request().hop_lines;
  return answer;
}

}  // namespace

TEST_CASE("a request that would call upstreams through this instance again is answered 508") {
  const std::string looped = "1.1 proxy, " + std::string{http::instance_via()};
  const auto refused = guard(true, {{"Via", looped}});
  REQUIRE(refused);
  CHECK(refused->status == 508);
  CHECK(refused->body.find("loop_detected") != std::string::npos);
  CHECK(guard(true, {{std::string{http::hops_header}, "5"}})->status == 508);
  CHECK_FALSE(guard(false, {{"Via", looped}}));  // a probe or a page file makes no calls
}

TEST_CASE("a request that may go on gets the Via its calls will carry") {
  std::vector<std::string> lines;
  CHECK_FALSE(guard(true, {{"Via", "1.1 proxy"}, {std::string{http::hops_header}, "2"}}, &lines));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "Via: 1.1 proxy, " + std::string{http::instance_via()});
  const std::string five =
      "1.1 aggregator-a1, 1.1 aggregator-a2, 1.1 aggregator-a3, 1.1 aggregator-a4, 1.1 aggregator-a5";
  CHECK(guard(true, {{"Via", five}})->status == 508);
}
