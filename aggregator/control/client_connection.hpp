#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include <sys/types.h>

namespace agg::control {

/// One accepted control-plane connection, used by the worker thread that serves it: reads with
/// deadlines and writes whole answers, every wait bounded. A stop descriptor (readable when the
/// server stops) ends a wait at once.
class client_connection {
 public:
  using clock = std::chrono::steady_clock;

  client_connection(int fd, int stop_fd, std::chrono::milliseconds write_timeout) noexcept
      : fd_(fd), stop_fd_(stop_fd), write_timeout_(write_timeout) {}

  [[nodiscard]] int socket() const noexcept { return fd_; }
  /// Receives what the client sent, waiting no later than `deadline`: the byte count, 0 when the
  /// client closed, -1 when the time ran out, the server is stopping, or the socket failed.
  ssize_t receive(char *buffer, std::size_t size, clock::time_point deadline) const;
  /// Writes all of `bytes`, each wait for the socket bounded by the write timeout; false on failure.
  bool send_all(std::string_view bytes) const;

 private:
  int fd_;
  int stop_fd_;
  std::chrono::milliseconds write_timeout_;
};

}  // namespace agg::control
