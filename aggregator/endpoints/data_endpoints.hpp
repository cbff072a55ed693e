#pragma once

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/endpoints/index_endpoints.hpp"
#include "aggregator/endpoints/job_endpoints.hpp"
#include "aggregator/endpoints/probe_endpoints.hpp"
#include "aggregator/endpoints/refusal_endpoints.hpp"
#include "aggregator/endpoints/route_endpoints.hpp"
#include "aggregator/filters/routing_filter.hpp"
#include "aggregator/runtime/admission.hpp"

namespace agg::endpoints {

/// What the data plane serves: `/`, `/health`, `/ready`, the `/ui` page, the jobs API and each route
/// in force at its three paths (async, `_sync`, `/stream`), looked up by exact path, the routes in
/// the snapshot the request keeps. Owns the endpoints. Thread-safe.
class data_endpoints final : public filters::endpoint_table {
 public:
  data_endpoints(route_serving routes, job_serving jobs, ready_endpoint ready);
  [[nodiscard]] filters::endpoint_match resolve(const filters::request_context &request) const override;

 private:
  const config::live_routes &routes_;
  health_endpoint health_;
  ready_endpoint ready_;
  index_endpoint index_;
  ui_endpoint ui_;
  job_create_endpoint job_create_;
  job_endpoint job_;
  route_endpoint gather_;
  route_endpoint one_by_one_;
  route_endpoint stream_;
  route_head_endpoint head_;
  not_found_endpoint not_found_;
  method_not_allowed_endpoint method_not_allowed_;
};

}  // namespace agg::endpoints
