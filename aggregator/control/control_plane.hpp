#pragma once

#include <cstdint>

#include "aggregator/config/service_config.hpp"
#include "aggregator/control/listener.hpp"
#include "aggregator/filters/filter_chain.hpp"

namespace agg::control {

/// The control plane: its own listener (`server.admin_listen`, by default 127.0.0.1:8081, never the
/// public port) and filter chain, serving the routes admin API (with the admin token), `GET /metrics`
/// (Prometheus), `/ready` and `/health`. Requests are read and answered by the same reader, head
/// writer and filters (ids, timing, the access log) as on the data plane. What it is handed must
/// outlive it.
class control_plane {
 public:
  control_plane(const config::server_config &server, const filters::filter_chain &chain);
  control_plane(const control_plane &) = delete;
  control_plane &operator=(const control_plane &) = delete;

  /// Binds `server.admin_listen` (port 0: a free port) with `server.backlog`; returns the port.
  /// Throws std::runtime_error when the address cannot be had.
  std::uint16_t bind();
  /// Serves on the calling thread until stop(); false when the listener failed.
  bool run();
  /// Stops accepting; idle connections close, requests being answered finish. Any thread.
  void stop();

 private:
  const config::server_config &server_;
  listener listener_;
};

}  // namespace agg::control
