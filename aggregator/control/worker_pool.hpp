#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace agg::control {

/// The control plane's workers, as cpp-httplib's task queue: `threads` of them serve connections
/// whose request has begun, and at most `held` such connections are served or wait for a worker.
/// A new connection's task (cpp-httplib's enqueue) only parks it in the waiting room, so it runs at
/// once on the accepting thread. cpp-httplib owns the pool (new_task_queue); enqueue() on the
/// accepting thread, the rest on any.
class worker_pool final : public httplib::TaskQueue {
 public:
  worker_pool(std::size_t threads, std::size_t held);
  worker_pool(const worker_pool &) = delete;
  worker_pool &operator=(const worker_pool &) = delete;
  ~worker_pool() override;

  /// Runs `fn` at once (see above).
  void enqueue(std::function<void()> fn) override;
  /// Queues `fn` when fewer than `held` tasks run or wait; false (nothing queued) otherwise.
  [[nodiscard]] bool try_enqueue(std::function<void()> fn);
  /// Runs what is queued, then joins the workers.
  void shutdown() override;

 private:
  void work();

  const std::size_t max_held_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> waiting_;  // guarded by mutex_
  std::size_t busy_ = 0;                       // guarded by mutex_: tasks running
  bool stopping_ = false;                      // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace agg::control
