#include "aggregator/filters/request_id_filter.hpp"

#include <catch2/catch.hpp>

#include "tests/support/recording_responder.hpp"

using namespace agg;

namespace {

std::string id_answered(std::vector<http::header_field> headers, bool refused = false) {
  const auto chain = testing::chain_of(std::make_unique<filters::request_id_filter>());
  const testing::fixed_answer endpoint{200};
  const auto to = std::make_shared<testing::recording_responder>();
  auto x = testing::exchange_for(chain, to, testing::request_for("GET", "/", std::move(headers)));
  x.request().match.answer = &endpoint;
  if (refused)
    chain.refuse(std::move(x), {400, "bad", "bad"});
  else
    chain.serve(std::move(x));
  REQUIRE(to->answers.size() == 1);
  for (const auto &h : to->answers[0].headers)
    if (h.name == "X-Request-Id") return h.value;
  return {};
}

}  // namespace

TEST_CASE("a client's acceptable request id is kept, another replaced, and every answer carries one") {
  CHECK(id_answered({{"X-Request-Id", "trace-42.a:b"}}) == "trace-42.a:b");
  const std::string replaced = id_answered({{"X-Request-Id", "bad id with spaces"}});
  CHECK(replaced.size() == 16);
  CHECK(id_answered({}).size() == 16);
  CHECK(id_answered({{"X-Request-Id", "trace-42"}}, true).size() == 16);  // refused: no request was read
}
