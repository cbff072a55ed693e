#pragma once

#include <functional>

#include "aggregator/control/route_admin_api.hpp"
#include "aggregator/endpoints/probe_endpoints.hpp"
#include "aggregator/endpoints/refusal_endpoints.hpp"
#include "aggregator/filters/routing_filter.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::control {

/// `GET /metrics`: the Prometheus text exposition; `gauges` reads what is owned elsewhere (open
/// connections, in flight) at each scrape.
class metrics_endpoint final : public filters::endpoint {
 public:
  metrics_endpoint(const runtime::metrics &stats, std::function<runtime::metrics::gauges()> gauges,
                   const stages::shared_state &stages)
      : stats_(stats), gauges_(std::move(gauges)), stages_(stages) {}
  void serve(filters::exchange x) const override;

 private:
  const runtime::metrics &stats_;
  std::function<runtime::metrics::gauges()> gauges_;
  const stages::shared_state &stages_;
};

/// `/admin/routes…`: the routes admin API; each change it accepts is logged.
class admin_endpoint final : public filters::endpoint {
 public:
  admin_endpoint(config::live_routes &routes, const runtime::service_log &log) noexcept
      : api_(routes), routes_(routes), log_(log) {}
  void serve(filters::exchange x) const override;

 private:
  route_admin_api api_;
  const config::live_routes &routes_;
  const runtime::service_log &log_;
};

/// What the control plane serves: the admin API under `/admin` (its token's), and, open, `/metrics`,
/// `/ready` and `/health`. Owns the endpoints. Thread-safe.
class control_endpoints final : public filters::endpoint_table {
 public:
  control_endpoints(metrics_endpoint metrics, admin_endpoint admin, endpoints::ready_endpoint ready);
  [[nodiscard]] filters::endpoint_match resolve(const filters::request_context &request) const override;

 private:
  metrics_endpoint metrics_;
  admin_endpoint admin_;
  endpoints::health_endpoint health_;
  endpoints::ready_endpoint ready_;
  endpoints::not_found_endpoint not_found_;
  endpoints::method_not_allowed_endpoint method_not_allowed_;
};

}  // namespace agg::control
