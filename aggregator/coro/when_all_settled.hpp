#pragma once

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "aggregator/coro/outcome.hpp"
#include "aggregator/coro/task.hpp"

namespace agg::coro {

namespace detail {

/// Counts finished workers; the last one to arrive resumes the coroutine waiting for all of them.
class settle_latch {
 public:
  explicit settle_latch(std::size_t workers) noexcept : remaining_(workers + 1) {}

  void set_waiter(std::coroutine_handle<> waiter) noexcept { waiter_ = waiter; }
  /// True for the last arrival. acq_rel: every worker's writes are visible to the waiter.
  bool arrive() noexcept { return remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  [[nodiscard]] std::coroutine_handle<> waiter() const noexcept { return waiter_; }

 private:
  std::atomic<std::size_t> remaining_;
  std::coroutine_handle<> waiter_;
};

/// A coroutine that runs inputs one after another and arrives at the latch when it runs out.
/// Started explicitly by when_all_settled and destroyed by it after the latch opens.
class settle_worker {
 public:
  struct promise_type {
    settle_latch *latch_ = nullptr;

    settle_worker get_return_object() noexcept {
      return settle_worker{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct arrive_at_latch {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          settle_latch &latch = *self.promise().latch_;
          return latch.arrive() ? latch.waiter() : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
      };
      return arrive_at_latch{};
    }
    void return_void() const noexcept {}
    // Workers catch everything their inputs throw; anything else is a broken invariant.
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };

  explicit settle_worker(std::coroutine_handle<promise_type> frame) noexcept : frame_(frame) {}
  settle_worker(settle_worker &&other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  settle_worker &operator=(settle_worker &&) = delete;
  ~settle_worker() {
    if (frame_) frame_.destroy();
  }

  void start(settle_latch &latch) const {
    frame_.promise().latch_ = &latch;
    frame_.resume();
  }

 private:
  std::coroutine_handle<promise_type> frame_;
};

/// The shared state of one when_all_settled call; lives in its frame, which outlives the workers.
template <typename T>
struct settle_state {
  explicit settle_state(std::vector<task<T>> tasks) : inputs(std::move(tasks)), slots(inputs.size()) {}

  std::vector<task<T>> inputs;
  std::vector<std::optional<outcome<T>>> slots;
  std::atomic<std::size_t> next{0};
};

template <typename T>
settle_worker run_inputs(settle_state<T> *state) {
  for (;;) {
    const std::size_t i = state->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= state->inputs.size()) co_return;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(state->inputs[i]);
        state->slots[i].emplace();
      } else {
        state->slots[i].emplace(co_await std::move(state->inputs[i]));
      }
    } catch (...) {
      state->slots[i].emplace(std::current_exception());
    }
    state->inputs[i] = task<T>{};  // free the finished frame now, not when the whole set is done
  }
}

/// Starts every worker, then suspends the caller until the last one has arrived.
class start_and_wait {
 public:
  start_and_wait(std::vector<settle_worker> &workers, settle_latch &latch) noexcept
      : workers_(workers), latch_(latch) {}

  bool await_ready() const noexcept { return workers_.empty(); }
  bool await_suspend(std::coroutine_handle<> waiter) const noexcept {
    latch_.set_waiter(waiter);
    for (const auto &worker : workers_) worker.start(latch_);
    return !latch_.arrive();  // the last arrival is ours when every input finished synchronously
  }
  void await_resume() const noexcept {}

 private:
  std::vector<settle_worker> &workers_;
  settle_latch &latch_;
};

}  // namespace detail

/// Runs every task and waits for all of them: one outcome per input, in input order, no result lost
/// to a sibling's exception (folly's collectAllTry / collectAllWindowed). With `window` > 0 at most
/// that many inputs run at once; 0 runs all at once. The caller resumes on the thread that finished
/// the last input.
template <typename T>
task<std::vector<outcome<T>>> when_all_settled(std::vector<task<T>> tasks, std::size_t window = 0) {
  detail::settle_state<T> state{std::move(tasks)};
  const std::size_t count = state.inputs.size();
  const std::size_t workers_wanted = window == 0 ? count : std::min(window, count);

  std::vector<detail::settle_worker> workers;
  workers.reserve(workers_wanted);
  for (std::size_t w = 0; w < workers_wanted; ++w) workers.push_back(detail::run_inputs(&state));
  detail::settle_latch latch{workers.size()};
  co_await detail::start_and_wait{workers, latch};

  std::vector<outcome<T>> outcomes;
  outcomes.reserve(count);
  for (auto &slot : state.slots) outcomes.push_back(std::move(*slot));
  co_return outcomes;
}

}  // namespace agg::coro
