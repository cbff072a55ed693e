#pragma once

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "aggregator/loop/event_loop.hpp"

namespace agg::loop {

/// Threads for blocking work (the sync baseline): at most `threads` run at once, made as they are
/// needed, and at most `queue` more wait; past that, work is refused at once. A coroutine on an event
/// loop hands work over with run() and resumes on that loop when it is done: Django's
/// sync_to_async, with the loop free meanwhile. Destruction runs what was queued and joins.
/// Thread-safe.
class blocking_pool {
 public:
  blocking_pool(std::size_t threads, std::size_t queue) : max_threads_(threads), max_queued_(queue) {}
  blocking_pool(const blocking_pool &) = delete;
  blocking_pool &operator=(const blocking_pool &) = delete;
  ~blocking_pool();

  /// Awaitable that runs `work` on a pool thread and resumes the awaiting coroutine on `loop`; it
  /// yields work's result, or nullopt when the pool was full (nothing ran) or the loop stopped.
  /// `work` must outlive the await: name it in the coroutine's frame (not a temporary).
  template <typename Work>
  [[nodiscard]] auto run(loop::event_loop &loop, Work &work) {
    using result = std::invoke_result_t<Work &>;
    struct awaiter {
      blocking_pool *pool;
      loop::event_loop *loop;
      Work *work;
      std::optional<result> value{};
      bool refused = false;

      [[nodiscard]] bool await_ready() const noexcept { return false; }
      bool await_suspend(std::coroutine_handle<> waiter) {
        refused = !pool->submit([this, waiter] {
          value.emplace((*work)());
          // The loop resumes the waiter; a loop that stopped meanwhile cannot, and the frame is left.
          loop->post(waiter);
        });
        return !refused;
      }
      std::optional<result> await_resume() { return std::move(value); }
    };
    return awaiter{this, &loop, &work};
  }

  /// Work waiting for a thread.
  [[nodiscard]] std::size_t queued() const;

 private:
  /// Queues `job`; false when the queue is full or the pool is closing.
  bool submit(std::function<void()> job);
  void work();

  const std::size_t max_threads_;
  const std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  std::vector<std::thread> threads_;        // guarded by mutex_
  std::size_t outstanding_ = 0;             // guarded by mutex_: jobs queued or running
  bool closing_ = false;                    // guarded by mutex_
};

}  // namespace agg::loop
