#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>

#include "aggregator/filters/filter_chain.hpp"
#include "aggregator/http/request_limits.hpp"
#include "aggregator/io/unique_fd.hpp"

namespace agg::control {

/// The control plane's server: cpp-httplib's listening socket, accept loop and worker pool (one
/// worker per open connection: low traffic, so threads are fine here), with the connection's work
/// replaced by ours. Each request is read once, by http::request_reader (Boost.Beast's parser, with
/// the data plane's limits and framing rules), served by `chain` and written on the worker thread;
/// cpp-httplib neither parses nor writes. Also: a real listen backlog (0.11.4 compiles in
/// listen(fd, 5); listening again raises it), a socket no other process can share (no
/// SO_REUSEPORT), and a stop that cannot be lost.
class listener : public httplib::Server {
 public:
  listener(const http::request_limits &limits, const filters::filter_chain &chain);

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

  http::request_limits limits_;
  const filters::filter_chain &chain_;
  io::unique_fd stop_fd_;
  std::atomic<std::size_t> open_connections_{0};
};

}  // namespace agg::control
