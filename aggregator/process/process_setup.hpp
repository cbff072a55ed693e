#pragma once

#include <pthread.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <thread>

namespace agg::process {

/// Raises the soft descriptor limit to the hard one: an aggregation of N calls holds N+1 sockets
/// and a benchmark upstream holds one per connection. Call at start, from main.
inline void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) std::perror("setrlimit(RLIMIT_NOFILE)");
  }
}

/// The soft descriptor limit now (after raise_fd_limit: the hard one).
inline std::size_t descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<std::size_t>(limit.rlim_cur);
}

/// The signals a service waits for: SIGINT and SIGTERM stop it, SIGHUP reloads its config.
inline sigset_t service_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

/// Blocks the service signals for the calling thread and every thread it creates afterwards, and
/// ignores SIGPIPE. Call it first thing in main, before any thread exists, so that no thread (an
/// upstream loop, a worker) is killed by those signals; signal_waiter then receives them.
inline void block_service_signals() {
  const sigset_t signals = service_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

/// Calls `on_stop` when SIGINT or SIGTERM arrives and `on_reload` at each SIGHUP (ignored without
/// one), on a thread of its own, never in a signal handler; a signal that arrived before
/// construction is still pending and is taken at once. Needs block_service_signals() first.
/// Destroy it before whatever the callbacks touch: that joins the thread.
class signal_waiter {
 public:
  explicit signal_waiter(std::function<void()> on_stop, std::function<void()> on_reload = {}) {
    waiter_ = std::thread{[this, stop = std::move(on_stop), reload = std::move(on_reload)] {
      const sigset_t signals = service_signals();
      for (;;) {
        int received = 0;
        sigwait(&signals, &received);
        if (released_) return;
        if (received != SIGHUP) return stop();
        if (reload) reload();
      }
    }};
  }
  signal_waiter(const signal_waiter &) = delete;
  signal_waiter &operator=(const signal_waiter &) = delete;
  ~signal_waiter() {
    released_ = true;
    pthread_kill(waiter_.native_handle(), SIGTERM);  // wakes sigwait; harmless if it returned already
    waiter_.join();
  }

 private:
  std::atomic<bool> released_{false};
  std::thread waiter_;
};

}  // namespace agg::process
