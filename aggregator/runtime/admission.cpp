#include "aggregator/runtime/admission.hpp"

namespace agg::runtime {

std::variant<admission::ticket, admission::refusal> admission::admit(std::stop_source stop) {
  if (shutting_down()) return refusal::shutting_down;
  // Counted before the check, so two racing requests cannot both take the last place.
  if (in_flight_.fetch_add(1, std::memory_order_acq_rel) >= max_) {
    if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {  // a release meanwhile left it to this
      const std::lock_guard lock{mutex_};
      idle_.notify_all();
    }
    return refusal::overloaded;
  }
  const std::lock_guard lock{mutex_};
  running_.push_front(std::move(stop));
  return ticket{*this, running_.begin()};
}

void admission::release(registry::iterator place) noexcept {
  const std::lock_guard lock{mutex_};
  running_.erase(place);
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) idle_.notify_all();
}

bool admission::wait_idle(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock{mutex_};
  return idle_.wait_until(lock, until, [this] { return in_flight() == 0; });
}

void admission::cancel_all() {
  cancelled_all_.store(true, std::memory_order_release);
  const std::lock_guard lock{mutex_};
  for (auto &stop : running_) stop.request_stop();
}

}  // namespace agg::runtime
