#pragma once

#include <pthread.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
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

/// Blocks SIGINT and SIGTERM for the calling thread and every thread it creates afterwards, and
/// ignores SIGPIPE. Call it first thing in main, before any thread exists, so that no thread (an
/// upstream loop, a worker) is killed by those signals; stop_signal_waiter then receives them.
inline void block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

/// Calls `on_stop` on a thread of its own (never in a signal handler) when SIGINT or SIGTERM
/// arrives; one that arrived before construction is still pending and is taken at once. Needs
/// block_stop_signals() first. Destroy it before whatever `on_stop` touches: that joins the thread.
class stop_signal_waiter {
 public:
  explicit stop_signal_waiter(std::function<void()> on_stop) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    waiter_ = std::thread{[this, stop = std::move(on_stop)] {
      int received = 0;
      sigwait(&signals_, &received);
      if (!released_) stop();
    }};
  }
  stop_signal_waiter(const stop_signal_waiter &) = delete;
  stop_signal_waiter &operator=(const stop_signal_waiter &) = delete;
  ~stop_signal_waiter() {
    released_ = true;
    pthread_kill(waiter_.native_handle(), SIGTERM);  // wakes sigwait; harmless if it returned already
    waiter_.join();
  }

 private:
  sigset_t signals_{};
  std::atomic<bool> released_{false};
  std::thread waiter_;
};

}  // namespace agg::process
