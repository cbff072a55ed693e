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

/// The control plane's workers, as cpp-httplib's task queue: `threads` of them serve connections,
/// and the pool holds at most `held` connections, served or waiting for a worker; past that a new
/// connection's task runs at once on the accepting thread, where refusing() tells it to close its
/// socket. While connections wait,
/// pressure_fd() is readable: a worker holding an idle client lets it go for the next. cpp-httplib
/// owns it (new_task_queue); enqueue() on the accepting thread, the rest on any.
class worker_pool final : public httplib::TaskQueue {
 public:
  worker_pool(std::size_t threads, std::size_t held);
  worker_pool(const worker_pool &) = delete;
  worker_pool &operator=(const worker_pool &) = delete;
  ~worker_pool() override;

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
