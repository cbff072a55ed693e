#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <vector>

#include "aggregator/io/wakeable_epoll.hpp"

namespace agg::loop {

using clock = std::chrono::steady_clock;

/// Owns a descriptor registered with an event_loop and handles its readiness (epoll events), on the
/// loop thread. It must stay alive while registered.
class io_handler {
 public:
  virtual void on_events(std::uint32_t events) = 0;

 protected:
  ~io_handler() = default;
};

/// A part that runs on a loop beyond descriptor events: its timers, and work it finishes once per
/// round (the upstream side resumes completed transfers there, outside curl's callbacks).
class loop_hooks {
 public:
  /// The earliest time the part needs the loop awake; nullopt when it waits for nothing timed.
  [[nodiscard]] virtual std::optional<clock::time_point> next_deadline() const = 0;
  /// Once per round, after the round's descriptor events and posted work.
  virtual void on_round(clock::time_point now) = 0;
  /// The loop is stopping: end what is in flight (its waiters are resumed); posts are refused now.
  virtual void on_stop() = 0;

 protected:
  ~loop_hooks() = default;
};

/// One thread and its epoll set: descriptors with handlers, coroutines and functions posted from any
/// thread, and hooks called once per round. Everything registered with it runs on its thread, so
/// parts that share a loop share their state without locks. Stopping refuses posts, runs what was
/// posted before, then calls each hook's on_stop (in reverse order of registration).
class event_loop {
 public:
  event_loop();
  event_loop(const event_loop &) = delete;
  event_loop &operator=(const event_loop &) = delete;
  /// Stops the thread (if it runs) and joins it.
  ~event_loop();

  /// Starts the loop thread. Once, from the owner.
  void start();
  /// Stops the loop and joins its thread; idempotent. Any thread but the loop's own.
  void stop();

  /// True on this loop's thread.
  [[nodiscard]] bool on_loop_thread() const noexcept;
  /// True while the thread runs and posts are accepted. Any thread.
  [[nodiscard]] bool running() const noexcept { return running_.load(std::memory_order_acquire); }
  /// True once the loop is stopping (loop thread): new work should end at once.
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }

