#include "aggregator/stages/circuit_breaker.hpp"

namespace agg::stages {

std::string_view to_string(breaker_state state) noexcept {
  switch (state) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
  }
  return "closed";
}

circuit_breaker::admission circuit_breaker::admit(clock::time_point now) {
  const std::lock_guard lock{mutex_};
  if (state_ == breaker_state::closed) return admission::go;
  if (state_ == breaker_state::open) {
    if (now < open_until_) return admission::refuse;
    state_ = breaker_state::half_open;
    probing_ = false;
  }
  if (probing_) return admission::refuse;
  probing_ = true;
  return admission::probe;
}

std::optional<breaker_state> circuit_breaker::record(const config::breaker_policy &policy, admission admitted,
                                                     bool failed, clock::time_point now) {
  const std::lock_guard lock{mutex_};
  if (admitted == admission::probe) {
    probing_ = false;
    if (state_ != breaker_state::half_open) return std::nullopt;  // another probe decided already
    if (failed) {
      open(policy, now);
      return breaker_state::open;
    }
    state_ = breaker_state::closed;
    in_a_row_ = 0;
    window_ = {};
    return breaker_state::closed;
  }
  if (state_ != breaker_state::closed) return std::nullopt;  // a call admitted before it opened

  in_a_row_ = failed ? in_a_row_ + 1 : 0;
  const auto slice = std::max<std::int64_t>(1, (policy.window / window_buckets).count());
  const std::int64_t slot =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() / slice;
  bucket &current = window_[static_cast<std::size_t>(slot) % window_buckets];
  if (current.slot != slot) current = bucket{slot, 0, 0};
  ++current.calls;
  if (failed) ++current.failures;

  std::uint64_t calls = 0;
  std::uint64_t failures = 0;
  for (const bucket &b : window_) {
    if (b.slot <= slot - static_cast<std::int64_t>(window_buckets) || b.slot > slot) continue;
    calls += b.calls;
    failures += b.failures;
  }
  const bool too_many_in_a_row = in_a_row_ >= policy.failures;
  const bool too_high_a_ratio =
      calls >= policy.min_calls && static_cast<double>(failures) >= policy.ratio * static_cast<double>(calls);
  if (!failed || !(too_many_in_a_row || too_high_a_ratio)) return std::nullopt;
  open(policy, now);
  return breaker_state::open;
}

void circuit_breaker::abandon(admission admitted) {
  if (admitted != admission::probe) return;
  const std::lock_guard lock{mutex_};
  probing_ = false;
}

void circuit_breaker::open(const config::breaker_policy &policy, clock::time_point now) {
  state_ = breaker_state::open;
  open_until_ = now + policy.open;
  probing_ = false;
  in_a_row_ = 0;
  window_ = {};
  ++opened_;
}

breaker_state circuit_breaker::state() const {
  const std::lock_guard lock{mutex_};
  return state_;
}

std::uint64_t circuit_breaker::times_opened() const {
  const std::lock_guard lock{mutex_};
  return opened_;
}

}  // namespace agg::stages
