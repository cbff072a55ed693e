#include "aggregator/stages/origin_limit_stage.hpp"

#include <catch2/catch.hpp>

#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;
using step = scripted_stage::step;

using agg::testing::held;

TEST_CASE("past the cap an origin's calls wait for a free slot, and their entries show how long") {
  stage_bench bench{"", "", 2};
  scripted_stage fake{held(5ms)};
  agg::stages::origin_limit_stage limit{fake, bench.shared};
  const auto outcomes = bench.run(limit, bench.plan(6));
  CHECK(fake.calls() == 6);
  CHECK(fake.max_in_flight() == 2);
  for (const auto &o : outcomes) CHECK(o.reply.status == 200);
  CHECK(outcomes[0].queued < 5ms);
  CHECK(outcomes[5].queued >= 5ms);  // it waited for two calls before it
}

TEST_CASE("the cap is shared by concurrent aggregations") {
  stage_bench bench{"", "", 1};
  scripted_stage fake{held()};
  agg::stages::origin_limit_stage limit{fake, bench.shared};
  auto a = bench.plan(2);
  auto b = bench.plan(2);
  auto &events = bench.loop.events();
  // Releases whatever is held, again and again in the same round, until all four calls are over.
  std::function<void()> keep_releasing = [&] {
    fake.release(events);
    if (fake.calls() < 4 || fake.in_flight() > 0) static_cast<void>(events.post(keep_releasing));
  };
  static_cast<void>(bench.run_together(limit, {&a, &b}, {{}, {}}, [&] { keep_releasing(); }));
  bench.settle();  // its last repost may still be queued: it runs before the locals it uses go
  CHECK(fake.calls() == 4);
  CHECK(fake.max_in_flight() == 1);
}

TEST_CASE("a call cancelled while it waits for a slot never reaches its origin") {
  stage_bench bench{"", "", 1};
  std::stop_source stop;
  scripted_stage fake{held()};
  agg::stages::origin_limit_stage limit{fake, bench.shared};
  auto plan = bench.plan(3);
  const auto outcomes = bench.run_together(limit, {&plan}, {stop.get_token()}, [&] { stop.request_stop(); });
  CHECK(fake.calls() == 1);
  CHECK(outcomes[0][0].reply.kind == outcome_kind::cancelled);
  CHECK(outcomes[0][2].reply.kind == outcome_kind::cancelled);
  CHECK(outcomes[0][2].reply.error_detail.find("waiting for a connection") != std::string::npos);
  CHECK(bench.shared.loop(0).slots.begin()->second.busy == 0);
}

TEST_CASE("a call still waiting for a slot at its deadline times out") {
  stage_bench bench{"", "", 1};
  scripted_stage fake{held(300ms)};
  agg::stages::origin_limit_stage limit{fake, bench.shared};
  const auto outcomes = bench.run(limit, bench.plan(2, 20ms));
  CHECK(fake.calls() == 1);
  CHECK(outcomes[1].reply.kind == outcome_kind::timeout);
  CHECK(outcomes[1].reply.deadline_passed);
}

TEST_CASE("a route's concurrency is its window: at most that many of its calls at once, the rest queued") {
  stage_bench bench{R"("concurrency":2)"};
  scripted_stage fake{held(2ms)};
  const auto outcomes = bench.run(fake, bench.plan(6));
  CHECK(fake.calls() == 6);
  CHECK(fake.max_in_flight() == 2);
  CHECK(outcomes[0].queued.count() == 0);
  CHECK(outcomes[5].queued >= 2ms);
}
