#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_set>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/http/request.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/server/bearer_auth.hpp"
#include "aggregator/server/disconnect_watcher.hpp"
#include "aggregator/server/httplib_fwd.hpp"
#include "aggregator/server/job_api.hpp"
#include "aggregator/server/metrics.hpp"
#include "aggregator/server/route_admin_api.hpp"
#include "aggregator/server/service_log.hpp"

namespace agg::server {

class listener;

/// The HTTP front: translates requests into plans, runs them on the engine and renders JSON.
/// Serves `GET /` (the endpoint list), `/health`, `/ready`, `/metrics`, the jobs API, the routes
/// admin API (with an admin token), and per route `path` (async), `path_sync` (sync baseline) and
/// `path/stream` (results as they arrive), looked up in the live routes for each request. Every
/// response carries `X-Request-Id` and `Server-Timing`; every JSON body gains `elapsed`; every
/// request gets an access-log line. cpp-httplib is configured at run time only (TCP_NODELAY, a pool
/// of `server.threads` workers, a real listen backlog, JSON error and exception handlers). The
/// config, the routes, the client and the log must outlive the front.
class http_front {
 public:
  /// `tokens.admin` turns the admin API on; `tokens.client` makes every endpoint but /health,
  /// /ready and /metrics ask for a token (the admin token passes too).
  http_front(const config::service_config &config, config::live_routes &routes, client::upstream_client &client,
             const service_log &log, const config::access_tokens &tokens = {});
  http_front(const http_front &) = delete;
  http_front &operator=(const http_front &) = delete;
  ~http_front();

  /// Binds and listens on the configured address (port 0 picks a free port); returns the port.
  /// Connections are queued from then on, before run(). Throws std::runtime_error on failure.
  std::uint16_t bind();
  /// Serves on the calling thread until stop(); false when the listener failed.
  bool run();
  /// Stops accepting; idle connections close, requests being answered finish, then run() returns.
  /// Any thread.
  void stop();
  /// stop(), then waits up to `grace` for in-flight aggregations and cancels the rest (they are
  /// still answered, with `cancelled` slots). True when nothing had to be cancelled. Any thread.
  bool shut_down(std::chrono::milliseconds grace);

  /// Aggregations being executed right now (async and sync). Any thread.
  [[nodiscard]] std::size_t aggregations_in_flight() const noexcept {
    return aggregations_in_flight_.load(std::memory_order_relaxed);
  }

 private:
  class in_flight_slot;
  class cancel_on_shutdown;
  struct aggregation_hold;
  /// A request let in: its plan, and its place among the aggregations in flight.
  struct admitted {
    fanout::fan_out_plan plan;
    std::unique_ptr<in_flight_slot> slot;
  };
  /// Names the route, applies the aggregation cap and plans the request; on refusal the response
  /// holds the error and nullopt comes back.
  std::optional<admitted> admit(const config::endpoint &target, const httplib::Request &request,
                                httplib::Response &response) const;

  void install_hooks();
  /// The response to a request the reader refused (status, JSON error, Connection: close), counted
  /// and logged like any other.
  [[nodiscard]] std::string refused(const http::refusal &why, const http::request &partial,
                                    std::chrono::steady_clock::time_point started) const;
  void dispatch(const httplib::Request &request, httplib::Response &response) const;
  void serve_admin(const httplib::Request &request, httplib::Response &response) const;
  void serve_aggregate(const config::endpoint &target, const httplib::Request &request,
                       httplib::Response &response) const;
  void serve_stream(const config::endpoint &target, const httplib::Request &request, httplib::Response &response) const;
  /// Accounts for an admitted aggregation cancelled through `stop` until the hold is released.
  std::unique_ptr<aggregation_hold> hold(std::unique_ptr<in_flight_slot> slot, const std::stop_source &stop) const;
  [[nodiscard]] std::string index_json(const config::route_table &routes) const;
  void serve_metrics(httplib::Response &response) const;
  void record(const fanout::aggregate &result) const;
  void cancel_in_flight() const;

  const config::service_config &config_;
  config::live_routes &routes_;
  client::upstream_client &client_;
  const service_log &log_;
  bearer_auth admin_auth_;
  bearer_auth client_auth_;
  jobs::job_store jobs_;  // declared before api_, which refers to it
  job_api job_api_;
  route_admin_api admin_api_;
  std::unique_ptr<listener> listener_;
  std::atomic<bool> stop_requested_{false};

  // Thread-safe parts the (const) request handlers use.
  mutable disconnect_watcher watcher_;
  mutable metrics metrics_;
  mutable std::atomic<std::size_t> aggregations_in_flight_{0};
  mutable std::mutex active_mutex_;
  mutable std::unordered_set<std::stop_source *> active_;  // guarded by active_mutex_
};

}  // namespace agg::server
