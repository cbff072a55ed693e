#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <vector>

namespace agg::testing {

/// Parks every coroutine that awaits it until the test resumes them, in any order it chooses,
/// on the test's own thread: lets a test decide completion order without threads or sleeps.
struct manual_gate {
  std::vector<std::coroutine_handle<>> parked;
  std::size_t running = 0;
  std::size_t max_running = 0;

  auto wait() {
    struct awaiter {
      manual_gate *gate;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) const { gate->parked.push_back(h); }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }
  void enter() {
    ++running;
    max_running = std::max(max_running, running);
  }
  void leave() { --running; }
  /// Resumes the coroutine parked at `index` (in arrival order) and forgets it.
  void release(std::size_t index) {
    auto h = parked[index];
    parked[index] = nullptr;
    h.resume();
  }
};

/// Runs a coroutine body on the calling thread right away (no sync_wait), so a test can watch
/// it suspend and finish step by step. The frame lives until the object is destroyed.
struct started {
  struct promise_type {
    started get_return_object() noexcept { return started{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };
  explicit started(std::coroutine_handle<promise_type> h) noexcept : frame(h) {}
  started(const started &) = delete;
  started &operator=(const started &) = delete;
  ~started() { frame.destroy(); }
  [[nodiscard]] bool done() const noexcept { return frame.done(); }

  std::coroutine_handle<promise_type> frame;
};

}  // namespace agg::testing
