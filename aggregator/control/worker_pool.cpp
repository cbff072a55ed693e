#include "aggregator/control/worker_pool.hpp"

#include <algorithm>

namespace agg::control {

worker_pool::worker_pool(std::size_t threads, std::size_t held) : max_held_(std::max(held, threads)) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

worker_pool::~worker_pool() { shutdown(); }

void worker_pool::enqueue(std::function<void()> fn) {
  // cpp-httplib's task for a new connection parks it in the waiting room, which never waits: done
  // here, a flood of new connections never fills the queue a request needs a worker from.
  fn();
}

bool worker_pool::try_enqueue(std::function<void()> fn) {
  {
    const std::lock_guard lock{mutex_};
    if (stopping_ || busy_ + waiting_.size() >= max_held_) return false;
    waiting_.push_back(std::move(fn));
  }
  wake_.notify_one();
  return true;
}

void worker_pool::shutdown() {
  {
    const std::lock_guard lock{mutex_};
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto &t : threads_) t.join();
  threads_.clear();
}

void worker_pool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping, and nothing left to run
      task = std::move(waiting_.front());
      waiting_.pop_front();
      ++busy_;
    }
    task();
    const std::lock_guard lock{mutex_};
    --busy_;
  }
}

}  // namespace agg::control
