#pragma once

#include <httplib.h>

#include <atomic>
#include <cstddef>

#include "aggregator/io/unique_fd.hpp"

namespace agg::server {

/// cpp-httplib's server with what its setters cannot do: a real listen backlog (0.11.4 compiles in
/// listen(fd, 5); listening again on the bound socket raises it), a stop that cannot be lost, and
/// connections served through our own stream (client_connection): the front learns each request's
/// socket, keep-alive waits are one blocking poll, and every request starts a request_context.
class listener : public httplib::Server {
 public:
  listener();

  /// Re-listens on the bound socket with `backlog`; false on failure.
  bool raise_backlog(int backlog) const;
  /// Stops accepting and ends idle keep-alive connections at once; requests being answered finish.
  /// Works before the accept loop has started too. Any thread.
  void halt();
  /// Client connections being served. Any thread.
  [[nodiscard]] std::size_t open_connections() const noexcept {
    return open_connections_.load(std::memory_order_relaxed);
  }

 private:
  bool process_and_close_socket(socket_t sock) override;

  io::unique_fd stop_fd_;
  std::atomic<std::size_t> open_connections_{0};
};

}  // namespace agg::server
