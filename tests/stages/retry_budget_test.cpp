#include "aggregator/stages/retry_budget.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using agg::stages::retry_budget;

namespace {

agg::config::budget_policy terms(double ratio, unsigned floor, std::chrono::milliseconds window = 10s) {
  return agg::config::budget_policy{ratio, floor, window};
}

int spend_all(retry_budget &budget, const agg::config::budget_policy &p, retry_budget::clock::time_point now) {
  int spent = 0;
  while (budget.try_spend(p, now) && spent < 1'000'000) ++spent;
  return spent;
}

}  // namespace

TEST_CASE("a retry budget allows its ratio of the first calls in the window") {
  retry_budget budget;
  const auto t = retry_budget::clock::now();
  for (int i = 0; i < 100; ++i) budget.record_call(t);
  CHECK(spend_all(budget, terms(0.2, 0), t) == 20);
  for (int i = 0; i < 10; ++i) budget.record_call(t);
  CHECK(spend_all(budget, terms(0.2, 0), t) == 2);
}

TEST_CASE("a quiet route still gets the floor per second of its window") {
  retry_budget budget;
  const auto t = retry_budget::clock::now();
  CHECK(spend_all(budget, terms(0.2, 3, 2s), t) == 6);  // 3 a second over a 2 s window, no calls
}

TEST_CASE("what a budget counted leaves with its window") {
  retry_budget budget;
  const auto t = retry_budget::clock::now();
  for (int i = 0; i < 50; ++i) budget.record_call(t);
  CHECK(spend_all(budget, terms(0.2, 0, 5s), t) == 10);
  CHECK(spend_all(budget, terms(0.2, 0, 5s), t + 2s) == 0);  // the same window: spent
  CHECK(spend_all(budget, terms(0.2, 0, 5s), t + 6s) == 0);  // the calls left with the window too
  for (int i = 0; i < 50; ++i) budget.record_call(t + 6s);
  CHECK(spend_all(budget, terms(0.2, 0, 5s), t + 6s) == 10);
}

TEST_CASE("a zero ratio and a zero floor allow no retry at all") {
  retry_budget budget;
  const auto t = retry_budget::clock::now();
  for (int i = 0; i < 1'000; ++i) budget.record_call(t);
  CHECK_FALSE(budget.try_spend(terms(0, 0), t));
}
