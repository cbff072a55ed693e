#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/io/unique_handle.hpp"
#include "aggregator/loop/event_loop.hpp"

struct redisAsyncContext;

namespace agg::store {

/// A Redis reply, copied out of hiredis's (which it frees when the callback returns).
struct reply {
  enum class kind { text, status, error, integer, nil, array };
  kind type = kind::nil;
  std::string text;  ///< of a text, status or error reply
  long long integer = 0;
  std::vector<reply> elements;

  [[nodiscard]] bool is_error() const noexcept { return type == kind::error; }
};

/// Why a command got no reply: the link was down (nothing was sent), no reply came within the
/// timeout, or the connection was lost with the command unanswered.
enum class failure { unavailable, timeout, lost };
[[nodiscard]] std::string_view to_string(failure why) noexcept;

/// What a command yields.
using result = std::variant<reply, failure>;
/// Why `r` is not the reply a caller wanted, for a log line or a 503: the failure, or the reply's text.
[[nodiscard]] std::string why_unanswered(const result &r);
/// A time as a `PX`/`PEXPIRE` argument: whole milliseconds rounded up, at least 1 (Redis refuses 0).
[[nodiscard]] inline std::string expiry_ms(std::chrono::steady_clock::duration d) {
  return std::to_string(std::max<long long>(1, std::chrono::ceil<std::chrono::milliseconds>(d).count()));
}

/// Where the server is and how long a round trip may take.
struct link_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string user;      ///< empty: AUTH with the password alone (the default user)
  std::string password;  ///< empty: no AUTH
  int db = 0;
  std::chrono::milliseconds timeout{250};       ///< a connect, and every command's reply
  std::chrono::milliseconds backoff_min{100};   ///< the first reconnect waits this long
  std::chrono::milliseconds backoff_max{5000};  ///< and each next one twice the last, up to this
  /// Channels to SUBSCRIBE to with each connection: a link that has any is a subscriber, whose
  /// messages go to on_message and which sends no other command.
  std::vector<std::string> channels;
};

/// A message published on a channel a subscriber link listens to: (channel, payload).
using message_handler = std::function<void(std::string_view, std::string_view)>;

/// Counts a link keeps (read from any thread, for /metrics).
struct link_counts {
  std::atomic<std::uint64_t> replies{0};      ///< commands answered (error replies included)
  std::atomic<std::uint64_t> timeouts{0};     ///< commands that met their timeout
  std::atomic<std::uint64_t> unavailable{0};  ///< commands refused at once: the link was down
  std::atomic<std::uint64_t> lost{0};         ///< commands whose connection went away unanswered
  std::atomic<std::uint64_t> connects{0};     ///< connections that came up (the first included)
  std::atomic<std::uint64_t> disconnects{0};  ///< connections that were up and went down
};

/// One connection to Redis, owned by one event loop and driven by it: hiredis's async API with its
/// adapter hooks pointed at the loop's epoll set (no thread of its own, no blocking call), replies
/// resumed as coroutines on the loop. Every command and every connect has `timeout`: past it the
/// connection is dropped, every command on it fails (a reply late on a pipelined connection would
/// answer the wrong command), and the link reconnects with exponential backoff and jitter. Commands
/// while it is down fail at once (`unavailable`): callers fall back, nothing queues. On the loop
/// thread only, but for up() and counts().
class redis_link final : public loop::io_handler, public loop::loop_hooks {
 public:
  /// `on_change(up, why)`: the link came up, or went down and why (for the log); on the loop thread.
  redis_link(loop::event_loop &loop, link_settings settings, std::function<void(bool, const std::string &)> on_change,
             message_handler on_message = {});
  redis_link(const redis_link &) = delete;
  redis_link &operator=(const redis_link &) = delete;
  /// After the loop stopped (or before it started): frees the connection.
  ~redis_link();

  /// Registers with the loop and connects. On the loop thread, once.
  void start();
  /// Connected, set up (AUTH, SELECT) and answering. Any thread.
  [[nodiscard]] bool up() const noexcept { return up_.load(std::memory_order_acquire); }
  [[nodiscard]] const link_counts &counts() const noexcept { return counts_; }
  [[nodiscard]] const link_settings &settings() const noexcept { return settings_; }
  [[nodiscard]] loop::event_loop &loop() const noexcept { return loop_; }

