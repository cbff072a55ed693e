#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/server/disconnect_watcher.hpp"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace agg::server {

/// The HTTP front: translates requests into plans, runs them on the engine and renders JSON.
/// Serves `GET /` (the endpoint list), `GET /health`, and per route `path` (async) and
/// `path_sync` (sync baseline). cpp-httplib is configured at run time only (TCP_NODELAY, a pool of
/// `server.threads` workers, a real listen backlog, JSON error and exception handlers).
/// The config and the client must outlive the front.
class http_front {
 public:
  http_front(const config::service_config &config, client::upstream_client &client);
  http_front(const http_front &) = delete;
  http_front &operator=(const http_front &) = delete;
  ~http_front();

  /// Binds and listens on the configured address (port 0 picks a free port); returns the port.
  /// Connections are queued from then on, before run(). Throws std::runtime_error on failure.
  std::uint16_t bind();
  /// Serves on the calling thread until stop(); false when the listener failed.
  bool run();
  /// Stops accepting; run() returns once in-flight requests have been answered. Any thread.
  void stop();
  /// Aggregations being executed right now (async and sync). Any thread.
  [[nodiscard]] std::size_t aggregations_in_flight() const noexcept {
    return aggregations_in_flight_.load(std::memory_order_relaxed);
  }

 private:
  class listener;
  struct endpoint {
    const config::route_config *route;
    fanout::execution_mode mode;
  };

  void dispatch(const httplib::Request &request, httplib::Response &response) const;
  void serve_aggregate(const endpoint &target, const httplib::Request &request, httplib::Response &response) const;
  void serve_index(httplib::Response &response) const;

  const config::service_config &config_;
  client::upstream_client &client_;
  mutable disconnect_watcher watcher_;  // thread-safe; watching does not change the front
  std::unordered_map<std::string, endpoint> endpoints_;
  std::unique_ptr<listener> listener_;
  std::atomic<bool> stop_requested_{false};
  mutable std::atomic<std::size_t> aggregations_in_flight_{0};
};

}  // namespace agg::server
