#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>

#include "aggregator/coro/task.hpp"
#include "aggregator/loop/event_loop.hpp"

namespace agg::store {

/// Names any replica publishes on one channel (redis_store's `signals`), and the coroutines on
/// this replica's loops that wait for one (a coalesced call's followers wait for its result's
/// name). A waiter takes a ticket before it looks for what the name stands for, so that a signal
/// sent meanwhile is kept on the ticket, never missed. Thread-safe.
class redis_signals {
 public:
  explicit redis_signals(std::string channel) : channel_(std::move(channel)) {}
  redis_signals(const redis_signals &) = delete;
  redis_signals &operator=(const redis_signals &) = delete;

  /// Where the names are published (PUBLISH <channel> <name>).
  [[nodiscard]] const std::string &channel() const noexcept { return channel_; }

  class ticket;
  /// Starts listening for `name` on `loop` (its thread): what wait() then waits for.
  [[nodiscard]] ticket listen(loop::event_loop &loop, std::string name);

  /// `name` was published: every ticket for it is signalled, its waiter resumed on its loop. From
  /// the subscriber.
  void deliver(std::string_view name);

 private:
  struct listener {
    loop::event_loop *loop;
    std::uint64_t id;
    std::atomic<bool> signalled{false};
  };
  void forget(const std::string &name, const std::shared_ptr<listener> &l);

  const std::string channel_;
  std::mutex mutex_;
  std::unordered_multimap<std::string, std::shared_ptr<listener>> listening_;  // guarded by mutex_
};

/// One wait for a name; stops listening when destroyed. On its loop's thread.
class redis_signals::ticket {
 public:
  ticket(redis_signals &signals, std::string name, std::shared_ptr<listener> l)
      : signals_(&signals), name_(std::move(name)), listener_(std::move(l)) {}
  ticket(ticket &&other) noexcept = default;
  ticket &operator=(ticket &&) = delete;
  ticket(const ticket &) = delete;
  ~ticket() {
    if (listener_) signals_->forget(name_, listener_);
  }

  /// The name was published since listen().
  [[nodiscard]] bool signalled() const noexcept { return listener_->signalled.load(std::memory_order_acquire); }
  /// Waits until the name is published (true), `until` passes or `stop` is requested (false).
  coro::task<bool> wait(loop::clock::time_point until, std::stop_token stop);

 private:
  redis_signals *signals_;
  std::string name_;
  std::shared_ptr<listener> listener_;
};

}  // namespace agg::store
