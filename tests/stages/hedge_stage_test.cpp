#include "aggregator/stages/hedge_stage.hpp"

#include <catch2/catch.hpp>

#include "aggregator/stages/retry_stage.hpp"
#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;
using step = scripted_stage::step;

using agg::testing::held;

namespace {

/// The first call hangs (until cancelled), every later one answers at once.
scripted_stage first_hangs() {
  return scripted_stage{[](std::size_t nth, const agg::stages::call_request &) { return nth == 0 ? held() : step{}; }};
}

}  // namespace

TEST_CASE("a hedge sent after the delay wins over a hanging call, and the loser is cancelled") {
  stage_bench bench{R"("hedge":{"after_ms":5})"};
  auto fake = first_hangs();
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].hedged == 1u);
  CHECK(outcomes[0].attempts == 2);
  REQUIRE(fake.calls() == 2);
  CHECK(fake.log()[0].cancelled);
  CHECK(fake.in_flight() == 0);  // the loser is over when the call is
  const auto &counters = bench.shared.route("r").counters;
  CHECK(counters.hedges == 1);
  CHECK(counters.hedges_won == 1);
}

TEST_CASE("a call that answers before the delay sends no hedge") {
  stage_bench bench{R"("hedge":{"after_ms":1000})"};
  scripted_stage fake;
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(3));
  for (const auto &o : outcomes) {
    CHECK(o.attempts == 1);
    CHECK_FALSE(o.hedged);
  }
  CHECK(fake.calls() == 3);
  CHECK(bench.shared.route("r").counters.hedges == 0);
}

TEST_CASE("when the first call answers first after a hedge was sent, the hedge is cancelled") {
  stage_bench bench{R"("hedge":{"after_ms":2})"};
  scripted_stage fake{
      [](std::size_t nth, const agg::stages::call_request &) { return nth == 0 ? held(30ms) : held(); }};
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].hedged == 0u);
  REQUIRE(fake.calls() == 2);
  CHECK(fake.log()[1].cancelled);
  CHECK(bench.shared.route("r").counters.hedges_won == 0);
}

TEST_CASE("max_extra bounds the hedges of one call") {
  stage_bench bench{R"("hedge":{"after_ms":1,"max_extra":2})"};
  scripted_stage fake{[](std::size_t nth, const agg::stages::call_request &) { return nth < 3 ? held(40ms) : step{}; }};
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(fake.calls() == 3);
  CHECK(outcomes[0].attempts == 3);
}

TEST_CASE("no hedge is sent past the deadline") {
  stage_bench bench{R"("hedge":{"after_ms":500})"};
  scripted_stage fake{held(50ms)};
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1, 20ms));
  CHECK(fake.calls() == 1);
  CHECK(outcomes[0].attempts == 1);
}

TEST_CASE("hedges spend the route's retry budget, past it none is sent") {
  stage_bench bench{R"("hedge":{"after_ms":1},"retry":{"attempts":1,"budget":{"ratio":0,"min_per_second":0}})"};
  scripted_stage fake{held(20ms)};
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(fake.calls() == 1);
  CHECK(bench.shared.route("r").counters.retry_refusals == 1);
}

TEST_CASE("an aggregation cancelled while its calls race cancels every branch") {
  stage_bench bench{R"("hedge":{"after_ms":1})"};
  std::stop_source stop;
  // Cancelled the moment the hedge is sent: both branches hang then.
  scripted_stage fake{[&stop](std::size_t nth, const agg::stages::call_request &) {
    if (nth == 1) stop.request_stop();
    return held();
  }};
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1), stop.get_token());
  CHECK(outcomes[0].reply.kind == outcome_kind::cancelled);
  REQUIRE(fake.calls() == 2);
  CHECK(fake.log()[0].cancelled);
  CHECK(fake.log()[1].cancelled);
}

TEST_CASE("retries inside a hedge: each branch retries on its own and every call sent is counted") {
  stage_bench bench{R"("hedge":{"after_ms":5},"retry":{"attempts":3,"backoff_ms":1})"};
  step unavailable;
  unavailable.status = 503;
  scripted_stage fake{[unavailable](std::size_t nth, const agg::stages::call_request &) {
    if (nth == 0) return held();             // the first branch hangs
    return nth == 1 ? unavailable : step{};  // the hedge fails once, then succeeds
  }};
  agg::stages::retry_stage retry{fake, bench.shared};
  agg::stages::hedge_stage hedge{retry, bench.shared};
  const auto outcomes = bench.run(hedge, bench.plan(1));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].hedged == 1u);
  CHECK(outcomes[0].attempts == 3);
  CHECK(fake.log()[0].cancelled);
  CHECK(bench.shared.route("r").counters.retries == 1);
}

TEST_CASE("the sync baseline makes one call at a time, so it does not hedge") {
  stage_bench bench{R"("hedge":{"after_ms":1})"};
  scripted_stage fake{held(5ms)};
  agg::stages::hedge_stage hedge{fake, bench.shared};
  const auto outcomes = bench.run_blocking(hedge, bench.plan(2));
  CHECK(fake.calls() == 2);
  CHECK_FALSE(outcomes[0].hedged);
}
