#include "aggregator/filters/routing_filter.hpp"

#include <catch2/catch.hpp>

#include "tests/support/recording_responder.hpp"
#include "tests/support/routes.hpp"

using namespace agg;

TEST_CASE("routing reads the target into path and query and names the endpoint, the route names the request") {
  const testing::fixed_answer endpoint{200};
  const auto config = testing::demo_config("http://127.0.0.1:9/api/?task_id={i}");
  const testing::one_endpoint table{endpoint, {.route = config.routes.at(0)}};
  const filters::routing_filter routing{table};
  const auto chain = testing::chain_of(std::make_unique<filters::routing_filter>(table));
  auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                 testing::request_for("GET", "/api/demo?num=3&q=a%20b&q=c&who=[x]"));
  REQUIRE_FALSE(routing.on_request(x));
  const auto &r = x.request();
  CHECK(r.path == "/api/demo");
  CHECK(r.query.count("q") == 2);
  CHECK(r.query.find("q")->second == "a b");
  CHECK(r.query.find("who")->second == "[x]");  // sent raw, read like the encoded form
  CHECK(r.match.answer == &endpoint);
  CHECK(r.route == config.routes.at(0)->name);
}

TEST_CASE("a path is matched as sent: an encoded character never makes it another endpoint's") {
  const testing::fixed_answer endpoint{200};
  const testing::one_endpoint table{endpoint, {}};
  const filters::routing_filter routing{table};
  const auto chain = testing::chain_of();
  for (const char *target : {"/api%2Ffast", "/api/f%61st", "/%61pi/fast?x=1"}) {
    auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                   testing::request_for("GET", target));
    REQUIRE_FALSE(routing.on_request(x));
    CHECK(x.request().path != "/api/fast");
    CHECK(x.request().path.find('%') != std::string::npos);
  }
}

TEST_CASE("a target that is no path and query is 400 bad_target, before anything else looks at it") {
  const testing::fixed_answer endpoint{200};
  const testing::one_endpoint table{endpoint, {}};
  const auto chain = testing::chain_of(std::make_unique<filters::routing_filter>(table));
  const auto to = std::make_shared<testing::recording_responder>();
  chain.serve(testing::exchange_for(chain, to, testing::request_for("GET", "/health?x=%zz")));
  REQUIRE(to->answers.size() == 1);
  CHECK(to->answers[0].status == 400);
  CHECK(to->answers[0].body.find("bad_target") != std::string::npos);
  CHECK(endpoint.served == 0);
}

TEST_CASE("empty pairs in a query (`?`, a trailing or doubled `&`) are ignored, `?=x` is kept") {
  const testing::fixed_answer endpoint{200};
  const testing::one_endpoint table{endpoint, {}};
  const filters::routing_filter routing{table};
  const auto chain = testing::chain_of();
  const std::pair<const char *, std::size_t> cases[] = {
      {"/api/demo?", 0}, {"/api/demo?num=1&", 1}, {"/api/demo?&num=1&&", 1}, {"/api/demo?=x", 1}};
  for (const auto &[target, pairs] : cases) {
    auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                   testing::request_for("GET", target));
    REQUIRE_FALSE(routing.on_request(x));
    CHECK(x.request().query.size() == pairs);
    CHECK(x.request().query.count("") == (std::string_view{target}.ends_with("=x") ? 1U : 0U));
  }
}
