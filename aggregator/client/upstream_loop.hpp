#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/client/answer_sizes.hpp"
#include "aggregator/client/client_options.hpp"
#include "aggregator/client/curl_handles.hpp"
#include "aggregator/client/curl_sockets.hpp"
#include "aggregator/client/transfer.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/loop/event_loop.hpp"

namespace agg::client {

/// Lets an unordered_map keyed by std::string be searched with a std::string_view.
struct transparent_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

/// One event loop thread with the curl multi handles ("shards") it drives with
/// curl_multi_socket_action. Other parts run on the same loop (the data plane serves its client
/// connections there), so a request and its upstream calls share one thread. Every curl call on a
/// multi handle happens on the loop thread; other threads only hand it coroutines. Destroying the
/// loop stops the thread; transfers still running then end as `cancelled`.
class upstream_loop final : private loop::loop_hooks {
 public:
  /// `max_connections` caps this loop's upstream connections; calls beyond it wait in curl's queue.
  /// `index`: its place among the client's loops (state kept per loop is found by it).
  upstream_loop(const client_options &options, std::size_t max_connections, std::size_t index = 0);
  upstream_loop(const upstream_loop &) = delete;
  upstream_loop &operator=(const upstream_loop &) = delete;
  ~upstream_loop();

  /// Stops the loop thread (idempotent): transfers still running end as `cancelled`, and what
  /// awaited them runs to its end on this thread. Not from the loop thread.
  void stop() { events_.stop(); }

  /// The event loop this runs on: other parts register descriptors and hooks with it.
  [[nodiscard]] loop::event_loop &events() noexcept { return events_; }

  /// Awaitable that resumes the awaiting coroutine on the loop thread (at once when already there).
  [[nodiscard]] auto schedule() noexcept { return events_.schedule(); }

  /// Performs one call on this loop; any thread may start it and it resumes on the loop thread.
  /// Upstream failures are replies, never exceptions. When `stop` is requested (from any thread)
  /// the transfer is removed from curl and the reply says `cancelled`. `call` must outlive the task
  /// (as a call_request's does; a temporary in the co_await's expression does): not copying it saves
  /// its URL and header lines, five allocations and 450 bytes per call in flight.
  coro::task<calls::upstream_reply> fetch(const calls::upstream_call &call, std::stop_token stop = {});

  class fetch_op;

  /// Its place among the client's loops.
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  /// True on this loop's own thread.
  [[nodiscard]] bool on_loop_thread() const noexcept { return events_.on_loop_thread(); }
  /// True while the loop thread runs (for readiness checks). Any thread.
  [[nodiscard]] bool running() const noexcept { return events_.running(); }
  /// The longest time work handed to the loop waited before it ran, since the previous call; resets
  /// it. Any thread.
  [[nodiscard]] std::chrono::nanoseconds take_max_lag() noexcept { return events_.take_max_lag(); }
  /// Easy handles kept for the next transfers. Loop thread.
  [[nodiscard]] std::size_t idle_easy_handles() const noexcept { return idle_easy_.size(); }
  /// Transfers added to a multi handle and not yet finished: returns to zero when nothing leaks.
  [[nodiscard]] std::size_t transfers_in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct shard;

  /// A transfer in a multi handle, as the loop keeps it: linked in active_ while curl runs it;
  /// CURLOPT_PRIVATE points here. Lives in the frame that awaits the call (in its fetch_op).
  struct transfer_awaiter {
    /// Runs on whichever thread requests the stop: only posts, the loop does the cancelling (and a
    /// stop requested on the loop thread itself is taken later in the round, not inside the caller).
    struct request_cancel {
      upstream_loop *loop;
      std::uint64_t id;
      void operator()() const;
    };

    upstream_loop *loop = nullptr;
    transfer *work = nullptr;
    std::stop_token stop{};
    std::uint64_t id = 0;
    shard *owner = nullptr;
    CURLcode result = CURLE_OK;
    std::optional<std::string_view> cancelled{};  // why, when the transfer was cancelled
    std::coroutine_handle<> waiter{};
    transfer_awaiter *prev = nullptr;
    transfer_awaiter *next = nullptr;
    std::optional<std::stop_callback<request_cancel>> on_stop{};

    /// Adds the transfer to a multi handle; false when it could not be (`result` says why).
    bool start(std::coroutine_handle<> h);
  };
  /// An origin (scheme://host:port) as this loop knows it.
  struct origin_state {
    url_handle parsed;   ///< by curl, made once
    answer_sizes sizes;  ///< of its answers of late: the receive buffer its calls get
  };

  [[nodiscard]] std::optional<loop::clock::time_point> next_deadline() const override;
  void on_round(loop::clock::time_point now) override;
  void on_stop() override;

