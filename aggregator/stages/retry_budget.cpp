#include "aggregator/stages/retry_budget.hpp"

#include <algorithm>

namespace agg::stages {

namespace {

std::int64_t second_of(retry_budget::clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

retry_budget::second &retry_budget::current(clock::time_point now) {
  const std::int64_t at = second_of(now);
  second &s = seconds_[static_cast<std::size_t>(at) % seconds_kept];
  if (s.at != at) s = second{at, 0, 0};
  return s;
}

void retry_budget::record_call(clock::time_point now) {
  const std::lock_guard lock{mutex_};
  ++current(now).calls;
}

bool retry_budget::try_spend(const config::budget_policy &terms, clock::time_point now) {
  const std::int64_t window = std::clamp<std::int64_t>(std::chrono::ceil<std::chrono::seconds>(terms.window).count(), 1,
                                                       static_cast<std::int64_t>(seconds_kept));
  const std::lock_guard lock{mutex_};
  const std::int64_t at = second_of(now);
  std::uint64_t calls = 0;
  std::uint64_t extra = 0;
  for (std::int64_t s = at - window + 1; s <= at; ++s) {
    const second &counted = seconds_[static_cast<std::size_t>(s) % seconds_kept];
    if (counted.at != s) continue;
    calls += counted.calls;
    extra += counted.extra;
  }
  const double allowed =
      terms.ratio * static_cast<double>(calls) + static_cast<double>(terms.floor) * static_cast<double>(window);
  if (static_cast<double>(extra + 1) > allowed) return false;
  ++current(now).extra;
  return true;
}

}  // namespace agg::stages
