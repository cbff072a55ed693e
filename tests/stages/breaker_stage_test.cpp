#include "aggregator/stages/breaker_stage.hpp"

#include <catch2/catch.hpp>

#include "aggregator/stages/retry_stage.hpp"
#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::stages::breaker_state;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;
using step = scripted_stage::step;

namespace {

step refused() { return agg::testing::failing(outcome_kind::connect); }

constexpr std::string_view origin = "http://127.0.0.1:9";

}  // namespace

TEST_CASE("once a breaker is open its origin's calls fail at once as circuit_open, without a call") {
  stage_bench bench{R"("breaker":{"failures":2,"open_ms":60000})"};
  scripted_stage fake{refused()};
  agg::stages::breaker_stage breaker{fake, bench.shared};
  const auto outcomes = bench.run(breaker, bench.plan(5));
  CHECK(fake.calls() == 2);
  CHECK(outcomes[1].reply.kind == outcome_kind::connect);
  for (std::size_t i = 2; i < 5; ++i) {
    CHECK(outcomes[i].reply.kind == outcome_kind::circuit_open);
    CHECK(outcomes[i].attempts == 0);
    CHECK(outcomes[i].reply.error_detail.find("http://127.0.0.1:9") != std::string::npos);
  }
  auto &record = bench.shared.origin(origin);
  CHECK(record.breaker.state() == breaker_state::open);
  CHECK(record.refused == 3);
}

TEST_CASE("a breaker's change of state is told to the listener") {
  std::vector<std::pair<std::string, breaker_state>> heard;
  agg::stages::shared_state shared{1, 0, [&](std::string_view o, breaker_state now) { heard.emplace_back(o, now); }};
  stage_bench bench{R"("breaker":{"failures":1,"open_ms":60000})"};
  scripted_stage fake{refused()};
  agg::stages::breaker_stage breaker{fake, shared};
  static_cast<void>(bench.run(breaker, bench.plan(2)));
  REQUIRE(heard.size() == 1);
  CHECK(heard[0].first == origin);
  CHECK(heard[0].second == breaker_state::open);
}

TEST_CASE("4xx answers and cancelled calls do not count against the origin") {
  stage_bench bench{R"("breaker":{"failures":1,"open_ms":60000})"};
  step not_found;
  not_found.status = 404;
  scripted_stage fake{not_found};
  agg::stages::breaker_stage breaker{fake, bench.shared};
  static_cast<void>(bench.run(breaker, bench.plan(3)));
  CHECK(bench.shared.origin(origin).breaker.state() == breaker_state::closed);

  step hangs;
  hangs.hold = true;
  scripted_stage hanging{hangs};
  agg::stages::breaker_stage guarded{hanging, bench.shared};
  std::stop_source stop;
  auto plan = bench.plan(2);
  const auto outcomes = bench.run_together(guarded, {&plan}, {stop.get_token()}, [&] { stop.request_stop(); });
  CHECK(outcomes[0][0].reply.kind == outcome_kind::cancelled);
  CHECK(bench.shared.origin(origin).breaker.state() == breaker_state::closed);
}

TEST_CASE("a breaker with retries: retries stop once it opens, so a down origin is not hammered") {
  stage_bench bench{R"("breaker":{"failures":2,"open_ms":60000},"retry":{"attempts":5,"backoff_ms":1})"};
  scripted_stage fake{refused()};
  agg::stages::breaker_stage breaker{fake, bench.shared};
  agg::stages::retry_stage retry{breaker, bench.shared};
  const auto outcomes = bench.run(retry, bench.plan(1));
  // The call failed as its last real attempt did (connect), not as the refusal after it, and says so.
  CHECK(outcomes[0].reply.kind == outcome_kind::connect);
  CHECK(outcomes[0].attempts == 2);  // the two calls that failed; the refusal sent nothing
  CHECK(outcomes[0].reply.error_detail.find("; not retried: the circuit breaker of http://127.0.0.1:9 is open") !=
        std::string::npos);
  CHECK(fake.calls() == 2);
}

TEST_CASE("the open breaker closes with the first probe that succeeds") {
  stage_bench bench{R"("breaker":{"failures":1,"open_ms":1})"};
  bool back = false;
  scripted_stage fake{[&back](std::size_t, const agg::stages::call_request &) { return back ? step{} : refused(); }};
  agg::stages::breaker_stage breaker{fake, bench.shared};
  static_cast<void>(bench.run(breaker, bench.plan(1)));
  auto &b = bench.shared.origin(origin).breaker;
  REQUIRE(b.state() == breaker_state::open);
  back = true;
  // open_ms is 1: wait for the breaker's own clock (what is tested), then one probe closes it.
  const auto reopened = std::chrono::steady_clock::now() + 2ms;
  while (std::chrono::steady_clock::now() < reopened) std::this_thread::yield();
  const auto outcomes = bench.run(breaker, bench.plan(1));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(b.state() == breaker_state::closed);
  CHECK(fake.calls() == 2);
}

TEST_CASE("the sync baseline goes through the same breaker") {
  stage_bench bench{R"("breaker":{"failures":2,"open_ms":60000})"};
  scripted_stage fake{refused()};
  agg::stages::breaker_stage breaker{fake, bench.shared};
  const auto outcomes = bench.run_blocking(breaker, bench.plan(4));
  CHECK(fake.calls() == 2);
  CHECK(outcomes[3].reply.kind == outcome_kind::circuit_open);
}

TEST_CASE("timeouts the client asked for, or its deadline caused, never open an origin's breaker") {
  stage_bench bench{R"("timeout_ms":5000,"breaker":{"failures":2,"open_ms":60000})"};
  scripted_stage fake{agg::testing::failing(outcome_kind::timeout)};
  agg::stages::breaker_stage breaker{fake, bench.shared};
  // timeout_ms=1000 shortens the route's 5 s: those timeouts are the client's.
  for (int i = 0; i < 3; ++i) {
    const auto outcomes = bench.run(breaker, bench.plan(5, 1000ms));
    for (const auto &o : outcomes) CHECK(o.reply.kind == outcome_kind::timeout);
  }
  CHECK(fake.calls() == 15);
  CHECK(bench.shared.origin(origin).breaker.state() == breaker_state::closed);

  scripted_stage cut{[](std::size_t, const agg::stages::call_request &) {
    auto s = agg::testing::failing(outcome_kind::timeout);
    s.deadline_passed = true;
    return s;
  }};
  agg::stages::breaker_stage cut_breaker{cut, bench.shared};
  bench.run(cut_breaker, bench.plan(5));
  CHECK(bench.shared.origin(origin).breaker.state() == breaker_state::closed);

  // The route's own timeout is the origin's failure.
  const auto outcomes = bench.run(breaker, bench.plan(5));
  CHECK(outcomes[4].reply.kind == outcome_kind::circuit_open);
  CHECK(bench.shared.origin(origin).breaker.state() == breaker_state::open);
}
