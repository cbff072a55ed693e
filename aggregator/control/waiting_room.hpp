#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "aggregator/io/unique_fd.hpp"

namespace agg::control {

/// Control-plane connections waiting for the first byte of their next request, on one thread of
/// its own with epoll, so that no worker waits for an idle client: when bytes arrive the connection
/// is handed to `on_ready` (on this thread), when its time runs out it is closed, and past
/// `capacity` the one nearest its time that has sent nothing yet is closed to make room (the new
/// one, when those nearest their time have all sent bytes).
/// Owns the descriptors it holds. Thread-safe.
class waiting_room {
 public:
  using clock = std::chrono::steady_clock;

  waiting_room(std::size_t capacity, std::function<void(int fd)> on_ready);
  waiting_room(const waiting_room &) = delete;
  waiting_room &operator=(const waiting_room &) = delete;
  /// Stops, closing what waits.
  ~waiting_room();

  /// Waits for `fd` to be readable, for up to `timeout`; takes it over (closed when stopped).
  void park(int fd, std::chrono::milliseconds timeout);
  /// Closes what waits and joins the thread; park() closes what it is given from then on. Any thread.
  void stop();

  /// Connections waiting now, closed to make room so far, and closed at once for want of room
  /// (every one near its time had asked). Any thread.
  [[nodiscard]] std::size_t waiting() const;
  [[nodiscard]] std::uint64_t evicted() const;
  [[nodiscard]] std::uint64_t refused() const;

 private:
  void run();
  void forget(int fd);  // mutex_ held: out of the books and the epoll set, not closed

  const std::size_t capacity_;
  std::function<void(int)> on_ready_;
  io::unique_fd epoll_;
  io::unique_fd wake_;
  mutable std::mutex mutex_;
  std::multimap<clock::time_point, int> deadlines_;                                  // guarded by mutex_
  std::unordered_map<int, std::multimap<clock::time_point, int>::iterator> parked_;  // guarded by mutex_
  std::uint64_t evicted_ = 0;                                                        // guarded by mutex_
  std::uint64_t refused_ = 0;                                                        // guarded by mutex_
  bool stopped_ = false;                                                             // guarded by mutex_
  std::thread thread_;
};

}  // namespace agg::control
