#include "aggregator/coro/sync_wait.hpp"

#include <catch2/catch.hpp>

#include <coroutine>
#include <stdexcept>
#include <thread>

using agg::coro::sync_wait;
using agg::coro::task;

namespace {

/// Resumes the awaiting coroutine on a new thread, as an upstream loop would.
struct resume_on_new_thread {
  std::thread *worker;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const {
    *worker = std::thread{[h] { h.resume(); }};
  }
  void await_resume() const noexcept {}
};

task<std::thread::id> finish_elsewhere(std::thread *worker) {
  co_await resume_on_new_thread{worker};
  co_return std::this_thread::get_id();
}

task<int> fail_elsewhere(std::thread *worker) {
  co_await resume_on_new_thread{worker};
  throw std::out_of_range("far away");
}

}  // namespace

TEST_CASE("sync_wait blocks until a task that finishes on another thread is done") {
  std::thread worker;
  const auto finished_on = sync_wait(finish_elsewhere(&worker));
  CHECK(finished_on != std::this_thread::get_id());
  worker.join();
}

TEST_CASE("sync_wait rethrows the exception of a task that failed on another thread") {
  std::thread worker;
  CHECK_THROWS_AS(sync_wait(fail_elsewhere(&worker)), std::out_of_range);
  worker.join();
}
