#include "aggregator/stages/cache_stage.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include "aggregator/stages/coalesce_stage.hpp"
#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::stages::cache_state;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;
using step = scripted_stage::step;

namespace {

/// Lets `d` pass on the steady clock: what a TTL is made of (nothing is waited for here).
void let_pass(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

/// Answers its first call, then fails every call as `connect`.
scripted_stage up_then_down() {
  return scripted_stage{[](std::size_t nth, const agg::stages::call_request &) {
    return nth == 0 ? step{} : agg::testing::failing(outcome_kind::connect);
  }};
}

/// One call kept in the cache, then (past its 1 ms ttl) the same call again, which fails.
std::vector<agg::stages::call_outcome> fill_then_fail(stage_bench &bench, scripted_stage &fake) {
  agg::stages::cache_stage cache{fake, bench.shared};
  static_cast<void>(bench.run(cache, bench.plan(1)));
  let_pass(3ms);
  return bench.run(cache, bench.plan(1));
}

}  // namespace

TEST_CASE("a second aggregation's calls are answered from the cache, sending nothing") {
  stage_bench bench{R"("cache":{"ttl_ms":60000})"};
  scripted_stage fake;
  agg::stages::cache_stage cache{fake, bench.shared};
  const auto first = bench.run(cache, bench.plan(2));
  CHECK(first[0].cache == cache_state::miss);
  const auto second = bench.run(cache, bench.plan(2));
  CHECK(fake.calls() == 2);
  for (const auto &o : second) {
    CHECK(o.cache == cache_state::hit);
    CHECK(o.attempts == 0);
    CHECK(o.reply.status == 200);
    CHECK(o.reply.body == R"({"ok":true})");
  }
  const auto &counters = bench.shared.route("r").counters;
  CHECK(counters.cache_misses == 2);
  CHECK(counters.cache_hits == 2);
}

TEST_CASE("failed answers are not kept") {
  stage_bench bench{R"("cache":{"ttl_ms":60000})"};
  step unavailable;
  unavailable.status = 503;
  scripted_stage fake{unavailable};
  agg::stages::cache_stage cache{fake, bench.shared};
  static_cast<void>(bench.run(cache, bench.plan(1)));
  CHECK(bench.run(cache, bench.plan(1))[0].cache == cache_state::miss);
  CHECK(fake.calls() == 2);
}

TEST_CASE("an entry past its time answers a failed call when stale-if-error allows") {
  stage_bench bench{R"("cache":{"ttl_ms":1,"stale_if_error_ms":600000})"};
  scripted_stage fake = up_then_down();
  const auto stale = fill_then_fail(bench, fake);
  CHECK(stale[0].cache == cache_state::stale);
  CHECK(stale[0].reply.status == 200);
  CHECK(stale[0].attempts == 1);  // the call was sent and failed
  CHECK(fake.calls() == 2);
  CHECK(bench.shared.route("r").counters.cache_stale == 1);
}

TEST_CASE("without stale-if-error an entry past its time is not used") {
  stage_bench bench{R"("cache":{"ttl_ms":1})"};
  scripted_stage fake = up_then_down();
  const auto after = fill_then_fail(bench, fake);
  CHECK(after[0].reply.kind == outcome_kind::connect);
  CHECK(after[0].cache == cache_state::miss);
}

TEST_CASE("with honor_cache_control the upstream's Cache-Control decides what is kept and how long") {
  stage_bench bench{R"("cache":{"ttl_ms":1,"honor_cache_control":true})"};
  scripted_stage fake{[](std::size_t, const agg::stages::call_request &request) {
    step s;
    s.cache_control = request.index == 0 ? "max-age=600" : request.index == 1 ? "no-store" : "private, max-age=600";
    return s;
  }};
  agg::stages::cache_stage cache{fake, bench.shared};
  auto plan = bench.plan(3);
  CHECK(plan.calls[0].wants_cache_control);
  static_cast<void>(bench.run(cache, plan));
  let_pass(3ms);  // past the route's ttl: only max-age keeps an entry
  const auto second = bench.run(cache, plan);
  CHECK(second[0].cache == cache_state::hit);
  CHECK(second[1].cache == cache_state::miss);
  CHECK(second[2].cache == cache_state::miss);
  CHECK(fake.calls() == 5);
}

TEST_CASE("a cache in front of coalescing: concurrent misses share one call, later ones hit") {
  stage_bench bench{R"("cache":{"ttl_ms":60000},"coalesce":true)"};
  step held;
  held.hold = true;
  scripted_stage fake{held};
  agg::stages::coalesce_stage coalesce{fake, bench.shared};
  agg::stages::cache_stage cache{coalesce, bench.shared};
  auto a = bench.plan(1);
  auto b = bench.plan(1);
  auto &events = bench.loop.events();
  const auto together = bench.run_together(cache, {&a, &b}, {{}, {}}, [&] { fake.release(events); });
  CHECK(fake.calls() == 1);
  CHECK(together[1][0].coalesced);
  CHECK(together[0][0].cache == cache_state::miss);
  CHECK(bench.run(cache, bench.plan(1))[0].cache == cache_state::hit);
  CHECK(fake.calls() == 1);
}

TEST_CASE("the sync baseline uses the same cache") {
  stage_bench bench{R"("cache":{"ttl_ms":60000})"};
  scripted_stage fake;
  agg::stages::cache_stage cache{fake, bench.shared};
  static_cast<void>(bench.run(cache, bench.plan(2)));
  const auto sync = bench.run_blocking(cache, bench.plan(2));
  CHECK(sync[1].cache == cache_state::hit);
  CHECK(fake.calls() == 2);
}

TEST_CASE("the cache key includes the forwarded headers") {
  agg::calls::upstream_call plain{"http://a/x"};
  agg::calls::upstream_call with_header = plain;
  with_header.headers.push_back("Accept-Language: fr");
  CHECK(agg::stages::cache_key(plain) != agg::stages::cache_key(with_header));
}