  /// Cancels the transfer with this id if it is still running (loop thread).
  void cancel(std::uint64_t transfer_id);
  /// Takes a transfer out of its multi handle and the loop's books (completed or cancelled).
  void detach(transfer_awaiter &awaiter);
  void fire_due_timers(loop::clock::time_point now);
  void collect_completions();
  bool start_transfer(transfer_awaiter &awaiter);
  /// The shard with the fewest transfers in flight; the first of those on a tie.
  [[nodiscard]] shard &least_busy_shard() noexcept;
  easy_handle take_easy();
  void give_back(easy_handle easy);
  /// At the end of each window: frees the idle easy handles no transfer needed over it (beyond a
  /// few kept) and closes the unused pools (close_unused_pools).
  void trim_idle(loop::clock::time_point now);
  /// Closes the connections of each shard that holds some, started no transfer for
  /// client.pool_idle_timeout and is not one that keeps its pool; returns how many were closed.
  std::size_t close_unused_pools(loop::clock::time_point now);
  /// Sets a shard's multi handle up: callbacks and connection caps.
  void configure(shard &s) const;
  /// The origin of `call`, parsed on first use; null when the call does not say where its origin
  /// ends or curl cannot parse it.
  origin_state *origin_of(const calls::upstream_call &call);
  void on_socket_ready(curl_sockets::socket &socket, std::uint32_t events);

  static int on_socket(CURL *easy, curl_socket_t fd, int what, void *shard_ptr, void *assigned);
  static int on_timer(CURLM *multi, long timeout_ms, void *shard_ptr);
  static int on_close_socket(void *loop_ptr, curl_socket_t fd);
  static int on_new_socket(void *loop_ptr, curl_socket_t fd, curlsocktype purpose);

  client_options options_;
  std::size_t index_;
  loop::event_loop events_;
  curl_sockets sockets_;  // before shards_: their cleanup closes sockets
  /// By origin string; few per service, kept for the loop's life.
  std::unordered_map<std::string, origin_state, transparent_hash, std::equal_to<>> origins_;
  share_handle share_;  // DNS and TLS sessions, for every shard; outlives the handles that use it
  std::vector<easy_handle> idle_easy_;
  std::size_t fewest_idle_easy_ = 0;                // idle_easy_'s low mark in this trim window
  std::optional<loop::clock::time_point> trim_at_;  // the window's end; none while nothing is idle
  std::vector<std::unique_ptr<shard>> shards_;
  long connections_per_shard_ = 1;            // CURLMOPT_MAX_TOTAL_CONNECTIONS and CURLMOPT_MAXCONNECTS
  std::vector<std::uint32_t> shard_loads_;    // transfers in each shard's multi handle, by its index
  transfer_awaiter *active_ = nullptr;        // intrusive list of transfers in the multi handles
  std::vector<transfer_awaiter *> finished_;  // to resume at the end of the round
  std::vector<transfer_awaiter *> resuming_;  // finished_ of the round being resumed
  std::uint64_t next_transfer_id_ = 1;
  std::atomic<std::size_t> in_flight_{0};
};

/// One call on a loop as an awaitable, made on the loop's thread: the easy handle, the transfer and
/// its place in the loop's books live in the awaiting coroutine's frame, so a call costs no frame of
/// its own (fetch() is this inside a task, for callers on any thread). Upstream failures are
/// replies; a stop (from any thread) cancels the transfer, as for fetch(). Await it once, as a named
/// local (g++ 12 destroys a temporary with non-trivial members twice in co_await); `call` must
/// outlive it.
class upstream_loop::fetch_op {
 public:
  /// On `loop`'s thread only.
  fetch_op(upstream_loop &loop, const calls::upstream_call &call, std::stop_token stop);
  fetch_op(const fetch_op &) = delete;
  fetch_op &operator=(const fetch_op &) = delete;
  ~fetch_op();

  /// True when nothing is to be sent (the loop is stopping, the stop came already, or the transfer
  /// says skipped()): the reply is ready.
  [[nodiscard]] bool await_ready() const noexcept { return !work_ || work_->skipped(); }
  bool await_suspend(std::coroutine_handle<> waiter) { return in_flight_.start(waiter); }
  /// The reply is taken with reply(), after the co_await: made outside the await's expression, it
  /// takes no room in the awaiting frame.
  void await_resume() const noexcept {}
  /// The call's reply, once awaited; call once.
  [[nodiscard]] calls::upstream_reply reply();

 private:
  upstream_loop &loop_;
  std::optional<std::string_view> not_sent_;  // why, when the call was cancelled before it began
  std::optional<easy_handle> easy_;           // from the loop's pool, given back at the end
  origin_state *origin_ = nullptr;
  std::optional<transfer> work_;  // before in_flight_, which points at it
  transfer_awaiter in_flight_;
};

}  // namespace agg::client
