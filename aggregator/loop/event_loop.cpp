#include "aggregator/loop/event_loop.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace agg::loop {

namespace {

thread_local const event_loop *current_loop = nullptr;

}  // namespace

event_loop::event_loop() = default;

event_loop::~event_loop() { stop(); }

void event_loop::start() {
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
}

void event_loop::stop() {
  {
    const std::lock_guard lock{posted_mutex_};
    accepting_ = false;
  }
  events_.wake();
  if (thread_.joinable()) thread_.join();
}

bool event_loop::on_loop_thread() const noexcept { return current_loop == this; }

template <typename Work>
bool event_loop::enqueue(Work work, std::vector<Work> &local, std::vector<Work> &posted) {
  if (on_loop_thread()) {
    if (stopping_) return false;
    local.push_back(std::move(work));
    return true;
  }
  bool wake = false;
  {
    const std::lock_guard lock{posted_mutex_};
    if (!accepting_) return false;
    wake = posted_handles_.empty() && posted_work_.empty();
    if (wake) first_posted_ = clock::now();
    posted.push_back(std::move(work));
  }
  // Only the first post after the loop took the queue needs to wake it: the loop consumes the
  // wake-up before it takes the queue, so a later post finds either a wake pending or the queue taken.
  if (wake) events_.wake();
  return true;
}

bool event_loop::post(std::coroutine_handle<> waiter) { return enqueue(waiter, local_handles_, posted_handles_); }

bool event_loop::post(std::function<void()> work) { return enqueue(std::move(work), local_work_, posted_work_); }

bool event_loop::call(const std::function<void()> &work) {
  std::mutex mutex;
  std::condition_variable changed;
  bool done = false;
  const bool posted = post([&] {
    work();
    const std::lock_guard lock{mutex};
    done = true;
    changed.notify_one();  // under the lock: the waiter cannot return and destroy these first
  });
  if (!posted) return false;
  std::unique_lock lock{mutex};
  changed.wait(lock, [&] { return done; });
  return true;
}

void event_loop::watch(int fd, std::uint32_t events, io_handler &handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &handler;
  if (epoll_ctl(events_.fd(), EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
}

void event_loop::rewatch(int fd, std::uint32_t events, io_handler &handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &handler;
  if (epoll_ctl(events_.fd(), EPOLL_CTL_MOD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(MOD)");
}

void event_loop::unwatch(int fd) noexcept {
  if (epoll_ctl(events_.fd(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT && errno != EBADF)
    std::fprintf(stderr, "event_loop: epoll_ctl(DEL): %s\n", std::strerror(errno));
}

void event_loop::add_hooks(loop_hooks &hooks) { hooks_.push_back(&hooks); }

void event_loop::remove_hooks(loop_hooks &hooks) noexcept { std::erase(hooks_, &hooks); }

void event_loop::park(std::uint64_t id, clock::time_point until, std::coroutine_handle<> handle, wake_reason *reason) {
  const auto timer = until == clock::time_point::max() ? timers_.end() : timers_.emplace(until, id);
  waiters_.emplace(id, parked{handle, reason, timer});
}

bool event_loop::unpark(std::uint64_t id, wake_reason why, std::coroutine_handle<> &handle) {
  const auto found = waiters_.find(id);
  if (found == waiters_.end()) return false;
  if (found->second.timer != timers_.end()) timers_.erase(found->second.timer);
  *found->second.reason = why;
  handle = found->second.handle;
  waiters_.erase(found);
  return true;
}

void event_loop::wake_due(clock::time_point now, bool all) {
  std::coroutine_handle<> handle;
  while (!timers_.empty() && timers_.begin()->first <= now)
    if (unpark(timers_.begin()->second, wake_reason::time, handle)) handle.resume();
  while (all && !waiters_.empty())
    if (unpark(waiters_.begin()->first, wake_reason::stop, handle)) handle.resume();
}

bool event_loop::wake(std::uint64_t id) {
  std::coroutine_handle<> handle;
  if (!unpark(id, wake_reason::signal, handle)) return false;
  local_handles_.push_back(handle);
  return true;
}

void event_loop::wake_stopped(std::uint64_t id) {
  std::coroutine_handle<> handle;
  if (unpark(id, wake_reason::stop, handle)) handle.resume();
}

int event_loop::wait_timeout_ms() const {
  if (!local_handles_.empty() || !local_work_.empty()) return 0;
  std::optional<clock::time_point> earliest;
  if (!timers_.empty()) earliest = timers_.begin()->first;
  for (const loop_hooks *h : hooks_)
    if (const auto due = h->next_deadline(); due && (!earliest || *due < *earliest)) earliest = due;
  if (!earliest) return -1;
  const auto wait = *earliest - clock::now();
  if (wait <= clock::duration::zero()) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

void event_loop::take_posted() {
  events_.consume_wake();
  std::vector<std::coroutine_handle<>> handles;
  std::vector<std::function<void()>> work;
  clock::time_point oldest;
  {
    const std::lock_guard lock{posted_mutex_};
    handles.swap(posted_handles_);
    work.swap(posted_work_);
    oldest = first_posted_;
    stopping_ = !accepting_;
  }
  if (!handles.empty() || !work.empty()) {
    const auto lag = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - oldest).count();
    std::int64_t seen = max_lag_ns_.load(std::memory_order_relaxed);
    while (lag > seen && !max_lag_ns_.compare_exchange_weak(seen, lag, std::memory_order_relaxed)) {
    }
  }
  for (auto &w : work) w();
  for (const auto h : handles) h.resume();
}

void event_loop::run_local() {
  // What runs may post more: take the queues each time round.
  while (!local_handles_.empty() || !local_work_.empty()) {
    std::vector<std::function<void()>> work;
    work.swap(local_work_);
    for (auto &w : work) w();
    std::vector<std::coroutine_handle<>> handles;
    handles.swap(local_handles_);
    for (const auto h : handles) h.resume();
  }
}

void event_loop::run() {
  current_loop = this;
  std::array<epoll_event, 256> ready_events{};
  while (!stopping_) {
    const int ready =
        epoll_wait(events_.fd(), ready_events.data(), static_cast<int>(ready_events.size()), wait_timeout_ms());
    if (ready < 0 && errno != EINTR) std::fprintf(stderr, "event_loop: epoll_wait: %s\n", std::strerror(errno));
    for (int i = 0; i < ready; ++i) {
      const epoll_event &ev = ready_events[static_cast<std::size_t>(i)];
      if (ev.data.u64 == io::wakeable_epoll::wake_token)
        take_posted();
      else
        static_cast<io_handler *>(ev.data.ptr)->on_events(ev.events);
    }
    run_local();
    const auto now = clock::now();
    wake_due(now);
    for (std::size_t i = 0; i < hooks_.size(); ++i) hooks_[i]->on_round(now);  // a hook may add hooks
    run_local();
  }
  // Stopping: posts are refused from now on. Run what was handed over, then let each part end what
  // it has in flight.
  take_posted();
  run_local();
  wake_due(clock::now(), true);  // stopped: they end what they were waiting to do
  run_local();
  for (auto it = hooks_.rbegin(); it != hooks_.rend(); ++it) {
    (*it)->on_stop();
    run_local();
  }
  running_.store(false, std::memory_order_release);
}

}  // namespace agg::loop
