#include "aggregator/stages/budget_stage.hpp"

#include <catch2/catch.hpp>

#include "aggregator/stages/hedge_stage.hpp"
#include "aggregator/stages/retry_stage.hpp"
#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;

namespace {

/// Extra calls the route's budget still allows with no first call counted: the floor only.
int extra_allowed(agg::stages::shared_state &shared, const agg::config::budget_policy &terms) {
  int spent = 0;
  const auto now = std::chrono::steady_clock::now();
  while (spent < 100'000 && shared.route("r").budget.try_spend(terms, now)) ++spent;
  return spent;
}

}  // namespace

TEST_CASE("retries and hedges bring one budget, counted once per call outside both") {
  stage_bench bench{R"("retry":{"budget":{"ratio":1,"min_per_second":0}},"hedge":{"after_ms":1000})"};
  const auto &policy = bench.config.routes.at(0)->upstreams.at(0).policy;
  REQUIRE(policy.budget);
  CHECK(policy.budget->ratio == Approx(1.0));
  scripted_stage fake;
  agg::stages::retry_stage retry{fake, bench.shared};
  agg::stages::hedge_stage hedge{retry, bench.shared};
  agg::stages::budget_stage budget{hedge, bench.shared};
  bench.run(budget, bench.plan(7));
  // Seven first calls at ratio 1: seven extra calls, whichever stage spends them.
  CHECK(extra_allowed(bench.shared, *policy.budget) == 7);
}

TEST_CASE("hedging alone draws from a budget of the default terms, a route with neither counts nothing") {
  const stage_bench hedged{R"("hedge":{"after_ms":5})"};
  const auto &terms = hedged.config.routes.at(0)->upstreams.at(0).policy.budget;
  REQUIRE(terms);
  CHECK(terms->ratio == Approx(agg::config::budget_policy{}.ratio));

  stage_bench plain;
  CHECK_FALSE(plain.config.routes.at(0)->upstreams.at(0).policy.budget);
  scripted_stage fake;
  agg::stages::budget_stage budget{fake, plain.shared};
  plain.run(budget, plain.plan(5));
  CHECK(fake.calls() == 5);
  CHECK(extra_allowed(plain.shared, agg::config::budget_policy{1.0, 0, 10s}) == 0);
}

TEST_CASE("an entry that turns its route's retry off keeps hedging on the default terms") {
  const stage_bench bench{R"("retry":{"budget":{"ratio":3}},"hedge":{"after_ms":5})", R"("retry":false)"};
  const auto &policy = bench.config.routes.at(0)->upstreams.at(0).policy;
  CHECK_FALSE(policy.retry);
  REQUIRE(policy.budget);
  CHECK(policy.budget->ratio == Approx(agg::config::budget_policy{}.ratio));
}
