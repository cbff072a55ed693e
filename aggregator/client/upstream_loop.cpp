#include "aggregator/client/upstream_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>

#include "aggregator/client/transfer.hpp"
#include "aggregator/process/memory_allocator.hpp"

namespace agg::client {

namespace {

using clock = loop::clock;

/// Reports a failure of curl or the kernel that the loop can only survive, not fix.
void report(const char *what, const char *detail) { std::fprintf(stderr, "upstream_loop: %s: %s\n", what, detail); }

/// How often the idle easy handles and the shards' pools are looked at: the handles none of the
/// window's transfers needed go, and the pools of shards none of them used.
constexpr std::chrono::seconds trim_window{2};
/// Idle handles always kept: light traffic never makes and frees handles.
constexpr std::size_t kept_idle_easy = 16;
/// Freeing at least this many handles at once gives their pages back to the kernel.
constexpr std::size_t trim_after_freeing = 256;

std::uint32_t epoll_events_for(int what) noexcept {
  return (what & CURL_POLL_IN ? EPOLLIN : 0U) | (what & CURL_POLL_OUT ? EPOLLOUT : 0U);
}

}  // namespace

/// One multi handle with its own timer.
struct upstream_loop::shard {
  upstream_loop *loop = nullptr;
  multi_handle multi;
  std::optional<clock::time_point> deadline;  // when curl wants CURL_SOCKET_TIMEOUT
  std::size_t index = 0;                      // in shards_ and shard_loads_
  bool has_news = false;                      // socket_action ran since the last info_read
  bool used = false;                          // a transfer started on it in this trim window
  clock::time_point last_used{};              // the end of the last window in which it was used
  bool pooled = false;                        // a transfer ran on it since its multi handle was made
  bool keeps_pool = false;  // the shard calls one after another use, or an HTTP/2 origin's: never closed
};

void upstream_loop::transfer_awaiter::request_cancel::operator()() const {
  upstream_loop *const owner = loop;
  const std::uint64_t transfer = id;
  owner->events_.post([owner, transfer] { owner->cancel(transfer); });
}

bool upstream_loop::transfer_awaiter::start(std::coroutine_handle<> h) {
  waiter = h;
  if (!loop->start_transfer(*this)) return false;
  if (stop.stop_possible()) {
    id = loop->next_transfer_id_++;
    on_stop.emplace(stop, request_cancel{loop, id});  // posts at once if a stop came already
  }
  return true;
}

upstream_loop::upstream_loop(const client_options &options, std::size_t max_connections, std::size_t index)
    : options_(options), index_(index), sockets_(events_, [this](curl_sockets::socket &socket, std::uint32_t events) {
        on_socket_ready(socket, events);
      }) {
  const std::size_t shard_count = std::max<std::size_t>(1, options.shards_per_loop);
  connections_per_shard_ = static_cast<long>(std::max<std::size_t>(1, max_connections / shard_count));
  for (std::size_t i = 0; i < shard_count; ++i) {
    auto s = std::make_unique<shard>();
    s->loop = this;
    s->index = i;
    s->keeps_pool = i == 0;  // where calls made one after another go
    configure(*s);
    shards_.push_back(std::move(s));
  }
  shard_loads_.assign(shard_count, 0);
  events_.add_hooks(*this);
  events_.start();
}

upstream_loop::~upstream_loop() { events_.stop(); }

void upstream_loop::configure(shard &s) const {
  s.multi.set(CURLMOPT_SOCKETFUNCTION, &upstream_loop::on_socket);
  s.multi.set(CURLMOPT_SOCKETDATA, static_cast<void *>(&s));
  s.multi.set(CURLMOPT_TIMERFUNCTION, &upstream_loop::on_timer);
  s.multi.set(CURLMOPT_TIMERDATA, static_cast<void *>(&s));
  s.multi.set(CURLMOPT_MAX_TOTAL_CONNECTIONS, connections_per_shard_);
  s.multi.set(CURLMOPT_MAXCONNECTS, connections_per_shard_);
}

std::size_t upstream_loop::close_unused_pools(clock::time_point now) {
  // libcurl 7.88 closes an idle connection only when a transfer on the same multi handle looks for
  // one (CURLOPT_MAXAGE_CONN, 118 s), so after a burst the connections of the shards no call picks
  // any more stayed open: ten thousand after 1000 clients x 10 calls, each with its state here
  // (about 2.5 KB) and a socket at the upstream. As with nginx's upstream keepalive_timeout, the
  // surplus goes: a shard that held connections and started no transfer for client.pool_idle_timeout
  // (to the window) gets a new multi handle, and the old one's cleanup closes its connections
  // (through on_close_socket). The first shard, where calls made one after another go, and an HTTP/2
  // origin's keep theirs (curl's own age limit applies); TLS sessions and resolved hosts are in
  // share_ and stay.
  std::size_t closed = 0;
  for (const auto &s : shards_) {
    if (s->used) s->last_used = now;
    if (s->pooled && !s->used && !s->keeps_pool && shard_loads_[s->index] == 0 &&
        now - s->last_used >= options_.pool_idle_timeout) {
      {
        const multi_handle old = std::exchange(s->multi, multi_handle{});
        configure(*s);
      }  // curl_multi_cleanup closes the old pool here, while its callbacks' shard still lives
      s->deadline.reset();
      s->pooled = false;
      ++closed;
    }
    s->used = false;
  }
  return closed;
}

void upstream_loop::cancel(std::uint64_t transfer_id) {
  // A walk of the transfers in flight: cancelling is rare, and an index would cost every transfer
  // an insertion and an erasure.
  transfer_awaiter *found = active_;
  while (found != nullptr && found->id != transfer_id) found = found->next;
  if (found == nullptr) return;  // it finished before the request arrived
  transfer_awaiter &awaiter = *found;
  detach(awaiter);
  awaiter.cancelled = calls::cancelled_by_request;
  finished_.push_back(&awaiter);  // resumed with the completions, outside curl
}

void upstream_loop::detach(transfer_awaiter &awaiter) {
  if (const CURLMcode rc = curl_multi_remove_handle(awaiter.owner->multi.get(), awaiter.work->easy().get());
      rc != CURLM_OK)
    report("curl_multi_remove_handle", curl_multi_strerror(rc));
  --shard_loads_[awaiter.owner->index];
  if (awaiter.prev != nullptr)
    awaiter.prev->next = awaiter.next;
  else
    active_ = awaiter.next;
  if (awaiter.next != nullptr) awaiter.next->prev = awaiter.prev;
  awaiter.prev = awaiter.next = nullptr;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

coro::task<calls::upstream_reply> upstream_loop::fetch(const calls::upstream_call &call, std::stop_token stop) {
  co_await schedule();
  if (!on_loop_thread()) co_return calls::failed_reply(calls::outcome_kind::cancelled, calls::cancelled_by_shutdown);
  fetch_op op{*this, call, std::move(stop)};
  co_await op;
  co_return op.reply();
}

upstream_loop::fetch_op::fetch_op(upstream_loop &loop, const calls::upstream_call &call, std::stop_token stop)
    : loop_(loop) {
  if (loop.events_.stopping() || stop.stop_requested()) {
    not_sent_ = loop.events_.stopping() ? calls::cancelled_by_shutdown : calls::cancelled_by_request;
    return;
  }
  easy_.emplace(loop.take_easy());
  origin_ = loop.origin_of(call);
  const std::size_t buffer = origin_ != nullptr ? origin_->sizes.buffer_bytes(loop.options_.receive_buffer_bytes) : 0;
  work_.emplace(*easy_, call, loop.options_, origin_ != nullptr ? origin_->parsed.get() : nullptr, buffer);
  in_flight_.loop = &loop;
  in_flight_.work = &*work_;
  in_flight_.stop = std::move(stop);
}

upstream_loop::fetch_op::~fetch_op() {
  work_.reset();  // clears the handle's pointers into the transfer before the handle is reused
  if (easy_) loop_.give_back(std::move(*easy_));
}

calls::upstream_reply upstream_loop::fetch_op::reply() {
  if (!work_) return calls::failed_reply(calls::outcome_kind::cancelled, *not_sent_);
  if (work_->skipped()) return work_->skipped_reply();
  if (in_flight_.cancelled) return work_->cancelled(*in_flight_.cancelled);
  calls::upstream_reply reply = work_->finish(in_flight_.result);
  if (origin_ != nullptr) origin_->sizes.note(work_->answer_bytes());
  return reply;
}

upstream_loop::origin_state *upstream_loop::origin_of(const calls::upstream_call &call) {
  if (call.origin_length == 0 || call.origin_length > call.url.size()) return nullptr;  // not pre-parsed
  const std::string_view origin = call.origin();
  if (const auto found = origins_.find(origin); found != origins_.end()) return &found->second;
  url_handle parsed{curl_url(), "curl_url"};
  if (curl_url_set(parsed.get(), CURLUPART_URL, std::string{origin}.c_str(), 0) != CURLUE_OK) return nullptr;
  return &origins_.emplace(std::string{origin}, origin_state{.parsed = std::move(parsed)}).first->second;
}

easy_handle upstream_loop::take_easy() {
  if (idle_easy_.empty()) {
    easy_handle easy = transfer::new_handle();
    // Sockets are closed through the loop, which must forget them before their number is reused.
    easy.set(CURLOPT_CLOSESOCKETFUNCTION, &upstream_loop::on_close_socket);
    easy.set(CURLOPT_CLOSESOCKETDATA, static_cast<void *>(this));
    easy.set(CURLOPT_SOCKOPTFUNCTION, &upstream_loop::on_new_socket);
    easy.set(CURLOPT_SOCKOPTDATA, static_cast<void *>(this));
    easy.set(CURLOPT_SHARE, share_.get());  // a host resolved or a TLS session made once per loop, not per shard
    return easy;
  }
  easy_handle easy = std::move(idle_easy_.back());
  idle_easy_.pop_back();
  fewest_idle_easy_ = std::min(fewest_idle_easy_, idle_easy_.size());
  return easy;
}

void upstream_loop::give_back(easy_handle easy) {
  idle_easy_.push_back(std::move(easy));  // its options are overwritten by the next transfer
  if (!trim_at_) trim_at_ = clock::now() + trim_window;
}

void upstream_loop::trim_idle(clock::time_point now) {
  if (!trim_at_ || *trim_at_ > now) return;
  // The handles that stayed idle through the whole window were not needed: after a burst of ten
  // thousand calls in flight, their memory (5 KB each, and a receive buffer) goes back.
  const std::size_t unneeded =
      std::min(fewest_idle_easy_, idle_easy_.size() - std::min(idle_easy_.size(), kept_idle_easy));
  // From the front: the handles taken last come from the back, so those at the front idled longest.
  idle_easy_.erase(idle_easy_.begin(), idle_easy_.begin() + static_cast<std::ptrdiff_t>(unneeded));
  const std::size_t pools_closed = close_unused_pools(now);
  if (unneeded >= trim_after_freeing || pools_closed > 0) process::give_back_free_memory();
  fewest_idle_easy_ = idle_easy_.size();
  trim_at_.reset();
  const bool pools_left =
      std::any_of(shards_.begin(), shards_.end(), [](const auto &s) { return s->pooled && !s->keeps_pool; });
  if (idle_easy_.size() > kept_idle_easy || pools_left) trim_at_ = now + trim_window;
}

upstream_loop::shard &upstream_loop::least_busy_shard() noexcept {
  // The counts side by side: a busy loop's scan reads a few cache lines, not one per shard.
  std::size_t least = 0;
  for (std::size_t i = 0; i < shard_loads_.size() && shard_loads_[least] != 0; ++i)
    if (shard_loads_[i] < shard_loads_[least]) least = i;
  return *shards_[least];
}

bool upstream_loop::start_transfer(transfer_awaiter &awaiter) {
  // An HTTP/2 origin's calls all go to one multi handle: a connection is shared within one only.
  // Other calls go to the shard with the fewest transfers in flight, the first one on ties. Calls
  // made one after another then land on the same shard and find its idle connection (a connection
  // pool per origin per loop, in effect), while concurrent ones spread over the shards, so no
  // multi handle's connection cache grows large (curl_multi_remove_handle walks it).
  shard &s = awaiter.work->multiplexed() ? *shards_[awaiter.work->origin_hash() % shards_.size()] : least_busy_shard();
  s.used = s.pooled = true;
  if (awaiter.work->multiplexed()) s.keeps_pool = true;
  awaiter.work->easy().set(CURLOPT_PRIVATE, static_cast<void *>(&awaiter));
  if (const CURLMcode rc = curl_multi_add_handle(s.multi.get(), awaiter.work->easy().get()); rc != CURLM_OK) {
    report("curl_multi_add_handle", curl_multi_strerror(rc));
    awaiter.result = CURLE_FAILED_INIT;
    return false;  // resume at once with the failure
  }
  awaiter.owner = &s;
  ++shard_loads_[s.index];
  awaiter.next = active_;
  if (active_ != nullptr) active_->prev = &awaiter;
  active_ = &awaiter;
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int upstream_loop::on_socket(CURL * /*easy*/, curl_socket_t fd, int what, void *shard_ptr, void * /*assigned*/) {
  auto &s = *static_cast<shard *>(shard_ptr);
  curl_sockets::socket &socket = s.loop->sockets_.at(fd);
  socket.owner = &s;
  try {
    s.loop->sockets_.want(socket, what == CURL_POLL_REMOVE ? 0 : epoll_events_for(what));
  } catch (const std::system_error &e) {
    report("registering an upstream socket", e.what());
    return -1;  // curl fails this transfer instead of waiting forever
  }
  return 0;
}

void upstream_loop::on_socket_ready(curl_sockets::socket &socket, std::uint32_t events) {
  const int flags = (events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
  auto &owner = *static_cast<shard *>(socket.owner);
  int running = 0;
  if (const CURLMcode rc = curl_multi_socket_action(owner.multi.get(), socket.fd, flags, &running); rc != CURLM_OK)
    report("curl_multi_socket_action", curl_multi_strerror(rc));
  owner.has_news = true;
}

int upstream_loop::on_close_socket(void *loop_ptr, curl_socket_t fd) {
  static_cast<upstream_loop *>(loop_ptr)->sockets_.closing(fd);
  return ::close(fd);
}

int upstream_loop::on_new_socket(void *loop_ptr, curl_socket_t fd, curlsocktype /*purpose*/) {
  static_cast<upstream_loop *>(loop_ptr)->sockets_.born(fd);
  return CURL_SOCKOPT_OK;
}

int upstream_loop::on_timer(CURLM * /*multi*/, long timeout_ms, void *shard_ptr) {
  auto &s = *static_cast<shard *>(shard_ptr);
  if (timeout_ms < 0)
    s.deadline.reset();
  else
    s.deadline = clock::now() + std::chrono::milliseconds{timeout_ms};
  return 0;
}

std::optional<clock::time_point> upstream_loop::next_deadline() const {
  if (!finished_.empty()) return clock::now();  // cancelled after this round's resumptions
  std::optional<clock::time_point> earliest = trim_at_;
  for (const auto &s : shards_)
    if (s->deadline && (!earliest || *s->deadline < *earliest)) earliest = s->deadline;
  return earliest;
}

void upstream_loop::fire_due_timers(clock::time_point now) {
  for (const auto &s : shards_) {
    if (!s->deadline || *s->deadline > now) continue;
    s->deadline.reset();
    int running = 0;
    if (const CURLMcode rc = curl_multi_socket_action(s->multi.get(), CURL_SOCKET_TIMEOUT, 0, &running); rc != CURLM_OK)
      report("curl_multi_socket_action(timeout)", curl_multi_strerror(rc));
    if (!s->deadline) {
      // curl calls the timer function only when its earliest timer changes: one that was not due
      // yet (its milliseconds rounded down) is still armed in curl, and must stay armed here.
      long ms = -1;
      if (const CURLMcode rc = curl_multi_timeout(s->multi.get(), &ms); rc != CURLM_OK)
        report("curl_multi_timeout", curl_multi_strerror(rc));
      else if (ms >= 0)
        s->deadline = now + std::chrono::milliseconds{std::max(ms, 1L)};
    }
    s->has_news = true;
  }
}

void upstream_loop::collect_completions() {
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
      finished_.push_back(&awaiter);
    }
  }
}

void upstream_loop::on_round(clock::time_point now) {
  trim_idle(now);
  fire_due_timers(now);
  collect_completions();
  // Resume only now, outside every curl callback: a resumed coroutine may add transfers.
  resuming_.swap(finished_);
  for (transfer_awaiter *awaiter : resuming_) awaiter->waiter.resume();
  resuming_.clear();
  sockets_.release_retired();  // this round's events are all handled: none names them any more
}

void upstream_loop::on_stop() {
  for (transfer_awaiter *awaiter : std::exchange(finished_, {})) awaiter->waiter.resume();
  while (active_ != nullptr) {
    transfer_awaiter &awaiter = *active_;
    detach(awaiter);
    awaiter.cancelled = calls::cancelled_by_shutdown;
    awaiter.waiter.resume();  // may start more fetches: they answer `cancelled` at once
  }
}

}  // namespace agg::client
