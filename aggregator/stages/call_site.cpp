#include "aggregator/stages/call_site.hpp"

#include <condition_variable>
#include <mutex>

namespace agg::stages {

coro::task<bool> call_site::sleep_until(clock::time_point when, std::stop_token stop) const {
  if (loop_ != nullptr) {
    co_await loop_->schedule();
    auto nap = loop_->events().sleep_until(when, std::move(stop));  // named: see event_loop::wait
    co_return co_await nap == loop::event_loop::wake_reason::time;
  }
  // The blocking site: the thread sleeps, and a stop request wakes it.
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock{mutex};
  static_cast<void>(woken.wait_until(lock, stop, when, [] { return false; }));
  co_return !stop.stop_requested();
}

}  // namespace agg::stages
