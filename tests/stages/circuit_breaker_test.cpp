#include "aggregator/stages/circuit_breaker.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using agg::stages::breaker_state;
using agg::stages::circuit_breaker;
using admission = agg::stages::circuit_breaker::admission;

namespace {

agg::config::breaker_policy policy(unsigned failures, double ratio = 1.0, unsigned min_calls = 1'000) {
  agg::config::breaker_policy p;
  p.failures = failures;
  p.ratio = ratio;
  p.min_calls = min_calls;
  p.window = 10s;
  p.open = 1s;
  return p;
}

/// One call admitted at `now` that ends with `failed`; returns the state change it caused.
std::optional<breaker_state> call(circuit_breaker &b, const agg::config::breaker_policy &p, bool failed,
                                  circuit_breaker::clock::time_point now) {
  const auto admitted = b.admit(now);
  REQUIRE(admitted != admission::refuse);
  return b.record(p, admitted, failed, now);
}

}  // namespace

TEST_CASE("a breaker opens after its failures in a row, and a success in between starts the count again") {
  circuit_breaker b;
  const auto p = policy(3);
  const auto t = circuit_breaker::clock::now();
  CHECK_FALSE(call(b, p, true, t));
  CHECK_FALSE(call(b, p, true, t));
  CHECK_FALSE(call(b, p, false, t));  // two in a row, then a success
  CHECK_FALSE(call(b, p, true, t));
  CHECK_FALSE(call(b, p, true, t));
  CHECK(b.state() == breaker_state::closed);
  CHECK(call(b, p, true, t) == breaker_state::open);
  CHECK(b.state() == breaker_state::open);
  CHECK(b.times_opened() == 1);
  CHECK(b.admit(t + 999ms) == admission::refuse);
}

TEST_CASE("a breaker opens on a failure ratio once it has seen its minimum of calls") {
  circuit_breaker b;
  const auto p = policy(1'000, 0.5, 10);
  const auto t = circuit_breaker::clock::now();
  for (int i = 0; i < 4; ++i) {
    CHECK_FALSE(call(b, p, false, t));
    CHECK_FALSE(call(b, p, true, t));
  }
  CHECK_FALSE(call(b, p, false, t));                  // 4 of 9 failed
  CHECK(call(b, p, true, t) == breaker_state::open);  // 5 of 10
}

TEST_CASE("failures older than the window no longer count toward the ratio") {
  circuit_breaker b;
  const auto p = policy(1'000, 0.5, 4);
  const auto t = circuit_breaker::clock::now();
  CHECK_FALSE(call(b, p, true, t));
  CHECK_FALSE(call(b, p, true, t));
  CHECK_FALSE(call(b, p, true, t));
  CHECK_FALSE(call(b, p, false, t + 11s));  // the three failures have left the window
  CHECK_FALSE(call(b, p, false, t + 11s));
  CHECK_FALSE(call(b, p, true, t + 11s));
  CHECK(b.state() == breaker_state::closed);
}

TEST_CASE("after open_ms one probe at a time goes through, a successful probe closes, a failed one reopens") {
  circuit_breaker b;
  const auto p = policy(1);
  const auto t = circuit_breaker::clock::now();
  REQUIRE(call(b, p, true, t) == breaker_state::open);
  const auto later = t + 1s;
  const auto probe = b.admit(later);
  CHECK(probe == admission::probe);
  CHECK(b.state() == breaker_state::half_open);
  CHECK(b.admit(later) == admission::refuse);  // one probe at a time
  CHECK(b.record(p, probe, true, later) == breaker_state::open);
  CHECK(b.times_opened() == 2);
  CHECK(b.admit(later + 999ms) == admission::refuse);

  const auto second = b.admit(later + 1s);
  REQUIRE(second == admission::probe);
  CHECK(b.record(p, second, false, later + 1s) == breaker_state::closed);
  CHECK(b.admit(later + 1s) == admission::go);
}

TEST_CASE("an abandoned probe frees the probe's place") {
  circuit_breaker b;
  const auto p = policy(1);
  const auto t = circuit_breaker::clock::now();
  REQUIRE(call(b, p, true, t) == breaker_state::open);
  const auto probe = b.admit(t + 1s);
  REQUIRE(probe == admission::probe);
  b.abandon(probe);
  CHECK(b.admit(t + 1s) == admission::probe);
}

TEST_CASE("a call admitted before the breaker opened does not change it when it ends") {
  circuit_breaker b;
  const auto p = policy(1);
  const auto t = circuit_breaker::clock::now();
  const auto early = b.admit(t);
  REQUIRE(call(b, p, true, t) == breaker_state::open);
  CHECK_FALSE(b.record(p, early, false, t));
  CHECK(b.state() == breaker_state::open);
}
