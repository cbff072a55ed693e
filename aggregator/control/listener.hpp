#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "aggregator/http/request.hpp"
#include "aggregator/http/request_limits.hpp"
#include "aggregator/io/unique_fd.hpp"

namespace agg::control {

/// cpp-httplib's server with what its setters cannot do. Every request is read by our
/// http::request_reader (Boost.Beast's parser, with limits and strict framing) before cpp-httplib
/// sees it: cpp-httplib then parses only a head the reader accepted, replayed from memory, and never
/// reads the socket, so it can neither be made to buffer without bound nor to take a body for the
/// next request. A refused request is answered by `on_refusal` and its connection closed. Also: a
/// real listen backlog (0.11.4 compiles in listen(fd, 5); listening again raises it), a listening
/// socket no other process can share (no SO_REUSEPORT), and a stop that cannot be lost.
class listener : public httplib::Server {
 public:
  using clock = std::chrono::steady_clock;
  /// The whole response (head and body) to a refused request; `partial` holds what was parsed of it.
  using refusal_writer =
      std::function<std::string(const http::refusal &why, const http::request &partial, clock::time_point started)>;

  listener(const http::request_limits &limits, refusal_writer on_refusal);

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
  refusal_writer on_refusal_;
  io::unique_fd stop_fd_;
  std::atomic<std::size_t> open_connections_{0};
};

}  // namespace agg::control
