#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace agg::coro {

template <typename T = void>
class task;

namespace detail {

/// Resumes whoever awaited the task (symmetric transfer, so chains of synchronous completions
/// do not grow the stack); a task nobody awaits just stays suspended until its owner destroys it.
struct final_awaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
    const auto continuation = self.promise().continuation_;
    return continuation ? continuation : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

/// What every task promise shares: lazy start and the continuation to resume at the end.
struct promise_base {
  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }

  std::coroutine_handle<> continuation_;
};

template <typename T>
class task_promise : public promise_base {
 public:
  task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  template <typename U>
  requires std::is_convertible_v<U &&, T>
  void return_value(U &&value) noexcept(std::is_nothrow_constructible_v<T, U &&>) {
    result_.template emplace<1>(std::forward<U>(value));
  }
  /// The value, or the exception the body ended with. The value stays in the frame: what awaited
  /// it moves it out (one move per step of a chain of tasks, not two).
  T &&take_result() {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    assert(result_.index() == 1 && "a task's result was taken before it finished");
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <>
class task_promise<void> : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_void() const noexcept {}
  void take_result() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace detail

/// A lazy coroutine producing a T (or an exception). Nothing runs until it is awaited; the awaiting
/// coroutine is resumed, on whichever thread the task finishes, by symmetric transfer. Move-only;
/// the task object owns the coroutine frame and destroys it, awaited or not.
template <typename T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "task<T&> is not supported: return a pointer or a value");

 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  explicit task(handle_type frame) noexcept : frame_(frame) {}
  task(task &&other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  task &operator=(task &&other) noexcept {
    if (this != &other) {
      reset();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  task(const task &) = delete;
  task &operator=(const task &) = delete;
  ~task() { reset(); }

  /// True while the task holds a coroutine (it was not moved from or default-constructed).
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }

  /// Starts the task and suspends the caller until it finishes; yields its value or rethrows.
  auto operator co_await() &&noexcept {
    struct awaiter {
      handle_type frame;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) const noexcept {
        frame.promise().continuation_ = awaiting;
        return frame;
      }
      // A reference into the task's frame, valid while the task lives: to the end of the full
      // expression for `x = co_await f()`. Bind the result to a value, never to a reference.
      decltype(auto) await_resume() const { return frame.promise().take_result(); }
    };
    assert(frame_ && "awaiting an empty task");
    return awaiter{frame_};
  }

 private:
  void reset() noexcept {
    if (frame_) frame_.destroy();
    frame_ = {};
  }

  handle_type frame_;
};

namespace detail {
template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace agg::coro
