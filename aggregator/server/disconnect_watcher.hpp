#pragma once

#include <cstdint>
#include <mutex>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <utility>

#include "aggregator/io/wakeable_epoll.hpp"

namespace agg::server {

/// Notices clients that close their connection while their aggregation runs: one thread waits on
/// the watched sockets (epoll, EPOLLRDHUP) and requests the aggregation's stop when one closes.
/// A client that only half-closes after sending its request counts as gone, as with nginx.
/// Thread-safe.
class disconnect_watcher {
 public:
  disconnect_watcher();
  disconnect_watcher(const disconnect_watcher &) = delete;
  disconnect_watcher &operator=(const disconnect_watcher &) = delete;
  ~disconnect_watcher();

  /// Watching one socket for as long as it lives; it must not outlive the socket.
  class registration {
   public:
    registration(disconnect_watcher &watcher, int fd) noexcept : watcher_(&watcher), fd_(fd) {}
    registration(registration &&other) noexcept : watcher_(std::exchange(other.watcher_, nullptr)), fd_(other.fd_) {}
    registration &operator=(registration &&) = delete;
    registration(const registration &) = delete;
    registration &operator=(const registration &) = delete;
    ~registration() {
      if (watcher_ != nullptr) watcher_->unwatch(fd_);
    }

   private:
    disconnect_watcher *watcher_;
    int fd_;
  };

  /// Requests `stop` when the client on `fd` goes away, until the registration ends.
  [[nodiscard]] registration watch(int fd, std::stop_source stop);

 private:
  struct watched {
    std::uint32_t generation;
    std::stop_source stop;
  };

  void unwatch(int fd);
  void run();

  io::wakeable_epoll events_;
  std::mutex mutex_;
  std::unordered_map<int, watched> watched_;  // guarded by mutex_
  std::uint32_t next_generation_ = 0;         // guarded by mutex_
  std::thread thread_;
};

}  // namespace agg::server
