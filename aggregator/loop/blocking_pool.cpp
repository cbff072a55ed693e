#include "aggregator/loop/blocking_pool.hpp"

namespace agg::loop {

blocking_pool::~blocking_pool() {
  std::vector<std::thread> threads;
  {
    const std::lock_guard lock{mutex_};
    closing_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (auto &t : threads) t.join();
}

std::size_t blocking_pool::queued() const {
  const std::lock_guard lock{mutex_};
  return jobs_.size();
}

bool blocking_pool::submit(std::function<void()> job) {
  {
    const std::lock_guard lock{mutex_};
    if (closing_ || outstanding_ >= max_threads_ + max_queued_) return false;
    ++outstanding_;
    jobs_.push_back(std::move(job));
    // A thread for each job up to the cap; threads stay for the pool's life once made.
    if (threads_.size() < max_threads_ && threads_.size() < outstanding_) threads_.emplace_back([this] { work(); });
  }
  wake_.notify_one();
  return true;
}

void blocking_pool::work() {
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // closing, and nothing left to run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
    --outstanding_;
  }
}

}  // namespace agg::loop
