#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "aggregator/control/httplib_fwd.hpp"
#include "aggregator/control/route_admin_api.hpp"
#include "aggregator/runtime/engine.hpp"
#include "aggregator/runtime/metrics.hpp"

namespace agg::control {

class listener;

/// The control plane: cpp-httplib on a listener of its own (`server.admin_listen`, by default
/// 127.0.0.1:8081, never the public port), serving the routes admin API (with the admin token),
/// `GET /metrics` (Prometheus), `/ready` and `/health`; anything else is 404. Low traffic, so one
/// worker thread per open connection (`server.threads` of them) is fine here. Every request is read
/// by http::request_reader before cpp-httplib sees it (see listener), so the limits and framing
/// rules of the data plane hold here too. Every response carries X-Request-Id and Server-Timing,
/// every JSON body `elapsed`, and every request an access-log line. The engine must outlive it.
class admin_server {
 public:
  /// `gauges` reads the values owned elsewhere (open connections, in flight) at each scrape.
  admin_server(runtime::engine &engine, std::function<runtime::metrics::gauges()> gauges);
  admin_server(const admin_server &) = delete;
  admin_server &operator=(const admin_server &) = delete;
  ~admin_server();

  /// Binds `server.admin_listen` (port 0: a free port); returns the port. Throws
  /// std::runtime_error when the address cannot be had.
  std::uint16_t bind();
  /// Serves on the calling thread until stop(); false when the listener failed.
  bool run();
  /// Stops accepting; idle connections close, requests being answered finish. Any thread.
  void stop();

 private:
  void dispatch(const httplib::Request &request, httplib::Response &response) const;
  void serve_admin(const httplib::Request &request, httplib::Response &response) const;
  /// Status, headers, `elapsed`, metrics and the access line of an answered request.
  void finish(const httplib::Request &request, httplib::Response &response,
              std::chrono::steady_clock::time_point started) const;

  runtime::engine &engine_;
  std::function<runtime::metrics::gauges()> gauges_;
  route_admin_api admin_api_;
  std::unique_ptr<listener> listener_;
};

}  // namespace agg::control
