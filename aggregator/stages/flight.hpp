#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/loop/event_loop.hpp"
#include "aggregator/stages/call_stage.hpp"

namespace agg::stages {

/// One transfer that identical calls share (coalescing): the first caller starts it, later ones
/// join while it is in flight, and each waits for its outcome under its own id. A waiter that is
/// cancelled leaves alone; the transfer is cancelled only when the last waiter has left. Owned by
/// the coroutine that runs the transfer and by the loop's index of flights; loop thread only.
class flight {
 public:
  flight(loop::event_loop &events, calls::upstream_call call)
      : events_(events), call_(std::move(call)), ends_by_(ends_by(call_)) {}

  [[nodiscard]] const calls::upstream_call &call() const noexcept { return call_; }
  [[nodiscard]] std::stop_token stop_token() const noexcept { return stop_.get_token(); }
  /// The latest a call made now can end: its timeout from now, or its deadline if sooner.
  [[nodiscard]] static std::chrono::steady_clock::time_point ends_by(const calls::upstream_call &call) noexcept {
    const auto now = std::chrono::steady_clock::now();
    return call.deadline - now < call.timeout ? call.deadline : now + call.timeout;
  }
  /// True while a call that must end by `joiner_ends_by` may join: not over, not abandoned, and
  /// sure to end no later than the joiner must (a joiner never waits past its own limits).
  [[nodiscard]] bool joinable(std::chrono::steady_clock::time_point joiner_ends_by) const noexcept {
    return !outcome_ && !stop_.stop_requested() && ends_by_ <= joiner_ends_by;
  }

  /// Joins and waits for the outcome; nullopt when `stop` was requested first (this waiter left).
  /// Resumes on the loop thread.
  coro::task<std::optional<call_outcome>> wait(std::stop_token stop);
  /// The transfer ended: every waiter gets `outcome`.
  void finish(call_outcome outcome);

 private:
  loop::event_loop &events_;
  calls::upstream_call call_;
  std::chrono::steady_clock::time_point ends_by_;
  std::stop_source stop_;  ///< the transfer's: requested when the last waiter leaves
  std::vector<std::uint64_t> waiting_;
  std::optional<call_outcome> outcome_;
};

}  // namespace agg::stages
