#include "aggregator/client/upstream_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "aggregator/client/transfer.hpp"

namespace agg::client {

namespace {

using clock = std::chrono::steady_clock;

thread_local const upstream_loop *current_loop = nullptr;

/// Reports a failure of curl or the kernel that the loop can only survive, not fix.
void report(const char *what, const char *detail) { std::fprintf(stderr, "upstream_loop: %s: %s\n", what, detail); }

}  // namespace

/// One multi handle with its own timer; its index is packed into the epoll data of its sockets.
struct upstream_loop::shard {
  upstream_loop *loop = nullptr;
  std::uint32_t index = 0;
  multi_handle multi;
  std::optional<clock::time_point> deadline;  // when curl wants CURL_SOCKET_TIMEOUT
  bool has_news = false;                      // socket_action ran since the last info_read
};

/// Lives in the coroutine frame of fetch while its transfer is in a multi handle;
/// CURLOPT_PRIVATE points here.
struct upstream_loop::transfer_awaiter {
  /// Runs on whichever thread requests the stop: only posts, the loop does the cancelling.
  struct request_cancel {
    upstream_loop *loop;
    std::uint64_t id;
    void operator()() const { loop->post_cancel(id); }
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

  [[nodiscard]] bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    waiter = h;
    if (!loop->start_transfer(*this)) return false;
    if (stop.stop_possible()) {
      id = loop->next_transfer_id_++;
      loop->cancellable_.emplace(id, this);
      on_stop.emplace(stop, request_cancel{loop, id});  // posts at once if a stop came already
    }
    return true;
  }
  [[nodiscard]] upstream_reply await_resume() const {
    return cancelled ? work->cancelled(*cancelled) : work->finish(result);
  }
};

upstream_loop::upstream_loop(const client_options &options, std::size_t max_connections) : options_(options) {
  const std::size_t shard_count = std::max<std::size_t>(1, options.shards_per_loop);
  const long per_shard = static_cast<long>(std::max<std::size_t>(1, max_connections / shard_count));
  for (std::size_t i = 0; i < shard_count; ++i) {
    auto s = std::make_unique<shard>();
    s->loop = this;
    s->index = static_cast<std::uint32_t>(i);
    s->multi.set(CURLMOPT_SOCKETFUNCTION, &upstream_loop::on_socket);
    s->multi.set(CURLMOPT_SOCKETDATA, static_cast<void *>(s.get()));
    s->multi.set(CURLMOPT_TIMERFUNCTION, &upstream_loop::on_timer);
    s->multi.set(CURLMOPT_TIMERDATA, static_cast<void *>(s.get()));
    s->multi.set(CURLMOPT_MAX_TOTAL_CONNECTIONS, per_shard);
    s->multi.set(CURLMOPT_MAXCONNECTS, per_shard);
    shards_.push_back(std::move(s));
  }
  thread_ = std::thread([this] { run(); });
}

upstream_loop::~upstream_loop() {
  {
    const std::lock_guard lock{posted_mutex_};
    accepting_ = false;
  }
  events_.wake();
  thread_.join();
}

bool upstream_loop::on_loop_thread() const noexcept { return current_loop == this; }

bool upstream_loop::post(std::coroutine_handle<> waiter) {
  bool wake = false;
  {
    const std::lock_guard lock{posted_mutex_};
    if (!accepting_) return false;
    wake = posted_.empty() && cancels_.empty();
    if (wake) first_posted_ = clock::now();
    posted_.push_back(waiter);
  }
  // Only the first post after the loop took the queue needs to wake it: the loop consumes the
  // wake-up before it takes the queue, so a later post finds either a wake pending or the queue taken.
  if (wake) events_.wake();
  return true;
}

void upstream_loop::post_cancel(std::uint64_t transfer_id) {
  bool wake = false;
  {
    const std::lock_guard lock{posted_mutex_};
    if (!accepting_) return;  // the loop cancels everything as it stops anyway
    wake = posted_.empty() && cancels_.empty();
    if (wake) first_posted_ = clock::now();
    cancels_.push_back(transfer_id);
  }
  if (wake) events_.wake();
}

void upstream_loop::run_posted(std::vector<transfer_awaiter *> &finished) {
  events_.consume_wake();
  std::vector<std::coroutine_handle<>> ready;
  std::vector<std::uint64_t> cancels;
  clock::time_point oldest;
  {
    const std::lock_guard lock{posted_mutex_};
    ready.swap(posted_);
    cancels.swap(cancels_);
    oldest = first_posted_;
    stopping_ = !accepting_;
  }
  if (!ready.empty() || !cancels.empty()) {
    const auto lag = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - oldest).count();
    std::int64_t seen = max_lag_ns_.load(std::memory_order_relaxed);
    while (lag > seen && !max_lag_ns_.compare_exchange_weak(seen, lag, std::memory_order_relaxed)) {
    }
  }
  for (const std::uint64_t id : cancels) {
    const auto found = cancellable_.find(id);
    if (found == cancellable_.end()) continue;  // it finished before the request arrived
    transfer_awaiter &awaiter = *found->second;
    detach(awaiter);
    awaiter.cancelled = cancelled_by_request;
    finished.push_back(&awaiter);  // resumed with the completions, outside curl
  }
  for (const auto h : ready) h.resume();
}

