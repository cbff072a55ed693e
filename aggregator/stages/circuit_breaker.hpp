#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "aggregator/config/service_config.hpp"

namespace agg::stages {

/// Where an origin's breaker stands: calls go through (closed), fail at once (open), or one probe at
/// a time goes through to see whether the origin is back (half open).
enum class breaker_state { closed, open, half_open };
std::string_view to_string(breaker_state state) noexcept;

/// The breaker of one origin, shared by every route and loop that calls it; each call brings the
/// thresholds of its own route. Opens after `failures` failures in a row, or when `ratio` of at least
/// `min_calls` calls within `window` failed; stays open for `open`; then lets one probe through at a
/// time, and closes when a probe succeeds (a failed probe opens it again). Thread-safe.
class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;

  /// What a call may do now: go, go as the half-open probe, or fail as `circuit_open`.
  enum class admission { go, probe, refuse };
  [[nodiscard]] admission admit(clock::time_point now);

  /// A call that was admitted ended: `failed` says whether it counts against the origin. Returns
  /// the new state when this changed it.
  std::optional<breaker_state> record(const config::breaker_policy &policy, admission admitted, bool failed,
                                      clock::time_point now);
  /// A call that was admitted ended without a verdict on the origin (cancelled): a probe's place
  /// is free again.
  void abandon(admission admitted);

  [[nodiscard]] breaker_state state() const;
  /// How often it opened, ever.
  [[nodiscard]] std::uint64_t times_opened() const;

 private:
  static constexpr std::size_t window_buckets = 10;
  struct bucket {
    std::int64_t slot = -1;  ///< which window/10 slice of time it counts
    std::uint32_t calls = 0;
    std::uint32_t failures = 0;
  };
  /// Opens the breaker (mutex_ held).
  void open(const config::breaker_policy &policy, clock::time_point now);

  mutable std::mutex mutex_;
  breaker_state state_ = breaker_state::closed;  // guarded by mutex_
  unsigned in_a_row_ = 0;                        // guarded by mutex_: consecutive failures
  std::array<bucket, window_buckets> window_{};  // guarded by mutex_
  clock::time_point open_until_;                 // guarded by mutex_
  bool probing_ = false;                         // guarded by mutex_: a half-open probe is out
  std::uint64_t opened_ = 0;                     // guarded by mutex_
};

}  // namespace agg::stages
