#include "aggregator/store/redis_signals.hpp"

namespace agg::store {

redis_signals::ticket redis_signals::listen(loop::event_loop &loop, std::string name) {
  auto l = std::make_shared<listener>();
  l->loop = &loop;
  l->id = loop.new_waiter_id();
  {
    const std::lock_guard lock{mutex_};
    listening_.emplace(name, l);
  }
  return ticket{*this, std::move(name), std::move(l)};
}

void redis_signals::deliver(std::string_view name) {
  const std::lock_guard lock{mutex_};
  const auto [first, last] = listening_.equal_range(std::string{name});
  for (auto it = first; it != last; ++it) {
    listener &l = *it->second;
    l.signalled.store(true, std::memory_order_release);
    l.loop->post([loop = l.loop, id = l.id] { loop->wake(id); });  // not waiting yet: the flag says it
  }
}

void redis_signals::forget(const std::string &name, const std::shared_ptr<listener> &l) {
  const std::lock_guard lock{mutex_};
  const auto [first, last] = listening_.equal_range(name);
  for (auto it = first; it != last; ++it)
    if (it->second == l) {
      listening_.erase(it);
      return;
    }
}

coro::task<bool> redis_signals::ticket::wait(loop::clock::time_point until, std::stop_token stop) {
  if (signalled()) co_return true;
  auto parked = listener_->loop->wait(listener_->id, until, std::move(stop));
  const auto why = co_await parked;
  co_return why == loop::event_loop::wake_reason::signal || signalled();
}

}  // namespace agg::store