void upstream_loop::detach(transfer_awaiter &awaiter) {
  if (const CURLMcode rc = curl_multi_remove_handle(awaiter.owner->multi.get(), awaiter.work->easy().get());
      rc != CURLM_OK)
    report("curl_multi_remove_handle", curl_multi_strerror(rc));
  if (awaiter.prev != nullptr)
    awaiter.prev->next = awaiter.next;
  else
    active_ = awaiter.next;
  if (awaiter.next != nullptr) awaiter.next->prev = awaiter.prev;
  awaiter.prev = awaiter.next = nullptr;
  if (awaiter.id != 0) cancellable_.erase(awaiter.id);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

coro::task<upstream_reply> upstream_loop::fetch(upstream_call call, std::stop_token stop) {
  co_await schedule();
  const bool loop_stopped = !on_loop_thread() || stopping_;
  if (loop_stopped || stop.stop_requested())
    co_return failed_reply(transfer_error::cancelled, loop_stopped ? cancelled_by_shutdown : cancelled_by_request);
  easy_handle easy = take_easy();
  upstream_reply reply;
  {
    transfer work{easy, call, options_};
    if (work.expired()) {
      reply = work.expired_reply();
    } else {
      // A named awaiter: g++ 12 destroys a temporary with non-trivial members twice in co_await.
      transfer_awaiter completion{.loop = this, .work = &work, .stop = std::move(stop)};
      reply = co_await completion;
    }
  }
  give_back(std::move(easy));
  co_return reply;
}

easy_handle upstream_loop::take_easy() {
  if (idle_easy_.empty()) return transfer::new_handle();
  easy_handle easy = std::move(idle_easy_.back());
  idle_easy_.pop_back();
  return easy;
}

void upstream_loop::give_back(easy_handle easy) {
  idle_easy_.push_back(std::move(easy));  // its options are overwritten by the next transfer
}

bool upstream_loop::start_transfer(transfer_awaiter &awaiter) {
  shard &s = *shards_[next_shard_];
  next_shard_ = (next_shard_ + 1) % shards_.size();
  awaiter.work->easy().set(CURLOPT_PRIVATE, static_cast<void *>(&awaiter));
  if (const CURLMcode rc = curl_multi_add_handle(s.multi.get(), awaiter.work->easy().get()); rc != CURLM_OK) {
    report("curl_multi_add_handle", curl_multi_strerror(rc));
    awaiter.result = CURLE_FAILED_INIT;
    return false;  // resume at once with the failure
  }
  awaiter.owner = &s;
  awaiter.next = active_;
  if (active_ != nullptr) active_->prev = &awaiter;
  active_ = &awaiter;
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int upstream_loop::on_socket(CURL * /*easy*/, curl_socket_t fd, int what, void *shard_ptr, void *assigned) {
  auto &s = *static_cast<shard *>(shard_ptr);
  const int epoll_fd = s.loop->events_.fd();
  if (what == CURL_POLL_REMOVE) {
    if (epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT && errno != EBADF)
      report("epoll_ctl(DEL)", std::strerror(errno));
    return 0;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0U) | (what & CURL_POLL_OUT ? EPOLLOUT : 0U);
  ev.data.u64 = (std::uint64_t{s.index} << 32) | static_cast<std::uint32_t>(fd);
  const bool known = assigned != nullptr;
  if (epoll_ctl(epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
    // A descriptor number can come back from the kernel for a new socket; try the other verb once.
    if (epoll_ctl(epoll_fd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
      report("epoll_ctl(ADD/MOD)", std::strerror(errno));
      return -1;  // curl fails this transfer instead of waiting forever
    }
  }
  if (!known) {
    if (const CURLMcode rc = curl_multi_assign(s.multi.get(), fd, shard_ptr); rc != CURLM_OK) {
      report("curl_multi_assign", curl_multi_strerror(rc));
      return -1;
    }
  }
  return 0;
}

int upstream_loop::on_timer(CURLM * /*multi*/, long timeout_ms, void *shard_ptr) {
  auto &s = *static_cast<shard *>(shard_ptr);
  if (timeout_ms < 0)
    s.deadline.reset();
  else
    s.deadline = clock::now() + std::chrono::milliseconds{timeout_ms};
  return 0;
}

int upstream_loop::next_timeout_ms() const {
  std::optional<clock::time_point> earliest;
  for (const auto &s : shards_)
    if (s->deadline && (!earliest || *s->deadline < *earliest)) earliest = s->deadline;
  if (!earliest) return -1;
  const auto wait = *earliest - clock::now();
  if (wait <= clock::duration::zero()) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

void upstream_loop::fire_due_timers() {
  const auto now = clock::now();
  for (const auto &s : shards_) {
    if (!s->deadline || *s->deadline > now) continue;
    s->deadline.reset();
    int running = 0;
    if (const CURLMcode rc = curl_multi_socket_action(s->multi.get(), CURL_SOCKET_TIMEOUT, 0, &running); rc != CURLM_OK)
      report("curl_multi_socket_action(timeout)", curl_multi_strerror(rc));
    s->has_news = true;
  }
}

void upstream_loop::collect_completions(std::vector<transfer_awaiter *> &finished) {
  for (const auto &s : shards_) {
    if (!s->has_news) continue;
    s->has_news = false;
    int queued = 0;
    while (CURLMsg *msg = curl_multi_info_read(s->multi.get(), &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL *const easy = msg->easy_handle;
      const CURLcode result = msg->data.result;  // msg dies with remove_handle: copy first
      void *awaiter_ptr = nullptr;
      if (const CURLcode rc = curl_easy_getinfo(easy, CURLINFO_PRIVATE, &awaiter_ptr); rc != CURLE_OK || !awaiter_ptr) {
        report("curl_easy_getinfo(CURLINFO_PRIVATE)", curl_easy_strerror(rc));
        continue;
      }
      auto &awaiter = *static_cast<transfer_awaiter *>(awaiter_ptr);
      detach(awaiter);
      awaiter.result = result;
      finished.push_back(&awaiter);
    }
  }
}

void upstream_loop::cancel_everything() {
  while (active_ != nullptr) {
    transfer_awaiter &awaiter = *active_;
    detach(awaiter);
    awaiter.cancelled = cancelled_by_shutdown;
    awaiter.waiter.resume();  // may start more fetches: they answer `cancelled` at once
  }
}

void upstream_loop::run() {
  current_loop = this;
  running_.store(true, std::memory_order_release);
  std::array<epoll_event, 256> events{};
  std::vector<transfer_awaiter *> finished;
  while (!stopping_) {
    const int ready = epoll_wait(events_.fd(), events.data(), static_cast<int>(events.size()), next_timeout_ms());
    if (ready < 0 && errno != EINTR) report("epoll_wait", std::strerror(errno));
    for (int i = 0; i < ready; ++i) {
      const std::uint64_t data = events[static_cast<std::size_t>(i)].data.u64;
      if (data == io::wakeable_epoll::wake_token) {
        run_posted(finished);
        continue;
      }
      shard &s = *shards_[data >> 32];
      const auto fd = static_cast<curl_socket_t>(data & 0xffff'ffffU);
      const std::uint32_t got = events[static_cast<std::size_t>(i)].events;
      const int flags = (got & EPOLLIN ? CURL_CSELECT_IN : 0) | (got & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (got & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      int running = 0;
      if (const CURLMcode rc = curl_multi_socket_action(s.multi.get(), fd, flags, &running); rc != CURLM_OK)
        report("curl_multi_socket_action", curl_multi_strerror(rc));
      s.has_news = true;
    }
    fire_due_timers();
    collect_completions(finished);
    // Resume only now, outside every curl callback: a resumed coroutine may add transfers.
    for (transfer_awaiter *awaiter : finished) awaiter->waiter.resume();
    finished.clear();
  }
  // Stopping: posts are refused from now on. Run what was handed over (its fetches answer `cancelled`),
  // then cancel the transfers still in the multi handles.
  run_posted(finished);
  for (transfer_awaiter *awaiter : finished) awaiter->waiter.resume();
  cancel_everything();
  running_.store(false, std::memory_order_release);
}

}  // namespace agg::client
