#include "aggregator/runtime/admission.hpp"

namespace agg::runtime {

std::variant<admission::ticket, admission::refusal> admission::admit(std::stop_source stop) {
  if (shutting_down()) return refusal::shutting_down;
  // Counted before the check, so two racing requests cannot both take the last place.
  if (in_flight_.fetch_add(1, std::memory_order_acq_rel) >= max_) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    return refusal::overloaded;
  }
  const std::lock_guard lock{mutex_};
  running_.push_front(std::move(stop));
  return ticket{*this, running_.begin()};
}

void admission::release(registry::iterator place) noexcept {
  {
    const std::lock_guard lock{mutex_};
    running_.erase(place);
  }
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
}

void admission::cancel_all() {
  const std::lock_guard lock{mutex_};
  for (auto &stop : running_) stop.request_stop();
}

}  // namespace agg::runtime
