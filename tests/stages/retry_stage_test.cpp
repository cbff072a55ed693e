#include "aggregator/stages/retry_stage.hpp"

#include <catch2/catch.hpp>

#include "aggregator/stages/budget_stage.hpp"
#include "tests/support/scripted_stage.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::testing::scripted_stage;
using agg::testing::stage_bench;
using step = scripted_stage::step;

namespace {

/// Fails the first `n` calls with `failure`, then answers 200.
scripted_stage failing_first(std::size_t n, step failure) {
  return scripted_stage{
      [n, failure](std::size_t nth, const agg::stages::call_request &) { return nth < n ? failure : step{}; }};
}

constexpr auto status = agg::testing::answering;

}  // namespace

TEST_CASE("a retried call that succeeds counts every call it sent") {
  stage_bench bench{R"("retry":{"attempts":3,"backoff_ms":1})"};
  auto fake = failing_first(2, status(503));
  agg::stages::retry_stage retry{fake, bench.shared};
  const auto outcomes = bench.run(retry, bench.plan(1));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].attempts == 3);
  CHECK(fake.calls() == 3);
  CHECK(bench.shared.route("r").counters.retries == 2);
}

TEST_CASE("retries stop at attempts, and the last failure is the answer") {
  stage_bench bench{R"("retry":{"attempts":2,"backoff_ms":1})"};
  auto fake = failing_first(10, status(502));
  agg::stages::retry_stage retry{fake, bench.shared};
  const auto outcomes = bench.run(retry, bench.plan(1));
  CHECK(outcomes[0].reply.status == 502);
  CHECK(outcomes[0].attempts == 2);
  CHECK(fake.calls() == 2);
}

TEST_CASE("only the failures the policy names are retried") {
  stage_bench bench{R"("retry":{"attempts":3,"backoff_ms":1,"on":["connect"]})"};
  step refused;
  refused.kind = outcome_kind::connect;
  SECTION("a 503 is not named") {
    auto fake = failing_first(1, status(503));
    agg::stages::retry_stage retry{fake, bench.shared};
    CHECK(bench.run(retry, bench.plan(1))[0].reply.status == 503);
    CHECK(fake.calls() == 1);
  }
  SECTION("a refused connection is") {
    auto fake = failing_first(1, refused);
    agg::stages::retry_stage retry{fake, bench.shared};
    CHECK(bench.run(retry, bench.plan(1))[0].reply.status == 200);
    CHECK(fake.calls() == 2);
  }
  SECTION("a 404 never is") {
    stage_bench all{R"("retry":{"attempts":3,"backoff_ms":1})"};
    auto fake = failing_first(1, status(404));
    agg::stages::retry_stage retry{fake, all.shared};
    CHECK(all.run(retry, all.plan(1))[0].reply.status == 404);
    CHECK(fake.calls() == 1);
  }
}

TEST_CASE("a Retry-After that would end past the deadline is not waited for") {
  stage_bench bench{R"("retry":{"attempts":3,"backoff_ms":1})"};
  step busy = status(503);
  busy.retry_after = 60s;
  auto fake = failing_first(1, busy);
  agg::stages::retry_stage retry{fake, bench.shared};
  const auto started = std::chrono::steady_clock::now();
  const auto outcomes = bench.run(retry, bench.plan(1, 5'000ms));
  CHECK(outcomes[0].reply.status == 503);
  CHECK(outcomes[0].attempts == 1);
  CHECK(std::chrono::steady_clock::now() - started < 5s);  // it did not wait for the deadline either
}

TEST_CASE("a Retry-After that fits is what the retry waits for, in place of the backoff") {
  step busy = status(429);
  busy.retry_after = 20ms;
  auto fake = failing_first(1, busy);
  stage_bench with_429{R"("retry":{"attempts":2,"backoff_ms":60000,"on":["http_429"]})"};
  agg::stages::retry_stage retry{fake, with_429.shared};
  const auto started = std::chrono::steady_clock::now();
  const auto outcomes = with_429.run(retry, with_429.plan(1));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].attempts == 2);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= 20ms);
  CHECK(took < 30s);  // the 60 s backoff was not used
}

TEST_CASE("a backoff that would end past the deadline is not started") {
  stage_bench bench{R"("retry":{"attempts":3,"backoff_ms":60000})"};
  auto fake = failing_first(1, status(503));
  agg::stages::retry_stage retry{fake, bench.shared};
  const auto outcomes = bench.run(retry, bench.plan(1, 1'000ms));
  CHECK(outcomes[0].reply.status == 503);
  CHECK(fake.calls() == 1);
}

TEST_CASE("past the route's budget a failure is returned without a retry, and the refusal counted") {
  stage_bench bench{R"("retry":{"attempts":5,"backoff_ms":1,"budget":{"ratio":0.5,"min_per_second":0}})"};
  // Every first call is made (and counted) before any of them fails: they are held for a moment.
  scripted_stage fake{[](std::size_t nth, const agg::stages::call_request &) {
    step s = status(503);
    s.hold = nth < 10;
    s.hold_for = 1ms;
    return s;
  }};
  agg::stages::retry_stage retry{fake, bench.shared};
  agg::stages::budget_stage budget{retry, bench.shared};  // counts the first calls, as in a pipeline
  const auto outcomes = bench.run(budget, bench.plan(10));
  // Ten first calls earn five retries in all, whichever calls get them.
  unsigned sent = 0;
  for (const auto &o : outcomes) sent += o.attempts;
  CHECK(sent == 15);
  CHECK(fake.calls() == 15);
  const auto &counters = bench.shared.route("r").counters;
  CHECK(counters.retries == 5);
  CHECK(counters.retry_refusals == 10);  // every call's last failure asked once more
}

TEST_CASE("a call cancelled during its backoff ends at once as cancelled") {
  stage_bench bench{R"("retry":{"attempts":3,"backoff_ms":10000})"};  // within the 30 s deadline
  auto fake = failing_first(1, status(503));
  agg::stages::retry_stage retry{fake, bench.shared};
  std::stop_source stop;
  auto plan = bench.plan(1);
  const auto outcomes = bench.run_together(retry, {&plan}, {stop.get_token()}, [&] { stop.request_stop(); });
  CHECK(outcomes[0][0].reply.kind == outcome_kind::cancelled);
  CHECK(fake.calls() == 1);
}

TEST_CASE("the sync baseline retries the same way, on its own thread") {
  stage_bench bench{R"("retry":{"attempts":3,"backoff_ms":1})"};
  auto fake = failing_first(2, status(503));
  agg::stages::retry_stage retry{fake, bench.shared};
  const auto outcomes = bench.run_blocking(retry, bench.plan(2));
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].attempts == 3);
  CHECK(outcomes[1].attempts == 1);
}

TEST_CASE("the backoff doubles per retry and its jitter takes at most half of it") {
  agg::config::retry_policy p;
  p.backoff = 100ms;
  for (int i = 0; i < 200; ++i) {
    const auto first = agg::stages::backoff_before(p, 1);
    CHECK(first >= 50ms);
    CHECK(first <= 100ms);
    const auto third = agg::stages::backoff_before(p, 3);
    CHECK(third >= 200ms);
    CHECK(third <= 400ms);
  }
}

TEST_CASE("an entry's own retry policy replaces its route's, and false turns it off") {
  stage_bench off{R"("retry":{"attempts":3,"backoff_ms":1})", R"("retry":false)"};
  auto fake = failing_first(1, status(503));
  agg::stages::retry_stage retry{fake, off.shared};
  CHECK(off.run(retry, off.plan(1))[0].reply.status == 503);
  CHECK(fake.calls() == 1);
}
