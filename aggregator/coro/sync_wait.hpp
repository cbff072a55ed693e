#pragma once

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "aggregator/coro/outcome.hpp"
#include "aggregator/coro/task.hpp"

namespace agg::coro {

namespace detail {

/// A one-shot flag a blocked thread waits on. set() notifies while holding the lock, so the waiter
/// cannot return and destroy the flag while set() still touches it.
class completion_flag {
 public:
  void set() noexcept {
    const std::lock_guard lock{mutex_};
    done_ = true;
    changed_.notify_one();
  }
  void wait() {
    std::unique_lock lock{mutex_};
    changed_.wait(lock, [this] { return done_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
};

/// The bridging coroutine: awaits the task, stores its outcome, and signals the blocked thread from
/// final_suspend, once its frame is suspended and so safe for that thread to destroy.
class bridge {
 public:
  struct promise_type {
    completion_flag *done_ = nullptr;

    bridge get_return_object() noexcept { return bridge{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct signal_done {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> self) const noexcept { self.promise().done_->set(); }
        void await_resume() const noexcept {}
      };
      return signal_done{};
    }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };

  explicit bridge(std::coroutine_handle<promise_type> frame) noexcept : frame_(frame) {}
  // clang 14 moves the return object out of get_return_object(); g++ builds it in place.
  bridge(bridge &&other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  bridge(const bridge &) = delete;
  bridge &operator=(const bridge &) = delete;
  ~bridge() {
    if (frame_) frame_.destroy();
  }

  void run_and_wait(completion_flag &done) const {
    frame_.promise().done_ = &done;
    frame_.resume();
    done.wait();
  }

 private:
  std::coroutine_handle<promise_type> frame_;
};

template <typename T>
bridge settle_into(task<T> work, std::optional<outcome<T>> *result) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(work);
      result->emplace();
    } else {
      result->emplace(co_await std::move(work));
    }
  } catch (...) {
    result->emplace(std::current_exception());
  }
}

}  // namespace detail

/// Runs the task and blocks the calling thread until it finishes, wherever it resumes (Django's
/// async_to_sync). Returns its value or rethrows its exception. Never call it on the thread the task
/// needs to make progress (an upstream loop thread): that deadlocks.
template <typename T>
T sync_wait(task<T> work) {
  std::optional<outcome<T>> result;
  detail::completion_flag done;
  {
    const detail::bridge runner = detail::settle_into(std::move(work), &result);
    runner.run_and_wait(done);
  }
  return std::move(*result).value();
}

}  // namespace agg::coro
