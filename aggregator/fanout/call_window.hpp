#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>

namespace agg::fanout {

/// One aggregation's calls at most `slots` at a time (all when 0), first come first served: the
/// route's window across the entries of a composed plan, which start and end at different times.
/// Loop thread only.
class call_window {
 public:
  explicit call_window(std::size_t slots) noexcept : unlimited_(slots == 0), free_(slots) {}

  /// Resumes holding a slot; true when it had to wait for one.
  [[nodiscard]] auto acquire() noexcept {
    struct awaiter {
      call_window &gate;
      bool waited = false;
      bool await_ready() noexcept {
        if (gate.unlimited_) return true;
        if (gate.free_ == 0) return false;
        --gate.free_;
        return true;
      }
      void await_suspend(std::coroutine_handle<> waiter) {
        waited = true;
        gate.waiting_.push_back(waiter);
      }
      bool await_resume() const noexcept { return waited; }
    };
    return awaiter{*this};
  }
  /// Hands the slot to the first waiter (resuming it here), or frees it.
  void release() {
    if (unlimited_) return;
    if (waiting_.empty()) return void(++free_);
    const std::coroutine_handle<> next = waiting_.front();
    waiting_.pop_front();
    next.resume();
  }

 private:
  bool unlimited_;
  std::size_t free_;
  std::deque<std::coroutine_handle<>> waiting_;
};

}  // namespace agg::fanout
