#pragma once

#include <cstdint>
#include <string>

#include "aggregator/io/unique_fd.hpp"

namespace agg::front {

/// The data plane's listening socket: bound and listening, non-blocking, shared by the loops (each
/// watches it with EPOLLEXCLUSIVE, so one loop wakes per connection). SO_REUSEADDR only, never
/// SO_REUSEPORT: a second process cannot bind the same address and take a share of its clients.
class listening_socket {
 public:
  /// Binds `host:port` (port 0: any free port) and listens with `backlog`. Throws
  /// std::runtime_error saying why (address in use, not an address of this machine).
  listening_socket(const std::string &host, std::uint16_t port, int backlog);

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// The port bound (the one chosen when 0 was asked for).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Stops taking connections: those the kernel queued and nobody accepted are reset. Any thread.
  void shut_down() const noexcept;

 private:
  io::unique_fd fd_;
  std::uint16_t port_ = 0;
};

}  // namespace agg::front