  class command_awaiter;
  /// Awaitable that sends `args` (one command, each argument binary-safe) and yields its reply or
  /// why none came. On the loop thread; `args` need not outlive the call (hiredis copies them).
  [[nodiscard]] command_awaiter command(std::vector<std::string_view> args);

  void on_events(std::uint32_t events) override;
  [[nodiscard]] std::optional<loop::clock::time_point> next_deadline() const override;
  void on_round(loop::clock::time_point now) override;
  void on_stop() override;

 private:
  struct context_release {
    static void free(redisAsyncContext *context) noexcept;
  };
  using context_handle = io::unique_handle<redisAsyncContext, &context_release::free>;
  /// A command sent and not answered: its deadline, and who waits (null: the link's own set-up).
  struct pending {
    loop::clock::time_point deadline;
    command_awaiter *waiter;
  };

  void connect();
  /// `host:port`, for the log.
  [[nodiscard]] std::string where() const;
  /// Sends a command whose reply `waiter` gets (null: a set-up command); false when hiredis refused it.
  bool send(const std::vector<std::string_view> &args, command_awaiter *waiter);
  /// Drops the connection (a timeout, a refused set-up), failing what is pending with `why`.
  void drop(failure why, const std::string &reason);
  /// The connection is gone (hiredis freed it, or drop did): down, and a reconnect scheduled.
  void lost(const std::string &reason);
  /// hiredis's adapter hooks: it wants to read or write (nullopt: as before), or is done with the descriptor.
  void want(std::optional<bool> reading, std::optional<bool> writing);
  void forget_descriptor();

  static void on_connect(const redisAsyncContext *context, int status);
  static void on_disconnect(const redisAsyncContext *context, int status);
  static void on_reply(redisAsyncContext *context, void *raw, void *privdata);
  static void on_published(redisAsyncContext *context, void *raw, void *privdata);
  void answer(const void *raw, command_awaiter *waiter);

  loop::event_loop &loop_;
  link_settings settings_;
  std::function<void(bool, const std::string &)> on_change_;
  message_handler on_message_;
  std::optional<context_handle> context_;  // while connecting or connected
  int fd_ = -1;                            // watched while >= 0
  bool reading_ = false;
  bool writing_ = false;
  bool hooked_ = false;
  bool stopping_ = false;
  failure failing_ = failure::lost;  // what the commands failed by a drop get
  std::deque<pending> pending_;      // in the order sent: replies come in that order
  std::optional<loop::clock::time_point> connect_deadline_;
  std::optional<loop::clock::time_point> reconnect_at_;
  std::chrono::milliseconds backoff_{0};
  std::minstd_rand jitter_{std::random_device{}()};
  std::atomic<bool> up_{false};
  std::string drop_reason_;  // a set-up refused inside hiredis's callback: on_round drops the connection
  bool said_down_ = false;   // the last on_change said down: a failed retry says nothing new
  link_counts counts_;
};

/// What command() returns; resumes the awaiting coroutine on the loop (never inline in hiredis's
/// callback, so whatever it sends next does not nest in hiredis's reading).
class redis_link::command_awaiter {
 public:
  command_awaiter(redis_link &link, std::vector<std::string_view> args) : link_(link), args_(std::move(args)) {}
  command_awaiter(const command_awaiter &) = delete;
  command_awaiter &operator=(const command_awaiter &) = delete;

  [[nodiscard]] bool await_ready() {
    if (link_.up()) return false;
    ++link_.counts_.unavailable;
    outcome_ = failure::unavailable;
    return true;
  }
  bool await_suspend(std::coroutine_handle<> waiter) {
    waiter_ = waiter;
    if (link_.send(args_, this)) return true;
    outcome_ = failure::lost;
    return false;
  }
  result await_resume() noexcept { return std::move(outcome_); }

 private:
  friend class redis_link;
  redis_link &link_;
  std::vector<std::string_view> args_;
  std::coroutine_handle<> waiter_;
  result outcome_ = failure::lost;
};

inline redis_link::command_awaiter redis_link::command(std::vector<std::string_view> args) {
  return command_awaiter{*this, std::move(args)};
}

}  // namespace agg::store
