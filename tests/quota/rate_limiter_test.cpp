#include "aggregator/quota/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace agg;
using namespace std::chrono_literals;

namespace {

/// A clock the test moves.
struct fake_clock {
  quota::rate_limiter::clock::time_point now{};
  quota::rate_limiter::now_function reader() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("GCRA admits a burst at once, then one per interval, a refusal says when the next fits") {
  fake_clock clock;
  quota::rate_limiter limiter{100, clock.reader()};
  const quota::rate r{10, 5};  // 10/s, bursts of 5
  for (int i = 0; i < 5; ++i) CHECK(limiter.charge("k", 1, r).admitted);
  const auto refused = limiter.charge("k", 1, r);
  CHECK_FALSE(refused.admitted);
  CHECK(refused.retry_after.count() == Approx(0.1));
  clock.now += 100ms;
  const auto next = limiter.charge("k", 1, r);
  CHECK(next.admitted);
  CHECK(next.remaining == Approx(0).margin(1e-9));
  CHECK(limiter.charge("other", 1, r).admitted);  // keys are separate
}

TEST_CASE("a charge larger than the burst can never fit, one that fits takes that many units") {
  fake_clock clock;
  quota::rate_limiter limiter{100, clock.reader()};
  const quota::rate calls{100, 50};
  const auto huge = limiter.charge("k", 51, calls);
  CHECK_FALSE(huge.admitted);
  CHECK(huge.never_fits);
  CHECK(limiter.charge("k", 40, calls).admitted);
  const auto after = limiter.charge("k", 20, calls);  // 40 + 20 > 50
  CHECK_FALSE(after.admitted);
  CHECK_FALSE(after.never_fits);
  CHECK(after.retry_after.count() == Approx(0.1));  // 10 calls' worth at 100/s
  CHECK(after.remaining == Approx(10));
}

TEST_CASE("over 5 s at twice the allowed rate, the admitted requests are within 5 % of the rate") {
  fake_clock clock;
  quota::rate_limiter limiter{100, clock.reader()};
  const quota::rate r{100, 10};
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) {  // 200/s for 5 s
    admitted += limiter.charge("k", 1, r).admitted ? 1 : 0;
    clock.now += 5ms;
  }
  const double expected = 100 * 5 + 10;  // the rate over the time, plus the first burst
  CHECK(admitted >= expected * 0.95);
  CHECK(admitted <= expected * 1.05);
  // Exactly: one every 10 ms after the burst fills.
  CHECK(admitted == Approx(expected).margin(2));
}

TEST_CASE("keys are bounded: past max_keys the least recently seen is forgotten, never the process") {
  fake_clock clock;
  quota::rate_limiter limiter{3, clock.reader()};
  const quota::rate r{1, 1};
  for (const char *key : {"a", "b", "c", "d"}) CHECK(limiter.charge(key, 1, r).admitted);
  CHECK(limiter.keys() == 3);
  CHECK(limiter.forgotten() == 1);
  CHECK(limiter.charge("a", 1, r).admitted);  // forgotten: a fresh start (forgetting only admits more)
  CHECK_FALSE(limiter.charge("d", 1, r).admitted);
}

TEST_CASE("decisions from many threads at once admit exactly the burst: no charge is lost or doubled") {
  const quota::rate_limiter::clock::time_point frozen{};
  quota::rate_limiter limiter{16, [frozen] { return frozen; }};
  const quota::rate r{1, 1000};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) admitted += limiter.charge("shared", 1, r).admitted ? 1 : 0;
    });
  for (auto &thread : threads) thread.join();
  CHECK(admitted == 1000);
}
