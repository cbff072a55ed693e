#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <vector>

#include "aggregator/client/client_options.hpp"
#include "aggregator/client/curl_handles.hpp"
#include "aggregator/client/upstream_call.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/io/wakeable_epoll.hpp"

namespace agg::client {

/// One thread that owns a set of curl multi handles ("shards") and drives them with
/// curl_multi_socket_action + epoll. Other threads only hand it coroutines (schedule) and wake it;
/// every curl call on a multi handle happens on the loop thread. Destroying the loop stops the
/// thread; transfers still running then end as `cancelled`.
class upstream_loop {
 public:
  /// `max_connections` caps this loop's upstream connections; calls beyond it wait in curl's queue.
  upstream_loop(const client_options &options, std::size_t max_connections);
  upstream_loop(const upstream_loop &) = delete;
  upstream_loop &operator=(const upstream_loop &) = delete;
  ~upstream_loop();

  /// Awaitable that resumes the awaiting coroutine on the loop thread (at once when already there).
  [[nodiscard]] auto schedule() noexcept {
    struct awaiter {
      upstream_loop *loop;
      [[nodiscard]] bool await_ready() const noexcept { return loop->on_loop_thread(); }
      bool await_suspend(std::coroutine_handle<> waiter) const { return loop->post(waiter); }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

  /// Performs one call on this loop; any thread may start it and it resumes on the loop thread.
  /// Upstream failures are replies, never exceptions. When `stop` is requested (from any thread)
  /// the transfer is removed from curl and the reply says `cancelled`.
  coro::task<upstream_reply> fetch(upstream_call call, std::stop_token stop = {});

  /// True on this loop's own thread.
  [[nodiscard]] bool on_loop_thread() const noexcept;
  /// True while the loop thread runs (for readiness checks). Any thread.
  [[nodiscard]] bool running() const noexcept { return running_.load(std::memory_order_acquire); }
  /// The longest time work handed to the loop waited before it ran, since the previous call; resets
  /// it. A loop that keeps up stays in microseconds. Any thread.
  [[nodiscard]] std::chrono::nanoseconds take_max_lag() noexcept {
    return std::chrono::nanoseconds{max_lag_ns_.exchange(0, std::memory_order_relaxed)};
  }
  /// Transfers added to a multi handle and not yet finished: returns to zero when nothing leaks.
  [[nodiscard]] std::size_t transfers_in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct shard;
  struct transfer_awaiter;
  friend struct transfer_awaiter;

  /// Queues a coroutine for the loop thread. False when the loop has stopped: the caller then goes on
  /// on its own thread (and fetch answers `cancelled`).
  bool post(std::coroutine_handle<> waiter);
  /// Asks the loop thread to cancel the transfer with this id, if it is still running. Any thread.
  void post_cancel(std::uint64_t transfer_id);
  void run();
  void run_posted(std::vector<transfer_awaiter *> &finished);
  /// Takes a transfer out of its multi handle and the loop's books (completed or cancelled).
  void detach(transfer_awaiter &awaiter);
  int next_timeout_ms() const;
  void fire_due_timers();
  void collect_completions(std::vector<transfer_awaiter *> &finished);
  bool start_transfer(transfer_awaiter &awaiter);
  void cancel_everything();
  easy_handle take_easy();
  void give_back(easy_handle easy);

  static int on_socket(CURL *easy, curl_socket_t fd, int what, void *shard_ptr, void *assigned);
  static int on_timer(CURLM *multi, long timeout_ms, void *shard_ptr);

  client_options options_;
  io::wakeable_epoll events_;  // curl's sockets and the wake-up for posted work
  std::vector<std::unique_ptr<shard>> shards_;
  std::size_t next_shard_ = 0;
  std::vector<easy_handle> idle_easy_;
  transfer_awaiter *active_ = nullptr;  // intrusive list of transfers in the multi handles
  std::unordered_map<std::uint64_t, transfer_awaiter *> cancellable_;  // by id, those with a stop token
  std::uint64_t next_transfer_id_ = 1;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> running_{false};
  std::atomic<std::int64_t> max_lag_ns_{0};
  bool stopping_ = false;  // loop thread only

  std::mutex posted_mutex_;
  std::vector<std::coroutine_handle<>> posted_;         // guarded by posted_mutex_
  std::vector<std::uint64_t> cancels_;                  // guarded by posted_mutex_
  std::chrono::steady_clock::time_point first_posted_;  // guarded by posted_mutex_: oldest waiting work
  bool accepting_ = true;                               // guarded by posted_mutex_

  std::thread thread_;
};

}  // namespace agg::client