  /// Awaitable that resumes the awaiting coroutine on the loop thread (at once when already there).
  /// When the loop has stopped the coroutine goes on where it is: check on_loop_thread() after it.
  [[nodiscard]] auto schedule() noexcept {
    struct awaiter {
      event_loop *loop;
      [[nodiscard]] bool await_ready() const noexcept { return loop->on_loop_thread(); }
      bool await_suspend(std::coroutine_handle<> waiter) const { return loop->post(waiter); }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

  /// Queues a coroutine to be resumed on the loop thread; false when the loop has stopped. From the
  /// loop thread itself it runs later in the same round, without a lock or a wake-up.
  bool post(std::coroutine_handle<> waiter);
  /// Queues a function for the loop thread, as post(handle) does.
  bool post(std::function<void()> work);
  /// Runs `work` on the loop thread and waits for it; false when the loop is not running. Not from
  /// the loop thread.
  bool call(const std::function<void()> &work);

  /// How a wait() ended: its time came, wake() was called for it, or it was stopped (its stop token,
  /// or the loop stopping).
  enum class wake_reason { time, signal, stop };
  /// A fresh id for wait(): whoever will wake the waiter keeps it. Loop thread.
  [[nodiscard]] std::uint64_t new_waiter_id() noexcept { return next_waiter_id_++; }
  class wait_awaiter;
  /// Awaitable that parks the awaiting coroutine, known by `id`, until `until` (clock::time_point::max():
  /// no time), until wake(id), or until `stop` is requested from any thread; it yields why it woke,
  /// always on the loop thread. Await it on the loop thread, as a named local (`auto w = loop.wait(…);
  /// co_await w;`: g++ 12 destroys a co_await temporary with non-trivial members twice).
  [[nodiscard]] wait_awaiter wait(std::uint64_t id, clock::time_point until, std::stop_token stop = {});
  /// wait() for a time only.
  [[nodiscard]] wait_awaiter sleep_until(clock::time_point when, std::stop_token stop = {});
  /// Resumes waiter `id` later in this round with wake_reason::signal; false when it is not waiting
  /// (it woke already, or never waited). Never resumes it inline, so a waker's stack stays flat.
  /// Loop thread.
  bool wake(std::uint64_t id);

  /// Registers `fd` for `events` (EPOLLIN, ...); `handler` gets them. Loop thread (or before start).
  /// Throws std::system_error when the kernel refuses.
  void watch(int fd, std::uint32_t events, io_handler &handler);
  /// Changes what `fd` is registered for. Loop thread.
  void rewatch(int fd, std::uint32_t events, io_handler &handler);
  /// Removes `fd` from the set; a descriptor that is not in it is ignored. Loop thread.
  void unwatch(int fd) noexcept;

  friend class wait_awaiter;

  /// Adds a part that runs on this loop. Before start(), or on the loop thread.
  void add_hooks(loop_hooks &hooks);
  /// Removes it again. On the loop thread (use call()), or after stop().
  void remove_hooks(loop_hooks &hooks) noexcept;

  /// The longest time posted work waited before it ran, since the previous call; resets it. A loop
  /// that keeps up stays in microseconds. Any thread.
  [[nodiscard]] std::chrono::nanoseconds take_max_lag() noexcept {
    return std::chrono::nanoseconds{max_lag_ns_.exchange(0, std::memory_order_relaxed)};
  }

 private:
  using timer_queue = std::multimap<clock::time_point, std::uint64_t>;
  struct parked {
    std::coroutine_handle<> handle;
    wake_reason *reason;
    timer_queue::iterator timer;  // timers_.end() when it waits for no time
  };
  /// Registers a waiter (await_suspend of wait_awaiter).
  void park(std::uint64_t id, clock::time_point until, std::coroutine_handle<> handle, wake_reason *reason);
  /// Takes waiter `id` out of the books; false when it is not waiting.
  bool unpark(std::uint64_t id, wake_reason why, std::coroutine_handle<> &handle);
  /// Resumes the waiters whose time has come (all of them, stopped, when `all`).
  void wake_due(clock::time_point now, bool all = false);
  /// Resumes waiter `id` as stopped, if it still waits (its stop token fired).
  void wake_stopped(std::uint64_t id);

  /// post(): into `local` on the loop thread, else into `posted` (guarded by posted_mutex_).
  template <typename Work>
  bool enqueue(Work work, std::vector<Work> &local, std::vector<Work> &posted);
  void run();
  void take_posted();
  void run_local();
  [[nodiscard]] int wait_timeout_ms() const;

  io::wakeable_epoll events_;
  std::vector<loop_hooks *> hooks_;                    // loop thread
  std::unordered_map<std::uint64_t, parked> waiters_;  // loop thread: parked coroutines, by id
  timer_queue timers_;                                 // loop thread: the waiters' times
  std::uint64_t next_waiter_id_ = 1;                   // loop thread
  bool stopping_ = false;                              // loop thread
  std::atomic<bool> running_{false};
  std::atomic<std::int64_t> max_lag_ns_{0};

  // Work posted on the loop thread itself: run in the same round.
  std::vector<std::coroutine_handle<>> local_handles_;
  std::vector<std::function<void()>> local_work_;

  std::mutex posted_mutex_;
  std::vector<std::coroutine_handle<>> posted_handles_;  // guarded by posted_mutex_
  std::vector<std::function<void()>> posted_work_;       // guarded by posted_mutex_
  clock::time_point first_posted_;                       // guarded by posted_mutex_: oldest waiting work
  bool accepting_ = true;                                // guarded by posted_mutex_

  std::thread thread_;
};

/// What wait() returns: parks the coroutine in the loop's books; a stop request (from any thread)
/// takes it out early, on the loop thread, found by its id (the awaiter may be gone by the time the
/// loop gets to it).
class event_loop::wait_awaiter {
 public:
  wait_awaiter(event_loop *loop, std::uint64_t id, clock::time_point until, std::stop_token stop)
      : loop_(loop), id_(id), until_(until), stop_(std::move(stop)) {}
  wait_awaiter(const wait_awaiter &) = delete;
  wait_awaiter &operator=(const wait_awaiter &) = delete;

  [[nodiscard]] bool await_ready() const noexcept { return stop_.stop_requested() || loop_->stopping_; }
  void await_suspend(std::coroutine_handle<> handle) {
    loop_->park(id_, until_, handle, &reason_);
    on_stop_.emplace(stop_, wake_stopped{loop_, id_});
  }
  wake_reason await_resume() noexcept {
    on_stop_.reset();
    return reason_;
  }

 private:
  /// Runs on the thread that requests the stop: only posts; the loop does the waking.
  struct wake_stopped {
    event_loop *loop;
    std::uint64_t id;
    void operator()() const {
      event_loop *const owner = loop;
      const std::uint64_t waiting = id;
      owner->post([owner, waiting] { owner->wake_stopped(waiting); });
    }
  };

  event_loop *loop_;
  std::uint64_t id_;
  clock::time_point until_;
  std::stop_token stop_;
  wake_reason reason_ = wake_reason::stop;
  std::optional<std::stop_callback<wake_stopped>> on_stop_;
};

inline event_loop::wait_awaiter event_loop::wait(std::uint64_t id, clock::time_point until, std::stop_token stop) {
  return wait_awaiter{this, id, until, std::move(stop)};
}

inline event_loop::wait_awaiter event_loop::sleep_until(clock::time_point when, std::stop_token stop) {
  return wait_awaiter{this, new_waiter_id(), when, std::move(stop)};
}

}  // namespace agg::loop
