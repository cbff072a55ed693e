#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "aggregator/control/client_connection.hpp"
#include "aggregator/control/waiting_room.hpp"
#include "aggregator/filters/filter_chain.hpp"
#include "aggregator/http/request_limits.hpp"
#include "aggregator/io/unique_fd.hpp"

namespace agg::control {

class worker_pool;

/// The control plane's server: cpp-httplib's listening socket and accept loop, our worker pool as
/// its task queue, and a waiting room: a connection waits there (one thread, epoll) for the first
/// byte of each request, within 2 s for a new one and the keep-alive time between requests, and
/// only then takes a worker, so idle clients hold no worker (low traffic: threads are fine here
/// for the serving). At most `max_connections` wait; past that the one nearest its time that has
/// sent nothing is closed to make room (see waiting_room). Each request is read once, by
/// http::request_reader (Boost.Beast's parser, with the data plane's limits and framing rules),
/// served by `chain` and written on the worker thread; cpp-httplib neither parses nor writes.
/// Also: a real listen backlog (0.11.4 compiles in listen(fd, 5); listening again raises it), a
/// socket no other process can share (no SO_REUSEPORT) that keeps connections sending nothing in
/// the kernel (TCP_DEFER_ACCEPT), and a stop that cannot be lost.
class listener : public httplib::Server {
 public:
  listener(const http::request_limits &limits, const filters::filter_chain &chain, std::size_t threads,
           std::size_t max_connections);

  /// Re-listens on the bound socket with `backlog`; false on failure.
  bool raise_backlog(int backlog) const;
  /// Stops accepting and ends idle keep-alive connections at once; requests being answered finish.
  /// Works before the accept loop has started too. Any thread.
  void halt();
  /// Connections closed at once: every worker was busy and the pool's queue full, or the waiting
  /// room was full of connections that had asked. Any thread.
  [[nodiscard]] std::uint64_t refused_connections() const {
    return refused_.load(std::memory_order_relaxed) + room_.refused();
  }
  /// Connections waiting for a request now, and closed to make room for new ones so far. Any thread.
  [[nodiscard]] std::size_t idle_connections() const { return room_.waiting(); }
  [[nodiscard]] std::uint64_t evicted_connections() const { return room_.evicted(); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  /// A connection with bytes to read: to a worker, which serves its requests.
  void hand_to_worker(int fd);
  void serve(int fd);
  /// Serves one request; true when the connection stays open for the next.
  bool answer(const client_connection &connection, http::request request,
              std::chrono::steady_clock::time_point started);
  static void close_connection(int fd);

  http::request_limits limits_;
  const filters::filter_chain &chain_;
  io::unique_fd stop_fd_;
  std::atomic<std::uint64_t> refused_{0};
  waiting_room room_;
  std::atomic<worker_pool *> pool_{nullptr};  // cpp-httplib's task queue, once it listens
};

}  // namespace agg::control
