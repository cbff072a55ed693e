#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "aggregator/runtime/lru_map.hpp"

namespace agg::quota {

/// One rate: `per_second` on average, up to `burst` at once.
struct rate {
  double per_second = 1;
  double burst = 1;
};

/// What a rate limiter decided for a charge of some units (requests, or upstream calls).
struct decision {
  bool admitted = false;
  bool never_fits = false;                       ///< the charge is more than the burst: it can never be admitted
  double remaining = 0;                          ///< units that could still be charged now
  std::chrono::duration<double> retry_after{0};  ///< when a refused charge would fit
  std::chrono::duration<double> reset{0};        ///< when the full burst is available again
};

/// The generic cell rate algorithm (GCRA, as in ATM and redis-cell) over many keys: per key one
/// time, the theoretical arrival time (TAT); a charge of `n` fits when TAT + n/rate − now ≤
/// burst/rate. Exact, O(1) and one time point per key; the keys live in an LRU of `max_keys`, the
/// least recently seen forgotten past it (forgetting a key only ever admits more). Thread-safe: one
/// short lock per decision. The clock is injected: tests run seconds of traffic in no time.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;
  using now_function = std::function<clock::time_point()>;

  explicit rate_limiter(
      std::size_t max_keys, now_function now = [] { return clock::now(); })
      : now_(std::move(now)), tats_(max_keys) {}

  /// Charges `units` to `key` at `r`; nothing is charged when refused.
  decision charge(const std::string &key, double units, const rate &r);
  [[nodiscard]] std::size_t keys() const;
  [[nodiscard]] std::size_t forgotten() const;

 private:
  now_function now_;
  mutable std::mutex mutex_;
  runtime::lru_map<std::string, clock::time_point> tats_;
};

}  // namespace agg::quota
