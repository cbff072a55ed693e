#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "aggregator/config/service_config.hpp"

namespace agg::stages {

/// How many extra calls (retries and hedges) a route may send (Finagle's RetryBudget, Envoy's retry
/// budgets): over the last `window`, at most `ratio` of the first calls, plus `floor` a second
/// (config::budget_policy), so that a quiet route can still retry. Past it, a failure is returned
/// as it is: when an upstream is down, retries cannot multiply the load on it. Thread-safe.
class retry_budget {
 public:
  using clock = std::chrono::steady_clock;

  /// A first call (not a retry, not a hedge) was made.
  void record_call(clock::time_point now);
  /// Asks for one extra call under `terms`; true (and counted) when the budget has room.
  [[nodiscard]] bool try_spend(const config::budget_policy &terms, clock::time_point now);

 private:
  static constexpr std::size_t seconds_kept = 600;  // the longest window the config allows
  struct second {
    std::int64_t at = -1;  ///< which second of the steady clock it counts
    std::uint32_t calls = 0;
    std::uint32_t extra = 0;
  };
  second &current(clock::time_point now);  // mutex_ held

  std::mutex mutex_;
  std::array<second, seconds_kept> seconds_{};  // guarded by mutex_: a ring by second
};

}  // namespace agg::stages
