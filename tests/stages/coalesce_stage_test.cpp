#include "aggregator/stages/coalesce_stage.hpp"

#include <catch2/catch.hpp>

#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;
using step = scripted_stage::step;

namespace {

/// Held until released, with a body of its own.
step held() {
  step s = agg::testing::held();
  s.body = R"({"shared":true})";
  return s;
}

}  // namespace

TEST_CASE("identical calls of concurrent aggregations share one transfer and get the same answer") {
  stage_bench bench{R"("coalesce":true)"};
  scripted_stage fake{held()};
  auto coalesce = agg::stages::coalesce_stage{fake, bench.shared};
  auto a = bench.plan(2);
  auto b = bench.plan(2);
  auto c = bench.plan(2);
  auto &events = bench.loop.events();
  const auto outcomes = bench.run_together(coalesce, {&a, &b, &c}, {{}, {}, {}}, [&] { fake.release(events); });
  CHECK(fake.calls() == 2);
  for (const auto &run : outcomes)
    for (const auto &o : run) {
      CHECK(o.reply.status == 200);
      CHECK(o.reply.body == R"({"shared":true})");
    }
  CHECK_FALSE(outcomes[0][0].coalesced);
  CHECK(outcomes[1][0].coalesced);
  CHECK(outcomes[2][1].coalesced);
  CHECK(bench.shared.route("r").counters.coalesced == 4);
}

TEST_CASE("a cancelled waiter leaves alone: the shared transfer goes on for the others") {
  stage_bench bench{R"("coalesce":true)"};
  scripted_stage fake{held()};
  auto coalesce = agg::stages::coalesce_stage{fake, bench.shared};
  auto a = bench.plan(1);
  auto b = bench.plan(1);
  std::stop_source first;  // the aggregation that started the transfer
  auto &events = bench.loop.events();
  const auto outcomes = bench.run_together(coalesce, {&a, &b}, {first.get_token(), {}}, [&] {
    first.request_stop();
    static_cast<void>(events.post([&] { fake.release(events); }));  // after the cancellation is through
  });
  CHECK(outcomes[0][0].reply.kind == outcome_kind::cancelled);
  CHECK(outcomes[1][0].reply.status == 200);
  CHECK(outcomes[1][0].coalesced);
  REQUIRE(fake.calls() == 1);
  CHECK_FALSE(fake.log()[0].cancelled);
}

TEST_CASE("the shared transfer is cancelled when its last waiter leaves") {
  stage_bench bench{R"("coalesce":true)"};
  scripted_stage fake{held()};
  auto coalesce = agg::stages::coalesce_stage{fake, bench.shared};
  auto a = bench.plan(1);
  auto b = bench.plan(1);
  std::stop_source stop_a;
  std::stop_source stop_b;
  const auto outcomes = bench.run_together(coalesce, {&a, &b}, {stop_a.get_token(), stop_b.get_token()}, [&] {
    stop_a.request_stop();
    stop_b.request_stop();
  });
  CHECK(outcomes[0][0].reply.kind == outcome_kind::cancelled);
  CHECK(outcomes[1][0].reply.kind == outcome_kind::cancelled);
  bench.settle();  // the transfer ends after its last waiter left
  REQUIRE(fake.calls() == 1);
  CHECK(fake.log()[0].cancelled);
  CHECK(bench.shared.loop(0).flights.empty());
}

TEST_CASE("a call does not join a transfer that may run past its own time limit") {
  stage_bench bench{R"("coalesce":true)"};
  scripted_stage fake{held()};
  auto coalesce = agg::stages::coalesce_stage{fake, bench.shared};
  auto long_one = bench.plan(1);
  auto short_one = bench.plan(1, 5'000ms);
  auto later_one = bench.plan(1);  // a later deadline than the short one's transfer: joins it
  auto &events = bench.loop.events();
  const auto outcomes = bench.run_together(coalesce, {&long_one, &short_one}, {{}, {}}, [&] { fake.release(events); });
  CHECK(fake.calls() == 2);
  CHECK_FALSE(outcomes[1][0].coalesced);

  scripted_stage second{held()};
  auto joined = agg::stages::coalesce_stage{second, bench.shared};
  const auto outcomes2 =
      bench.run_together(joined, {&short_one, &later_one}, {{}, {}}, [&] { second.release(events); });
  CHECK(second.calls() == 1);
  CHECK(outcomes2[1][0].coalesced);
}

TEST_CASE("calls that differ in URL are not coalesced, and the sync baseline never coalesces") {
  stage_bench bench{R"("coalesce":true)"};
  scripted_stage fake{held()};
  auto coalesce = agg::stages::coalesce_stage{fake, bench.shared};
  auto two = bench.plan(2);
  auto three = bench.plan(3);
  auto &events = bench.loop.events();
  static_cast<void>(bench.run_together(coalesce, {&two, &three}, {{}, {}}, [&] { fake.release(events); }));
  CHECK(fake.calls() == 3);

  scripted_stage direct;
  auto blocking = agg::stages::coalesce_stage{direct, bench.shared};
  static_cast<void>(bench.run_blocking(blocking, two));
  static_cast<void>(bench.run_blocking(blocking, two));
  CHECK(direct.calls() == 4);
}

TEST_CASE("the coalescing key includes the forwarded headers") {
  agg::calls::upstream_call plain{"http://a/x"};
  agg::calls::upstream_call with_header = plain;
  with_header.headers.push_back("Authorization: Bearer 1");
  CHECK(agg::stages::coalescing_key(plain) != agg::stages::coalescing_key(with_header));
  CHECK(agg::stages::coalescing_key(plain) == agg::stages::coalescing_key(agg::calls::upstream_call{"http://a/x"}));
}
