#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

#include "aggregator/calls/upstream_call.hpp"

namespace agg::stages {

/// The calls of one origin by outcome, as the per-origin metrics show them: by kind, with
/// http_status split by class (http_4xx, http_5xx, http_other), because an origin's 4xx and 5xx say
/// different things about it.
struct origin_outcomes {
  std::array<std::uint64_t, calls::outcome_kind_count> by_kind{};
  std::array<std::uint64_t, 3> http_by_class{};  ///< 4xx, 5xx, other

  void count(const calls::upstream_reply &reply) noexcept;
  /// Calls `visit(label, count)` for each outcome seen at least once.
  void each(const std::function<void(std::string_view label, std::uint64_t count)> &visit) const;
  /// The count under `label` ("ok", "http_5xx", ...).
  [[nodiscard]] std::uint64_t labelled(std::string_view label) const;
};

/// The calls one origin answered: counts by result, a latency histogram, and the latencies of its
/// recent successes (what a hedge's `"after": "p95"` reads). Thread-safe: every loop records here.
class origin_stats {
 public:
  /// Upper bounds of the latency buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 14> latency_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                          0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 30.0};
  /// Successes kept for percentiles, and how many must be seen before one is given.
  static constexpr std::size_t recent_size = 512;
  static constexpr std::size_t min_samples = 20;

  /// One call made to the origin (a cancelled one counts, but not in the latencies).
  void record(const calls::upstream_reply &reply);
  /// The latency at fraction `p` (0.95: p95) of the recent successes; nullopt before min_samples.
  /// Recomputed once every few dozen new samples, so that hedged calls do not sort per call.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> latency_percentile(double p) const;

  struct snapshot {
    origin_outcomes calls;
    std::array<std::uint64_t, latency_buckets.size()> buckets{};  ///< not cumulative
    std::uint64_t timed = 0;                                      ///< calls in the histogram
    double seconds = 0;                                           ///< their sum
  };
  [[nodiscard]] snapshot read() const;

 private:
  mutable std::mutex mutex_;
  snapshot counts_;                                    // guarded by mutex_
  std::array<std::int64_t, recent_size> recent_ns_{};  // guarded by mutex_: a ring
  std::uint64_t successes_ = 0;                        // guarded by mutex_: ever, so the ring's fill is min(it, size)
  mutable std::optional<double> cached_fraction_;      // guarded by mutex_
  mutable std::int64_t cached_ns_ = 0;                 // guarded by mutex_
  mutable std::uint64_t cached_at_ = 0;                // guarded by mutex_: successes_ when computed
};

}  // namespace agg::stages
